//! Full-text search over the chat history: the FTS5 index `messages_fts`
//! (migration 11) of the text of chat messages and the names of offered
//! files, inside the encrypted database.
//!
//! People type words, not FTS5 syntax: [`fts_query`] turns what they typed
//! into a query that cannot be a syntax error (every word quoted, the words
//! ANDed, the last one also matching as a prefix, as it may be half typed).

use crate::{Result, Store, StoreError};

/// Opens the match in a [`SearchHit::snippet`].
pub const SNIPPET_OPEN: &str = "«";
/// Closes the match in a [`SearchHit::snippet`].
pub const SNIPPET_CLOSE: &str = "»";

/// Most words a search may have (more is a pasted text, not a search).
pub const MAX_SEARCH_WORDS: usize = 16;
/// Most bytes a search may have.
pub const MAX_SEARCH_BYTES: usize = 512;

/// A message that matches a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The message's id (as in [`crate::MessageRecord::id`]).
    pub message_id: i64,
    /// Its contact.
    pub contact_id: i64,
    /// The contact's name.
    pub contact_name: String,
    /// Sent by us.
    pub outgoing: bool,
    /// `text` or `file` (then the match is in the file's name).
    pub kind: String,
    /// Unix time stored.
    pub created_at: i64,
    /// A few words around the match, each matching word between
    /// [`SNIPPET_OPEN`] and [`SNIPPET_CLOSE`], `…` where text was left out.
    pub snippet: String,
}

/// Every hit, newest first. `messages_fts.rowid` orders the rows, so FTS5
/// hands them over in that order (no sort of every match) and reading
/// stops after `limit` rows.
const SEARCH_SQL: &str = "SELECT m.id, m.contact_id, c.name, m.outgoing, m.kind, m.created_at,
        snippet(messages_fts, 0, '«', '»', '…', 12)
     FROM messages_fts
     JOIN messages AS m ON m.id = messages_fts.rowid
     JOIN contacts AS c ON c.id = m.contact_id
     WHERE messages_fts MATCH ?1
     ORDER BY messages_fts.rowid DESC";

/// The hits with one contact. The unary `+` keeps SQLite from driving the
/// query by the contact's messages (`messages_by_contact`), which would read
/// every message of the contact and sort the matches.
const SEARCH_CONTACT_SQL: &str =
    "SELECT m.id, m.contact_id, c.name, m.outgoing, m.kind, m.created_at,
        snippet(messages_fts, 0, '«', '»', '…', 12)
     FROM messages_fts
     JOIN messages AS m ON m.id = messages_fts.rowid
     JOIN contacts AS c ON c.id = m.contact_id
     WHERE messages_fts MATCH ?1 AND +m.contact_id = ?2
     ORDER BY messages_fts.rowid DESC";

impl Store {
    /// The messages matching the words of `text` (all of them; the last
    /// one may be the start of a word), with one contact or all, newest
    /// first, at most `limit`. Text with no word in it, or too long, is
    /// [`StoreError::BadInput`].
    pub fn search(
        &mut self,
        text: &str,
        contact: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let query = fts_query(text)?;
        self.index_pending()?;
        let hit = |r: &rusqlite::Row<'_>| {
            Ok(SearchHit {
                message_id: r.get(0)?,
                contact_id: r.get(1)?,
                contact_name: r.get(2)?,
                outgoing: r.get(3)?,
                kind: r.get(4)?,
                created_at: r.get(5)?,
                snippet: r.get(6)?,
            })
        };
        // LIMIT is not a bound parameter: SQLite would prepare the
        // statement again on every call. Reading stops after `limit` rows.
        Ok(match contact {
            None => {
                let mut stmt = self.conn.prepare_cached(SEARCH_SQL)?;
                let rows = stmt.query_map([&query], hit)?;
                rows.take(limit).collect::<rusqlite::Result<_>>()?
            }
            Some(id) => {
                let mut stmt = self.conn.prepare_cached(SEARCH_CONTACT_SQL)?;
                let rows = stmt.query_map(rusqlite::params![query, id], hit)?;
                rows.take(limit).collect::<rusqlite::Result<_>>()?
            }
        })
    }
}

