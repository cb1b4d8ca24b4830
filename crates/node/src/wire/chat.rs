//! Conversation control messages: the plaintext of a reply, a reaction, an
//! edit, a delete for everyone and a disappearing-messages timer, sealed
//! like any message (either mode) and delivered in order with the others.
//!
//! A plaintext that starts with a NUL byte is not chat text (chat text may
//! not, see `content`); `\0ZKF` marks file-transfer messages
//! (`zks_pad::file`) and `\0ZKC` these:
//!
//! ```text
//! "\0ZKC" ‖ version (1) ‖ kind (1) ‖ fields
//!   1 reply   ref (16) ‖ text (the rest, ≥ 1 byte)
//!   2 react   ref (16) ‖ emoji (UTF-8, the rest; empty removes ours)
//!   3 edit    ref (16) ‖ age (u32 BE) ‖ text (the rest, ≥ 1 byte)
//!   4 delete  ref (16) ‖ age (u32 BE)
//!   5 timer   seconds (u32 BE, 0 = off) ‖ set_at (u64 BE, Unix seconds)
//!   6 timelocked  age file with one tlock stanza (the rest, ≥ 1 byte):
//!             chat text that opens at a drand round (decision 0069)
//! ```
//!
//! `ref` names a message of the conversation: the first 16 bytes of the
//! BLAKE3 hash of its envelope, which the sender and the receiver both
//! hold. `age` is how many seconds after the edited message was sent the
//! sender made the change (edits and deletes are allowed for
//! [`EDIT_WINDOW_SECS`]). `set_at` orders timer changes made on both sides.

/// Marks a conversation control message.
const MAGIC: &[u8; 4] = b"\0ZKC";
/// The version of the format above.
const VERSION: u8 = 1;
/// Length of a message ref.
pub const REF_LEN: usize = 16;
/// How long after sending a message its sender may edit or delete it for
/// everyone.
pub const EDIT_WINDOW_SECS: u64 = 24 * 3600;
/// Longest reaction, in bytes (an emoji with modifiers and joiners).
pub const MAX_EMOJI_BYTES: usize = 32;
/// Longest reaction, in characters.
pub const MAX_EMOJI_CHARS: usize = 8;
/// Longest disappearing-messages timer: four weeks.
pub const MAX_TIMER_SECS: u32 = 28 * 24 * 3600;
/// Shortest timer other than off (scripts and tests use seconds; the app
/// offers 5 min, 1 h, 1 day and 1 week).
pub const MIN_TIMER_SECS: u32 = 5;

/// A message's ref.
pub type Ref = [u8; REF_LEN];

/// The ref of the message an envelope carries.
pub fn ref_of(envelope: &[u8]) -> Ref {
    let hash = blake3::hash(envelope);
    let mut r = [0; REF_LEN];
    r.copy_from_slice(&hash.as_bytes()[..REF_LEN]);
    r
}

/// A conversation control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatControl {
    /// Text that quotes an earlier message.
    Reply {
        /// The quoted message.
        to: Ref,
        /// The text.
        text: Vec<u8>,
    },
    /// The sender's reaction to a message; `None` takes it back.
    React {
        /// The message.
        to: Ref,
        /// The emoji.
        emoji: Option<String>,
    },
    /// The sender's new text for one of its messages.
    Edit {
        /// The message.
        to: Ref,
        /// Seconds between sending it and this edit.
        age: u32,
        /// The new text.
        text: Vec<u8>,
    },
    /// The sender deletes one of its messages for everyone.
    Delete {
        /// The message.
        to: Ref,
        /// Seconds between sending it and this delete.
        age: u32,
    },
    /// The conversation's disappearing-messages timer.
    Timer {
        /// Seconds a message lives; 0 = off.
        secs: u32,
        /// When the sender made the change (Unix seconds).
        set_at: u64,
    },
    /// Chat text timelocked to a drand round: an age file (`zks_tlock`)
    /// whose content is the text.
    Timelocked {
        /// The timelocked file.
        file: Vec<u8>,
    },
}

/// Why a control message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatControlError {
    /// Too short for its kind.
    #[error("a conversation message is cut short")]
    Truncated,
    /// A version this release does not know.
    #[error("a conversation message of version {0}, which this release does not read")]
    Version(u8),
    /// A kind this release does not know.
    #[error("a conversation message of an unknown kind ({0})")]
    Kind(u8),
    /// A reply or edit without text.
    #[error("a reply or edit without text")]
    Empty,
    /// A reaction that is not a short emoji.
    #[error("a reaction must be one emoji (at most {MAX_EMOJI_CHARS} characters, no spaces)")]
    Emoji,
    /// A timer out of range.
    #[error(
        "a disappearing-messages timer must be off or between {MIN_TIMER_SECS} seconds and 4 weeks"
    )]
    Timer,
}

