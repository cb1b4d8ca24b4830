//! `zks devnet`: a local chain signed with the public test key, for demos and
//! tests that must run on real BLS signatures without the internet.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use zks_beacon::{DevnetSigner, Scheme};

/// `zks devnet`: either serve a live devnet over HTTP, or a subcommand.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct DevnetGroup {
    #[command(subcommand)]
    pub(crate) command: Option<DevnetCommand>,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

/// Serving a live devnet.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Serve the drand HTTP API on this address, e.g. 127.0.0.1:8081.
    #[arg(long, value_name = "ADDR")]
    pub(crate) http: Option<std::net::SocketAddr>,
    /// drand scheme ID (unchained schemes only when serving).
    #[arg(long, default_value = "bls-unchained-g1-rfc9380", value_parser = parse_scheme)]
    pub(crate) scheme: Scheme,
    /// Seconds between rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) period: u64,
    /// Rounds already published at start (the chain's genesis is set so).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub(crate) history: u64,
    /// Stop after this many seconds (for scripts and tests).
    #[arg(long, value_name = "SECS")]
    pub(crate) run_for: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DevnetCommand {
    /// Print the devnet's drand /info JSON.
    Info(DevnetArgs),
    /// Print signed devnet beacons, one drand JSON object per line.
    Sign(SignArgs),
}

/// The parameters that define a devnet chain (and so its chain hash).
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// drand scheme ID.
    #[arg(long, default_value = "bls-unchained-g1-rfc9380", value_parser = parse_scheme)]
    scheme: Scheme,
    /// Seconds between rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    period: u64,
    /// Unix time of round 1.
    #[arg(long, default_value_t = 1_700_000_000)]
    genesis: u64,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    devnet: DevnetArgs,
    /// First round to print.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    first: u64,
    /// Last round to print.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    last: u64,
}

fn parse_scheme(s: &str) -> Result<Scheme, String> {
    s.parse::<Scheme>().map_err(|e| e.to_string())
}

impl DevnetArgs {
    fn signer(&self) -> DevnetSigner {
        DevnetSigner::test(self.scheme, self.period, self.genesis)
    }
}

pub(crate) fn run(command: DevnetCommand) -> anyhow::Result<ExitCode> {
    match command {
        DevnetCommand::Info(args) => println!("{}", args.signer().chain().to_info_json()),
        DevnetCommand::Sign(args) => {
            if args.first > args.last {
                anyhow::bail!("--first {} is after --last {}", args.first, args.last);
            }
            let signer = args.devnet.signer();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for beacon in signer.sign_range(args.first, args.last)? {
                std::io::Write::write_all(&mut out, beacon.to_json().as_bytes())?;
                std::io::Write::write_all(&mut out, b"\n")?;
            }
            std::io::Write::flush(&mut out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
