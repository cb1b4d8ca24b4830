//! The app's entry point: the Tauri builder with its managed state, its
//! commands and its window events, and the command line (`--home`,
//! `--background`). How the home is opened at start (keyring,
//! `ZKS_PASSPHRASE`, or locked until the window unlocks it) is in
//! [`state`]; a node that starts either way is wired up by
//! [`wiring::node_started`].

#[cfg(target_os = "linux")]
use std::ffi::OsString;
use std::path::PathBuf;

use tauri::{Manager, RunEvent, WindowEvent};

use crate::commands;
use crate::notify;
use crate::state::{self, AppNode};
use crate::tray::{self, Presence, TrayState};
use crate::wiring;

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
            let node = tauri::async_runtime::block_on(state::open_at_start(home));
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
            app.manage(commands::grid::HistoryJob::default());
            tray::build(app.handle())?;
            tray::keep_fresh(app.handle());
            if let Some(window) = app.get_webview_window(tray::MAIN_WINDOW) {
                crate::camera::allow_camera(&window);
            }
            if let Some(node) = &running {
                wiring::node_started(app.handle(), node);
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
            commands::grid::history_fetch,
            commands::grid::history_cancel,
            commands::grid::history_pins,
            commands::grid::history_unpin,
            commands::settings::settings_get,
            commands::settings::settings_save,
            commands::settings::autostart_set,
            commands::pairing::pairing_create_invite,
            commands::pairing::pairing_accept,
            commands::pairing::pairing_finish,
            commands::pairing::pairing_scan_frame,
            commands::pairing::contacts_list,
            commands::pairing::contacts_verify,
            commands::pairing::identity_name_get,
            commands::pairing::identity_name_set,
            commands::chat::chat_history,
            commands::chat::chat_send,
            commands::chat::chat_react,
            commands::chat::chat_edit,
            commands::chat::chat_delete,
            commands::chat::chat_set_timer,
            commands::chat::chat_unread,
            commands::chat::chat_mark_read,
            commands::chat::chat_search,
            commands::chat::pad_import,
            commands::groups::groups_list,
            commands::groups::group_get,
            commands::groups::group_create,
            commands::groups::group_add,
            commands::groups::group_remove,
            commands::groups::group_rename,
            commands::groups::group_admin,
            commands::groups::group_leave,
            commands::groups::group_send,
            commands::groups::group_messages,
            commands::groups::group_react,
            commands::groups::group_edit,
            commands::groups::group_delete,
            commands::devices::devices,
            commands::devices::link_device,
            commands::devices::join_device,
            commands::devices::confirm_device,
            commands::devices::remove_device,
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
                    state::withdraw_if_ours(&node);
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

#[cfg(test)]
mod tests {
    use super::{BACKGROUND_FLAG, has_flag, home_from_args};
    use std::path::PathBuf;

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
