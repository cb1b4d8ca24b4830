use super::*;

fn offer(protection: FileProtection) -> FileOffer {
    FileOffer {
        id: [5; 16],
        name: "holiday photos.tar".into(),
        size: 3 * u64::from(CHUNK_SIZE) + 17,
        blake3: [9; 32],
        chunk_size: CHUNK_SIZE,
        protection,
        timelock: None,
    }
}

fn locked(protection: FileProtection) -> FileOffer {
    FileOffer {
        timelock: Some(OfferTimelock {
            round: 12_040_883,
            chain: [0x52; 32],
        }),
        ..offer(protection)
    }
}

#[test]
fn control_messages_round_trip() {
    let grid = FileProtection::Grid {
        key: Zeroizing::new([1; 32]),
    };
    for m in [
        FileMessage::Offer(offer(grid.clone())),
        FileMessage::Offer(offer(FileProtection::Pad { offset: 4096 })),
        FileMessage::Offer(locked(grid)),
        FileMessage::Offer(locked(FileProtection::Pad { offset: 4096 })),
        FileMessage::Decline([1; 16]),
        FileMessage::Cancel([2; 16]),
        FileMessage::Done([3; 16]),
    ] {
        let bytes = m.encode();
        assert!(FileMessage::is_file_message(&bytes));
        assert_eq!(FileMessage::parse(&bytes).unwrap(), m);
        // Every cut is refused, but one: a timelocked offer cut just
        // before its optional field is the offer without it (what keeps
        // anyone from cutting it is the envelope's MAC around it).
        let whole_field = match &m {
            FileMessage::Offer(o) if o.timelock.is_some() => Some(bytes.len() - 41),
            _ => None,
        };
        for cut in 0..bytes.len() {
            if Some(cut) == whole_field {
                let FileMessage::Offer(o) = &m else {
                    unreachable!()
                };
                let without = FileOffer {
                    timelock: None,
                    ..o.clone()
                };
                assert_eq!(
                    FileMessage::parse(&bytes[..cut]),
                    Ok(FileMessage::Offer(without))
                );
                continue;
            }
            assert!(FileMessage::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        // After an offer without a timelock, a byte more starts a
        // timelock field of no known kind.
        let expected = match &m {
            FileMessage::Offer(o) if o.timelock.is_none() => WireError::Invalid("file timelock"),
            _ => WireError::Trailing,
        };
        assert_eq!(FileMessage::parse(&longer), Err(expected));
    }
    assert!(!FileMessage::is_file_message(b"hello"));
}

/// The timelock field of an offer is absent or whole and canonical:
/// every other shape is refused with the field it broke, and nothing
/// may follow it.
#[test]
fn malformed_timelock_fields_are_refused() {
    for protection in [
        FileProtection::Grid {
            key: Zeroizing::new([1; 32]),
        },
        FileProtection::Pad { offset: 7 },
    ] {
        let plain = FileMessage::Offer(offer(protection.clone())).encode();
        let good = FileMessage::Offer(locked(protection)).encode();
        // The field is the last 41 bytes: kind, round, chain.
        assert_eq!(good.len(), plain.len() + 41);
        assert_eq!(&good[..plain.len()], &plain[..]);
        let field = plain.len();
        let with = |change: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = good.to_vec();
            change(&mut bytes);
            FileMessage::parse(&bytes)
        };
        // Unknown kinds (0 included: "no timelock" is the field's absence).
        for kind in [0u8, 2, 0xff] {
            assert_eq!(
                with(&|b| b[field] = kind),
                Err(WireError::Invalid("file timelock"))
            );
        }
        // Round 0 does not exist.
        assert_eq!(
            with(&|b| b[field + 1..field + 9].copy_from_slice(&[0; 8])),
            Err(WireError::Invalid("timelock round"))
        );
        // Cut anywhere inside the field.
        for cut in field + 1..good.len() {
            let what = if cut < field + 9 {
                "timelock round"
            } else {
                "timelock chain"
            };
            assert_eq!(
                FileMessage::parse(&good[..cut]),
                Err(WireError::Truncated(what)),
                "cut at {cut}"
            );
        }
        // Anything after it, even a second field.
        assert_eq!(with(&|b| b.push(0)), Err(WireError::Trailing));
        assert_eq!(
            with(&|b| {
                let again = b[field..].to_vec();
                b.extend_from_slice(&again);
            }),
            Err(WireError::Trailing)
        );
        // The largest round is a round.
        let far = with(&|b| b[field + 1..field + 9].copy_from_slice(&[0xff; 8])).unwrap();
        let FileMessage::Offer(far) = far else {
            panic!("an offer")
        };
        assert_eq!(far.timelock.unwrap().round, u64::MAX);
    }
}

#[test]
fn offers_out_of_bounds_are_refused() {
    let mut o = offer(FileProtection::Pad { offset: 0 });
    o.size = MAX_FILE + 1;
    assert_eq!(
        FileMessage::parse(&FileMessage::Offer(o.clone()).encode()),
        Err(WireError::TooLong("file size"))
    );
    o.size = 10;
    o.chunk_size = 0;
    assert_eq!(
        FileMessage::parse(&FileMessage::Offer(o).encode()),
        Err(WireError::Invalid("chunk size"))
    );
}

/// Found by the structured fuzzing: a pad offer whose range ends past
/// 2^64 made `pad_range` overflow (a panic in debug builds, a wrapped
/// range in release) on the receiver, and `chunk_pad_range` overflowed
/// for an index far past the end.
#[test]
fn pad_offers_whose_range_overflows_are_refused() {
    let mut o = offer(FileProtection::Pad {
        offset: u64::MAX - 10,
    });
    assert_eq!(
        FileMessage::parse(&FileMessage::Offer(o.clone()).encode()),
        Err(WireError::Invalid("pad offset"))
    );
    let needed = pad_bytes_needed(o.size, o.chunk_size);
    o.protection = FileProtection::Pad {
        offset: u64::MAX - needed,
    };
    let parsed = FileMessage::parse(&FileMessage::Offer(o.clone()).encode()).unwrap();
    assert_eq!(parsed, FileMessage::Offer(o.clone()));
    assert_eq!(o.pad_range().unwrap().end, u64::MAX);
    assert_eq!(o.chunk_pad_range(o.chunks() - 1).unwrap().end, u64::MAX);
    assert_eq!(o.chunk_pad_range(u64::MAX), None);
    assert_eq!(o.chunk_pad_range(o.chunks() + 1), None);
}

#[test]
fn chunk_geometry() {
    let o = offer(FileProtection::Pad { offset: 100 });
    assert_eq!(o.chunks(), 4);
    assert_eq!(o.chunk_len(3), 17);
    assert_eq!(o.chunk_len(4), 0);
    let whole = o.pad_range().unwrap();
    assert_eq!(whole.end - whole.start, o.size + 4 * MAC_KEY_LEN);
    // The chunks' slices tile the whole range exactly.
    let mut at = whole.start;
    for i in 0..o.chunks() {
        let r = o.chunk_pad_range(i).unwrap();
        assert_eq!(r.start, at);
        at = r.end;
    }
    assert_eq!(at, whole.end);
    assert_eq!(chunk_count(0, CHUNK_SIZE), 0);
}

#[test]
fn grid_chunks_open_only_unaltered_and_in_place() {
    let key = [7u8; 32];
    let id = [3u8; 16];
    let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let sealed = seal_grid_chunk(&key, &id, 2, &data);
    assert_ne!(&sealed[..data.len()], &data[..]);
    assert_eq!(open_grid_chunk(&key, &id, 2, 5000, &sealed).unwrap(), data);
    // Another index, transfer or key, a flipped bit, a cut: refused.
    assert_eq!(
        open_grid_chunk(&key, &id, 3, 5000, &sealed),
        Err(ChunkError::BadTag { index: 3 })
    );
    assert!(open_grid_chunk(&key, &[4; 16], 2, 5000, &sealed).is_err());
    assert!(open_grid_chunk(&[8; 32], &id, 2, 5000, &sealed).is_err());
    for at in [0, 4999, 5000, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[at] ^= 1;
        assert_eq!(
            open_grid_chunk(&key, &id, 2, 5000, &bad),
            Err(ChunkError::BadTag { index: 2 })
        );
    }
    assert_eq!(
        open_grid_chunk(&key, &id, 2, 5000, &sealed[1..]),
        Err(ChunkError::Length { index: 2 })
    );
    // Two chunks never share keystream.
    let zeros = vec![0u8; 64];
    assert_ne!(
        seal_grid_chunk(&key, &id, 0, &zeros)[..64],
        seal_grid_chunk(&key, &id, 1, &zeros)[..64]
    );
}

fn sample_offer(pad: bool, timelocked: bool) -> Vec<u8> {
    let protection = if pad {
        FileProtection::Pad { offset: 77 }
    } else {
        FileProtection::Grid {
            key: Zeroizing::new([3; 32]),
        }
    };
    let offer = if timelocked {
        locked(protection)
    } else {
        offer(protection)
    };
    FileMessage::Offer(offer).encode().to_vec()
}

/// A valid control message of any kind from generated fields.
fn control_message(
    kind: u8,
    id: TransferId,
    name: &str,
    size: u64,
    chunk_size: u32,
    offset: u64,
) -> FileMessage {
    let protection = if offset.is_multiple_of(2) {
        FileProtection::Pad { offset }
    } else {
        FileProtection::Grid {
            key: Zeroizing::new([offset as u8; 32]),
        }
    };
    match kind {
        0 => FileMessage::Decline(id),
        1 => FileMessage::Cancel(id),
        2 => FileMessage::Done(id),
        _ => FileMessage::Offer(FileOffer {
            id,
            name: name.to_owned(),
            size,
            blake3: [kind; 32],
            chunk_size,
            protection,
            // Kind 5: a timelocked file.
            timelock: (kind == 5).then(|| OfferTimelock {
                round: offset.max(1),
                chain: [kind; 32],
            }),
        }),
    }
}

/// Offsets of an offer's fields after the magic and version (the
/// timelock field's, after either protection, among them).
fn offer_fields(name_len: usize) -> Vec<usize> {
    let name_end = 22 + 2 + name_len;
    let mut fields = vec![
        5,
        6,
        22,
        name_end,
        name_end + 8,
        name_end + 40,
        name_end + 44,
        name_end + 45,
    ];
    for lock in [name_end + 45 + 8, name_end + 45 + 32] {
        fields.extend([lock, lock + 1, lock + 9]);
    }
    fields
}

/// Valid control messages from generated fields, mutated after the
/// magic and version: the field parser runs on every case; what it
/// accepts re-encodes exactly, and the offer's geometry (chunks, pad
/// ranges) is computed without overflow.
#[test]
fn mutated_control_messages_reach_the_field_parser_and_never_panic() {
    use proptest::prelude::*;
    let strategy = (
        0u8..6,
        any::<TransferId>(),
        "\\PC{0,60}",
        prop_oneof![0..=MAX_FILE, Just(MAX_FILE), Just(0u64)],
        prop_oneof![1..=CHUNK_SIZE, Just(CHUNK_SIZE), Just(1u32)],
        any::<u64>(),
        crate::fuzz::mutations(3),
    );
    crate::fuzz::run(
        "file message",
        2000,
        0.8,
        strategy,
        |(kind, id, name, size, chunk_size, offset, mutations)| {
            let message = control_message(kind, id, &name, size, chunk_size, offset);
            let mut bytes = message.encode().to_vec();
            let len = bytes.len();
            let fields = offer_fields(name.len().min(MAX_NAME));
            crate::fuzz::apply(&mut bytes, 5..len, &fields, &mutations);
            match FileMessage::parse(&bytes) {
                Ok(m) => {
                    assert_eq!(m.encode().to_vec(), bytes);
                    if let FileMessage::Offer(o) = &m {
                        let chunks = o.chunks();
                        let _ = o.pad_range();
                        for i in [0, chunks.saturating_sub(1), chunks, u64::MAX] {
                            let _ = o.chunk_len(i);
                            let _ = o.chunk_pad_range(i);
                        }
                    }
                    crate::fuzz::Outcome::Accepted
                }
                Err(WireError::Invalid("magic" | "version")) => crate::fuzz::Outcome::Framing,
                Err(_) => crate::fuzz::Outcome::Refused,
            }
        },
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes never panic the parser, and whatever it accepts
    /// is in canonical form (re-encodes to the same bytes), so no two
    /// encodings of one message exist.
    #[test]
    fn control_messages_parse_canonically_or_not_at_all(
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        kind in 0u8..6,
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.push(VERSION);
        bytes.push(kind);
        bytes.extend_from_slice(&tail);
        if let Ok(m) = FileMessage::parse(&bytes) {
            proptest::prop_assert_eq!(m.encode().to_vec(), bytes);
        }
        let _ = FileMessage::parse(&tail);
    }

    /// A valid offer with one byte changed is refused or parses to a
    /// different message that still re-encodes exactly.
    #[test]
    fn mutated_offers_never_alias(
        pad: bool,
        timelocked: bool,
        at in 0usize..400,
        flip in 1u8..=255,
    ) {
        let good = sample_offer(pad, timelocked);
        let mut bad = good.clone();
        let at = at % bad.len();
        bad[at] ^= flip;
        if let Ok(m) = FileMessage::parse(&bad) {
            proptest::prop_assert_eq!(m.encode().to_vec(), bad);
        }
    }

    /// Any change to a sealed grid chunk (flip, cut, extension) is
    /// refused; nothing of it is returned.
    #[test]
    fn altered_grid_chunks_never_open(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        at in proptest::prelude::any::<usize>(),
        flip in 1u8..=255,
        cut in 0usize..40,
        extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..40),
    ) {
        let key = [9u8; 32];
        let id = [1u8; 16];
        let sealed = seal_grid_chunk(&key, &id, 5, &data);
        let len = data.len() as u64;
        proptest::prop_assert_eq!(open_grid_chunk(&key, &id, 5, len, &sealed).unwrap(), data);
        let mut flipped = sealed.clone();
        let at = at % flipped.len();
        flipped[at] ^= flip;
        proptest::prop_assert!(open_grid_chunk(&key, &id, 5, len, &flipped).is_err());
        let short = &sealed[..sealed.len().saturating_sub(cut.max(1))];
        proptest::prop_assert!(open_grid_chunk(&key, &id, 5, len, short).is_err());
        let mut long = sealed.clone();
        long.extend_from_slice(&extra);
        proptest::prop_assert!(open_grid_chunk(&key, &id, 5, len, &long).is_err());
    }
}
