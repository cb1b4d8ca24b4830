//! Group messages (decision 0071): the plaintext of what members of a
//! group send each other over their pairwise sessions, sealed like any
//! message (grid pad or true pad) and delivered in order with the chat.
//!
//! ```text
//! "\0ZKG" ‖ version (1) ‖ kind (1) ‖ group id (16) ‖ fields
//!   1 ops    count (u16 BE, ≥ 1) ‖ count × (length (u16 BE) ‖ signed op)
//!   2 text   message id (16) ‖ lamport (u64 BE) ‖ reply (1: 0 or 1)
//!            [‖ quoted author key (32) ‖ quoted message id (16)]
//!            ‖ text (the rest, ≥ 1 byte)
//!   4 change message id (16) ‖ lamport (u64 BE) ‖ action (1)
//!            ‖ target author key (32) ‖ target message id (16) ‖ the rest:
//!            1 react: the emoji (empty takes ours back); 2 edit: the new
//!            text (≥ 1 byte); 3 delete: nothing (edits and deletes only
//!            of the sender's own messages)
//!   5 file   message id (16) ‖ lamport (u64 BE) ‖ size (u64 BE) ‖ BLAKE3 (32)
//!            ‖ name (the rest, 1..=255 bytes of UTF-8): a file shared with
//!            the group; the file itself comes as a pairwise transfer
//!   3 intro  to (32: the member's identity key) ‖ pairing invite (the rest)
//!            a member's invite for a member who is not its contact,
//!            carried by a member who is both's (decision 0071)
//! ```
//!
//! A signed op is one change to the membership, signed with its author's
//! Ed25519 identity key (the key behind its PeerId):
//!
//! ```text
//! group id (16) ‖ author key (32) ‖ lamport (u64 BE) ‖ action (1) ‖ fields
//!   ‖ signature (64) over "zks-group-op/1" ‖ everything before it
//!   1 create   nonce (16) ‖ name ‖ creator's name
//!              (the group id is BLAKE3("zks-group-id/1" ‖ author ‖ nonce)[..16])
//!   2 add      member key (32) ‖ name      (the name the adder knows them by)
//!   3 remove   member key (32)
//!   4 rename   name
//!   5 leave
//!   6 admin    member key (32)            (makes them an admin)
//! name: length (1) ‖ UTF-8, 1..=64 bytes
//! ```
//!
//! Every member folds the ops it holds in the same order (lamport, author
//! key, op id) into the same member list (`crate::groups`); a text's
//! lamport orders the conversation the same way on every member.

use zks_pad::Identity;

/// Marks a group message.
const MAGIC: &[u8; 4] = b"\0ZKG";
/// The version of the format above.
const VERSION: u8 = 1;
/// What an op's signature covers first.
const OP_DOMAIN: &[u8] = b"zks-group-op/1";
/// What a group id is derived with.
const ID_DOMAIN: &[u8] = b"zks-group-id/1";
/// Length of a group id and of a message id.
pub const ID_LEN: usize = 16;
/// Longest group or member name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Most members of a group, us included.
pub const MAX_MEMBERS: usize = 50;
/// Most ops one message carries.
pub const MAX_OPS: usize = 4096;

/// A group's id.
pub type GroupId = [u8; ID_LEN];
/// An identity key.
pub type Key = [u8; 32];

/// A change to a group's membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Makes the group (its author is its first member and admin).
    Create {
        /// Makes the group id.
        nonce: [u8; ID_LEN],
        /// The group's name.
        name: String,
        /// The name its creator goes by.
        creator: String,
    },
    /// Adds a member.
    Add {
        /// Their identity key.
        member: Key,
        /// The name the adder knows them by.
        name: String,
    },
    /// Removes a member.
    Remove {
        /// Their identity key.
        member: Key,
    },
    /// Renames the group.
    Rename {
        /// The new name.
        name: String,
    },
    /// The author leaves.
    Leave,
    /// Makes a member an admin.
    Admin {
        /// Their identity key.
        member: Key,
    },
}

/// A signed op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The group.
    pub group: GroupId,
    /// Who made it.
    pub author: Key,
    /// Orders it among the group's ops and messages.
    pub lamport: u64,
    /// What it does.
    pub action: Action,
    /// The encoded op, signature included.
    pub bytes: Vec<u8>,
}

