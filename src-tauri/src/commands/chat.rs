//! Commands of the Chat screen: a contact's history with each sent message's
//! delivery state, sending a message (queued in the outbox; the app's own
//! swarm, or a running `zks daemon`, delivers it), importing the one-time
//! pad shared with the contact, the unread counts, and search over the
//! history.
//!
//! Unread counts compare each conversation with the newest message the
//! window marked as read there, kept by the app in `<home>/desktop-state.json`
//! ([`crate::local_state`]); the node has no notion of "read".

use tauri::State;
use zks_node::{Mode, Node};

use crate::dto::{ChatMessage, PadImported, SearchHit, SentMessage, UnreadCounts};
use crate::error::IpcError;
use crate::local_state::{self, LocalState};
use crate::state::AppNode;

/// The history with a contact, oldest first: chat text and file offers (`kind`).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_history(
    node: State<'_, AppNode>,
    contact: String,
) -> Result<Vec<ChatMessage>, IpcError> {
    history(&node, &contact)
}

/// Seals `text` for `contact` (with the one-time pad if `pad`) and queues
/// it; with `reply_to`, as a reply quoting that message.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_send(
    node: State<'_, AppNode>,
    contact: String,
    text: String,
    pad: bool,
    reply_to: Option<i64>,
    open_at: Option<u64>,
) -> Result<SentMessage, IpcError> {
    match open_at {
        Some(_) if reply_to.is_some() => Err(IpcError::new(
            "bad_input",
            "a message that opens later cannot quote another (yet); send it without the reply",
        )),
        Some(at) => send_timelocked(&node, &contact, &text, pad, at),
        None => send_reply(&node, &contact, &text, pad, reply_to),
    }
}

/// Sets our reaction to a message (`emoji` `null` removes it) and tells
/// the contact.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_react(
    node: State<'_, AppNode>,
    message_id: i64,
    emoji: Option<String>,
) -> Result<SentMessage, IpcError> {
    react(&node, message_id, emoji.as_deref())
}

/// Replaces the text of our message (sent less than 24 h ago), here and at
/// the contact's.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_edit(
    node: State<'_, AppNode>,
    message_id: i64,
    text: String,
) -> Result<SentMessage, IpcError> {
    edit(&node, message_id, &text)
}

/// Deletes a message from this history, or (`for_everyone`) our own
/// message sent less than 24 h ago at the contact's too; returns the
/// control message sent then.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_delete(
    node: State<'_, AppNode>,
    message_id: i64,
    for_everyone: bool,
) -> Result<Option<SentMessage>, IpcError> {
    delete(&node, message_id, for_everyone)
}

/// Sets the disappearing-messages timer with `contact` (seconds, 0 = off)
/// on both sides.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_set_timer(
    node: State<'_, AppNode>,
    contact: String,
    secs: u32,
) -> Result<SentMessage, IpcError> {
    set_timer(&node, &contact, secs)
}

/// Imports the one-time pad file at `path` (a full path) for `contact`;
/// `replace` replaces a pad that still has bytes left; `destroy_source`
/// then overwrites the file with zeros and deletes it.
#[tauri::command(rename_all = "snake_case")]
pub async fn pad_import(
    node: State<'_, AppNode>,
    contact: String,
    path: String,
    replace: bool,
    destroy_source: bool,
) -> Result<PadImported, IpcError> {
    import_pad(&node, &contact, &path, replace, destroy_source).await
}

/// Unread messages per contact (every contact, zero included).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn chat_unread(node: State<'_, AppNode>) -> Result<UnreadCounts, IpcError> {
    unread(&node)
}

/// Marks the conversation with `contact` read up to message `up_to` (the
/// newest one the window shows); returns the unread counts afterwards.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_mark_read(
    node: State<'_, AppNode>,
    contact: String,
    up_to: i64,
) -> Result<UnreadCounts, IpcError> {
    mark_read(&node, &contact, up_to)
}

/// Hits shown for one search in the window.
pub const SEARCH_LIMIT: usize = 100;

/// The messages holding every word of `text` (the last one may be half
/// typed), newest first, with `contact` only or with everyone.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn chat_search(
    node: State<'_, AppNode>,
    text: String,
    contact: Option<String>,
) -> Result<Vec<SearchHit>, IpcError> {
    search(&node, &text, contact.as_deref())
}

