//! Replies, reactions, edits, deletes for everyone and the
//! disappearing-messages timer (decision 0066): each a sealed control
//! message ([`crate::wire::chat`]) queued and delivered in order with the
//! chat, in either mode, and applied on both sides in the transaction that
//! records it.
//!
//! Rules, checked by the sender and again by the receiver:
//! - A reaction may go to any message of the conversation, one per side,
//!   changeable and removable; it travels in the mode of its message.
//! - Only a message's sender may edit it or delete it for everyone, only a
//!   chat text, only within [`EDIT_WINDOW_SECS`] of sending it, and in the
//!   mode of the message (a perfect-secrecy message is never edited over
//!   the grid pad).
//! - A control about a message the receiver no longer has (it disappeared
//!   or was deleted there) changes nothing and is acknowledged; one about a
//!   message of the receiver's own (an edit of someone else's message) is
//!   refused.
//! - Timer changes are ordered by the changer's clock (`set_at`), ties
//!   going to the initiator of the pairing, so both sides end with the
//!   same timer; the contact record keeps who made the last change, when.

use serde::Serialize;
use zks_pad::{Mode, PadBook};
use zks_store::{ContactRecord, ConversationChange, MessageRecord, Store};

use crate::clock::now_secs;
use crate::content::{Incoming, Outgoing};
use crate::delivery::QueuedMessage;
use crate::wire::chat::{self, ChatControl, EDIT_WINDOW_SECS, Ref};
use crate::{Node, NodeError, NodeEvent};

/// Longest excerpt of a quoted message, in characters.
const EXCERPT_CHARS: usize = 120;

/// The message a reply quotes, as the conversation shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Quote {
    /// Its id here; `null` when it is not here (it disappeared or was
    /// deleted on this device).
    pub message_id: Option<i64>,
    /// Sent by us.
    pub outgoing: bool,
    /// The start of its text (a file offer: the file name); empty when
    /// deleted or not here.
    pub excerpt: String,
    /// It was deleted for everyone.
    pub deleted: bool,
}

/// One side's reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessageReaction {
    /// The emoji.
    pub emoji: String,
    /// Ours (else the contact's).
    pub mine: bool,
}

/// A message of a conversation with what other messages did to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEntry {
    /// The message as stored.
    pub message: MessageRecord,
    /// The message it replies to.
    pub quote: Option<Quote>,
    /// The reactions to it (ours and the contact's).
    pub reactions: Vec<MessageReaction>,
}

/// Slack on the receiver's side of the edit window: the sender's clock
/// and its count of seconds are its own.
const EDIT_WINDOW_SLACK_SECS: u64 = 300;

impl Node {
    /// Sends `text` to `contact` as a reply quoting message `reply_to` of
    /// the same conversation.
    pub fn send_reply(
        &self,
        contact: &str,
        text: &[u8],
        mode: Mode,
        reply_to: i64,
    ) -> Result<QueuedMessage, NodeError> {
        Outgoing::text(text)?;
        let (record, target) = self.target(reply_to)?;
        if record.name != contact {
            return Err(NodeError::BadInput(format!(
                "message {reply_to} is in the conversation with {}, not {contact}",
                record.name
            )));
        }
        if target.deleted_at.is_some() {
            return Err(NodeError::BadInput(format!(
                "message {reply_to} was deleted; there is nothing to quote"
            )));
        }
        let control = ChatControl::Reply {
            to: reference(&target)?,
            text: text.to_vec(),
        };
        self.queue_control(&record.name, mode, |_, _| {
            Ok(Outgoing::control(&control, None))
        })
    }

