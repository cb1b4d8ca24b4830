//! The messenger's protocols between paired peers, which the grid carries
//! without knowing them: [`msg`] (`/zks/msg/1.0.0` and its batches
//! `/zks/msg/1.1.0`, sealed messages), [`file`] (`/zks/file/1.0.0`, chunks
//! of an offered file) and [`invite`] (`/zks/invite/1.0.0`, the invite
//! behind an invite link); [`chat`] is the plaintext of conversation
//! control messages. Each module is the specification of its format, caps,
//! rates and answer codes. [`direct_protocols`] hands the protocols to the
//! grid's swarm.

pub mod chat;
pub mod device;
pub mod file;
pub mod group;
pub mod invite;
pub mod msg;

use zks_grid::swarm::DirectProtocol;

/// The direct protocols a node's swarm carries, for
/// [`SwarmConfig::direct`](zks_grid::SwarmConfig::direct).
pub fn direct_protocols() -> Vec<DirectProtocol> {
    vec![
        msg::protocol(),
        msg::batch_protocol(),
        file::protocol(),
        invite::protocol(),
    ]
}
