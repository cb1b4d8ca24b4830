//! `zks seal` and `zks open`: messages through files, in either mode.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use zks_node::{Mode, Node};

use crate::output;

#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    /// The contact.
    #[arg(long, value_name = "NAME")]
    to: String,
    /// Use the one-time pad (perfect secrecy) instead of the grid pad.
    #[arg(long)]
    pad: bool,
    /// The message text.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    text: Option<String>,
    /// Seal this file's contents instead of a text.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Write the envelope here (default: standard output, if not a terminal).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// The envelope file; `-` reads standard input.
    #[arg(value_name = "FILE")]
    input: PathBuf,
    /// Print JSON (the plaintext as UTF-8 text, lossy).
    #[arg(long)]
    json: bool,
}

pub(crate) fn seal(node: &Node, args: &SealArgs) -> anyhow::Result<ExitCode> {
    if args.out.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("the envelope is binary: pass --out FILE or redirect standard output");
    }
    let plaintext = match (&args.text, &args.file) {
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, Some(path)) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        (None, None) => anyhow::bail!("give a TEXT or --file PATH"),
    };
    let mode = if args.pad { Mode::Pad } else { Mode::Grid };
    let sealed = node.seal(&args.to, &plaintext, mode)?;
    match &args.out {
        Some(path) => std::fs::write(path, &sealed.envelope)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&sealed.envelope)?;
            out.flush()?;
        }
    }
    let detail = match (sealed.round, sealed.pad_left) {
        (Some(round), _) => format!("key bound to beacon round {round}"),
        (_, Some(left)) => format!("{left} pad bytes left to send"),
        _ => String::new(),
    };
    eprintln!(
        "sealed for {}: {}; {detail}",
        args.to,
        sealed.protection.label()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn open(node: &Node, args: &OpenArgs) -> anyhow::Result<ExitCode> {
    let bytes = if args.input.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        buf
    } else {
        std::fs::read(&args.input)
            .with_context(|| format!("cannot read {}", args.input.display()))?
    };
    let opened = node.open(&bytes)?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            opened: &'a zks_node::OpenedMessage,
            label: &'a str,
            text: String,
        }
        output::json(&Out {
            opened: &opened,
            label: opened.protection.label(),
            text: String::from_utf8_lossy(&opened.plaintext).into_owned(),
        })?;
    } else {
        let round = opened
            .round
            .map(|r| format!(" · sealed no earlier than beacon round {r}"))
            .unwrap_or_default();
        eprintln!(
            "from {} · {}{round}",
            opened.from,
            opened.protection.label()
        );
        let mut out = std::io::stdout().lock();
        out.write_all(&opened.plaintext)?;
        if !opened.plaintext.ends_with(b"\n") && std::io::stdout().is_terminal() {
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
