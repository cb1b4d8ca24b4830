//! The CAR codec: round trips, the exact header bytes, and one test per
//! class of malformed input, each checking the offset the error names.

use super::*;

fn car(roots: &[RawCid], blocks: &[&[u8]]) -> Vec<u8> {
    let mut w = CarWriter::new(Vec::new(), roots).unwrap();
    for b in blocks {
        w.write_block(b).unwrap();
    }
    let written = w.bytes_written();
    let out = w.into_inner();
    assert_eq!(written, out.len() as u64);
    out
}

fn read_all(bytes: &[u8]) -> Result<(Vec<RawCid>, Vec<Block>), CarError> {
    let mut r = CarReader::new(bytes)?;
    let mut blocks = Vec::new();
    while let Some(b) = r.next_block()? {
        blocks.push(b);
    }
    Ok((r.roots().to_vec(), blocks))
}

/// A CAR whose header is `header` (CBOR, length prefixed here).
fn with_header(header: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, header.len() as u64);
    out.extend_from_slice(header);
    out
}

/// A well-formed header with no roots, then `section` as raw bytes.
fn with_section(section: &[u8]) -> Vec<u8> {
    let mut out = with_header(&header(&[]));
    out.extend_from_slice(section);
    out
}

#[test]
fn blocks_and_roots_round_trip() {
    let a: &[u8] = b"first block";
    let b = vec![7u8; 200_000];
    let empty: &[u8] = b"";
    let roots = [RawCid::of(a), RawCid::of(&b)];
    let bytes = car(&roots, &[a, &b, empty]);
    let (back, blocks) = read_all(&bytes).unwrap();
    assert_eq!(back, roots);
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0].data, a);
    assert_eq!(blocks[1].data, b);
    assert!(blocks[2].data.is_empty());
    assert!(blocks.iter().all(Block::hash_matches));
    assert_eq!(blocks[2].cid.to_string(), crate::chunk_cid(b""));
    // Offsets point at each section's length prefix.
    for block in &blocks {
        let at = usize::try_from(block.offset).unwrap();
        let (len, used) = varint_in(&bytes[at..]).unwrap().unwrap();
        assert_eq!(len as usize, CID_LEN + block.data.len());
        assert_eq!(&bytes[at + used..at + used + CID_LEN], block.cid.to_bytes());
    }
    // No roots and no blocks is a valid (empty) CAR.
    assert_eq!(read_all(&car(&[], &[])).unwrap(), (vec![], vec![]));
}

#[test]
fn the_header_is_canonical_dag_cbor() {
    let root = RawCid::of(b"");
    let mut expected = vec![0xa2, 0x65];
    expected.extend_from_slice(b"roots");
    expected.extend_from_slice(&[0x81, 0xd8, 0x2a, 0x58, 0x25, 0x00]);
    expected.extend_from_slice(&root.to_bytes());
    expected.push(0x67);
    expected.extend_from_slice(b"version");
    expected.push(0x01);
    assert_eq!(header(&[root]), expected);
    let bytes = car(&[root], &[]);
    assert_eq!(bytes[0] as usize, expected.len());
    assert_eq!(&bytes[1..], &expected[..]);
    // The CID's text form is what every IPFS implementation prints.
    assert_eq!(
        root.to_string(),
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    );
    // 30 roots need a one-byte CBOR length, 300 a two-byte one.
    for n in [23usize, 24, 300] {
        let roots: Vec<RawCid> = (0..n).map(|i| RawCid::of(&i.to_le_bytes())).collect();
        assert_eq!(read_all(&car(&roots, &[])).unwrap().0, roots);
    }
}

#[test]
fn varints_are_minimal_and_at_most_nine_bytes() {
    let mut out = Vec::new();
    for v in [
        0u64,
        1,
        127,
        128,
        300,
        16_384,
        u64::from(u32::MAX),
        (1 << 63) - 1,
    ] {
        out.clear();
        put_varint(&mut out, v);
        assert_eq!(varint_in(&out), Ok(Some((v, out.len()))));
    }
    assert_eq!(varint_in(&[0x80]), Ok(None));
    assert!(varint_in(&[0x80, 0x00]).is_err(), "not minimal");
    assert!(varint_in(&[0xff; 10]).is_err(), "overflow");
    assert!(varint_in(&[0xff; 9]).is_err(), "more than 63 bits");
}

