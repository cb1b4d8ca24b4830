//! Rendezvous keys: how two paired contacts find each other on the public
//! DHT after their addresses changed, without telling it who pairs with
//! whom.
//!
//! Each pairing has a *rendezvous secret* derived from the pairing root
//! (so only the two can compute it) and kept for the life of the pairing;
//! it opens no message (the session's keys come from the root by other
//! derivations, and the root is erased). Each UTC day has its own key,
//! `derive_key("zks rendezvous v1 day key", secret ‖ day)`: the DHT sees an
//! opaque 32-byte key that changes every day, and nobody without the secret
//! can link two days' keys or tell which pair a key belongs to.
//!
//! Pairings made before rendezvous secrets existed derive theirs from the
//! session id instead ([`legacy_secret`]), which is weaker: the session id
//! travels in every envelope, so whoever holds one of the pair's envelopes
//! can compute their keys. Pairing again gives a proper secret.

use zeroize::Zeroizing;

use crate::kdf;

/// Seconds in a rendezvous day (UTC days).
pub const DAY_SECS: u64 = 86_400;

/// The rendezvous key of `secret` on UTC day `day` (Unix time / 86,400).
pub fn day_key(secret: &[u8; 32], day: u64) -> [u8; 32] {
    kdf::derive(kdf::RENDEZVOUS_DAY, &[secret, &day.to_be_bytes()])
}

/// The rendezvous secret of a pairing that predates them, from its session
/// id (see the module documentation for why it is weaker).
pub fn legacy_secret(session_id: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(kdf::derive(kdf::RENDEZVOUS_LEGACY, &[session_id]))
}

/// Whether `now` is in the last hour of its day, when the other side's
/// clock may already be on the next one.
fn day_ending(now: u64) -> bool {
    now % DAY_SECS >= DAY_SECS - 3_600
}

/// The days whose keys to look up at Unix time `now`: today, and yesterday
/// (the other side's clock, or its announcement, may lag) — or tomorrow in
/// the last hour of a day (its clock may lead).
pub fn lookup_days(now: u64) -> [u64; 2] {
    let today = now / DAY_SECS;
    if day_ending(now) {
        [today, today + 1]
    } else {
        [today, today.saturating_sub(1)]
    }
}

/// The days whose keys to provide at Unix time `now`: today, and tomorrow
/// too in the last hour of a day (so a contact whose clock leads finds us).
pub fn provide_days(now: u64) -> Vec<u64> {
    let today = now / DAY_SECS;
    if day_ending(now) {
        vec![today, today + 1]
    } else {
        vec![today]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_per_day_and_per_secret_and_are_stable() {
        let a = [7u8; 32];
        let b = [8u8; 32];
        assert_eq!(day_key(&a, 20_425), day_key(&a, 20_425));
        assert_ne!(day_key(&a, 20_425), day_key(&a, 20_426));
        assert_ne!(day_key(&a, 20_425), day_key(&b, 20_425));
        assert_ne!(
            *legacy_secret(b"session one"),
            *legacy_secret(b"session two")
        );
        // The layout, spelled out with the blake3 crate's own API: a change
        // of context string or input order would break every pair's
        // rendezvous with a peer on the previous release.
        let mut input = Vec::from([7u8; 32]);
        input.extend_from_slice(&20_425u64.to_be_bytes());
        assert_eq!(
            day_key(&a, 20_425),
            *blake3::Hasher::new_derive_key("zks rendezvous v1 day key")
                .update(&input)
                .finalize()
                .as_bytes()
        );
    }

    #[test]
    fn lookups_cover_the_neighbouring_day_at_the_edges() {
        let day = 20_425;
        assert_eq!(lookup_days(day * DAY_SECS + 10), [day, day - 1]);
        assert_eq!(lookup_days(day * DAY_SECS + 12 * 3_600), [day, day - 1]);
        assert_eq!(lookup_days((day + 1) * DAY_SECS - 60), [day, day + 1]);
        assert_eq!(provide_days(day * DAY_SECS + 10), vec![day]);
        assert_eq!(provide_days((day + 1) * DAY_SECS - 60), vec![day, day + 1]);
    }
}
