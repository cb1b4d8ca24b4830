//! Grid-pad sessions: round trips, ordering, replays, tampering, forward
//! secrecy per message, the KEM ratchet's offers from either side and its
//! healing, and storage (including states of the previous release).

use std::collections::HashMap;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::envelope::Envelope;
use crate::identity::Identity;
use crate::pairing::{PendingInvite, accept};

const CHAIN: [u8; 32] = [0x52; 32];
/// The clock of most tests (unix seconds); time only matters for epoch age.
const T0: u64 = 1_700_000_000;

/// Known rounds 1..=100 with made-up randomness; later rounds are "future".
struct Rounds(HashMap<u64, [u8; 32]>);

impl Rounds {
    fn new() -> Rounds {
        Rounds(
            (1..=100)
                .map(|r| (r, *blake3::hash(&u64::to_be_bytes(r)).as_bytes()))
                .collect(),
        )
    }
    fn binding(&self, round: u64) -> RoundBinding {
        RoundBinding {
            chain_hash: CHAIN,
            round,
            randomness: self.0[&round],
            signature: None,
        }
    }
}

impl RoundSource for Rounds {
    fn randomness(
        &self,
        chain: &[u8; 32],
        round: u64,
        _: Option<&[u8]>,
    ) -> Result<[u8; 32], String> {
        if chain != &CHAIN {
            return Err("unknown chain".into());
        }
        self.0
            .get(&round)
            .copied()
            .ok_or_else(|| format!("round {round} is in the future"))
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn sessions() -> (Session, Session) {
    let alice = Identity::generate(&mut rng(1));
    let bob = Identity::generate(&mut rng(2));
    let pending = PendingInvite::create(&alice, "A", &[], 10, &mut rng(3));
    let (reply, b) = accept(pending.invite(), &bob, "B", &[], 0, &mut rng(4)).unwrap();
    let a = pending.finish(&reply).unwrap();
    (a.session, b.session)
}

/// The grid header of a sealed message.
fn header(sealed: &[u8]) -> GridHeader {
    match Envelope::parse(sealed).unwrap().body {
        Body::Grid(h) => h,
        Body::Pad(_) => panic!("not a grid-pad message"),
    }
}

fn open(s: &mut Session, bytes: &[u8], rounds: &Rounds) -> Result<Opened, OpenError> {
    open_at(s, bytes, rounds, T0)
}

fn open_at(s: &mut Session, bytes: &[u8], rounds: &Rounds, now: u64) -> Result<Opened, OpenError> {
    let envelope = Envelope::parse(bytes)?;
    s.open(&envelope, rounds, now, &mut rng(77))
}

#[test]
fn messages_flow_both_ways_bound_to_their_rounds() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(10);
    for i in 0..10u64 {
        let msg = format!("hello {i}");
        let sealed = a
            .seal(&rounds.binding(i + 1), msg.as_bytes(), T0, &mut r)
            .unwrap();
        let opened = open(&mut b, &sealed, &rounds).unwrap();
        assert_eq!(opened.plaintext, msg.as_bytes());
        assert_eq!((opened.round, opened.n), (i + 1, i));
        let back = b.seal(&rounds.binding(50), b"ack", T0, &mut r).unwrap();
        assert_eq!(open(&mut a, &back, &rounds).unwrap().plaintext, b"ack");
    }
    // Empty and large messages.
    let big = vec![0xa5u8; 3 * 1024 * 1024 + 7];
    for m in [&b""[..], &big[..]] {
        let sealed = a.seal(&rounds.binding(3), m, T0, &mut r).unwrap();
        assert_eq!(open(&mut b, &sealed, &rounds).unwrap().plaintext, m);
    }
}

#[test]
fn out_of_order_within_the_window_is_fine_and_replays_are_refused() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(11);
    let sealed: Vec<Vec<u8>> = (0..6)
        .map(|i| a.seal(&rounds.binding(1), &[i as u8], T0, &mut r).unwrap())
        .collect();
    for i in [3, 0, 5, 1, 2, 4] {
        assert_eq!(
            open(&mut b, &sealed[i], &rounds).unwrap().plaintext,
            vec![i as u8]
        );
    }
    for s in &sealed {
        assert!(matches!(
            open(&mut b, s, &rounds),
            Err(OpenError::Replay { .. })
        ));
    }
    // A gap larger than the window is refused, and costs nothing.
    let mut far = a.clone();
    for _ in 0..=MAX_GAP {
        far.seal(&rounds.binding(1), b"", T0, &mut r).unwrap();
    }
    let too_far = far.seal(&rounds.binding(1), b"x", T0, &mut r).unwrap();
    assert!(matches!(
        open(&mut b, &too_far, &rounds),
        Err(OpenError::TooFarAhead { .. })
    ));
    let next = a.seal(&rounds.binding(1), b"next", T0, &mut r).unwrap();
    assert_eq!(open(&mut b, &next, &rounds).unwrap().plaintext, b"next");
}

