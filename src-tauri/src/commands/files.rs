//! Commands of the Files screen: the transfers with every contact, sending a
//! file (the node hashes it, then queues a sealed offer), answering an offer,
//! pausing, resuming and cancelling, and showing the folder a file is in.
//! Each is a thin call into the node's file-transfer API.

use std::path::{Path, PathBuf};

use tauri::State;
use zks_node::Mode;

use crate::dto::Transfer;
use crate::error::IpcError;
use crate::state::AppNode;

/// Every transfer, newest first.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn transfers_list(node: State<'_, AppNode>) -> Result<Vec<Transfer>, IpcError> {
    list(&node)
}

/// Offers the file at `path` to `contact` (with the one-time pad if `pad`);
/// with `open_at` (Unix seconds) timelocked to the drand round of that
/// time first, so it opens for the contact then ("deliver now, open at…").
/// Hashing (or timelocking) a large file takes a while, so it runs off the
/// async runtime.
#[tauri::command(rename_all = "snake_case")]
pub async fn file_send(
    node: State<'_, AppNode>,
    contact: String,
    path: String,
    pad: bool,
    open_at: Option<u64>,
) -> Result<Transfer, IpcError> {
    send(&node, &contact, &path, pad, open_at).await
}

/// Accepts an offered file, or resumes a paused one.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn file_accept(node: State<'_, AppNode>, id: String) -> Result<Transfer, IpcError> {
    accept(&node, &id)
}

/// Declines an offered file (the sender is told).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn file_decline(node: State<'_, AppNode>, id: String) -> Result<Transfer, IpcError> {
    decline(&node, &id)
}

/// Pauses a file being received.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn file_pause(node: State<'_, AppNode>, id: String) -> Result<Transfer, IpcError> {
    pause(&node, &id)
}

/// Cancels a transfer from either side (the contact is told).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn file_cancel(node: State<'_, AppNode>, id: String) -> Result<Transfer, IpcError> {
    cancel(&node, &id)
}

/// The folder received files land in.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn downloads_dir(node: State<'_, AppNode>) -> Result<String, IpcError> {
    downloads(&node)
}

/// Shows a folder in the system's file manager: the downloads folder, or the
/// folder of a transfer's file (see [`folder_to_open`]).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn open_folder(node: State<'_, AppNode>, path: String) -> Result<(), IpcError> {
    let folder = folder_to_open(&node, &path)?;
    // `open` runs the platform's opener: xdg-open (or gio, …) on Linux,
    // `open` on macOS, the shell's ShellExecute on Windows. A folder opens in
    // the file manager on all three.
    open::that_detached(&folder).map_err(|e| {
        IpcError::new(
            "io",
            format!("cannot open {} in the file manager: {e}", folder.display()),
        )
    })
}

/// Plain form of [`transfers_list`].
pub fn list(node: &AppNode) -> Result<Vec<Transfer>, IpcError> {
    Ok(node
        .get()?
        .transfers()?
        .into_iter()
        .map(Transfer::from)
        .collect())
}

/// Plain form of [`file_send`]. The path must be an absolute path (a dropped
/// file's path always is); the node refuses anything but a regular file.
pub async fn send(
    node: &AppNode,
    contact: &str,
    path: &str,
    pad: bool,
    open_at: Option<u64>,
) -> Result<Transfer, IpcError> {
    let node = node.get()?;
    let contact = contact.trim();
    if contact.is_empty() {
        return Err(IpcError::new("bad_input", "choose who to send the file to"));
    }
    let path = PathBuf::from(path);
    if path.as_os_str().is_empty() || !path.is_absolute() {
        return Err(IpcError::new(
            "bad_input",
            format!(
                "{:?} is not a full path to a file; drop the file onto the window",
                path.display().to_string()
            ),
        ));
    }
    let mode = if pad { Mode::Pad } else { Mode::Grid };
    let contact = contact.to_owned();
    let info = tokio::task::spawn_blocking(move || match open_at {
        Some(at) => node.send_timelocked_file(&contact, &path, mode, at),
        None => node.send_file(&contact, &path, mode),
    })
    .await
    .map_err(|e| IpcError::new("internal", format!("sending the file stopped: {e}")))??;
    Ok(Transfer::from(info))
}

