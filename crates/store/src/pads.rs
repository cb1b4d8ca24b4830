//! True-pad ledgers, one per pad, kept forever.
//!
//! A ledger is keyed by the pad's id and holds everything that decides which
//! pad bytes may still be used: the half this side owns (its role, fixed at
//! import, whatever later pairings do), the layout, our high-water mark and
//! the ranges the contact has been seen to use. A replaced pad's ledger is
//! *retired*, not deleted, and a backup carries every ledger (no pad byte),
//! so the same pad can never be imported again on this home or on a home
//! restored from it: no pad byte is ever handed out twice.
//!
//! A reservation is committed here before the envelope that uses it is
//! made, so a crash can waste pad bytes but never reuse them; it is a
//! compare-and-swap on the high-water mark, so two processes racing for
//! the same bytes cannot both win.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::now;
use crate::{Result, Store, StoreError};

/// The ledger of one pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PadLedger {
    /// Pad identifier (16 bytes).
    pub pad_id: Vec<u8>,
    /// The contact the pad is shared with (`None` once that contact is gone).
    pub contact_id: Option<i64>,
    /// That contact's PeerId, kept after the contact is gone.
    pub peer_id: String,
    /// Our role for this pad (`initiator` or `responder`): which half we
    /// consume. Fixed at import.
    pub role: String,
    /// How the pad is laid out (1: id hashes the whole pad; 2: id hashes a
    /// reserved 32-byte prefix that is never used for encryption).
    pub layout: u8,
    /// Size in bytes.
    pub size: u64,
    /// Bytes of our half consumed so far.
    pub used: u64,
    /// Ranges of the contact's half seen used, sorted and disjoint.
    pub received: Vec<(u64, u64)>,
    /// Our encrypted copy (inside the data directory); empty when there is
    /// none (a ledger restored from a backup).
    pub file: String,
    /// Unix time of the import.
    pub imported_at: i64,
    /// Unix time it was replaced or restored; `None` while in use.
    pub retired_at: Option<i64>,
}

impl PadLedger {
    /// Whether this pad is the one in use with its contact.
    pub fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }
}

/// The ranges of the contact's half seen used in one pad, as recorded with
/// a received message.
#[derive(Debug, Clone, Copy)]
pub struct PadReceived<'a> {
    /// The pad.
    pub pad_id: &'a [u8],
    /// All ranges of the contact's half seen used, sorted and disjoint.
    pub ranges: &'a [(u64, u64)],
}

const COLUMNS: &str = "pad_id, contact_id, peer_id, role, layout, size, used, received, file,
     imported_at, retired_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(PadLedger, String)> {
    Ok((
        PadLedger {
            pad_id: r.get(0)?,
            contact_id: r.get(1)?,
            peer_id: r.get(2)?,
            role: r.get(3)?,
            layout: r.get(4)?,
            size: r.get::<_, i64>(5)? as u64,
            used: r.get::<_, i64>(6)? as u64,
            received: Vec::new(),
            file: r.get(8)?,
            imported_at: r.get(9)?,
            retired_at: r.get(10)?,
        },
        r.get(7)?,
    ))
}

fn parse(row: (PadLedger, String)) -> Result<PadLedger> {
    let (mut ledger, received) = row;
    ledger.received = serde_json::from_str(&received).map_err(|e| StoreError::Corrupt {
        what: "pad ledger".into(),
        message: e.to_string(),
    })?;
    Ok(ledger)
}

fn query_one(
    conn: &Connection,
    filter: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<PadLedger>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM pad_ledgers WHERE {filter}"))?
        .query_row([value], from_row)
        .optional()?
        .map(parse)
        .transpose()
}

/// Records the ranges of the contact's half seen used, in the caller's
/// transaction; only the active ledger of `pad_id` moves.
pub(crate) fn write_received(
    tx: &Connection,
    pad_id: &[u8],
    received: &[(u64, u64)],
) -> Result<()> {
    let text = serde_json::to_string(received).unwrap_or_else(|_| "[]".into());
    let n = tx
        .prepare_cached(
            "UPDATE pad_ledgers SET received = ?1 WHERE pad_id = ?2 AND retired_at IS NULL",
        )?
        .execute(params![text, pad_id])?;
    if n == 0 {
        return Err(StoreError::Conflict(
            "the one-time pad was replaced meanwhile".into(),
        ));
    }
    Ok(())
}

