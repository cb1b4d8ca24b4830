//! True-pad ledgers: which bytes of a shared pad this side consumed and which
//! ranges the contact has been seen to use. A reservation is committed here
//! before the envelope that uses it is made, so a crash can waste pad bytes
//! but never reuse them.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Result, Store, StoreError};

/// A pad shared with one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PadRecord {
    /// Pad identifier (16 bytes).
    pub pad_id: Vec<u8>,
    /// Size in bytes.
    pub size: u64,
    /// Bytes of our half consumed so far.
    pub used: u64,
    /// Ranges of the contact's half seen used, sorted and disjoint.
    pub received: Vec<(u64, u64)>,
    /// The pad file (our copy, inside the data directory).
    pub file: String,
}

pub(crate) fn write_received(
    tx: &Transaction<'_>,
    contact_id: i64,
    received: &[(u64, u64)],
) -> Result<()> {
    let text = serde_json::to_string(received).unwrap_or_else(|_| "[]".into());
    let n = tx.execute(
        "UPDATE pads SET received = ?1 WHERE contact_id = ?2",
        params![text, contact_id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(
            "no pad is shared with this contact".into(),
        ));
    }
    Ok(())
}

impl Store {
    /// Installs (or replaces) the pad shared with a contact.
    pub fn set_pad(&mut self, contact_id: i64, pad: &PadRecord) -> Result<()> {
        let received = serde_json::to_string(&pad.received).unwrap_or_else(|_| "[]".into());
        self.write(|tx| {
            tx.execute(
                "INSERT INTO pads (contact_id, pad_id, size, used, received, file)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (contact_id) DO UPDATE SET pad_id = excluded.pad_id,
                   size = excluded.size, used = excluded.used,
                   received = excluded.received, file = excluded.file",
                params![
                    contact_id,
                    pad.pad_id,
                    pad.size as i64,
                    pad.used as i64,
                    received,
                    pad.file
                ],
            )?;
            Ok(())
        })
    }

    /// The pad shared with a contact, if any.
    pub fn pad(&self, contact_id: i64) -> Result<Option<PadRecord>> {
        let row = self
            .conn
            .query_row(
                "SELECT pad_id, size, used, received, file FROM pads WHERE contact_id = ?1",
                [contact_id],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(pad_id, size, used, received, file)| {
            let received = serde_json::from_str(&received).map_err(|e| StoreError::Corrupt {
                what: "pad ledger".into(),
                message: e.to_string(),
            })?;
            Ok(PadRecord {
                pad_id,
                size: size as u64,
                used: used as u64,
                received,
                file,
            })
        })
        .transpose()
    }

    /// Every pad, of every contact.
    pub fn pads(&self) -> Result<Vec<PadRecord>> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT contact_id FROM pads ORDER BY contact_id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter()
            .filter_map(|id| self.pad(id).transpose())
            .collect()
    }

    /// Commits a reservation: our consumed count grows to `used`. Refuses to
    /// go backwards (that would hand out the same bytes twice).
    pub fn reserve_pad(&mut self, contact_id: i64, used: u64) -> Result<()> {
        self.write(|tx| {
            let current: i64 = tx
                .query_row(
                    "SELECT used FROM pads WHERE contact_id = ?1",
                    [contact_id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound("no pad is shared with this contact".into()))?;
            if used < current as u64 {
                return Err(StoreError::Conflict(
                    "pad ledger would move backwards".into(),
                ));
            }
            tx.execute(
                "UPDATE pads SET used = ?1 WHERE contact_id = ?2",
                params![used as i64, contact_id],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewContact;

    #[test]
    fn the_ledger_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let id = store
            .complete_pairing(
                b"h",
                &NewContact {
                    name: "bob".into(),
                    peer_id: "p".into(),
                    identity_key: vec![],
                    addresses: vec![],
                    safety_code: String::new(),
                    role: "responder".into(),
                    session_id: vec![1],
                    session: vec![],
                    reply: None,
                },
            )
            .unwrap();
        assert_eq!(store.pad(id).unwrap(), None);
        assert!(store.reserve_pad(id, 10).is_err());
        let pad = PadRecord {
            pad_id: vec![7; 16],
            size: 4096,
            used: 0,
            received: vec![],
            file: "p.pad".into(),
        };
        store.set_pad(id, &pad).unwrap();
        store.reserve_pad(id, 132).unwrap();
        assert!(store.reserve_pad(id, 100).is_err());
        assert_eq!(store.pad(id).unwrap().unwrap().used, 132);
    }
}
