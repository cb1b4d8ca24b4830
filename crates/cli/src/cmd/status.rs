//! `zks status`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::output;

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(home: Option<PathBuf>, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let node = super::start_node(home).await?;
    let status = node.status()?;
    node.stop().await;
    if args.json {
        output::json(&status)?;
    } else {
        println!("zks {}", status.version);
        println!("data directory   {}", status.data_dir.display());
        println!("database         {}", status.database.path.display());
        println!(
            "schema version   {} (SQLite {}, SQLCipher)",
            status.database.schema_version, status.database.sqlite_version
        );
        println!(
            "home key         {}",
            match status.database.key_protection {
                zks_node::KeyProtection::Passphrase => "sealed with a passphrase (Argon2id)",
                zks_node::KeyProtection::Keyring => "in the OS keyring",
            }
        );
        println!(
            "beacon cache     {} ({} bytes)",
            status.grid.cache_dir.display(),
            status.grid.cache_bytes
        );
        for chain in &status.grid.chains {
            println!(
                "  {:<10} {} of {} rounds held",
                chain.name, chain.rounds, chain.head
            );
        }
        match &status.live {
            Some(live) => {
                println!(
                    "running node     {} peers, seeding {}{}",
                    live.peers,
                    if live.seeding.enabled { "on" } else { "off" },
                    live.seeding
                        .last_error
                        .as_deref()
                        .map(|e| format!(" (last pass: {e})"))
                        .unwrap_or_default()
                );
                for (source, stats) in &live.sources {
                    println!(
                        "  {source:<10} {} rounds, {} failures, {} ms waiting",
                        stats.rounds, stats.failures, stats.millis
                    );
                }
                let net = &live.network;
                println!(
                    "public DHT       {} mode, {} peers; {} grid peers; reachability {}{}",
                    net.dht_mode,
                    net.dht_peers,
                    net.grid_peers,
                    net.nat,
                    if net.relays.is_empty() {
                        String::new()
                    } else {
                        format!("; relay slots on {}", net.relays.join(", "))
                    }
                );
                for (contact, path) in &live.contacts {
                    println!("  {contact:<10} {path}");
                }
            }
            None => println!("running node     none (start one with `zks daemon`)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
