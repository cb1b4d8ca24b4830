//! Linked devices (decision 0072): the plaintext of the messages that
//! carry a person's signed device list, copies of a conversation's
//! messages to the other devices of both people, introductions of a new
//! device, and the contact list and history a primary device hands a
//! device it links. All of it travels inside ordinary sealed envelopes of
//! pairwise sessions; nothing here is ever sent in the clear.
//!
//! A message is `\0ZKV`, a version byte (1), a kind byte and its fields:
//!
//! | kind | message | fields |
//! |---|---|---|
//! | 1 | list | a signed [`DeviceList`] |
//! | 2 | copy | ref (16), the message's plaintext |
//! | 3 | sent | person key (32), ref (16), the plaintext we sent them |
//! | 4 | intro | device key (32), a pairing invite |
//! | 5 | contacts | JSON list of [`SyncContact`] |
//! | 6 | history | person key (32), JSON list of [`SyncMessage`] |
//!
//! A signed device list is `zks-device-list/1` signed by the person's
//! identity key (the key of their primary device) over: person key (32),
//! sequence number (u64 BE), device count (u8), and per device its key
//! (32), name (u8 length, UTF-8) and the Unix time it was added (u64 BE);
//! the Ed25519 signature (64) follows.

use serde::{Deserialize, Serialize};
use zks_pad::Identity;

use super::chat::{REF_LEN, Ref};

const MAGIC: &[u8; 4] = b"\0ZKV";
const VERSION: u8 = 1;
/// The domain a device list is signed under.
const LIST_DOMAIN: &[u8] = b"zks-device-list/1";
/// Most devices one person links (the primary included).
pub const MAX_DEVICES: usize = 8;
/// Longest device name, in bytes.
pub const MAX_DEVICE_NAME: usize = 64;
/// Most contacts or messages one sync message carries.
pub const MAX_SYNC_ITEMS: usize = 1000;

/// An identity or device key.
pub type Key = [u8; 32];

/// One device of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its key (its PeerId's key).
    pub key: Key,
    /// The name its owner gave it.
    pub name: String,
    /// Unix time it was linked.
    pub added_at: u64,
}

/// A person's devices, signed by the person's identity key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    /// The person's identity key (their primary device's key).
    pub person: Key,
    /// Grows with every change; the highest wins.
    pub seq: u64,
    /// The devices, the primary first.
    pub devices: Vec<Device>,
    /// The list as signed (signature included).
    pub bytes: Vec<u8>,
}

/// Why a device message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceWireError {
    /// Too short for what it says it holds.
    #[error("a device message is cut short")]
    Truncated,
    /// Bytes after the end.
    #[error("a device message has bytes after its end")]
    Trailing,
    /// Not version 1.
    #[error("a device message of unknown version {0}")]
    Version(u8),
    /// Unknown kind.
    #[error("a device message of unknown kind {0}")]
    Kind(u8),
    /// The list's signature does not verify.
    #[error("a device list whose signature does not verify")]
    Signature,
    /// A bad name or count.
    #[error("a device list with {0}")]
    List(&'static str),
    /// A sync message that is not the expected JSON.
    #[error("a damaged device sync message: {0}")]
    Sync(String),
}

/// A contact as the primary device hands it to a device it links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncContact {
    /// The name the person gave the contact.
    pub name: String,
    /// The contact's identity key (hex).
    pub key: String,
    /// Where the contact listens.
    pub addresses: Vec<String>,
    /// The safety code of the pairing with the primary.
    pub safety_code: String,
    /// Whether it was verified on the primary.
    pub verified: bool,
    /// The contact's own signed device list (hex), if they linked devices.
    pub devices: Option<String>,
}

/// A message of the history as the primary device hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncMessage {
    /// Ref (hex), shared by every device's copy.
    pub r#ref: String,
    /// Sent by the person.
    pub outgoing: bool,
    /// The text (hex).
    pub body: String,
    /// The ref (hex) of the message it quotes.
    pub reply_to: Option<String>,
    /// Chain hash (hex) of the round its key was bound to.
    pub chain_hash: Option<String>,
    /// That round.
    pub round: Option<u64>,
    /// Unix time stored on the primary.
    pub created_at: i64,
    /// Unix time of its last edit.
    pub edited_at: Option<i64>,
    /// Unix time it was deleted for everyone.
    pub deleted_at: Option<i64>,
}