/// Inserts a ledger as it is (import or restore).
pub(crate) fn insert(tx: &Connection, pad: &PadLedger) -> Result<()> {
    let received = serde_json::to_string(&pad.received).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO pad_ledgers (pad_id, contact_id, peer_id, role, layout, size, used,
            received, file, imported_at, retired_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        pad.pad_id,
        pad.contact_id,
        pad.peer_id,
        pad.role,
        pad.layout,
        pad.size as i64,
        pad.used as i64,
        received,
        pad.file,
        pad.imported_at,
        pad.retired_at
    ])?;
    Ok(())
}

impl Store {
    /// The pad in use with a contact, if any.
    pub fn active_pad(&self, contact_id: i64) -> Result<Option<PadLedger>> {
        query_one(
            &self.conn,
            "contact_id = ?1 AND retired_at IS NULL",
            &contact_id,
        )
    }

    /// The ledger of a pad ever imported here (or in the home this one was
    /// restored from), in use or retired.
    pub fn pad_ledger(&self, pad_id: &[u8]) -> Result<Option<PadLedger>> {
        query_one(&self.conn, "pad_id = ?1", &pad_id)
    }

    /// Every ledger, retired ones included, oldest import first.
    pub fn pad_ledgers(&self) -> Result<Vec<PadLedger>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM pad_ledgers ORDER BY imported_at, pad_id"
        ))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(parse).collect()
    }

    /// Starts the ledger of a newly imported pad for its contact, in one
    /// transaction: refuses a pad id this home has ever seen (for any
    /// contact), retires the contact's pad in use, and fails that contact's
    /// open pad-mode transfers in the retired pad (their bytes are gone
    /// with it). Returns the retired ledger, whose copy the caller wipes.
    pub fn install_pad(&mut self, pad: &PadLedger) -> Result<Option<PadLedger>> {
        let contact_id = pad
            .contact_id
            .ok_or_else(|| StoreError::NotFound("a pad needs a contact".into()))?;
        self.write(|tx| {
            if let Some(known) = query_one(tx, "pad_id = ?1", &pad.pad_id)? {
                return Err(StoreError::Conflict(if known.is_active() {
                    "this pad is already in use on this device; a pad can be imported only once"
                        .into()
                } else {
                    "this pad was used on this device before (or on the device this home was restored from); its bytes may already have been used, so it can never be imported again: make a new pad with `zks pad new` and exchange it in person".into()
                }));
            }
            let old = query_one(
                tx,
                "contact_id = ?1 AND retired_at IS NULL",
                &contact_id,
            )?;
            if let Some(old) = &old {
                tx.prepare_cached("UPDATE pad_ledgers SET retired_at = ?1 WHERE pad_id = ?2")?.execute(
                    params![now(), old.pad_id],
                )?;
                tx.prepare_cached("UPDATE transfers SET state = 'failed',
                        error = 'the one-time pad of this transfer was replaced', updated_at = ?1
                     WHERE contact_id = ?2 AND mode = 'pad' AND pad_id = ?3
                       AND state IN ('offered', 'accepted', 'transferring', 'paused')")?.execute(
                    params![now(), contact_id, old.pad_id],
                )?;
            }
            insert(tx, pad)?;
            Ok(old)
        })
    }

    /// Commits a reservation in the active pad `pad_id`: our high-water
    /// mark moves from `from` to `to`. Compare-and-swap: refused if the
    /// mark is no longer `from` (another process reserved meanwhile), if
    /// `to` is not past `from`, or if the pad was retired.
    pub fn reserve_pad(&mut self, pad_id: &[u8], from: u64, to: u64) -> Result<()> {
        if to <= from {
            return Err(StoreError::Conflict(
                "a pad reservation must move the ledger forward".into(),
            ));
        }
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE pad_ledgers SET used = ?1
                 WHERE pad_id = ?2 AND used = ?3 AND retired_at IS NULL",
                )?
                .execute(params![to as i64, pad_id, from as i64])?;
            if n == 0 {
                return Err(StoreError::Conflict(
                    "the pad ledger changed meanwhile (another process used this pad); try again"
                        .into(),
                ));
            }
            Ok(())
        })
    }

    /// Whether an envelope with this hash was accepted from the contact.
    pub fn envelope_accepted(&self, contact_id: i64, hash: &[u8; 32]) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM accepted_envelopes WHERE contact_id = ?1 AND hash = ?2")?
            .query_row(params![contact_id, &hash[..]], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Remembers that an envelope with this hash was accepted from the
    /// contact (so that an identical resend is told apart from a different
    /// envelope reusing its key or pad bytes).
    pub fn note_accepted_envelope(&mut self, contact_id: i64, hash: &[u8; 32]) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO accepted_envelopes (contact_id, hash) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![contact_id, &hash[..]])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_paired;

    fn ledger(id: u8, contact_id: i64) -> PadLedger {
        PadLedger {
            pad_id: vec![id; 16],
            contact_id: Some(contact_id),
            peer_id: "peer".into(),
            role: "responder".into(),
            layout: 2,
            size: 4096,
            used: 0,
            received: vec![],
            file: format!("{id}.pad"),
            imported_at: 1,
            retired_at: None,
        }
    }

    #[test]
    fn the_ledger_only_moves_forward_and_only_from_where_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let id = test_paired(&mut store, "bob");
        assert_eq!(store.active_pad(id).unwrap(), None);
        assert!(store.reserve_pad(&[7; 16], 0, 10).is_err());
        store.install_pad(&ledger(7, id)).unwrap();
        store.reserve_pad(&[7; 16], 0, 132).unwrap();
        // A second process that read `used = 0` loses the race.
        let err = store.reserve_pad(&[7; 16], 0, 132).unwrap_err();
        assert!(err.to_string().contains("another process"), "{err}");
        assert!(store.reserve_pad(&[7; 16], 132, 100).is_err());
        assert!(store.reserve_pad(&[7; 16], 132, 132).is_err());
        assert_eq!(store.active_pad(id).unwrap().unwrap().used, 132);
    }

    #[test]
    fn a_pad_id_is_imported_once_ever_and_replacing_retires_the_old_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let bob = test_paired(&mut store, "bob");
        let carol = test_paired(&mut store, "carol");
        assert_eq!(store.install_pad(&ledger(1, bob)).unwrap(), None);
        store.reserve_pad(&[1; 16], 0, 500).unwrap();
        // The same pad for another contact, or again for the same one.
        for who in [bob, carol] {
            let err = store.install_pad(&ledger(1, who)).unwrap_err();
            assert!(err.to_string().contains("imported only once"), "{err}");
        }
        let retired = store.install_pad(&ledger(2, bob)).unwrap().unwrap();
        assert_eq!((retired.pad_id, retired.used), (vec![1; 16], 500));
        let old = store.pad_ledger(&[1; 16]).unwrap().unwrap();
        assert!(!old.is_active() && old.used == 500);
        // A retired pad stays refused, and can no longer be reserved in.
        let err = store.install_pad(&ledger(1, carol)).unwrap_err();
        assert!(err.to_string().contains("never be imported again"), "{err}");
        assert!(store.reserve_pad(&[1; 16], 500, 600).is_err());
        assert_eq!(store.active_pad(bob).unwrap().unwrap().pad_id, vec![2; 16]);
        assert_eq!(store.pad_ledgers().unwrap().len(), 2);
        assert_eq!(store.active_pad(carol).unwrap(), None);
    }

    #[test]
    fn a_failed_step_inside_atomically_rolls_the_whole_transaction_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let bob = test_paired(&mut store, "bob");
        store.install_pad(&ledger(3, bob)).unwrap();
        let result: Result<()> = store.atomically(|s| {
            s.reserve_pad(&[3; 16], 0, 100)?;
            s.note_accepted_envelope(bob, &[9; 32])?;
            s.reserve_pad(&[3; 16], 0, 200)
        });
        assert!(result.is_err());
        assert_eq!(store.active_pad(bob).unwrap().unwrap().used, 0);
        assert!(!store.envelope_accepted(bob, &[9; 32]).unwrap());
        store
            .atomically(|s| {
                s.reserve_pad(&[3; 16], 0, 100)?;
                s.note_accepted_envelope(bob, &[9; 32])
            })
            .unwrap();
        assert_eq!(store.active_pad(bob).unwrap().unwrap().used, 100);
        assert!(store.envelope_accepted(bob, &[9; 32]).unwrap());
    }
}
