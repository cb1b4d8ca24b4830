//! Addresses: where this node listens (every interface, or loopback only
//! under `ZKS_LOOPBACK_ONLY=1`) and where a contact can be reached now.

use zks_grid::swarm::SwarmClient;

use crate::Node;

/// `ZKS_LOOPBACK_ONLY=1` (set by the test command): listen on 127.0.0.1
/// only and never use mDNS, whatever the settings say, so tests of the app
/// and the CLI stay on loopback.
pub(crate) fn loopback_only() -> bool {
    std::env::var_os("ZKS_LOOPBACK_ONLY").is_some_and(|v| v == "1")
}

/// Listen on every interface, TCP and QUIC, any port.
pub(crate) fn default_listen() -> Vec<libp2p::Multiaddr> {
    listen_on_port(0)
}

/// Listen on every interface on `port`, TCP and QUIC (0: any port); only
/// on 127.0.0.1 under `ZKS_LOOPBACK_ONLY=1` (tests).
pub(crate) fn listen_on_port(port: u16) -> Vec<libp2p::Multiaddr> {
    let ip = if loopback_only() {
        "127.0.0.1"
    } else {
        "0.0.0.0"
    };
    [
        format!("/ip4/{ip}/tcp/{port}"),
        format!("/ip4/{ip}/udp/{port}/quic-v1"),
    ]
    .iter()
    .filter_map(|a| a.parse().ok())
    .collect()
}

impl Node {
    /// Where a contact can be reached now: what the swarm learned (the
    /// contact's Identify, mDNS, the DHT) first, then the stored addresses.
    /// Newly learned addresses are stored (at most 8), so they survive a
    /// restart.
    pub(crate) async fn reach(
        &self,
        swarm: &SwarmClient,
        contact: &zks_store::ContactRecord,
        peer: libp2p::PeerId,
    ) -> Vec<libp2p::Multiaddr> {
        let learned = swarm.peer_addresses(peer).await.unwrap_or_default();
        let mut merged: Vec<String> = learned.iter().map(ToString::to_string).collect();
        for known in &contact.addresses {
            if !merged.contains(known) {
                merged.push(known.clone());
            }
        }
        merged.truncate(8);
        if !learned.is_empty() && merged != contact.addresses {
            let id = contact.id;
            let stored = merged.clone();
            let _ = self.with_store_mut(|store| Ok(store.set_contact_addresses(id, &stored)?));
        }
        merged.iter().filter_map(|a| a.parse().ok()).collect()
    }
}
