//! What a backup holds, and putting it back into an empty database.
//!
//! The rule that keeps restores safe: **no key that was ever used for a
//! message is in a backup.** Session states (ratchet keys) and pads stay on
//! the device; restored contacts have no session and must be paired again
//! before anything is sent to them, so a restored device can never seal a
//! message with a key (or pad byte) the original already used. The identity
//! (the Ed25519 seed, i.e. the PeerId), contacts' names, keys, safety codes
//! and verification marks, the history and the settings are kept.
//!
//! Every pad ledger is kept too (ids and high-water marks, never a pad
//! byte), and restored *retired*: the restored home refuses to import any
//! pad the original ever held, so the users must make a new pad. A backup
//! of format 1 (before ledgers were kept) cannot say which pads existed;
//! its restore sets [`PADS_UNKNOWN_SETTING`], and pad imports then need the
//! user's word that the pad is new.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::now;
use crate::{Result, Store, StoreError};

/// The backup format version (2: with pad ledgers; 3: with groups, which
/// a release that reads only 2 refuses rather than dropping them).
pub const BACKUP_VERSION: u32 = 3;

/// Setting set by restoring a format-1 backup: the Unix time of that
/// backup, before which the pads this home held are unknown.
pub const PADS_UNKNOWN_SETTING: &str = "pads_unknown_before";

/// A pad ledger as backed up: which pad, which half, how far used. Never
/// a pad byte.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupPad {
    /// Pad identifier (hex).
    pub pad_id: String,
    /// PeerId of the contact it was shared with.
    pub peer_id: String,
    /// Our role for the pad.
    pub role: String,
    /// Its layout (see [`crate::PadLedger::layout`]).
    pub layout: u8,
    /// Size in bytes.
    pub size: u64,
    /// Bytes of our half used.
    pub used: u64,
    /// Ranges of the contact's half seen used.
    pub received: Vec<(u64, u64)>,
    /// Unix time of the import.
    pub imported_at: i64,
}

/// A contact as backed up (no session).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupContact {
    /// Local name.
    pub name: String,
    /// PeerId.
    pub peer_id: String,
    /// Ed25519 identity key (hex).
    pub identity_key: String,
    /// Addresses.
    pub addresses: Vec<String>,
    /// Safety code of the last pairing.
    pub safety_code: String,
    /// Whether the user had verified it.
    pub verified: bool,
    /// Role in the last pairing.
    pub role: String,
}

/// A message as backed up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupMessage {
    /// The contact's name.
    pub contact: String,
    /// Sent by us.
    pub outgoing: bool,
    /// `grid` or `pad`.
    pub mode: String,
    /// `text` or `file`.
    pub kind: String,
    /// The body (hex).
    pub body: String,
    /// Chain hash (hex) of the bound round.
    pub chain_hash: Option<String>,
    /// The bound round.
    pub round: Option<u64>,
    /// Unix time stored.
    pub created_at: i64,
    /// A timelocked message: the round that opens it and, while it is
    /// still locked, the timelocked file (hex), so a restored home opens
    /// it when the round comes (decision 0069).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timelock: Option<BackupTimelock>,
}

/// The timelock of a backed-up message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupTimelock {
    /// Chain hash (hex).
    pub chain_hash: String,
    /// The round.
    pub round: u64,
    /// Unix time the round is published.
    pub opens_at: i64,
    /// The timelocked file (hex), while the message is locked.
    pub file: Option<String>,
}

/// A group as backed up: its signed ops and its messages (texts,
/// reactions, edits, deletes) with the reactions they left. Copies and
/// their delivery states are not kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupGroup {
    /// The group's id (hex, 16 bytes).
    pub group_id: String,
    /// Unix time we learned of it.
    pub created_at: i64,
    /// Its ops as received: id and op (hex).
    pub ops: Vec<(String, String)>,
    /// Its messages, in storing order.
    pub messages: Vec<BackupGroupMessage>,
    /// Reactions: target author, target id, reactor (hex) and emoji.
    pub reactions: Vec<(String, String, String, String)>,
}