/// A group message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupWire {
    /// Ops of the group (one change, or the whole log for a new member).
    Ops {
        /// The group.
        group: GroupId,
        /// The ops, each checked and signed.
        ops: Vec<Op>,
    },
    /// Chat text to the group.
    Text {
        /// The group.
        group: GroupId,
        /// Its id (the same in every member's copy).
        id: [u8; ID_LEN],
        /// Orders it.
        lamport: u64,
        /// The message it quotes: its author's key and its id.
        reply: Option<(Key, [u8; ID_LEN])>,
        /// The text.
        text: Vec<u8>,
    },
    /// A file shared with the group (each member gets it as a pairwise
    /// transfer of the same content).
    File {
        /// The group.
        group: GroupId,
        /// Its id.
        id: [u8; ID_LEN],
        /// Orders it.
        lamport: u64,
        /// Its size in bytes.
        size: u64,
        /// Its BLAKE3 hash (the transfers' hash).
        blake3: [u8; 32],
        /// Its name.
        name: String,
    },
    /// A reaction to, or an edit or delete of, a group message.
    Change {
        /// The group.
        group: GroupId,
        /// Its own id.
        id: [u8; ID_LEN],
        /// Orders it.
        lamport: u64,
        /// The message it is about: its author's key and id.
        target: (Key, [u8; ID_LEN]),
        /// What it does.
        change: Change,
    },
    /// A pairing invite from one member for another.
    Intro {
        /// The group.
        group: GroupId,
        /// The member it is for.
        to: Key,
        /// The invite (`zks_pad::Invite` bytes).
        invite: Vec<u8>,
    },
}

/// What a [`GroupWire::Change`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The sender's reaction (`None` takes it back).
    React(Option<String>),
    /// The sender's new text for its message.
    Edit(Vec<u8>),
    /// The sender deletes its message for everyone.
    Delete,
}

/// Why a group message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupWireError {
    /// Too short, or longer than it says.
    #[error("a group message is cut short or has bytes left over")]
    Truncated,
    /// A version this release does not know.
    #[error("a group message of version {0}, which this release does not read")]
    Version(u8),
    /// A kind or action this release does not know.
    #[error("a group message of an unknown kind ({0})")]
    Kind(u8),
    /// A name that is empty, too long or not UTF-8.
    #[error("a group or member name must be 1 to {MAX_NAME_BYTES} bytes of UTF-8")]
    Name,
    /// An op whose signature does not verify.
    #[error("a group change whose signature does not verify")]
    Signature,
    /// An op of another group than the message it came in.
    #[error("a group change of another group")]
    OtherGroup,
    /// No ops, too many, or a text without text.
    #[error("a group message with nothing in it, or too much")]
    Empty,
    /// A create op whose group id is not derived from it.
    #[error("a group's creation does not match its id")]
    Id,
}

/// The group id a create op with `author` and `nonce` makes.
pub fn group_id(author: &Key, nonce: &[u8; ID_LEN]) -> GroupId {
    let mut h = blake3::Hasher::new();
    h.update(ID_DOMAIN);
    h.update(author);
    h.update(nonce);
    let mut id = [0; ID_LEN];
    id.copy_from_slice(&h.finalize().as_bytes()[..ID_LEN]);
    id
}

/// Checks a group or member name.
pub fn check_name(name: &str) -> Result<(), GroupWireError> {
    if name.trim().is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(GroupWireError::Name);
    }
    Ok(())
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

impl Op {
    /// Makes and signs an op.
    pub fn sign(
        identity: &Identity,
        group: GroupId,
        lamport: u64,
        action: Action,
    ) -> Result<Op, GroupWireError> {
        let author = identity.public_key();
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(&group);
        out.extend_from_slice(&author);
        out.extend_from_slice(&lamport.to_be_bytes());
        match &action {
            Action::Create {
                nonce,
                name,
                creator,
            } => {
                check_name(name)?;
                check_name(creator)?;
                out.push(1);
                out.extend_from_slice(nonce);
                put_name(&mut out, name);
                put_name(&mut out, creator);
            }
            Action::Add { member, name } => {
                check_name(name)?;
                out.push(2);
                out.extend_from_slice(member);
                put_name(&mut out, name);
            }
            Action::Remove { member } => {
                out.push(3);
                out.extend_from_slice(member);
            }
            Action::Rename { name } => {
                check_name(name)?;
                out.push(4);
                put_name(&mut out, name);
            }
            Action::Leave => out.push(5),
            Action::Admin { member } => {
                out.push(6);
                out.extend_from_slice(member);
            }
        }
        let signature = identity.sign(&[OP_DOMAIN, &out].concat());
        out.extend_from_slice(&signature);
        Ok(Op {
            group,
            author,
            lamport,
            action,
            bytes: out,
        })
    }

