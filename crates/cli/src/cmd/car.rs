//! `zks grid export-car` and `zks grid import-car`: the beacon cache's
//! complete chunks as a CARv1 file, for IPFS (`ipfs dag import`) or a USB
//! stick. The work is `Node::export_car` / `Node::import_car`.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use zks_node::{CarChunk, Node};

use crate::output;

/// Exit code of an import that refused some chunk (the others are kept).
const EXIT_REFUSED: u8 = 1;

#[derive(Debug, Subcommand)]
pub(crate) enum GridCommand {
    /// Write the complete chunks of a round range to a CAR file (CARv1).
    ExportCar(ExportArgs),
    /// Verify the chunks of a CAR file and keep those that verify.
    ImportCar(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Chain name or hash (one this home knows).
    #[arg(long, value_name = "NAME|HASH")]
    chain: String,
    /// Rounds to export, e.g. 1..100000 (inclusive); every complete chunk
    /// of 16384 rounds that overlaps them is written whole.
    #[arg(long, value_parser = super::grid::parse_rounds)]
    rounds: RangeInclusive<u64>,
    /// The CAR file to write (it must not exist).
    #[arg(value_name = "OUT.car")]
    out: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The CAR file to read.
    #[arg(value_name = "IN.car")]
    input: PathBuf,
    /// The chain the CAR must hold (default: the one its index names, if
    /// this home knows it).
    #[arg(long, value_name = "NAME|HASH")]
    chain: Option<String>,
    /// A drand /info JSON file describing a chain that is not built in
    /// (remembered, as `zks beacon import --chain-info` does).
    #[arg(long, value_name = "FILE")]
    chain_info: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(node: &Node, command: GridCommand) -> anyhow::Result<ExitCode> {
    match command {
        GridCommand::ExportCar(args) => export(node, &args),
        GridCommand::ImportCar(args) => import(node, &args),
    }
}

/// "rounds A–B" of consecutive chunks, or each span when there are gaps.
fn spans(chunks: &[CarChunk]) -> String {
    let mut sorted: Vec<&CarChunk> = chunks.iter().collect();
    sorted.sort_by_key(|c| c.first_round);
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for c in sorted {
        match spans.last_mut() {
            Some(last) if last.1 + 1 == c.first_round => last.1 = c.last_round,
            _ => spans.push((c.first_round, c.last_round)),
        }
    }
    spans
        .iter()
        .map(|(a, b)| format!("{a}–{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn export(node: &Node, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let report = node.export_car(&args.chain, args.rounds.clone(), &args.out)?;
    if args.json {
        output::json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: wrote {} complete chunk{} (rounds {}) to {} ({} bytes; roots: the chunk index {} and each chunk)",
        report.chain,
        report.chunks.len(),
        if report.chunks.len() == 1 { "" } else { "s" },
        spans(&report.chunks),
        report.path.display(),
        report.bytes,
        report.index_cid,
    );
    for c in &report.chunks {
        println!(
            "  chunk {} rounds {}–{} {}",
            c.index, c.first_round, c.last_round, c.cid
        );
    }
    for p in &report.partial {
        println!(
            "  not exported: chunk {} (rounds {}–{}) is partial ({} of 16384 rounds held): a partial chunk has no stable CID",
            p.index, p.first_round, p.last_round, p.held
        );
    }
    if report.absent > 0 {
        println!(
            "  not exported: {} chunk{} of the range not held at all",
            report.absent,
            if report.absent == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn import(node: &Node, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let chain = match (&args.chain_info, &args.chain) {
        (Some(path), chosen) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let info = node.add_chain(&text)?;
            if let Some(name) = chosen
                && node.chain(name)?.hash != info.hash
            {
                bail!(
                    "--chain {name} and --chain-info {} name different chains",
                    path.display()
                );
            }
            Some(info.hash.to_hex())
        }
        (None, chosen) => chosen.clone(),
    };
    let report = node.import_car(&args.input, chain.as_deref())?;
    if args.json {
        output::json(&report)?;
    } else {
        for r in &report.refused {
            let index = r.index.map_or_else(|| "?".to_owned(), |i| i.to_string());
            let at = r
                .offset
                .map_or_else(String::new, |o| format!(" at byte {o}"));
            println!("refused  chunk {index} {}{at}: {}", r.cid, r.reason);
        }
        println!(
            "{}: {} chunk{} imported (rounds {}), {} refused; {} rounds added; newest round held {}",
            report.chain,
            report.imported.len(),
            if report.imported.len() == 1 { "" } else { "s" },
            if report.imported.is_empty() {
                "none".to_owned()
            } else {
                spans(&report.imported)
            },
            report.refused.len(),
            report.rounds_added,
            report
                .latest_round
                .map_or_else(|| "none".to_owned(), |r| r.to_string())
        );
    }
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}