#[test]
fn tampering_with_any_byte_is_caught_and_changes_nothing() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let sealed = a
        .seal(&rounds.binding(7), b"attack at dawn", T0, &mut rng(12))
        .unwrap();
    let before = b.to_bytes();
    for i in 0..sealed.len() {
        let mut t = sealed.clone();
        t[i] ^= 0x01;
        assert!(open(&mut b, &t, &rounds).is_err(), "byte {i}");
        assert_eq!(
            b.to_bytes(),
            before,
            "state changed by a bad message (byte {i})"
        );
    }
    for cut in [0, 10, sealed.len() - 1] {
        assert!(matches!(
            open(&mut b, &sealed[..cut], &rounds),
            Err(OpenError::Envelope(_))
        ));
    }
    let mut longer = sealed.clone();
    longer.push(0);
    assert!(open(&mut b, &longer, &rounds).is_err());
    assert_eq!(
        open(&mut b, &sealed, &rounds).unwrap().plaintext,
        b"attack at dawn"
    );
}

#[test]
fn wrong_session_reflection_and_unverifiable_rounds_are_refused() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let (_, mut stranger) = {
        let alice = Identity::generate(&mut rng(5));
        let carol = Identity::generate(&mut rng(6));
        let p = PendingInvite::create(&alice, "A", &[], 10, &mut rng(7));
        let (reply, c) = accept(p.invite(), &carol, "C", &[], 0, &mut rng(8)).unwrap();
        (p.finish(&reply).unwrap(), c.session)
    };
    let mut r = rng(13);
    let sealed = a.seal(&rounds.binding(1), b"hi", T0, &mut r).unwrap();
    assert_eq!(
        open(&mut stranger, &sealed, &rounds).unwrap_err(),
        OpenError::WrongSession
    );
    assert_eq!(
        open(&mut a, &sealed, &rounds).unwrap_err(),
        OpenError::Reflected
    );
    let future = RoundBinding {
        round: 101,
        ..rounds.binding(1)
    };
    let sealed = a.seal(&future, b"from the future", T0, &mut r).unwrap();
    assert!(matches!(
        open(&mut b, &sealed, &rounds),
        Err(OpenError::Round(_))
    ));
    let other_chain = RoundBinding {
        chain_hash: [1; 32],
        ..rounds.binding(1)
    };
    let sealed = a.seal(&other_chain, b"x", T0, &mut r).unwrap();
    assert!(matches!(
        open(&mut b, &sealed, &rounds),
        Err(OpenError::Round(_))
    ));
    // A message bound to the right round number but other randomness fails.
    let lying = RoundBinding {
        randomness: [9; 32],
        ..rounds.binding(2)
    };
    let sealed = a.seal(&lying, b"x", T0, &mut r).unwrap();
    assert_eq!(
        open(&mut b, &sealed, &rounds).unwrap_err(),
        OpenError::BadTag
    );
}

#[test]
fn the_kem_ratchet_advances_epochs_and_heals_after_a_compromise() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(14);
    // The attacker copies both states early on.
    let stolen_a = a.clone();
    let stolen_b = b.clone();
    let mut in_flight = Vec::new();
    for i in 0..(3 * RATCHET_EVERY) {
        let m = a
            .seal(&rounds.binding(1), &i.to_be_bytes(), T0, &mut r)
            .unwrap();
        if i % 10 == 0 {
            in_flight.push((i, m)); // delivered late
        } else {
            assert_eq!(
                open(&mut b, &m, &rounds).unwrap().plaintext,
                i.to_be_bytes()
            );
        }
        let back = b.seal(&rounds.binding(2), b"ok", T0, &mut r).unwrap();
        open(&mut a, &back, &rounds).unwrap();
    }
    assert!(
        a.epoch() >= 2 && a.epoch() == b.epoch(),
        "epochs {} {}",
        a.epoch(),
        b.epoch()
    );
    // Late messages from the current or previous epoch still open.
    let mut late_ok = 0;
    for (i, m) in &in_flight {
        if let Ok(o) = open(&mut b, m, &rounds) {
            assert_eq!(o.plaintext, i.to_be_bytes());
            late_ok += 1;
        }
    }
    assert!(late_ok >= 1);
    // The stolen early states cannot read what is sent now.
    let now_a = a.seal(&rounds.binding(3), b"secret", T0, &mut r).unwrap();
    let now_b = b.seal(&rounds.binding(3), b"secret", T0, &mut r).unwrap();
    assert!(open(&mut stolen_b.clone(), &now_a, &rounds).is_err());
    assert!(open(&mut stolen_a.clone(), &now_b, &rounds).is_err());
    assert_eq!(open(&mut b, &now_a, &rounds).unwrap().plaintext, b"secret");
    assert_eq!(open(&mut a, &now_b, &rounds).unwrap().plaintext, b"secret");
}

