//! `zks backup create FILE` and `zks backup restore FILE`: an encrypted copy
//! of the identity, contacts, history and settings (never message keys or
//! pads: restored contacts are paired again). The passphrase comes from
//! `ZKS_BACKUP_PASSPHRASE`, `--passphrase-file`, or a prompt on the terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use zeroize::Zeroizing;
use zks_node::Node;

use crate::output;

/// Environment variable holding the passphrase (headless use).
const PASSPHRASE_ENV: &str = "ZKS_BACKUP_PASSPHRASE";

#[derive(Debug, Subcommand)]
pub(crate) enum BackupCommand {
    /// Write an encrypted backup of this home to FILE (which must not exist).
    Create(BackupArgs),
    /// Restore a backup into this home, which must be new and empty.
    Restore(BackupArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The backup file.
    file: PathBuf,
    /// Read the passphrase from this file (first line) instead of
    /// `ZKS_BACKUP_PASSPHRASE` or a prompt.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn passphrase(file: Option<&Path>, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    let phrase = if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
        Zeroizing::new(text.lines().next().unwrap_or_default().to_owned())
    } else if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        Zeroizing::new(p)
    } else if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(rpassword::prompt_password("Backup passphrase: ")?);
        if confirm {
            let again = Zeroizing::new(rpassword::prompt_password("Again: ")?);
            if *again != *first {
                bail!("the two passphrases differ");
            }
        }
        first
    } else {
        bail!(
            "give the passphrase in {PASSPHRASE_ENV}, with --passphrase-file, or run on a terminal"
        );
    };
    if phrase.chars().count() < 8 {
        bail!("the passphrase must have at least 8 characters");
    }
    Ok(phrase)
}

pub(crate) fn run(node: &Node, command: BackupCommand) -> anyhow::Result<ExitCode> {
    match command {
        BackupCommand::Create(args) => {
            let phrase = passphrase(args.passphrase_file.as_deref(), true)?;
            let bytes = node.write_backup(&args.file, phrase.as_bytes())?;
            if args.json {
                output::json(&serde_json::json!({ "file": args.file, "bytes": bytes }))?;
            } else {
                println!(
                    "wrote {} ({bytes} bytes); keep it and its passphrase apart",
                    args.file.display()
                );
                println!(
                    "it holds no message keys or pads: after a restore, pair with each contact again"
                );
            }
        }
        BackupCommand::Restore(args) => {
            let phrase = passphrase(args.passphrase_file.as_deref(), false)?;
            let report = node.restore_backup(&args.file, phrase.as_bytes())?;
            if args.json {
                output::json(&report)?;
            } else {
                println!(
                    "restored identity {} with {} contacts and {} messages",
                    report.peer_id,
                    report.contacts.len(),
                    report.messages
                );
                println!("pair again with: {}", report.contacts.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
