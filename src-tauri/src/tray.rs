//! The tray icon and what closing the window does.
//!
//! Closing the main window hides it and leaves the app running in the tray,
//! so the node stays online: it delivers queued messages, receives new ones
//! and serves files and grid chunks. The tray menu shows a status line from
//! the node's own data (presence, seeding, contacts), a Seeding check item
//! (the same switch as the Grid screen's), Show, and Quit (which really
//! quits). A locked home shows "Locked" and no seeding switch. When the
//! node is not running (failed, or the home is locked), or the desktop
//! shows no tray icons (the window could not be brought back), closing the
//! window quits as usual.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Window, Wry};
use zks_node::{Node, NodeEvent};

use crate::local_state;
use crate::notify;
use crate::state::AppNode;

/// The label of the main window (tauri.conf.json).
pub(crate) const MAIN_WINDOW: &str = "main";
/// The tray icon's id.
const TRAY_ID: &str = "main";
/// How often the status line and the Seeding item are read again (contacts
/// added from the window raise no node event, and the seeding switch may be
/// flipped by another process on this home, e.g. `zks settings set`).
const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// Whether the node is on the network, as the app knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// The node runs; the network is coming up.
    Starting,
    /// The app's own swarm is up and announced.
    Online,
    /// A `zks daemon` serves this home and delivers the messages.
    ServedByDaemon,
    /// The network could not start; messages wait in the outbox.
    Offline,
    /// The node did not start.
    NotRunning,
    /// The home is locked: the window asks for its passphrase.
    Locked,
}

/// The tray's status line: presence, the seeding switch (when known) and
/// the contacts (when known).
pub(crate) fn status_line(
    presence: Presence,
    contacts: Option<usize>,
    seeding: Option<bool>,
) -> String {
    let online = matches!(presence, Presence::Online | Presence::ServedByDaemon);
    let seeding = match seeding {
        Some(true) if online => ", seeding",
        // Stored, but nothing seeds until the network is up.
        Some(true) => ", seeding once online",
        Some(false) => ", not seeding",
        None => "",
    };
    let contacts = match contacts {
        Some(0) => " — no contacts yet".to_owned(),
        Some(1) => " — 1 contact".to_owned(),
        Some(n) => format!(" — {n} contacts"),
        None => String::new(),
    };
    match presence {
        Presence::Starting => format!("Starting{seeding}{contacts}"),
        Presence::Online => format!("Online{seeding}{contacts}"),
        Presence::ServedByDaemon => format!("Online via zks daemon{seeding}{contacts}"),
        Presence::Offline => format!("Offline{seeding}{contacts}"),
        Presence::NotRunning => "Node not running".to_owned(),
        Presence::Locked => "Locked — unlock in the window".to_owned(),
    }
}

/// What closing the main window does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseAction {
    /// Hide the window; the app keeps running in the tray.
    HideToTray,
    /// Close the window, which quits the app.
    Quit,
}

/// Closing the window hides it while there is a node to keep running and a
/// tray to bring the window back from; it quits when the node is not
/// running, when the desktop shows no tray, and when Quit is under way.
pub(crate) fn close_action(
    node_running: bool,
    tray_available: bool,
    quitting: bool,
) -> CloseAction {
    if node_running && tray_available && !quitting {
        CloseAction::HideToTray
    } else {
        CloseAction::Quit
    }
}

/// Whether the desktop shows tray icons. On Linux and the BSDs the icon is
/// a StatusNotifier item, shown only when a StatusNotifier host is on the
/// session bus (KDE, XFCE, GNOME with the AppIndicator extension, …); plain
/// GNOME has none, and then a hidden window could not be brought back.
/// (Desktops with only the old XEmbed tray count as having none: closing
/// quits there, the safe side.)
#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) fn tray_available() -> bool {
    let Ok(bus) = dbus::blocking::Connection::new_session() else {
        return false;
    };
    let proxy = bus.with_proxy(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        Duration::from_secs(1),
    );
    let owned: Result<(bool,), dbus::Error> = proxy.method_call(
        "org.freedesktop.DBus",
        "NameHasOwner",
        ("org.kde.StatusNotifierWatcher",),
    );
    matches!(owned, Ok((true,)))
}

/// macOS (menu bar extras) and Windows (notification area) always show the
/// tray icon.
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub(crate) fn tray_available() -> bool {
    true
}

/// The tray's state, managed by Tauri.
pub(crate) struct TrayState {
    presence: Mutex<Presence>,
    quitting: AtomicBool,
    notifications: bool,
    status_item: Mutex<Option<MenuItem<Wry>>>,
    seeding_item: Mutex<Option<CheckMenuItem<Wry>>>,
}

impl std::fmt::Debug for TrayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrayState")
            .field("presence", &self.presence)
            .field("quitting", &self.quitting)
            .field("notifications", &self.notifications)
            .finish_non_exhaustive()
    }
}