#[test]
fn a_stored_session_continues_where_it_stopped() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(15);
    for _ in 0..(RATCHET_EVERY + 3) {
        let m = a.seal(&rounds.binding(1), b"x", T0, &mut r).unwrap();
        open(&mut b, &m, &rounds).unwrap();
        let m = b.seal(&rounds.binding(1), b"y", T0, &mut r).unwrap();
        open(&mut a, &m, &rounds).unwrap();
    }
    let skipped = a.seal(&rounds.binding(1), b"skipped", T0, &mut r).unwrap();
    let m = a.seal(&rounds.binding(1), b"z", T0, &mut r).unwrap();
    open(&mut b, &m, &rounds).unwrap();
    let mut a2 = Session::from_bytes(&a.to_bytes()).unwrap();
    let mut b2 = Session::from_bytes(&b.to_bytes()).unwrap();
    assert_eq!(a2.to_bytes(), a.to_bytes());
    assert_eq!(
        open(&mut b2, &skipped, &rounds).unwrap().plaintext,
        b"skipped"
    );
    let m = a2
        .seal(&rounds.binding(1), b"after restart", T0, &mut r)
        .unwrap();
    assert_eq!(
        open(&mut b2, &m, &rounds).unwrap().plaintext,
        b"after restart"
    );
    assert!(Session::from_bytes(b"garbage").is_err());
    assert!(Session::from_bytes(&[]).is_err());
}

#[test]
fn a_stolen_state_cannot_open_earlier_messages_of_its_epoch() {
    // A known root, so that the test can look for it in the stolen bytes.
    const ROOT: [u8; 32] = [0x2a; 32];
    let rounds = Rounds::new();
    let mut a = Session::new(&ROOT, Role::Initiator);
    let mut b = Session::new(&ROOT, Role::Responder);
    let mut r = rng(16);
    let mut sealed = Vec::new();
    let mut used = Vec::new(); // chain and message keys of messages 0..=5
    for i in 0..=5u8 {
        let (ck, mk) = a.next_send_keys();
        used.extend([ck, mk]);
        let m = a.seal(&rounds.binding(1), &[i], T0, &mut r).unwrap();
        assert_eq!(open(&mut b, &m, &rounds).unwrap().plaintext, [i]);
        sealed.push(m);
    }
    assert_eq!((a.epoch(), b.epoch()), (0, 0), "all in one epoch");
    let stolen_b = b.to_bytes();
    let stolen_a = a.to_bytes();
    for (who, stolen) in [("Bob", &stolen_b), ("Alice", &stolen_a)] {
        // Nothing stored is the root, a used key, or leads to one: not as a
        // root (its chain keys), not as a chain key (walking it forward).
        for window in stolen.windows(32) {
            let w: [u8; 32] = window.try_into().unwrap();
            assert_ne!(w, ROOT, "{who}'s state holds the root");
            for label in [kdf::CHAIN_I2R, kdf::CHAIN_R2I] {
                assert!(!used.contains(&kdf::keyed(&w, label)), "{who}: a root");
            }
            let mut ck = w;
            for _ in 0..=used.len() {
                assert!(!used.contains(&ck), "{who}: a used chain key");
                assert!(
                    !used.contains(&kdf::keyed(&ck, kdf::MSG)),
                    "{who}: a used message key"
                );
                ck = kdf::keyed(&ck, kdf::NEXT);
            }
        }
        // And the only session the bytes make refuses the old messages.
        let mut thief = Session::from_bytes(stolen).unwrap();
        for (n, m) in sealed.iter().enumerate() {
            let expected = if who == "Bob" {
                OpenError::Replay {
                    epoch: 0,
                    n: n as u64,
                }
            } else {
                OpenError::Reflected
            };
            assert_eq!(open(&mut thief, m, &rounds).unwrap_err(), expected);
        }
    }
    // Alice's state posing as the responder has only the other direction's
    // chain: the MAC of her own messages does not verify.
    let mut posing = stolen_a.to_vec();
    assert_eq!(posing[17], 0, "role byte");
    posing[17] = 1;
    let mut posing = Session::from_bytes(&posing).unwrap();
    for m in &sealed {
        assert_eq!(
            open(&mut posing, m, &rounds).unwrap_err(),
            OpenError::BadTag
        );
    }
    // The real sessions go on.
    let m = a.seal(&rounds.binding(1), b"six", T0, &mut r).unwrap();
    assert_eq!(open(&mut b, &m, &rounds).unwrap().plaintext, b"six");
}

