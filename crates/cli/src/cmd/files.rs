//! `zks file …` and `zks transfers`: files between paired contacts.
//!
//! Like `zks send`, the home's database is the hand-over: these commands
//! record the offer, acceptance or cancellation; a running daemon of the
//! same home moves the bytes. Without a daemon, `file send` and
//! `file accept` bring the network up themselves and stay until the
//! transfer ends (or `--wait` seconds pass), showing progress.
//!
//! `file send --open-at/--open-in` timelocks the file first (drand
//! timelock, decision 0070): the contact receives it locked, and their
//! daemon opens it when the round is out.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use zks_node::{Mode, Node, OnlineConfig, TransferInfo, TransferState};

use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum FileCommand {
    /// Offer a file to a contact; it moves once they accept.
    Send(FileSendArgs),
    /// List transfers, newest first.
    List(ListArgs),
    /// Accept an offered file (or resume a paused one).
    Accept(FileIdArgs),
    /// Decline an offered file.
    Decline(FileIdArgs),
    /// Pause a file being received.
    Pause(FileIdArgs),
    /// Cancel a transfer, sending or receiving.
    Cancel(FileIdArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FileSendArgs {
    /// The contact.
    to: String,
    /// The file.
    path: PathBuf,
    /// Seal it with the one-time pad (perfect secrecy; the pad must hold it).
    #[arg(long)]
    pad: bool,
    #[command(flatten)]
    open: super::tlock::OpenAtArgs,
    /// Without a running daemon: give up waiting after this many seconds
    /// (the offer stays; the next `zks daemon` serves it). Default: until
    /// the transfer ends.
    #[arg(long, value_name = "SECS")]
    wait: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FileIdArgs {
    /// Transfer id, or its first digits (see `zks transfers`).
    id: String,
    /// Without a running daemon: for `accept`, give up waiting after this
    /// many seconds (the transfer resumes later).
    #[arg(long, value_name = "SECS")]
    wait: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print one JSON object per transfer.
    #[arg(long)]
    json: bool,
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn print_transfer(t: &TransferInfo, json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(t);
    }
    let arrow = if t.outgoing { "->" } else { "<-" };
    let percent = (t.bytes_done.min(t.size) * 100)
        .checked_div(t.size)
        .unwrap_or(100);
    println!(
        "{} {arrow} {} {} ({}, {}) {} {percent}%",
        &t.id[..12],
        t.contact,
        t.name,
        human_size(t.size),
        t.protection.label(),
        t.state
    );
    if let Some(e) = &t.error {
        println!("  {e}");
    }
    if let (Some(at), Some(round)) = (t.opens_at, t.opens_round) {
        let when = super::tlock::utc(u64::try_from(at).unwrap_or(0));
        if t.outgoing {
            println!(
                "  opens for {} at {when} (round {round}, drand timelock)",
                t.contact
            );
        } else if t.locked {
            println!("  locked: opens at {when} (round {round}, drand timelock)");
        } else if t.state == TransferState::Completed {
            println!("  opened at {when} · drand timelock (round {round})");
        }
    }
    if let Some(p) = &t.path
        && (t.state == TransferState::Completed || t.outgoing)
    {
        println!("  {p}");
    }
    Ok(())
}

pub(crate) fn list(node: &Node, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let all = node.transfers()?;
    if all.is_empty() && !args.json {
        println!("no transfers");
    }
    for t in &all {
        print_transfer(t, args.json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Brings the node online (unless a daemon serves this home) and follows
/// transfer `id` until it ends or `wait` seconds pass.
async fn follow(
    node: &Node,
    id: &str,
    wait: Option<u64>,
    json: bool,
) -> anyhow::Result<TransferInfo> {
    if node.running_daemon().is_some() {
        return Ok(node.transfer(id)?);
    }
    let _client = node.go_online(OnlineConfig::default()).await?;
    let deadline = wait.map(|s| Instant::now() + Duration::from_secs(s));
    let show = !json && std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut first_bytes = None;
    loop {
        let t = node.transfer(id)?;
        if !matches!(
            t.state,
            TransferState::Offered | TransferState::Accepted | TransferState::Transferring
        ) {
            if show {
                eprintln!();
            }
            return Ok(t);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(t);
        }
        if show && t.state == TransferState::Transferring {
            let base = *first_bytes.get_or_insert(t.bytes_done);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let rate = (t.bytes_done.saturating_sub(base)) as f64 / secs;
            eprint!(
                "\r{}: {} of {} ({}/s)   ",
                t.name,
                human_size(t.bytes_done.min(t.size)),
                human_size(t.size),
                human_size(rate as u64)
            );
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(node.transfer(id)?),
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

fn exit_for(t: &TransferInfo) -> ExitCode {
    match t.state {
        TransferState::Failed | TransferState::Cancelled | TransferState::Declined => {
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

pub(crate) async fn run(node: &Node, command: FileCommand) -> anyhow::Result<ExitCode> {
    match command {
        FileCommand::Send(args) => {
            let mode = if args.pad { Mode::Pad } else { Mode::Grid };
            let open_at = args.open.time()?;
            let (sender, to, path) = (node.clone(), args.to.clone(), args.path.clone());
            let offered = tokio::task::spawn_blocking(move || match open_at {
                Some(at) => sender.send_timelocked_file(&to, &path, mode, at),
                None => sender.send_file(&to, &path, mode),
            })
            .await??;
            if !args.json {
                println!(
                    "offered {} to {} as {}",
                    offered.name, offered.contact, offered.id
                );
            }
            let t = follow(node, &offered.id, args.wait, args.json).await?;
            print_transfer(&t, args.json)?;
            Ok(exit_for(&t))
        }
        FileCommand::List(args) => list(node, &args),
        FileCommand::Accept(args) => {
            node.accept_transfer(&args.id)?;
            let t = follow(node, &args.id, args.wait, args.json).await?;
            print_transfer(&t, args.json)?;
            Ok(exit_for(&t))
        }
        FileCommand::Decline(args) => {
            let t = node.decline_transfer(&args.id)?;
            deliver_control(node).await?;
            print_transfer(&t, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        FileCommand::Cancel(args) => {
            let t = node.cancel_transfer(&args.id)?;
            deliver_control(node).await?;
            print_transfer(&t, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        FileCommand::Pause(args) => {
            let t = node.pause_transfer(&args.id)?;
            print_transfer(&t, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Without a daemon, tries for up to 5 s to deliver the queued decline or
/// cancel; it stays queued for the next daemon otherwise.
async fn deliver_control(node: &Node) -> anyhow::Result<()> {
    if node.running_daemon().is_some() {
        return Ok(());
    }
    let _client = node.go_online(OnlineConfig::default()).await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while node.queued_messages()? > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
