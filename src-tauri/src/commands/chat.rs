//! Commands of the Chat screen: a contact's history with each sent message's
//! delivery state, and sending a message (queued in the outbox; the app's
//! own swarm, or a running `zks daemon`, delivers it).

use tauri::State;
use zks_node::Mode;

use super::AppNode;
use crate::dto::{ChatMessage, SentMessage};
use crate::error::IpcError;

/// The history with a contact, oldest first: chat text and file offers (`kind`).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_history(
    node: State<'_, AppNode>,
    contact: String,
) -> Result<Vec<ChatMessage>, IpcError> {
    history(&node, &contact)
}

/// Seals `text` for `contact` (with the one-time pad if `pad`) and queues it.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_send(
    node: State<'_, AppNode>,
    contact: String,
    text: String,
    pad: bool,
) -> Result<SentMessage, IpcError> {
    send(&node, &contact, &text, pad)
}

/// Plain form of [`chat_history`].
pub fn history(node: &AppNode, contact: &str) -> Result<Vec<ChatMessage>, IpcError> {
    let node = node.get()?;
    node.history(contact)?
        .into_iter()
        .map(|m| {
            let (state, error) = if m.outgoing {
                match node.delivery_state(m.id)? {
                    Some((state, error)) => (Some(state), error),
                    None => (None, None),
                }
            } else {
                (None, None)
            };
            Ok(ChatMessage {
                id: m.id,
                outgoing: m.outgoing,
                mode: m.mode,
                kind: m.kind,
                text: String::from_utf8_lossy(&m.body).into_owned(),
                round: m.round,
                state,
                error,
                created_at: m.created_at,
            })
        })
        .collect()
}

/// Plain form of [`chat_send`]. Empty (or all-blank) text is refused.
pub fn send(node: &AppNode, contact: &str, text: &str, pad: bool) -> Result<SentMessage, IpcError> {
    let node = node.get()?;
    if text.trim().is_empty() {
        return Err(IpcError::new("bad_input", "type a message to send"));
    }
    let mode = if pad { Mode::Pad } else { Mode::Grid };
    let queued = node.send(contact, text.as_bytes(), mode)?;
    Ok(SentMessage {
        message_id: queued.message_id,
        protection: queued.protection.label().to_owned(),
        round: queued.round,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use zks_node::{DataDir, Node, NodeConfig};

    const QUICKNET: &str = include_str!("../../../tests/data/quicknet.jsonl");

    /// A node in a fresh temporary home, removed when dropped.
    struct TestNode {
        app: AppNode,
        home: PathBuf,
    }

    impl Drop for TestNode {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.home);
        }
    }

    impl TestNode {
        fn node(&self) -> &Node {
            self.app.get().unwrap()
        }
    }

    async fn node(label: &str) -> TestNode {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let home = std::env::temp_dir().join(format!(
            "zks-desktop-chat-{}-{}-{label}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let node = Node::start(NodeConfig {
            data_dir: DataDir::at(&home).unwrap(),
        })
        .await
        .unwrap();
        TestNode {
            app: AppNode::Running(node),
            home,
        }
    }

    /// Alice and Bob paired through the node API (Alice knows "Bob").
    async fn paired() -> (TestNode, TestNode) {
        let alice = node("alice").await;
        let bob = node("bob").await;
        let invite = alice.node().create_invite(Some("Alice"), 3600).unwrap();
        let accepted = bob
            .node()
            .accept_invite(invite.text.as_bytes(), None)
            .unwrap();
        alice
            .node()
            .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
            .unwrap();
        (alice, bob)
    }

    #[tokio::test]
    async fn sending_queues_a_message_the_history_shows() {
        let (alice, _bob) = paired().await;
        assert!(history(&alice.app, "Bob").unwrap().is_empty());

        // Without a verified round there is nothing to bind a message to.
        let err = send(&alice.app, "Bob", "hello", false).unwrap_err();
        assert_eq!(err.code, "no_beacon");
        assert!(!err.message.is_empty());
        assert!(history(&alice.app, "Bob").unwrap().is_empty());

        let imported = alice.node().import_beacons("quicknet", QUICKNET).unwrap();
        assert!(imported.added > 0, "{imported:?}");
        let sent = send(&alice.app, "Bob", "hello, Bob ✓", false).unwrap();
        assert_eq!(sent.protection, "Post-quantum encrypted");
        assert!(sent.round.is_some());

        let messages = history(&alice.app, "Bob").unwrap();
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m.id, sent.message_id);
        assert!(m.outgoing);
        assert_eq!(m.mode, "grid");
        assert_eq!(m.kind, "text");
        assert_eq!(m.text, "hello, Bob ✓");
        assert_eq!(m.round, sent.round);
        // Nobody is online to deliver it to: it stays queued.
        assert_eq!(m.state.as_deref(), Some("queued"));
        assert!(m.created_at > 0);

        let json = serde_json::to_value(m).unwrap();
        for key in [
            "id",
            "outgoing",
            "mode",
            "kind",
            "text",
            "round",
            "state",
            "error",
            "created_at",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let json = serde_json::to_value(&sent).unwrap();
        for key in ["message_id", "protection", "round"] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }

    #[tokio::test]
    async fn bad_sends_are_refused() {
        let (alice, _bob) = paired().await;
        alice.node().import_beacons("quicknet", QUICKNET).unwrap();
        for text in ["", "  \n "] {
            assert_eq!(
                send(&alice.app, "Bob", text, false).unwrap_err().code,
                "bad_input"
            );
        }
        // An unknown contact is an error, not a panic.
        assert!(send(&alice.app, "Nobody", "hi", false).is_err());
        assert!(history(&alice.app, "Nobody").is_err());
        // No pad is shared with Bob.
        assert!(send(&alice.app, "Bob", "hi", true).is_err());
        assert!(history(&alice.app, "Bob").unwrap().is_empty());
    }

    #[test]
    fn a_failed_node_answers_with_its_error() {
        let failed = AppNode::Failed(IpcError::new("data_dir", "cannot use data directory /x"));
        assert_eq!(history(&failed, "x").unwrap_err().code, "data_dir");
        assert_eq!(
            send(&failed, "x", "hi", false).unwrap_err().code,
            "data_dir"
        );
    }
}