/// Plain form of [`file_accept`].
pub fn accept(node: &AppNode, id: &str) -> Result<Transfer, IpcError> {
    Ok(node.get()?.accept_transfer(id)?.into())
}

/// Plain form of [`file_decline`].
pub fn decline(node: &AppNode, id: &str) -> Result<Transfer, IpcError> {
    Ok(node.get()?.decline_transfer(id)?.into())
}

/// Plain form of [`file_pause`].
pub fn pause(node: &AppNode, id: &str) -> Result<Transfer, IpcError> {
    Ok(node.get()?.pause_transfer(id)?.into())
}

/// Plain form of [`file_cancel`].
pub fn cancel(node: &AppNode, id: &str) -> Result<Transfer, IpcError> {
    Ok(node.get()?.cancel_transfer(id)?.into())
}

/// Plain form of [`downloads_dir`].
pub fn downloads(node: &AppNode) -> Result<String, IpcError> {
    Ok(node.get()?.downloads_dir().to_string_lossy().into_owned())
}

/// The folder [`open_folder`] may show for `path`: the downloads folder
/// (created if it does not exist yet), or the folder holding a transfer's
/// file (`path` may name the file or its folder). Anything else is refused,
/// so the window cannot make the app open arbitrary paths.
pub fn folder_to_open(node: &AppNode, path: &str) -> Result<PathBuf, IpcError> {
    let node = node.get()?;
    let asked = Path::new(path);
    if path.trim().is_empty() || !asked.is_absolute() {
        return Err(IpcError::new(
            "bad_input",
            "only the downloads folder or the folder of a transfer can be opened",
        ));
    }
    let downloads = node.downloads_dir();
    if same_path(asked, &downloads) {
        std::fs::create_dir_all(&downloads).map_err(|e| {
            IpcError::new("io", format!("cannot create {}: {e}", downloads.display()))
        })?;
        return Ok(downloads);
    }
    for t in node.transfers()? {
        let Some(file) = t.path.as_deref().map(Path::new) else {
            continue;
        };
        let Some(folder) = file.parent() else {
            continue;
        };
        if same_path(asked, file) || same_path(asked, folder) {
            if !folder.is_dir() {
                return Err(IpcError::new(
                    "io",
                    format!("the folder {} is gone", folder.display()),
                ));
            }
            return Ok(folder.to_owned());
        }
    }
    Err(IpcError::new(
        "bad_input",
        "only the downloads folder or the folder of a transfer can be opened",
    ))
}

