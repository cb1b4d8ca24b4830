//! Commands of the Settings screen: read the settings with the node's
//! defaults and facts about this install, save the edited ones (the node
//! checks them as a whole; a bad field changes nothing), and "Start seeding
//! at login" (Linux only, see `autostart.rs`).

use tauri::{AppHandle, State};
use zks_node::{DEFAULT_DRAND_URLS, MIN_CACHE_BUDGET};

use crate::dto::{About, Autostart, SavedSettings, Settings, SettingsEdit, SettingsPage};
use crate::error::IpcError;
use crate::state::AppNode;
use crate::tray;

/// The settings, the node's defaults and limits, and this install's facts.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn settings_get(node: State<'_, AppNode>) -> Result<SettingsPage, IpcError> {
    get(&node, autostart_status(&node))
}

/// Saves the edited settings; the node refuses the whole edit if a field is
/// bad (`bad_input`, naming the field) and nothing changes.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn settings_save(
    node: State<'_, AppNode>,
    settings: SettingsEdit,
) -> Result<SavedSettings, IpcError> {
    save(&node, settings)
}

/// Turns "Start seeding at login" on (writes the login entry and turns
/// seeding on) or off (removes the entry; seeding stays as it is).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn autostart_set(
    app: AppHandle,
    node: State<'_, AppNode>,
    on: bool,
) -> Result<Autostart, IpcError> {
    // Linux only: an XDG autostart entry. macOS (a login item) and Windows
    // (a Run key) are not done yet; there `settings_get` reports no
    // autostart and the window shows no such switch.
    #[cfg(target_os = "linux")]
    {
        let launcher = crate::autostart::Launcher::for_this_app(&node.get()?)?;
        let status = set_autostart(&node, &launcher, on)?;
        tray::refresh_soon(&app);
        Ok(status)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (app, node, on);
        Err(IpcError::new(
            "unsupported",
            "starting at login is only available on Linux in this build",
        ))
    }
}

/// The login entry's state, where the app can make one.
fn autostart_status(node: &AppNode) -> Option<Autostart> {
    #[cfg(target_os = "linux")]
    {
        let launcher = crate::autostart::Launcher::for_this_app(&node.get().ok()?);
        match launcher {
            Ok(l) => Some(l.status()),
            Err(e) => {
                tracing::info!("no login entry: {}", e.message);
                None
            }
        }
    }
    // macOS and Windows: not built yet (see `autostart_set`).
    #[cfg(not(target_os = "linux"))]
    {
        let _ = node;
        None
    }
}

/// Plain form of [`settings_get`], with the login entry's state found by
/// the caller.
pub fn get(node: &AppNode, autostart: Option<Autostart>) -> Result<SettingsPage, IpcError> {
    let node = node.get()?;
    let (peer_id, name) = node.whoami()?;
    Ok(SettingsPage {
        settings: node.settings()?,
        default_drand_urls: DEFAULT_DRAND_URLS.iter().map(|s| (*s).to_owned()).collect(),
        default_bootstrap: Settings::default().bootstrap,
        min_cache_budget_bytes: MIN_CACHE_BUDGET,
        about: About {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            data_dir: node.data_dir().path().display().to_string(),
            downloads_dir: node.downloads_dir().display().to_string(),
            peer_id,
            name,
        },
        autostart,
    })
}

/// Plain form of [`settings_save`]: the edit over the stored settings (the
/// seeding switch and the listen port stay as stored, whatever the window
/// last read), checked and stored by the node.
pub fn save(node: &AppNode, edit: SettingsEdit) -> Result<SavedSettings, IpcError> {
    let node = node.get()?;
    let before = node.settings()?;
    let wanted = Settings {
        chains: edit.chains,
        bootstrap: edit.bootstrap,
        drand_urls: edit.drand_urls,
        gateways: edit.gateways,
        upload_rounds_per_sec: edit.upload_rounds_per_sec,
        cache_budget_bytes: edit.cache_budget_bytes,
        mdns: edit.mdns,
        notifications: edit.notifications,
        auto_lock_minutes: edit.auto_lock_minutes.unwrap_or(before.auto_lock_minutes),
        mailbox_cap_mb: edit.mailbox_cap_mb.unwrap_or(before.mailbox_cap_mb),
        ..before.clone()
    };
    let settings = node.save_settings(&wanted)?;
    Ok(SavedSettings {
        applies_later: applies_later(&before, &settings),
        settings,
    })
}

