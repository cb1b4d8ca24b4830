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
    #[command(subcommand)]
    Devnet(cmd::devnet::DevnetCommand),
}

fn main() -> ExitCode {
    zks_node::init_logging();
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
            // Pure CPU work: run on a blocking thread, off the async workers.
            Command::Beacon(command) => {
                tokio::task::spawn_blocking(move || cmd::beacon::run(command)).await?
            }
            Command::Devnet(command) => cmd::devnet::run(command),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// Prints the error chain on one line and returns the failure exit code.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("zks: error: {error:#}");
    ExitCode::from(EXIT_FAILURE)
}
