//! `zks daemon`, `zks send` and `zks inbox`: messages over the network.
//! The outbox in the home's database is the hand-over: `zks send` stores
//! the sealed message; a running daemon of the same home delivers it, or,
//! when none runs, `zks send` brings the network up itself for a while.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use zks_node::{Mode, Node, OnlineConfig, QueuedMessage};

use crate::output;

#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    /// Address to listen on (repeatable); default all interfaces, TCP and QUIC, any port.
    #[arg(long = "listen", value_name = "MULTIADDR")]
    listen: Vec<libp2p::Multiaddr>,
    /// Grid peer to connect to (repeatable).
    #[arg(long = "bootstrap", value_name = "MULTIADDR")]
    bootstrap: Vec<libp2p::Multiaddr>,
    /// Discover peers on the local network with mDNS.
    #[arg(long)]
    mdns: bool,
    /// Stop after this many seconds (for scripts and tests).
    #[arg(long, value_name = "SECS")]
    run_for: Option<u64>,
    /// Accept every file offered by a contact as it arrives (scripts).
    #[arg(long)]
    auto_accept_files: bool,
    /// An address others reach this node at (repeatable), e.g. a forwarded
    /// port: the node counts as publicly reachable (no relay slots of its
    /// own) and, when it seeds, hands it out with relay reservations.
    #[arg(long = "external", value_name = "MULTIADDR")]
    external: Vec<libp2p::Multiaddr>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The contact.
    to: String,
    /// The message text.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    text: Option<String>,
    /// Send this file's contents as the message instead.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Use the one-time pad (perfect secrecy) instead of the grid pad.
    #[arg(long)]
    pad: bool,
    /// Reply to this message (its id in `zks inbox`), quoting it.
    #[arg(long, value_name = "ID", conflicts_with_all = ["open_at", "open_in"])]
    reply_to: Option<i64>,
    #[command(flatten)]
    open: super::tlock::OpenAtArgs,
    /// Without a running daemon: seconds to wait for delivery before leaving
    /// the message queued.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    wait: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InboxArgs {
    /// Only this contact.
    #[arg(long, value_name = "NAME")]
    with: Option<String>,
    /// Keep printing new messages as they arrive.
    #[arg(long)]
    follow: bool,
    /// Print one JSON object per message.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn daemon(node: &Node, args: DaemonArgs) -> anyhow::Result<ExitCode> {
    if let Some(other) = node.running_daemon() {
        bail!(
            "a daemon already runs for this home (process {})",
            other.pid
        );
    }
    let (client, info) = node
        .serve_home(OnlineConfig {
            listen: args.listen,
            bootstrap: args.bootstrap,
            mdns: args.mdns,
            auto_accept_files: args.auto_accept_files,
            grid: true,
        })
        .await?;
    for addr in args.external {
        client.add_external_address(addr).await?;
    }
    let addresses = info.addresses;
    println!(
        "daemon {} for {}",
        client.peer_id(),
        node.data_dir().path().display()
    );
    for a in &addresses {
        println!("listening on {a}");
    }
    let stop = async {
        match args.run_for {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = stop => {}
    }
    node.withdraw_daemon();
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct SendReport {
    message_id: i64,
    to: String,
    protection: &'static str,
    round: Option<u64>,
    /// One-time pad: the bytes this message used, and those left.
    pad_used: Option<u64>,
    pad_left: Option<u64>,
    state: String,
    detail: Option<String>,
}

pub(crate) async fn send(node: &Node, args: &SendArgs) -> anyhow::Result<ExitCode> {
    let plaintext = match (&args.text, &args.file) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (None, Some(p)) => {
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        (None, None) => bail!("give a TEXT or --file PATH"),
    };
    let mode = if args.pad { Mode::Pad } else { Mode::Grid };
    let open_at = args.open.time()?;
    let queued = match (args.reply_to, open_at) {
        (_, Some(at)) => node.send_timelocked(&args.to, &plaintext, mode, at)?,
        (Some(id), None) => node.send_reply(&args.to, &plaintext, mode, id)?,
        (None, None) => node.send(&args.to, &plaintext, mode)?,
    };
    deliver(node, &queued, &args.to, args.wait, args.json).await
}

/// Hands a queued message to the running daemon, or, without one, brings
/// the network up for at most `wait` seconds to deliver it; then reports
/// what became of it. Exits 1 if the contact refused it.
pub(crate) async fn deliver(
    node: &Node,
    queued: &QueuedMessage,
    to: &str,
    wait: u64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (state, detail) = if node.running_daemon().is_some() {
        (
            "queued".to_owned(),
            Some("the running daemon delivers it".to_owned()),
        )
    } else {
        let _client = node.go_online(OnlineConfig::default()).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        loop {
            let (state, error) = node
                .delivery_state(queued.message_id)?
                .unwrap_or(("queued".into(), None));
            if state != "queued" || tokio::time::Instant::now() >= deadline {
                let detail = match state.as_str() {
                    "queued" => Some(format!(
                        "{to} is not reachable now ({}); it stays queued for the next `zks daemon` or `zks send`",
                        error.unwrap_or_else(|| "no answer yet".into())
                    )),
                    _ => error,
                };
                break (state, detail);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let report = SendReport {
        message_id: queued.message_id,
        to: to.to_owned(),
        protection: queued.protection.label(),
        round: queued.round,
        pad_used: queued.pad_used,
        pad_left: queued.pad_left,
        state,
        detail,
    };
    if json {
        output::json(&report)?;
    } else {
        println!(
            "{} to {} ({}): {}",
            report.message_id, report.to, report.protection, report.state
        );
        if let (Some(used), Some(left)) = (report.pad_used, report.pad_left) {
            println!("  used {used} bytes of your one-time pad; {left} left for sending");
        }
        if let Some(d) = &report.detail {
            println!("  {d}");
        }
    }
    Ok(if report.state == "failed" {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Debug, Serialize)]
struct InboxLine {
    id: i64,
    contact: String,
    direction: &'static str,
    mode: String,
    kind: String,
    round: Option<u64>,
    /// Grid pad: Unix time the binding round was due (sealed no earlier).
    sealed_after: Option<u64>,
    state: Option<String>,
    text: String,
    created_at: i64,
    /// The message this one replies to.
    reply_to: Option<zks_node::Quote>,
    /// Unix time of its last edit.
    edited_at: Option<i64>,
    /// Deleted for everyone (the text is gone).
    deleted: bool,
    /// Unix time it disappears.
    expires_at: Option<i64>,
    reactions: Vec<zks_node::MessageReaction>,
    /// Timelocked: Unix time its drand round is published (it opens then).
    opens_at: Option<i64>,
    /// Timelocked: the drand round that opens it.
    opens_round: Option<u64>,
    /// Received, timelocked and not open yet (`text` is empty).
    locked: bool,
}

fn inbox_lines(node: &Node, with: Option<&str>, after: i64) -> anyhow::Result<Vec<InboxLine>> {
    let names: Vec<String> = match with {
        Some(n) => vec![n.to_owned()],
        None => node.contacts()?.into_iter().map(|c| c.name).collect(),
    };
    let mut lines = Vec::new();
    for name in names {
        for entry in node.conversation(&name)? {
            let m = entry.message;
            if m.id <= after {
                continue;
            }
            let state = if m.outgoing {
                node.delivery_state(m.id)?.map(|s| s.0)
            } else {
                None
            };
            let sealed_after = node.sealed_after(&m);
            lines.push(InboxLine {
                id: m.id,
                sealed_after,
                contact: name.clone(),
                direction: if m.outgoing { "out" } else { "in" },
                mode: m.mode,
                kind: m.kind,
                round: m.round,
                state,
                text: String::from_utf8_lossy(&m.body).into_owned(),
                created_at: m.created_at,
                reply_to: entry.quote,
                edited_at: m.edited_at,
                deleted: m.deleted_at.is_some(),
                expires_at: m.expires_at,
                reactions: entry.reactions,
                opens_at: m.opens_at,
                opens_round: m.opens_round,
                locked: m.locked,
            });
        }
    }
    lines.sort_by_key(|l| l.id);
    Ok(lines)
}

pub(crate) async fn inbox(node: &Node, args: &InboxArgs) -> anyhow::Result<ExitCode> {
    let mut last = 0;
    loop {
        for line in inbox_lines(node, args.with.as_deref(), last)? {
            last = last.max(line.id);
            if args.json {
                output::json(&line)?;
            } else {
                let arrow = if line.direction == "in" { "<-" } else { "->" };
                let state = line
                    .state
                    .as_deref()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default();
                let file = if line.kind == "file" { "[file] " } else { "" };
                let sealed = line
                    .sealed_after
                    .map(|t| format!(" (sealed after {})", utc_minute(t)))
                    .unwrap_or_default();
                if let Some(quote) = &line.reply_to {
                    let quoted = match (quote.message_id, quote.deleted) {
                        (None, _) => "a message no longer here".to_owned(),
                        (Some(id), true) => format!("{id} (deleted)"),
                        (Some(id), false) => format!("{id} \"{}\"", quote.excerpt),
                    };
                    println!("{:>5}    ↪ reply to {quoted}", "");
                }
                let opens = |t: i64| utc_minute(u64::try_from(t).unwrap_or(0));
                let text = if line.deleted {
                    "(deleted)".to_owned()
                } else if let (true, Some(at)) = (line.locked, line.opens_at) {
                    format!("(locked until {}, drand timelock)", opens(at))
                } else if let Some(at) = line.opens_at {
                    let when = if line.direction == "out" {
                        format!("opens for {} at", line.contact)
                    } else {
                        "opened at".to_owned()
                    };
                    format!("{} ({when} {}, drand timelock)", line.text, opens(at))
                } else if line.edited_at.is_some() {
                    format!("{} (edited)", line.text)
                } else {
                    line.text.clone()
                };
                let reactions: String = line
                    .reactions
                    .iter()
                    .map(|r| {
                        let by = if r.mine { "you" } else { line.contact.as_str() };
                        format!(" [{} {by}]", r.emoji)
                    })
                    .collect();
                println!(
                    "{:>5} {arrow} {}{state}{sealed}: {file}{text}{reactions}",
                    line.id, line.contact
                );
            }
        }
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// `unix` as "2026-07-23 07:39 UTC" (the civil date of days since the
/// epoch, Howard Hinnant's algorithm; the CLI prints UTC, the app local
/// time).
pub(crate) fn utc_minute(unix: u64) -> String {
    let (year, month, day) = super::tlock::civil_from_days(unix / 86_400);
    let (hour, minute) = ((unix % 86_400) / 3600, (unix % 3600) / 60);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::utc_minute;

    #[test]
    fn round_times_print_as_utc_minutes() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        // quicknet round 30663002, the round shipped with the release.
        assert_eq!(utc_minute(1_784_792_370), "2026-07-23 07:39 UTC");
        assert_eq!(utc_minute(1_796_294_400), "2026-12-03 10:40 UTC");
        // A leap day and the turn of a century.
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_minute(4_107_542_399), "2100-02-28 23:59 UTC");
    }
}
