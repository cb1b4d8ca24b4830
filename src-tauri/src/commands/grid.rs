//! Commands of the Grid screen: what the beacon cache holds per chain, what
//! the grid of the process serving this home is doing (peers, seeding,
//! per-source counters), the seeding switch, and fetching (and pinning)
//! ranges of a chain's history with progress, cancellable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tauri::{AppHandle, Emitter, State};

use crate::dto::{
    GridLive, GridStatus, HISTORY_EVENT, HistoryProgress, HistoryReport, PinnedRange, Settings,
};
use crate::error::IpcError;
use crate::state::AppNode;
use crate::tray;

/// The history fetch under way, if any (one at a time), managed by Tauri:
/// its cancel flag.
#[derive(Debug, Default)]
pub struct HistoryJob(Mutex<Option<Arc<AtomicBool>>>);

impl HistoryJob {
    /// Takes the slot for a new fetch, or says one is running.
    fn start(&self) -> Result<Arc<AtomicBool>, IpcError> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return Err(IpcError::new(
                "busy",
                "a history fetch is already running; wait for it or cancel it first",
            ));
        }
        let flag = Arc::new(AtomicBool::new(false));
        *slot = Some(flag.clone());
        Ok(flag)
    }

    fn finish(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Asks the running fetch to stop; false if none runs.
    pub fn cancel(&self) -> bool {
        match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

/// Fetches rounds `from..=to` of `chain` through the grid's fetch cascade
/// (pinned if `pin`), sending [`HISTORY_EVENT`] progress to the window
/// about every half second; answers when done or cancelled. A bad request
/// (unknown chain, rounds before genesis or after the head, more than the
/// cache budget holds) is refused before anything starts.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub async fn history_fetch(
    app: AppHandle,
    node: State<'_, AppNode>,
    job: State<'_, HistoryJob>,
    chain: String,
    from: u64,
    to: u64,
    pin: bool,
) -> Result<HistoryReport, IpcError> {
    fetch_history(&node, &job, &chain, from, to, pin, |p| {
        if let Err(e) = app.emit(HISTORY_EVENT, &p) {
            tracing::warn!("cannot send history progress to the window: {e}");
        }
    })
    .await
}

/// Stops the running history fetch (the rounds verified so far stay);
/// false if none runs.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn history_cancel(job: State<'_, HistoryJob>) -> bool {
    job.cancel()
}

/// The ranges pinned in the beacon cache (kept whatever the budget).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn history_pins(node: State<'_, AppNode>) -> Result<Vec<PinnedRange>, IpcError> {
    pins(&node)
}

/// Unpins a range (its rounds stay until the budget needs the room); the
/// pinned ranges left.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn history_unpin(
    node: State<'_, AppNode>,
    chain: String,
    from: u64,
    to: u64,
) -> Result<Vec<PinnedRange>, IpcError> {
    unpin(&node, &chain, from, to)
}

/// Plain form of [`history_fetch`]: checks the request, then fetches it
/// while holding `job`'s slot.
pub async fn fetch_history(
    node: &AppNode,
    job: &HistoryJob,
    chain: &str,
    from: u64,
    to: u64,
    pin: bool,
    progress: impl FnMut(HistoryProgress) + Send,
) -> Result<HistoryReport, IpcError> {
    let node = node.get()?;
    let plan = node.plan_history(chain, from, to, pin)?;
    let cancel = job.start()?;
    let result = node.fetch_history(&plan, &cancel, progress).await;
    job.finish();
    Ok(result?)
}

/// Plain form of [`history_pins`].
pub fn pins(node: &AppNode) -> Result<Vec<PinnedRange>, IpcError> {
    Ok(node.get()?.pinned_history()?)
}