    /// Sets our reaction to message `message_id` (`None` removes it) and
    /// tells the contact.
    pub fn react(&self, message_id: i64, emoji: Option<&str>) -> Result<QueuedMessage, NodeError> {
        let emoji = emoji
            .map(|e| chat::check_emoji(e.trim()))
            .transpose()
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let (record, target) = self.target(message_id)?;
        if target.deleted_at.is_some() {
            return Err(NodeError::BadInput(format!(
                "message {message_id} was deleted"
            )));
        }
        let control = ChatControl::React {
            to: reference(&target)?,
            emoji: emoji.clone(),
        };
        let change = ConversationChange::React {
            message_id,
            outgoing: true,
            emoji,
        };
        self.queue_control(&record.name, mode_of(&target)?, |_, _| {
            Ok(Outgoing::control(&control, Some(change)))
        })
    }

    /// Replaces the text of our message `message_id` (sent less than 24 h
    /// ago) here and at the contact's.
    pub fn edit(&self, message_id: i64, text: &[u8]) -> Result<QueuedMessage, NodeError> {
        Outgoing::text(text)?;
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(NodeError::BadInput("the new text is empty".into()));
        }
        let (record, target) = self.target(message_id)?;
        let age = own_recent(&target, "edit")?;
        if target.opens_at.is_some() {
            // A new text would reach the contact before the round.
            return Err(NodeError::BadInput(format!(
                "message {message_id} is timelocked; it cannot be edited (delete it for everyone instead)"
            )));
        }
        let control = ChatControl::Edit {
            to: reference(&target)?,
            age,
            text: text.to_vec(),
        };
        let change = ConversationChange::Edit {
            message_id,
            body: text.to_vec(),
        };
        self.queue_control(&record.name, mode_of(&target)?, |_, _| {
            Ok(Outgoing::control(&control, Some(change)))
        })
    }

    /// Deletes message `message_id`: from this history only, or, with
    /// `for_everyone`, our own message (sent less than 24 h ago) here and
    /// at the contact's (its row stays, empty, shown as deleted).
    pub fn delete_message(
        &self,
        message_id: i64,
        for_everyone: bool,
    ) -> Result<Option<QueuedMessage>, NodeError> {
        if !for_everyone {
            self.with_store_mut(|store| Ok(store.delete_message(message_id)?))?;
            return Ok(None);
        }
        let (record, target) = self.target(message_id)?;
        let age = own_recent(&target, "delete for everyone")?;
        let control = ChatControl::Delete {
            to: reference(&target)?,
            age,
        };
        let change = ConversationChange::Delete { message_id };
        self.queue_control(&record.name, mode_of(&target)?, |_, _| {
            Ok(Outgoing::control(&control, Some(change)))
        })
        .map(Some)
    }

    /// Sets the disappearing-messages timer of the conversation with
    /// `contact` (seconds; 0 turns it off) on both sides. Messages stored
    /// from then on disappear that long after they were stored (ours once
    /// the contact has them).
    pub fn set_timer(
        &self,
        contact: &str,
        secs: u32,
        mode: Mode,
    ) -> Result<QueuedMessage, NodeError> {
        chat::check_timer(secs).map_err(|e| NodeError::BadInput(e.to_string()))?;
        self.queue_control(contact, mode, |record, _| {
            // After any change either side made so far, so it wins.
            let set_at = now_secs().max(record.timer_set_at.max(0) as u64 + 1);
            let control = ChatControl::Timer { secs, set_at };
            let change = ConversationChange::Timer {
                contact_id: record.id,
                secs,
                set_at: set_at as i64,
                by_me: true,
            };
            Ok(Outgoing::control(&control, Some(change)))
        })
    }

    /// Deletes the messages whose time is up (see
    /// [`zks_store::Store::expire_messages`]); tells the app when any went.
    pub fn expire_messages(&self) -> Result<usize, NodeError> {
        let now = now_secs() as i64;
        let gone = self.with_store_mut(|store| Ok(store.expire_messages(now)?))?;
        if gone > 0 {
            tracing::debug!(gone, "disappearing messages deleted");
            self.emit(NodeEvent::MessagesExpired { count: gone as u64 });
        }
        Ok(gone)
    }

    /// Deletes expired messages every second until the node stops.
    pub(crate) async fn expiry_loop(self) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.expire_messages() {
                tracing::warn!("cannot delete expired messages: {e}");
            }
        }
    }

    /// The conversation with a contact, oldest first, as
    /// [`Node::history`], each message with its quote and reactions.
    pub fn conversation(&self, contact: &str) -> Result<Vec<ChatEntry>, NodeError> {
        let history = self.history(contact)?;
        self.with_store(|store| {
            let record = store.contact(contact)?;
            let mut reactions = store.reactions(record.id)?.into_iter().peekable();
            let mut entries = Vec::with_capacity(history.len());
            for message in history {
                let quote = match &message.reply_to {
                    Some(to) => Some(quote_of(store.message_by_ref(record.id, to)?)),
                    None => None,
                };
                // Both lists are in id order.
                while reactions.next_if(|r| r.message_id < message.id).is_some() {}
                let mut mine = Vec::new();
                while let Some(r) = reactions.next_if(|r| r.message_id == message.id) {
                    mine.push(MessageReaction {
                        emoji: r.emoji,
                        mine: r.outgoing,
                    });
                }
                entries.push(ChatEntry {
                    message,
                    quote,
                    reactions: mine,
                });
            }
            Ok(entries)
        })
    }

    /// The name of the contact whose conversation holds message `id`.
    pub fn message_contact(&self, message_id: i64) -> Result<String, NodeError> {
        Ok(self.target(message_id)?.0.name)
    }

    /// A message and its conversation's contact.
    fn target(&self, message_id: i64) -> Result<(ContactRecord, MessageRecord), NodeError> {
        self.with_store(|store| {
            let message = store
                .message(message_id)
                .map_err(|_| NodeError::BadInput(format!("there is no message {message_id}")))?;
            if message.kind != "text" && message.kind != "file" {
                return Err(NodeError::BadInput(format!(
                    "message {message_id} is not a chat message or a file"
                )));
            }
            Ok((store.contact_by_id(message.contact_id)?, message))
        })
    }

    /// Seals and queues a control message for `contact`.
    fn queue_control(
        &self,
        contact: &str,
        mode: Mode,
        prepare: impl FnOnce(&ContactRecord, Option<&mut PadBook>) -> Result<Outgoing, NodeError>,
    ) -> Result<QueuedMessage, NodeError> {
        let (sealed, id) = self.seal_inner(contact, mode, true, prepare)?;
        self.inner.outbox_wake.notify_one();
        Ok(QueuedMessage::of(&sealed, id))
    }
}