    /// Reads an op and checks its signature (and a create's group id).
    pub fn parse(bytes: &[u8]) -> Result<Op, GroupWireError> {
        Op::read(bytes, true)
    }

    /// Reads an op from our own store, which holds only ops whose
    /// signature was checked when they arrived (or that we signed): the
    /// format and a create's group id are checked, the signature is not
    /// again (a fan-out to 49 members would otherwise verify every op of
    /// the group once per copy). The store is as trusted as the session
    /// keys it holds.
    pub fn parse_stored(bytes: &[u8]) -> Result<Op, GroupWireError> {
        Op::read(bytes, false)
    }

    fn read(bytes: &[u8], verify: bool) -> Result<Op, GroupWireError> {
        let signed_len = bytes
            .len()
            .checked_sub(64)
            .ok_or(GroupWireError::Truncated)?;
        let (signed, signature) = bytes.split_at(signed_len);
        let mut r = Reader(signed);
        let group: GroupId = r.array()?;
        let author: Key = r.array()?;
        let lamport = u64::from_be_bytes(r.array()?);
        let action = match r.byte()? {
            1 => Action::Create {
                nonce: r.array()?,
                name: r.name()?,
                creator: r.name()?,
            },
            2 => Action::Add {
                member: r.array()?,
                name: r.name()?,
            },
            3 => Action::Remove { member: r.array()? },
            4 => Action::Rename { name: r.name()? },
            5 => Action::Leave,
            6 => Action::Admin { member: r.array()? },
            other => return Err(GroupWireError::Kind(other)),
        };
        if !r.0.is_empty() {
            return Err(GroupWireError::Truncated);
        }
        let signature: [u8; 64] = signature
            .try_into()
            .map_err(|_| GroupWireError::Truncated)?;
        if verify && !zks_pad::verify_signature(&author, &[OP_DOMAIN, signed].concat(), &signature)
        {
            return Err(GroupWireError::Signature);
        }
        if let Action::Create { nonce, .. } = &action
            && group_id(&author, nonce) != group
        {
            return Err(GroupWireError::Id);
        }
        Ok(Op {
            group,
            author,
            lamport,
            action,
            bytes: bytes.to_vec(),
        })
    }

    /// Its id: the first 16 bytes of its BLAKE3 hash.
    pub fn id(&self) -> [u8; ID_LEN] {
        let mut id = [0; ID_LEN];
        id.copy_from_slice(&blake3::hash(&self.bytes).as_bytes()[..ID_LEN]);
        id
    }
}

impl GroupWire {
    /// Whether `plaintext` is a group message.
    pub fn is_group_message(plaintext: &[u8]) -> bool {
        plaintext.starts_with(MAGIC)
    }

    /// The group it is about.
    pub fn group(&self) -> &GroupId {
        match self {
            GroupWire::Ops { group, .. }
            | GroupWire::Text { group, .. }
            | GroupWire::Change { group, .. }
            | GroupWire::File { group, .. }
            | GroupWire::Intro { group, .. } => group,
        }
    }