impl TrayState {
    /// The state of an app that starts with `presence` (starting, locked or
    /// not running), with notifications on or off (the first-close hint is
    /// one).
    pub(crate) fn new(presence: Presence, notifications: bool) -> TrayState {
        TrayState {
            presence: Mutex::new(presence),
            quitting: AtomicBool::new(false),
            notifications,
            status_item: Mutex::new(None),
            seeding_item: Mutex::new(None),
        }
    }

    fn presence(&self) -> Presence {
        *self
            .presence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether desktop notifications are on for this run (`ZKS_NOTIFICATIONS`).
pub(crate) fn notifications_on(app: &AppHandle) -> bool {
    app.try_state::<TrayState>()
        .is_some_and(|s| s.notifications)
}

/// The running node, if any.
fn running_node(app: &AppHandle) -> Option<Node> {
    app.try_state::<AppNode>().and_then(|n| n.get().ok())
}

/// Records whether the node is on the network and updates the status line
/// (reading the contacts off the async threads).
pub(crate) fn set_presence(app: &AppHandle, presence: Presence) {
    if let Some(state) = app.try_state::<TrayState>() {
        *state
            .presence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = presence;
    }
    refresh_soon(app);
}

/// Reads the status line and the Seeding item again, off the calling
/// thread (after the switch was flipped from the window).
pub(crate) fn refresh_soon(app: &AppHandle) {
    let app = app.clone();
    drop(tauri::async_runtime::spawn_blocking(move || refresh(&app)));
}

/// Builds the tray icon: a status line, the Seeding switch, Show and Quit.
pub(crate) fn build(app: &AppHandle) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Starting", false, None::<&str>)?;
    let seeding = CheckMenuItem::with_id(app, "seeding", "Seeding", false, false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show", true, None::<&str>)?;
    let quit_item = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let separator2 = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &seeding,
            &separator,
            &show,
            &separator2,
            &quit_item,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("ZKS Entropy Grid")
        .menu(&menu)
        // A left click shows the window on Windows and macOS, where clicks
        // are reported; on Linux the icon only opens its menu.
        .show_menu_on_left_click(false)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main_window(tray.app_handle());
            }
        })
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_main_window(app),
            "seeding" => toggle_seeding(app),
            "quit" => quit_app(app),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    if let Some(state) = app.try_state::<TrayState>() {
        *state
            .status_item
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
        *state
            .seeding_item
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(seeding);
    }
    refresh(app);
    Ok(())
}

/// The Seeding item was clicked: store what it now shows (the menu toggles
/// a check item by itself), then show what is stored.
fn toggle_seeding(app: &AppHandle) {
    let item = app.try_state::<TrayState>().and_then(|s| {
        s.seeding_item
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    });
    let shown = item.and_then(|i| i.is_checked().ok());
    let app = app.clone();
    drop(tauri::async_runtime::spawn_blocking(move || {
        if let Some(node) = running_node(&app) {
            let result = match shown {
                Some(on) => node.set_seeding(on),
                None => node.settings().and_then(|s| node.set_seeding(!s.seeding)),
            };
            if let Err(e) = result {
                tracing::warn!("cannot switch seeding from the tray: {e}");
            }
        }
        refresh(&app);
    }));
}

/// Reads the status line again (the contacts from the store; blocks briefly).
pub(crate) fn refresh(app: &AppHandle) {
    let Some(state) = app.try_state::<TrayState>() else {
        return;
    };
    let mut presence = state.presence();
    let (contacts, seeding) = match running_node(app) {
        Some(node) => {
            // The daemon that served this home may have stopped since.
            if presence == Presence::ServedByDaemon && node.running_daemon().is_none() {
                presence = Presence::Offline;
            }
            (
                node.contacts().ok().map(|c| c.len()),
                node.settings().ok().map(|s| s.seeding),
            )
        }
        None => (None, None),
    };
    let line = status_line(presence, contacts, seeding);
    let seeding_item = state
        .seeding_item
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(item) = seeding_item {
        let shown = item
            .set_checked(seeding.unwrap_or(false))
            .and_then(|()| item.set_enabled(seeding.is_some()));
        if let Err(e) = shown {
            tracing::debug!("cannot update the tray's Seeding item: {e}");
        }
    }
    let item = state
        .status_item
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(item) = item
        && let Err(e) = item.set_text(&line)
    {
        tracing::debug!("cannot update the tray's status line: {e}");
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(format!("ZKS Entropy Grid — {line}")));
    }
}

/// Keeps the status line current: every [`REFRESH_EVERY`], and on the
/// events of a running node that change it ([`follow_node`]).
pub(crate) fn keep_fresh(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            let app = app.clone();
            if tauri::async_runtime::spawn_blocking(move || refresh(&app))
                .await
                .is_err()
            {
                break;
            }
        }
    });
}

/// Reads the status line again on `node`'s events that change it, until
/// the node stops.
pub(crate) fn follow_node(app: &AppHandle, node: &Node) {
    let app = app.clone();
    let mut events = node.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(NodeEvent::PairingFinished { .. } | NodeEvent::Started) => {
                    refresh_soon(&app);
                }
                Ok(NodeEvent::Stopping) | Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    break;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            }
        }
    });
}

