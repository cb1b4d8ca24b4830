//! The TypeScript types of the IPC, generated from the Rust types with
//! ts-rs: every command result and event payload the window receives (the
//! DTOs of [`crate::dto`], [`IpcError`] and the node's types they include),
//! one file per type in `ui/src/lib/bindings/`, checked in and imported by
//! `ui/src/lib/ipc.ts`. Integers are `number` (every count and id the app
//! sends fits in 2^53).
//!
//! This module is test-only. Its test `ipc_bindings_are_current`
//! generates them into a temporary folder and fails if the checked-in files
//! differ, so CI catches a DTO changed without its TypeScript. To
//! regenerate after changing a type:
//!
//! ```text
//! ZKS_WRITE_BINDINGS=1 cargo test -p zks-desktop ipc_bindings_are_current
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use ts_rs::{Config, ExportError, TS};
use zks_node::NodeEvent;

use crate::dto::{
    AcceptedInvite, ChatMessage, GridLive, GridStatus, HISTORY_EVENT, HistoryProgress,
    HistoryReport, InviteCode, NODE_EVENT, NodeStatus, PadImported, PinnedRange, SavedSettings,
    SearchHit, SentMessage, SettingsEdit, SettingsPage, Transfer, VaultStatus,
};
use crate::error::IpcError;

/// Where the generated files are checked in.
const BINDINGS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings");

/// Set (to anything) to write the files into [`BINDINGS_DIR`] instead of
/// checking them.
const WRITE_ENV: &str = "ZKS_WRITE_BINDINGS";

/// Writes the declaration of every type the window receives or sends as a
/// whole object, and of every type those use, into `dir` (`Name.ts` each).
fn export_into(dir: &Path) -> Result<(), ExportError> {
    let cfg = Config::new().with_large_int("number").with_out_dir(dir);
    macro_rules! export {
        ($($ty:ty),* $(,)?) => { $( <$ty as TS>::export_all(&cfg)?; )* };
    }
    export!(
        IpcError,
        NodeEvent,
        NodeStatus,
        GridStatus,
        GridLive,
        HistoryProgress,
        HistoryReport,
        PinnedRange,
        SettingsPage,
        SettingsEdit,
        SavedSettings,
        InviteCode,
        AcceptedInvite,
        ChatMessage,
        SearchHit,
        SentMessage,
        PadImported,
        Transfer,
        zks_node::TransferState,
        zks_node::DisplayName,
        VaultStatus,
        zks_node::GroupInfo,
        zks_node::GroupMessage,
        zks_node::GroupReactionInfo,
        zks_node::GroupFile,
        zks_node::DevicesView,
        zks_node::DeviceInfo,
    );
    Ok(())
}

/// The `.ts` files in `dir` by name, with their text (none if `dir` is
/// missing).
fn ts_files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.expect("a readable bindings folder").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ts"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("a readable binding");
            (name, text)
        })
        .collect()
}

#[test]
fn ipc_bindings_are_current() {
    let checked_in = Path::new(BINDINGS_DIR);
    if std::env::var_os(WRITE_ENV).is_some() {
        for name in ts_files(checked_in).keys() {
            std::fs::remove_file(checked_in.join(name)).unwrap();
        }
        export_into(checked_in).unwrap();
        return;
    }
    let fresh = std::env::temp_dir().join(format!("zks-desktop-bindings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    export_into(&fresh).unwrap();
    let want = ts_files(&fresh);
    let _ = std::fs::remove_dir_all(&fresh);
    let have = ts_files(checked_in);
    let mut stale: Vec<String> = want
        .iter()
        .filter(|(name, text)| have.get(*name) != Some(text))
        .map(|(name, _)| format!("{name} (out of date or missing)"))
        .collect();
    stale.extend(
        have.keys()
            .filter(|name| !want.contains_key(*name))
            .map(|name| format!("{name} (no longer generated)")),
    );
    assert!(
        stale.is_empty(),
        "the TypeScript IPC types in ui/src/lib/bindings/ do not match the Rust types: {}.\n\
         Regenerate them with `{WRITE_ENV}=1 cargo test -p zks-desktop ipc_bindings_are_current` \
         and commit the result.",
        stale.join(", ")
    );
}

/// The event names are values, not types, so ts-rs does not carry them:
/// `ipc.ts` states each once, and this keeps them equal to [`NODE_EVENT`]
/// and [`HISTORY_EVENT`].
#[test]
fn ipc_ts_listens_to_the_node_event() {
    let ipc_ts = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/ipc.ts");
    let text = std::fs::read_to_string(ipc_ts).expect("ui/src/lib/ipc.ts");
    for (name, value) in [("NODE_EVENT", NODE_EVENT), ("HISTORY_EVENT", HISTORY_EVENT)] {
        let line = format!("export const {name} = '{value}';");
        assert!(
            text.lines().any(|l| l == line),
            "ui/src/lib/ipc.ts must declare `{line}` (the name src-tauri's dto::{name} emits)"
        );
    }
}
