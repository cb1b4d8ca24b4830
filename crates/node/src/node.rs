//! The [`Node`] handle.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::broadcast;
use zks_store::Store;

use crate::status::{ChainCoverage, DatabaseStatus, GridStatus, NodeStatus};
use crate::{DataDir, NodeError, VERSION};

/// How many events a slow subscriber may fall behind before it misses some
/// (it is then told how many it lost, see [`broadcast::error::RecvError`]).
const EVENT_BUFFER: usize = 1024;

/// What a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The data directory.
    pub data_dir: DataDir,
    /// What opens the home (or protects a new one).
    pub unlock: crate::Unlock,
}

/// Something that happened in the node, for front ends to show.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeEvent {
    /// The node finished starting.
    Started,
    /// The node is shutting down.
    Stopping,
    /// A message from a contact arrived and was stored.
    MessageReceived {
        /// The contact's name.
        from: String,
    },
    /// Messages of a conversation with a disappearing-messages timer
    /// reached their time and were deleted.
    MessagesExpired {
        /// How many.
        count: u64,
    },
    /// Timelocked messages reached their round and were opened.
    MessagesOpened {
        /// How many.
        count: u64,
    },
    /// A contact acknowledged one of our messages.
    MessageDelivered {
        /// The message's id in the history.
        message_id: i64,
    },
    /// One of our messages for a contact who is away now waits in
    /// mailboxes on grid seeders ("in mailbox").
    MessageMailboxed {
        /// The message's id in the history.
        message_id: i64,
    },
    /// A pairing finished because the contact's reply arrived over the
    /// network.
    PairingFinished {
        /// The new contact's name.
        contact: String,
    },
    /// A contact offered a file.
    TransferOffered {
        /// The transfer (hex).
        transfer_id: String,
        /// The contact.
        from: String,
        /// The (sanitised) file name.
        name: String,
        /// Size in bytes.
        size: u64,
    },
    /// A transfer moved on (at most four times a second per transfer).
    TransferProgress {
        /// The transfer (hex).
        transfer_id: String,
        /// Bytes verified (receiving) or sent (sending).
        bytes_done: u64,
        /// Size in bytes.
        size: u64,
    },
    /// A contact's message reused the key or pad bytes of an earlier,
    /// different message: it was refused. Shown to the user as an alarm.
    KeyReuseDetected {
        /// The contact's name.
        contact: String,
        /// What happened and what to do.
        detail: String,
    },
    /// A received timelocked file reached its round and opened: the file is
    /// now in place (its transfer's `path`). A file that cannot be opened
    /// ends its transfer as `failed` ([`NodeEvent::TransferFinished`]).
    TransferOpened {
        /// The transfer (hex).
        transfer_id: String,
    },
    /// A group was made, changed, or we learned of it (ops arrived).
    GroupChanged {
        /// The group's id (hex).
        group: String,
    },
    /// A message of a group was stored (ours or a member's), or a
    /// reaction, edit or delete of one.
    GroupMessage {
        /// The group's id (hex).
        group: String,
        /// The member (our contact's name) who sent a new text or file;
        /// `null` for ours and for reactions, edits and deletes.
        from: Option<String>,
    },
    /// Our devices changed: one joined, was confirmed or unlinked, or a
    /// device list or introduction arrived (decision 0072).
    DevicesChanged,
    /// Messages of the conversation with `contact` arrived from another
    /// of our devices (what we sent there, or the handed-over history).
    ConversationSynced {
        /// The contact.
        contact: String,
    },
    /// A transfer ended: `completed`, `declined`, `cancelled` or `failed`.
    TransferFinished {
        /// The transfer (hex).
        transfer_id: String,
        /// How it ended.
        state: zks_store::TransferState,
        /// Why, when it failed or was cancelled.
        error: Option<String>,
    },
}