/// The start of a quoted message's text, as a reply shows it (1:1 and in
/// groups): at most [`EXCERPT_CHARS`] characters, `…` when cut.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        excerpt.push('…');
    }
    excerpt
}

/// How a reply shows the message it quotes.
fn quote_of(quoted: Option<MessageRecord>) -> Quote {
    match quoted {
        None => Quote {
            message_id: None,
            outgoing: false,
            excerpt: String::new(),
            deleted: false,
        },
        Some(m) => Quote {
            message_id: Some(m.id),
            outgoing: m.outgoing,
            excerpt: excerpt(&m.body),
            deleted: m.deleted_at.is_some(),
        },
    }
}

/// A message's ref, which only messages from before refs lack.
fn reference(message: &MessageRecord) -> Result<Ref, NodeError> {
    message
        .reference
        .as_deref()
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| {
            NodeError::BadInput(format!(
                "message {} is from before replies, reactions and edits; it cannot be referred to",
                message.id
            ))
        })
}

/// The mode a message travelled in.
fn mode_of(message: &MessageRecord) -> Result<Mode, NodeError> {
    match message.mode.as_str() {
        "grid" => Ok(Mode::Grid),
        "pad" => Ok(Mode::Pad),
        other => Err(NodeError::Corrupt(format!("a message in mode {other:?}"))),
    }
}