/// Plain form of [`history_unpin`].
pub fn unpin(
    node: &AppNode,
    chain: &str,
    from: u64,
    to: u64,
) -> Result<Vec<PinnedRange>, IpcError> {
    let node = node.get()?;
    node.unpin_history(chain, from, to)?;
    Ok(node.pinned_history()?)
}

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
        bootstrap_peers: settings.bootstrap.len(),
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
        // Under ZKS_LOOPBACK_ONLY a new home has no public bootstrap peers.
        assert_eq!(
            offline.bootstrap_peers,
            node.settings().unwrap().bootstrap.len()
        );
        let mut settings = node.settings().unwrap();
        settings.bootstrap = vec![
            "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
            "/ip4/127.0.0.1/tcp/10/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
        ];
        node.save_settings(&settings).unwrap();
        assert_eq!(live(app).await.unwrap().bootstrap_peers, 2);
        settings.bootstrap.clear();
        node.save_settings(&settings).unwrap();
        assert_eq!(live(app).await.unwrap().bootstrap_peers, 0);

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
            "bootstrap_peers",
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
        // The node's place in the networks reaches the window: alone on
        // loopback with no bootstrap peers: nobody in the DHT table, no relay
        // slot, not announced, and no contact to reach.
        assert!(
            matches!(grid.network.dht_mode.as_str(), "client" | "server"),
            "{:?}",
            grid.network
        );
        assert_eq!(grid.network.dht_peers, 0);
        assert_eq!(grid.network.grid_peers, 0);
        assert!(grid.network.relays.is_empty());
        assert!(!grid.network.grid_member);
        assert!(grid.contacts.is_empty());
        let json = serde_json::to_value(&grid).unwrap();
        for key in [
            "dht_mode",
            "dht_peers",
            "grid_peers",
            "connected",
            "nat",
            "relays",
            "grid_member",
        ] {
            assert!(json["network"].get(key).is_some(), "network.{key}");
        }
        assert!(json["contacts"].is_object());

        set_seeding(app, true).unwrap();
        let now = live(app).await.unwrap();
        assert!(now.seeding);
        assert!(now.live.unwrap().seeding.enabled, "switched at once");
        set_seeding(app, false).unwrap();
        assert!(!live(app).await.unwrap().live.unwrap().seeding.enabled);

        node.withdraw_daemon();
        node.stop().await;
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// Points the node's drand sources at `url` (on loopback).
    fn use_drand(node: &zks_node::Node, url: &str) {
        let mut settings = node.settings().unwrap();
        settings.drand_urls = vec![url.to_owned()];
        node.save_settings(&settings).unwrap();
    }

    /// A devnet chain whose current round is `history`, known to `node` and
    /// served over the drand HTTP API on loopback; its hash.
    async fn devnet(node: &zks_node::Node, history: u64) -> (String, tokio::task::JoinHandle<()>) {
        let signer = std::sync::Arc::new(zks_beacon::DevnetSigner::test(
            zks_beacon::Scheme::UnchainedG1Rfc9380,
            3,
            now() - (history - 1) * 3,
        ));
        let info = node.add_chain(&signer.chain().to_info_json()).unwrap();
        let (addr, task) = zks_grid::relay::serve(
            "127.0.0.1:0".parse().unwrap(),
            zks_grid::RelaySource::Devnet(signer),
        )
        .await
        .unwrap();
        use_drand(node, &format!("http://{addr}"));
        (info.hash.to_hex(), task)
    }

    #[tokio::test]
    async fn bad_history_requests_are_refused_before_anything_starts() {
        let test = test_support::node("history-bad").await;
        let (app, node) = (&test.app, test.node());
        let job = HistoryJob::default();
        let mut settings = node.settings().unwrap();
        settings.cache_budget_bytes = 64 << 20;
        node.save_settings(&settings).unwrap();
        // One range pinned already: chunks 0–61 of quicknet.
        let cache = zks_grid::BeaconCache::open(&node.cache_dir(), u64::MAX).unwrap();
        let quicknet = node.chain("quicknet").unwrap();
        cache.pin_stored(quicknet.hash, 1..=1_000_000).unwrap();
        let head = quicknet.round_at(now());
        let before = zks_testkit::snapshot(&test.home);

        let unknown_hash = "ab".repeat(32);
        let cases: Vec<(&str, u64, u64, bool, &str)> = vec![
            ("", 1, 10, false, "choose a chain"),
            ("nosuchchain", 1, 10, false, "not a chain known here"),
            (&unknown_hash, 1, 10, false, "not a chain known here"),
            ("quicknet", 0, 10, false, "start at 1"),
            ("quicknet", 20, 10, false, "after the last"),
            (
                "quicknet",
                head - 5,
                head + 1000,
                false,
                "not published yet",
            ),
            ("quicknet", 1, 60_000_000, false, "more than one request"),
            ("quicknet", 1, 2_000_000, false, "more than its budget"),
            // 25 chunks fit the 64 MiB budget alone, but not beside the
            // 62 pinned (86 × 788592 bytes > 64 MiB).
            ("quicknet", 1_000_001, 1_409_024, true, "pinned already"),
        ];
        for (chain, from, to, pin, says) in cases {
            let err = fetch_history(app, &job, chain, from, to, pin, |_| {
                panic!("no progress for a refused request")
            })
            .await
            .unwrap_err();
            assert_eq!(err.code, "bad_input", "{chain} {from}..={to}: {err:?}");
            assert!(
                err.message.contains(says),
                "{chain} {from}..={to}: {}",
                err.message
            );
        }
        assert_eq!(zks_testkit::snapshot(&test.home), before, "nothing changed");
        assert_eq!(pins(app).unwrap().len(), 1);

        // The same ranges within the limits are accepted (checked only here).
        node.plan_history("quicknet", 1_000_001, 1_409_024, false)
            .unwrap();
        node.plan_history("quicknet", 1_000_001, 1_392_640, true)
            .unwrap();
        node.plan_history(&quicknet.hash.to_hex(), head, head, false)
            .unwrap();

        // Unpinning what is not pinned changes nothing either.
        let err = unpin(app, "quicknet", 1, 999).unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("not pinned"), "{}", err.message);
        let err = unpin(app, "nosuchchain", 1, 1_000_000).unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert_eq!(zks_testkit::snapshot(&test.home), before);
        node.stop().await;
    }

    #[tokio::test]
    async fn a_history_range_is_fetched_from_a_local_drand_server_pinned_and_unpinned() {
        let test = test_support::node("history-fetch").await;
        let (app, node) = (&test.app, test.node());
        let (hash, _server) = devnet(&node, 300).await;
        let job = HistoryJob::default();

        let mut seen = Vec::new();
        let report = fetch_history(app, &job, &hash, 1, 250, true, |p| seen.push(p))
            .await
            .unwrap();
        assert_eq!((report.from, report.to, report.total), (1, 250, 250));
        assert_eq!(report.held, 250, "{report:?}");
        assert_eq!(report.sources.get("drand"), Some(&250), "{report:?}");
        assert_eq!((report.failed, report.first_failure.as_deref()), (0, None));
        assert!(report.pinned && !report.cancelled);
        // Progress: from nothing to everything, never backwards.
        let first = seen.first().unwrap();
        let last = seen.last().unwrap();
        assert_eq!((first.held, first.total), (0, 250));
        assert_eq!(last.held, 250);
        assert!(last.rounds_per_sec > 0.0, "{last:?}");
        assert!(seen.windows(2).all(|w| w[0].held <= w[1].held), "{seen:?}");
        // The rounds are in the cache the Grid screen reads, and pinned.
        let grid = status(app).unwrap();
        let chain = grid.chains.iter().find(|c| c.hash == hash).unwrap();
        assert_eq!((chain.rounds, chain.period), (250, 3));
        let pinned = pins(app).unwrap();
        assert_eq!(pinned.len(), 1);
        assert_eq!(
            (pinned[0].hash.as_str(), pinned[0].from, pinned[0].to),
            (hash.as_str(), 1, 250)
        );
        assert_eq!(pinned[0].held, 250);

        // Again: everything comes from the cache.
        let again = fetch_history(app, &job, &hash, 1, 250, true, |_| {})
            .await
            .unwrap();
        assert_eq!(again.sources.get("cache"), Some(&250));
        assert_eq!(pins(app).unwrap().len(), 1, "pinned once");

        assert!(unpin(app, &hash, 1, 250).unwrap().is_empty());
        assert_eq!(unpin(app, &hash, 1, 250).unwrap_err().code, "bad_input");
        assert_eq!(
            status(app)
                .unwrap()
                .chains
                .iter()
                .find(|c| c.hash == hash)
                .unwrap()
                .rounds,
            250,
            "the rounds stay"
        );
        node.stop().await;
    }

    #[tokio::test]
    async fn a_history_fetch_can_be_cancelled_and_only_one_runs_at_a_time() {
        let test = test_support::node("history-cancel").await;
        let (app, node) = (&test.app, test.node());
        let (hash, _server) = devnet(&node, 300).await;
        // A source that accepts and never answers: the fetch hangs there.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        use_drand(&node, &format!("http://{}", silent.local_addr().unwrap()));
        let _keep = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = silent.accept().await {
                held.push(conn);
            }
        });
        let job = std::sync::Arc::new(HistoryJob::default());
        let started = std::time::Instant::now();
        let fetching = {
            let (job, hash) = (job.clone(), hash.clone());
            let app = AppNode::running(node.clone());
            tokio::spawn(
                async move { fetch_history(&app, &job, &hash, 1, 200, true, |_| {}).await },
            )
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let busy = fetch_history(app, &job, &hash, 1, 10, false, |_| {})
            .await
            .unwrap_err();
        assert_eq!(busy.code, "busy");
        assert_eq!(pins(app).unwrap().len(), 1, "pinned while it runs");
        assert!(job.cancel());
        let report = fetching.await.unwrap().unwrap();
        assert!(report.cancelled && !report.pinned, "{report:?}");
        assert_eq!(report.held, 0);
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert!(
            pins(app).unwrap().is_empty(),
            "the pin went with the cancel"
        );
        assert!(!job.cancel(), "nothing runs now");
        node.stop().await;
    }

    #[tokio::test]
    async fn a_failed_node_has_no_live_grid_nor_switch() {
        let failed = test_support::failed();
        assert_eq!(live(&failed).await.unwrap_err().code, "data_dir");
        assert_eq!(set_seeding(&failed, true).unwrap_err().code, "data_dir");
        let job = HistoryJob::default();
        let err = fetch_history(&failed, &job, "quicknet", 1, 2, false, |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code, "data_dir");
        assert_eq!(pins(&failed).unwrap_err().code, "data_dir");
    }

    #[test]
    fn a_failed_node_returns_its_error() {
        let failed = test_support::failed();
        let err = status(&failed).unwrap_err();
        assert_eq!(err.code, "data_dir");
        assert_eq!(err.message, "cannot use data directory /x");
    }
}
