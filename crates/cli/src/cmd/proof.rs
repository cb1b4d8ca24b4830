//! `zks proof export` / `zks proof verify`: not-before proofs of messages
//! (that a message was sealed no earlier than its drand round), checkable
//! by anyone with this program alone: no home, no network.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use zks_node::Node;

use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum ProofCommand {
    /// Write a proof that one of your messages was sealed no earlier than its drand round.
    Export(ExportArgs),
    /// Check a proof file (no home or network needed).
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The message (its id in `zks inbox`); one of your grid-pad chat messages.
    id: i64,
    /// Where to write the proof (JSON).
    output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The proof file.
    input: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn export(node: &Node, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let proof = node.export_proof(args.id)?;
    let text = serde_json::to_string_pretty(&proof)?;
    super::tlock::write_atomically(&args.output, |out| {
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(text.len() as u64 + 1)
    })?;
    println!(
        "wrote a proof that message {} was sealed no earlier than round {} ({}) to {}",
        args.id,
        proof.beacon["round"],
        super::tlock::utc(
            zks_beacon::ChainInfo::from_info_json(&proof.chain.to_string())
                .map(|c| c.time_of_round(proof.beacon["round"].as_u64().unwrap_or(0)))
                .unwrap_or(0)
        ),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let check = zks_node::verify_proof(&text)?;
    if args.json {
        output::json(&check)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "valid: sealed no earlier than {} (round {} of {}{})",
        super::tlock::utc(check.not_before),
        check.round,
        check.chain,
        if check.league_of_entropy {
            ", the League of Entropy's drand chain"
        } else {
            "; not a League of Entropy chain: this shows only what its key holder allows"
        }
    );
    println!("  text: {:?}", check.text);
    println!(
        "  envelope ref: {} (compare with the message received)",
        check.envelope_ref
    );
    println!(
        "  the sender's clock said {} (not proven)",
        super::tlock::utc(u64::try_from(check.sent_at).unwrap_or(0))
    );
    Ok(ExitCode::SUCCESS)
}
