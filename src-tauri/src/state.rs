//! The app's node slot and its lifecycle: the state Tauri manages once at
//! setup ([`AppNode`]), holding the running node, or the locked home, or why
//! the node did not start; and the transitions that change it — opening the
//! home at start, unlocking, locking, changing how the key is protected.
//!
//! Commands and the shell both use this module; it uses neither (the
//! window, the tray and the network are wired to a started node by
//! [`crate::wiring`]), so the commands never call back into the shell.
//!
//! At start a home whose key is in the OS keyring opens with it; with
//! `ZKS_PASSPHRASE` set, that passphrase is used; a new home on a machine
//! with a working keyring gets its key kept there, silently. Otherwise the
//! app starts *locked* ([`NodeSlot::Locked`]): no node runs, every node
//! command answers `{code: "locked"}`, and the window shows the Unlock
//! screen. Passphrases arrive as strings and are moved into a zeroizing
//! [`Unlock`] at once; they are never logged nor put into an error.

use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard};

use zks_node::{
    DataDir, KeyProtection, MIN_PASSPHRASE_CHARS, Node, NodeConfig, NodeError, Unlock, VaultState,
};

use crate::error::IpcError;

/// What a locked home needs before its node can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A home protected with a passphrase: the passphrase.
    Unlock,
    /// A new home (or one from a release before encryption at rest) with no
    /// OS keyring to keep its key: a passphrase to choose.
    Create {
        /// The home has a database from an older release, which the first
        /// start encrypts (rather than a new, empty home).
        upgrade: bool,
    },
}

/// The node slot as the app holds it.
#[derive(Debug, Clone)]
pub enum NodeSlot {
    /// The node is running.
    Running(Node),
    /// The home is locked: no node runs until the window unlocks it.
    Locked {
        /// The home.
        data_dir: DataDir,
        /// What unlocking it needs.
        needs: Needs,
    },
    /// Starting the node failed (shown in the window instead of crashing).
    Failed(IpcError),
}

/// The node as the app holds it, managed by Tauri once at setup. The slot
/// changes at run time (unlock, lock), so it sits behind a lock; commands
/// take a clone of the running [`Node`] with [`AppNode::get`] and never hold
/// the lock across their work. Unlocking, locking and changing the
/// passphrase are serialised by a second (async) lock, held across the
/// Argon2id and the database work, so two of them never overlap.
/// Locking stops the node, which ends everything `serve_home` spawned (the
/// swarm, delivery, transfers, the grid) and releases the home.
pub struct AppNode {
    slot: RwLock<NodeSlot>,
    transition: tokio::sync::Mutex<()>,
    keyring: OnceLock<bool>,
}

impl std::fmt::Debug for AppNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppNode")
            .field("slot", &self.slot)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl AppNode {
    fn with(slot: NodeSlot) -> AppNode {
        AppNode {
            slot: RwLock::new(slot),
            transition: tokio::sync::Mutex::new(()),
            keyring: OnceLock::new(),
        }
    }

    /// An app whose node runs.
    pub fn running(node: Node) -> AppNode {
        AppNode::with(NodeSlot::Running(node))
    }

    /// An app whose home is locked.
    pub fn locked(data_dir: DataDir, needs: Needs) -> AppNode {
        AppNode::with(NodeSlot::Locked { data_dir, needs })
    }

    /// An app whose node could not start.
    pub fn failed(err: IpcError) -> AppNode {
        AppNode::with(NodeSlot::Failed(err))
    }

    fn read(&self) -> RwLockReadGuard<'_, NodeSlot> {
        self.slot.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the slot as it is now.
    pub fn slot(&self) -> NodeSlot {
        self.read().clone()
    }

    fn set(&self, slot: NodeSlot) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = slot;
    }

    /// The running node (a cheap clone of its handle), or why there is
    /// none: `locked` while the home waits for its passphrase, else the
    /// start-up error.
    pub fn get(&self) -> Result<Node, IpcError> {
        match &*self.read() {
            NodeSlot::Running(node) => Ok(node.clone()),
            NodeSlot::Locked { .. } => Err(locked_error()),
            NodeSlot::Failed(err) => Err(err.clone()),
        }
    }

    /// Whether the node runs.
    pub fn is_running(&self) -> bool {
        matches!(&*self.read(), NodeSlot::Running(_))
    }

    /// This app as on a machine without an OS keyring, whatever the test
    /// run's session has.
    #[cfg(test)]
    pub(crate) fn without_keyring(self) -> AppNode {
        let _ = self.keyring.set(false);
        self
    }

    /// Whether the OS keyring can keep a home key here (asked once: on
    /// Linux the probe talks to the session bus).
    pub fn keyring_available(&self) -> bool {
        *self.keyring.get_or_init(zks_node::keyring_available)
    }

    /// Whether the home waits to be unlocked.
    pub fn is_locked(&self) -> bool {
        matches!(&*self.read(), NodeSlot::Locked { .. })
    }
}