/// Handles a request to close `window`: hides the main window instead of
/// closing it when [`close_action`] says so, and the first time says that
/// the app keeps running (as a notification).
pub(crate) fn on_close_requested(window: &Window, api: &tauri::CloseRequestApi) {
    if window.label() != MAIN_WINDOW {
        return;
    }
    let app = window.app_handle();
    let running = app.try_state::<AppNode>().is_some_and(|n| n.is_running());
    let quitting = app
        .try_state::<TrayState>()
        .is_some_and(|s| s.quitting.load(Ordering::SeqCst));
    // The tray is looked for only when it matters.
    let tray = running && !quitting && tray_available();
    if close_action(running, tray, quitting) == CloseAction::Quit {
        return;
    }
    api.prevent_close();
    if let Err(e) = window.hide() {
        tracing::warn!("cannot hide the window: {e}");
        return;
    }
    first_close_hint(app);
}

/// The first time the window is hidden in a home, says (as a notification)
/// that the app keeps running.
fn first_close_hint(app: &AppHandle) {
    if !app
        .try_state::<TrayState>()
        .is_some_and(|s| s.notifications)
    {
        return;
    }
    let home = match running_node(app) {
        // Notifications turned off in the settings: no hint either.
        Some(node) if notify::wanted(&node) => node.data_dir().path().to_owned(),
        _ => return,
    };
    let first = local_state::update(&local_state::path_in(&home), |state, _| {
        !std::mem::replace(&mut state.tray_hint_shown, true)
    });
    match first {
        Ok(true) => notify::show(notify::tray_hint()),
        Ok(false) => {}
        Err(e) => tracing::warn!("{}", e.message),
    }
}

/// Shows, unminimizes and focuses the main window.
pub(crate) fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Quits for real: stops the node, then exits.
fn quit_app(app: &AppHandle) {
    if let Some(state) = app.try_state::<TrayState>() {
        state.quitting.store(true, Ordering::SeqCst);
    }
    if let Some(node) = running_node(app) {
        tauri::async_runtime::block_on(node.stop());
    }
    app.exit(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_hides_only_with_a_running_node_a_tray_and_no_quit_under_way() {
        assert_eq!(close_action(true, true, false), CloseAction::HideToTray);
        // Nothing to keep running: the window's close quits as usual.
        assert_eq!(close_action(false, true, false), CloseAction::Quit);
        // No tray to bring the window back from.
        assert_eq!(close_action(true, false, false), CloseAction::Quit);
        // Quit from the tray closes the window for good.
        assert_eq!(close_action(true, true, true), CloseAction::Quit);
        assert_eq!(close_action(false, false, true), CloseAction::Quit);
    }

    #[test]
    fn the_status_line_says_presence_and_contacts() {
        assert_eq!(
            status_line(Presence::Online, Some(2), None),
            "Online — 2 contacts"
        );
        assert_eq!(
            status_line(Presence::Online, Some(1), None),
            "Online — 1 contact"
        );
        assert_eq!(
            status_line(Presence::Online, Some(0), None),
            "Online — no contacts yet"
        );
        assert_eq!(status_line(Presence::Online, None, None), "Online");
        assert_eq!(
            status_line(Presence::Starting, Some(3), None),
            "Starting — 3 contacts"
        );
        assert_eq!(
            status_line(Presence::ServedByDaemon, Some(3), None),
            "Online via zks daemon — 3 contacts"
        );
        assert_eq!(
            status_line(Presence::Offline, Some(3), None),
            "Offline — 3 contacts"
        );
        assert_eq!(
            status_line(Presence::NotRunning, None, None),
            "Node not running"
        );
        assert_eq!(
            status_line(Presence::NotRunning, Some(3), Some(true)),
            "Node not running"
        );
        assert_eq!(
            status_line(Presence::Locked, None, None),
            "Locked — unlock in the window"
        );
    }

    #[test]
    fn the_status_line_says_whether_the_node_seeds() {
        assert_eq!(
            status_line(Presence::Online, Some(2), Some(true)),
            "Online, seeding — 2 contacts"
        );
        assert_eq!(
            status_line(Presence::Online, Some(2), Some(false)),
            "Online, not seeding — 2 contacts"
        );
        assert_eq!(
            status_line(Presence::ServedByDaemon, Some(1), Some(true)),
            "Online via zks daemon, seeding — 1 contact"
        );
        // Switched on, but nothing seeds before the network is up.
        assert_eq!(
            status_line(Presence::Offline, Some(0), Some(true)),
            "Offline, seeding once online — no contacts yet"
        );
        assert_eq!(
            status_line(Presence::Starting, None, Some(true)),
            "Starting, seeding once online"
        );
        assert_eq!(
            status_line(Presence::Offline, None, Some(false)),
            "Offline, not seeding"
        );
    }
}