/// Checks that we may `what` (edit, delete for everyone) `message`: our
/// own chat text, not deleted, sent less than 24 h ago; returns its age.
fn own_recent(message: &MessageRecord, what: &str) -> Result<u32, NodeError> {
    if !message.outgoing {
        return Err(NodeError::BadInput(format!(
            "message {} is not yours; you can only {what} your own messages",
            message.id
        )));
    }
    if message.kind != "text" {
        return Err(NodeError::BadInput(format!(
            "message {} is a file offer; only chat text can be changed (cancel the transfer instead)",
            message.id
        )));
    }
    if message.deleted_at.is_some() {
        return Err(NodeError::BadInput(format!(
            "message {} was already deleted",
            message.id
        )));
    }
    let age = now_secs().saturating_sub(message.created_at.max(0) as u64);
    if age > EDIT_WINDOW_SECS {
        return Err(NodeError::BadInput(format!(
            "message {} was sent more than 24 hours ago; it can no longer be changed for everyone",
            message.id
        )));
    }
    Ok(age as u32)
}

/// What an incoming conversation control message records and changes
/// (inside the transaction that opens it).
pub(crate) fn incoming(
    store: &Store,
    contact: &ContactRecord,
    plaintext: &[u8],
    mode: Mode,
    mine: bool,
) -> Result<Incoming, NodeError> {
    let control = ChatControl::parse(plaintext)
        .map_err(|e| NodeError::BadInput(format!("a damaged conversation message: {e}")))?;
    let record = |change: Option<ConversationChange>| {
        let (kind, body, reply_to) = crate::content::recorded(&control);
        Incoming {
            kind,
            body,
            transfer: None,
            notice: None,
            change,
            reply_to,
            timelock: None,
            group: None,
            group_change: None,
        }
    };
    let target = |to: &Ref| -> Result<Option<MessageRecord>, NodeError> {
        let found = store.message_by_ref(contact.id, to)?;
        // Gone here (disappeared, deleted): nothing to change.
        Ok(found.filter(|m| m.deleted_at.is_none()))
    };
    let same_mode = |message: &MessageRecord, what: &str| -> Result<(), NodeError> {
        if mode_of(message)? == mode {
            Ok(())
        } else {
            Err(NodeError::BadInput(format!(
                "{what} must travel in the mode of its message"
            )))
        }
    };
    match &control {
        ChatControl::Reply { .. } => Ok(record(None)),
        ChatControl::Timelocked { file } => {
            let mut recorded = record(None);
            recorded.timelock = Some(crate::timelock::incoming_lock(store, file)?);
            Ok(recorded)
        }
        ChatControl::React { to, emoji } => {
            let Some(message) = target(to)? else {
                return Ok(record(None));
            };
            same_mode(&message, "a reaction")?;
            Ok(record(Some(ConversationChange::React {
                message_id: message.id,
                outgoing: mine,
                emoji: emoji.clone(),
            })))
        }
        ChatControl::Edit { to, age, .. } | ChatControl::Delete { to, age } => {
            let what = if matches!(control, ChatControl::Edit { .. }) {
                "an edit"
            } else {
                "a delete"
            };
            let Some(message) = target(to)? else {
                return Ok(record(None));
            };
            // `mine`: our own edit made on another device of ours.
            if message.outgoing != mine || message.kind != "text" {
                return Err(NodeError::BadInput(format!(
                    "{} may only change their own chat messages, and sent {what} of another",
                    contact.name
                )));
            }
            if message.opens_at.is_some() && matches!(control, ChatControl::Edit { .. }) {
                return Err(NodeError::BadInput(
                    "a timelocked message cannot be edited".into(),
                ));
            }
            if u64::from(*age) > EDIT_WINDOW_SECS + EDIT_WINDOW_SLACK_SECS {
                return Err(NodeError::BadInput(format!(
                    "{what} made more than 24 hours after its message"
                )));
            }
            same_mode(&message, what)?;
            let change = match &control {
                ChatControl::Edit { text, .. } => ConversationChange::Edit {
                    message_id: message.id,
                    body: text.clone(),
                },
                _ => ConversationChange::Delete {
                    message_id: message.id,
                },
            };
            Ok(record(Some(change)))
        }
        ChatControl::Timer { secs, set_at } => {
            let set_at = i64::try_from(*set_at).unwrap_or(i64::MAX);
            // The initiator's change wins a tie.
            let theirs_wins_tie = contact.role == "responder";
            let newer = set_at > contact.timer_set_at
                || (set_at == contact.timer_set_at && (theirs_wins_tie || mine));
            if !newer {
                return Ok(record(None));
            }
            Ok(record(Some(ConversationChange::Timer {
                contact_id: contact.id,
                secs: *secs,
                set_at,
                by_me: mine,
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{paired, relay};

    fn last(node: &Node, contact: &str) -> MessageRecord {
        node.history(contact).unwrap().pop().unwrap()
    }

    fn all_ok(results: Vec<Result<crate::OpenedMessage, NodeError>>) {
        for r in results {
            r.unwrap();
        }
    }

    fn reactions(node: &Node, contact: &str) -> Vec<(i64, bool, String)> {
        node.with_store(|store| {
            let id = store.contact(contact)?.id;
            Ok(store.reactions(id)?)
        })
        .unwrap()
        .into_iter()
        .map(|r| (r.message_id, r.outgoing, r.emoji))
        .collect()
    }

    fn pad_between(alice: &Node, bob: &Node) {
        let dir = tempfile::tempdir().unwrap();
        let pad = dir.path().join("pad");
        crate::create_pad_file(&pad, 16 * 1024).unwrap();
        alice.import_pad("Bob", &pad, false).unwrap();
        bob.import_pad("Alice", &pad, false).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replies_reactions_edits_and_deletes_reach_the_contact() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = paired(tmp.path()).await;
        pad_between(&alice, &bob);
        let asked = alice
            .send("Bob", b"see you at the harbour?", Mode::Grid)
            .unwrap();
        all_ok(relay(&alice, "Bob", &bob));
        let theirs = last(&bob, "Alice");
        assert_eq!(
            theirs.reference,
            alice
                .with_store(|s| Ok(s.message(asked.message_id)?))
                .unwrap()
                .reference
        );

        // Bob answers with a quote, under the one-time pad.
        let reply = bob
            .send_reply("Alice", b"yes, at eight", Mode::Pad, theirs.id)
            .unwrap();
        assert!(reply.pad_used.unwrap() > 13, "its bytes and a MAC key");
        all_ok(relay(&bob, "Alice", &alice));
        let got = last(&alice, "Bob");
        assert_eq!(got.body, b"yes, at eight");
        assert_eq!(got.mode, "pad");
        assert_eq!(got.reply_to, theirs.reference);

        // Reactions: one per side, in the mode of their message.
        bob.react(theirs.id, Some("👍")).unwrap();
        bob.react(theirs.id, Some("🎉")).unwrap();
        let on_pad = alice.react(got.id, Some("❤️")).unwrap();
        assert!(
            on_pad.pad_used.is_some(),
            "a reaction to a pad message uses the pad"
        );
        all_ok(relay(&bob, "Alice", &alice));
        all_ok(relay(&alice, "Bob", &bob));
        assert_eq!(
            reactions(&alice, "Bob"),
            vec![
                (asked.message_id, false, "🎉".into()),
                (got.id, true, "❤️".into())
            ]
        );
        assert_eq!(
            reactions(&bob, "Alice"),
            vec![
                (theirs.id, true, "🎉".into()),
                (reply.message_id, false, "❤️".into())
            ]
        );
        bob.react(theirs.id, None).unwrap();
        all_ok(relay(&bob, "Alice", &alice));
        assert_eq!(reactions(&alice, "Bob"), vec![(got.id, true, "❤️".into())]);

        // Alice fixes her message: Bob's copy and his search follow.
        alice
            .edit(asked.message_id, b"see you at the station?")
            .unwrap();
        all_ok(relay(&alice, "Bob", &bob));
        let edited = bob.with_store(|s| Ok(s.message(theirs.id)?)).unwrap();
        assert_eq!(edited.body, b"see you at the station?");
        assert!(edited.edited_at.is_some());
        assert!(bob.search("harbour", None, 5).unwrap().is_empty());
        assert_eq!(bob.search("station", None, 5).unwrap().len(), 1);
        // No row of either history keeps the old words.
        for (node, contact) in [(&alice, "Bob"), (&bob, "Alice")] {
            let rows = node
                .with_store(|s| Ok(s.messages(s.contact(contact)?.id)?))
                .unwrap();
            assert!(
                rows.iter()
                    .all(|m| !String::from_utf8_lossy(&m.body).contains("harbour"))
            );
        }

        // And takes it back.
        alice.delete_message(asked.message_id, true).unwrap();
        all_ok(relay(&alice, "Bob", &bob));
        let deleted = bob.with_store(|s| Ok(s.message(theirs.id)?)).unwrap();
        assert!(deleted.body.is_empty() && deleted.deleted_at.is_some());
        assert!(bob.search("station", None, 5).unwrap().is_empty());

        // Refusals on the sender's side change nothing.
        let before = alice.with_store(|s| Ok(s.queued_count()?)).unwrap();
        for (result, words) in [
            (alice.edit(got.id, b"not mine").map(drop), "not yours"),
            (alice.delete_message(got.id, true).map(drop), "not yours"),
            (
                alice.edit(asked.message_id, b"again").map(drop),
                "already deleted",
            ),
            (alice.edit(999_999, b"x").map(drop), "no message 999999"),
            (alice.react(got.id, Some("ok")).map(drop), "one emoji"),
            (
                alice.react(asked.message_id, Some("👍")).map(drop),
                "was deleted",
            ),
            (alice.edit(got.id, b" ").map(drop), "empty"),
            (alice.edit(got.id, b"\0x").map(drop), "NUL"),
            (
                alice
                    .send_reply("Bob", b"hi", Mode::Grid, 999_999)
                    .map(drop),
                "no message",
            ),
            (
                alice
                    .send_reply("Carol", b"hi", Mode::Grid, got.id)
                    .map(drop),
                "not Carol",
            ),
        ] {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(words), "{words}: {err}");
        }
        assert_eq!(alice.with_store(|s| Ok(s.queued_count()?)).unwrap(), before);

        // A local delete is Bob's alone.
        assert!(
            bob.delete_message(reply.message_id, false)
                .unwrap()
                .is_none()
        );
        assert!(
            bob.with_store(|s| Ok(s.message(reply.message_id)?))
                .is_err()
        );
        assert!(bob.delete_message(reply.message_id, false).is_err());
        alice.stop().await;
        bob.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_contact_cannot_change_my_messages_or_use_the_wrong_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = paired(tmp.path()).await;
        pad_between(&alice, &bob);
        let mine = alice.send("Bob", b"my words", Mode::Grid).unwrap();
        all_ok(relay(&alice, "Bob", &bob));
        let mine_at_bob = last(&bob, "Alice");
        let to: Ref = mine_at_bob
            .reference
            .as_deref()
            .unwrap()
            .try_into()
            .unwrap();
        let sealed = |control: ChatControl, mode: Mode| {
            bob.seal_inner("Alice", mode, false, |_, _| {
                Ok(Outgoing::control(&control, None))
            })
            .unwrap()
            .0
            .envelope
        };
        let before = alice.history("Bob").unwrap();
        // Bob "edits" and "deletes" Alice's own message.
        for control in [
            ChatControl::Edit {
                to,
                age: 1,
                text: b"your words".to_vec(),
            },
            ChatControl::Delete { to, age: 1 },
        ] {
            let err = alice.open(&sealed(control, Mode::Grid)).unwrap_err();
            assert!(err.to_string().contains("their own chat messages"), "{err}");
        }
        // A reaction in the other mode than its message's.
        let err = alice
            .open(&sealed(
                ChatControl::React {
                    to,
                    emoji: Some("👍".into()),
                },
                Mode::Pad,
            ))
            .unwrap_err();
        assert!(err.to_string().contains("mode of its message"), "{err}");
        // A damaged control message.
        let mut damaged = ChatControl::Delete { to, age: 1 }.encode();
        damaged.truncate(10);
        let env = bob
            .seal_inner("Alice", Mode::Grid, false, |_, _| {
                let mut out = Outgoing::control(&ChatControl::Delete { to, age: 1 }, None);
                out.plaintext = zeroize::Zeroizing::new(damaged.clone());
                Ok(out)
            })
            .unwrap()
            .0
            .envelope;
        let err = alice.open(&env).unwrap_err();
        assert!(
            err.to_string().contains("damaged conversation message"),
            "{err}"
        );
        assert_eq!(alice.history("Bob").unwrap(), before, "nothing changed");
        assert!(
            alice
                .with_store(|s| Ok(s.message(mine.message_id)?))
                .unwrap()
                .edited_at
                .is_none()
        );
        // A control about a message Alice no longer has changes nothing.
        alice.delete_message(mine.message_id, false).unwrap();
        alice
            .open(&sealed(
                ChatControl::React {
                    to,
                    emoji: Some("👍".into()),
                },
                Mode::Grid,
            ))
            .unwrap();
        assert!(reactions(&alice, "Bob").is_empty());
        alice.stop().await;
        bob.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_sides_agree_on_the_timer_and_messages_disappear_from_both() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = paired(tmp.path()).await;
        pad_between(&alice, &bob);
        // Both change the timer at once: both end with the later change.
        alice.set_timer("Bob", 3600, Mode::Grid).unwrap();
        bob.set_timer("Alice", 5, Mode::Grid).unwrap();
        let (a_at, b_at) = (
            alice
                .with_store(|s| Ok(s.contact("Bob")?.timer_set_at))
                .unwrap(),
            bob.with_store(|s| Ok(s.contact("Alice")?.timer_set_at))
                .unwrap(),
        );
        all_ok(relay(&alice, "Bob", &bob));
        all_ok(relay(&bob, "Alice", &alice));
        let timers = |n: &Node, c: &str| n.with_store(|s| Ok(s.contact(c)?.timer_secs)).unwrap();
        let agreed = timers(&alice, "Bob");
        assert_eq!(agreed, timers(&bob, "Alice"));
        // Equal times: the initiator's (Alice's) change wins.
        let expected = if b_at > a_at { 5 } else { 3600 };
        assert_eq!(agreed, expected);
        // Now Alice sets 5 s for sure; Bob's side says she did.
        alice.set_timer("Bob", 5, Mode::Grid).unwrap();
        all_ok(relay(&alice, "Bob", &bob));
        let bobs = bob.with_store(|s| Ok(s.contact("Alice")?)).unwrap();
        assert_eq!((bobs.timer_secs, bobs.timer_set_by_me), (5, false));
        let pad_left = |n: &Node| n.pad_status("Bob").unwrap().send_left;
        let sent = alice
            .send("Bob", b"ephemeral harbour note", Mode::Pad)
            .unwrap();
        all_ok(relay(&alice, "Bob", &bob));
        let left = pad_left(&alice);
        for (n, c) in [(&alice, "Bob"), (&bob, "Alice")] {
            assert_eq!(n.search("ephemeral", Some(c), 5).unwrap().len(), 1);
        }
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
        for (n, c) in [(&alice, "Bob"), (&bob, "Alice")] {
            assert!(
                n.history(c)
                    .unwrap()
                    .iter()
                    .all(|m| m.body != b"ephemeral harbour note")
            );
            assert!(n.search("ephemeral", Some(c), 5).unwrap().is_empty());
        }
        assert!(
            alice
                .with_store(|s| Ok(s.message(sent.message_id)?))
                .is_err()
        );
        // The pad bytes it used stay used: nothing is ever sent with them again.
        assert_eq!(pad_left(&alice), left);
        assert!(alice.set_timer("Bob", 2, Mode::Grid).is_err());
        alice.stop().await;
        bob.stop().await;
    }
}
