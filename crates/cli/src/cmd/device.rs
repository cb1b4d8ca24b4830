//! `zks device link|join|confirm|remove` and `zks devices`: one person on
//! several devices (decision 0072). The primary device links the others;
//! each device has its own sessions with every device of each contact.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use zks_node::{DevicesView, Node};

use crate::cmd::pair::{code_input, save};
use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// On your primary device: make a code that links a new device (needs
    /// the daemon running, so the new device can reach this one).
    Link(LinkArgs),
    /// On a new device (a new home): join the person whose primary made CODE.
    Join(JoinArgs),
    /// On your primary device: confirm a device that joined, after comparing
    /// the safety code both show; it then gets your contacts and history.
    Confirm(IdArgs),
    /// On your primary device: unlink a device (or refuse one that joined).
    Remove(IdArgs),
}

#[derive(Debug, Args)]
pub(crate) struct LinkArgs {
    /// Seconds the code stays valid.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    ttl: u64,
    /// Also write the code's text to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write its QR code as a PNG image.
    #[arg(long, value_name = "PNG")]
    qr: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct JoinArgs {
    /// The link code: a file (text or QR PNG) or the ZKS1: text itself.
    #[arg(value_name = "FILE|TEXT")]
    code: String,
    /// This device's name (shown on your other devices and to contacts).
    #[arg(long)]
    name: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    /// The device's id as `zks devices` shows it (4 hex digits or more).
    id: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn print(view: &DevicesView) {
    println!("this device: {}", view.role);
    for d in &view.devices {
        let mut marks = Vec::new();
        if d.primary {
            marks.push("primary".to_owned());
        }
        if d.this_device {
            marks.push("this device".to_owned());
        }
        if d.state != "linked" && d.this_device {
            marks.push("waiting for your primary device to confirm it".to_owned());
        } else if d.state != "linked" {
            marks.push(format!(
                "{}: confirm with `zks device confirm {}`",
                d.state,
                &d.id[..8]
            ));
        }
        let seen = match d.last_seen {
            Some(at) => format!("last seen {}", ago(at)),
            None if d.this_device => String::new(),
            None => "never seen".into(),
        };
        println!(
            "{}  {}  {}{}",
            &d.id[..8],
            d.name,
            seen,
            if marks.is_empty() {
                String::new()
            } else {
                format!("  ({})", marks.join(", "))
            }
        );
        if d.state == "pending" && !d.safety_code.is_empty() {
            println!("  safety code  {}", d.safety_code);
        }
    }
}

/// "12 s ago", "3 min ago", "5 h ago", "2 d ago".
fn ago(at: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let secs = (now - at).max(0);
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

fn show(view: &DevicesView, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        output::json(view)?;
    } else {
        print(view);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(node: &Node, command: DeviceCommand) -> anyhow::Result<ExitCode> {
    match command {
        DeviceCommand::Link(args) => {
            let code = node.link_device(args.ttl)?;
            save(&code.text, args.out.as_deref(), args.qr.as_deref())?;
            if args.json {
                output::json(&code)?;
            } else {
                println!("{}", code.text);
                eprintln!(
                    "valid for {} s: on the new device run `zks device join CODE --name NAME`, then confirm it here with `zks device confirm ID` after comparing the safety code",
                    args.ttl
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Join(args) => {
            let view = node.join_device(&code_input(&args.code)?, &args.name)?;
            if !args.json {
                eprintln!(
                    "joined; now confirm this device on your primary (`zks devices` there shows it with this safety code)"
                );
                for d in view.devices.iter().filter(|d| d.primary) {
                    eprintln!("safety code: {}", d.safety_code);
                }
            }
            show(&view, args.json)
        }
        DeviceCommand::Confirm(args) => show(&node.confirm_device(&args.id)?, args.json),
        DeviceCommand::Remove(args) => show(&node.remove_device(&args.id)?, args.json),
    }
}

pub(crate) fn list(node: &Node, args: &ListArgs) -> anyhow::Result<ExitCode> {
    show(&node.devices()?, args.json)
}
