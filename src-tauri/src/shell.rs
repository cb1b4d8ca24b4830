//! Window, tray and the wiring between Tauri and the node.

use std::path::PathBuf;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, RunEvent};
use zks_node::{DaemonInfo, DataDir, Node, NodeConfig, OnlineConfig, listen_addresses};

use crate::commands::{self, AppNode};
use crate::dto::NODE_EVENT;
use crate::error::IpcError;

/// Starts the desktop app and blocks until it quits.
pub fn run() {
    zks_node::init_logging("warn,zks=info,libp2p_kad=error");
    let home = home_from_args(std::env::args().skip(1));
    tauri::Builder::default()
        .setup(move |app| {
            let node = tauri::async_runtime::block_on(start_node(home));
            if let AppNode::Running(node) = &node {
                forward_events(app.handle(), node);
                bring_online(node);
            }
            app.manage(node);
            build_tray(app.handle())?;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::node::node_status,
            commands::grid::grid_status,
            commands::pairing::pairing_create_invite,
            commands::pairing::pairing_accept,
            commands::pairing::pairing_finish,
            commands::pairing::contacts_list,
            commands::pairing::contacts_verify,
            commands::chat::chat_history,
            commands::chat::chat_send,
            commands::files::transfers_list,
            commands::files::file_send,
            commands::files::file_accept,
            commands::files::file_decline,
            commands::files::file_pause,
            commands::files::file_cancel,
            commands::files::downloads_dir,
            commands::files::open_folder,
        ])
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            tracing::error!("the desktop app failed: {e}");
            std::process::exit(1);
        })
        .run(|app, event| {
            if let RunEvent::Exit = event
                && let Some(AppNode::Running(node)) = app.try_state::<AppNode>().as_deref()
            {
                withdraw_if_ours(node);
            }
        });
}

/// `--home DIR` (or `--home=DIR`) on the command line, like the CLI's.
fn home_from_args(mut args: impl Iterator<Item = String>) -> Option<PathBuf> {
    while let Some(arg) = args.next() {
        if arg == "--home" {
            return args.next().map(PathBuf::from);
        }
        if let Some(dir) = arg.strip_prefix("--home=") {
            return Some(PathBuf::from(dir));
        }
    }
    None
}

async fn start_node(home: Option<PathBuf>) -> AppNode {
    let started = async {
        let data_dir = DataDir::resolve(home)?;
        Node::start(NodeConfig { data_dir }).await
    };
    match started.await {
        Ok(node) => AppNode::Running(node),
        Err(e) => {
            tracing::error!("the node did not start: {e}");
            AppNode::Failed(IpcError::from(e))
        }
    }
}

/// Brings the home online in the background, like `zks daemon`: the swarm
/// with messaging on, announced in `daemon.json`. When another live daemon
/// already serves this home, the app stays offline and leaves delivery to it
/// (two swarms with one PeerId would compete); the shared database still
/// shows everything. A failure only logs a warning.
fn bring_online(node: &Node) {
    let node = node.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(other) = node.running_daemon() {
            tracing::info!(
                "a daemon (process {}) already serves this home; it delivers the messages",
                other.pid
            );
            return;
        }
        let client = match node.go_online(OnlineConfig::default()).await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!("cannot go online; messages stay queued: {e}");
                return;
            }
        };
        let addresses = listen_addresses(&client).await;
        if addresses.is_empty() {
            tracing::warn!("the network did not start listening; not announcing this app");
            return;
        }
        let info = DaemonInfo {
            pid: std::process::id(),
            peer_id: client.peer_id().to_string(),
            addresses,
        };
        if let Err(e) = node.publish_daemon(&info) {
            tracing::warn!("cannot announce this app as the home's daemon: {e}");
        }
    });
}

/// Removes `daemon.json` on exit if this process wrote it.
fn withdraw_if_ours(node: &Node) {
    if node
        .running_daemon()
        .is_some_and(|d| d.pid == std::process::id())
    {
        node.withdraw_daemon();
    }
}

fn forward_events(app: &AppHandle, node: &Node) {
    let mut events = node.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Err(e) = app.emit(NODE_EVENT, &event) {
                        tracing::warn!("cannot forward a node event to the window: {e}");
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

fn build_tray(app: &AppHandle) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show", true, None::<&str>)?;
    let quit_item = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &quit_item])?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("ZKS Entropy Grid")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_main_window(app),
            "quit" => quit_app(app),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

fn quit_app(app: &AppHandle) {
    if let Some(AppNode::Running(node)) = app.try_state::<AppNode>().as_deref() {
        tauri::async_runtime::block_on(node.stop());
    }
    app.exit(0);
}

#[cfg(test)]
mod tests {
    use super::{home_from_args, withdraw_if_ours};
    use std::path::PathBuf;
    use zks_node::{DaemonInfo, DataDir, Node, NodeConfig, OnlineConfig, listen_addresses};

    #[tokio::test]
    async fn goes_online_and_withdraws_its_own_announcement() {
        let home = std::env::temp_dir().join(format!("zks-desktop-shell-{}", std::process::id()));
        let node = Node::start(NodeConfig {
            data_dir: DataDir::at(&home).unwrap(),
        })
        .await
        .unwrap();
        let client = node.go_online(OnlineConfig::default()).await.unwrap();
        let addresses = listen_addresses(&client).await;
        assert!(!addresses.is_empty());
        assert!(node.running_daemon().is_none());
        node.publish_daemon(&DaemonInfo {
            pid: std::process::id(),
            peer_id: client.peer_id().to_string(),
            addresses,
        })
        .unwrap();
        assert_eq!(node.running_daemon().unwrap().pid, std::process::id());
        withdraw_if_ours(&node);
        assert!(node.running_daemon().is_none());
        node.stop().await;
        let _ = std::fs::remove_dir_all(&home);
    }

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn home_flag_in_both_spellings() {
        assert_eq!(
            home_from_args(args(&["--home", "/a"])),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            home_from_args(args(&["--home=/b"])),
            Some(PathBuf::from("/b"))
        );
        assert_eq!(home_from_args(args(&["--other"])), None);
    }
}
