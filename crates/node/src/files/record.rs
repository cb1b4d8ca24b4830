//! Reading stored transfer records: their ids, chunk bitmaps, the offer
//! they were made from and the pad they reserved bytes in.

use zeroize::Zeroizing;
use zks_pad::file::{FileOffer, FileProtection, OfferTimelock, TransferId};
use zks_store::{ContactRecord, PadLedger, Store, TransferRecord};

use crate::NodeError;

pub(super) fn parse_id(id: &[u8]) -> Result<TransferId, NodeError> {
    id.try_into()
        .map_err(|_| NodeError::Corrupt("the stored transfer id is damaged".into()))
}

pub(super) fn bit(bitmap: &[u8], i: u64) -> bool {
    bitmap
        .get((i / 8) as usize)
        .is_some_and(|b| b & (1 << (i % 8)) != 0)
}

pub(super) fn set_bit(bitmap: &mut [u8], i: u64) {
    if let Some(b) = bitmap.get_mut((i / 8) as usize) {
        *b |= 1 << (i % 8);
    }
}

/// The offer a stored transfer was made from (`None` if its key or pad
/// offset is damaged).
pub(super) fn offer_of(t: &TransferRecord) -> Option<FileOffer> {
    let protection = match (t.secret.as_deref(), t.pad_offset) {
        (Some(key), None) if key.len() == 32 => {
            let mut k = Zeroizing::new([0u8; 32]);
            k.copy_from_slice(key);
            FileProtection::Grid { key: k }
        }
        (None, Some(offset)) => FileProtection::Pad { offset },
        _ => return None,
    };
    Some(FileOffer {
        id: t.transfer_id.as_slice().try_into().ok()?,
        name: t.name.clone(),
        size: t.size,
        blake3: t.blake3.as_slice().try_into().unwrap_or_default(),
        chunk_size: t.chunk_size,
        protection,
        timelock: match &t.timelock {
            Some(lock) => Some(OfferTimelock {
                round: lock.round,
                chain: lock.chain_hash.as_slice().try_into().ok()?,
            }),
            None => None,
        },
    })
}

/// The contact a transfer is with (`None` once that contact is gone).
pub(super) fn contact_of(
    store: &Store,
    t: &TransferRecord,
) -> Result<Option<ContactRecord>, NodeError> {
    Ok(store.contacts()?.into_iter().find(|c| c.id == t.contact_id))
}

/// The contact a transfer is with, which must still be there.
pub(super) fn live_contact_of(
    store: &Store,
    t: &TransferRecord,
) -> Result<ContactRecord, NodeError> {
    contact_of(store, t)?
        .ok_or_else(|| NodeError::BadInput("the transfer's contact is gone".into()))
}

/// The pad a pad-mode transfer reserved its range in, while that pad is
/// still the one in use: a transfer never reads another pad's bytes at its
/// offset, even if the pad was replaced meanwhile (the transfer then fails).
pub(super) fn transfer_pad(
    store: &Store,
    t: &TransferRecord,
) -> Result<Option<PadLedger>, NodeError> {
    if t.pad_offset.is_none() {
        return Ok(None);
    }
    let replaced = || {
        NodeError::BadInput(
            "the one-time pad of this transfer was replaced; send the file again".into(),
        )
    };
    let pad_id = t.pad_id.as_deref().ok_or_else(replaced)?;
    match store.pad_ledger(pad_id)? {
        Some(pad) if pad.is_active() && pad.contact_id == Some(t.contact_id) => Ok(Some(pad)),
        _ => Err(replaced()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmaps() {
        let mut b = vec![0u8; 2];
        set_bit(&mut b, 0);
        set_bit(&mut b, 9);
        set_bit(&mut b, 99); // out of range: ignored
        assert!(bit(&b, 0) && bit(&b, 9) && !bit(&b, 1) && !bit(&b, 99));
    }
}