impl ChatControl {
    /// Whether `plaintext` is a conversation control message.
    pub fn is_chat_control(plaintext: &[u8]) -> bool {
        plaintext.starts_with(MAGIC)
    }

    /// The plaintext to seal.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(VERSION);
        match self {
            ChatControl::Reply { to, text } => {
                out.push(1);
                out.extend_from_slice(to);
                out.extend_from_slice(text);
            }
            ChatControl::React { to, emoji } => {
                out.push(2);
                out.extend_from_slice(to);
                out.extend_from_slice(emoji.as_deref().unwrap_or_default().as_bytes());
            }
            ChatControl::Edit { to, age, text } => {
                out.push(3);
                out.extend_from_slice(to);
                out.extend_from_slice(&age.to_be_bytes());
                out.extend_from_slice(text);
            }
            ChatControl::Delete { to, age } => {
                out.push(4);
                out.extend_from_slice(to);
                out.extend_from_slice(&age.to_be_bytes());
            }
            ChatControl::Timer { secs, set_at } => {
                out.push(5);
                out.extend_from_slice(&secs.to_be_bytes());
                out.extend_from_slice(&set_at.to_be_bytes());
            }
            ChatControl::Timelocked { file } => {
                out.push(6);
                out.extend_from_slice(file);
            }
        }
        out
    }

    /// Reads a control message (one that [`ChatControl::is_chat_control`]).
    pub fn parse(plaintext: &[u8]) -> Result<ChatControl, ChatControlError> {
        let rest = plaintext
            .strip_prefix(MAGIC)
            .ok_or(ChatControlError::Truncated)?;
        let (&version, rest) = rest.split_first().ok_or(ChatControlError::Truncated)?;
        if version != VERSION {
            return Err(ChatControlError::Version(version));
        }
        let (&kind, rest) = rest.split_first().ok_or(ChatControlError::Truncated)?;
        let reference = |rest: &[u8]| -> Result<(Ref, usize), ChatControlError> {
            let to: Ref = rest
                .get(..REF_LEN)
                .and_then(|r| r.try_into().ok())
                .ok_or(ChatControlError::Truncated)?;
            Ok((to, REF_LEN))
        };
        let u32_at = |bytes: &[u8], at: usize| -> Result<u32, ChatControlError> {
            bytes
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .ok_or(ChatControlError::Truncated)
        };
        match kind {
            1 => {
                let (to, n) = reference(rest)?;
                let text = text_of(&rest[n..])?;
                Ok(ChatControl::Reply { to, text })
            }
            2 => {
                let (to, n) = reference(rest)?;
                let emoji = match &rest[n..] {
                    [] => None,
                    bytes => Some(
                        std::str::from_utf8(bytes)
                            .map_err(|_| ChatControlError::Emoji)
                            .and_then(check_emoji)?,
                    ),
                };
                Ok(ChatControl::React { to, emoji })
            }
            3 => {
                let (to, n) = reference(rest)?;
                let age = u32_at(rest, n)?;
                let text = text_of(&rest[n + 4..])?;
                Ok(ChatControl::Edit { to, age, text })
            }
            4 => {
                let (to, n) = reference(rest)?;
                let age = u32_at(rest, n)?;
                if rest.len() != n + 4 {
                    return Err(ChatControlError::Truncated);
                }
                Ok(ChatControl::Delete { to, age })
            }
            5 => {
                let secs = u32_at(rest, 0)?;
                let set_at = rest
                    .get(4..12)
                    .filter(|_| rest.len() == 12)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or(ChatControlError::Truncated)?;
                check_timer(secs)?;
                Ok(ChatControl::Timer { secs, set_at })
            }
            6 => Ok(ChatControl::Timelocked {
                file: text_of(rest)?,
            }),
            other => Err(ChatControlError::Kind(other)),
        }
    }
}

fn text_of(bytes: &[u8]) -> Result<Vec<u8>, ChatControlError> {
    if bytes.is_empty() {
        return Err(ChatControlError::Empty);
    }
    Ok(bytes.to_vec())
}

/// A reaction as typed, checked: one short emoji-like string (no letters
/// or digits of any script, no spaces or control characters).
pub fn check_emoji(emoji: &str) -> Result<String, ChatControlError> {
    let chars = emoji.chars().count();
    let ok = (1..=MAX_EMOJI_CHARS).contains(&chars)
        && emoji.len() <= MAX_EMOJI_BYTES
        && emoji
            .chars()
            .all(|c| !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control());
    if ok {
        Ok(emoji.to_owned())
    } else {
        Err(ChatControlError::Emoji)
    }
}

