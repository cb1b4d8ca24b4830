//! Rate budgets and connection caps: the [`Limits`] a node runs with, the
//! token bucket ([`UploadBudget`]) behind the node-wide upload cap and every
//! per-peer rate, and the bounded map of per-peer buckets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a reservation lasts before the peer must renew it.
pub const RELAY_RESERVATION_DURATION: Duration = Duration::from_secs(3600);

/// How long a node waits for AutoNAT to confirm a public address before it
/// takes itself for unreachable (AutoNAT's first probe runs 15 s after
/// start; a probe that fails or a private verdict decides at once). The
/// default of [`Limits::reserve_after`].
pub const RESERVE_AFTER: Duration = Duration::from_secs(30);
/// Rounds (and burst) one peer may be served per second over
/// `/zks/chunk/1.0.0`: four whole chunks, well above what an honest sync
/// verifies; beyond it the answer is empty (ask someone else), as when the
/// node-wide upload cap is reached.
pub const CHUNK_PEER_RATE: u64 = 4 * 16_384;
/// Established incoming connections a node accepts in all.
pub const MAX_INCOMING: u32 = 128;
/// Incoming connections still in their handshake at once.
pub const MAX_PENDING_INCOMING: u32 = 32;
/// Resident memory of the whole process above which new connections (in
/// and out) are refused until it falls again: a last line behind the caps
/// above, which keep a flooded daemon near 64 MiB.
pub const MAX_MEMORY: usize = 1 << 30;
/// Established connections with any one peer (TCP, QUIC, relayed, both ways).
pub const MAX_PER_PEER: u32 = 4;
/// The per-peer serving rate, connection caps and relay wait of a node (this
/// module's constants, lowered in tests that need to reach them quickly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Beacon rounds served per second per peer.
    pub served_rounds_per_sec: u64,
    /// Established incoming connections in all.
    pub max_incoming: u32,
    /// Resident bytes of the process above which no new connection is made
    /// or accepted.
    pub max_memory_bytes: usize,
    /// How long to wait for a confirmed public address before taking
    /// relay slots ([`RESERVE_AFTER`]).
    pub reserve_after: Duration,
    /// How long a slot on our relay server lasts unless renewed
    /// ([`RELAY_RESERVATION_DURATION`]).
    pub relay_reservation: Duration,
    /// How long a connection no protocol uses stays open, and how long a
    /// peer must have gone unused before its connections are trimmed
    /// ([`IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// Connected peers kept before the unused ones are trimmed
    /// ([`KEEP_PEERS`]).
    pub keep_peers: usize,
    /// How often the grid's Kademlia refreshes its routing table (a lookup
    /// of our own key, then one in each bucket: [`DHT_REFRESH`]).
    pub dht_refresh: Duration,
    /// Amino DHT servers dialled a minute, while too few relays are in
    /// sight, in the hope that they relay ([`RELAY_PROBES`]; 0: relays are
    /// found among grid peers and through the grid DHT alone).
    pub amino_relay_probes: usize,
}

/// Amino DHT servers dialled at once when too few relays are in sight, and
/// relays found through the grid DHT dialled per lookup.
pub const RELAY_PROBES: usize = 4;

/// How long a connection no protocol uses stays open: the DHT's queries
/// open many, and a peer met once is often met again soon.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Connected peers a node keeps before it closes the connections of those
/// unused for [`IDLE_TIMEOUT`] (GossipSub would keep every one open).
pub const KEEP_PEERS: usize = 64;
/// How often the grid's Kademlia refreshes its routing table: every 10
/// minutes, as go-libp2p-kad-dht does, rather than rust-libp2p's 5. A
/// refresh is a lookup in every bucket, some 20 FIND_NODE requests each:
/// most of the DHT traffic at rest of a node that holds a few chunks.
pub const DHT_REFRESH: Duration = Duration::from_secs(600);

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            served_rounds_per_sec: CHUNK_PEER_RATE,
            max_incoming: MAX_INCOMING,
            max_memory_bytes: MAX_MEMORY,
            reserve_after: RESERVE_AFTER,
            relay_reservation: RELAY_RESERVATION_DURATION,
            idle_timeout: IDLE_TIMEOUT,
            keep_peers: KEEP_PEERS,
            dht_refresh: DHT_REFRESH,
            amino_relay_probes: RELAY_PROBES,
        }
    }
}

/// Peers whose addresses and buckets are remembered; beyond this a map
/// starts over.
pub(super) const REMEMBERED_PEERS: usize = 4096;

/// Takes `amount` from `key`'s token bucket (made at `rate` on first use);
/// false when the bucket is empty. At most [`REMEMBERED_PEERS`] buckets are
/// kept: beyond, the map starts over (a fresh bucket is full, so forgetting
/// only ever errs on the generous side).
pub(super) fn take_from<K: std::hash::Hash + Eq>(
    budgets: &mut HashMap<K, UploadBudget>,
    key: K,
    rate: u64,
    amount: u64,
) -> bool {
    let now = Instant::now();
    if budgets.len() >= REMEMBERED_PEERS && !budgets.contains_key(&key) {
        budgets.clear();
    }
    budgets
        .entry(key)
        .or_insert_with(|| UploadBudget::new(rate, now))
        .take(amount, now)
}

/// A token bucket of rounds per second with up to one second of burst.
#[derive(Debug, Clone)]
pub struct UploadBudget {
    rate: u64,
    tokens: f64,
    last: Instant,
}

impl UploadBudget {
    /// A full bucket of `rate` rounds per second.
    pub fn new(rate: u64, now: Instant) -> UploadBudget {
        UploadBudget {
            rate,
            tokens: rate as f64,
            last: now,
        }
    }

    /// Takes `rounds` at time `now`; false when over the cap. A request
    /// larger than a second's budget is allowed once the bucket is full,
    /// leaving a debt that later requests wait out.
    pub fn take(&mut self, rounds: u64, now: Instant) -> bool {
        let rate = self.rate as f64;
        self.tokens =
            (self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * rate).min(rate);
        self.last = now;
        if self.tokens >= (rounds as f64).min(rate) {
            self.tokens -= rounds as f64;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_budget_refills_at_its_rate_and_carries_debt() {
        let t0 = Instant::now();
        let mut b = UploadBudget::new(1000, t0);
        assert!(b.take(600, t0));
        assert!(!b.take(600, t0), "only 400 left");
        assert!(
            b.take(600, t0 + Duration::from_millis(200)),
            "400 + 200 refilled"
        );
        // A request larger than a second's budget passes on a full bucket,
        // then everything waits until the debt is paid.
        let t1 = t0 + Duration::from_secs(10);
        assert!(b.take(5000, t1));
        assert!(!b.take(1, t1 + Duration::from_secs(3)));
        assert!(b.take(1, t1 + Duration::from_millis(4100)));
    }
}