/// Plain form of [`chat_search`]: at most [`SEARCH_LIMIT`] hits; text with
/// no word and an unknown contact are `bad_input`.
pub fn search(
    node: &AppNode,
    text: &str,
    contact: Option<&str>,
) -> Result<Vec<SearchHit>, IpcError> {
    Ok(node.get()?.search(text, contact, SEARCH_LIMIT)?)
}

/// Plain form of [`chat_history`].
pub fn history(node: &AppNode, contact: &str) -> Result<Vec<ChatMessage>, IpcError> {
    let node = node.get()?;
    node.conversation(contact)?
        .into_iter()
        .map(|entry| {
            let m = entry.message;
            let (state, error) = if m.outgoing {
                match node.delivery_state(m.id)? {
                    Some((state, error)) => (Some(state), error),
                    None => (None, None),
                }
            } else {
                (None, None)
            };
            let sealed_after = node.sealed_after(&m);
            Ok(ChatMessage {
                id: m.id,
                sealed_after,
                outgoing: m.outgoing,
                mode: m.mode,
                kind: m.kind,
                text: String::from_utf8_lossy(&m.body).into_owned(),
                round: m.round,
                state,
                error,
                created_at: m.created_at,
                reply_to: entry.quote,
                reactions: entry.reactions,
                edited_at: m.edited_at,
                deleted: m.deleted_at.is_some(),
                expires_at: m.expires_at,
                opens_at: m.opens_at,
                opens_round: m.opens_round,
                locked: m.locked,
            })
        })
        .collect()
}

/// Plain form of [`chat_send`] without a quote.
pub fn send(node: &AppNode, contact: &str, text: &str, pad: bool) -> Result<SentMessage, IpcError> {
    send_reply(node, contact, text, pad, None)
}

/// Plain form of [`chat_send`]. Empty (or all-blank) text is refused.
pub fn send_reply(
    node: &AppNode,
    contact: &str,
    text: &str,
    pad: bool,
    reply_to: Option<i64>,
) -> Result<SentMessage, IpcError> {
    let node = node.get()?;
    if text.trim().is_empty() {
        return Err(IpcError::new("bad_input", "type a message to send"));
    }
    let mode = if pad { Mode::Pad } else { Mode::Grid };
    let queued = match reply_to {
        Some(id) => node.send_reply(contact, text.as_bytes(), mode, id)?,
        None => node.send(contact, text.as_bytes(), mode)?,
    };
    Ok(SentMessage::from(&queued))
}

/// Plain form of [`chat_send`] with an opening time: the text is
/// timelocked to the drand round of Unix time `open_at`.
pub fn send_timelocked(
    node: &AppNode,
    contact: &str,
    text: &str,
    pad: bool,
    open_at: u64,
) -> Result<SentMessage, IpcError> {
    let node = node.get()?;
    if text.trim().is_empty() {
        return Err(IpcError::new("bad_input", "type a message to send"));
    }
    let mode = if pad { Mode::Pad } else { Mode::Grid };
    let queued = node.send_timelocked(contact, text.as_bytes(), mode, open_at)?;
    Ok(SentMessage::from(&queued))
}

/// Plain form of [`chat_react`].
pub fn react(
    node: &AppNode,
    message_id: i64,
    emoji: Option<&str>,
) -> Result<SentMessage, IpcError> {
    Ok(SentMessage::from(&node.get()?.react(message_id, emoji)?))
}

/// Plain form of [`chat_edit`]. Empty (or all-blank) text is refused.
pub fn edit(node: &AppNode, message_id: i64, text: &str) -> Result<SentMessage, IpcError> {
    let node = node.get()?;
    if text.trim().is_empty() {
        return Err(IpcError::new(
            "bad_input",
            "the new text is empty (delete the message instead)",
        ));
    }
    Ok(SentMessage::from(&node.edit(message_id, text.as_bytes())?))
}

/// Plain form of [`chat_delete`].
pub fn delete(
    node: &AppNode,
    message_id: i64,
    for_everyone: bool,
) -> Result<Option<SentMessage>, IpcError> {
    let sent = node.get()?.delete_message(message_id, for_everyone)?;
    Ok(sent.as_ref().map(SentMessage::from))
}

/// Plain form of [`chat_set_timer`]; the change travels under the grid
/// pad.
pub fn set_timer(node: &AppNode, contact: &str, secs: u32) -> Result<SentMessage, IpcError> {
    Ok(SentMessage::from(&node.get()?.set_timer(
        contact,
        secs,
        Mode::Grid,
    )?))
}

