//! Invite links: pairing from a small QR code a camera reads (decision
//! 0067). The inviter's code carries, besides the full invite, a link
//! ([`zks_pad::InviteLink`]: the invite's BLAKE3 hash, the inviter's
//! identity key and a few addresses) whose `ZKS1:` text fits a QR code of
//! version 10. Whoever accepts a link fetches the full invite from the
//! inviter's node over `/zks/invite/1.0.0` ([`crate::wire::invite`]),
//! checks it against the hash, and accepts it as if it had been scanned:
//! the same hybrid exchange, the same safety code, the reply going back
//! over the network as for any invite with addresses.

use libp2p::Multiaddr;
use zks_grid::swarm::SwarmClient;
use zks_pad::{Invite, InviteLink, PendingInvite, invite::code_kind, peer_id_of};
use zks_qr as qr;

use crate::clock::now_secs;
use crate::pairing::{AcceptedInvite, decode_code_input};
use crate::wire::invite;
use crate::{Node, NodeError};

/// The `ZKS1:` text of the link to `invite` with as many of `addresses` as
/// fit; `None` without any address (then only the full code works).
pub(crate) fn link_text(invite: &Invite, addresses: &[String]) -> Option<String> {
    // The link names the device by its key already: an address's own
    // `/p2p/<peer id>` would only take the room of another address.
    let me = peer_id_of(&invite.sender.identity_key).ok()?.to_string();
    let short: Vec<String> = addresses
        .iter()
        .map(|a| match a.rsplit_once("/p2p/") {
            Some((head, peer)) if peer == me => head.to_owned(),
            _ => a.clone(),
        })
        .collect();
    let link = InviteLink::to(invite, &short)?;
    qr::to_text(link.as_bytes()).ok()
}

impl Node {
    /// Accepts an invite in any form [`decode_code_input`] takes, an invite
    /// link included: for a link, the full invite is fetched from the
    /// inviter's node first (through this node's swarm when it is online,
    /// else through a swarm of its own for the request) and checked
    /// against the link.
    pub async fn accept_code(
        &self,
        input: &[u8],
        as_name: Option<&str>,
    ) -> Result<AcceptedInvite, NodeError> {
        let bytes = decode_code_input(input)?;
        if code_kind(&bytes) != Some("invite link") {
            return self.accept_invite(&bytes, as_name);
        }
        let link = InviteLink::decode(&bytes)?;
        link.check_fresh(now_secs())?;
        let invite = self.fetch_invite(&link).await?;
        self.accept_invite(invite.as_bytes(), as_name)
    }

    /// The invite behind `link`, from the inviter's node, checked.
    async fn fetch_invite(&self, link: &InviteLink) -> Result<Invite, NodeError> {
        let peer = peer_id_of(&link.identity_key)
            .map_err(|_| NodeError::BadInput("the invite link names no valid device".into()))?;
        let addresses: Vec<Multiaddr> = link
            .addresses
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        if addresses.is_empty() {
            return Err(NodeError::BadInput(
                "the invite link holds no address this app can dial".into(),
            ));
        }
        let swarm = match self.online_swarm() {
            Some(swarm) => swarm,
            None => self.request_swarm().await?,
        };
        let answer = swarm
            .send_direct(invite::ID, peer, addresses, link.invite_hash.to_vec())
            .await
            .map_err(|e| {
                NodeError::Unreachable(format!(
                    "cannot reach the device that made this invite link ({e}); both devices must be online and reach each other, or use the full code"
                ))
            })?;
        if answer.starts_with(b"err:busy") {
            return Err(NodeError::Busy(
                "the device that made this invite link is busy; try again in a moment".into(),
            ));
        }
        if let Some(reason) = answer.strip_prefix(b"err:") {
            return Err(NodeError::BadInput(format!(
                "the device that made this invite link refused: {}",
                String::from_utf8_lossy(reason)
            )));
        }
        let invite = Invite::decode(&answer)?;
        link.check(&invite)?;
        Ok(invite)
    }

    /// A swarm that only asks (no listening, no inbound), for one request
    /// while this node is not online.
    async fn request_swarm(&self) -> Result<SwarmClient, NodeError> {
        let config = zks_grid::SwarmConfig {
            direct: crate::wire::direct_protocols(),
            ..zks_grid::SwarmConfig::new(self.libp2p_keypair()?)
        };
        let cache = std::sync::Arc::new(
            zks_grid::BeaconCache::open(&self.cache_dir(), u64::MAX).map_err(NodeError::grid)?,
        );
        zks_grid::swarm::start(config, cache)
            .await
            .map_err(NodeError::grid)
    }