#[test]
fn a_responder_writing_alone_moves_the_session_on_and_heals_it() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(17);
    let mut stolen_a = None;
    let mut from_bob = Vec::new();
    let mut alice_sent = 0;
    for i in 0..(3 * RATCHET_EVERY) {
        let m = b
            .seal(&rounds.binding(1), &i.to_be_bytes(), T0, &mut r)
            .unwrap();
        let opened = open(&mut a, &m, &rounds).unwrap();
        assert_eq!(opened.plaintext, i.to_be_bytes());
        from_bob.push((i, opened.epoch, m));
        if i == 5 {
            stolen_a = Some(a.clone()); // Alice's device is copied early on
        }
        // Alice answers only now and then: far fewer than RATCHET_EVERY.
        if i % 20 == 19 {
            let back = a.seal(&rounds.binding(2), b"ok", T0, &mut r).unwrap();
            assert!(header(&back).kem_offer.is_none(), "Alice never offers");
            open(&mut b, &back, &rounds).unwrap();
            alice_sent += 1;
        }
    }
    assert!(alice_sent < RATCHET_EVERY);
    assert!(
        b.epoch() >= 2 && a.epoch() == b.epoch(),
        "epochs {} {}",
        a.epoch(),
        b.epoch()
    );
    assert!(
        from_bob
            .iter()
            .any(|(_, _, m)| header(m).kem_offer.is_some())
    );
    // The stolen copy reads what Bob sent in its own epoch, and nothing after.
    let stolen_a = stolen_a.unwrap();
    let (mut read, mut refused) = (0, 0);
    for (i, epoch, m) in from_bob.iter().filter(|(i, _, _)| *i > 5) {
        match open(&mut stolen_a.clone(), m, &rounds) {
            Ok(o) => {
                assert_eq!((*epoch, o.plaintext), (0, i.to_be_bytes().to_vec()));
                read += 1;
            }
            Err(_) => {
                assert!(*epoch >= 1, "message {i} of epoch {epoch}");
                refused += 1;
            }
        }
    }
    assert!(read > 0 && refused > 0, "read {read}, refused {refused}");
    let now_b = b.seal(&rounds.binding(3), b"secret", T0, &mut r).unwrap();
    assert!(open(&mut stolen_a.clone(), &now_b, &rounds).is_err());
    assert_eq!(open(&mut a, &now_b, &rounds).unwrap().plaintext, b"secret");
}

#[test]
fn both_sides_offering_at_once_converge_to_one_epoch_and_keep_talking() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(18);
    for _ in 0..RATCHET_EVERY {
        let m = a.seal(&rounds.binding(1), b"a", T0, &mut r).unwrap();
        open(&mut b, &m, &rounds).unwrap();
        let m = b.seal(&rounds.binding(1), b"b", T0, &mut r).unwrap();
        open(&mut a, &m, &rounds).unwrap();
    }
    // Both offer before either has seen the other's offer.
    let from_a = a.seal(&rounds.binding(1), b"a offers", T0, &mut r).unwrap();
    let from_b1 = b.seal(&rounds.binding(1), b"b offers", T0, &mut r).unwrap();
    let from_b2 = b.seal(&rounds.binding(1), b"b again", T0, &mut r).unwrap();
    assert!(header(&from_a).kem_offer.is_some());
    assert!(header(&from_b1).kem_offer.is_some());
    assert_eq!(header(&from_b1).kem_offer, header(&from_b2).kem_offer);
    // The initiator ignores the responder's offer while its own is out…
    assert_eq!(
        open(&mut a, &from_b1, &rounds).unwrap().plaintext,
        b"b offers"
    );
    assert_eq!(a.epoch(), 0);
    // …and the responder drops its own and answers the initiator's.
    assert_eq!(
        open(&mut b, &from_a, &rounds).unwrap().plaintext,
        b"a offers"
    );
    assert_eq!(b.epoch(), 1);
    let answer = b.seal(&rounds.binding(1), b"answer", T0, &mut r).unwrap();
    let h = header(&answer);
    assert!(h.kem_reply.is_some() && h.kem_offer.is_none());
    assert_eq!(open(&mut a, &answer, &rounds).unwrap().plaintext, b"answer");
    assert_eq!(a.epoch(), 1);
    // The responder's late message of the old epoch still opens, and its
    // stale offer is ignored.
    assert_eq!(
        open(&mut a, &from_b2, &rounds).unwrap().plaintext,
        b"b again"
    );
    assert_eq!(a.epoch(), 1);
    // Both keep talking both ways, through further steps, in step.
    for i in 0..(3 * RATCHET_EVERY) {
        let m = a
            .seal(&rounds.binding(2), &i.to_be_bytes(), T0, &mut r)
            .unwrap();
        assert_eq!(
            open(&mut b, &m, &rounds).unwrap().plaintext,
            i.to_be_bytes()
        );
        let m = b
            .seal(&rounds.binding(2), &i.to_be_bytes(), T0, &mut r)
            .unwrap();
        assert_eq!(
            open(&mut a, &m, &rounds).unwrap().plaintext,
            i.to_be_bytes()
        );
    }
    assert!(a.epoch() >= 3 && a.epoch() == b.epoch());
}