    /// The plaintext to seal.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(VERSION);
        match self {
            GroupWire::Ops { group, ops } => {
                out.push(1);
                out.extend_from_slice(group);
                out.extend_from_slice(&(ops.len() as u16).to_be_bytes());
                for op in ops {
                    out.extend_from_slice(&(op.bytes.len() as u16).to_be_bytes());
                    out.extend_from_slice(&op.bytes);
                }
            }
            GroupWire::Text {
                group,
                id,
                lamport,
                reply,
                text,
            } => {
                out.push(2);
                out.extend_from_slice(group);
                out.extend_from_slice(id);
                out.extend_from_slice(&lamport.to_be_bytes());
                match reply {
                    None => out.push(0),
                    Some((author, id)) => {
                        out.push(1);
                        out.extend_from_slice(author);
                        out.extend_from_slice(id);
                    }
                }
                out.extend_from_slice(text);
            }
            GroupWire::Change {
                group,
                id,
                lamport,
                target,
                change,
            } => {
                out.push(4);
                out.extend_from_slice(group);
                out.extend_from_slice(id);
                out.extend_from_slice(&lamport.to_be_bytes());
                let (action, rest): (u8, &[u8]) = match change {
                    Change::React(emoji) => (1, emoji.as_deref().unwrap_or_default().as_bytes()),
                    Change::Edit(text) => (2, text),
                    Change::Delete => (3, &[]),
                };
                out.push(action);
                out.extend_from_slice(&target.0);
                out.extend_from_slice(&target.1);
                out.extend_from_slice(rest);
            }
            GroupWire::File {
                group,
                id,
                lamport,
                size,
                blake3,
                name,
            } => {
                out.push(5);
                out.extend_from_slice(group);
                out.extend_from_slice(id);
                out.extend_from_slice(&lamport.to_be_bytes());
                out.extend_from_slice(&size.to_be_bytes());
                out.extend_from_slice(blake3);
                out.extend_from_slice(name.as_bytes());
            }
            GroupWire::Intro { group, to, invite } => {
                out.push(3);
                out.extend_from_slice(group);
                out.extend_from_slice(to);
                out.extend_from_slice(invite);
            }
        }
        out
    }

    /// Reads a group message (one that [`GroupWire::is_group_message`]);
    /// every op's signature is checked.
    pub fn parse(plaintext: &[u8]) -> Result<GroupWire, GroupWireError> {
        let mut r = Reader(
            plaintext
                .strip_prefix(MAGIC)
                .ok_or(GroupWireError::Truncated)?,
        );
        let version = r.byte()?;
        if version != VERSION {
            return Err(GroupWireError::Version(version));
        }
        let kind = r.byte()?;
        let group: GroupId = r.array()?;
        match kind {
            1 => {
                let count = u16::from_be_bytes(r.array()?) as usize;
                if count == 0 || count > MAX_OPS {
                    return Err(GroupWireError::Empty);
                }
                let mut ops = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = u16::from_be_bytes(r.array()?) as usize;
                    let op = Op::parse(r.take(len)?)?;
                    if op.group != group {
                        return Err(GroupWireError::OtherGroup);
                    }
                    ops.push(op);
                }
                if !r.0.is_empty() {
                    return Err(GroupWireError::Truncated);
                }
                Ok(GroupWire::Ops { group, ops })
            }
            2 => {
                let id = r.array()?;
                let lamport = u64::from_be_bytes(r.array()?);
                let reply = match r.byte()? {
                    0 => None,
                    1 => Some((r.array()?, r.array()?)),
                    other => return Err(GroupWireError::Kind(other)),
                };
                let text = r.0.to_vec();
                if text.is_empty() {
                    return Err(GroupWireError::Empty);
                }
                Ok(GroupWire::Text {
                    group,
                    id,
                    lamport,
                    reply,
                    text,
                })
            }
            4 => {
                let id = r.array()?;
                let lamport = u64::from_be_bytes(r.array()?);
                let action = r.byte()?;
                let target = (r.array()?, r.array()?);
                let rest = r.0.to_vec();
                let change = match action {
                    1 if rest.is_empty() => Change::React(None),
                    1 => Change::React(Some(
                        String::from_utf8(rest).map_err(|_| GroupWireError::Name)?,
                    )),
                    2 if rest.is_empty() => return Err(GroupWireError::Empty),
                    2 => Change::Edit(rest),
                    3 if rest.is_empty() => Change::Delete,
                    3 => return Err(GroupWireError::Truncated),
                    other => return Err(GroupWireError::Kind(other)),
                };
                Ok(GroupWire::Change {
                    group,
                    id,
                    lamport,
                    target,
                    change,
                })
            }
            5 => {
                let id = r.array()?;
                let lamport = u64::from_be_bytes(r.array()?);
                let size = u64::from_be_bytes(r.array()?);
                let blake3 = r.array()?;
                let name = std::str::from_utf8(r.0).map_err(|_| GroupWireError::Name)?;
                if name.is_empty() || name.len() > 255 {
                    return Err(GroupWireError::Name);
                }
                Ok(GroupWire::File {
                    group,
                    id,
                    lamport,
                    size,
                    blake3,
                    name: name.to_owned(),
                })
            }
            3 => {
                let to = r.array()?;
                let invite = r.0.to_vec();
                if invite.is_empty() {
                    return Err(GroupWireError::Empty);
                }
                Ok(GroupWire::Intro { group, to, invite })
            }
            other => Err(GroupWireError::Kind(other)),
        }
    }
}

