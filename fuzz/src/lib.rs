//! The decoders under fuzzing, one function per AFL target (`src/bin/`).
//! Each takes arbitrary bytes and must return without panicking; the
//! integrity checks that AFL cannot get past (a 4-byte BLAKE3 checksum) are
//! fixed up here, so that mutated fields reach the field parsers, as the
//! structured property tests do. The unit test at the end replays every
//! file under `regressions/<target>/` and `corpus/<target>/` through the same
//! functions (`cargo test --lib`: the AFL binaries only link under `cargo afl`).
#![forbid(unsafe_code)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_beacon::{Beacon, ChainInfo, Scheme, parse_beacon_list};
use zks_pad::envelope::Envelope;
use zks_pad::file::FileMessage;
use zks_pad::{Invite, PendingInvite, Reply, Session};
use zks_qr as qr;

/// A target: arbitrary bytes in, no panic out.
pub type Target = fn(&[u8]);

/// The targets by name, for the run script and the regression replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("code", code),
    ("envelope", envelope),
    ("session", session),
    ("file_message", file_message),
    ("backup", backup),
    ("beacon_json", beacon_json),
    ("chain_info", chain_info),
];

/// `data` closed with the checksum of pairing codes: BLAKE3 of everything
/// before it, first 4 bytes.
fn checksummed(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(&blake3::hash(data).as_bytes()[..4]);
    out
}

/// Invites and replies as bytes (raw, and with the checksum fixed up), the
/// stored form of a pending invite, and the `ZKS1:` text form.
pub fn code(data: &[u8]) {
    let fixed = checksummed(data);
    for bytes in [data, &fixed[..]] {
        let _ = Invite::decode(bytes);
        let _ = Reply::decode(bytes);
    }
    let _ = PendingInvite::from_bytes(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(bytes) = qr::from_text(text)
    {
        let _ = Invite::decode(&checksummed(&bytes));
    }
}

/// Envelopes of both modes.
pub fn envelope(data: &[u8]) {
    if let Ok(env) = Envelope::parse(data) {
        let _ = zks_pad::truepad::claimed_range(&env);
    }
}

/// Stored sessions, and a seal with whatever loads.
pub fn session(data: &[u8]) {
    if let Ok(mut s) = Session::from_bytes(data) {
        let binding = zks_pad::RoundBinding {
            chain_hash: [0x52; 32],
            round: 1,
            randomness: [7; 32],
            signature: None,
        };
        // Fuzzing needs reproducible runs, not secrecy.
        let mut rng = ChaCha20Rng::seed_from_u64(0);
        let _ = s.seal(&binding, b"fuzz", 1_700_000_000, &mut rng);
        let _ = s.to_bytes();
    }
}

/// File-transfer control messages, and the geometry of an offer.
pub fn file_message(data: &[u8]) {
    if let Ok(FileMessage::Offer(o)) = FileMessage::parse(data) {
        let chunks = o.chunks();
        let _ = o.pad_range();
        for i in [0, chunks.saturating_sub(1), chunks, u64::MAX] {
            let _ = o.chunk_len(i);
            let _ = o.chunk_pad_range(i);
        }
    }
}

/// Backups, with costs bounded so that a case stays fast (the decoder's own
/// bound, 1 GiB, is checked by the unit tests).
pub fn backup(data: &[u8]) {
    let m = data
        .get(4..8)
        .map(|b| u32::from_be_bytes(b.try_into().unwrap_or_default()));
    let t = data
        .get(8..12)
        .map(|b| u32::from_be_bytes(b.try_into().unwrap_or_default()));
    if m.is_some_and(|m| m > 1024) || t.is_some_and(|t| t > 2) {
        return;
    }
    let _ = zks_pad::backup::open(b"correct horse", data);
}

/// drand beacon JSON, one object or a list, for every scheme.
pub fn beacon_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for scheme in Scheme::ALL {
        if let Ok(b) = Beacon::from_json(scheme, text) {
            assert_eq!(Beacon::from_json(scheme, &b.to_json()).ok(), Some(b));
        }
        let _ = parse_beacon_list(scheme, text);
    }
}

/// drand `/info` documents and chain names or hashes.
pub fn chain_info(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(info) = ChainInfo::from_info_json(text) {
        assert_eq!(
            ChainInfo::from_info_json(&info.to_info_json()).ok(),
            Some(info)
        );
    }
    let _ = ChainInfo::find(text, []);
}

/// Crashers AFL found, kept after the fix, and any corpus kept here.
#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn every_kept_input_runs_without_panicking() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut count = 0;
        for (name, target) in super::TARGETS {
            for dir in ["regressions", "corpus"] {
                let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let data = std::fs::read(entry.path()).expect("read a kept input");
                    target(&data);
                    count += 1;
                }
            }
        }
        println!("{count} kept inputs replayed");
    }
}
