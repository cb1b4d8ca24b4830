//! Full-text search over the local history (`zks search`, the app's search
//! box): the store's FTS5 index inside the encrypted database, searched by
//! plain words, with one contact or all.

use serde::Serialize;

use crate::{Node, NodeError};

/// Most hits one search returns.
pub const MAX_SEARCH_HITS: usize = 500;

/// A message that matches a search.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    /// The message's id (as in the history).
    pub message_id: i64,
    /// The contact's name.
    pub contact: String,
    /// Sent by us.
    pub outgoing: bool,
    /// `text`, or `file` when the match is in an offered file's name.
    #[cfg_attr(feature = "ts", ts(type = "'text' | 'file'"))]
    pub kind: String,
    /// Unix time the message was stored.
    pub created_at: i64,
    /// A few words around the match, the matching words between `«` and
    /// `»` (`zks_store::SNIPPET_OPEN`/`SNIPPET_CLOSE`), `…` where text
    /// was left out.
    pub snippet: String,
}

impl Node {
    /// The messages whose text (or offered file's name) holds every word of
    /// `text` (the last one may be the start of a word), newest first, at
    /// most `limit` (capped at [`MAX_SEARCH_HITS`]); with `contact`, only
    /// that conversation. Text with no word in it, too long a text or an
    /// unknown contact is an error, and nothing is read.
    pub fn search(
        &self,
        text: &str,
        contact: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SearchHit>, NodeError> {
        let bad = |e: zks_store::StoreError| match e {
            zks_store::StoreError::BadInput(m) => NodeError::BadInput(m),
            other => NodeError::Store(other),
        };
        // Checked before the contact, so a bad search says so first.
        zks_store::fts_query(text).map_err(bad)?;
        // Nothing that disappeared is found.
        self.expire_messages()?;
        self.with_store_mut(|store| {
            let contact_id = match contact {
                Some(name) => Some(
                    store
                        .contact(name)
                        .map_err(|e| match e {
                            zks_store::StoreError::NotFound(_) => {
                                NodeError::BadInput(format!("no contact named {name:?}"))
                            }
                            other => NodeError::Store(other),
                        })?
                        .id,
                ),
                None => None,
            };
            let hits = store
                .search(text, contact_id, limit.min(MAX_SEARCH_HITS))
                .map_err(bad)?;
            Ok(hits
                .into_iter()
                .map(|h| SearchHit {
                    message_id: h.message_id,
                    contact: h.contact_name,
                    outgoing: h.outgoing,
                    kind: h.kind,
                    created_at: h.created_at,
                    snippet: h.snippet,
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn search_finds_the_history_by_words_and_contact() {
        let tmp = tempfile::tempdir().unwrap();
        let alice = crate::test_support::started(&tmp.path().join("alice")).await;
        alice
            .import_beacons("quicknet", zks_testkit::QUICKNET)
            .unwrap();
        let mut ids = Vec::new();
        for peer in ["Bob", "Carol"] {
            let home = tmp.path().join(peer);
            let other = crate::test_support::started(&home).await;
            let invite = alice.create_invite(Some("Alice"), 3600).unwrap();
            let accepted = other.accept_invite(invite.text.as_bytes(), None).unwrap();
            alice
                .finish_pairing(accepted.reply_text.as_bytes(), Some(peer))
                .unwrap();
            other.stop().await;
            let text = format!("the picnic with {peer} is on Sunday");
            ids.push(
                alice
                    .send(peer, text.as_bytes(), Mode::Grid)
                    .unwrap()
                    .message_id,
            );
        }
        let all = alice.search("picnic sun", None, 10).unwrap();
        assert_eq!(
            all.iter().map(|h| h.message_id).collect::<Vec<_>>(),
            vec![ids[1], ids[0]]
        );
        assert_eq!(all[0].contact, "Carol");
        assert!(all[0].outgoing);
        assert_eq!(all[0].kind, "text");
        assert!(all[0].snippet.contains("«picnic»"), "{}", all[0].snippet);
        let bob = alice.search("picnic", Some("Bob"), 10).unwrap();
        assert_eq!(bob.len(), 1);
        assert_eq!(
            (bob[0].message_id, bob[0].contact.as_str()),
            (ids[0], "Bob")
        );
        assert!(alice.search("picnic", None, 1).unwrap().len() == 1);
        assert!(alice.search("barbecue", None, 10).unwrap().is_empty());

        let unknown = alice.search("picnic", Some("Dave"), 10).unwrap_err();
        assert!(matches!(unknown, NodeError::BadInput(_)), "{unknown}");
        assert!(unknown.to_string().contains("Dave"), "{unknown}");
        for empty in ["", "   ", "\"*()\""] {
            let e = alice.search(empty, None, 10).unwrap_err();
            assert!(matches!(e, NodeError::BadInput(_)), "{empty:?}: {e}");
        }
        alice.stop().await;
    }
}
