//! `zks beacon verify` and `zks beacon bench`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

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
    /// Choose the chain messages are bound to (and timelocked to, when it
    /// can timelock; quicknet otherwise).
    Bind(BindArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BindArgs {
    /// Chain name or hash (built in, or learned by `zks fetch` or `zks beacon import --chain-info`).
    #[arg(value_name = "NAME|HASH")]
    chain: String,
}

pub(crate) fn bind(node: &zks_node::Node, args: &BindArgs) -> anyhow::Result<ExitCode> {
    let chain = node.set_binding_chain(&args.chain)?;
    println!(
        "messages are now bound to {} ({}){}",
        chain.name,
        chain.hash.to_hex(),
        if zks_tlock::check_chain(&chain).is_ok() {
            "; timelocked messages use it too"
        } else {
            "; it cannot timelock, so timelocked messages use quicknet"
        }
    );
    Ok(ExitCode::SUCCESS)
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
    /// Which verifier: `batch` (blst, one randomized pairing check per
    /// batch) or `reference` (drand-verify, each beacon on its own).
    #[arg(long, value_enum, default_value_t = VerifierKind::Batch)]
    verifier: VerifierKind,
    /// Threads to verify on (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum VerifierKind {
    Batch,
    Reference,
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
    /// How many times each verifier runs at each thread count.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    runs: u64,
    /// A second case in which this share of the beacons is invalid (0: none).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=50))]
    invalid_percent: u8,
    /// Print the measurements as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: BeaconCommand) -> anyhow::Result<ExitCode> {
    match command {
        BeaconCommand::Verify(args) => verify(&args),
        BeaconCommand::Bench(args) => bench(&args),
        BeaconCommand::Import(_) | BeaconCommand::Get(_) | BeaconCommand::Bind(_) => {
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
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = args.threads {
        pool = pool.num_threads(usize::try_from(threads)?);
    }
    let pool = pool.build()?;
    let threads = pool.current_num_threads();
    let (verdicts, elapsed) = match args.verifier {
        VerifierKind::Batch => {
            let verifier = BatchVerifier::new(&chain)?;
            pool.install(|| {
                let started = Instant::now();
                let verdicts = verifier.verify(&beacons, &mut rand_core::OsRng);
                (verdicts, started.elapsed())
            })
        }
        VerifierKind::Reference => {
            let verifier = ReferenceVerifier::new(&chain)?;
            pool.install(|| {
                let started = Instant::now();
                (verifier.verify_parallel(&beacons), started.elapsed())
            })
        }
    };

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
            "{} ({}): {} beacons, {} valid, {} invalid; verified in {:.3} s by the {} verifier on {} thread{}",
            chain.name,
            chain.scheme,
            results.len(),
            results.len() - invalid.len(),
            invalid.len(),
            elapsed.as_secs_f64(),
            match args.verifier {
                VerifierKind::Batch => "batch",
                VerifierKind::Reference => "reference",
            },
            threads,
            if threads == 1 { "" } else { "s" }
        );
    }
    Ok(if invalid.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

/// One verifier at one thread count: `runs` timings of the same beacons.
#[derive(Debug, Serialize)]
struct Measurement {
    verifier: &'static str,
    threads: usize,
    beacons: usize,
    /// Every run's time, in order.
    seconds: Vec<f64>,
    median_seconds: f64,
    min_seconds: f64,
    max_seconds: f64,
    /// At the median time.
    beacons_per_second: f64,
}

/// Batch over reference speed: at each thread count, and best against best.
#[derive(Debug, Serialize)]
struct Ratios {
    /// `(threads, batch rate / reference rate)`, both at that many threads.
    equal_threads: Vec<(usize, f64)>,
    /// The fastest batch run against the fastest reference run.
    best_of: f64,
    /// The fastest batch run against the reference on one thread (what a
    /// single-threaded user of drand-verify sees).
    against_one_thread_reference: f64,
}

#[derive(Debug, Serialize)]
struct BenchCase {
    /// How many beacons the verifiers refused: those given another round's
    /// signature (a valid point, the wrong message; the batch verifier finds
    /// them by bisection), and on a chained scheme the ones after them,
    /// whose link breaks.
    invalid: usize,
    measurements: Vec<Measurement>,
    ratios: Ratios,
}

/// How long the fastest batch run would take over a chain's whole history.
#[derive(Debug, Serialize)]
struct Projection {
    chain: String,
    /// Rounds published by now.
    rounds: u64,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    source: String,
    beacons: usize,
    runs: usize,
    cases: Vec<BenchCase>,
    projection: Projection,
}

const REFERENCE: &str = "reference (drand-verify)";
const BATCH: &str = "batch (blst)";

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

    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut thread_counts = vec![1];
    if cores > 1 {
        thread_counts.push(cores);
    }
    let pools = thread_counts
        .iter()
        .map(|&n| Ok((n, rayon::ThreadPoolBuilder::new().num_threads(n).build()?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let reference = ReferenceVerifier::new(&chain)?;
    let batch = BatchVerifier::new(&chain)?;

    let mut cases = Vec::new();
    for percent in [0, args.invalid_percent] {
        if percent == 0 && !cases.is_empty() {
            continue;
        }
        let beacons = with_invalid(&chain, &beacons, percent)?;
        // The reference's verdicts (from its first run) are the truth every
        // other run must repeat.
        let mut truth: Option<Vec<Verdict>> = None;
        let mut measurements = Vec::new();
        for (name, is_batch) in [(REFERENCE, false), (BATCH, true)] {
            for (threads, pool) in &pools {
                let mut seconds = Vec::new();
                for _ in 0..args.runs {
                    let (verdicts, time) = pool.install(|| {
                        let started = Instant::now();
                        let verdicts = if is_batch {
                            batch.verify(&beacons, &mut rand_core::OsRng)
                        } else {
                            reference.verify_parallel(&beacons)
                        };
                        (verdicts, started.elapsed())
                    });
                    match &truth {
                        None => truth = Some(verdicts),
                        Some(t) if *t == verdicts => {}
                        Some(_) => bail!(
                            "{name} on {threads} thread(s) disagrees with the reference on these beacons"
                        ),
                    }
                    seconds.push(time.as_secs_f64());
                }
                measurements.push(Measurement::new(name, *threads, beacons.len(), seconds));
            }
        }
        let invalid = truth.map_or(0, |t| t.iter().filter(|v| v.is_err()).count());
        let ratios = Ratios::of(&measurements);
        cases.push(BenchCase {
            invalid,
            measurements,
            ratios,
        });
    }

    let best_batch = cases[0]
        .measurements
        .iter()
        .filter(|m| m.verifier == BATCH)
        .map(|m| m.beacons_per_second)
        .fold(0.0, f64::max);
    let projected = ChainInfo::quicknet();
    let rounds = projected.round_at(unix_now());
    let report = BenchReport {
        source,
        beacons: beacons.len(),
        runs: usize::try_from(args.runs)?,
        projection: Projection {
            chain: projected.name.to_string(),
            rounds,
            seconds: rounds as f64 / best_batch.max(1e-9),
        },
        cases,
    };
    if args.json {
        output::json(&report)?;
    } else {
        print_bench(&report);
    }
    Ok(ExitCode::SUCCESS)
}

impl Measurement {
    fn new(verifier: &'static str, threads: usize, beacons: usize, seconds: Vec<f64>) -> Self {
        let mut sorted = seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Measurement {
            verifier,
            threads,
            beacons,
            min_seconds: sorted.first().copied().unwrap_or(0.0),
            max_seconds: sorted.last().copied().unwrap_or(0.0),
            median_seconds: median,
            beacons_per_second: beacons as f64 / median.max(1e-9),
            seconds,
        }
    }

    fn best_rate(&self) -> f64 {
        self.beacons as f64 / self.min_seconds.max(1e-9)
    }
}

impl Ratios {
    fn of(measurements: &[Measurement]) -> Ratios {
        let find = |name: &str, threads: usize| {
            measurements
                .iter()
                .find(|m| m.verifier == name && m.threads == threads)
        };
        let equal_threads = measurements
            .iter()
            .filter(|m| m.verifier == BATCH)
            .filter_map(|b| {
                let r = find(REFERENCE, b.threads)?;
                Some((b.threads, b.beacons_per_second / r.beacons_per_second))
            })
            .collect();
        let best = |name: &str| {
            measurements
                .iter()
                .filter(|m| m.verifier == name)
                .map(Measurement::best_rate)
                .fold(0.0, f64::max)
        };
        let one_thread_reference = find(REFERENCE, 1).map_or(0.0, Measurement::best_rate);
        Ratios {
            equal_threads,
            best_of: best(BATCH) / best(REFERENCE).max(1e-9),
            against_one_thread_reference: best(BATCH) / one_thread_reference.max(1e-9),
        }
    }
}

/// A copy of `beacons` in which `percent` % (spread evenly) carry the
/// signature of another beacon: a valid point, the wrong message.
fn with_invalid(chain: &ChainInfo, beacons: &[Beacon], percent: u8) -> anyhow::Result<Vec<Beacon>> {
    let mut out = beacons.to_vec();
    let invalid = beacons.len() * usize::from(percent) / 100;
    if invalid == 0 {
        return Ok(out);
    }
    if beacons.len() < 2 {
        bail!("--invalid-percent needs at least two beacons");
    }
    let step = beacons.len() / invalid;
    for k in 0..invalid {
        let i = k * step;
        let donor = &beacons[(i + 1) % beacons.len()];
        if donor.signature() == beacons[i].signature() {
            bail!("beacons {} and {} carry the same signature", i + 1, i + 2);
        }
        out[i] = Beacon::new(
            chain.scheme,
            beacons[i].round(),
            donor.signature().to_vec(),
            beacons[i].previous_signature().map(<[u8]>::to_vec),
        )?;
    }
    Ok(out)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn print_bench(report: &BenchReport) {
    println!(
        "beacons: {}: {}; {} run{} each, median (min–max)",
        report.beacons,
        report.source,
        report.runs,
        if report.runs == 1 { "" } else { "s" }
    );
    for case in &report.cases {
        println!(
            "\n{}",
            if case.invalid == 0 {
                "all valid".to_owned()
            } else {
                format!("{} invalid (found by bisection)", case.invalid)
            }
        );
        for m in &case.measurements {
            println!(
                "  {:<26} {:>2} thread{}  {:>8.3} s ({:.3}–{:.3})  {:>10.0} beacons/s",
                m.verifier,
                m.threads,
                if m.threads == 1 { " " } else { "s" },
                m.median_seconds,
                m.min_seconds,
                m.max_seconds,
                m.beacons_per_second,
            );
        }
        let equal: Vec<String> = case
            .ratios
            .equal_threads
            .iter()
            .map(|(t, r)| format!("{r:.1}x at {t} thread{}", if *t == 1 { "" } else { "s" }))
            .collect();
        println!(
            "  batch / reference: {}; best of each {:.1}x; best batch / one-thread reference {:.1}x",
            equal.join(", "),
            case.ratios.best_of,
            case.ratios.against_one_thread_reference
        );
    }
    let p = &report.projection;
    println!(
        "\nall of {} ({} rounds by now) at the best batch rate: {:.0} s ({:.1} min)",
        p.chain,
        p.rounds,
        p.seconds,
        p.seconds / 60.0
    );
}

fn chain_label(chain: &ChainInfo) -> String {
    format!("{} ({})", chain.name, chain.hash)
}