/// A cheap, cloneable handle to a running node.
#[derive(Debug, Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    data_dir: DataDir,
    store: Mutex<Option<Store>>,
    /// The home key (see `vault.rs`), for checks on a key change.
    pub(crate) home_key: Mutex<crate::vault::HomeKey>,
    /// The key pad copies are encrypted under (kept in the database).
    pub(crate) pad_master: zeroize::Zeroizing<[u8; 32]>,
    /// Turns true when the node stops; every long-lived task it spawned
    /// ends then (see [`Node::spawn_until_stopped`]).
    stopped: tokio::sync::watch::Sender<bool>,
    /// The shared lock every open node holds on the home (released when
    /// the node stops).
    pub(crate) home_lock: Mutex<Option<crate::vault::HomeLock>>,
    events: broadcast::Sender<NodeEvent>,
    started: Instant,
    /// Wakes the outbox sender when a message is queued.
    pub(crate) outbox_wake: tokio::sync::Notify,
    /// File transfers in progress.
    pub(crate) transfers: crate::files::Transfers,
    /// The grid while online (swarm, cascade, seeder).
    pub(crate) grid: Mutex<Option<crate::network::GridRuntime>>,
    /// The swarm while online (set by [`Node::go_online`]).
    pub(crate) swarm: Mutex<Option<zks_grid::swarm::SwarmClient>>,
    /// The beacon cache as message binding and incoming rounds use it,
    /// opened on first use and kept (see [`Node::binding_cache`]).
    pub(crate) binding_cache: std::sync::OnceLock<Arc<zks_grid::BeaconCache>>,
    /// The last binding looked up for sealing: when, for which chosen
    /// chain, and the binding (see [`Node::current_binding`]).
    pub(crate) binding_memo: Mutex<Option<(Instant, [u8; 32], zks_pad::RoundBinding)>>,
    /// Timelocked messages the opener gave up on (damaged files).
    pub(crate) timelock_failures: crate::timelock::Failures,
    /// When the opener last asked the network for a timelock round.
    pub(crate) timelock_fetches: crate::timelock::Fetches,
    /// Recent rendezvous lookups of contacts (see `rendezvous.rs`).
    pub(crate) lookups: crate::rendezvous::Lookups,
}

