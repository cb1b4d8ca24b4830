//! Writes the starting corpus: valid inputs of every target, made with the
//! crates' own API from fixed seeds, into `corpus/<target>/`.

use std::path::Path;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_beacon::ChainInfo;
use zks_pad::file::{FileMessage, FileOffer, FileProtection};
use zks_pad::{Identity, PendingInvite, RoundBinding, accept};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

/// The body of a code: AFL mutates it and the target adds the checksum.
fn body(code: &[u8]) -> &[u8] {
    &code[..code.len() - 4]
}

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let out = Path::new(&out);
    let alice = Identity::generate(&mut rng(1));
    let bob = Identity::generate(&mut rng(2));
    let addrs = vec![
        "/ip4/127.0.0.1/tcp/4001".to_owned(),
        "/ip6/::1/udp/4001/quic-v1".to_owned(),
    ];
    let pending = PendingInvite::create(&alice, "Alice", &addrs, 1_800_000_600, &mut rng(3));
    let (reply, bob_side) = accept(
        pending.invite(),
        &bob,
        "Bob",
        &[],
        1_800_000_000,
        &mut rng(4),
    )
    .expect("a fresh invite is accepted");
    let mut alice_side = pending
        .finish(&reply)
        .expect("the reply finishes the pairing");
    write(out, "code", "invite", body(pending.invite().as_bytes()));
    write(out, "code", "reply", body(reply.as_bytes()));
    write(out, "code", "pending", &pending.to_bytes());
    let text = zks_qr::to_text(body(pending.invite().as_bytes())).expect("fits a QR code");
    write(out, "code", "text", text.as_bytes());

    let binding = RoundBinding {
        chain_hash: [0x52; 32],
        round: 1,
        randomness: [7; 32],
        signature: Some(vec![0xa5; 96]),
    };
    let mut session = alice_side.session.clone();
    let sealed = session
        .seal(&binding, b"hello", 1_700_000_000, &mut rng(5))
        .expect("a seal");
    write(out, "envelope", "grid", &sealed);
    let mut pad = vec![0x3c; 32 + 5];
    let pad_env = zks_pad::truepad::seal(
        &session.id(),
        zks_pad::Role::Initiator,
        [3; 16],
        4096,
        &mut pad,
        b"hello",
    )
    .expect("a pad seal");
    write(out, "envelope", "pad", &pad_env);
    write(out, "session", "initiator", &alice_side.session.to_bytes());
    write(out, "session", "responder", &bob_side.session.to_bytes());
    alice_side.session = session;
    write(out, "session", "after_seal", &alice_side.session.to_bytes());

    let offer = |protection| {
        FileMessage::Offer(FileOffer {
            id: [5; 16],
            name: "holiday photos.tar".into(),
            size: 3 * u64::from(zks_pad::file::CHUNK_SIZE) + 17,
            blake3: [9; 32],
            chunk_size: zks_pad::file::CHUNK_SIZE,
            protection,
            timelock: None,
        })
    };
    let grid = FileProtection::Grid {
        key: zeroize::Zeroizing::new([1; 32]),
    };
    write(out, "file_message", "offer_grid", &offer(grid).encode());
    write(
        out,
        "file_message",
        "offer_pad",
        &offer(FileProtection::Pad { offset: 77 }).encode(),
    );
    let mut timelocked = offer(FileProtection::Pad { offset: 77 });
    if let FileMessage::Offer(o) = &mut timelocked {
        o.timelock = Some(zks_pad::file::OfferTimelock {
            round: 12_040_883,
            chain: [0x52; 32],
        });
    }
    write(out, "file_message", "offer_timelocked", &timelocked.encode());
    write(
        out,
        "file_message",
        "done",
        &FileMessage::Done([1; 16]).encode(),
    );

    let backup = zks_pad::backup::seal_with(
        b"correct horse",
        br#"{"contacts":[]}"#,
        &mut rng(6),
        64,
        1,
        1,
    )
    .expect("a backup");
    write(out, "backup", "small", &backup);

    let quicknet = include_str!("../../../tests/data/quicknet.jsonl");
    let default = include_str!("../../../tests/data/default.jsonl");
    write(
        out,
        "beacon_json",
        "quicknet_1",
        quicknet.lines().next().unwrap_or_default().as_bytes(),
    );
    write(
        out,
        "beacon_json",
        "default_2",
        default.lines().nth(1).unwrap_or_default().as_bytes(),
    );
    let list: String = default.lines().take(3).map(|l| format!("{l}\n")).collect();
    write(out, "beacon_json", "default_list", list.as_bytes());
    for chain in ChainInfo::builtins() {
        write(
            out,
            "chain_info",
            &chain.name,
            chain.to_info_json().as_bytes(),
        );
    }
}
