//! The desktop app: a thin Tauri adapter over `zks-node`.
//!
//! Commands (grouped by domain under [`commands`]) translate IPC calls into
//! `Node` calls and DTOs; node events are forwarded to the window as Tauri
//! events. No application logic lives here — the same `Node` serves the CLI.
//!
//! The node slot ([`commands::AppNode`]) changes at run time: a home whose
//! key is sealed with a passphrase starts *locked* unless `ZKS_PASSPHRASE`
//! is set, and the window unlocks it (or locks it again) through the
//! commands in [`commands::vault`].

// "Start seeding at login" is an XDG autostart entry, built on Linux only;
// macOS (login items) and Windows (the Run key) do not have it yet.
#[cfg(target_os = "linux")]
pub mod autostart;
pub mod commands;
pub mod dto;
pub mod error;
mod local_state;
mod notify;
mod shell;
mod tray;

pub use shell::run;