/// The changed settings that the node reads only when it goes online (its
/// sources, caps and discovery); the seeding switch applies at once and so
/// do notifications (the app reads them at each event).
pub fn applies_later(before: &Settings, after: &Settings) -> Vec<String> {
    let changes = [
        (before.bootstrap != after.bootstrap, "bootstrap peers"),
        (before.mdns != after.mdns, "local network discovery (mDNS)"),
        (before.drand_urls != after.drand_urls, "drand URLs"),
        (before.gateways != after.gateways, "IPFS gateways"),
        (before.chains != after.chains, "chains"),
        (
            before.upload_rounds_per_sec != after.upload_rounds_per_sec,
            "upload cap",
        ),
        (
            before.cache_budget_bytes != after.cache_budget_bytes,
            "cache budget",
        ),
        (before.listen_port != after.listen_port, "listen port"),
    ];
    changes
        .iter()
        .filter(|(changed, _)| *changed)
        .map(|(_, what)| (*what).to_owned())
        .collect()
}

/// Plain form of [`autostart_set`]: on writes the entry and turns seeding
/// on; off removes the entry (if it is ours) and leaves seeding as it is.
#[cfg(target_os = "linux")]
pub fn set_autostart(
    node: &AppNode,
    launcher: &crate::autostart::Launcher,
    on: bool,
) -> Result<Autostart, IpcError> {
    let node = node.get()?;
    if on {
        let status = launcher.enable()?;
        node.set_seeding(true)?;
        Ok(status)
    } else {
        launcher.disable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, node};

    const PEER: &str = "12D3KooWGmWKUoeSLLdTcPZzKrCCExV8hRvafaRVT54GkBVvbg1u";

    fn edit_of(s: &Settings) -> SettingsEdit {
        SettingsEdit {
            chains: s.chains.clone(),
            bootstrap: s.bootstrap.clone(),
            drand_urls: s.drand_urls.clone(),
            gateways: s.gateways.clone(),
            upload_rounds_per_sec: s.upload_rounds_per_sec,
            cache_budget_bytes: s.cache_budget_bytes,
            mdns: s.mdns,
            notifications: s.notifications,
            auto_lock_minutes: Some(s.auto_lock_minutes),
            mailbox_cap_mb: None,
        }
    }

    #[tokio::test]
    async fn the_page_has_the_settings_defaults_and_this_install() {
        let t = node("page").await;
        let page = get(&t.app, None).unwrap();
        assert_eq!(page.settings, Settings::default());
        assert_eq!(page.default_drand_urls, DEFAULT_DRAND_URLS.to_vec());
        // The public network's peers come from the node, never the window.
        assert_eq!(page.default_bootstrap, Settings::default().bootstrap);
        assert_eq!(page.min_cache_budget_bytes, 64 << 20);
        assert_eq!(page.about.data_dir, t.home.display().to_string());
        // A chosen home keeps the downloads inside it.
        assert!(page.about.downloads_dir.starts_with(&page.about.data_dir));
        assert!(
            page.about.peer_id.starts_with("12D3KooW"),
            "{}",
            page.about.peer_id
        );
        assert_eq!(page.about.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(page.autostart, None);

        // The window reads these field names.
        let json = serde_json::to_value(&page).unwrap();
        for key in [
            "settings",
            "default_drand_urls",
            "default_bootstrap",
            "min_cache_budget_bytes",
            "about",
            "autostart",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        for key in [
            "seeding",
            "chains",
            "bootstrap",
            "drand_urls",
            "gateways",
            "upload_rounds_per_sec",
            "cache_budget_bytes",
            "mdns",
            "notifications",
            "listen_port",
            "auto_lock_minutes",
            "mailbox_cap_mb",
        ] {
            assert!(json["settings"].get(key).is_some(), "settings.{key}");
        }
        for key in ["version", "data_dir", "downloads_dir", "peer_id", "name"] {
            assert!(json["about"].get(key).is_some(), "about.{key}");
        }
    }

    #[tokio::test]
    async fn settings_round_trip_through_the_commands() {
        let t = node("round-trip").await;
        let before = get(&t.app, None).unwrap().settings;
        let edit = SettingsEdit {
            chains: vec!["quicknet".into(), "default".into()],
            bootstrap: vec![format!("/ip4/127.0.0.1/tcp/4001/p2p/{PEER}")],
            drand_urls: vec!["http://127.0.0.1:8080".into()],
            gateways: vec!["https://ipfs.example".into()],
            upload_rounds_per_sec: Some(5000),
            cache_budget_bytes: 256 << 20,
            mdns: false,
            notifications: false,
            auto_lock_minutes: Some(15),
            mailbox_cap_mb: None,
        };
        let saved = save(&t.app, edit.clone()).unwrap();
        assert_eq!(edit_of(&saved.settings), edit);
        assert_eq!(
            saved.applies_later,
            [
                "bootstrap peers",
                "local network discovery (mDNS)",
                "drand URLs",
                "IPFS gateways",
                "chains",
                "upload cap",
                "cache budget"
            ]
        );
        // Read back as the window would.
        let page = get(&t.app, None).unwrap();
        assert_eq!(page.settings, saved.settings);
        assert_eq!(page.settings.seeding, before.seeding);
        assert_eq!(page.settings.listen_port, before.listen_port);

        // Saving the same again changes nothing that waits; notifications
        // alone apply at once.
        let again = save(&t.app, edit.clone()).unwrap();
        assert!(again.applies_later.is_empty());
        let quiet = save(
            &t.app,
            SettingsEdit {
                notifications: true,
                ..edit
            },
        )
        .unwrap();
        assert!(quiet.applies_later.is_empty());
        assert!(quiet.settings.notifications);
    }

    #[tokio::test]
    async fn a_save_keeps_the_seeding_switch_and_listen_port_as_stored() {
        let t = node("keeps").await;
        let node = t.app.get().unwrap();
        let page = get(&t.app, None).unwrap();
        // Meanwhile the tray turns seeding on and the node picks its port.
        node.set_seeding(true).unwrap();
        let mut stored = node.settings().unwrap();
        stored.listen_port = 40123;
        node.save_settings(&stored).unwrap();

        // The window saves what it read earlier, with one change.
        let saved = save(
            &t.app,
            SettingsEdit {
                upload_rounds_per_sec: Some(100),
                ..edit_of(&page.settings)
            },
        )
        .unwrap();
        assert!(saved.settings.seeding);
        assert_eq!(saved.settings.listen_port, 40123);
        assert_eq!(saved.settings.upload_rounds_per_sec, Some(100));
        assert_eq!(saved.applies_later, ["upload cap"]);
    }

    #[tokio::test]
    async fn a_bad_bootstrap_address_is_bad_input_and_changes_nothing() {
        let t = node("bad").await;
        let stored = t.app.get().unwrap().settings().unwrap();
        for (bootstrap, needle) in [
            ("not an address", "not a multiaddress"),
            ("/ip4/1.2.3.4/tcp/1", "/p2p/"),
        ] {
            let err = save(
                &t.app,
                SettingsEdit {
                    bootstrap: vec![bootstrap.into()],
                    upload_rounds_per_sec: Some(7),
                    ..edit_of(&stored)
                },
            )
            .unwrap_err();
            assert_eq!(err.code, "bad_input");
            assert!(err.message.contains("bootstrap"), "{}", err.message);
            assert!(err.message.contains(needle), "{}", err.message);
            // Neither the bad field nor the good one next to it was stored.
            assert_eq!(t.app.get().unwrap().settings().unwrap(), stored);
        }
        // Other fields are refused the same way, naming themselves.
        let err = save(
            &t.app,
            SettingsEdit {
                cache_budget_bytes: 1 << 20,
                ..edit_of(&stored)
            },
        )
        .unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("64 MiB"), "{}", err.message);
        assert_eq!(t.app.get().unwrap().settings().unwrap(), stored);

        // The error crosses IPC as {code, message}.
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "bad_input");
    }

    #[tokio::test]
    async fn auto_lock_is_saved_checked_and_kept_when_the_edit_omits_it() {
        let t = node("auto-lock").await;
        let stored = t.app.get().unwrap().settings().unwrap();
        assert_eq!(stored.auto_lock_minutes, 0);
        let saved = save(
            &t.app,
            SettingsEdit {
                auto_lock_minutes: Some(15),
                ..edit_of(&stored)
            },
        )
        .unwrap();
        assert_eq!(saved.settings.auto_lock_minutes, 15);
        // It applies at once: nothing waits for the node to go online.
        assert!(saved.applies_later.is_empty());

        // An edit without the field (the main form) keeps it.
        let json = serde_json::json!({
            "chains": ["quicknet"], "bootstrap": [], "drand_urls": stored.drand_urls,
            "gateways": [], "upload_rounds_per_sec": 7, "cache_budget_bytes": stored.cache_budget_bytes,
            "mdns": true, "notifications": true
        });
        let edit: SettingsEdit = serde_json::from_value(json).unwrap();
        assert_eq!(edit.auto_lock_minutes, None);
        let kept = save(&t.app, edit).unwrap();
        assert_eq!(kept.settings.auto_lock_minutes, 15);
        assert_eq!(kept.settings.upload_rounds_per_sec, Some(7));

        // More than a day is refused, naming the field; nothing changes.
        let before = t.app.get().unwrap().settings().unwrap();
        let err = save(
            &t.app,
            SettingsEdit {
                auto_lock_minutes: Some(1441),
                upload_rounds_per_sec: Some(9),
                ..edit_of(&before)
            },
        )
        .unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("auto-lock"), "{}", err.message);
        assert!(err.message.contains("1440"), "{}", err.message);
        assert_eq!(t.app.get().unwrap().settings().unwrap(), before);
    }

    #[test]
    fn the_edit_refuses_unknown_fields() {
        let with_seeding = serde_json::json!({
            "chains": ["quicknet"], "bootstrap": [], "drand_urls": [], "gateways": [],
            "upload_rounds_per_sec": null, "cache_budget_bytes": 67108864u64,
            "mdns": true, "notifications": true, "seeding": true
        });
        assert!(serde_json::from_value::<SettingsEdit>(with_seeding).is_err());
    }

    #[test]
    fn a_failed_node_returns_its_error() {
        let failed = test_support::failed();
        assert_eq!(get(&failed, None).unwrap_err().code, "data_dir");
        let edit = edit_of(&Settings::default());
        assert_eq!(save(&failed, edit).unwrap_err().code, "data_dir");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn start_seeding_at_login_writes_the_entry_and_turns_seeding_on() {
        use crate::autostart::Launcher;
        let t = node("login").await;
        let config = t.home.join("xdg-config");
        let launcher = Launcher::new(
            Some(config.clone().into()),
            Some(t.home.clone().into()),
            std::path::Path::new("/usr/bin/zks-desktop"),
            Some(&t.home),
        )
        .unwrap();
        let node = t.app.get().unwrap();
        assert!(!node.settings().unwrap().seeding);

        let on = set_autostart(&t.app, &launcher, true).unwrap();
        assert!(on.enabled);
        assert!(node.settings().unwrap().seeding);
        let entry =
            std::fs::read_to_string(config.join("autostart/zks-entropy-grid.desktop")).unwrap();
        assert!(entry.contains("--home"), "{entry}");
        assert_eq!(
            get(&t.app, Some(launcher.status())).unwrap().autostart,
            Some(on)
        );

        let off = set_autostart(&t.app, &launcher, false).unwrap();
        assert!(!off.enabled);
        assert!(!config.join("autostart/zks-entropy-grid.desktop").exists());
        assert!(node.settings().unwrap().seeding, "seeding stays on");
    }
}