/// What every node command answers while the home is locked.
pub fn locked_error() -> IpcError {
    IpcError::new(
        "locked",
        "this home is locked; unlock it with its passphrase first",
    )
}

/// How the app opens a home at start.
#[derive(Debug)]
pub enum Start {
    /// Start the node with this.
    Open(Unlock),
    /// Stay locked; the window asks.
    Ask(Needs),
}

/// Chooses how to open a home in `state` at start: its keyring; else the
/// passphrase from the environment (`ZKS_PASSPHRASE`); else, for a new home,
/// the OS keyring if `keyring` says there is one. Otherwise the window asks.
pub fn initial_unlock(
    state: VaultState,
    env: Option<Unlock>,
    keyring: impl FnOnce() -> bool,
) -> Start {
    if state == VaultState::Protected(KeyProtection::Keyring) {
        return Start::Open(Unlock::Keyring);
    }
    if let Some(unlock) = env {
        return Start::Open(unlock);
    }
    match state {
        VaultState::Protected(_) => Start::Ask(Needs::Unlock),
        _ if keyring() => Start::Open(Unlock::Keyring),
        VaultState::Unencrypted => Start::Ask(Needs::Create { upgrade: true }),
        _ => Start::Ask(Needs::Create { upgrade: false }),
    }
}

/// Opens the home at `home` (or the default one) as the app starts: see
/// [`initial_unlock`]. A wrong `ZKS_PASSPHRASE` leaves the app locked, so
/// the window can ask for the right one.
pub async fn open_at_start(home: Option<std::path::PathBuf>) -> AppNode {
    let data_dir = match DataDir::resolve(home) {
        Ok(dir) => dir,
        Err(e) => return failed_start(e),
    };
    open_dir(data_dir, Unlock::from_env(), zks_node::keyring_available).await
}

/// [`open_at_start`] for a resolved home, with the environment's passphrase
/// and the keyring probe given.
pub async fn open_dir(
    data_dir: DataDir,
    env: Option<Unlock>,
    keyring: impl FnOnce() -> bool,
) -> AppNode {
    let state = match zks_node::vault_state(&data_dir) {
        Ok(state) => state,
        Err(e) => return failed_start(e),
    };
    let unlock = match initial_unlock(state, env, keyring) {
        Start::Open(unlock) => unlock,
        Start::Ask(needs) => {
            tracing::info!("the home is locked; the window asks for its passphrase");
            return AppNode::locked(data_dir, needs);
        }
    };
    let by_passphrase = matches!(unlock, Unlock::Passphrase(_));
    match Node::start(NodeConfig {
        data_dir: data_dir.clone(),
        unlock,
    })
    .await
    {
        Ok(node) => AppNode::running(node),
        Err(NodeError::WrongPassphrase) if by_passphrase => {
            tracing::warn!(
                "the passphrase in {} does not open this home; the window asks for it",
                zks_node::PASSPHRASE_ENV
            );
            AppNode::locked(data_dir, Needs::Unlock)
        }
        Err(e) => failed_start(e),
    }
}

fn failed_start(e: NodeError) -> AppNode {
    tracing::error!("the node did not start: {e}");
    AppNode::failed(IpcError::from(e))
}

/// Plain form of [`vault_unlock`]: starts the node of a locked home with
/// `passphrase` and returns it (the caller wires it to the window).
pub async fn unlock(app: &AppNode, passphrase: String) -> Result<Node, IpcError> {
    // Zeroized when dropped, from here on.
    let unlock = Unlock::passphrase(passphrase);
    let _turn = app.transition.lock().await;
    let (data_dir, needs) = match app.slot() {
        NodeSlot::Locked { data_dir, needs } => (data_dir, needs),
        NodeSlot::Running(_) => {
            return Err(IpcError::new("not_locked", "this home is already unlocked"));
        }
        NodeSlot::Failed(err) => return Err(err),
    };
    if let Unlock::Passphrase(phrase) = &unlock {
        if phrase.is_empty() {
            return Err(IpcError::new("bad_input", "enter the passphrase"));
        }
        if matches!(needs, Needs::Create { .. }) {
            check_new(phrase)?;
        }
    }
    let node = Node::start(NodeConfig { data_dir, unlock }).await?;
    app.set(NodeSlot::Running(node.clone()));
    tracing::info!("the home was unlocked from the window");
    Ok(node)
}

/// Plain form of [`vault_lock`]: stops the node of a passphrase home
/// (withdrawing this process's `daemon.json`) and leaves the app locked.
pub async fn lock(app: &AppNode) -> Result<(), IpcError> {
    let _turn = app.transition.lock().await;
    let node = app.get()?;
    if node.key_protection()? != KeyProtection::Passphrase {
        return Err(IpcError::new(
            "bad_input",
            "this home's key is kept in the OS keyring, so there is no passphrase to lock it with",
        ));
    }
    // Commands see a locked home from here on; the node stops behind it.
    app.set(NodeSlot::Locked {
        data_dir: node.data_dir().clone(),
        needs: Needs::Unlock,
    });
    withdraw_if_ours(&node);
    node.stop().await;
    tracing::info!("the home was locked from the window");
    Ok(())
}

