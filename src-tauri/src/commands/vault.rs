//! The home's key in the window: the Unlock screen's commands (status,
//! unlock a passphrase home or choose a passphrase for a new one) and the
//! Settings screen's Security section (lock now, change the passphrase).
//! The transitions themselves (and how the app opens the home at start)
//! are in [`crate::state`]; these commands run them and wire what they
//! start to the window ([`crate::wiring`]) and the tray.

use tauri::{AppHandle, State};
use zks_node::{KeyProtection, MIN_PASSPHRASE_CHARS};

use crate::dto::VaultStatus;
use crate::error::IpcError;
use crate::state::{self, AppNode, Needs, NodeSlot};
use crate::tray::{self, Presence};
use crate::wiring;

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
    let started = state::unlock(&node, passphrase).await?;
    wiring::node_started(&app, &started);
    Ok(status(&node))
}

/// Locks a passphrase home: takes the app off the network (withdrawing its
/// `daemon.json`), closes the database and goes back to the Unlock screen.
#[tauri::command(rename_all = "snake_case")]
pub async fn vault_lock(app: AppHandle, node: State<'_, AppNode>) -> Result<VaultStatus, IpcError> {
    state::lock(&node).await?;
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
    state::change(&node, current, new_passphrase).await?;
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

#[cfg(test)]
mod tests {
    use zks_node::{Node, NodeConfig, Unlock, VaultState};

    use super::*;
    use crate::commands::{chat, node as node_cmd, pairing};
    use crate::state::{change, lock, unlock};
    use crate::test_support::{PASSPHRASE, TempHome, opened};

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
