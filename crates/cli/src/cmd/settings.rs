//! `zks settings`: show and change the settings the daemon and the desktop
//! app share (seeding, chains, peers, sources, caps, notifications).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use zks_node::{Node, Settings};

use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum SettingsCommand {
    /// Print the settings (JSON).
    Show,
    /// Change one setting, e.g. `seeding true`, `upload_rounds_per_sec 5000`,
    /// `drand_urls '["http://127.0.0.1:8080"]'`. VALUE is JSON; a bare word
    /// is taken as a string.
    Set {
        /// The setting's name (as `zks settings show` prints it).
        key: String,
        /// The new value.
        value: String,
    },
}

pub(crate) fn run(node: &Node, command: SettingsCommand) -> anyhow::Result<ExitCode> {
    match command {
        SettingsCommand::Show => output::json(&node.settings()?)?,
        SettingsCommand::Set { key, value } => {
            let mut all = serde_json::to_value(node.settings()?)?;
            let slot = all.get_mut(&key).with_context(|| {
                format!("there is no setting {key:?} (see `zks settings show`)")
            })?;
            *slot = serde_json::from_str(&value)
                .unwrap_or_else(|_| serde_json::Value::String(value.clone()));
            let changed: Settings = serde_json::from_value(all)
                .with_context(|| format!("{value:?} is not a valid value for {key}"))?;
            output::json(&node.save_settings(&changed)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
