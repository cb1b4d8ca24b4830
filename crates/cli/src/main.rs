//! `zks`: the headless front end of the ZKS Entropy Grid, for seeders,
//! scripts and tests. Every command is a thin adapter over `zks-node`.

mod cmd;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for a failure of the command itself (bad input, I/O, …).
const EXIT_FAILURE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "zks",
    version,
    about = "ZKS Entropy Grid: post-quantum messenger and drand beacon swarm, headless",
    propagate_version = true
)]
struct Cli {
    /// Data directory (default: the platform's per-user data directory).
    #[arg(long, global = true, env = "ZKS_HOME", value_name = "DIR")]
    home: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the data directory, database and node state.
    Status(cmd::status::StatusArgs),
    /// Verify drand beacons and measure the verifiers.
    #[command(subcommand)]
    Beacon(cmd::beacon::BeaconCommand),
    /// A local test chain signed with a public key (offline demos and tests).
    Devnet(cmd::devnet::DevnetGroup),
    /// Fill the local beacon cache through the fetch cascade.
    Fetch(cmd::grid::FetchArgs),
    /// Seed: keep chains (and pinned ranges) cached, serve the drand-compatible relay.
    Seed(cmd::grid::SeedArgs),
    /// The beacon cache's complete chunks as CAR files (IPFS interop).
    #[command(subcommand)]
    Grid(cmd::car::GridCommand),
    /// Pair with someone through invite and reply codes (text, QR image or file).
    #[command(subcommand)]
    Pair(cmd::pair::PairCommand),
    /// Show or choose the name your contacts see in your invites and replies.
    Name(cmd::pair::NameArgs),
    /// List contacts with their safety codes, or mark one as verified.
    Contacts(cmd::pair::ContactsArgs),
    /// Seal a message for a contact into an envelope file.
    Seal(cmd::message::SealArgs),
    /// Open an envelope from a contact and print the message.
    Open(cmd::message::OpenArgs),
    /// Run this home's node on the network: deliver and receive messages.
    Daemon(cmd::messaging::DaemonArgs),
    /// Send a message to a contact over the network (queued until delivered).
    Send(cmd::messaging::SendArgs),
    /// React to a message with an emoji, or take your reaction back.
    React(cmd::chat::ReactArgs),
    /// Change the text of a message you sent less than 24 hours ago.
    Edit(cmd::chat::EditArgs),
    /// Delete a message from this device, or yours for everyone.
    Delete(cmd::chat::DeleteArgs),
    /// Small private groups: create, add, remove, rename, leave, send, show.
    #[command(subcommand)]
    Group(cmd::group::GroupCommand),
    /// List your groups.
    Groups(cmd::group::ListArgs),
    /// Linked devices: link, join, confirm, remove.
    #[command(subcommand)]
    Device(cmd::device::DeviceCommand),
    /// List this person's devices.
    Devices(cmd::device::ListArgs),
    /// Show the messages with your contacts.
    Inbox(cmd::messaging::InboxArgs),
    /// Search the messages with your contacts for words.
    Search(cmd::search::SearchArgs),
    /// Send, accept, decline, pause and cancel files.
    #[command(subcommand)]
    File(cmd::files::FileCommand),
    /// List file transfers (same as `zks file list`).
    Transfers(cmd::files::ListArgs),
    /// Encrypted backup and restore of identity, contacts and history.
    #[command(subcommand)]
    Backup(cmd::backup::BackupCommand),
    /// Show or change how this home's key is protected (passphrase or OS keyring).
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Show or change the settings shared by the daemon and the desktop app.
    #[command(subcommand)]
    Settings(cmd::settings::SettingsCommand),
    /// True one-time pads: create, import, status.
    #[command(subcommand)]
    Pad(cmd::pad::PadCommand),
    /// drand timelock: lock a file until a future time, open locked files.
    #[command(subcommand)]
    Tlock(cmd::tlock::TlockCommand),
    /// Not-before proofs: show anyone that a message was sealed after its drand round.
    #[command(subcommand)]
    Proof(cmd::proof::ProofCommand),
}

