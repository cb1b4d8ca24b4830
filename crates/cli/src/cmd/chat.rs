//! `zks react`, `zks edit`, `zks delete` and `zks contacts timer`: the
//! conversation's control messages, delivered like `zks send`.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use zks_node::{Mode, Node};

use crate::cmd::messaging::deliver;

/// Seconds to wait for delivery without a daemon (as `zks send`).
const DEFAULT_WAIT: u64 = 10;

#[derive(Debug, Args)]
pub(crate) struct ReactArgs {
    /// The message (its id in `zks inbox`).
    id: i64,
    /// The emoji (one, at most 8 characters).
    #[arg(required_unless_present = "remove", conflicts_with = "remove")]
    emoji: Option<String>,
    /// Take your reaction back.
    #[arg(long)]
    remove: bool,
    /// Without a running daemon: seconds to wait for delivery.
    #[arg(long, default_value_t = DEFAULT_WAIT, value_name = "SECS")]
    wait: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// Your message (its id in `zks inbox`), sent less than 24 hours ago.
    id: i64,
    /// Its new text.
    text: String,
    /// Without a running daemon: seconds to wait for delivery.
    #[arg(long, default_value_t = DEFAULT_WAIT, value_name = "SECS")]
    wait: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The message (its id in `zks inbox`).
    id: i64,
    /// Delete your message (sent less than 24 hours ago) for your contact
    /// too; without this, only from this device's history.
    #[arg(long)]
    for_everyone: bool,
    /// Without a running daemon: seconds to wait for delivery.
    #[arg(long, default_value_t = DEFAULT_WAIT, value_name = "SECS")]
    wait: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TimerArgs {
    /// The contact.
    name: String,
    /// How long messages live: `off`, or a number with s, m, h, d or w
    /// (5 s to 4 weeks; the app offers 5m, 1h, 1d and 1w).
    duration: String,
    /// Tell the contact under the one-time pad.
    #[arg(long)]
    pad: bool,
    /// Without a running daemon: seconds to wait for delivery.
    #[arg(long, default_value_t = DEFAULT_WAIT, value_name = "SECS")]
    wait: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn react(node: &Node, args: &ReactArgs) -> anyhow::Result<ExitCode> {
    let emoji = if args.remove {
        None
    } else {
        args.emoji.as_deref()
    };
    let queued = node.react(args.id, emoji)?;
    deliver(
        node,
        &queued,
        &contact_of(node, args.id)?,
        args.wait,
        args.json,
    )
    .await
}

pub(crate) async fn edit(node: &Node, args: &EditArgs) -> anyhow::Result<ExitCode> {
    let queued = node.edit(args.id, args.text.as_bytes())?;
    deliver(
        node,
        &queued,
        &contact_of(node, args.id)?,
        args.wait,
        args.json,
    )
    .await
}

pub(crate) async fn delete(node: &Node, args: &DeleteArgs) -> anyhow::Result<ExitCode> {
    let contact = contact_of(node, args.id)?;
    match node.delete_message(args.id, args.for_everyone)? {
        Some(queued) => deliver(node, &queued, &contact, args.wait, args.json).await,
        None => {
            if args.json {
                crate::output::json(&serde_json::json!({
                    "deleted": args.id,
                    "for_everyone": false,
                }))?;
            } else {
                println!(
                    "message {} deleted from this device ({contact} keeps their copy)",
                    args.id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) async fn timer(node: &Node, args: &TimerArgs) -> anyhow::Result<ExitCode> {
    let secs = parse_timer(&args.duration)?;
    let mode = if args.pad { Mode::Pad } else { Mode::Grid };
    let queued = node.set_timer(&args.name, secs, mode)?;
    if !args.json {
        match secs {
            0 => println!("disappearing messages with {} are off", args.name),
            s => println!(
                "messages with {} now disappear {} after they arrive",
                args.name,
                describe(s)
            ),
        }
    }
    deliver(node, &queued, &args.name, args.wait, args.json).await
}

/// The contact of message `id`, for the report.
fn contact_of(node: &Node, id: i64) -> anyhow::Result<String> {
    Ok(node.message_contact(id)?)
}

/// `off`, or a whole number followed by s, m, h, d or w, as seconds.
pub(crate) fn parse_timer(text: &str) -> anyhow::Result<u32> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text == "0" {
        return Ok(0);
    }
    let Some(secs) = super::tlock::duration_secs(text) else {
        bail!("{text:?} is not a duration: use off, or e.g. 5m, 1h, 1d, 1w");
    };
    match u32::try_from(secs) {
        Ok(secs) if secs > 0 => Ok(secs),
        _ => bail!("{text:?} is out of range: from 5 seconds to 4 weeks, or off"),
    }
}

/// Seconds in the largest whole unit ("1 hour", "90 seconds").
pub(crate) fn describe(secs: u32) -> String {
    let units = [
        (7 * 86_400, "week"),
        (86_400, "day"),
        (3600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    for (size, name) in units {
        if secs.is_multiple_of(size) {
            let n = secs / size;
            return format!("{n} {name}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{secs} seconds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_and_bad_ones_are_refused() {
        for (text, secs) in [
            ("off", 0),
            ("OFF", 0),
            ("0", 0),
            ("5s", 5),
            ("5m", 300),
            ("1h", 3600),
            ("1d", 86_400),
            ("1w", 604_800),
            (" 2h ", 7200),
        ] {
            assert_eq!(parse_timer(text).unwrap(), secs, "{text}");
        }
        for bad in ["", "h", "1y", "-1h", "1.5h", "9999999999w", "0s", "1 h"] {
            assert!(parse_timer(bad).is_err(), "{bad}");
        }
        assert_eq!(describe(3600), "1 hour");
        assert_eq!(describe(300), "5 minutes");
        assert_eq!(describe(5), "5 seconds");
        assert_eq!(describe(604_800), "1 week");
        assert_eq!(describe(90), "90 seconds");
    }
}
