//! `zks pair invite|accept|finish`, `zks contacts [verify]` and `zks name`:
//! pairing through files, `ZKS1:` text and QR images, fully offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use zks_node::{Contact, Node};
use zks_qr as qr;

use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum PairCommand {
    /// Make an invite: print its ZKS1: text, optionally save it and its QR code.
    Invite(InviteArgs),
    /// Accept an invite (file, QR image or ZKS1: text); prints the reply to give back.
    Accept(AcceptArgs),
    /// Finish a pairing with the reply to one of your invites.
    Finish(FinishArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InviteArgs {
    /// The name the invite introduces you by (becomes your name, as `zks
    /// name NAME`); needed unless you chose one already.
    #[arg(long)]
    name: Option<String>,
    /// Seconds the invite stays valid.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=7 * 86_400))]
    ttl: u64,
    /// Also write the ZKS1: text to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the QR code as a PNG image.
    #[arg(long, value_name = "PNG")]
    qr: Option<PathBuf>,
    /// Also write the invite link's small QR code (version ≤ 10, for a
    /// camera) as a PNG image; needs a running daemon (its addresses).
    #[arg(long, value_name = "PNG")]
    link_qr: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AcceptArgs {
    /// The invite: a file (text or QR PNG) or the ZKS1: text itself.
    #[arg(value_name = "FILE|TEXT")]
    invite: String,
    /// Name to give the new contact (default: the name in the invite).
    #[arg(long = "as", value_name = "NAME")]
    as_name: Option<String>,
    /// The name your reply introduces you by (becomes your name, as `zks
    /// name NAME`; without one chosen, the reply carries none).
    #[arg(long)]
    name: Option<String>,
    /// Also write the reply's ZKS1: text to this file.
    #[arg(long, value_name = "REPLY")]
    out: Option<PathBuf>,
    /// Also write the reply's QR code as a PNG image.
    #[arg(long, value_name = "PNG")]
    qr: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FinishArgs {
    /// The reply: a file (text or QR PNG) or the ZKS1: text itself.
    #[arg(value_name = "REPLY")]
    reply: String,
    /// Name to give the new contact (default: the name in the reply).
    #[arg(long = "as", value_name = "NAME")]
    as_name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ContactsArgs {
    #[command(subcommand)]
    command: Option<ContactsCommand>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ContactsCommand {
    /// Set the disappearing-messages timer of a conversation (both sides).
    Timer(crate::cmd::chat::TimerArgs),
    /// Write a contact's safety code as a QR code (PNG), to compare by scanning.
    Qr {
        /// The contact.
        name: String,
        /// The PNG file to write.
        #[arg(long, value_name = "PNG")]
        out: PathBuf,
    },
    /// Replace where a contact may be reached (multiaddresses ending in
    /// `/p2p/<its peer id>`). They are hints: a contact that cannot be
    /// reached there is looked up on the DHT by its rendezvous key.
    Addresses {
        /// The contact.
        name: String,
        /// Its addresses (none: forget them all).
        addresses: Vec<String>,
    },
    /// Mark a contact as verified after comparing the safety code in person:
    /// give the code their device shows (`--code`, refused if it differs),
    /// or say that you compared all 40 digits and they match (`--compared`).
    #[command(group(clap::ArgGroup::new("comparison").required(true).args(["code", "compared"])))]
    Verify {
        /// The contact.
        name: String,
        /// The code the contact's device shows; refused if it differs.
        #[arg(long)]
        code: Option<String>,
        /// You compared all 40 digits with the ones their device shows and
        /// they match.
        #[arg(long)]
        compared: bool,
    },
}

/// Reads a code argument: the ZKS1: text itself, or a file holding text, a
/// QR PNG or raw code bytes.
pub(crate) fn code_input(arg: &str) -> anyhow::Result<Vec<u8>> {
    if arg.trim_start().starts_with(qr::TEXT_PREFIX) {
        return Ok(arg.as_bytes().to_vec());
    }
    let path = Path::new(arg);
    if !path.exists() {
        anyhow::bail!("{arg:?} is neither a ZKS1: code nor an existing file");
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(crate) fn save(text: &str, out: Option<&Path>, png: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = out {
        std::fs::write(path, format!("{text}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = png {
        let image = qr::render_png(text, 4)?;
        std::fs::write(path, image).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn print_contact(c: &Contact) {
    let badge = if c.verified {
        "verified"
    } else {
        "not verified"
    };
    println!("{}  ({badge})", c.name);
    println!("  safety code  {}", c.safety_code);
    println!("  peer id      {}", c.peer_id);
    if !c.devices.is_empty() {
        println!("  devices      also {}", c.devices.join(", "));
    }
    if let Some(pad) = &c.pad {
        println!(
            "  one-time pad {} bytes left to send, {} to receive",
            pad.send_left, pad.receive_left
        );
    }
    if c.timer_secs > 0 {
        let by = if c.timer_set_by_me { "you" } else { &c.name };
        println!(
            "  disappearing  after {} (set by {by})",
            crate::cmd::chat::describe(c.timer_secs)
        );
    }
}

pub(crate) async fn run(node: &Node, command: PairCommand) -> anyhow::Result<ExitCode> {
    match command {
        PairCommand::Invite(args) => {
            if args.name.is_none() && !node.display_name()?.chosen {
                anyhow::bail!(
                    "choose the name your contacts will see first: `zks name NAME` (or pass --name NAME)"
                );
            }
            if args.link_qr.is_some() && node.running_daemon().is_none() {
                anyhow::bail!(
                    "no invite link without a running daemon (`zks daemon`): the link's QR code holds its addresses (without --link-qr the full code works offline)"
                );
            }
            let invite = node.create_invite(args.name.as_deref(), args.ttl)?;
            save(&invite.text, args.out.as_deref(), args.qr.as_deref())?;
            match (&args.link_qr, &invite.link_text) {
                (Some(path), Some(link)) => save(link, None, Some(path))?,
                (Some(_), None) => anyhow::bail!(
                    "the running daemon gave no address for an invite link; use the full code"
                ),
                (None, _) => {}
            }
            if args.json {
                output::json(&invite)?;
            } else {
                println!("{}", invite.text);
                eprintln!(
                    "invite from {:?}, valid for {} s and for one pairing; the other device runs `zks pair accept`",
                    invite.name, args.ttl
                );
                if let Some(link) = &invite.link_text {
                    eprintln!(
                        "or, while this home's daemon is online, the short link (small QR, `--link-qr`): {link}"
                    );
                }
            }
        }
        PairCommand::Accept(args) => {
            let unnamed = match &args.name {
                Some(name) => !node.set_display_name(name)?.chosen,
                None => !node.display_name()?.chosen,
            };
            let accepted = node
                .accept_code(&code_input(&args.invite)?, args.as_name.as_deref())
                .await?;
            save(
                &accepted.reply_text,
                args.out.as_deref(),
                args.qr.as_deref(),
            )?;
            if args.json {
                output::json(&accepted)?;
            } else {
                println!("{}", accepted.reply_text);
                eprintln!(
                    "paired with {}; give this reply back (`zks pair finish`)",
                    accepted.contact.name
                );
                eprintln!("safety code: {}", accepted.contact.safety_code);
            }
            if unnamed {
                eprintln!(
                    "note: you have not chosen a name (`zks name NAME`): your reply carries none, and they name you themselves"
                );
            }
        }
        PairCommand::Finish(args) => {
            let contact =
                node.finish_pairing(&code_input(&args.reply)?, args.as_name.as_deref())?;
            if args.json {
                output::json(&contact)?;
            } else {
                print_contact(&contact);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn contacts(node: &Node, args: ContactsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ContactsCommand::Timer(timer)) => {
            return crate::cmd::chat::timer(node, &timer).await;
        }
        Some(ContactsCommand::Qr { name, out }) => {
            let contact = node.contacts()?.into_iter().find(|c| c.name == name);
            let Some(contact) = contact else {
                anyhow::bail!("no contact named {name:?}")
            };
            // The digit groups themselves: QR alphanumeric mode, and what
            // `zks contacts verify NAME --code` accepts once scanned.
            let image = qr::render_png(&contact.safety_code, 6)?;
            std::fs::write(&out, image)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("safety code of {name} written to {}", out.display());
        }
        Some(ContactsCommand::Addresses { name, addresses }) => {
            node.set_contact_addresses(&name, &addresses)?;
            println!("{name}: {} address(es) stored", addresses.len());
        }
        Some(ContactsCommand::Verify {
            name,
            code,
            compared,
        }) => {
            let contact = node.verify_contact(&name, code.as_deref(), compared)?;
            if args.json {
                output::json(&contact)?;
            } else {
                print_contact(&contact);
            }
        }
        None => {
            let contacts = node.contacts()?;
            if args.json {
                output::json(&contacts)?;
            } else if contacts.is_empty() {
                println!("no contacts yet; pair with `zks pair invite`");
            } else {
                contacts.iter().for_each(print_contact);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// The new name (trimmed; 1 to 64 characters, no control characters).
    /// Without it, show the current one.
    new: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `zks name [NEW]`: show or choose the name contacts see in your invites
/// and replies.
pub(crate) fn name(node: &Node, args: &NameArgs) -> anyhow::Result<ExitCode> {
    let shown = match &args.new {
        Some(new) => node.set_display_name(new)?,
        None => node.display_name()?,
    };
    if args.json {
        output::json(&shown)?;
    } else if shown.chosen {
        println!("{}", shown.name);
    } else {
        println!("no name chosen yet; choose the one your contacts will see with `zks name NAME`");
    }
    Ok(ExitCode::SUCCESS)
}