fn main() -> ExitCode {
    // One-shot commands stay quiet unless something is wrong (RUST_LOG overrides).
    zks_node::init_logging("warn,libp2p_kad=error");
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Status(args) => cmd::status::run(cli.home, args).await,
            Command::Beacon(cmd::beacon::BeaconCommand::Import(args)) => {
                with_node(cli.home, |node| cmd::beacon::import(node, &args)).await
            }
            Command::Beacon(cmd::beacon::BeaconCommand::Bind(args)) => {
                with_node(cli.home, |node| cmd::beacon::bind(node, &args)).await
            }
            Command::Beacon(cmd::beacon::BeaconCommand::Get(args)) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::grid::get(&node, &args).await;
                node.stop().await;
                result
            }
            // Pure CPU work: run on a blocking thread, off the async workers.
            Command::Beacon(command) => {
                tokio::task::spawn_blocking(move || cmd::beacon::run(command)).await?
            }
            Command::Devnet(cmd::devnet::DevnetGroup {
                command: Some(command),
                ..
            }) => cmd::devnet::run(command),
            Command::Devnet(cmd::devnet::DevnetGroup {
                command: None,
                serve,
            }) => match serve.http {
                Some(addr) => {
                    cmd::grid::devnet_serve(
                        addr,
                        serve.scheme,
                        serve.period,
                        serve.history,
                        serve.run_for,
                    )
                    .await
                }
                None => Err(anyhow::anyhow!(
                    "say what to do: --http ADDR to serve a devnet, or a subcommand (info, sign)"
                )),
            },
            Command::Tlock(command) => cmd::tlock::run(cli.home, command).await,
            Command::Proof(cmd::proof::ProofCommand::Export(args)) => {
                with_node(cli.home, |node| cmd::proof::export(node, &args)).await
            }
            // Needs nothing but this program: no home, no network.
            Command::Proof(cmd::proof::ProofCommand::Verify(args)) => cmd::proof::verify(&args),
            Command::Daemon(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::messaging::daemon(&node, args).await;
                node.stop().await;
                result
            }
            Command::Send(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::messaging::send(&node, &args).await;
                node.stop().await;
                result
            }
            Command::Group(command) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::group::run(&node, &command).await;
                node.stop().await;
                result
            }
            Command::Groups(args) => {
                with_node(cli.home, |node| cmd::group::list(node, &args)).await
            }
            Command::Device(command) => {
                with_node(cli.home, |node| cmd::device::run(node, command)).await
            }
            Command::Devices(args) => {
                with_node(cli.home, |node| cmd::device::list(node, &args)).await
            }
            Command::React(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::chat::react(&node, &args).await;
                node.stop().await;
                result
            }
            Command::Edit(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::chat::edit(&node, &args).await;
                node.stop().await;
                result
            }
            Command::Delete(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::chat::delete(&node, &args).await;
                node.stop().await;
                result
            }
            Command::File(command) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::files::run(&node, command).await;
                node.stop().await;
                result
            }
            Command::Backup(command) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::backup::run(&node, command);
                node.stop().await;
                result
            }
            Command::Key(command) => {
                let (node, unlock) = cmd::unlock_and_start(cli.home).await?;
                let result = cmd::key::run(&node, &unlock, command);
                node.stop().await;
                result
            }
            Command::Settings(command) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::settings::run(&node, command);
                node.stop().await;
                result
            }
            Command::Transfers(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::files::list(&node, &args);
                node.stop().await;
                result
            }
            Command::Inbox(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::messaging::inbox(&node, &args).await;
                node.stop().await;
                result
            }
            Command::Fetch(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::grid::fetch(&node, &args).await;
                node.stop().await;
                result
            }
            Command::Seed(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::grid::seed(&node, &args).await;
                node.stop().await;
                result
            }
            Command::Grid(command) => {
                with_node(cli.home, |node| cmd::car::run(node, command)).await
            }
            Command::Pair(command) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::pair::run(&node, command).await;
                node.stop().await;
                result
            }
            Command::Name(args) => with_node(cli.home, |node| cmd::pair::name(node, &args)).await,
            Command::Search(args) => {
                with_node(cli.home, |node| cmd::search::run(node, &args)).await
            }
            Command::Contacts(args) => {
                let node = cmd::start_node(cli.home).await?;
                let result = cmd::pair::contacts(&node, args).await;
                node.stop().await;
                result
            }
            Command::Seal(args) => {
                with_node(cli.home, |node| cmd::message::seal(node, &args)).await
            }
            Command::Open(args) => {
                with_node(cli.home, |node| cmd::message::open(node, &args)).await
            }
            Command::Pad(command @ cmd::pad::PadCommand::New { .. }) => {
                cmd::pad::run(None, command)
            }
            Command::Pad(command) => {
                with_node(cli.home, |node| cmd::pad::run(Some(node), command)).await
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// Runs `f` with a node started on the chosen home, stopping it afterwards
/// whatever the outcome.
async fn with_node(
    home: Option<std::path::PathBuf>,
    f: impl FnOnce(&zks_node::Node) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let node = cmd::start_node(home).await?;
    let result = f(&node);
    node.stop().await;
    result
}

/// Prints the error chain on one line and returns the failure exit code.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("zks: error: {}", one_line(error));
    ExitCode::from(EXIT_FAILURE)
}

/// The error and its causes on one line, leaving out a cause whose text
/// the line already holds (many errors quote their source in their own
/// message, and would otherwise say it twice or three times).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn causes_already_quoted_are_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        #[derive(Debug, thiserror::Error)]
        #[error("beacon cache I/O on /x: {source}")]
        struct Quoting {
            source: std::io::Error,
        }
        let e = anyhow::Error::new(Quoting { source: io }).context("fetch failed");
        assert_eq!(
            one_line(&e),
            "fetch failed: beacon cache I/O on /x: No space left on device"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&plain), "outer: inner");
    }
}
