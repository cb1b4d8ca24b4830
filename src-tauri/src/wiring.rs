//! What a started node is connected to: its events forwarded to the window,
//! the network (brought online like `zks daemon`), desktop notifications
//! and the tray. Used at start ([`crate::shell`]) and when the window
//! unlocks the home ([`crate::commands::vault`]), so both behave alike.

use tauri::{AppHandle, Emitter};
use zks_node::{Node, NodeError, NodeEvent, OnlineConfig};

use crate::dto::NODE_EVENT;
use crate::notify;
use crate::state::withdraw_if_ours;
use crate::tray::{self, Presence};

/// Wires a node that just started (at start, or unlocked from the window)
/// to the app: its events to the window, the network, desktop
/// notifications and the tray. The one place this happens, so an unlocked
/// home behaves exactly like one opened at start. Every task started here
/// ends when the node stops (locking the home).
pub(crate) fn node_started(app: &AppHandle, node: &Node) {
    forward_events(app, node);
    tray::set_presence(app, Presence::Starting);
    tray::follow_node(app, node);
    bring_online(app, node);
    if tray::notifications_on(app) {
        notify::watch(app, node);
    } else {
        tracing::info!("desktop notifications are off ({}=0)", notify::ENV);
    }
}

/// Brings the home online in the background, like `zks daemon`: the swarm
/// with messaging on, announced in `daemon.json`. When another live daemon
/// already serves this home, the app stays offline and leaves delivery to it
/// (two swarms with one PeerId would compete); the shared database still
/// shows everything. A failure only logs a warning. The tray's status line
/// says which of these happened.
///
/// Stopping the node (locking the home) ends everything this starts.
fn bring_online(app: &AppHandle, node: &Node) {
    let node = node.clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(other) = node.running_daemon() {
            tracing::info!(
                "a daemon (process {}) already serves this home; it delivers the messages",
                other.pid
            );
            tray::set_presence(&app, Presence::ServedByDaemon);
            return;
        }
        // Like `zks daemon`: messaging, files and the grid with the
        // settings' sources and seeding, announced in daemon.json.
        let mdns = node.settings().map(|s| s.mdns).unwrap_or(false);
        let config = OnlineConfig {
            mdns,
            ..OnlineConfig::default()
        };
        match node.serve_home(config).await {
            // Locked while the network came up: take it down again.
            Ok(_) if matches!(node.settings(), Err(NodeError::Stopped)) => {
                withdraw_if_ours(&node);
            }
            Ok(_) => tray::set_presence(&app, Presence::Online),
            Err(e) => {
                tracing::warn!("cannot go online; messages stay queued: {e}");
                tray::set_presence(&app, Presence::Offline);
            }
        }
    });
}

fn forward_events(app: &AppHandle, node: &Node) {
    let mut events = node.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let stopping = event == NodeEvent::Stopping;
                    if let Err(e) = app.emit(NODE_EVENT, &event) {
                        tracing::warn!("cannot forward a node event to the window: {e}");
                    }
                    if stopping {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("the window missed {n} node events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