/// Equal paths, or the same existing file or folder under another spelling.
fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use zks_node::{OnlineConfig, TransferState, listen_addresses};

    use crate::test_support::{self, QUICKNET, TestNode};

    /// A file of `len` bytes in `n`'s home (outside its downloads).
    fn source(n: &TestNode, name: &str, len: usize) -> PathBuf {
        let dir = n.home.join("outbox-files");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&path, data).unwrap();
        path
    }

    /// Alice and Bob paired, both holding verified beacons to bind messages to.
    async fn paired() -> (TestNode, TestNode) {
        let (alice, bob) = crate::test_support::paired().await;
        for n in [&alice, &bob] {
            n.node().import_beacons("quicknet", QUICKNET).unwrap();
        }
        (alice, bob)
    }

    /// Both nodes online on this machine, each knowing the other's addresses.
    async fn online(alice: &TestNode, bob: &TestNode) {
        let a = alice
            .node()
            .go_online(OnlineConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                ..OnlineConfig::default()
            })
            .await
            .unwrap();
        let b = bob
            .node()
            .go_online(OnlineConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                ..OnlineConfig::default()
            })
            .await
            .unwrap();
        let (a, b) = (listen_addresses(&a).await, listen_addresses(&b).await);
        assert!(!a.is_empty() && !b.is_empty());
        alice.node().set_contact_addresses("Bob", &b).unwrap();
        bob.node().set_contact_addresses("Alice", &a).unwrap();
    }

    /// Waits (up to 60 s) until `n` lists transfer `id` in `state`.
    async fn wait_state(n: &TestNode, id: &str, state: TransferState) -> Transfer {
        for _ in 0..600 {
            if let Some(t) = list(&n.app).unwrap().into_iter().find(|t| t.info.id == id)
                && t.info.state == state
            {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("transfer {id} never became {state}: {:?}", list(&n.app));
    }

    #[tokio::test]
    async fn sending_a_file_queues_an_offer_the_lists_show() {
        let (alice, _bob) = paired().await;
        assert!(list(&alice.app).unwrap().is_empty());
        let path = source(&alice, "notes.txt", 3000);

        let sent = send(&alice.app, " Bob ", path.to_str().unwrap(), false, None)
            .await
            .unwrap();
        let t = &sent.info;
        assert_eq!(t.id.len(), 32);
        assert!(t.outgoing);
        assert_eq!(t.contact, "Bob");
        assert_eq!(t.name, "notes.txt");
        assert_eq!(t.size, 3000);
        assert_eq!(t.state, TransferState::Offered);
        assert_eq!(t.bytes_done, 0);
        assert_eq!(sent.protection_label, "Post-quantum encrypted");
        assert_eq!(
            PathBuf::from(t.path.as_deref().unwrap()),
            std::fs::canonicalize(&path).unwrap()
        );
        assert_eq!(list(&alice.app).unwrap(), vec![sent.clone()]);

        // The conversation shows the offer as a file, by name.
        let history = super::super::chat::history(&alice.app, "Bob").unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (history[0].kind.as_str(), history[0].text.as_str()),
            ("file", "notes.txt")
        );

        // The window reads the node's fields inline, plus the label.
        let json = serde_json::to_value(&sent).unwrap();
        for key in [
            "id",
            "contact",
            "outgoing",
            "name",
            "size",
            "blake3",
            "protection",
            "protection_label",
            "state",
            "error",
            "bytes_done",
            "bytes_sent",
            "path",
            "created_at",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["protection"], "post_quantum");
        assert_eq!(json["state"], "offered");

        // Cancelling the offer tells Bob (queued) and ends it here.
        let cancelled = cancel(&alice.app, &t.id).unwrap();
        assert_eq!(cancelled.info.state, TransferState::Cancelled);
        assert_eq!(cancelled.info.error.as_deref(), Some("cancelled by you"));
        // Only an open transfer can be cancelled.
        assert_eq!(cancel(&alice.app, &t.id).unwrap_err().code, "bad_input");
        // A sender can neither accept, decline nor pause.
        assert_eq!(accept(&alice.app, &t.id).unwrap_err().code, "bad_input");
        assert_eq!(decline(&alice.app, &t.id).unwrap_err().code, "bad_input");
        assert_eq!(pause(&alice.app, &t.id).unwrap_err().code, "bad_input");
    }

    #[tokio::test]
    async fn bad_sends_are_refused_and_change_nothing() {
        let (alice, _bob) = paired().await;
        let file = source(&alice, "a.bin", 10);
        let file = file.to_str().unwrap();
        let folder = alice.home.to_str().unwrap();

        // A folder, a relative path, nothing, a file that is not there.
        for (contact, path, code) in [
            ("Bob", folder, "bad_input"),
            ("Bob", "a.bin", "bad_input"),
            ("Bob", "", "bad_input"),
            ("Bob", "/nonexistent/zks/file.bin", "io"),
            ("", file, "bad_input"),
            ("  ", file, "bad_input"),
        ] {
            let err = send(&alice.app, contact, path, false, None)
                .await
                .unwrap_err();
            assert_eq!(err.code, code, "{contact:?} {path:?}: {err:?}");
            assert!(!err.message.is_empty());
        }
        // An unknown contact, and the pad with a contact who shares none.
        assert!(send(&alice.app, "Nobody", file, false, None).await.is_err());
        let err = send(&alice.app, "Bob", file, true, None).await.unwrap_err();
        assert_eq!(err.code, "bad_input", "{err:?}");
        assert!(err.message.contains("pad"), "{}", err.message);

        assert!(list(&alice.app).unwrap().is_empty());
        assert!(
            super::super::chat::history(&alice.app, "Bob")
                .unwrap()
                .is_empty()
        );
    }

    /// "Deliver now, open at…": the file is timelocked (quicknet here) and
    /// offered; ours says when it opens for Bob. A time that passed is
    /// refused and changes nothing.
    #[tokio::test]
    async fn a_file_sent_to_open_later_says_when_it_opens() {
        let (alice, _bob) = paired().await;
        let path = source(&alice, "gift.txt", 2000);
        let path = path.to_str().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let err = send(&alice.app, "Bob", path, false, Some(now - 10))
            .await
            .unwrap_err();
        assert_eq!(err.code, "bad_input", "{err:?}");
        assert!(list(&alice.app).unwrap().is_empty());

        let sent = send(&alice.app, "Bob", path, false, Some(now + 3600))
            .await
            .unwrap();
        let t = &sent.info;
        assert_eq!(
            (t.name.as_str(), t.outgoing, t.locked),
            ("gift.txt", true, false)
        );
        let opens_at = t.opens_at.unwrap();
        assert!(opens_at >= (now + 3600) as i64 && opens_at <= (now + 3603) as i64);
        let round = t.opens_round.unwrap();
        let quicknet = zks_beacon::ChainInfo::quicknet();
        assert_eq!(quicknet.time_of_round(round), opens_at as u64);
        assert!(quicknet.time_of_round(round - 1) < now + 3600);
        // What travels is the age file, a little larger than the file.
        assert!(t.size > 2000 && t.size < 2000 + 2048, "{t:?}");
        let json = serde_json::to_value(&sent).unwrap();
        assert_eq!(json["opens_at"], opens_at);
        assert_eq!(json["opens_round"], round);
        assert_eq!(json["locked"], false);
        // An ordinary file has none of it.
        let plain = send(&alice.app, "Bob", path, false, None).await.unwrap();
        assert_eq!(
            (
                plain.info.opens_at,
                plain.info.opens_round,
                plain.info.locked
            ),
            (None, None, false)
        );
    }

    #[tokio::test]
    async fn bad_ids_are_refused_and_change_nothing() {
        let (alice, _bob) = paired().await;
        let sent = send(
            &alice.app,
            "Bob",
            source(&alice, "x.bin", 5).to_str().unwrap(),
            false,
            None,
        )
        .await
        .unwrap();
        let before = list(&alice.app).unwrap();
        let unknown = if sent.info.id.starts_with("0000") {
            "ffff"
        } else {
            "0000"
        };
        for id in ["", "   ", "xyz", "12", "zzzzzzzz", "../../etc", unknown] {
            for (what, result) in [
                ("accept", accept(&alice.app, id)),
                ("decline", decline(&alice.app, id)),
                ("pause", pause(&alice.app, id)),
                ("cancel", cancel(&alice.app, id)),
            ] {
                let err = result.unwrap_err();
                assert_eq!(err.code, "bad_input", "{what} {id:?}: {err:?}");
                assert!(!err.message.is_empty());
            }
        }
        assert_eq!(list(&alice.app).unwrap(), before);
    }

    #[tokio::test]
    async fn only_the_downloads_folder_and_transfer_folders_open() {
        let (alice, _bob) = paired().await;
        let downloads_dir = downloads(&alice.app).unwrap();
        // A home given explicitly keeps its downloads inside it.
        assert_eq!(PathBuf::from(&downloads_dir), alice.home.join("downloads"));
        assert!(!Path::new(&downloads_dir).exists());
        // The downloads folder is created to be shown.
        assert_eq!(
            folder_to_open(&alice.app, &downloads_dir).unwrap(),
            PathBuf::from(&downloads_dir)
        );
        assert!(Path::new(&downloads_dir).is_dir());

        // The folder of a file we sent, by the file or by the folder.
        let path = source(&alice, "shown.txt", 4);
        send(&alice.app, "Bob", path.to_str().unwrap(), false, None)
            .await
            .unwrap();
        let folder = std::fs::canonicalize(path.parent().unwrap()).unwrap();
        assert_eq!(
            folder_to_open(&alice.app, path.to_str().unwrap()).unwrap(),
            folder
        );
        assert_eq!(
            folder_to_open(&alice.app, folder.to_str().unwrap()).unwrap(),
            folder
        );

        // Anything else is refused.
        for other in [
            "",
            "relative/dir",
            "/",
            "/etc",
            alice.home.to_str().unwrap(),
        ] {
            let err = folder_to_open(&alice.app, other).unwrap_err();
            assert_eq!(err.code, "bad_input", "{other:?}");
        }
    }

    #[test]
    fn a_failed_node_answers_with_its_error() {
        let failed = test_support::failed();
        assert_eq!(list(&failed).unwrap_err().code, "data_dir");
        assert_eq!(accept(&failed, "abcd").unwrap_err().code, "data_dir");
        assert_eq!(decline(&failed, "abcd").unwrap_err().code, "data_dir");
        assert_eq!(pause(&failed, "abcd").unwrap_err().code, "data_dir");
        assert_eq!(cancel(&failed, "abcd").unwrap_err().code, "data_dir");
        assert_eq!(downloads(&failed).unwrap_err().code, "data_dir");
        assert_eq!(
            folder_to_open(&failed, "/tmp").unwrap_err().code,
            "data_dir"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt
            .block_on(send(&failed, "Bob", "/tmp/x", false, None))
            .unwrap_err();
        assert_eq!(err.code, "data_dir");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_offer_is_accepted_or_declined_through_the_commands() {
        let (alice, bob) = paired().await;
        online(&alice, &bob).await;
        let mut events = bob.node().subscribe();

        let path = source(&alice, "photo.jpg", 3 * 1024 * 1024 + 7);
        let sent = send(&alice.app, "Bob", path.to_str().unwrap(), false, None)
            .await
            .unwrap();
        let id = sent.info.id.clone();

        // Bob sees the offer, from Alice, not yet moving.
        let offer = wait_state(&bob, &id, TransferState::Offered).await;
        assert!(!offer.info.outgoing);
        assert_eq!(offer.info.contact, "Alice");
        assert_eq!(offer.info.name, "photo.jpg");
        assert_eq!(offer.info.size, 3 * 1024 * 1024 + 7);
        assert_eq!(offer.info.path, None);
        assert_eq!(offer.protection_label, "Post-quantum encrypted");
        // A file still offered cannot be paused.
        assert_eq!(pause(&bob.app, &id).unwrap_err().code, "bad_input");

        let accepted = accept(&bob.app, &id).unwrap();
        // The receiver may already have started by the time the answer is read.
        assert!(
            [TransferState::Accepted, TransferState::Transferring].contains(&accepted.info.state),
            "{accepted:?}"
        );
        let done = wait_state(&bob, &id, TransferState::Completed).await;
        let placed = PathBuf::from(done.info.path.as_deref().unwrap());
        assert_eq!(placed.parent().unwrap(), bob.node().downloads_dir());
        assert_eq!(
            std::fs::read(&placed).unwrap(),
            std::fs::read(&path).unwrap()
        );
        assert_eq!(done.info.bytes_done, done.info.size);
        // Its folder can be shown.
        assert_eq!(
            folder_to_open(&bob.app, placed.to_str().unwrap()).unwrap(),
            bob.node().downloads_dir()
        );
        wait_state(&alice, &id, TransferState::Completed).await;

        // The window heard the offer, progress and the end.
        let mut kinds = Vec::new();
        while let Ok(e) = events.try_recv() {
            let json = serde_json::to_value(&e).unwrap();
            kinds.push(json["kind"].as_str().unwrap().to_owned());
        }
        for kind in ["transfer_offered", "transfer_progress", "transfer_finished"] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
        }

        // A second offer, declined: Alice learns it.
        let path = source(&alice, "unwanted.bin", 1000);
        let sent = send(&alice.app, "Bob", path.to_str().unwrap(), false, None)
            .await
            .unwrap();
        wait_state(&bob, &sent.info.id, TransferState::Offered).await;
        let declined = decline(&bob.app, &sent.info.id).unwrap();
        assert_eq!(declined.info.state, TransferState::Declined);
        // Declined is final.
        assert_eq!(
            accept(&bob.app, &sent.info.id).unwrap_err().code,
            "bad_input"
        );
        wait_state(&alice, &sent.info.id, TransferState::Declined).await;

        for n in [&alice, &bob] {
            n.node().stop().await;
        }
    }
}
