//! `zks beacon verify` and `zks beacon bench`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use zks_beacon::{
    BatchVerifier, Beacon, ChainInfo, DevnetSigner, ParsedBeacon, ReferenceVerifier, Verdict,
    parse_beacon_list,
};

use crate::output;

/// Exit code when the input was read but some beacons are invalid.
const EXIT_INVALID: u8 = 1;

#[derive(Debug, Subcommand)]
pub(crate) enum BeaconCommand {
    /// Verify drand beacons (drand HTTP API JSON: one object per line, or an array).
    Verify(VerifyArgs),
    /// Measure the reference and the batch verifier on the same beacons.
    Bench(BenchArgs),
    /// Verify beacons and keep the valid ones in this home (to bind messages to).
    Import(ImportArgs),
    /// Print one round as drand JSON, from the cache or the sources.
    Get(super::grid::GetArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Chain name or hash (a chain given by --chain-info is remembered).
    #[arg(long, value_name = "NAME|HASH")]
    chain: Option<String>,
    /// A drand /info JSON file describing a chain that is not built in.
    #[arg(long, value_name = "FILE")]
    chain_info: Option<PathBuf>,
    /// Beacons to import; `-` or nothing reads standard input.
    #[arg(value_name = "FILE|-")]
    input: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn import(node: &zks_node::Node, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let chain = match (&args.chain_info, &args.chain) {
        (Some(path), _) => node.add_chain(&read_text(path)?)?.hash.to_hex(),
        (None, Some(name)) => name.clone(),
        (None, None) => {
            bail!("say which chain: --chain quicknet, --chain default, or --chain-info FILE")
        }
    };
    let text = read_text(args.input.as_deref().unwrap_or(Path::new("-")))?;
    let report = node.import_beacons(&chain, &text)?;
    if args.json {
        output::json(&report)?;
    } else {
        for (round, reason) in &report.invalid {
            let round = round.map_or_else(|| "?".to_owned(), |r| r.to_string());
            println!("refused  round {round}: {reason}");
        }
        println!(
            "{}: {} verified ({} new), {} refused; newest known round {}",
            report.chain,
            report.valid,
            report.added,
            report.invalid.len(),
            report
                .latest_round
                .map_or_else(|| "none".to_owned(), |r| r.to_string())
        );
    }
    Ok(if report.invalid.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

/// Which chain, shared by the beacon commands.
#[derive(Debug, Args)]
pub(crate) struct ChainArgs {
    /// Chain name (quicknet, default) or chain hash.
    #[arg(long, value_name = "NAME|HASH")]
    chain: Option<String>,
    /// A drand /info JSON file describing a chain that is not built in.
    #[arg(long, value_name = "FILE")]
    chain_info: Option<PathBuf>,
}

impl ChainArgs {
    pub(crate) fn resolve(&self) -> anyhow::Result<ChainInfo> {
        let custom = match &self.chain_info {
            Some(path) => {
                let text = read_text(path)?;
                Some(
                    ChainInfo::from_info_json(&text)
                        .with_context(|| format!("{}", path.display()))?,
                )
            }
            None => None,
        };
        match (&self.chain, custom) {
            (Some(name), custom) => Ok(ChainInfo::find(name, custom.as_ref())?),
            (None, Some(custom)) => Ok(custom),
            (None, None) => {
                bail!("say which chain: --chain quicknet, --chain default, or --chain-info FILE")
            }
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Beacons to verify; `-` or nothing reads standard input.
    #[arg(value_name = "FILE|-")]
    input: Option<PathBuf>,
    /// Print one JSON result per beacon instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// How many beacons to verify.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    count: u64,
    /// Beacons of the chain to use (cycled up to --count); without it, devnet
    /// beacons of the chain's scheme are signed with the test key.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Print the measurements as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: BeaconCommand) -> anyhow::Result<ExitCode> {
    match command {
        BeaconCommand::Verify(args) => verify(&args),
        BeaconCommand::Bench(args) => bench(&args),
        BeaconCommand::Import(_) | BeaconCommand::Get(_) => {
            bail!("this command runs with the node")
        }
    }
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// One line of `verify --json`.
#[derive(Debug, Serialize)]
struct VerifyResult {
    round: Option<u64>,
    /// 1-based line or array element of the input.
    position: usize,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let chain = args.chain.resolve()?;
    let text = read_text(args.input.as_deref().unwrap_or(Path::new("-")))?;
    let parsed: Vec<ParsedBeacon> = parse_beacon_list(chain.scheme, &text)?;

    let beacons: Vec<Beacon> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let started = Instant::now();
    let verdicts = BatchVerifier::new(&chain)?.verify(&beacons, &mut rand_core::OsRng);
    let elapsed = started.elapsed();

    let mut verdicts = verdicts.into_iter();
    let results: Vec<VerifyResult> = parsed
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            Ok(beacon) => {
                // One verdict per well-formed beacon; a missing one fails closed.
                let verdict: Verdict = verdicts
                    .next()
                    .unwrap_or(Err(zks_beacon::Invalid::BadSignature));
                VerifyResult {
                    round: Some(beacon.round()),
                    position: i + 1,
                    valid: verdict.is_ok(),
                    reason: verdict.err().map(|e| e.to_string()),
                }
            }
            Err(m) => VerifyResult {
                round: m.round,
                position: m.position,
                valid: false,
                reason: Some(m.error.to_string()),
            },
        })
        .collect();
    let invalid: Vec<&VerifyResult> = results.iter().filter(|r| !r.valid).collect();

    if args.json {
        for r in &results {
            output::json(r)?;
        }
    } else {
        for r in &invalid {
            let round = r.round.map_or_else(|| "?".to_owned(), |n| n.to_string());
            println!(
                "invalid  round {round} (entry {}): {}",
                r.position,
                r.reason.as_deref().unwrap_or("")
            );
        }
        println!(
            "{} ({}): {} beacons, {} valid, {} invalid; verified in {:.3} s",
            chain.name,
            chain.scheme,
            results.len(),
            results.len() - invalid.len(),
            invalid.len(),
            elapsed.as_secs_f64()
        );
    }
    Ok(if invalid.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

#[derive(Debug, Serialize)]
struct Measurement {
    verifier: String,
    threads: usize,
    beacons: usize,
    seconds: f64,
    beacons_per_second: f64,
    /// Rate relative to the reference verifier.
    ratio: f64,
}

fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let chain = args.chain.resolve()?;
    let count = usize::try_from(args.count)?;
    let (chain, source, beacons) = match &args.input {
        Some(path) => {
            let parsed = parse_beacon_list(chain.scheme, &read_text(path)?)?;
            let pool: Vec<Beacon> = parsed.into_iter().filter_map(Result::ok).collect();
            if pool.is_empty() {
                bail!(
                    "{} holds no well-formed beacons of {}",
                    path.display(),
                    chain.name
                );
            }
            let beacons = pool.iter().cycle().take(count).cloned().collect();
            let label = format!(
                "{} beacons of {} from {}",
                pool.len(),
                chain_label(&chain),
                path.display()
            );
            (chain, label, beacons)
        }
        None => {
            let signer = DevnetSigner::test(chain.scheme, chain.period, chain.genesis_time);
            let beacons = signer.sign_range(1, args.count)?;
            let label = format!(
                "devnet beacons signed with the test key, scheme {} (the cost of {})",
                chain.scheme,
                chain_label(&chain)
            );
            (signer.chain().clone(), label, beacons)
        }
    };

    let reference = ReferenceVerifier::new(&chain)?;
    let started = Instant::now();
    let ref_verdicts = reference.verify(&beacons);
    let ref_time = started.elapsed();

    let batch = BatchVerifier::new(&chain)?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut thread_counts = vec![1];
    if cores > 1 {
        thread_counts.push(cores);
    }
    let mut runs = Vec::new();
    for threads in thread_counts {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let (verdicts, time) = pool.install(|| {
            let started = Instant::now();
            let verdicts = batch.verify(&beacons, &mut rand_core::OsRng);
            (verdicts, started.elapsed())
        });
        if verdicts != ref_verdicts {
            bail!("the batch verifier disagrees with the reference on these beacons");
        }
        runs.push((threads, time));
    }

    let rate = |t: Duration| beacons.len() as f64 / t.as_secs_f64().max(1e-9);
    let ref_rate = rate(ref_time);
    let mut measurements = vec![Measurement {
        verifier: "reference (drand-verify)".into(),
        threads: 1,
        beacons: beacons.len(),
        seconds: ref_time.as_secs_f64(),
        beacons_per_second: ref_rate,
        ratio: 1.0,
    }];
    for (threads, time) in runs {
        measurements.push(Measurement {
            verifier: "batch (blst)".into(),
            threads,
            beacons: beacons.len(),
            seconds: time.as_secs_f64(),
            beacons_per_second: rate(time),
            ratio: rate(time) / ref_rate,
        });
    }
    let valid = ref_verdicts.iter().filter(|v| v.is_ok()).count();
    if args.json {
        output::json(&measurements)?;
    } else {
        println!("beacons: {} ({valid} valid): {source}", beacons.len());
        for m in &measurements {
            println!(
                "{:<26} {:>2} thread{}  {:>9.3} s  {:>10.0} beacons/s  {:>6.1}x",
                m.verifier,
                m.threads,
                if m.threads == 1 { " " } else { "s" },
                m.seconds,
                m.beacons_per_second,
                m.ratio
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn chain_label(chain: &ChainInfo) -> String {
    format!("{} ({})", chain.name, chain.hash)
}