#[test]
fn an_epoch_older_than_a_day_brings_an_offer_even_with_few_messages() {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(19);
    let exchange = |from: &mut Session, to: &mut Session, at: u64, r: &mut ChaCha20Rng| {
        let m = from.seal(&rounds.binding(1), b"hi", at, r).unwrap();
        open_at(to, &m, &rounds, at).unwrap();
        m
    };
    // The first seal starts the clock of a new pairing.
    assert!(
        header(&exchange(&mut a, &mut b, T0, &mut r))
            .kem_offer
            .is_none()
    );
    let m = exchange(&mut a, &mut b, T0 + EPOCH_MAX_AGE - 1, &mut r);
    assert!(header(&m).kem_offer.is_none(), "not a day yet");
    // A clock set back never makes an epoch older.
    let m = exchange(&mut a, &mut b, T0 - 1000, &mut r);
    assert!(header(&m).kem_offer.is_none());
    let day = T0 + EPOCH_MAX_AGE;
    let m = exchange(&mut a, &mut b, day, &mut r);
    assert!(header(&m).kem_offer.is_some(), "a day old");
    assert!(a.sent_in_epoch() < RATCHET_EVERY);
    assert_eq!(b.epoch(), 1);
    exchange(&mut b, &mut a, day + 5, &mut r);
    assert_eq!(a.epoch(), 1);
    // Each side's new epoch started when it stepped (Bob at `day`, Alice at
    // `day + 5`), so neither offers until a day after that.
    let m = exchange(&mut a, &mut b, day + EPOCH_MAX_AGE, &mut r);
    assert!(header(&m).kem_offer.is_none());
    let m = exchange(&mut b, &mut a, day + EPOCH_MAX_AGE, &mut r);
    assert!(header(&m).kem_offer.is_some(), "the responder offers too");
    assert_eq!(a.epoch(), 2);
    exchange(&mut a, &mut b, day + EPOCH_MAX_AGE + 1, &mut r);
    assert_eq!(b.epoch(), 2);
    // The step survives storage.
    let b2 = Session::from_bytes(&b.to_bytes()).unwrap();
    assert_eq!(b2.to_bytes(), b.to_bytes());
}

/// States of the previous release (format version 1), written by its code:
/// Alice (initiator) has sent 33 messages, the last one lost, and holds the
/// KEM offer it carried; Bob (responder) has opened 0..=30.
const V1_ALICE: &str = concat!(
    "019d115e64e6971cd9f7e4f3413d214e3e0001ce3041a1f07be87af9deec1c97195731a118725228",
    "e38ba09f2d0a91a148fc0000000013810ed774b7be5659fb618bb9dfd1fd446007bfe6c17bdb55f3",
    "7f646c1628970000000000000021010000000000000000000000036ae54b393c89dc5a5ab582ab6a",
    "11c922156fc0ecd56effd081657bb7b157edd80000000001367b7f92e97cdbf557e54e8471d17405",
    "626f527558fb7fef72ef24b2cb418eea788187a2fa3e9c89569f395ff88f8d8926a5aa3df1996655",
    "74d0478d6f99d15300",
);
const V1_BOB: &str = concat!(
    "019d115e64e6971cd9f7e4f3413d214e3e0101ce3041a1f07be87af9deec1c97195731a118725228",
    "e38ba09f2d0a91a148fc000000006ae54b393c89dc5a5ab582ab6a11c922156fc0ecd56effd08165",
    "7bb7b157edd800000000000000030100000000000000000000001f8748f1f3674e99d408f8469758",
    "0a333c14b41f372b212f22eb18f09bd687faa8000000000000",
);
/// Alice's message 31 (plaintext: 31 as u64), sealed by the previous
/// release and still in flight when both sides upgrade.
const V1_IN_FLIGHT: &str = concat!(
    "5a4b4501019d115e64e6971cd9f7e4f3413d214e3e0000000000000000000000001f525252525252",
    "52525252525252525252525252525252525252525252525252520000000000000001000000000000",
    "0000089e6d35c4d42be234bad4701de64be21794dea5c53a34aa6e032c4f99efdea70aa79693a18d",
    "0f98e9",
);