#[test]
fn a_truncated_car_is_refused_at_every_cut() {
    let bytes = car(&[RawCid::of(b"x")], &[b"x", b"a longer second block"]);
    let (_, blocks) = read_all(&bytes).unwrap();
    let boundaries: Vec<usize> = blocks
        .iter()
        .map(|b| usize::try_from(b.offset).unwrap())
        .chain([bytes.len()])
        .collect();
    for cut in 0..bytes.len() {
        let result = read_all(&bytes[..cut]);
        if boundaries.contains(&cut) {
            // Cut between sections: a shorter, valid CAR.
            let (_, got) = result.unwrap();
            assert_eq!(
                got.len(),
                boundaries.iter().position(|&b| b == cut).unwrap()
            );
        } else {
            let e = result.unwrap_err();
            assert!(matches!(e, CarError::Truncated { .. }), "cut at {cut}: {e}");
            assert!(e.offset() <= cut as u64, "cut at {cut}: {e}");
            assert!(e.to_string().contains("truncated"), "{e}");
        }
    }
}

#[test]
fn bad_varints_are_refused_with_their_offset() {
    let e = CarReader::new(&[0xffu8; 12][..]).unwrap_err();
    assert!(matches!(e, CarError::Varint { offset: 0, .. }), "{e}");
    let e = CarReader::new(&[0x80u8, 0x00][..]).unwrap_err();
    assert!(matches!(e, CarError::Varint { offset: 0, .. }), "{e}");
    let good = with_section(&[]);
    let at = good.len() as u64;
    let e = read_all(&with_section(&[0xff; 10])).unwrap_err();
    assert_eq!(
        e,
        CarError::Varint {
            offset: at,
            what: "a section length",
            reason: "longer than 9 bytes"
        }
    );
    let e = read_all(&with_section(&[0x81, 0x00])).unwrap_err();
    assert!(
        matches!(e, CarError::Varint { offset, .. } if offset == at),
        "{e}"
    );
}

#[test]
fn oversized_and_empty_headers_and_sections_are_refused() {
    let mut huge = Vec::new();
    put_varint(&mut huge, MAX_HEADER + 1);
    let e = CarReader::new(&huge[..]).unwrap_err();
    assert!(
        matches!(e, CarError::Size { offset: 0, len, .. } if len == MAX_HEADER + 1),
        "{e}"
    );
    let e = CarReader::new(&[0u8][..]).unwrap_err();
    assert!(matches!(e, CarError::Size { len: 0, .. }), "{e}");
    let at = with_section(&[]).len() as u64;
    let mut section = Vec::new();
    put_varint(&mut section, MAX_SECTION + 1);
    let e = read_all(&with_section(&section)).unwrap_err();
    assert!(
        matches!(e, CarError::Size { offset, .. } if offset == at),
        "{e}"
    );
    assert!(e.to_string().contains(&format!("byte {at}")), "{e}");
    let e = read_all(&with_section(&[0])).unwrap_err();
    assert!(matches!(e, CarError::Size { len: 0, .. }), "{e}");
    // The writer refuses what the reader would.
    let mut w = CarWriter::new(Vec::new(), &[]).unwrap();
    assert!(w.write_block(&vec![0; MAX_SECTION as usize]).is_err());
}