/// A device message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceWire {
    /// A person's new device list.
    List(DeviceList),
    /// A copy of a message to another of the receiver's devices; `reference`
    /// is the ref of the copy to the receiver's primary, so reactions and
    /// edits name the same message on every device.
    Copy { reference: Ref, inner: Vec<u8> },
    /// A copy of a message we sent to `person`, for our own other devices.
    Sent {
        person: Key,
        reference: Ref,
        inner: Vec<u8>,
    },
    /// A pairing invite made by a new device for `to` (a device of one of
    /// the person's contacts), carried by the primary device.
    Intro { to: Key, invite: Vec<u8> },
    /// The primary's contacts, for a device it linked.
    Contacts(Vec<SyncContact>),
    /// Part of the history with `person`, for a device it linked.
    History {
        person: Key,
        messages: Vec<SyncMessage>,
    },
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], DeviceWireError> {
    if rest.len() < n {
        return Err(DeviceWireError::Truncated);
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_key(rest: &mut &[u8]) -> Result<Key, DeviceWireError> {
    Ok(take(rest, 32)?.try_into().expect("32 bytes"))
}

fn take_ref(rest: &mut &[u8]) -> Result<Ref, DeviceWireError> {
    Ok(take(rest, REF_LEN)?.try_into().expect("a ref"))
}

fn take_u64(rest: &mut &[u8]) -> Result<u64, DeviceWireError> {
    Ok(u64::from_be_bytes(
        take(rest, 8)?.try_into().expect("8 bytes"),
    ))
}

/// Checks a device name.
pub fn check_device_name(name: &str) -> Result<(), DeviceWireError> {
    if name.trim().is_empty() || name.len() > MAX_DEVICE_NAME || name.chars().any(char::is_control)
    {
        return Err(DeviceWireError::List(
            "a device name that is empty, too long or has control characters",
        ));
    }
    Ok(())
}

impl DeviceList {
    /// Makes and signs the list of `identity`'s devices.
    pub fn sign(
        identity: &Identity,
        seq: u64,
        devices: Vec<Device>,
    ) -> Result<DeviceList, DeviceWireError> {
        if devices.is_empty() || devices.len() > MAX_DEVICES {
            return Err(DeviceWireError::List("no device, or more than 8"));
        }
        let person = identity.public_key();
        let mut out = Vec::with_capacity(64 + devices.len() * 80);
        out.extend_from_slice(&person);
        out.extend_from_slice(&seq.to_be_bytes());
        out.push(devices.len() as u8);
        for d in &devices {
            check_device_name(&d.name)?;
            out.extend_from_slice(&d.key);
            out.push(d.name.len() as u8);
            out.extend_from_slice(d.name.as_bytes());
            out.extend_from_slice(&d.added_at.to_be_bytes());
        }
        let signature = identity.sign(&[LIST_DOMAIN, &out].concat());
        out.extend_from_slice(&signature);
        Ok(DeviceList {
            person,
            seq,
            devices,
            bytes: out,
        })
    }

    /// Reads a signed list and checks its signature.
    pub fn parse(bytes: &[u8]) -> Result<DeviceList, DeviceWireError> {
        let mut rest = bytes;
        let person = take_key(&mut rest)?;
        let seq = take_u64(&mut rest)?;
        let count = take(&mut rest, 1)?[0] as usize;
        if count == 0 || count > MAX_DEVICES {
            return Err(DeviceWireError::List("no device, or more than 8"));
        }
        let mut devices = Vec::with_capacity(count);
        for _ in 0..count {
            let key = take_key(&mut rest)?;
            let len = take(&mut rest, 1)?[0] as usize;
            let name = std::str::from_utf8(take(&mut rest, len)?)
                .map_err(|_| DeviceWireError::List("a device name that is not UTF-8"))?
                .to_owned();
            check_device_name(&name)?;
            let added_at = take_u64(&mut rest)?;
            if devices.iter().any(|d: &Device| d.key == key) {
                return Err(DeviceWireError::List("a device listed twice"));
            }
            devices.push(Device {
                key,
                name,
                added_at,
            });
        }
        let signed = &bytes[..bytes.len() - rest.len()];
        let signature: [u8; 64] = take(&mut rest, 64)?.try_into().expect("64 bytes");
        if !rest.is_empty() {
            return Err(DeviceWireError::Trailing);
        }
        if devices[0].key != person {
            return Err(DeviceWireError::List(
                "a first device that is not the person's own",
            ));
        }
        if !zks_pad::verify_signature(&person, &[LIST_DOMAIN, signed].concat(), &signature) {
            return Err(DeviceWireError::Signature);
        }
        Ok(DeviceList {
            person,
            seq,
            devices,
            bytes: bytes.to_vec(),
        })
    }

    /// Whether `key` is one of the devices.
    pub fn has(&self, key: &Key) -> bool {
        self.devices.iter().any(|d| &d.key == key)
    }
}

impl DeviceWire {
    /// Whether a plaintext is a device message.
    pub fn is_device_message(plaintext: &[u8]) -> bool {
        plaintext.starts_with(MAGIC)
    }

    /// The plaintext to seal.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(VERSION);
        match self {
            DeviceWire::List(list) => {
                out.push(1);
                out.extend_from_slice(&list.bytes);
            }
            DeviceWire::Copy { reference, inner } => {
                out.push(2);
                out.extend_from_slice(reference);
                out.extend_from_slice(inner);
            }
            DeviceWire::Sent {
                person,
                reference,
                inner,
            } => {
                out.push(3);
                out.extend_from_slice(person);
                out.extend_from_slice(reference);
                out.extend_from_slice(inner);
            }
            DeviceWire::Intro { to, invite } => {
                out.push(4);
                out.extend_from_slice(to);
                out.extend_from_slice(invite);
            }
            DeviceWire::Contacts(contacts) => {
                out.push(5);
                out.extend_from_slice(&serde_json::to_vec(contacts).expect("plain data"));
            }
            DeviceWire::History { person, messages } => {
                out.push(6);
                out.extend_from_slice(person);
                out.extend_from_slice(&serde_json::to_vec(messages).expect("plain data"));
            }
        }
        out
    }

    /// Reads a device message (a list's signature is checked).
    pub fn parse(plaintext: &[u8]) -> Result<DeviceWire, DeviceWireError> {
        let mut rest = plaintext
            .strip_prefix(MAGIC)
            .ok_or(DeviceWireError::Truncated)?;
        let version = take(&mut rest, 1)?[0];
        if version != VERSION {
            return Err(DeviceWireError::Version(version));
        }
        let kind = take(&mut rest, 1)?[0];
        let nonempty = |inner: &[u8]| {
            if inner.is_empty() {
                Err(DeviceWireError::Truncated)
            } else {
                Ok(inner.to_vec())
            }
        };
        Ok(match kind {
            1 => DeviceWire::List(DeviceList::parse(rest)?),
            2 => {
                let reference = take_ref(&mut rest)?;
                DeviceWire::Copy {
                    reference,
                    inner: nonempty(rest)?,
                }
            }
            3 => {
                let person = take_key(&mut rest)?;
                let reference = take_ref(&mut rest)?;
                DeviceWire::Sent {
                    person,
                    reference,
                    inner: nonempty(rest)?,
                }
            }
            4 => {
                let to = take_key(&mut rest)?;
                DeviceWire::Intro {
                    to,
                    invite: nonempty(rest)?,
                }
            }
            5 => {
                let contacts: Vec<SyncContact> = serde_json::from_slice(rest)
                    .map_err(|e| DeviceWireError::Sync(e.to_string()))?;
                if contacts.len() > MAX_SYNC_ITEMS {
                    return Err(DeviceWireError::Sync("too many contacts".into()));
                }
                DeviceWire::Contacts(contacts)
            }
            6 => {
                let person = take_key(&mut rest)?;
                let messages: Vec<SyncMessage> = serde_json::from_slice(rest)
                    .map_err(|e| DeviceWireError::Sync(e.to_string()))?;
                if messages.len() > MAX_SYNC_ITEMS {
                    return Err(DeviceWireError::Sync("too many messages".into()));
                }
                DeviceWire::History { person, messages }
            }
            other => return Err(DeviceWireError::Kind(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(seed: u8) -> Identity {
        Identity::from_seed(&[seed; 32]).unwrap()
    }

    fn list(seq: u64) -> DeviceList {
        let primary = identity(1);
        DeviceList::sign(
            &primary,
            seq,
            vec![
                Device {
                    key: primary.public_key(),
                    name: "desk".into(),
                    added_at: 10,
                },
                Device {
                    key: identity(2).public_key(),
                    name: "laptop".into(),
                    added_at: 20,
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn every_message_reads_back_as_written() {
        let messages = vec![
            DeviceWire::List(list(3)),
            DeviceWire::Copy {
                reference: [7; REF_LEN],
                inner: b"hello".to_vec(),
            },
            DeviceWire::Sent {
                person: [9; 32],
                reference: [8; REF_LEN],
                inner: b"\0ZKC\x01x".to_vec(),
            },
            DeviceWire::Intro {
                to: [5; 32],
                invite: vec![1, 2, 3],
            },
            DeviceWire::Contacts(vec![SyncContact {
                name: "bob".into(),
                key: hex::encode([4; 32]),
                addresses: vec!["/ip4/127.0.0.1/tcp/1".into()],
                safety_code: "1".into(),
                verified: true,
                devices: None,
            }]),
            DeviceWire::History {
                person: [4; 32],
                messages: vec![SyncMessage {
                    r#ref: hex::encode([1; REF_LEN]),
                    outgoing: true,
                    body: hex::encode("hi"),
                    reply_to: None,
                    chain_hash: None,
                    round: Some(5),
                    created_at: 1,
                    edited_at: None,
                    deleted_at: None,
                }],
            },
        ];
        for m in messages {
            let bytes = m.encode();
            assert!(DeviceWire::is_device_message(&bytes));
            assert_eq!(DeviceWire::parse(&bytes).unwrap(), m);
        }
    }

    #[test]
    fn a_list_with_any_flipped_byte_or_cut_is_refused() {
        let good = list(1).bytes;
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            assert!(DeviceList::parse(&bad).is_err(), "flipped byte {i}");
        }
        for n in 0..good.len() {
            assert!(DeviceList::parse(&good[..n]).is_err(), "cut at {n}");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(DeviceList::parse(&long), Err(DeviceWireError::Trailing));
    }

    #[test]
    fn a_list_signed_by_another_key_or_not_led_by_its_person_is_refused() {
        // The laptop signs a list naming the desk's person: the signature
        // is the laptop's, not the person's.
        let laptop = identity(2);
        let forged = DeviceList::sign(
            &laptop,
            9,
            vec![Device {
                key: laptop.public_key(),
                name: "laptop".into(),
                added_at: 1,
            }],
        )
        .unwrap();
        let mut bytes = forged.bytes.clone();
        bytes[..32].copy_from_slice(&identity(1).public_key());
        assert!(DeviceList::parse(&bytes).is_err());
        let not_first = DeviceList::sign(
            &identity(1),
            1,
            vec![Device {
                key: identity(2).public_key(),
                name: "laptop".into(),
                added_at: 1,
            }],
        )
        .unwrap();
        assert!(matches!(
            DeviceList::parse(&not_first.bytes),
            Err(DeviceWireError::List(_))
        ));
    }

    #[test]
    fn damaged_device_messages_are_refused_clearly() {
        let cases: Vec<(Vec<u8>, DeviceWireError)> = vec![
            (b"\0ZKV".to_vec(), DeviceWireError::Truncated),
            (b"\0ZKV\x02\x01".to_vec(), DeviceWireError::Version(2)),
            (b"\0ZKV\x01\x09".to_vec(), DeviceWireError::Kind(9)),
            (b"\0ZKV\x01\x02short".to_vec(), DeviceWireError::Truncated),
            (
                [b"\0ZKV\x01\x02".as_slice(), &[0; REF_LEN]].concat(),
                DeviceWireError::Truncated,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(DeviceWire::parse(&bytes), Err(want));
        }
        assert!(matches!(
            DeviceWire::parse(b"\0ZKV\x01\x05[{\"name\":1}]"),
            Err(DeviceWireError::Sync(_))
        ));
    }
}