#[test]
fn version_1_states_load_and_the_two_sides_keep_talking() {
    let rounds = Rounds::new();
    let v1_a = hex::decode(V1_ALICE).unwrap();
    let v1_b = hex::decode(V1_BOB).unwrap();
    let root = &v1_a[18..50]; // version 1 kept the epoch root
    assert_eq!(root, &v1_b[18..50]);
    let mut a = Session::from_bytes(&v1_a).unwrap();
    let mut b = Session::from_bytes(&v1_b).unwrap();
    for s in [&a, &b] {
        let v2 = s.to_bytes();
        assert_eq!(v2[0], 2);
        assert!(!v2.windows(32).any(|w| w == root), "the root is dropped");
        assert_eq!(Session::from_bytes(&v2).unwrap().to_bytes(), v2);
    }
    assert_eq!((a.epoch(), b.epoch(), a.sent_in_epoch()), (0, 0, 33));
    let mut r = rng(20);
    // A message the previous release sealed opens after the upgrade.
    let late = hex::decode(V1_IN_FLIGHT).unwrap();
    let opened = open(&mut b, &late, &rounds).unwrap();
    assert_eq!(opened.plaintext, 31u64.to_be_bytes());
    // Epoch start 0: Bob's first seal offers a step at once, while Alice
    // still holds the offer she made before the upgrade. Hers wins.
    let from_b = b.seal(&rounds.binding(2), b"upgraded", T0, &mut r).unwrap();
    assert!(header(&from_b).kem_offer.is_some());
    assert_eq!(
        open(&mut a, &from_b, &rounds).unwrap().plaintext,
        b"upgraded"
    );
    let from_a = a.seal(&rounds.binding(2), b"me too", T0, &mut r).unwrap();
    assert!(header(&from_a).kem_offer.is_some());
    assert_eq!(open(&mut b, &from_a, &rounds).unwrap().plaintext, b"me too");
    assert_eq!((a.epoch(), b.epoch()), (0, 1));
    let m = b.seal(&rounds.binding(2), b"stepped", T0, &mut r).unwrap();
    assert_eq!(open(&mut a, &m, &rounds).unwrap().plaintext, b"stepped");
    assert_eq!(a.epoch(), 1);
    for i in 0..(2 * RATCHET_EVERY) {
        let m = a
            .seal(&rounds.binding(3), &i.to_be_bytes(), T0, &mut r)
            .unwrap();
        assert_eq!(
            open(&mut b, &m, &rounds).unwrap().plaintext,
            i.to_be_bytes()
        );
        let m = b
            .seal(&rounds.binding(3), &i.to_be_bytes(), T0, &mut r)
            .unwrap();
        assert_eq!(
            open(&mut a, &m, &rounds).unwrap().plaintext,
            i.to_be_bytes()
        );
    }
    assert!(a.epoch() >= 2 && a.epoch() == b.epoch());
    // Other versions are refused.
    let mut v3 = v1_a.clone();
    v3[0] = 3;
    assert!(Session::from_bytes(&v3).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn parsing_and_opening_arbitrary_or_mutated_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        let rounds = Rounds::new();
        let (mut a, mut b) = sessions();
        let _ = open(&mut b, &bytes, &rounds);
        let mut sealed = a.seal(&rounds.binding(1), &bytes, T0, &mut rng(1)).unwrap();
        for &(at, x) in &flips {
            let len = sealed.len();
            sealed[at % len] ^= x;
        }
        let _ = open(&mut b, &sealed, &rounds);
        let _ = Session::from_bytes(&bytes);
        // Damaged or cut stored states of both versions load or are refused.
        for state in [hex::decode(V1_ALICE).unwrap(), a.to_bytes().to_vec()] {
            let mut damaged = state.clone();
            for &(at, x) in &flips {
                let len = damaged.len();
                damaged[at % len] ^= x;
            }
            let _ = Session::from_bytes(&damaged);
            let _ = Session::from_bytes(&state[..bytes.len() % state.len()]);
        }
    }
}

/// A valid envelope of each shape, with the session that would open it as it
/// was just before (`None` for the true-pad one).
fn sample_envelopes() -> Vec<(Vec<u8>, Option<Session>)> {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(9);
    let mut out = Vec::new();
    out.push((
        a.seal(&rounds.binding(1), b"hello", T0, &mut r).unwrap(),
        Some(b.clone()),
    ));
    out.push((
        a.seal(&rounds.binding(1), b"", T0, &mut r).unwrap(),
        Some(b.clone()),
    ));
    let mut hinted = rounds.binding(2);
    hinted.signature = Some(vec![0xa5; 96]);
    out.push((
        a.seal(&hinted, b"hinted", T0, &mut r).unwrap(),
        Some(b.clone()),
    ));
    for i in 0..RATCHET_EVERY {
        let m = a
            .seal(&rounds.binding(3), &i.to_be_bytes(), T0, &mut r)
            .unwrap();
        open(&mut b, &m, &rounds).unwrap();
    }
    let offer = a.seal(&rounds.binding(4), b"offer", T0, &mut r).unwrap();
    assert!(header(&offer).kem_offer.is_some());
    out.push((offer.clone(), Some(b.clone())));
    open(&mut b, &offer, &rounds).unwrap();
    let reply = b.seal(&rounds.binding(5), b"reply", T0, &mut r).unwrap();
    assert!(header(&reply).kem_reply.is_some());
    out.push((reply, Some(a.clone())));
    let mut pad = vec![0x3c; 32 + 9];
    let pad_envelope = crate::truepad::seal(
        &a.id(),
        Role::Initiator,
        [3; 16],
        4096,
        &mut pad,
        b"true pad!",
    )
    .unwrap();
    out.push((pad_envelope, None));
    out
}

/// Offsets of an envelope's fields, read from a valid one.
fn envelope_fields(bytes: &[u8]) -> Vec<usize> {
    let env = Envelope::parse(bytes).unwrap();
    let header_end = env.header_bytes().len();
    let mut fields = vec![4, 5, 21, 22];
    if let Body::Grid(h) = &env.body {
        fields.extend([26, 34, 66, 74, 75]);
        let mut at = 75;
        if let Some(hint) = &h.signature_hint {
            at += 2 + hint.len();
            fields.push(at);
        }
        if h.kem_offer.is_some() {
            at += crate::invite::MLKEM_EK_LEN;
            fields.push(at);
        }
    } else {
        fields.push(38);
    }
    fields.extend([header_end - 8, header_end, bytes.len() - env.tag.len()]);
    fields
}