impl Node {
    /// Opens the data directory's database and starts the node.
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let dir = config.data_dir.clone();
        let unlock = config.unlock;
        let (store, home_key, home_lock, pad_master) = tokio::task::spawn_blocking(move || {
            let (mut store, key, lock) =
                crate::vault::open_home(dir.path(), &unlock, &mut rand_core::OsRng)?;
            let legacy = store.take_legacy_beacons();
            crate::beacons::move_legacy_beacons(
                &store,
                &crate::beacons::cache_dir_of(dir.path()),
                legacy,
            );
            let pad_master = crate::pads::pad_master_of(&mut store, &mut rand_core::OsRng)?;
            Ok::<_, NodeError>((store, key, lock, pad_master))
        })
        .await
        .expect("opening the store panicked")?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let node = Node {
            inner: Arc::new(Inner {
                data_dir: config.data_dir,
                store: Mutex::new(Some(store)),
                home_key: Mutex::new(home_key),
                home_lock: Mutex::new(Some(home_lock)),
                stopped: tokio::sync::watch::Sender::new(false),
                pad_master,
                events,
                started: Instant::now(),
                outbox_wake: tokio::sync::Notify::new(),
                transfers: crate::files::Transfers::default(),
                grid: Mutex::new(None),
                swarm: Mutex::new(None),
                binding_cache: std::sync::OnceLock::new(),
                binding_memo: Mutex::new(None),
                timelock_failures: Default::default(),
                timelock_fetches: Default::default(),
                lookups: crate::rendezvous::Lookups::default(),
            }),
        };
        node.encrypt_clear_pads()?;
        tracing::info!(data_dir = %node.inner.data_dir.path().display(), "node started");
        node.emit(NodeEvent::Started);
        Ok(node)
    }

    /// The data directory this node runs in.
    pub fn data_dir(&self) -> &DataDir {
        &self.inner.data_dir
    }

    /// Subscribes to the node's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// A snapshot of the node's state.
    pub fn status(&self) -> Result<NodeStatus, NodeError> {
        let key_protection = self.key_protection()?;
        let database = self.with_store(|store| {
            Ok(DatabaseStatus {
                path: store.path().to_owned(),
                schema_version: store.schema_version()?,
                sqlite_version: Store::sqlite_version().to_owned(),
                key_protection,
            })
        })?;
        Ok(NodeStatus {
            version: VERSION.to_owned(),
            data_dir: self.inner.data_dir.path().to_owned(),
            uptime_secs: self.inner.started.elapsed().as_secs(),
            database,
            grid: self.grid_status()?,
            live: self.running_grid(),
        })
    }

    /// What the beacon cache holds, per known chain (read from the chunk
    /// files, so it is right even while another process seeds this home).
    pub fn grid_status(&self) -> Result<GridStatus, NodeError> {
        let cache_dir = self.cache_dir();
        let cache = zks_grid::BeaconCache::open(&cache_dir, u64::MAX).map_err(NodeError::grid)?;
        let chains = self.with_store(crate::beacons::known_chains)?;
        let now = crate::clock::now_secs();
        let mut out = Vec::new();
        for chain in chains {
            let coverage = cache.coverage(&chain).map_err(NodeError::grid)?;
            out.push(ChainCoverage {
                name: chain.name.clone(),
                hash: chain.hash.to_hex(),
                head: chain.round_at(now),
                period: chain.period,
                rounds: coverage.rounds,
                chunks: coverage.chunks,
            });
        }
        Ok(GridStatus {
            cache_bytes: cache.size(),
            cache_dir,
            chains: out,
        })
    }

    /// Stops the node: tells subscribers, then closes the database. Other
    /// handles get [`NodeError::Stopped`] afterwards.
    pub async fn stop(&self) {
        self.emit(NodeEvent::Stopping);
        // Ends the node's tasks (delivery, transfers, grid upkeep); with
        // them go their swarm handles, and the swarm closes its listeners.
        self.inner.stopped.send_replace(true);
        let store = self
            .inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(store);
        let grid = self
            .inner
            .grid
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(grid);
        let swarm = self
            .inner
            .swarm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(swarm);
        let lock = self
            .inner
            .home_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(lock);
        tracing::info!("node stopped");
    }

    /// Spawns `task` to run until it ends or the node stops, whichever
    /// comes first; long-lived tasks of an online node go through here so
    /// that [`Node::stop`] really takes the node off the network.
    pub(crate) fn spawn_until_stopped(
        &self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let mut stopped = self.inner.stopped.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                () = task => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        });
    }

    /// The store slot itself (a key change swaps the database under it).
    pub(crate) fn store_guard(&self) -> std::sync::MutexGuard<'_, Option<Store>> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn with_store<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, NodeError>,
    ) -> Result<T, NodeError> {
        let guard = self
            .inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let store = guard.as_ref().ok_or(NodeError::Stopped)?;
        f(store)
    }

    pub(crate) fn with_store_mut<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, NodeError>,
    ) -> Result<T, NodeError> {
        let mut guard = self
            .inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let store = guard.as_mut().ok_or(NodeError::Stopped)?;
        f(store)
    }

    pub(crate) fn emit(&self, event: NodeEvent) {
        // No subscriber is not an error: events are for whoever listens.
        let _ = self.inner.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn started(tmp: &tempfile::TempDir) -> Node {
        crate::test_support::started(tmp.path()).await
    }

    #[tokio::test]
    async fn status_reports_the_data_dir_and_schema() {
        let tmp = tempfile::tempdir().unwrap();
        let node = started(&tmp).await;
        let status = node.status().unwrap();
        assert_eq!(status.data_dir, tmp.path());
        assert_eq!(status.version, VERSION);
        assert!(status.database.schema_version >= 1);
        assert!(status.database.sqlite_version.starts_with("3."));
        assert_eq!(status.grid.cache_dir, tmp.path().join("cache"));
        let quicknet = status
            .grid
            .chains
            .iter()
            .find(|c| c.name == "quicknet")
            .unwrap();
        assert_eq!(quicknet.rounds, 0);
        assert!(quicknet.head > 30_000_000, "the head follows the clock");
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(
            json["database"]["schema_version"],
            status.database.schema_version
        );
    }

    #[tokio::test]
    async fn stop_is_announced_and_later_calls_fail_cleanly() {
        let tmp = tempfile::tempdir().unwrap();
        let node = started(&tmp).await;
        let mut events = node.subscribe();
        node.stop().await;
        assert_eq!(events.recv().await.unwrap(), NodeEvent::Stopping);
        assert!(matches!(node.status(), Err(NodeError::Stopped)));
    }
}