/// A group message as backed up (hex for bytes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupGroupMessage {
    /// Its id.
    pub msg_id: String,
    /// Its author's identity key.
    pub author: String,
    /// Ours.
    pub outgoing: bool,
    /// Orders it.
    pub lamport: u64,
    /// Its body.
    pub body: String,
    /// `text`, `react`, `edit` or `delete`.
    pub kind: String,
    /// The quoted message (author, id).
    pub reply: Option<(String, String)>,
    /// The message a change is about (author, id).
    pub target: Option<(String, String)>,
    /// The mode of the copy that brought it.
    pub mode: Option<String>,
    /// Unix time stored.
    pub created_at: i64,
    /// Unix time of its last edit.
    pub edited_at: Option<i64>,
    /// Unix time it was deleted for everyone.
    pub deleted_at: Option<i64>,
}

/// Everything a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupData {
    /// Format version.
    pub version: u32,
    /// Unix time of the backup.
    pub created_at: i64,
    /// Identity seed (hex; secret).
    pub identity_seed: String,
    /// Display name.
    pub identity_name: String,
    /// Contacts.
    pub contacts: Vec<BackupContact>,
    /// History (chat text and file offers), oldest first.
    pub messages: Vec<BackupMessage>,
    /// Settings, key → JSON value.
    pub settings: Vec<(String, String)>,
    /// Every pad ledger, retired ones too (format 2 on).
    #[serde(default)]
    pub pads: Vec<BackupPad>,
    /// Groups (format 3 on).
    #[serde(default)]
    pub groups: Vec<BackupGroup>,
}

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt {
        what: "backup".into(),
        message: what.into(),
    }
}

