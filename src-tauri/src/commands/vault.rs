//! The home's key in the window: how the app opens the home at start, the
//! Unlock screen's commands (status, unlock a passphrase home or choose a
//! passphrase for a new one) and the Settings screen's Security section
//! (lock now, change the passphrase).
//!
//! At start a home whose key is in the OS keyring opens with it; with
//! `ZKS_PASSPHRASE` set, that passphrase is used; a new home on a machine
//! with a working keyring gets its key kept there, silently. Otherwise the
//! app starts *locked* ([`NodeSlot::Locked`]): no node runs, every node
//! command answers `{code: "locked"}`, and the window shows the Unlock
//! screen. Passphrases cross IPC as strings and are moved into a zeroizing
//! [`Unlock`] at once; they are never logged nor put into an error.

use tauri::{AppHandle, State};
use zks_node::{
    DataDir, KeyProtection, MIN_PASSPHRASE_CHARS, Node, NodeConfig, NodeError, Unlock, VaultState,
};

use super::{AppNode, Needs, NodeSlot};
use crate::dto::VaultStatus;
use crate::error::IpcError;
use crate::shell;
use crate::tray::{self, Presence};

/// Whether the home is open and how its key is protected.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn vault_status(node: State<'_, AppNode>) -> Result<VaultStatus, IpcError> {
    Ok(status(&node))
}

/// Opens a locked home with `passphrase` (for a new home: protects it with
/// `passphrase`), then wires the node to the window, the network, the
/// notifications and the tray exactly as at start. A wrong passphrase
/// answers `wrong_passphrase` and changes nothing.
#[tauri::command(rename_all = "snake_case")]
pub async fn vault_unlock(
    app: AppHandle,
    node: State<'_, AppNode>,
    passphrase: String,
) -> Result<VaultStatus, IpcError> {
    let started = unlock(&node, passphrase).await?;
    shell::node_started(&app, &started);
    Ok(status(&node))
}

/// Locks a passphrase home: takes the app off the network (withdrawing its
/// `daemon.json`), closes the database and goes back to the Unlock screen.
#[tauri::command(rename_all = "snake_case")]
pub async fn vault_lock(app: AppHandle, node: State<'_, AppNode>) -> Result<VaultStatus, IpcError> {
    lock(&node).await?;
    tray::set_presence(&app, Presence::Locked);
    Ok(status(&node))
}

/// Changes how the home key is protected, rotating the key and
/// re-encrypting the database: `new_passphrase` protects it with that
/// passphrase, none keeps it in the OS keyring. `current` is the passphrase
/// of a passphrase home (a keyring home needs none). `busy` while another
/// process (`zks daemon`, a `zks` command) has the home open.
#[tauri::command(rename_all = "snake_case")]
pub async fn vault_change(
    node: State<'_, AppNode>,
    current: Option<String>,
    new_passphrase: Option<String>,
) -> Result<VaultStatus, IpcError> {
    change(&node, current, new_passphrase).await?;
    Ok(status(&node))
}