/// Plain form of [`pad_import`]. The file is destroyed only after the
/// import succeeded; a refused import leaves it (and the home) untouched.
/// Copying a large pad takes a while, so it runs off the async runtime.
pub async fn import_pad(
    node: &AppNode,
    contact: &str,
    path: &str,
    replace: bool,
    destroy_source: bool,
) -> Result<PadImported, IpcError> {
    let node = node.get()?;
    let path = path.trim();
    if path.is_empty() {
        return Err(IpcError::new("bad_input", "give the pad file's full path"));
    }
    let file = std::path::PathBuf::from(path);
    if !file.is_absolute() {
        return Err(IpcError::new(
            "bad_input",
            format!("{path:?} is not a full path (drop the file here, or give its whole path)"),
        ));
    }
    let contact = contact.to_owned();
    tokio::task::spawn_blocking(move || {
        let pad = node.import_pad(&contact, &file, replace)?;
        if destroy_source {
            zks_node::destroy_file(&file)?;
        }
        Ok(PadImported {
            pad,
            destroyed: destroy_source,
        })
    })
    .await
    .map_err(|e| IpcError::new("internal", format!("importing the pad stopped: {e}")))?
}

/// Plain form of [`chat_unread`].
pub fn unread(node: &AppNode) -> Result<UnreadCounts, IpcError> {
    with_marks(&node.get()?, |_, _| Ok(()))
}

/// Plain form of [`chat_mark_read`]. A mark never moves back, and never
/// past the newest message there is (so it cannot hide messages to come).
pub fn mark_read(node: &AppNode, contact: &str, up_to: i64) -> Result<UnreadCounts, IpcError> {
    let node = node.get()?;
    if up_to < 0 {
        return Err(IpcError::new(
            "bad_input",
            format!("{up_to} is not a message id"),
        ));
    }
    with_marks(&node, |state, conversations| {
        let Some(c) = conversations.iter().find(|c| c.name == contact) else {
            return Err(IpcError::new(
                "bad_input",
                format!("there is no contact named {contact:?}"),
            ));
        };
        let up_to = up_to.min(c.newest());
        let mark = state.read.entry(c.peer_id.clone()).or_insert(0);
        *mark = (*mark).max(up_to);
        Ok(())
    })
}

/// How many messages of a conversation are unread: incoming chat messages
/// and file offers (`kind` `text` or `file`) with an id above `read_up_to`.
/// Items are `(id, outgoing, kind)`.
pub fn count_unread<'a>(
    messages: impl IntoIterator<Item = (i64, bool, &'a str)>,
    read_up_to: i64,
) -> u64 {
    let unread = messages
        .into_iter()
        .filter(|&(id, outgoing, kind)| {
            !outgoing && id > read_up_to && (kind == "text" || kind == "file")
        })
        .count();
    u64::try_from(unread).unwrap_or(u64::MAX)
}

/// One contact's conversation as the unread counts need it.
struct Conversation {
    name: String,
    peer_id: String,
    /// `(id, outgoing, kind)`, oldest first.
    messages: Vec<(i64, bool, String)>,
}

impl Conversation {
    fn newest(&self) -> i64 {
        self.messages.last().map_or(0, |m| m.0)
    }
}