/// Reads fields front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], GroupWireError> {
        if self.0.len() < n {
            return Err(GroupWireError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, GroupWireError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GroupWireError> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn name(&mut self) -> Result<String, GroupWireError> {
        let len = self.byte()? as usize;
        let name = std::str::from_utf8(self.take(len)?).map_err(|_| GroupWireError::Name)?;
        check_name(name)?;
        Ok(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(seed: u8) -> Identity {
        Identity::from_seed(&[seed; 32]).unwrap()
    }

    #[test]
    fn ops_and_texts_round_trip_and_every_change_is_refused() {
        let alice = identity(1);
        let nonce = [7; ID_LEN];
        let group = group_id(&alice.public_key(), &nonce);
        let ops = vec![
            Op::sign(
                &alice,
                group,
                1,
                Action::Create {
                    nonce,
                    name: "Book club".into(),
                    creator: "Alice".into(),
                },
            )
            .unwrap(),
            Op::sign(
                &alice,
                group,
                2,
                Action::Add {
                    member: identity(2).public_key(),
                    name: "Bob".into(),
                },
            )
            .unwrap(),
            Op::sign(&alice, group, 3, Action::Leave).unwrap(),
        ];
        let wire = GroupWire::Ops {
            group,
            ops: ops.clone(),
        };
        let bytes = wire.encode();
        assert!(GroupWire::is_group_message(&bytes));
        assert_eq!(GroupWire::parse(&bytes).unwrap(), wire);
        for n in 0..bytes.len() {
            assert!(GroupWire::parse(&bytes[..n]).is_err(), "cut at {n}");
        }
        // Any flipped byte is refused (or, in the group id, makes the op
        // another group's).
        let one = GroupWire::Ops {
            group,
            ops: vec![ops[1].clone()],
        }
        .encode();
        for i in 4..one.len() {
            let mut bad = one.clone();
            bad[i] ^= 0x01;
            assert!(GroupWire::parse(&bad).is_err(), "byte {i} flipped");
        }
        // A create whose id another author claims is refused.
        let mallory = identity(3);
        let forged = Op::sign(
            &mallory,
            group,
            0,
            Action::Create {
                nonce,
                name: "Book club".into(),
                creator: "Mallory".into(),
            },
        )
        .unwrap();
        assert_eq!(Op::parse(&forged.bytes), Err(GroupWireError::Id));

        let text = GroupWire::Text {
            group,
            id: [9; ID_LEN],
            lamport: 42,
            reply: Some((alice.public_key(), [8; ID_LEN])),
            text: b"hello".to_vec(),
        };
        let bytes = text.encode();
        assert_eq!(GroupWire::parse(&bytes).unwrap(), text);
        for change in [
            Change::React(Some("👍".into())),
            Change::React(None),
            Change::Edit(b"new".to_vec()),
            Change::Delete,
        ] {
            let wire = GroupWire::Change {
                group,
                id: [3; ID_LEN],
                lamport: 7,
                target: (alice.public_key(), [9; ID_LEN]),
                change,
            };
            assert_eq!(GroupWire::parse(&wire.encode()).unwrap(), wire);
        }
        let mut edit_without_text = GroupWire::Change {
            group,
            id: [3; ID_LEN],
            lamport: 7,
            target: (alice.public_key(), [9; ID_LEN]),
            change: Change::Delete,
        }
        .encode();
        let action_at = 4 + 1 + 1 + 16 + 16 + 8;
        edit_without_text[action_at] = 2;
        assert_eq!(
            GroupWire::parse(&edit_without_text),
            Err(GroupWireError::Empty)
        );
        let file = GroupWire::File {
            group,
            id: [4; ID_LEN],
            lamport: 8,
            size: 1 << 20,
            blake3: [6; 32],
            name: "notes.txt".into(),
        };
        let bytes_file = file.encode();
        assert_eq!(GroupWire::parse(&bytes_file).unwrap(), file);
        assert_eq!(
            GroupWire::parse(&bytes_file[..bytes_file.len() - 9]),
            Err(GroupWireError::Name),
            "a file without a name"
        );
        let intro = GroupWire::Intro {
            group,
            to: alice.public_key(),
            invite: b"ZK invite".to_vec(),
        };
        assert_eq!(GroupWire::parse(&intro.encode()).unwrap(), intro);
        let bytes_intro = intro.encode();
        assert!(GroupWire::parse(&bytes_intro[..bytes_intro.len() - 9]).is_err());
        // Cut anywhere before its text (the rest), it is refused.
        let text_at = bytes.len() - b"hello".len();
        for n in 0..=text_at {
            assert!(GroupWire::parse(&bytes[..n]).is_err(), "cut at {n}");
        }
    }

    #[test]
    fn names_are_checked() {
        let alice = identity(1);
        for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
            assert_eq!(
                Op::sign(&alice, [0; 16], 1, Action::Rename { name: bad.into() }),
                Err(GroupWireError::Name),
                "{bad:?}"
            );
        }
    }
}
