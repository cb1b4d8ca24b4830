//! Unlocking a home, and `zks key status|change`.
//!
//! A home's key is in the OS keyring or sealed with a passphrase (see
//! `zks-node`'s vault). The passphrase comes from `ZKS_PASSPHRASE` or a
//! prompt on the terminal; without either, a passphrase-protected home stays
//! locked and every command says so and exits non-zero.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use zeroize::Zeroizing;
use zks_node::{
    DataDir, KeyProtection, MIN_PASSPHRASE_CHARS, Node, PASSPHRASE_ENV, Unlock, VaultState,
};

use crate::output;

/// Environment variable with the new passphrase for `zks key change`.
const NEW_PASSPHRASE_ENV: &str = "ZKS_NEW_PASSPHRASE";

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Show how this home's key is protected.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Protect the home with a new passphrase or the OS keyring; the home
    /// key is rotated and the database re-encrypted. Close the app and the
    /// daemon first.
    Change(ChangeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ChangeArgs {
    /// What protects the key afterwards.
    #[arg(long, value_enum, default_value = "passphrase")]
    to: Target,
    /// Read the new passphrase from this file (first line) instead of
    /// `ZKS_NEW_PASSPHRASE` or a prompt.
    #[arg(long, value_name = "FILE")]
    new_passphrase_file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Target {
    Passphrase,
    Keyring,
}

/// Asks on the terminal, twice when `confirm`.
fn prompt(question: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    let first = Zeroizing::new(rpassword::prompt_password(question)?);
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Again: ")?);
        if *again != *first {
            bail!("the two passphrases differ; nothing was changed");
        }
    }
    Ok(first)
}

/// What opens the home at `dir`: the keyring, `ZKS_PASSPHRASE`, or a prompt.
/// A new home is protected by `ZKS_PASSPHRASE` if set, else by the OS
/// keyring if there is one, else by a passphrase chosen on the terminal.
pub(crate) fn unlock_for(dir: &DataDir) -> anyhow::Result<Unlock> {
    let state = zks_node::vault_state(dir)?;
    if let VaultState::Protected(KeyProtection::Keyring) = state {
        return Ok(Unlock::Keyring);
    }
    if let Some(unlock) = Unlock::from_env() {
        return Ok(unlock);
    }
    let terminal = std::io::stdin().is_terminal();
    match state {
        VaultState::Protected(_) if terminal => Ok(Unlock::Passphrase(prompt(
            &format!("Passphrase for {}: ", dir.path().display()),
            false,
        )?)),
        VaultState::Protected(_) => bail!(
            "this home is locked with a passphrase: set {PASSPHRASE_ENV} or run on a terminal"
        ),
        _ if zks_node::keyring_available() => Ok(Unlock::Keyring),
        _ if terminal => {
            eprintln!(
                "No OS keyring here: choose a passphrase for {} (at least {MIN_PASSPHRASE_CHARS} characters).",
                dir.path().display()
            );
            Ok(Unlock::Passphrase(prompt("New passphrase: ", true)?))
        }
        _ => bail!(
            "no OS keyring is available to keep this new home's key: set {PASSPHRASE_ENV} to \
             protect it with a passphrase, or run on a terminal to choose one"
        ),
    }
}

fn new_passphrase(file: Option<&Path>) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
        return Ok(Zeroizing::new(
            text.lines().next().unwrap_or_default().to_owned(),
        ));
    }
    if let Ok(p) = std::env::var(NEW_PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(p));
    }
    if std::io::stdin().is_terminal() {
        return prompt("New passphrase: ", true);
    }
    bail!(
        "give the new passphrase in {NEW_PASSPHRASE_ENV}, with --new-passphrase-file, or on a terminal"
    )
}

pub(crate) fn run(node: &Node, unlock: &Unlock, command: KeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::Status { json } => {
            let protection = node.key_protection()?;
            if json {
                output::json(&serde_json::json!({ "protection": protection }))?;
            } else {
                println!("{}", describe(protection));
            }
        }
        KeyCommand::Change(args) => {
            let new = match args.to {
                Target::Keyring => Unlock::Keyring,
                Target::Passphrase => {
                    Unlock::Passphrase(new_passphrase(args.new_passphrase_file.as_deref())?)
                }
            };
            let change = node.change_protection(unlock, &new, &mut rand_core::OsRng)?;
            if args.json {
                output::json(&change)?;
            } else {
                println!(
                    "key rotated and database re-encrypted; {}",
                    describe(change.protection)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(protection: KeyProtection) -> &'static str {
    match protection {
        KeyProtection::Passphrase => {
            "the home key is sealed with a passphrase (Argon2id); the database is encrypted (SQLCipher)"
        }
        KeyProtection::Keyring => {
            "the home key is in the OS keyring; the database is encrypted (SQLCipher)"
        }
    }
}
