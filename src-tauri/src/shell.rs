//! The wiring between Tauri and the node: start-up, the window's events,
//! node events forwarded to the window, notifications and the tray
//! (`tray.rs`). How the home is opened at start (keyring, `ZKS_PASSPHRASE`,
//! or locked until the window unlocks it) is in [`commands::vault`]; a node
//! that starts either way is wired up by [`node_started`].

#[cfg(target_os = "linux")]
use std::ffi::OsString;
use std::path::PathBuf;

use tauri::{AppHandle, Emitter, Manager, RunEvent, WindowEvent};
use zks_node::{Node, NodeError, NodeEvent, OnlineConfig};

use crate::commands::{self, AppNode};
use crate::dto::NODE_EVENT;
use crate::notify;
use crate::tray::{self, Presence, TrayState};

/// Starts the desktop app and blocks until it quits.
pub fn run() {
    // Linux: GTK needs an X11 or Wayland display, and without one the app
    // would panic deep in its event loop with a backtrace; say it in one
    // line instead. macOS and Windows need no check: a program started
    // there always has the window server of the user's session.
    #[cfg(target_os = "linux")]
    if !has_display(
        std::env::var_os("DISPLAY"),
        std::env::var_os("WAYLAND_DISPLAY"),
    ) {
        eprintln!("no display: run it from a desktop session, or under xvfb-run");
        std::process::exit(1);
    }
    zks_node::init_logging("warn,zks=info,libp2p_kad=error");
    let home = home_from_args(std::env::args().skip(1));
    let background = has_flag(std::env::args().skip(1), BACKGROUND_FLAG);
    let notifications = notify::enabled(std::env::var(notify::ENV).ok().as_deref());
    tauri::Builder::default()
        .setup(move |app| {
            let node = tauri::async_runtime::block_on(commands::vault::open_at_start(home));
            let running = node.get().ok();
            let presence = if running.is_some() {
                Presence::Starting
            } else if node.is_locked() {
                Presence::Locked
            } else {
                Presence::NotRunning
            };
            app.manage(TrayState::new(presence, notifications));
            app.manage(node);
            tray::build(app.handle())?;
            tray::keep_fresh(app.handle());
            if let Some(node) = &running {
                node_started(app.handle(), node);
            }
            // Started at login (`--background`): stay in the tray, if there
            // is one to bring the window back from and a node to run (a
            // locked home shows its Unlock screen).
            if background
                && running.is_some()
                && tray::tray_available()
                && let Some(window) = app.get_webview_window(tray::MAIN_WINDOW)
            {
                let _ = window.hide();
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                tray::on_close_requested(window, api);
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::node::node_status,
            commands::grid::grid_status,
            commands::grid::grid_live,
            commands::grid::seeding_set,
            commands::settings::settings_get,
            commands::settings::settings_save,
            commands::settings::autostart_set,
            commands::pairing::pairing_create_invite,
            commands::pairing::pairing_accept,
            commands::pairing::pairing_finish,
            commands::pairing::contacts_list,
            commands::pairing::contacts_verify,
            commands::chat::chat_history,
            commands::chat::chat_send,
            commands::chat::chat_unread,
            commands::chat::chat_mark_read,
            commands::chat::pad_import,
            commands::files::transfers_list,
            commands::files::file_send,
            commands::files::file_accept,
            commands::files::file_decline,
            commands::files::file_pause,
            commands::files::file_cancel,
            commands::files::downloads_dir,
            commands::files::open_folder,
            commands::vault::vault_status,
            commands::vault::vault_unlock,
            commands::vault::vault_lock,
            commands::vault::vault_change,
        ])
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            tracing::error!("the desktop app failed: {e}");
            std::process::exit(1);
        })
        .run(|app, event| match event {
            RunEvent::Exit => {
                if let Some(node) = app.try_state::<AppNode>().and_then(|n| n.get().ok()) {
                    withdraw_if_ours(&node);
                }
            }
            // macOS: a click on the Dock icon brings a hidden window back
            // (Windows and Linux do that from the tray menu).
            #[cfg(target_os = "macos")]
            RunEvent::Reopen { .. } => tray::show_main_window(app),
            _ => {}
        });
}

/// Whether the environment names a display to open windows on: an X11
/// `DISPLAY` or a `WAYLAND_DISPLAY` (an empty one names none).
#[cfg(target_os = "linux")]
fn has_display(x11: Option<OsString>, wayland: Option<OsString>) -> bool {
    [x11, wayland].iter().flatten().any(|name| !name.is_empty())
}

/// Starts the window hidden in the tray (the login entry passes it).
const BACKGROUND_FLAG: &str = "--background";

/// Whether `flag` is on the command line (before a `--home` value or after).
fn has_flag(mut args: impl Iterator<Item = String>, flag: &str) -> bool {
    while let Some(arg) = args.next() {
        if arg == "--home" {
            // Its value is a folder, never a flag.
            args.next();
        } else if arg == flag {
            return true;
        }
    }
    false
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

/// Removes `daemon.json` (on exit, or when the home is locked) if this
/// process wrote it.
pub(crate) fn withdraw_if_ours(node: &Node) {
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

#[cfg(test)]
mod tests {
    use super::{BACKGROUND_FLAG, has_flag, home_from_args, withdraw_if_ours};
    use std::path::PathBuf;
    use zks_node::{DataDir, Node, NodeConfig, OnlineConfig};

    #[tokio::test]
    async fn goes_online_and_withdraws_its_own_announcement() {
        let home = std::env::temp_dir().join(format!("zks-desktop-shell-{}", std::process::id()));
        let node = Node::start(NodeConfig {
            data_dir: DataDir::at(&home).unwrap(),
            unlock: zks_node::Unlock::passphrase("test passphrase"),
        })
        .await
        .unwrap();
        assert!(node.running_daemon().is_none());
        let (_client, info) = node
            .serve_home(OnlineConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                ..OnlineConfig::default()
            })
            .await
            .unwrap();
        assert!(!info.addresses.is_empty());
        // The grid's live figures are published for other processes.
        let mut live = None;
        for _ in 0..50 {
            live = node.running_grid();
            if live.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            live.is_some_and(|l| !l.seeding.enabled),
            "seeding is off by default"
        );
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_display_is_x11_or_wayland_and_never_empty() {
        use super::has_display;
        let name = |s: &str| Some(std::ffi::OsString::from(s));
        assert!(has_display(name(":0"), None));
        assert!(has_display(None, name("wayland-0")));
        assert!(has_display(name(""), name("wayland-1")));
        assert!(!has_display(None, None));
        assert!(!has_display(name(""), name("")));
    }

    #[test]
    fn the_background_flag_anywhere_but_as_a_home() {
        assert!(has_flag(args(&["--background"]), BACKGROUND_FLAG));
        assert!(has_flag(
            args(&["--home", "/a", "--background"]),
            BACKGROUND_FLAG
        ));
        assert!(has_flag(
            args(&["--background", "--home=/a"]),
            BACKGROUND_FLAG
        ));
        assert!(!has_flag(
            args(&["--home", "--background"]),
            BACKGROUND_FLAG
        ));
        assert!(!has_flag(args(&[]), BACKGROUND_FLAG));
        // The login entry writes the same flag.
        #[cfg(target_os = "linux")]
        assert_eq!(BACKGROUND_FLAG, crate::autostart::BACKGROUND_FLAG);
    }
}