/// A change to a header field made through the encoder, so that the rest of
/// the envelope stays consistent with it (or exactly not).
#[derive(Debug, Clone)]
enum HeaderChange {
    None,
    /// The length field off by `delta` from the ciphertext's.
    Length(i64),
    /// A signature hint of this many bytes (over 192 is too long).
    Hint(usize),
    /// Flags claiming an offer or a reply, with a field of this size.
    Offer(usize),
    Reply(usize),
    /// The other mode's header on this envelope's ciphertext and tag.
    OtherMode,
}

fn header_change() -> impl Strategy<Value = HeaderChange> {
    prop_oneof![
        2 => Just(HeaderChange::None),
        2 => (-40i64..40).prop_map(HeaderChange::Length),
        1 => prop_oneof![Just(u64::MAX as i64), Just(i64::MAX), Just(1 << 26)].prop_map(HeaderChange::Length),
        1 => (0usize..=200).prop_map(HeaderChange::Hint),
        1 => prop_oneof![Just(0usize), Just(1183), Just(1184), Just(1185)].prop_map(HeaderChange::Offer),
        1 => prop_oneof![Just(0usize), Just(1087), Just(1088), Just(1089)].prop_map(HeaderChange::Reply),
        1 => Just(HeaderChange::OtherMode),
    ]
}

fn rebuild(bytes: &[u8], change: &HeaderChange) -> Vec<u8> {
    let env = Envelope::parse(bytes).unwrap();
    let mut body = env.body.clone();
    let mut length = env.ciphertext.len() as u64;
    match (change, &mut body) {
        (HeaderChange::None, _) => return bytes.to_vec(),
        (HeaderChange::Length(d), _) => length = length.wrapping_add(*d as u64),
        (HeaderChange::Hint(n), Body::Grid(h)) => h.signature_hint = Some(vec![0x5a; *n]),
        (HeaderChange::Offer(n), Body::Grid(h)) => h.kem_offer = Some(vec![0x11; *n]),
        (HeaderChange::Reply(n), Body::Grid(h)) => h.kem_reply = Some(vec![0x22; *n]),
        (HeaderChange::OtherMode, Body::Grid(_)) => {
            body = Body::Pad(crate::envelope::PadHeader {
                pad_id: [3; 16],
                offset: 4096,
            });
        }
        (_, Body::Pad(_)) => {
            body = Body::Grid(GridHeader {
                epoch: 0,
                n: 0,
                chain_hash: CHAIN,
                round: 1,
                signature_hint: None,
                kem_offer: None,
                kem_reply: None,
            });
        }
    }
    let mut out = Envelope::encode_header(&env.session_id, env.direction, &body, length);
    out.extend_from_slice(&env.ciphertext);
    out.extend_from_slice(&env.tag);
    out
}

/// Valid grid and true-pad envelopes with their header fields and lengths
/// changed: the parser runs on every case past the magic, and what parses
/// goes on to the session's or the pad's open, which refuse it cleanly.
#[test]
fn mutated_envelopes_reach_the_header_parser_and_never_panic() {
    let samples = sample_envelopes();
    let rounds = Rounds::new();
    let strategy = (
        0..samples.len(),
        header_change(),
        crate::fuzz::mutations(3),
        any::<bool>(),
    );
    crate::fuzz::run(
        "envelope",
        1000,
        0.8,
        strategy,
        |(i, change, mutations, mutate)| {
            let (good, receiver) = &samples[i];
            let mut bytes = rebuild(good, &change);
            if mutate {
                let fields = envelope_fields(good);
                let len = bytes.len();
                crate::fuzz::apply(&mut bytes, 4..len, &fields, &mutations);
            }
            let parsed = Envelope::parse(&bytes);
            match &parsed {
                Ok(env) => {
                    if let Some(receiver) = receiver {
                        let _ = receiver.clone().open(env, &rounds, T0, &mut rng(1));
                    }
                    if let Some(range) = crate::truepad::claimed_range(env)
                        && range.end - range.start <= 1 << 16
                    {
                        let mut pad = vec![0x3c; (range.end - range.start) as usize];
                        let _ = crate::truepad::open(env, &[3; 16], &mut pad);
                    }
                    crate::fuzz::Outcome::Accepted
                }
                Err(EnvelopeError::NotAnEnvelope | EnvelopeError::UnsupportedVersion(_)) => {
                    crate::fuzz::Outcome::Framing
                }
                Err(_) => crate::fuzz::Outcome::Refused,
            }
        },
    );
}

/// Stored sessions of each shape: fresh, holding an offer, a reply, skipped
/// keys; and the peer that talks to each.
fn sample_states() -> Vec<(Vec<u8>, Session)> {
    let rounds = Rounds::new();
    let (mut a, mut b) = sessions();
    let mut r = rng(10);
    let mut out = vec![
        (a.to_bytes().to_vec(), b.clone()),
        (b.to_bytes().to_vec(), a.clone()),
    ];
    let mut sealed = Vec::new();
    for i in 0..=RATCHET_EVERY {
        sealed.push(
            a.seal(&rounds.binding(3), &i.to_be_bytes(), T0, &mut r)
                .unwrap(),
        );
    }
    out.push((a.to_bytes().to_vec(), b.clone())); // a holds an offer
    // b skips the first five, then takes the offer and holds a reply.
    for m in &sealed[5..] {
        open(&mut b, m, &rounds).unwrap();
    }
    out.push((b.to_bytes().to_vec(), a.clone()));
    out.push((hex::decode(V1_ALICE).unwrap(), b));
    out
}