/// Plain form of [`vault_change`]: checks the request (the current
/// passphrase present for a passphrase home, the new one long enough, a
/// keyring there to move to) before any Argon2id runs, then protects the
/// home as asked under a rotated key.
pub async fn change(
    app: &AppNode,
    current: Option<String>,
    new_passphrase: Option<String>,
) -> Result<KeyProtection, IpcError> {
    let new = match new_passphrase {
        Some(phrase) => {
            check_new(&phrase)?;
            Unlock::passphrase(phrase)
        }
        None if app.keyring_available() => Unlock::Keyring,
        None => {
            return Err(IpcError::new(
                "no_keyring",
                "this system has no OS keyring to keep the key in; keep protecting it with a passphrase",
            ));
        }
    };
    let _turn = app.transition.lock().await;
    let node = app.get()?;
    let current = match (node.key_protection()?, current) {
        (KeyProtection::Keyring, _) => Unlock::Keyring,
        (KeyProtection::Passphrase, Some(phrase)) => Unlock::passphrase(phrase),
        (KeyProtection::Passphrase, None) => {
            return Err(IpcError::new("bad_input", "enter the current passphrase"));
        }
    };
    let changed = tokio::task::spawn_blocking(move || {
        node.change_protection(&current, &new, &mut rand_core::OsRng)
    })
    .await
    .map_err(|e| IpcError::new("io", format!("the key change stopped: {e}")))??;
    Ok(changed.protection)
}

/// A passphrase to protect a home with must be long enough (the node checks
/// it too; this answers before any Argon2id runs).
fn check_new(phrase: &str) -> Result<(), IpcError> {
    if phrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(IpcError::new(
            "bad_input",
            format!("the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"),
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use zks_node::OnlineConfig;

    use crate::test_support::{PASSPHRASE, TempHome, opened};

    #[test]
    fn the_start_uses_the_keyring_the_environment_or_asks() {
        let keyring = VaultState::Protected(KeyProtection::Keyring);
        let passphrase = VaultState::Protected(KeyProtection::Passphrase);
        let env = || Some(Unlock::passphrase("from the environment"));
        let no_probe = || panic!("the keyring is probed only for a new home");
        assert!(matches!(
            initial_unlock(keyring, env(), no_probe),
            Start::Open(Unlock::Keyring)
        ));
        assert!(matches!(
            initial_unlock(passphrase, env(), no_probe),
            Start::Open(Unlock::Passphrase(_))
        ));
        assert!(matches!(
            initial_unlock(VaultState::New, env(), no_probe),
            Start::Open(Unlock::Passphrase(_))
        ));
        assert!(matches!(
            initial_unlock(passphrase, None, no_probe),
            Start::Ask(Needs::Unlock)
        ));
        assert!(matches!(
            initial_unlock(VaultState::New, None, || true),
            Start::Open(Unlock::Keyring)
        ));
        assert!(matches!(
            initial_unlock(VaultState::New, None, || false),
            Start::Ask(Needs::Create { upgrade: false })
        ));
        assert!(matches!(
            initial_unlock(VaultState::Unencrypted, None, || false),
            Start::Ask(Needs::Create { upgrade: true })
        ));
    }

    /// Whether something listens on 127.0.0.1:`port`, asked for up to 5 s
    /// until it stops.
    async fn still_listening(port: u16) -> bool {
        for _ in 0..100 {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    #[tokio::test]
    async fn locking_an_online_home_takes_it_off_the_network_and_frees_it() {
        let home = TempHome::new("vault-online");
        let app = opened(&home, Some(PASSPHRASE)).await;
        let node = app.get().unwrap();
        let (client, info) = node
            .serve_home(zks_node::OnlineConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                ..zks_node::OnlineConfig::default()
            })
            .await
            .unwrap();
        drop(client);
        let port: u16 = info.addresses[0]
            .split('/')
            .nth(4)
            .and_then(|p| p.parse().ok())
            .unwrap();
        assert_eq!(node.running_daemon().unwrap().pid, std::process::id());

        lock(&app).await.unwrap();
        assert!(node.running_daemon().is_none(), "daemon.json withdrawn");
        drop(node);
        assert!(!still_listening(port).await, "the swarm still listens");

        // Nothing of the old node keeps the home open: a key change after
        // unlocking again is not refused as busy.
        let node = unlock(&app, PASSPHRASE.into()).await.unwrap();
        change(
            &app,
            Some(PASSPHRASE.into()),
            Some("second passphrase".into()),
        )
        .await
        .unwrap();
        node.stop().await;
    }

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
}
