//! Mailbox ids: where a sender deposits envelopes for a contact who is
//! offline, on grid seeders that offer mailboxes (`/zks/mailbox/1.0.0`).
//!
//! Each pairing's rendezvous secret (see [`crate::rendezvous`]) gives each
//! UTC day and each direction its own id,
//! `derive_key("zks mailbox v1 day id", secret ‖ day u64 BE ‖ recipient)`,
//! where `recipient` is the recipient's PeerId bytes. Only the two contacts
//! can compute it; a host sees an opaque 32-byte id that changes every day,
//! differs from the rendezvous key of the same day (another context) and
//! from the other direction's id, so it cannot link days, directions or
//! the pair.

use crate::kdf;
use crate::rendezvous::DAY_SECS;

/// How many days back a recipient looks: the hosts' time to live.
pub const MAILBOX_DAYS: u64 = 14;

/// The mailbox id of envelopes for `recipient` (its PeerId bytes) within
/// the pairing of `secret`, on UTC day `day` (Unix time / 86,400).
pub fn mailbox_id(secret: &[u8; 32], day: u64, recipient: &[u8]) -> [u8; 32] {
    kdf::derive(kdf::MAILBOX_DAY, &[secret, &day.to_be_bytes(), recipient])
}

/// The days whose mailboxes a recipient polls at Unix time `now`, oldest
/// first: from the day of its last successful poll (`last_polled`, if
/// any) or else [`MAILBOX_DAYS`] back, to today, and tomorrow too in the
/// last hour of a day (a sender whose clock leads deposits there).
pub fn poll_days(now: u64, last_polled: Option<u64>) -> Vec<u64> {
    let today = now / DAY_SECS;
    let oldest = today.saturating_sub(MAILBOX_DAYS);
    let first = last_polled.map_or(oldest, |d| d.clamp(oldest, today));
    let last = if now % DAY_SECS >= DAY_SECS - 3_600 {
        today + 1
    } else {
        today
    };
    (first..=last).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_a_known_answer_and_differ_per_day_direction_and_secret() {
        let secret = [7u8; 32];
        let (alice, bob) = (b"alice's peer id".as_slice(), b"bob's peer id".as_slice());
        let id = mailbox_id(&secret, 20_425, bob);
        // Known answer: the layout spelled out with the blake3 crate, and
        // its value, so a change breaks this test and not a release's
        // mailboxes with the previous one.
        let mut input = Vec::from([7u8; 32]);
        input.extend_from_slice(&20_425u64.to_be_bytes());
        input.extend_from_slice(bob);
        assert_eq!(
            id,
            *blake3::Hasher::new_derive_key("zks mailbox v1 day id")
                .update(&input)
                .finalize()
                .as_bytes()
        );
        assert_eq!(hex(&id), KNOWN);
        assert_ne!(id, mailbox_id(&secret, 20_426, bob), "per day");
        assert_ne!(id, mailbox_id(&secret, 20_425, alice), "per direction");
        assert_ne!(id, mailbox_id(&[8u8; 32], 20_425, bob), "per pairing");
        assert_ne!(
            id,
            crate::rendezvous::day_key(&secret, 20_425),
            "not the rendezvous key"
        );
    }

    const KNOWN: &str = "bb7c612e2ebe80db338e757e100fe09bb267d76c1835e9b648b9a316ab2def96";

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn polls_cover_the_days_since_the_last_poll_within_the_ttl() {
        let day = 20_425;
        let noon = day * DAY_SECS + 12 * 3_600;
        assert_eq!(
            poll_days(noon, None),
            ((day - 14)..=day).collect::<Vec<_>>()
        );
        assert_eq!(poll_days(noon, Some(day - 2)), vec![day - 2, day - 1, day]);
        assert_eq!(
            poll_days(noon, Some(day - 100)).len(),
            15,
            "never past the TTL"
        );
        assert_eq!(
            poll_days(noon, Some(day + 5)),
            vec![day],
            "a clock that ran ahead"
        );
        let late = (day + 1) * DAY_SECS - 60;
        assert_eq!(poll_days(late, Some(day)), vec![day, day + 1]);
    }
}