/// Indexes the waiting messages. CROSS JOIN keeps the (short) waiting list
/// as the outer loop; without it the planner, having no statistics, read
/// every message (50 ms a search at 100,000 messages).
const INDEX_PENDING_SQL: &str = "INSERT INTO messages_fts (rowid, body)
     SELECT m.id, CAST(m.body AS TEXT) FROM messages_fts_pending p
     CROSS JOIN messages m ON m.id = p.id
     WHERE m.kind IN ('text', 'file')";

impl Store {
    /// Indexes the messages stored since the last search (their ids wait
    /// in `messages_fts_pending`, migration 11), in one transaction: one
    /// index segment for all of them instead of one per message stored.
    /// Returns how many were indexed.
    pub fn index_pending(&mut self) -> Result<usize> {
        self.write(|tx| {
            let n = tx.prepare_cached(INDEX_PENDING_SQL)?.execute([])?;
            tx.prepare_cached("DELETE FROM messages_fts_pending")?
                .execute([])?;
            Ok(n)
        })
    }
}

/// The FTS5 query for what a person typed: each word (separated by white
/// space or control characters)
/// with a letter or digit in it as a quoted string (quotes doubled, so no
/// character of it is FTS5 syntax: `NEAR`, `*`, `(`, `^`, `:` are just
/// text), the words ANDed, the last one also as a prefix. Words without a
/// letter or digit are left out (the tokenizer would drop them anyway, and
/// an empty phrase matches nothing).
pub fn fts_query(text: &str) -> Result<String> {
    if text.trim().is_empty() {
        return Err(StoreError::BadInput(
            "the search text is empty: type a word to look for".into(),
        ));
    }
    if text.len() > MAX_SEARCH_BYTES {
        return Err(StoreError::BadInput(format!(
            "the search text is {} bytes long; at most {MAX_SEARCH_BYTES}",
            text.len()
        )));
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect();
    if words.is_empty() {
        return Err(StoreError::BadInput(format!(
            "{text:?} has no letter or digit to search for"
        )));
    }
    if words.len() > MAX_SEARCH_WORDS {
        return Err(StoreError::BadInput(format!(
            "the search has {} words; at most {MAX_SEARCH_WORDS}",
            words.len()
        )));
    }
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    Ok(format!("{}*", quoted.join(" AND ")))
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::{NewMessage, test_contact};

    fn text(outgoing: bool, body: &str) -> NewMessage {
        NewMessage {
            outgoing,
            mode: "grid".into(),
            kind: "text".into(),
            body: body.as_bytes().to_vec(),
            chain_hash: None,
            round: None,
            transfer: None,
            ..NewMessage::default()
        }
    }

    fn with_kind(kind: &str, body: &str) -> NewMessage {
        NewMessage {
            kind: kind.into(),
            ..text(false, body)
        }
    }

    fn setup() -> (tempfile::TempDir, Store, i64, i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let bob = store
            .complete_pairing(b"b", &test_contact("bob", "peer-b"))
            .unwrap();
        let carol = store
            .complete_pairing(b"c", &test_contact("carol", "peer-c"))
            .unwrap();
        (dir, store, bob, carol)
    }

    fn ids(hits: &[SearchHit]) -> Vec<i64> {
        hits.iter().map(|h| h.message_id).collect()
    }

    #[test]
    fn words_become_a_quoted_and_query_with_a_prefix_last() {
        assert_eq!(fts_query("hello").unwrap(), "\"hello\"*");
        assert_eq!(
            fts_query("  lunch   at noon ").unwrap(),
            "\"lunch\" AND \"at\" AND \"noon\"*"
        );
        assert_eq!(
            fts_query("say \"hi\" NEAR *").unwrap(),
            "\"say\" AND \"\"\"hi\"\"\" AND \"NEAR\"*"
        );
        for empty in ["", "   ", "\t\n", "* \" ( ) ^ :", "!!!"] {
            assert!(
                matches!(fts_query(empty), Err(StoreError::BadInput(_))),
                "{empty:?}"
            );
        }
        assert!(matches!(
            fts_query(&"word ".repeat(MAX_SEARCH_WORDS + 1)),
            Err(StoreError::BadInput(_))
        ));
        assert!(matches!(
            fts_query(&"x".repeat(MAX_SEARCH_BYTES + 1)),
            Err(StoreError::BadInput(_))
        ));
    }

    #[test]
    fn search_finds_text_and_file_names_newest_first() {
        let (_dir, mut store, bob, carol) = setup();
        let a = store
            .record_message(bob, None, None, &text(true, "Lunch at noon?"))
            .unwrap();
        let b = store
            .record_message(bob, None, None, &text(false, "yes, lunch is good"))
            .unwrap();
        let c = store
            .record_message(carol, None, None, &text(false, "no lunch for me"))
            .unwrap();
        store
            .record_message(carol, None, None, &text(true, "dinner then"))
            .unwrap();
        let f = store
            .record_message(bob, None, None, &with_kind("file", "lunch-menu.pdf"))
            .unwrap();
        // Control messages are bookkeeping, never found.
        store
            .record_message(bob, None, None, &with_kind("control", "lunch"))
            .unwrap();

        let hits = store.search("lunch", None, 10).unwrap();
        assert_eq!(ids(&hits), vec![f, c, b, a]);
        assert_eq!(hits[0].kind, "file");
        assert_eq!(hits[1].contact_name, "carol");
        assert_eq!(hits[1].contact_id, carol);
        assert!(!hits[1].outgoing);
        assert!(hits[3].outgoing);
        assert!(hits[3].created_at > 0);
        assert_eq!(hits[3].snippet, "«Lunch» at noon?");

        // Case and diacritics do not matter; all words must match.
        assert_eq!(ids(&store.search("LÜNCH noon", None, 10).unwrap()), vec![a]);
        assert!(
            store
                .search("lunch breakfast", None, 10)
                .unwrap()
                .is_empty()
        );
        // The limit keeps the newest.
        assert_eq!(ids(&store.search("lunch", None, 2).unwrap()), vec![f, c]);
        assert!(store.search("lunch", None, 0).unwrap().is_empty());
    }

    #[test]
    fn the_contact_filter_keeps_one_conversation() {
        let (_dir, mut store, bob, carol) = setup();
        let a = store
            .record_message(bob, None, None, &text(true, "the report is late"))
            .unwrap();
        let b = store
            .record_message(carol, None, None, &text(false, "report attached"))
            .unwrap();
        assert_eq!(
            ids(&store.search("report", Some(bob), 10).unwrap()),
            vec![a]
        );
        assert_eq!(
            ids(&store.search("report", Some(carol), 10).unwrap()),
            vec![b]
        );
        assert_eq!(ids(&store.search("report", None, 10).unwrap()), vec![b, a]);
        assert!(store.search("report", Some(999), 10).unwrap().is_empty());
    }

    #[test]
    fn the_last_word_matches_as_a_prefix_the_others_whole() {
        let (_dir, mut store, bob, _) = setup();
        let a = store
            .record_message(bob, None, None, &text(true, "meeting tomorrow morning"))
            .unwrap();
        assert_eq!(
            ids(&store.search("meeting tom", None, 10).unwrap()),
            vec![a]
        );
        assert_eq!(ids(&store.search("m", None, 10).unwrap()), vec![a]);
        assert_eq!(ids(&store.search("mor", None, 10).unwrap()), vec![a]);
        assert!(store.search("meet tomorrow", None, 10).unwrap().is_empty());
    }

    #[test]
    fn hostile_input_is_text_never_an_fts_error() {
        let (_dir, mut store, bob, _) = setup();
        let weird = store
            .record_message(
                bob,
                None,
                None,
                &text(
                    false,
                    "He said \"NEAR\" (twice) * café 東京 naïve OR AND NOT",
                ),
            )
            .unwrap();
        store
            .record_message(bob, None, None, &text(false, "unrelated"))
            .unwrap();
        for input in [
            "\"",
            "\"\"",
            "\"NEAR\"",
            "NEAR",
            "NEAR(said twice)",
            "said NEAR twice",
            "(twice)",
            "twice)",
            "(twice",
            "*",
            "said *",
            "tw*",
            "^said",
            "body:said",
            "-said",
            "said OR",
            "AND",
            "NOT",
            "OR unrelated",
            "cafe",
            "CAFÉ",
            "東京",
            "naïve",
            "said\u{0}twice",
            "emoji 🎉",
            "\u{0301}twice",
            "{said twice}",
            "said + twice",
        ] {
            let result = store.search(input, None, 10);
            match result {
                Ok(hits) => assert!(
                    hits.iter().all(|h| h.message_id == weird),
                    "{input:?} found {hits:?}"
                ),
                Err(StoreError::BadInput(_)) => {}
                Err(e) => panic!("{input:?} failed: {e}"),
            }
        }
        // The words themselves are found, operators included.
        for found in [
            "NEAR",
            "\"NEAR\"",
            "(twice)",
            "said NEAR twice",
            "OR",
            "NOT",
            "cafe",
            "東京",
        ] {
            assert_eq!(
                ids(&store.search(found, None, 10).unwrap()),
                vec![weird],
                "{found:?}"
            );
        }
        assert!(matches!(
            store.search("  \t ", None, 10),
            Err(StoreError::BadInput(_))
        ));
        assert!(matches!(
            store.search("*", None, 10),
            Err(StoreError::BadInput(_))
        ));
    }

    #[test]
    fn deleted_and_changed_messages_leave_the_index() {
        let (_dir, mut store, bob, carol) = setup();
        let a = store
            .record_message(bob, None, None, &text(true, "secret plan alpha"))
            .unwrap();
        let b = store
            .record_message(carol, None, None, &text(true, "secret plan beta"))
            .unwrap();
        assert_eq!(ids(&store.search("secret", None, 10).unwrap()), vec![b, a]);
        store
            .conn
            .execute("DELETE FROM messages WHERE id = ?1", [a])
            .unwrap();
        assert_eq!(ids(&store.search("secret", None, 10).unwrap()), vec![b]);
        assert!(store.search("alpha", None, 10).unwrap().is_empty());
        // An edit replaces the indexed words.
        store
            .conn
            .execute(
                "UPDATE messages SET body = CAST('public notice' AS BLOB) WHERE id = ?1",
                [b],
            )
            .unwrap();
        assert!(store.search("secret", None, 10).unwrap().is_empty());
        assert_eq!(ids(&store.search("notice", None, 10).unwrap()), vec![b]);
        // Removing a contact removes its messages (cascade) and their words.
        store
            .conn
            .execute("DELETE FROM contacts WHERE id = ?1", [carol])
            .unwrap();
        assert!(store.search("notice", None, 10).unwrap().is_empty());
        // No term of the deleted text is left in the index itself, nor its
        // bytes in the index's pages.
        store
            .conn
            .execute_batch(
                "CREATE VIRTUAL TABLE temp.messages_vocab
                    USING fts5vocab(main, messages_fts, row);",
            )
            .unwrap();
        let tokens: i64 = store
            .conn
            .query_row("SELECT count(*) FROM temp.messages_vocab", [], |r| r.get(0))
            .unwrap();
        let blobs: Vec<Vec<u8>> = store
            .conn
            .prepare("SELECT block FROM messages_fts_data")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for word in [&b"secret"[..], b"alpha", b"notice"] {
            assert!(
                !blobs
                    .iter()
                    .any(|b| b.windows(word.len()).any(|w| w == word)),
                "{:?} is still in the index",
                String::from_utf8_lossy(word)
            );
        }
        assert_eq!(tokens, 0, "the index still holds terms");
    }

    /// New messages wait to be indexed until the next search; one deleted
    /// (or edited) while waiting is indexed as it is then, and an id SQLite
    /// gives out again after the newest message was deleted is indexed too.
    #[test]
    fn messages_waiting_to_be_indexed_are_found_as_they_are_then() {
        let (_dir, mut store, bob, _carol) = setup();
        let pending = |store: &Store| -> i64 {
            store
                .conn
                .query_row("SELECT count(*) FROM messages_fts_pending", [], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        let a = store
            .record_message(bob, None, None, &text(true, "first draft"))
            .unwrap();
        assert_eq!(pending(&store), 1, "stored, not yet indexed");
        store
            .conn
            .execute(
                "UPDATE messages SET body = CAST('final version' AS BLOB) WHERE id = ?1",
                [a],
            )
            .unwrap();
        let b = store
            .record_message(bob, None, None, &text(true, "thrown away"))
            .unwrap();
        store
            .conn
            .execute("DELETE FROM messages WHERE id = ?1", [b])
            .unwrap();
        assert!(store.search("draft", None, 10).unwrap().is_empty());
        assert_eq!(ids(&store.search("final", None, 10).unwrap()), vec![a]);
        assert!(store.search("thrown", None, 10).unwrap().is_empty());
        assert_eq!(pending(&store), 0, "a search indexes what waits");
        // The newest message deleted after it was indexed: its id may be
        // given out again, and the new message is still indexed.
        store
            .conn
            .execute("DELETE FROM messages WHERE id = ?1", [a])
            .unwrap();
        let c = store
            .record_message(bob, None, None, &text(true, "second life"))
            .unwrap();
        assert_eq!(ids(&store.search("second", None, 10).unwrap()), vec![c]);
        assert!(store.search("final", None, 10).unwrap().is_empty());
    }

    /// FTS5 hands the matches over newest first and SQLite sorts nothing,
    /// so reading stops after `limit` rows however many words match.
    #[test]
    fn searches_read_the_index_in_order_without_a_sort() {
        let (_dir, store, _, _) = setup();
        for (sql, params) in [(SEARCH_SQL, 1), (SEARCH_CONTACT_SQL, 2)] {
            let values = vec![rusqlite::types::Value::Text("\"x\"*".into()); params];
            let plan = crate::test_query_plan(&store, sql, rusqlite::params_from_iter(values));
            assert!(
                plan[0].starts_with("SCAN messages_fts VIRTUAL TABLE"),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan[1..]
                    .iter()
                    .any(|step| step.contains("TEMP B-TREE") || step.starts_with("SCAN")),
                "{sql}: {plan:?}"
            );
        }
    }

    /// Indexing the waiting messages reads only them, not every message.
    #[test]
    fn indexing_what_waits_reads_only_the_waiting_list() {
        let (_dir, store, _, _) = setup();
        let plan = crate::test_query_plan(&store, INDEX_PENDING_SQL, []);
        assert!(
            !plan
                .iter()
                .any(|step| step.starts_with("SCAN m") && !step.starts_with("SCAN messages_fts")),
            "{plan:?}"
        );
    }

    /// A database filled before migration 11: its chat messages and file
    /// names are in the index after the upgrade, its control messages not.
    #[test]
    fn the_migration_indexes_messages_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::DATABASE_FILE);
        {
            let mut conn = Connection::open(&path).unwrap();
            crate::test_unlock(&conn, &path);
            rusqlite_migration::Migrations::from_slice(crate::migrations::STEPS)
                .to_version(&mut conn, 10)
                .unwrap();
            conn.execute_batch(
                "INSERT INTO contacts (id, name, peer_id, identity_key, addresses, safety_code,
                                       role, session_id, session, created_at)
                    VALUES (1, 'bob', 'peer-b', x'00', '[]', 'code', 'initiator', x'01', x'02', 1);
                 INSERT INTO messages (id, contact_id, outgoing, mode, body, created_at, kind)
                    VALUES (1, 1, 1, 'grid', CAST('old harbour photos' AS BLOB), 10, 'text'),
                           (2, 1, 0, 'grid', CAST('harbour.jpg' AS BLOB), 11, 'file'),
                           (3, 1, 0, 'grid', CAST('harbour' AS BLOB), 12, 'control');",
            )
            .unwrap();
        }
        let mut store = Store::open(&path, &crate::test_key()).unwrap();
        assert_eq!(ids(&store.search("harbour", None, 10).unwrap()), vec![2, 1]);
        assert_eq!(ids(&store.search("photo", None, 10).unwrap()), vec![1]);
        // And new messages join them.
        let new = store
            .record_message(1, None, None, &text(true, "harbour again"))
            .unwrap();
        assert_eq!(
            ids(&store.search("harbour", None, 10).unwrap()),
            vec![new, 2, 1]
        );
    }
}
