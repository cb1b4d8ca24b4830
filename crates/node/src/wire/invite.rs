//! `/zks/invite/1.0.0`: the full invite behind an invite link (the small
//! QR code, `zks_pad::InviteLink`). The one who scanned the link asks the
//! inviter's node for the invite whose BLAKE3 hash the link carries; the
//! node answers with the invite's bytes while it is pending (made here,
//! not expired, not used), or `err:<reason>`. The asker checks the answer
//! against the link's hash before using it, so a node that answers with
//! another invite is caught.
//!
//! ```text
//! request:  invite hash (32 bytes)
//! answer:   the invite's bytes (a `ZK` code), or "err:" and a reason in UTF-8
//! ```

use std::time::Duration;

use libp2p::StreamProtocol;
use zks_grid::swarm::DirectProtocol;

/// The protocol id.
pub const PROTOCOL: &str = "/zks/invite/1.0.0";
/// The protocol id as the swarm takes it.
pub const ID: StreamProtocol = StreamProtocol::new(PROTOCOL);
/// A request is an invite hash.
pub const REQUEST_LEN: usize = 32;
/// Largest answer: an invite with the most addresses and the longest name
/// is under 4 KiB.
pub const MAX_ANSWER: usize = 8 * 1024;
/// How long the asker waits.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Requests per second one peer may make (someone scanning, not a crawler).
pub const RATE: u64 = 4;
/// The answer when no invite with that hash is pending here.
pub const NOT_FOUND: &[u8] =
    b"err:not_found: no such invite is waiting here (it was used, it expired, or it was never made)";
/// The answer to a request that is not an invite hash.
pub const BAD_REQUEST: &[u8] = b"err:bad_input: an invite request is a 32-byte hash";

/// `/zks/invite/1.0.0` as the swarm carries it.
pub fn protocol() -> DirectProtocol {
    DirectProtocol {
        id: ID,
        max_request: REQUEST_LEN,
        max_response: MAX_ANSWER,
        timeout: TIMEOUT,
        streams: 2,
        requests_per_sec: RATE,
        busy: b"err:busy: try again in a moment".to_vec(),
        refused: b"err:refused: this node does not hand out invites".to_vec(),
    }
}
