//! `zks pad new|import|status`: true one-time pads.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use zks_node::Node;

use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum PadCommand {
    /// Write a new pad of random bytes from the OS generator (give a copy in person).
    New {
        /// Size, e.g. 4096, 64KiB, 10MiB, 2GiB.
        #[arg(long, value_parser = parse_size)]
        size: u64,
        /// The file to create (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Import the pad file shared with a contact (both sides import the same file).
    Import {
        /// The contact.
        #[arg(long, value_name = "NAME")]
        contact: String,
        /// The pad file.
        file: PathBuf,
        /// Replace a pad that still has bytes left.
        #[arg(long)]
        replace: bool,
        /// After a successful import, overwrite FILE with zeros and delete
        /// it (the encrypted copy in the home is all this device needs).
        #[arg(long)]
        destroy_source: bool,
        /// Confirm the pad was made after the backup this home was restored
        /// from (asked only of homes restored from backups made before pad
        /// ledgers were kept).
        #[arg(long)]
        new_pad: bool,
    },
    /// Bytes left in each direction of the pad shared with a contact.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The contact.
    name: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Parses `4096`, `64K`, `64KiB`, `10MB`, `10MiB`, `2G`… (binary multiples).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 4096, 64KiB or 10MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

pub(crate) fn run(node: Option<&Node>, command: PadCommand) -> anyhow::Result<ExitCode> {
    match (command, node) {
        (PadCommand::New { size, out }, _) => {
            zks_node::create_pad_file(&out, size)?;
            eprintln!(
                "wrote {size} random bytes to {}; give an identical copy to your contact in person, then both run `zks pad import`.\nOnce both of you imported it, destroy every copy of this file (`zks pad import --destroy-source` overwrites the one it imports): a leftover copy is all anyone needs to read every message sent with it.",
                out.display()
            );
        }
        (
            PadCommand::Import {
                contact,
                file,
                replace,
                destroy_source,
                new_pad,
            },
            Some(node),
        ) => {
            let status = node.import_pad_with(&contact, &file, replace, new_pad)?;
            println!(
                "pad {} shared with {contact}: {} bytes left to send, {} to receive",
                status.pad_id, status.send_left, status.receive_left
            );
            if destroy_source {
                zks_node::destroy_file(&file)?;
                eprintln!(
                    "overwrote and deleted {}; destroy any other copy too",
                    file.display()
                );
            } else {
                eprintln!(
                    "now destroy {} and every other copy of it (or import with --destroy-source): the home keeps its own encrypted copy",
                    file.display()
                );
            }
        }
        (PadCommand::Status(args), Some(node)) => {
            let status = node.pad_status(&args.name)?;
            if args.json {
                output::json(&status)?;
            } else {
                println!("pad {} ({} bytes)", status.pad_id, status.size);
                println!("  to send     {} bytes left", status.send_left);
                println!("  to receive  {} bytes left at most", status.receive_left);
            }
        }
        (_, None) => anyhow::bail!("this command needs the node"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