impl Store {
    /// Collects what a backup holds (see the module rule: no session, no
    /// pad, no pending invite).
    pub fn export_backup(&self) -> Result<BackupData> {
        let (seed, name) = self
            .identity()?
            .ok_or_else(|| StoreError::NotFound("there is no identity to back up yet".into()))?;
        // Linked devices (ours and contacts') are not kept: a restored home
        // stands alone and links its devices again (decision 0072).
        let contacts: Vec<_> = self
            .contacts()?
            .into_iter()
            .filter(|c| c.person_key.is_none())
            .collect();
        let mut messages = Vec::new();
        for c in &contacts {
            for m in self.messages(c.id)? {
                if m.kind == "control" {
                    continue;
                }
                let timelock = match (m.opens_at, m.opens_round) {
                    (Some(opens_at), Some(round)) => {
                        let (chain, file): (Vec<u8>, Option<Vec<u8>>) = self
                            .conn
                            .prepare_cached(
                                "SELECT tlock_chain, tlock FROM messages WHERE id = ?1",
                            )?
                            .query_row([m.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                        Some(BackupTimelock {
                            chain_hash: hex::encode(chain),
                            round,
                            opens_at,
                            file: file.map(hex::encode),
                        })
                    }
                    _ => None,
                };
                messages.push(BackupMessage {
                    contact: c.name.clone(),
                    outgoing: m.outgoing,
                    mode: m.mode,
                    kind: m.kind,
                    body: hex::encode(&m.body),
                    chain_hash: m.chain_hash.map(hex::encode),
                    round: m.round,
                    created_at: m.created_at,
                    timelock,
                });
            }
        }
        messages.sort_by_key(|m| m.created_at);
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM settings WHERE key NOT LIKE 'device\\_%' ESCAPE '\\' ORDER BY key")?;
        let settings = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let pads = self
            .pad_ledgers()?
            .into_iter()
            .map(|p| BackupPad {
                pad_id: hex::encode(&p.pad_id),
                peer_id: p.peer_id,
                role: p.role,
                layout: p.layout,
                size: p.size,
                used: p.used,
                received: p.received,
                imported_at: p.imported_at,
            })
            .collect();
        let groups = self.export_groups()?;
        Ok(BackupData {
            version: BACKUP_VERSION,
            pads,
            groups,
            created_at: now(),
            identity_seed: hex::encode(seed),
            identity_name: name,
            contacts: contacts
                .into_iter()
                .map(|c| BackupContact {
                    name: c.name,
                    peer_id: c.peer_id,
                    identity_key: hex::encode(c.identity_key),
                    addresses: c.addresses,
                    safety_code: c.safety_code,
                    verified: c.verified,
                    role: c.role,
                })
                .collect(),
            messages,
            settings,
        })
    }

    /// Puts a backup into this database, which must have no identity yet,
    /// in one transaction. Restored contacts have no session (empty): they
    /// must be paired again before messages flow.
    pub fn import_backup(&mut self, data: &BackupData) -> Result<()> {
        if data.version > BACKUP_VERSION {
            return Err(bad("made by a newer version"));
        }
        if data.version < 2 && !data.pads.is_empty() {
            return Err(bad("pad ledgers in a format-1 backup"));
        }
        let seed = hex::decode(&data.identity_seed).map_err(|_| bad("identity"))?;
        if seed.len() != 32 {
            return Err(bad("identity"));
        }
        self.write(|tx| {
            let has_identity: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM identity)", [], |r| r.get(0))?;
            if has_identity {
                return Err(StoreError::Conflict(
                    "this home already has an identity; restore into a new, empty home".into(),
                ));
            }
            tx.execute(
                "INSERT INTO identity (id, seed, name, created_at) VALUES (1, ?1, ?2, ?3)",
                params![seed, data.identity_name, now()],
            )?;
            let mut ids = std::collections::HashMap::new();
            for c in &data.contacts {
                let key = hex::decode(&c.identity_key).map_err(|_| bad("contact key"))?;
                let addresses =
                    serde_json::to_string(&c.addresses).map_err(|_| bad("addresses"))?;
                tx.execute(
                    "INSERT INTO contacts (name, peer_id, identity_key, addresses, safety_code,
                        verified, role, session_id, session, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, x'', ?9)",
                    params![
                        c.name,
                        c.peer_id,
                        key,
                        addresses,
                        c.safety_code,
                        c.verified,
                        c.role,
                        // A placeholder session id no envelope can carry.
                        format!("restored:{}", c.peer_id).into_bytes(),
                        now()
                    ],
                )?;
                ids.insert(c.name.clone(), tx.last_insert_rowid());
            }
            for m in &data.messages {
                let contact = ids.get(&m.contact).ok_or_else(|| bad("message contact"))?;
                let body = hex::decode(&m.body).map_err(|_| bad("message body"))?;
                let chain = m
                    .chain_hash
                    .as_deref()
                    .map(hex::decode)
                    .transpose()
                    .map_err(|_| bad("chain hash"))?;
                let lock = m.timelock.as_ref();
                let lock_chain = lock
                    .map(|l| hex::decode(&l.chain_hash))
                    .transpose()
                    .ok()
                    .flatten()
                    .filter(|c| c.len() == 32);
                if lock.is_some() && lock_chain.is_none() {
                    return Err(bad("timelock chain hash"));
                }
                let lock_file = lock
                    .and_then(|l| l.file.as_deref())
                    .map(hex::decode)
                    .transpose()
                    .map_err(|_| bad("timelocked file"))?;
                tx.execute(
                    "INSERT INTO messages (contact_id, outgoing, mode, body, chain_hash, round,
                        created_at, kind, tlock_chain, tlock_round, opens_at, tlock)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        contact,
                        m.outgoing,
                        m.mode,
                        body,
                        chain,
                        m.round.map(|r| r as i64),
                        m.created_at,
                        m.kind,
                        lock_chain,
                        lock.map(|l| l.round as i64),
                        lock.map(|l| l.opens_at),
                        lock_file,
                    ],
                )?;
            }
            for (key, value) in &data.settings {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )?;
            }
            if data.version < 2 {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO NOTHING",
                    params![PADS_UNKNOWN_SETTING, data.created_at.to_string()],
                )?;
            }
            let peers: std::collections::HashMap<&str, i64> = data
                .contacts
                .iter()
                .filter_map(|c| Some((c.peer_id.as_str(), *ids.get(&c.name)?)))
                .collect();
            for p in &data.pads {
                let pad_id = hex::decode(&p.pad_id)
                    .ok()
                    .filter(|id| id.len() == 16)
                    .ok_or_else(|| bad("pad id"))?;
                if !matches!(p.role.as_str(), "initiator" | "responder")
                    || !matches!(p.layout, 1 | 2)
                {
                    return Err(bad("pad ledger"));
                }
                crate::pads::insert(
                    tx,
                    &crate::PadLedger {
                        pad_id,
                        contact_id: peers.get(p.peer_id.as_str()).copied(),
                        peer_id: p.peer_id.clone(),
                        role: p.role.clone(),
                        layout: p.layout,
                        size: p.size,
                        used: p.used,
                        received: p.received.clone(),
                        file: String::new(),
                        imported_at: p.imported_at,
                        // The pad itself is not in the backup: retired at
                        // once, kept only to refuse it.
                        retired_at: Some(now()),
                    },
                )
                .map_err(|e| match e {
                    StoreError::Sql(_) => bad("a pad appears twice"),
                    other => other,
                })?;
            }
            import_groups(tx, &data.groups)
        })
    }

    fn export_groups(&self) -> Result<Vec<BackupGroup>> {
        let mut out = Vec::new();
        for g in self.groups()? {
            let mut stmt = self.conn.prepare_cached(
                "SELECT msg_id, author, outgoing, lamport, body, kind, reply_author, reply_id,
                        target_author, target_id, mode, created_at, edited_at, deleted_at
                 FROM group_messages WHERE group_row = ?1 ORDER BY id",
            )?;
            let hex2 = |a: Option<Vec<u8>>, b: Option<Vec<u8>>| {
                a.zip(b).map(|(a, b)| (hex::encode(a), hex::encode(b)))
            };
            let messages = stmt
                .query_map([g.id], |r| {
                    Ok(BackupGroupMessage {
                        msg_id: hex::encode(r.get::<_, Vec<u8>>(0)?),
                        author: hex::encode(r.get::<_, Vec<u8>>(1)?),
                        outgoing: r.get(2)?,
                        lamport: r.get::<_, i64>(3)? as u64,
                        body: hex::encode(r.get::<_, Vec<u8>>(4)?),
                        kind: r.get(5)?,
                        reply: hex2(r.get(6)?, r.get(7)?),
                        target: hex2(r.get(8)?, r.get(9)?),
                        mode: r.get(10)?,
                        created_at: r.get(11)?,
                        edited_at: r.get(12)?,
                        deleted_at: r.get(13)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            out.push(BackupGroup {
                group_id: hex::encode(&g.group_id),
                created_at: g.created_at,
                ops: self
                    .conn
                    .prepare_cached("SELECT op_id, op FROM group_ops WHERE group_row = ?1")?
                    .query_map([g.id], |r| {
                        Ok((
                            hex::encode(r.get::<_, Vec<u8>>(0)?),
                            hex::encode(r.get::<_, Vec<u8>>(1)?),
                        ))
                    })?
                    .collect::<rusqlite::Result<_>>()?,
                messages,
                reactions: self
                    .group_reactions(g.id)?
                    .into_iter()
                    .map(|r| {
                        (
                            hex::encode(r.target.0),
                            hex::encode(r.target.1),
                            hex::encode(r.reactor),
                            r.emoji,
                        )
                    })
                    .collect(),
            });
        }
        Ok(out)
    }
}

/// Puts backed-up groups back (inside the import's transaction).
fn import_groups(tx: &rusqlite::Connection, groups: &[BackupGroup]) -> Result<()> {
    let bytes = |h: &str, len: Option<usize>, what: &str| -> Result<Vec<u8>> {
        hex::decode(h)
            .ok()
            .filter(|b| len.is_none_or(|l| b.len() == l))
            .ok_or_else(|| bad(what))
    };
    type Pair = (Option<Vec<u8>>, Option<Vec<u8>>);
    let pair = |p: &Option<(String, String)>, what: &str| -> Result<Pair> {
        Ok(match p {
            Some((a, i)) => (
                Some(bytes(a, Some(32), what)?),
                Some(bytes(i, Some(16), what)?),
            ),
            None => (None, None),
        })
    };
    for g in groups {
        let gid = bytes(&g.group_id, Some(16), "group id")?;
        tx.execute(
            "INSERT INTO groups (group_id, created_at) VALUES (?1, ?2)",
            params![gid, g.created_at],
        )
        .map_err(|_| bad("a group appears twice"))?;
        let row = tx.last_insert_rowid();
        for (id, op) in &g.ops {
            let (id, op) = (
                bytes(id, Some(16), "group op")?,
                bytes(op, None, "group op")?,
            );
            tx.execute(
                "INSERT OR IGNORE INTO group_ops (group_row, op_id, op) VALUES (?1, ?2, ?3)",
                params![row, id, op],
            )?;
        }
        for m in &g.messages {
            if !matches!(
                m.kind.as_str(),
                "text" | "file" | "react" | "edit" | "delete"
            ) || m
                .mode
                .as_deref()
                .is_some_and(|mode| !matches!(mode, "grid" | "pad"))
            {
                return Err(bad("group message"));
            }
            let (reply_author, reply_id) = pair(&m.reply, "group reply")?;
            let (target_author, target_id) = pair(&m.target, "group change target")?;
            tx.execute(
                "INSERT INTO group_messages (group_row, msg_id, author, outgoing, lamport, body,
                    kind, reply_author, reply_id, target_author, target_id, mode, created_at,
                    edited_at, deleted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    row,
                    bytes(&m.msg_id, Some(16), "group message id")?,
                    bytes(&m.author, Some(32), "group message author")?,
                    m.outgoing,
                    m.lamport.min(i64::MAX as u64) as i64,
                    bytes(&m.body, None, "group message body")?,
                    m.kind,
                    reply_author,
                    reply_id,
                    target_author,
                    target_id,
                    m.mode,
                    m.created_at,
                    m.edited_at,
                    m.deleted_at,
                ],
            )
            .map_err(|_| bad("a group message appears twice"))?;
        }
        for (author, id, reactor, emoji) in &g.reactions {
            tx.execute(
                "INSERT INTO group_reactions (group_row, target_author, target_id, reactor, emoji)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    row,
                    bytes(author, Some(32), "reaction")?,
                    bytes(id, Some(16), "reaction")?,
                    bytes(reactor, Some(32), "reaction")?,
                    emoji
                ],
            )
            .map_err(|_| bad("a reaction appears twice"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestError, TestRunner};

    use super::*;

    fn hex_of(len: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<u8>(), len).prop_map(hex::encode)
    }

    /// Hex of `len` bytes mostly; of another length, or not hex, sometimes.
    fn field_hex(len: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            24 => hex_of(len),
            1 => hex_of(len + 1),
            1 => hex_of(len.saturating_sub(1)),
            1 => hex_of(len).prop_map(|h| format!("{h}0")),
            1 => hex_of(len).prop_map(|h| h.replacen('0', "g", 1)),
        ]
    }

    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..100_000,
            Just(i64::MAX as u64),
            Just(i64::MAX as u64 + 1),
            Just(u64::MAX),
            any::<u64>()
        ]
    }

    const NAMES: [&str; 3] = ["Alice", "Bob", "Carol"];

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (0..NAMES.len()).prop_map(|i| NAMES[i].to_owned()),
            1 => "\\PC{0,12}",
        ]
    }

    fn contact() -> impl Strategy<Value = BackupContact> {
        (
            name(),
            name(),
            field_hex(32),
            any::<bool>(),
            prop_oneof![8 => Just("initiator"), 8 => Just("responder"), 1 => Just("")],
        )
            .prop_map(|(name, peer, key, verified, role)| BackupContact {
                name,
                peer_id: format!("12D3Koo{peer}"),
                identity_key: key,
                addresses: vec!["/ip4/127.0.0.1/tcp/4001".into()],
                safety_code: "04721 88310".into(),
                verified,
                role: role.into(),
            })
    }

    fn message() -> impl Strategy<Value = BackupMessage> {
        (
            name(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(hex::encode),
            proptest::option::of(field_hex(32)),
            proptest::option::of(number()),
            any::<i64>(),
            proptest::option::weighted(
                0.2,
                (
                    field_hex(32),
                    number(),
                    any::<i64>(),
                    proptest::option::of(field_hex(40)),
                ),
            ),
        )
            .prop_map(
                |(contact, outgoing, body, chain_hash, round, created_at, lock)| BackupMessage {
                    contact,
                    outgoing,
                    mode: "grid".into(),
                    kind: "text".into(),
                    body,
                    chain_hash,
                    round,
                    created_at,
                    timelock: lock.map(|(chain_hash, round, opens_at, file)| BackupTimelock {
                        chain_hash,
                        round,
                        opens_at,
                        file,
                    }),
                },
            )
    }

    fn pad() -> impl Strategy<Value = BackupPad> {
        (
            field_hex(16),
            name(),
            prop_oneof![8 => Just("initiator"), 8 => Just("responder"), 1 => Just("both")],
            prop_oneof![8 => 1u8..=2, 1 => any::<u8>()],
            number(),
            number(),
            proptest::collection::vec((number(), number()), 0..4),
            any::<i64>(),
        )
            .prop_map(
                |(pad_id, peer, role, layout, size, used, received, imported_at)| BackupPad {
                    pad_id,
                    peer_id: format!("12D3Koo{peer}"),
                    role: role.into(),
                    layout,
                    size,
                    used,
                    received,
                    imported_at,
                },
            )
    }

    fn backup() -> impl Strategy<Value = BackupData> {
        (
            prop_oneof![16 => Just(BACKUP_VERSION), 2 => 1u32..BACKUP_VERSION, 1 => any::<u32>()],
            any::<i64>(),
            field_hex(32),
            proptest::collection::vec(contact(), 0..4),
            proptest::collection::vec(message(), 0..5),
            proptest::collection::vec(("[a-z_]{1,8}", "[0-9]{1,3}"), 0..3),
            proptest::collection::vec(pad(), 0..3),
        )
            .prop_map(
                |(version, created_at, seed, contacts, messages, settings, pads)| BackupData {
                    version,
                    created_at,
                    identity_seed: seed,
                    identity_name: "Alice".into(),
                    contacts,
                    messages,
                    settings,
                    pads,
                    groups: Vec::new(),
                },
            )
    }

    /// Decrypted backup documents (what `zks_pad::backup::open` returns and
    /// the node parses) made of generated values, mostly valid, some out of
    /// range, and in one case in ten with a byte of the JSON text changed:
    /// serde reads most of them, and the import behind it refuses or takes
    /// each without panicking; what it takes exports again.
    #[test]
    fn decrypted_backup_documents_import_or_are_refused_and_never_panic() {
        let strategy = (
            backup(),
            proptest::bool::weighted(0.8),
            proptest::option::weighted(0.1, (any::<usize>(), any::<u8>())),
        );
        let config = Config {
            cases: zks_testkit::cases(150),
            failure_persistence: None,
            ..Config::default()
        };
        let (cases, reached, imported) = (Cell::new(0u32), Cell::new(0u32), Cell::new(0u32));
        let result = TestRunner::new(config).run(&strategy, |(mut data, consistent, byte)| {
            cases.set(cases.get() + 1);
            if consistent && !data.contacts.is_empty() {
                // Most documents name only contacts they hold, as an export
                // does, so that the import gets past them to the rest.
                let n = data.contacts.len();
                for (i, c) in data.contacts.iter_mut().enumerate() {
                    c.name = format!("{}{i}", c.name);
                    c.peer_id = format!("{}{i}", c.peer_id);
                }
                for (i, m) in data.messages.iter_mut().enumerate() {
                    m.contact = data.contacts[i % n].name.clone();
                }
                for (i, p) in data.pads.iter_mut().enumerate() {
                    p.peer_id = data.contacts[i % n].peer_id.clone();
                }
            }
            let mut json = serde_json::to_vec(&data).unwrap();
            if let Some((at, value)) = byte {
                let i = at % json.len();
                json[i] = value;
            }
            let Ok(parsed) = serde_json::from_slice::<BackupData>(&json) else {
                return Ok(());
            };
            reached.set(reached.get() + 1);
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
            if store.import_backup(&parsed).is_ok() {
                imported.set(imported.get() + 1);
                store.export_backup().unwrap();
            }
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, value)) => panic!("{reason}; minimal input: {value:?}"),
            Err(e) => panic!("{e}"),
        }
        let fraction = f64::from(reached.get()) / f64::from(cases.get().max(1));
        println!(
            "reach backup document: {}/{} cases ({:.1}%) reached the import, {} imported",
            reached.get(),
            cases.get(),
            100.0 * fraction,
            imported.get()
        );
        assert!(fraction >= 0.8);
    }
}
