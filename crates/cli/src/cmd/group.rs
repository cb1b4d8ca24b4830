//! `zks group …` and `zks groups`: small private groups (decision 0071),
//! each message fanned out as one pairwise copy per member. Without a
//! running daemon, a command that sends goes online until its copies left
//! (at most `--wait` seconds); with one, the daemon delivers them.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use zks_node::{GroupInfo, GroupMessage, Node, OnlineConfig};

/// Seconds to wait for delivery without a daemon (as `zks send`).
const DEFAULT_WAIT: u64 = 10;

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// Make a group with some of your contacts (50 members at most, you included).
    Create(CreateArgs),
    /// Add a contact to a group (admins).
    Add(MemberArgs),
    /// Remove a member from a group (admins).
    Remove(MemberArgs),
    /// Make a member an admin (admins).
    Admin(MemberArgs),
    /// Rename a group (admins).
    Rename(RenameArgs),
    /// Leave a group: the members are told and you get nothing new from it.
    Leave(GroupArgs),
    /// Send a message to a group.
    Send(SendArgs),
    /// Share a file with a group (each member gets it as a transfer to accept).
    File(FileArgs),
    /// React to a group message with an emoji, or take your reaction back.
    React(ReactArgs),
    /// Change the text of your group message (sent less than 24 hours ago).
    Edit(EditArgs),
    /// Delete your group message for everyone (sent less than 24 hours ago).
    Delete(DeleteArgs),
    /// Show a group's members and messages.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FileArgs {
    /// The group.
    group: String,
    /// The file.
    path: std::path::PathBuf,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct ReactArgs {
    /// The message (its id in `zks group show`).
    id: i64,
    /// The emoji (one, at most 8 characters).
    #[arg(required_unless_present = "remove", conflicts_with = "remove")]
    emoji: Option<String>,
    /// Take your reaction back.
    #[arg(long)]
    remove: bool,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// Your message (its id in `zks group show`).
    id: i64,
    /// Its new text.
    text: String,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// Your message (its id in `zks group show`).
    id: i64,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct Sending {
    /// Without a running daemon: seconds to wait for delivery.
    #[arg(long, default_value_t = DEFAULT_WAIT, value_name = "SECS")]
    wait: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The group's name.
    name: String,
    /// Contacts to add.
    #[arg(required = true)]
    members: Vec<String>,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct MemberArgs {
    /// The group (its name, or its id from `zks groups`).
    group: String,
    /// The contact or member.
    member: String,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct RenameArgs {
    /// The group.
    group: String,
    /// Its new name.
    name: String,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct GroupArgs {
    /// The group.
    group: String,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The group.
    group: String,
    /// The text.
    text: String,
    /// Quote the group's message with this id (from `zks group show`).
    #[arg(long, value_name = "ID")]
    reply_to: Option<i64>,
    #[command(flatten)]
    sending: Sending,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The group.
    group: String,
    /// Print JSON (one line per message).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON (one line per group).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(node: &Node, command: &GroupCommand) -> anyhow::Result<ExitCode> {
    let (info, sending) = match command {
        GroupCommand::Create(a) => (node.create_group(&a.name, &a.members)?, &a.sending),
        GroupCommand::Add(a) => (node.group_add(&a.group, &a.member)?, &a.sending),
        GroupCommand::Remove(a) => (node.group_remove(&a.group, &a.member)?, &a.sending),
        GroupCommand::Admin(a) => (node.group_admin(&a.group, &a.member)?, &a.sending),
        GroupCommand::Rename(a) => (node.group_rename(&a.group, &a.name)?, &a.sending),
        GroupCommand::Leave(a) => (node.group_leave(&a.group)?, &a.sending),
        GroupCommand::Send(a) => {
            let sent = node.group_send(&a.group, a.text.as_bytes(), a.reply_to)?;
            let sent = flush(node, a.sending.wait, |n| {
                let all = n.group_messages(&a.group)?;
                Ok(all.into_iter().find(|m| m.id == sent.id))
            })
            .await?
            .unwrap_or(sent);
            if a.sending.json {
                crate::output::json(&sent)?;
            } else {
                println!("{}", delivery_line(&sent));
            }
            return Ok(ExitCode::SUCCESS);
        }
        GroupCommand::File(a) => {
            let shared = node.group_send_file(&a.group, &a.path)?;
            if node.running_daemon().is_none() {
                eprintln!(
                    "the members get the file from this device while `zks daemon` runs (start it to serve the file)"
                );
            }
            return changed(node, shared, &a.sending).await;
        }
        GroupCommand::React(a) => {
            let emoji = if a.remove { None } else { a.emoji.as_deref() };
            return changed(node, node.group_react(a.id, emoji)?, &a.sending).await;
        }
        GroupCommand::Edit(a) => {
            return changed(node, node.group_edit(a.id, a.text.as_bytes())?, &a.sending).await;
        }
        GroupCommand::Delete(a) => {
            return changed(node, node.group_delete(a.id)?, &a.sending).await;
        }
        GroupCommand::Show(a) => return show(node, a),
    };
    flush(node, sending.wait, |_| Ok(None::<()>)).await?;
    if sending.json {
        crate::output::json(&info)?;
    } else {
        print_group(&info);
    }
    Ok(ExitCode::SUCCESS)
}

/// After a reaction, edit or delete: delivered like a message.
async fn changed(node: &Node, m: GroupMessage, sending: &Sending) -> anyhow::Result<ExitCode> {
    flush(node, sending.wait, |_| Ok(None::<()>)).await?;
    if sending.json {
        crate::output::json(&m)?;
    } else if m.deleted {
        println!("message {} deleted for every member", m.id);
    } else {
        println!("[{}] {}: {}", m.id, m.author, m.text);
    }
    Ok(ExitCode::SUCCESS)
}

/// `zks groups`.
pub(crate) fn list(node: &Node, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let groups = node.groups()?;
    if args.json {
        for g in &groups {
            crate::output::json(g)?;
        }
    } else if groups.is_empty() {
        println!("no groups (make one: zks group create NAME CONTACT…)");
    } else {
        for g in &groups {
            println!(
                "{}  {}  {} members{}",
                &g.id[..8],
                g.name,
                g.members.len(),
                if g.member {
                    ""
                } else {
                    "  (you are no longer in it)"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(node: &Node, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let info = node.group(&args.group)?;
    let messages = node.group_messages(&args.group)?;
    if args.json {
        for m in &messages {
            crate::output::json(m)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    print_group(&info);
    for m in &messages {
        let quote = m
            .quote
            .as_ref()
            .map(|q| format!(" (replying to {}: {})", q.author, q.excerpt))
            .unwrap_or_default();
        let text = if m.deleted {
            "(deleted)".to_owned()
        } else if let Some(f) = &m.file {
            format!(
                "file {} ({} bytes){}",
                f.name,
                f.size,
                f.transfer
                    .as_ref()
                    .map(|t| format!(", transfer {}", &t[..8]))
                    .unwrap_or_default()
            )
        } else if m.edited {
            format!("{} (edited)", m.text)
        } else {
            m.text.clone()
        };
        let reactions: Vec<String> = m
            .reactions
            .iter()
            .map(|r| format!("{} {}", r.emoji, r.by))
            .collect();
        let reactions = if reactions.is_empty() {
            String::new()
        } else {
            format!("  [{}]", reactions.join(", "))
        };
        println!("[{}] {}{quote}: {text}{reactions}", m.id, m.author);
        if m.outgoing {
            println!("      {}", delivery_line(m));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_group(g: &GroupInfo) {
    println!("{} ({}), epoch {}", g.name, &g.id[..8], g.epoch);
    for m in &g.members {
        let mut notes = Vec::new();
        if m.admin {
            notes.push("admin");
        }
        if m.me {
            notes.push("you");
        }
        if !m.contact {
            notes.push("not your contact: your messages do not reach them");
        }
        println!(
            "  {}{}",
            m.name,
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            }
        );
    }
    if !g.member {
        println!("  you are no longer in this group");
    }
}

/// "delivered to 3 of 4 · perfect secrecy for 1 of 4, post-quantum for 3".
fn delivery_line(m: &GroupMessage) -> String {
    let n = m.deliveries.len();
    if n == 0 {
        return "no other members".into();
    }
    let delivered = m
        .deliveries
        .iter()
        .filter(|d| d.state == "delivered")
        .count();
    let pad = m
        .deliveries
        .iter()
        .filter(|d| d.mode.as_deref() == Some("pad"))
        .count();
    let grid = m
        .deliveries
        .iter()
        .filter(|d| d.mode.as_deref() == Some("grid"))
        .count();
    let not_sent: Vec<&str> = m
        .deliveries
        .iter()
        .filter(|d| d.state == "not_sent")
        .map(|d| d.name.as_str())
        .collect();
    let mut line = format!("delivered to {delivered} of {n}");
    if pad > 0 {
        line.push_str(&format!(" · perfect secrecy for {pad} of {n} members"));
    }
    if grid > 0 {
        line.push_str(&format!(" · post-quantum (grid pad) for {grid}"));
    }
    if !not_sent.is_empty() {
        line.push_str(&format!(
            " · not sent to {} (not your contact)",
            not_sent.join(", ")
        ));
    }
    line
}

/// Without a daemon: online until nothing is queued (or `wait` seconds),
/// then `check`'s last answer.
async fn flush<T>(
    node: &Node,
    wait: u64,
    check: impl Fn(&Node) -> anyhow::Result<Option<T>>,
) -> anyhow::Result<Option<T>> {
    if node.running_daemon().is_none() && node.queued_messages()? > 0 {
        let _client = node.go_online(OnlineConfig::default()).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        while node.queued_messages()? > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if node.queued_messages()? > 0 {
            eprintln!(
                "some members are not reachable now; their copies stay queued for the next `zks daemon` or `zks send`"
            );
        }
    }
    check(node)
}