/// Plain form of [`vault_status`].
pub fn status(app: &AppNode) -> VaultStatus {
    let mut status = VaultStatus {
        state: "running",
        needs: None,
        upgrade: false,
        protection: None,
        keyring_available: app.keyring_available(),
        min_passphrase_chars: MIN_PASSPHRASE_CHARS,
        data_dir: None,
        error: None,
    };
    match app.slot() {
        NodeSlot::Running(node) => {
            status.protection = node.key_protection().ok();
            status.data_dir = Some(node.data_dir().path().display().to_string());
        }
        NodeSlot::Locked { data_dir, needs } => {
            status.state = "locked";
            status.data_dir = Some(data_dir.path().display().to_string());
            match needs {
                Needs::Unlock => {
                    status.needs = Some("unlock");
                    status.protection = Some(KeyProtection::Passphrase);
                }
                Needs::Create { upgrade } => {
                    status.needs = Some("create");
                    status.upgrade = upgrade;
                }
            }
        }
        NodeSlot::Failed(err) => {
            status.state = "failed";
            status.error = Some(err);
        }
    }
    status
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
    shell::withdraw_if_ours(&node);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_support::{PASSPHRASE, TempHome};
    use crate::commands::{chat, node as node_cmd, pairing};

    /// The app at start on `home` (with `ZKS_PASSPHRASE` set to `env`, if
    /// any) on a machine without an OS keyring.
    pub(super) async fn opened(home: &TempHome, env: Option<&str>) -> AppNode {
        open_dir(home.data_dir(), env.map(Unlock::passphrase), || false).await
    }

    async fn locked_passphrase_home(label: &str) -> (TempHome, AppNode, (String, String)) {
        let home = TempHome::new(label);
        let node = Node::start(NodeConfig {
            data_dir: home.data_dir(),
            unlock: Unlock::passphrase(PASSPHRASE),
        })
        .await
        .unwrap();
        let me = node.whoami().unwrap();
        node.stop().await;
        drop(node);
        let app = opened(&home, None).await;
        (home, app, me)
    }

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

    #[tokio::test]
    async fn a_locked_home_answers_locked_and_a_wrong_passphrase_changes_nothing() {
        let (home, app, me) = locked_passphrase_home("vault-wrong").await;
        let locked = status(&app);
        assert_eq!(locked.state, "locked");
        assert_eq!(locked.needs, Some("unlock"));
        assert_eq!(locked.protection, Some(KeyProtection::Passphrase));
        assert_eq!(locked.min_passphrase_chars, MIN_PASSPHRASE_CHARS);
        assert_eq!(
            locked.data_dir.as_deref(),
            Some(&*home.path().display().to_string())
        );
        // Every node command says why it cannot answer.
        assert_eq!(node_cmd::status(&app).unwrap_err().code, "locked");
        assert_eq!(pairing::contacts(&app).unwrap_err().code, "locked");
        assert_eq!(chat::unread(&app).unwrap_err().code, "locked");

        let before = home.snapshot();
        let err = unlock(&app, "not the passphrase".into()).await.unwrap_err();
        assert_eq!(err.code, "wrong_passphrase");
        assert!(!err.message.contains("not the passphrase"));
        assert_eq!(
            unlock(&app, String::new()).await.unwrap_err().code,
            "bad_input"
        );
        assert_eq!(home.snapshot(), before, "a failed unlock changed files");
        assert!(app.is_locked());
        assert_eq!(status(&app), locked);

        let node = unlock(&app, PASSPHRASE.into()).await.unwrap();
        assert_eq!(node.whoami().unwrap(), me);
        assert_eq!(status(&app).state, "running");
        assert_eq!(node_cmd::status(&app).unwrap().data_dir, home.path());
        // A second unlock (another click) is refused and keeps the node.
        assert_eq!(
            unlock(&app, PASSPHRASE.into()).await.unwrap_err().code,
            "not_locked"
        );
        assert!(app.is_running());
        node.stop().await;
    }

    #[tokio::test]
    async fn lock_then_unlock_with_the_same_passphrase() {
        let (_home, app, me) = locked_passphrase_home("vault-lock").await;
        // Locking a locked home says so.
        assert_eq!(lock(&app).await.unwrap_err().code, "locked");
        let node = unlock(&app, PASSPHRASE.into()).await.unwrap();
        let seeding = !node.settings().unwrap().seeding;
        node.set_seeding(seeding).unwrap();

        lock(&app).await.unwrap();
        assert!(app.is_locked());
        assert_eq!(status(&app).needs, Some("unlock"));
        // The old handle's database is closed.
        assert_eq!(IpcError::from(node.settings().unwrap_err()).code, "stopped");
        assert_eq!(node_cmd::status(&app).unwrap_err().code, "locked");
        drop(node);

        assert_eq!(
            unlock(&app, "wrong passphrase".into())
                .await
                .unwrap_err()
                .code,
            "wrong_passphrase"
        );
        let again = unlock(&app, PASSPHRASE.into()).await.unwrap();
        assert_eq!(again.whoami().unwrap(), me);
        assert_eq!(again.settings().unwrap().seeding, seeding);
        again.stop().await;
    }

    #[tokio::test]
    async fn a_new_home_gets_the_chosen_passphrase_and_a_short_one_is_refused() {
        let home = TempHome::new("vault-create");
        let app = opened(&home, None).await;
        let locked = status(&app);
        assert_eq!((locked.state, locked.needs), ("locked", Some("create")));
        assert!(!locked.upgrade);
        assert_eq!(locked.protection, None);

        let err = unlock(&app, "short".into()).await.unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains(&MIN_PASSPHRASE_CHARS.to_string()));
        assert!(!home.path().join(zks_node::KEY_FILE).exists());
        assert!(app.is_locked());

        let node = unlock(&app, "a new home passphrase".into()).await.unwrap();
        let running = status(&app);
        assert_eq!(running.state, "running");
        assert_eq!(running.protection, Some(KeyProtection::Passphrase));
        node.stop().await;
        drop(node);
        assert_eq!(
            zks_node::vault_state(&home.data_dir()).unwrap(),
            VaultState::Protected(KeyProtection::Passphrase)
        );
        // The next start asks to unlock, and the chosen passphrase opens it.
        let app = opened(&home, None).await;
        assert_eq!(status(&app).needs, Some("unlock"));
        let node = unlock(&app, "a new home passphrase".into()).await.unwrap();
        node.stop().await;
    }

    #[tokio::test]
    async fn the_environment_passphrase_opens_at_start_and_a_wrong_one_leaves_it_locked() {
        let (home, _app, me) = locked_passphrase_home("vault-env").await;
        let app = opened(&home, Some("wrong passphrase")).await;
        assert_eq!(status(&app).needs, Some("unlock"));
        let app = opened(&home, Some(PASSPHRASE)).await;
        let node = app.get().unwrap();
        assert_eq!(node.whoami().unwrap(), me);
        node.stop().await;
        // A failed start is a status too, with its error.
        let failed = AppNode::failed(IpcError::new("data_dir", "cannot use /x"));
        let s = status(&failed);
        assert_eq!(s.state, "failed");
        assert_eq!(s.error.unwrap().code, "data_dir");
        assert_eq!(
            unlock(&failed, PASSPHRASE.into()).await.unwrap_err().code,
            "data_dir"
        );
    }

    #[tokio::test]
    async fn a_changed_passphrase_opens_the_home_and_the_old_one_no_longer_does() {
        let (home, app, me) = locked_passphrase_home("vault-change").await;
        let app = app.without_keyring();
        let node = unlock(&app, PASSPHRASE.into()).await.unwrap();
        let key_file = home.path().join(zks_node::KEY_FILE);
        let before = std::fs::read(&key_file).unwrap();

        // Refused, changing nothing: a wrong current one, a short new one.
        let err = change(
            &app,
            Some("not it at all".into()),
            Some("second passphrase".into()),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, "wrong_passphrase");
        let err = change(&app, Some(PASSPHRASE.into()), Some("short".into()))
            .await
            .unwrap_err();
        assert_eq!(err.code, "bad_input");
        // No current passphrase for a passphrase home; the OS keyring asked
        // for where there is none.
        let err = change(&app, None, Some("second passphrase".into()))
            .await
            .unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(
            err.message.contains("current passphrase"),
            "{}",
            err.message
        );
        let err = change(&app, Some(PASSPHRASE.into()), None)
            .await
            .unwrap_err();
        assert_eq!(err.code, "no_keyring");
        assert!(err.message.contains("no OS keyring"), "{}", err.message);
        assert_eq!(std::fs::read(&key_file).unwrap(), before);
        assert_eq!(node.key_protection().unwrap(), KeyProtection::Passphrase);

        // Another process with the home open (here: a second node) blocks it.
        let other = Node::start(NodeConfig {
            data_dir: home.data_dir(),
            unlock: Unlock::passphrase(PASSPHRASE),
        })
        .await
        .unwrap();
        let err = change(
            &app,
            Some(PASSPHRASE.into()),
            Some("second passphrase".into()),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, "busy", "{}", err.message);
        other.stop().await;
        drop(other);

        let protection = change(
            &app,
            Some(PASSPHRASE.into()),
            Some("second passphrase".into()),
        )
        .await
        .unwrap();
        assert_eq!(protection, KeyProtection::Passphrase);
        assert_ne!(std::fs::read(&key_file).unwrap(), before);
        assert_eq!(node.whoami().unwrap(), me, "the node runs on");

        // Lock; the old passphrase no longer opens it, the new one does.
        lock(&app).await.unwrap();
        drop(node);
        assert_eq!(
            unlock(&app, PASSPHRASE.into()).await.unwrap_err().code,
            "wrong_passphrase"
        );
        let node = unlock(&app, "second passphrase".into()).await.unwrap();
        assert_eq!(node.whoami().unwrap(), me);
        // A change after lock and unlock in the same process works too.
        change(
            &app,
            Some("second passphrase".into()),
            Some("third passphrase".into()),
        )
        .await
        .unwrap();
        node.stop().await;
    }
}

#[cfg(test)]
mod online_tests {
    use std::time::Duration;

    use super::tests::opened;
    use super::*;
    use crate::commands::test_support::{PASSPHRASE, TempHome};

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
}
