//! Commands of the Grid screen: what the beacon cache holds per chain, what
//! the grid of the process serving this home is doing (peers, seeding,
//! per-source counters), and the seeding switch.

use tauri::{AppHandle, State};

use crate::dto::{GridLive, GridStatus, Settings};
use crate::error::IpcError;
use crate::state::AppNode;
use crate::tray;

/// The beacon cache: its folder, size and coverage of every known chain.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn grid_status(node: State<'_, AppNode>) -> Result<GridStatus, IpcError> {
    status(&node)
}

/// Plain form of [`grid_status`].
pub fn status(node: &AppNode) -> Result<GridStatus, IpcError> {
    Ok(node.get()?.grid_status()?)
}

/// What the grid is doing now: this app's own grid when it is online, else
/// what the home's running daemon last published (every 5 s).
#[tauri::command(rename_all = "snake_case")]
pub async fn grid_live(node: State<'_, AppNode>) -> Result<GridLive, IpcError> {
    live(&node).await
}

/// Turns seeding on or off: stored at once, and the running seeder (this
/// app's, or a daemon's within a few seconds) follows. The tray's check
/// item follows too.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn seeding_set(
    app: AppHandle,
    node: State<'_, AppNode>,
    on: bool,
) -> Result<Settings, IpcError> {
    let settings = set_seeding(&node, on)?;
    tray::refresh_soon(&app);
    Ok(settings)
}

/// Plain form of [`grid_live`].
pub async fn live(node: &AppNode) -> Result<GridLive, IpcError> {
    let node = node.get()?;
    let settings = node.settings()?;
    let daemon = node.running_daemon();
    let ours = daemon.as_ref().is_some_and(|d| d.pid == std::process::id());
    let (live, served_by) = match node.live_grid().await {
        Some(live) => (Some(live), Some("app")),
        None => match node.running_grid() {
            Some(live) => (Some(live), Some(if ours { "app" } else { "daemon" })),
            None => (None, None),
        },
    };
    // Addresses and process only with figures from the same process.
    let daemon = daemon.filter(|_| live.is_some());
    Ok(GridLive {
        live,
        served_by: served_by.map(str::to_owned),
        pid: daemon.as_ref().map(|d| d.pid),
        addresses: daemon.map(|d| d.addresses).unwrap_or_default(),
        seeding: settings.seeding,
        upload_rounds_per_sec: settings.upload_rounds_per_sec,
        cache_budget_bytes: settings.cache_budget_bytes,
    })
}

/// Plain form of [`seeding_set`].
pub fn set_seeding(node: &AppNode, on: bool) -> Result<Settings, IpcError> {
    Ok(node.get()?.set_seeding(on)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;
    use zks_node::OnlineConfig;

    #[tokio::test]
    async fn an_empty_cache_reports_the_builtin_chains_with_nothing_held() {
        let test = test_support::node("grid").await;
        let grid = status(&test.app).unwrap();

        assert!(grid.cache_dir.starts_with(&test.home));
        assert_eq!(grid.cache_bytes, 0);
        let names: Vec<&str> = grid.chains.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"quicknet"), "{names:?}");
        assert!(names.contains(&"default"), "{names:?}");
        for chain in &grid.chains {
            assert_eq!(chain.rounds, 0, "{}", chain.name);
            assert!(chain.chunks.is_empty(), "{}", chain.name);
            assert!(chain.head > 0, "{} has published rounds", chain.name);
            assert_eq!(chain.hash.len(), 64, "{}", chain.name);
        }
        // The window reads the same field names.
        let json = serde_json::to_value(&grid).unwrap();
        for key in ["cache_dir", "cache_bytes", "chains"] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let chain = &json["chains"][0];
        for key in ["name", "hash", "head", "rounds", "chunks"] {
            assert!(chain.get(key).is_some(), "{key}");
        }
    }

    #[tokio::test]
    async fn offline_there_are_no_live_figures_and_the_switch_is_stored() {
        let test = test_support::node("grid-live").await;
        let (app, node) = (&test.app, test.node());

        let offline = live(app).await.unwrap();
        assert_eq!(offline.live, None);
        assert_eq!(offline.served_by, None);
        assert_eq!(offline.pid, None);
        assert!(offline.addresses.is_empty());
        assert!(!offline.seeding, "seeding is off by default");
        assert_eq!(offline.upload_rounds_per_sec, None);
        assert_eq!(offline.cache_budget_bytes, 4 << 30);

        // The switch is stored even offline, and read back by both.
        assert!(set_seeding(app, true).unwrap().seeding);
        assert!(node.settings().unwrap().seeding);
        assert!(live(app).await.unwrap().seeding);
        assert!(!set_seeding(app, false).unwrap().seeding);
        assert!(!live(app).await.unwrap().seeding);

        let json = serde_json::to_value(live(app).await.unwrap()).unwrap();
        for key in [
            "live",
            "served_by",
            "pid",
            "addresses",
            "seeding",
            "upload_rounds_per_sec",
            "cache_budget_bytes",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        node.stop().await;
    }

    #[tokio::test]
    async fn online_the_app_reports_its_own_grid_and_the_seeder_follows_the_switch() {
        let test = test_support::node("grid-online").await;
        let (app, node) = (&test.app, test.node());
        // Seeding fetches from the drand URLs: a closed port on loopback,
        // so the test never touches the internet.
        let mut settings = node.settings().unwrap();
        settings.drand_urls = vec!["http://127.0.0.1:9".into()];
        node.save_settings(&settings).unwrap();
        node.serve_home(OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..OnlineConfig::default()
        })
        .await
        .unwrap();

        let online = live(app).await.unwrap();
        assert_eq!(online.served_by.as_deref(), Some("app"));
        assert_eq!(online.pid, Some(std::process::id()));
        assert!(!online.addresses.is_empty());
        assert!(online.addresses.iter().all(|a| a.contains("/p2p/")));
        let grid = online.live.expect("the app's own grid");
        assert!(!grid.seeding.enabled);
        assert!(grid.at > 0);

        set_seeding(app, true).unwrap();
        let now = live(app).await.unwrap();
        assert!(now.seeding);
        assert!(now.live.unwrap().seeding.enabled, "switched at once");
        set_seeding(app, false).unwrap();
        assert!(!live(app).await.unwrap().live.unwrap().seeding.enabled);

        node.withdraw_daemon();
        node.stop().await;
    }

    #[tokio::test]
    async fn a_failed_node_has_no_live_grid_nor_switch() {
        let failed = test_support::failed();
        assert_eq!(live(&failed).await.unwrap_err().code, "data_dir");
        assert_eq!(set_seeding(&failed, true).unwrap_err().code, "data_dir");
    }

    #[test]
    fn a_failed_node_returns_its_error() {
        let failed = test_support::failed();
        let err = status(&failed).unwrap_err();
        assert_eq!(err.code, "data_dir");
        assert_eq!(err.message, "cannot use data directory /x");
    }
}