/// Reads every conversation, lets `change` update the read marks, stores
/// them and counts what is unread. The first time a home is used by this
/// version of the app (no file yet), everything already there counts as
/// read, so an upgrade does not flag a whole history as new.
fn with_marks(
    node: &Node,
    change: impl FnOnce(&mut LocalState, &[Conversation]) -> Result<(), IpcError>,
) -> Result<UnreadCounts, IpcError> {
    let mut conversations = Vec::new();
    for contact in node.contacts()? {
        let messages = node
            .history(&contact.name)?
            .into_iter()
            .map(|m| (m.id, m.outgoing, m.kind))
            .collect();
        conversations.push(Conversation {
            name: contact.name,
            peer_id: contact.peer_id,
            messages,
        });
    }
    let path = local_state::path_in(node.data_dir().path());
    local_state::update(&path, |state, existed| {
        if !existed {
            for c in &conversations {
                state.read.insert(c.peer_id.clone(), c.newest());
            }
        }
        change(state, &conversations)?;
        Ok(conversations
            .iter()
            .map(|c| {
                let read = state.read.get(&c.peer_id).copied().unwrap_or(0);
                let messages = c.messages.iter().map(|m| (m.0, m.1, m.2.as_str()));
                (c.name.clone(), count_unread(messages, read))
            })
            .collect())
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, QUICKNET, TestNode, paired};
    use zks_node::{DataDir, NodeConfig};

    #[tokio::test]
    async fn a_pad_is_imported_once_and_its_file_destroyed_on_request() {
        let (alice, _bob) = paired().await;
        let dir = crate::test_support::TempHome::new("pads");
        std::fs::create_dir_all(dir.path()).unwrap();
        let pad = dir.path().join("pad.bin");
        zks_node::create_pad_file(&pad, 8192).unwrap();
        let path = pad.to_str().unwrap();
        for (bad, code) in [
            ("", "bad_input"),
            ("pad.bin", "bad_input"),
            ("/no/such/pad", "io"),
        ] {
            let err = import_pad(&alice.app, "Bob", bad, false, true)
                .await
                .unwrap_err();
            assert_eq!(err.code, code, "{bad:?}: {}", err.message);
        }
        let err = import_pad(&alice.app, "Nobody", path, false, true)
            .await
            .unwrap_err();
        assert!(err.message.contains("Nobody"), "{}", err.message);
        assert!(pad.exists(), "a refused import leaves the file");
        let copy = std::fs::read(&pad).unwrap();
        let imported = import_pad(&alice.app, "Bob", path, false, false)
            .await
            .unwrap();
        assert!(!imported.destroyed && pad.exists());
        assert_eq!(imported.pad.size, 8192);
        // The same pad again is refused, and the file stays.
        let again = import_pad(&alice.app, "Bob", path, true, true)
            .await
            .unwrap_err();
        assert_eq!(again.code, "pad", "{}", again.message);
        assert_eq!(std::fs::read(&pad).unwrap(), copy);
        // A new pad replaces it, and its file is wiped.
        let second = dir.path().join("second.bin");
        zks_node::create_pad_file(&second, 8192).unwrap();
        let refused = import_pad(&alice.app, "Bob", second.to_str().unwrap(), false, true).await;
        assert!(refused.unwrap_err().message.contains("--replace"));
        assert!(second.exists());
        let replaced = import_pad(&alice.app, "Bob", second.to_str().unwrap(), true, true)
            .await
            .unwrap();
        assert!(replaced.destroyed && !second.exists());
        assert_ne!(replaced.pad.pad_id, imported.pad.pad_id);
    }

    #[tokio::test]
    async fn sending_queues_a_message_the_history_shows() {
        let (alice, _bob) = paired().await;
        assert!(history(&alice.app, "Bob").unwrap().is_empty());

        // A fresh home with no beacon at all still sends: the message binds
        // to the quicknet round shipped with the release.
        let sent = send(&alice.app, "Bob", "hello, Bob ✓", false).unwrap();
        assert_eq!(sent.protection, "Post-quantum encrypted");
        assert_eq!(sent.round, Some(30_663_002));

        let messages = history(&alice.app, "Bob").unwrap();
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m.id, sent.message_id);
        assert!(m.outgoing);
        assert_eq!(m.mode, "grid");
        assert_eq!(m.kind, "text");
        assert_eq!(m.text, "hello, Bob ✓");
        assert_eq!(m.round, sent.round);
        // Its age: round 30663002 of quicknet was due 2026-07-23 07:39:30 UTC.
        assert_eq!(m.sealed_after, Some(1_784_792_370));
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
            "sealed_after",
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

    #[tokio::test]
    async fn search_finds_messages_and_refuses_bad_input() {
        let (alice, bob) = paired().await;
        for n in [&alice, &bob] {
            n.node().import_beacons("quicknet", QUICKNET).unwrap();
        }
        let sent = send(&alice.app, "Bob", "see you at the harbour", false).unwrap();
        let got = deliver(&bob, &alice, "Harbour at eight then");
        let hits = search(&alice.app, "harb", None).unwrap();
        assert_eq!(
            hits.iter().map(|h| h.message_id).collect::<Vec<_>>(),
            vec![got, sent.message_id]
        );
        assert_eq!(hits[0].contact, "Bob");
        assert!(!hits[0].outgoing && hits[1].outgoing);
        assert_eq!(hits[0].snippet, "«Harbour» at eight then");
        assert_eq!(search(&alice.app, "eight", Some("Bob")).unwrap().len(), 1);
        assert!(search(&alice.app, "lunch", None).unwrap().is_empty());
        let json = serde_json::to_value(&hits[0]).unwrap();
        for key in [
            "message_id",
            "contact",
            "outgoing",
            "kind",
            "created_at",
            "snippet",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        for (text, contact) in [
            ("", None),
            ("  ", None),
            ("*", None),
            ("harbour", Some("Nobody")),
        ] {
            let err = search(&alice.app, text, contact).unwrap_err();
            assert_eq!(err.code, "bad_input", "{text:?}: {}", err.message);
        }
        assert_eq!(
            search(&test_support::failed(), "x", None).unwrap_err().code,
            "data_dir"
        );
    }

    #[test]
    fn only_incoming_text_and_file_messages_after_the_mark_are_unread() {
        let messages = [
            (1, false, "text"),
            (2, true, "text"),
            (3, false, "file"),
            (4, false, "control"),
            (5, true, "file"),
            (6, false, "text"),
        ];
        assert_eq!(count_unread(messages, 0), 3);
        assert_eq!(count_unread(messages, 1), 2);
        assert_eq!(count_unread(messages, 3), 1);
        assert_eq!(count_unread(messages, 6), 0);
        assert_eq!(count_unread(messages, 99), 0);
        assert_eq!(count_unread([], 0), 0);
    }

    /// Bob seals `text` for Alice and Alice opens it, as if it had arrived.
    fn deliver(from: &TestNode, to: &TestNode, text: &str) -> i64 {
        let sealed = from
            .node()
            .seal("Alice", text.as_bytes(), Mode::Grid)
            .unwrap();
        to.node().open(&sealed.envelope).unwrap();
        history(&to.app, "Bob").unwrap().last().unwrap().id
    }

    #[tokio::test]
    async fn unread_counts_follow_marks_and_survive_a_restart() {
        let (alice, bob) = paired().await;
        for n in [&alice, &bob] {
            n.node().import_beacons("quicknet", QUICKNET).unwrap();
        }
        let state_file = alice.home.join(crate::local_state::FILE_NAME);
        assert!(!state_file.exists());
        let counts = unread(&alice.app).unwrap();
        assert_eq!(counts, UnreadCounts::from([("Bob".to_owned(), 0)]));
        assert!(state_file.is_file());

        deliver(&bob, &alice, "one");
        let second = deliver(&bob, &alice, "two");
        // Our own messages are never unread.
        send(&alice.app, "Bob", "mine", false).unwrap();
        assert_eq!(unread(&alice.app).unwrap()["Bob"], 2);

        // Read up to the second message: nothing left.
        let counts = mark_read(&alice.app, "Bob", second).unwrap();
        assert_eq!(counts["Bob"], 0);
        // A mark never moves back.
        assert_eq!(mark_read(&alice.app, "Bob", 1).unwrap()["Bob"], 0);
        // Nor past the newest message: a later message is still unread.
        let newest = history(&alice.app, "Bob").unwrap().last().unwrap().id;
        mark_read(&alice.app, "Bob", newest + 1000).unwrap();
        deliver(&bob, &alice, "three");
        assert_eq!(unread(&alice.app).unwrap()["Bob"], 1);

        // Bad marks are refused and change nothing.
        assert_eq!(
            mark_read(&alice.app, "Nobody", 1).unwrap_err().code,
            "bad_input"
        );
        assert_eq!(
            mark_read(&alice.app, "Bob", -1).unwrap_err().code,
            "bad_input"
        );
        assert_eq!(unread(&alice.app).unwrap()["Bob"], 1);

        // After a restart on the same home the count is the same.
        alice.node().stop().await;
        let again = AppNode::running(
            Node::start(NodeConfig {
                data_dir: DataDir::at(&alice.home).unwrap(),
                unlock: zks_node::Unlock::passphrase("test passphrase"),
            })
            .await
            .unwrap(),
        );
        assert_eq!(unread(&again).unwrap()["Bob"], 1);

        // A home without the file (an upgrade) starts with everything read.
        std::fs::remove_file(&state_file).unwrap();
        assert_eq!(unread(&again).unwrap()["Bob"], 0);
        again.get().unwrap().stop().await;
    }

    #[test]
    fn a_failed_node_answers_with_its_error() {
        let failed = test_support::failed();
        assert_eq!(unread(&failed).unwrap_err().code, "data_dir");
        assert_eq!(mark_read(&failed, "x", 1).unwrap_err().code, "data_dir");
        assert_eq!(history(&failed, "x").unwrap_err().code, "data_dir");
        assert_eq!(
            send(&failed, "x", "hi", false).unwrap_err().code,
            "data_dir"
        );
    }
}
