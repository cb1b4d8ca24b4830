//! The desktop app: a thin Tauri adapter over `zks-node`.
//!
//! Commands (grouped by domain under [`commands`]) translate IPC calls into
//! `Node` calls and DTOs; node events are forwarded to the window as Tauri
//! events. No application logic lives here — the same `Node` serves the CLI.
//!
//! The node slot ([`state::AppNode`]) changes at run time: a home whose
//! key is sealed with a passphrase starts *locked* unless `ZKS_PASSPHRASE`
//! is set, and the window unlocks it (or locks it again) through the
//! commands in [`commands::vault`].
//!
//! Modules, each using only those listed after it (no cycles): `shell`
//! (the entry point) → [`commands`] → `camera` (the Pairing screen's
//! camera: the web view's capture, frames read by the QR decoder) →
//! `wiring` (a started node to the window, the network, notifications) →
//! `tray` → [`state`] (the node slot and its lifecycle) → `notify`,
//! `local_state`, `autostart`, [`dto`], [`error`].

// "Start seeding at login" is an XDG autostart entry, built on Linux only;
// macOS (login items) and Windows (the Run key) do not have it yet.
#[cfg(target_os = "linux")]
pub mod autostart;
#[cfg(test)]
mod bindings;
mod camera;
pub mod commands;
pub mod dto;
pub mod error;
mod local_state;
mod notify;
mod shell;
pub mod state;
#[cfg(test)]
mod test_support;
mod tray;
mod wiring;

pub use shell::run;