/// A timer in range: off (0) or [`MIN_TIMER_SECS`]..=[`MAX_TIMER_SECS`].
pub fn check_timer(secs: u32) -> Result<u32, ChatControlError> {
    if secs == 0 || (MIN_TIMER_SECS..=MAX_TIMER_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(ChatControlError::Timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_written() {
        let to = [7; REF_LEN];
        for control in [
            ChatControl::Reply {
                to,
                text: b"yes, at eight".to_vec(),
            },
            ChatControl::React {
                to,
                emoji: Some("👍🏽".into()),
            },
            ChatControl::React { to, emoji: None },
            ChatControl::Edit {
                to,
                age: 3600,
                text: "café".as_bytes().to_vec(),
            },
            ChatControl::Delete { to, age: 0 },
            ChatControl::Timer {
                secs: 3600,
                set_at: 1_796_294_400,
            },
            ChatControl::Timer { secs: 0, set_at: 1 },
            ChatControl::Timelocked {
                file: b"age-encryption.org/v1\n".to_vec(),
            },
        ] {
            let bytes = control.encode();
            assert!(ChatControl::is_chat_control(&bytes));
            assert_eq!(ChatControl::parse(&bytes), Ok(control));
        }
        // The layout, byte for byte, for a reaction.
        let mut expected = b"\0ZKC\x01\x02".to_vec();
        expected.extend_from_slice(&to);
        expected.extend_from_slice("❤".as_bytes());
        assert_eq!(
            ChatControl::React {
                to,
                emoji: Some("❤".into())
            }
            .encode(),
            expected
        );
    }

    #[test]
    fn damaged_control_messages_are_refused_with_a_reason() {
        let to = [1; REF_LEN];
        let reply = ChatControl::Reply {
            to,
            text: b"x".to_vec(),
        }
        .encode();
        let delete = ChatControl::Delete { to, age: 5 }.encode();
        let timer = ChatControl::Timer {
            secs: 60,
            set_at: 9,
        }
        .encode();
        let with_text = |mut bytes: Vec<u8>, tail: &[u8]| {
            bytes.extend_from_slice(tail);
            bytes
        };
        let cases: Vec<(Vec<u8>, ChatControlError)> = vec![
            (b"\0ZKC".to_vec(), ChatControlError::Truncated),
            (b"\0ZKC\x02\x01".to_vec(), ChatControlError::Version(2)),
            (b"\0ZKC\x01\x09".to_vec(), ChatControlError::Kind(9)),
            (reply[..6 + REF_LEN].to_vec(), ChatControlError::Empty),
            (reply[..10].to_vec(), ChatControlError::Truncated),
            (
                delete[..delete.len() - 1].to_vec(),
                ChatControlError::Truncated,
            ),
            (with_text(delete.clone(), b"x"), ChatControlError::Truncated),
            (
                timer[..timer.len() - 1].to_vec(),
                ChatControlError::Truncated,
            ),
            (
                ChatControl::Timer { secs: 2, set_at: 9 }.encode(),
                ChatControlError::Timer,
            ),
            (
                ChatControl::Timer {
                    secs: MAX_TIMER_SECS + 1,
                    set_at: 9,
                }
                .encode(),
                ChatControlError::Timer,
            ),
        ];
        for (bytes, error) in cases {
            assert_eq!(ChatControl::parse(&bytes), Err(error), "{bytes:?}");
        }
        for emoji in ["ok", "👍 👍", "\u{7}", "", "🎉🎉🎉🎉🎉🎉🎉🎉🎉", "\u{ff}"]
        {
            assert_eq!(
                check_emoji(emoji),
                Err(ChatControlError::Emoji),
                "{emoji:?}"
            );
        }
        let mut react = ChatControl::React { to, emoji: None }.encode();
        react.extend_from_slice(&[0xff, 0xfe]);
        assert_eq!(ChatControl::parse(&react), Err(ChatControlError::Emoji));
        assert_eq!(check_emoji("👍"), Ok("👍".into()));
        assert_eq!(check_emoji("+"), Ok("+".into()));
    }

    #[test]
    fn a_ref_is_the_head_of_the_envelopes_blake3() {
        // BLAKE3("abc") = 6437b3ac38465133ffb63b75273a8db5 48c5...
        // (the BLAKE3 paper's test vector for "abc").
        assert_eq!(
            hex::encode(ref_of(b"abc")),
            "6437b3ac38465133ffb63b75273a8db5"
        );
    }
}