/// Offsets of a stored session's fields (version 2), read from a valid one.
fn state_fields(bytes: &[u8]) -> Vec<usize> {
    if bytes[0] != 2 {
        return vec![1, 17, 18, 50, 54, 86, 94, 95];
    }
    let mut fields = vec![1, 17, 18, 50, 54];
    let mut at = 54;
    at += if bytes[at] == 1 { 9 } else { 1 };
    fields.extend([at, at + 32, at + 40]);
    at += 40;
    let recv = usize::from(bytes[at]);
    at += 1 + 44 * recv;
    fields.push(at);
    let skipped = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    at += 4 + 44 * skipped;
    fields.push(at);
    at += if bytes[at] == 1 { 65 } else { 1 };
    fields.extend([at, at + 1]);
    fields
}

/// Stored sessions with their counters, flags and lengths changed: the
/// parser runs past the version on every case, and a state it accepts can
/// still seal and open without panicking.
#[test]
fn mutated_stored_sessions_load_or_are_refused_and_never_panic() {
    let samples = sample_states();
    let rounds = Rounds::new();
    let strategy = (0..samples.len(), crate::fuzz::mutations(4));
    crate::fuzz::run("session state", 1000, 0.8, strategy, |(i, mutations)| {
        let (good, peer) = &samples[i];
        let mut bytes = good.clone();
        let len = bytes.len();
        crate::fuzz::apply(&mut bytes, 1..len, &state_fields(good), &mutations);
        match Session::from_bytes(&bytes) {
            Ok(mut s) => {
                let mut peer = peer.clone();
                let mut r = rng(11);
                if let Ok(m) = s
                    .clone()
                    .seal(&rounds.binding(7), b"after load", T0, &mut r)
                {
                    let _ = open(&mut peer, &m, &rounds);
                }
                if let Ok(m) = peer.seal(&rounds.binding(8), b"to the loaded", T0, &mut r) {
                    let _ = open(&mut s, &m, &rounds);
                }
                let _ = s.to_bytes();
                crate::fuzz::Outcome::Accepted
            }
            Err(WireError::Invalid("session version")) => crate::fuzz::Outcome::Framing,
            Err(_) => crate::fuzz::Outcome::Refused,
        }
    });
}

/// Found by the structured fuzzing: a stored state whose counters are at
/// their end loaded, and the next seal (or open) overflowed them (a panic
/// in debug builds, a reused message number in release).
#[test]
fn stored_counters_at_their_end_are_refused() {
    let (a, _) = sessions();
    let good = a.to_bytes().to_vec();
    let fields = state_fields(&good);
    let send_n = fields[6];
    let mut bytes = good.clone();
    bytes[send_n..send_n + 8].copy_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(
        Session::from_bytes(&bytes).err(),
        Some(WireError::Invalid("send counter"))
    );
    let recv_n = fields[7] + 1 + 4;
    let mut bytes = good;
    bytes[recv_n..recv_n + 8].copy_from_slice(&(u64::MAX - MAX_GAP).to_be_bytes());
    assert_eq!(
        Session::from_bytes(&bytes).err(),
        Some(WireError::Invalid("counter"))
    );
}

/// A disclosed message key opens its own envelope with the round's
/// randomness, and nothing else: not another round's randomness, not a
/// changed byte, not the next message.
#[test]
fn a_disclosed_message_key_opens_its_envelope_and_proves_the_round() {
    let (mut alice, mut bob) = sessions();
    let rounds = Rounds::new();
    let mut r = rng(41);
    let (sealed, mk) = alice
        .seal_disclosing(&rounds.binding(7), b"sealed after round 7", T0, &mut r)
        .unwrap();
    let next = alice
        .seal(&rounds.binding(7), b"the next one", T0, &mut r)
        .unwrap();
    let envelope = Envelope::parse(&sealed).unwrap();
    let randomness = rounds.0[&7];
    let plain = open_disclosed(&envelope, &mk, &randomness).unwrap();
    assert_eq!(&plain[..], b"sealed after round 7");
    // The receiver opens the same bytes the usual way.
    assert_eq!(
        open(&mut bob, &sealed, &rounds).unwrap().plaintext,
        plain[..]
    );
    assert!(matches!(
        open_disclosed(&envelope, &mk, &rounds.0[&8]),
        Err(OpenError::BadTag)
    ));
    let other = Envelope::parse(&next).unwrap();
    assert!(matches!(
        open_disclosed(&other, &mk, &randomness),
        Err(OpenError::BadTag)
    ));
    for at in [0, sealed.len() / 2, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[at] ^= 1;
        if let Ok(e) = Envelope::parse(&bad) {
            assert!(open_disclosed(&e, &mk, &randomness).is_err(), "byte {at}");
        }
    }
}