    /// The answer to an invite request (`/zks/invite/1.0.0`): the pending
    /// invite with that hash, or why not.
    pub(crate) fn serve_invite(&self, request: &[u8]) -> Vec<u8> {
        let Ok(hash) = <[u8; 32]>::try_from(request) else {
            return invite::BAD_REQUEST.to_vec();
        };
        let found = self.with_store(|store| {
            if store.invite_used(&hash)? {
                return Ok(None);
            }
            Ok(store.pending_invite(&hash)?)
        });
        match found {
            Ok(Some((state, expires_at))) if expires_at >= now_secs() => {
                match PendingInvite::from_bytes(&state) {
                    Ok(pending) => pending.invite().as_bytes().to_vec(),
                    Err(_) => b"err:corrupt: the stored invite is damaged".to_vec(),
                }
            }
            Ok(_) => invite::NOT_FOUND.to_vec(),
            Err(e) => format!("err:{}: {e}", e.code()).into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OnlineConfig, listen_addresses};

    fn loopback() -> OnlineConfig {
        OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..OnlineConfig::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_link_fetches_its_invite_over_the_network_and_pairs() {
        let tmp = tempfile::tempdir().unwrap();
        let alice = crate::test_support::started(&tmp.path().join("alice")).await;
        let bob = crate::test_support::started(&tmp.path().join("bob")).await;
        let swarm = alice.go_online(loopback()).await.unwrap();
        let at = listen_addresses(&swarm).await;
        let invite = alice.create_invite(Some("Alice"), 600).unwrap();
        let full = Invite::decode(&qr::from_text(&invite.text).unwrap()).unwrap();
        let text = link_text(&full, &at).unwrap();
        let version = qr::version_of(&text).unwrap();
        assert!(
            version <= 10,
            "version {version} for {} characters",
            text.len()
        );

        // Bob is offline: his node asks through a swarm of its own.
        let accepted = bob.accept_code(text.as_bytes(), None).await.unwrap();
        assert_eq!(accepted.contact.name, "Alice");
        // The same safety code as the full invite would have given: the
        // reply reaches Alice over the network and she finishes.
        let contact = alice
            .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
            .unwrap();
        assert_eq!(contact.safety_code, accepted.contact.safety_code);

        // Used now: the link no longer gives the invite.
        let again = bob.accept_code(text.as_bytes(), None).await.unwrap_err();
        assert!(again.to_string().contains("no such invite"), "{again}");
        alice.stop().await;
        bob.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_links_and_bad_requests_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let alice = crate::test_support::started(&tmp.path().join("alice")).await;
        let bob = crate::test_support::started(&tmp.path().join("bob")).await;
        let swarm = alice.go_online(loopback()).await.unwrap();
        let at = listen_addresses(&swarm).await;
        let invite = alice.create_invite(Some("Alice"), 600).unwrap();
        let full = Invite::decode(&qr::from_text(&invite.text).unwrap()).unwrap();

        // The server side: only 32-byte hashes of pending invites.
        assert_eq!(alice.serve_invite(b"short"), invite::BAD_REQUEST);
        assert_eq!(alice.serve_invite(&[7; 32]), invite::NOT_FOUND);
        assert_eq!(alice.serve_invite(&full.hash()), full.as_bytes());

        // A link whose hash names no invite at Alice's.
        let other = alice.create_invite(Some("Alice"), 600).unwrap();
        let other = Invite::decode(&qr::from_text(&other.text).unwrap()).unwrap();
        let mut forged = InviteLink::to(&other, &at).unwrap();
        forged.invite_hash = [9; 32];
        let bytes = rebuild(&forged);
        let err = bob.accept_code(&bytes, None).await.unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");

        // A link to a device that is not there.
        let text = link_text(&full, &["/ip4/127.0.0.1/tcp/9".to_owned()]).unwrap();
        let err = bob.accept_code(text.as_bytes(), None).await.unwrap_err();
        assert!(err.to_string().contains("cannot reach"), "{err}");
        // A damaged link.
        let mut damaged = qr::from_text(&link_text(&full, &at).unwrap()).unwrap();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        let err = bob.accept_code(&damaged, None).await.unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert!(bob.contacts().unwrap().is_empty(), "nothing changed");
        alice.stop().await;
        bob.stop().await;
    }

    /// `link`'s bytes after its fields were changed (a valid checksum).
    fn rebuild(link: &InviteLink) -> Vec<u8> {
        let mut bytes = link.as_bytes().to_vec();
        bytes[4..36].copy_from_slice(&link.invite_hash);
        let body = bytes.len() - 4;
        let check = *blake3::hash(&bytes[..body]).as_bytes();
        bytes[body..].copy_from_slice(&check[..4]);
        bytes
    }
}
