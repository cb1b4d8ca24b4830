//! Finding contacts again on the public DHT (the Amino DHT the grid
//! joins): while online, this node provides today's rendezvous key of
//! every contact (see [`zks_pad::rendezvous`]); when a message to a contact
//! cannot be delivered, it looks the contact's keys up, and a provider that
//! is the contact is dialled at the addresses of its provider record
//! (relayed ones included; DCUtR then tries a direct connection). The DHT
//! sees opaque keys that change daily, never a contact's name or peer id
//! next to ours in one record.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;
use zks_grid::swarm::SwarmClient;
use zks_pad::rendezvous::{day_key, legacy_secret, lookup_days, provide_days};

use crate::clock::now_secs;
use crate::{Node, NodeError};

/// How often the provided keys are checked (new contacts, a new day).
const ANNOUNCE_EVERY: Duration = Duration::from_secs(60);
/// A contact is looked up at most this often.
const LOOKUP_EVERY: Duration = Duration::from_secs(20);
/// How long one lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Rendezvous lookups in flight or done lately, per contact peer id.
#[derive(Debug, Default)]
pub(crate) struct Lookups(std::sync::Mutex<HashMap<libp2p::PeerId, Instant>>);

/// The DHT key of a rendezvous day key: shaped as a sha2-256 multihash,
/// as Amino DHT servers expect provider keys to be.
fn dht_key(day_key: &[u8; 32]) -> Vec<u8> {
    let mut key = vec![0x12, 0x20];
    key.extend_from_slice(day_key);
    key
}

impl Node {
    /// A contact's rendezvous secret: the pairing's, or for a pairing made
    /// before there were any, the weaker one from its session id. `None`
    /// for a contact restored from a backup and not paired again (no
    /// session to find it by).
    pub(crate) fn rendezvous_secret(
        &self,
        contact: &zks_store::ContactRecord,
    ) -> Result<Option<Zeroizing<[u8; 32]>>, NodeError> {
        let stored = self.with_store(|store| Ok(store.rendezvous_secret(contact.id)?))?;
        if let Some(secret) = stored
            && let Ok(secret) = <[u8; 32]>::try_from(secret.as_slice())
        {
            return Ok(Some(Zeroizing::new(secret)));
        }
        if contact.session_id.starts_with(b"restored:") {
            return Ok(None);
        }
        Ok(Some(legacy_secret(&contact.session_id)))
    }

    /// The DHT keys to provide now: each contact's key of today, and of
    /// tomorrow in the day's last hour (so a contact whose clock leads
    /// finds us).
    fn keys_to_provide(&self, now: u64) -> Result<HashSet<Vec<u8>>, NodeError> {
        let contacts = self.with_store(|store| Ok(store.contacts()?))?;
        let days = provide_days(now);
        let mut keys = HashSet::new();
        for contact in &contacts {
            if let Some(secret) = self.rendezvous_secret(contact)? {
                for day in &days {
                    keys.insert(dht_key(&day_key(&secret, *day)));
                }
            }
        }
        Ok(keys)
    }

    /// Keeps this node announced under its contacts' rendezvous keys while
    /// online: new keys are provided, keys of past days are dropped.
    pub(crate) fn run_rendezvous(&self, swarm: SwarmClient) {
        let node = self.clone();
        self.spawn_until_stopped(async move {
            let mut provided: HashSet<Vec<u8>> = HashSet::new();
            loop {
                match node.keys_to_provide(now_secs()) {
                    Ok(keys) => {
                        for gone in provided.difference(&keys) {
                            let _ = swarm.provide_key(gone.clone(), false).await;
                        }
                        for new in keys.difference(&provided) {
                            if swarm.provide_key(new.clone(), true).await.is_err() {
                                return;
                            }
                        }
                        provided = keys;
                    }
                    Err(NodeError::Stopped) => return,
                    Err(e) => tracing::warn!("rendezvous keys: {e}"),
                }
                tokio::time::sleep(ANNOUNCE_EVERY).await;
            }
        });
    }

    /// Looks `contact` up by its rendezvous keys, in the background, unless
    /// it was looked up within [`LOOKUP_EVERY`] or is connected; a contact
    /// found is dialled (and its queued messages go once it is connected).
    /// Called for every message due, so the delivery path pays only a map
    /// lookup; asking the swarm happens in the background task.
    pub(crate) fn look_up_contact(
        &self,
        swarm: &SwarmClient,
        contact: &zks_store::ContactRecord,
        peer: libp2p::PeerId,
    ) {
        {
            let mut lookups = self
                .inner
                .lookups
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            if lookups
                .get(&peer)
                .is_some_and(|at| now.duration_since(*at) < LOOKUP_EVERY)
            {
                return;
            }
            lookups.retain(|_, at| now.duration_since(*at) < LOOKUP_EVERY);
            lookups.insert(peer, now);
        }
        let Ok(Some(secret)) = self.rendezvous_secret(contact) else {
            return;
        };
        let keys: Vec<Vec<u8>> = lookup_days(now_secs())
            .iter()
            .map(|day| dht_key(&day_key(&secret, *day)))
            .collect();
        let swarm = swarm.clone();
        let name = contact.name.clone();
        let node = self.clone();
        self.spawn_until_stopped(async move {
            if swarm.connections(peer).await.is_ok_and(|c| !c.is_empty()) {
                // Connected: no lookup, and none held back should the
                // connection drop a moment later.
                node.inner
                    .lookups
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&peer);
                return;
            }
            let started = Instant::now();
            for key in keys {
                if let Ok(true) = swarm.find_provider(key, peer, LOOKUP_TIMEOUT).await {
                    tracing::info!(contact = %name, after = ?started.elapsed(), "found on the DHT by its rendezvous key");
                    return;
                }
            }
            tracing::debug!(contact = %name, "not found on the DHT");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dht_keys_are_shaped_as_sha256_multihashes() {
        let key = dht_key(&[9; 32]);
        assert_eq!(key.len(), 34);
        assert_eq!(&key[..2], &[0x12, 0x20]);
        assert_eq!(&key[2..], &[9; 32]);
    }
}