#[test]
fn cids_other_than_v1_raw_sha2_256_are_refused() {
    let digest = [9u8; 32];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        ([&[0x12, 0x20][..], &digest].concat(), "CIDv0"),
        (
            [&[0x02, 0x55, 0x12, 0x20][..], &digest].concat(),
            "version 2",
        ),
        (
            [&[0x01, 0x71, 0x12, 0x20][..], &digest].concat(),
            "codec 0x71",
        ),
        (
            [&[0x01, 0x70, 0x12, 0x20][..], &digest].concat(),
            "codec 0x70",
        ),
        (
            [&[0x01, 0x55, 0x13, 0x40][..], &[1; 64]].concat(),
            "multihash 0x13",
        ),
        (
            [&[0x01, 0x55, 0xb2, 0x40, 0x20][..], &digest].concat(),
            "multihash 0x2032",
        ),
        (
            [&[0x01, 0x55, 0x12, 0x10][..], &digest[..16]].concat(),
            "16-byte digest",
        ),
        (
            vec![0x01, 0x55, 0x12, 0x20, 1, 2, 3],
            "ends inside its digest",
        ),
        (vec![0x01, 0x55], "ends inside its multihash code"),
        (vec![0x01, 0x80, 0x00], "not minimally encoded"),
    ];
    let at = with_section(&[]).len() as u64;
    for (cid, says) in cases {
        let mut section = Vec::new();
        put_varint(&mut section, cid.len() as u64);
        section.extend_from_slice(&cid);
        let e = read_all(&with_section(&section)).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, CarError::Cid { offset, .. } if offset == at + 1),
            "{says}: {text}"
        );
        assert!(text.contains(says), "{says}: {text}");
        assert!(text.contains(&format!("CAR byte {}", at + 1)), "{text}");
    }
    // The same in a root of the header.
    let mut header = header(&[RawCid::of(b"r")]);
    header[14] = 0x71; // the codec byte of the root (its CID starts at 13)
    let e = CarReader::new(&with_header(&header)[..]).unwrap_err();
    assert_eq!(e.offset(), 1 + 13);
    assert!(
        e.to_string().contains("a root is a CID of codec 0x71"),
        "{e}"
    );
}

#[test]
fn headers_that_are_not_carv1_are_refused() {
    let root = RawCid::of(b"r");
    let good = header(&[root]);
    let mut cases: Vec<(Vec<u8>, &str)> = vec![
        // CARv2's pragma: {"version": 2}.
        (
            [&[0xa1, 0x67][..], b"version", &[0x02]].concat(),
            "version 2",
        ),
        (
            [&[0xa1, 0x67][..], b"version", &[0x01]].concat(),
            "no roots",
        ),
        (
            [&[0xa1, 0x65][..], b"roots", &[0x80]].concat(),
            "no version",
        ),
        (vec![0x82, 0x01, 0x02], "not a CBOR map"),
        ([&good[..], &[0x00]].concat(), "bytes after the header map"),
        (good[..good.len() - 3].to_vec(), "ends early"),
    ];
    let mut unknown = good.clone();
    unknown[0] = 0xa3;
    unknown.extend_from_slice(&[0x63, b'f', b'o', b'o', 0x01]);
    cases.push((unknown, "unknown key \"foo\""));
    let mut twice = good.clone();
    twice[0] = 0xa3;
    twice.extend_from_slice(&[0x67]);
    twice.extend_from_slice(b"version");
    twice.push(0x01);
    cases.push((twice, "twice"));
    let mut indefinite = good.clone();
    indefinite[0] = 0xbf;
    cases.push((indefinite, "indefinite"));
    let mut long_form = vec![0xb8, 0x02];
    long_form.extend_from_slice(&good[1..]);
    cases.push((long_form, "shortest form"));
    let mut not_tag = good.clone();
    not_tag[8] = 0xd9; // tag 42 written as another tag
    cases.push((not_tag, "not a CID"));
    let mut no_prefix = good.clone();
    no_prefix[12] = 0x01;
    cases.push((no_prefix, "multibase prefix"));
    for (header, says) in cases {
        let e = CarReader::new(&with_header(&header)[..]).unwrap_err();
        assert!(
            matches!(e, CarError::Header { .. } | CarError::Cid { .. }),
            "{says}: {e}"
        );
        assert!(e.to_string().contains(says), "{says}: {e}");
        assert!(e.offset() >= 1, "offsets count the length prefix: {e}");
    }
}

#[test]
fn a_block_that_does_not_hash_to_its_cid_is_read_but_flagged() {
    let mut bytes = car(&[], &[b"one", b"two"]);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let (_, blocks) = read_all(&bytes).unwrap();
    assert!(blocks[0].hash_matches());
    assert!(!blocks[1].hash_matches());
}

#[test]
fn a_refused_reader_stays_refused() {
    let bytes = with_section(&[0xff; 10]);
    let mut r = CarReader::new(&bytes[..]).unwrap();
    assert!(r.next_block().is_err());
    assert!(r.next_block().is_err());
}
