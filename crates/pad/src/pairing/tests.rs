//! Pairing round trips and every class of bad invite or reply.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::fuzz::{self, Mutation, Outcome, apply, mutations};
use crate::invite::code_kind;

const NOW: u64 = 1_800_000_000;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn pair() -> (Identity, Identity, PendingInvite, Reply, Paired) {
    let alice = Identity::generate(&mut rng(1));
    let bob = Identity::generate(&mut rng(2));
    let addrs = vec!["/ip4/127.0.0.1/tcp/4001".to_owned()];
    let pending = PendingInvite::create(&alice, "Alice", &addrs, NOW + 600, &mut rng(3));
    let invite = Invite::decode(pending.invite().as_bytes()).unwrap();
    let (reply, bob_side) = accept(&invite, &bob, "Bob", &[], NOW, &mut rng(4)).unwrap();
    (alice, bob, pending, reply, bob_side)
}

#[test]
fn both_sides_derive_the_same_session_and_safety_code() {
    let (alice, bob, pending, reply, bob_side) = pair();
    let reply = Reply::decode(reply.as_bytes()).unwrap();
    let alice_side = pending.finish(&reply).unwrap();
    assert_eq!(alice_side.safety_code, bob_side.safety_code);
    assert_eq!(alice_side.session.id(), bob_side.session.id());
    // Both can compute the rendezvous keys; nobody else can from the
    // public session id.
    assert_eq!(*alice_side.rendezvous, *bob_side.rendezvous);
    assert_ne!(
        *alice_side.rendezvous,
        *crate::rendezvous::legacy_secret(&alice_side.session.id())
    );
    assert_eq!(alice_side.session.role(), Role::Initiator);
    assert_eq!(bob_side.session.role(), Role::Responder);
    assert_eq!(alice_side.peer.identity_key, bob.public_key());
    assert_eq!(alice_side.peer.name, "Bob");
    assert_eq!(bob_side.peer.identity_key, alice.public_key());
    assert_eq!(
        bob_side.peer.addresses,
        vec!["/ip4/127.0.0.1/tcp/4001".to_owned()]
    );
    let code = alice_side.safety_code.to_string();
    assert_eq!(code.len(), 8 * 5 + 7);
    assert_eq!(
        SafetyCode::parse(&code),
        Some(alice_side.safety_code.clone())
    );
    assert_eq!(
        SafetyCode::parse(&code.replace(' ', "")),
        Some(alice_side.safety_code)
    );
    assert_eq!(SafetyCode::parse("1234"), None);
}

#[test]
fn pairing_is_deterministic_given_the_rng_and_fresh_with_another() {
    let (_, _, p1, r1, _) = pair();
    let (_, _, p2, r2, _) = pair();
    assert_eq!(p1.invite().as_bytes(), p2.invite().as_bytes());
    assert_eq!(r1.as_bytes(), r2.as_bytes());
    let alice = Identity::generate(&mut rng(1));
    let other = PendingInvite::create(&alice, "Alice", &[], NOW + 600, &mut rng(99));
    assert_ne!(other.invite().as_bytes(), p1.invite().as_bytes());
}

#[test]
fn a_pending_invite_survives_storage() {
    let (_, _, pending, reply, bob_side) = pair();
    let restored = PendingInvite::from_bytes(&pending.to_bytes()).unwrap();
    assert_eq!(
        restored.finish(&reply).unwrap().safety_code,
        bob_side.safety_code
    );
    assert_eq!(
        PendingInvite::from_bytes(b"junk").unwrap_err(),
        PairingError::BadState
    );
}

#[test]
fn expired_own_and_foreign_invites_are_refused() {
    let (alice, bob, pending, _, _) = pair();
    let invite = pending.invite();
    assert_eq!(
        accept(invite, &bob, "Bob", &[], NOW + 601, &mut rng(5)).unwrap_err(),
        PairingError::Code(CodeError::Expired(1))
    );
    assert_eq!(
        accept(invite, &alice, "Alice", &[], NOW, &mut rng(5)).unwrap_err(),
        PairingError::OwnInvite
    );
    // A reply to another invite of the same inviter.
    let other = PendingInvite::create(&alice, "Alice", &[], NOW + 600, &mut rng(6));
    let (other_reply, _) = accept(other.invite(), &bob, "Bob", &[], NOW, &mut rng(7)).unwrap();
    assert_eq!(
        pending.finish(&other_reply).unwrap_err(),
        PairingError::WrongInvite
    );
}

#[test]
fn each_kind_of_damage_to_a_code_gets_its_own_error() {
    let (_, _, pending, reply, _) = pair();
    let bytes = pending.invite().as_bytes().to_vec();
    assert_eq!(code_kind(&bytes), Some("invite"));
    assert_eq!(code_kind(reply.as_bytes()), Some("reply"));

    assert_eq!(Invite::decode(b"hello").unwrap_err(), CodeError::NotACode);
    assert_eq!(Invite::decode(&[]).unwrap_err(), CodeError::NotACode);
    let mut v2 = bytes.clone();
    v2[2] = 2;
    assert_eq!(
        Invite::decode(&v2).unwrap_err(),
        CodeError::UnsupportedVersion(2)
    );
    assert!(matches!(
        Invite::decode(reply.as_bytes()),
        Err(CodeError::WrongKind { .. })
    ));
    assert!(matches!(
        Reply::decode(&bytes),
        Err(CodeError::WrongKind { .. })
    ));
    for cut in [5, 100, bytes.len() - 1] {
        assert!(
            matches!(Invite::decode(&bytes[..cut]), Err(CodeError::Damaged(_))),
            "cut {cut}"
        );
    }
    let mut flipped = bytes.clone();
    flipped[200] ^= 1;
    assert!(matches!(
        Invite::decode(&flipped),
        Err(CodeError::Damaged(_))
    ));

    // Altered and re-checksummed: the checksum passes, the signature does not.
    let mut forged = bytes.clone();
    forged[200] ^= 1;
    let n = forged.len();
    let check = blake3::hash(&forged[..n - 4]);
    forged[n - 4..].copy_from_slice(&check.as_bytes()[..4]);
    assert_eq!(
        Invite::decode(&forged).unwrap_err(),
        CodeError::BadSignature
    );
}

#[test]
fn every_byte_of_an_invite_and_a_reply_is_protected() {
    let (_, _, pending, reply, _) = pair();
    for (bytes, is_invite) in [
        (pending.invite().as_bytes(), true),
        (reply.as_bytes(), false),
    ] {
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] ^= 0x20;
            let result = if is_invite {
                Invite::decode(&b).map(drop)
            } else {
                Reply::decode(&b).map(drop)
            };
            assert!(result.is_err(), "flipping byte {i} was not noticed");
        }
    }
}

proptest::proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000)) {
        let _ = Invite::decode(&bytes);
        let _ = Reply::decode(&bytes);
        let _ = PendingInvite::from_bytes(&bytes);
        let mut framed = b"ZK\x01\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = Invite::decode(&framed);
    }
}

/// Where a decode ended: the framing (magic, version, kind, checksum), the
/// field parser or the signature behind it, or a decoded code.
fn code_outcome<T>(result: &Result<T, CodeError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Accepted,
        Err(
            CodeError::NotACode | CodeError::UnsupportedVersion(_) | CodeError::WrongKind { .. },
        ) => Outcome::Framing,
        Err(CodeError::Damaged(m)) if m == "too short" || m == "checksum mismatch" => {
            Outcome::Framing
        }
        Err(_) => Outcome::Refused,
    }
}

/// Offsets of the fields of a code's body (after the 4-byte header): the
/// fixed-size keys, then the name's length prefix, the address count and
/// each address's length prefix, where the parsing decisions are.
fn field_offsets(fixed: &[usize], sender: &Sender) -> Vec<usize> {
    let mut at = 4;
    let mut out = vec![at];
    for len in fixed {
        at += len;
        out.push(at);
    }
    at += 2 + sender.name.len();
    out.push(at);
    at += 1;
    for a in &sender.addresses {
        out.push(at);
        at += 2 + a.len();
    }
    out
}

/// The body of a code mutated inside its framing, then framed again: signed
/// again by its sender (so that a change the parser accepts decodes) or left
/// with the old signature, checksummed, and sent through the `ZKS1:` text
/// form or not.
fn remutate(
    bytes: &[u8],
    fields: &[usize],
    mutations: &[Mutation],
    signer: Option<&Identity>,
    via_text: bool,
) -> Vec<u8> {
    let body_end = bytes.len() - 64 - 4;
    let mut body = bytes[..body_end].to_vec();
    let old_signature: [u8; 64] = bytes[body_end..body_end + 64].try_into().unwrap();
    let end = apply(&mut body, 4..body_end, fields, mutations);
    debug_assert_eq!(end, body.len());
    let signature = signer.map_or(old_signature, |id| id.sign(&body));
    let framed = crate::invite::frame(&body, &signature);
    if via_text && let Ok(text) = zks_qr::to_text(&framed) {
        return zks_qr::from_text(&text).unwrap();
    }
    framed
}

fn addresses(count: usize, seed: u64) -> Vec<String> {
    (0..count)
        .map(|i| format!("/ip4/10.0.{}.{i}/tcp/{}", seed % 256, 4000 + seed % 999))
        .collect()
}

#[derive(Debug, Clone)]
struct CodeCase {
    seed: u64,
    name: String,
    addresses: usize,
    mutations: Vec<Mutation>,
    resign: bool,
    via_text: bool,
}

fn code_case() -> impl proptest::strategy::Strategy<Value = CodeCase> {
    use proptest::prelude::*;
    (
        any::<u64>(),
        "\\PC{0,40}",
        0usize..=9,
        mutations(4),
        proptest::bool::weighted(0.7),
        any::<bool>(),
    )
        .prop_map(
            |(seed, name, addresses, mutations, resign, via_text)| CodeCase {
                seed,
                name,
                addresses,
                mutations,
                resign,
                via_text,
            },
        )
}

/// Real invites from seeded identities, mutated inside the framing and
/// framed again: the field parser (and the pairing behind a decoded one)
/// runs on nearly every case, and never panics.
#[test]
fn mutated_invites_reach_the_field_parser_and_never_panic() {
    let bob = Identity::generate(&mut rng(2));
    fuzz::run("invite", 300, 0.8, code_case(), |c| {
        let alice = Identity::generate(&mut rng(c.seed));
        let addrs = addresses(c.addresses, c.seed);
        let pending = PendingInvite::create(&alice, &c.name, &addrs, NOW + 600, &mut rng(c.seed));
        let invite = pending.invite();
        let fields = field_offsets(&[32, 32, MLKEM_EK_LEN, 16, 8], &invite.sender);
        let signer = c.resign.then_some(&alice);
        let bytes = remutate(invite.as_bytes(), &fields, &c.mutations, signer, c.via_text);
        let decoded = Invite::decode(&bytes);
        if let Ok(invite) = &decoded {
            // A decoded invite with damaged keys is refused by the pairing.
            let _ = accept(invite, &bob, "Bob", &[], 0, &mut rng(c.seed ^ 1));
            let _ = invite.check_fresh(NOW);
        }
        // The stored form of a pending invite holds the invite as is.
        let mut stored = pending.to_bytes().to_vec();
        let at = stored.len() - invite.as_bytes().len() - 4;
        stored.splice(
            at..,
            (bytes.len() as u32)
                .to_be_bytes()
                .into_iter()
                .chain(bytes.iter().copied()),
        );
        assert_eq!(PendingInvite::from_bytes(&stored).is_ok(), decoded.is_ok());
        code_outcome(&decoded)
    });
}

/// The same for replies, and the inviter finishing with a decoded one.
#[test]
fn mutated_replies_reach_the_field_parser_and_never_panic() {
    let alice = Identity::generate(&mut rng(1));
    let pending = PendingInvite::create(&alice, "Alice", &[], NOW + 600, &mut rng(3));
    fuzz::run("reply", 300, 0.8, code_case(), |c| {
        let bob = Identity::generate(&mut rng(c.seed));
        let addrs = addresses(c.addresses, c.seed);
        let (reply, _) = accept(
            pending.invite(),
            &bob,
            &c.name,
            &addrs,
            NOW,
            &mut rng(c.seed),
        )
        .unwrap();
        let fields = field_offsets(&[32, 32, MLKEM_CT_LEN, 32], &reply.sender);
        let signer = c.resign.then_some(&bob);
        let bytes = remutate(reply.as_bytes(), &fields, &c.mutations, signer, c.via_text);
        let decoded = Reply::decode(&bytes);
        if let Ok(reply) = &decoded {
            let _ = pending.finish(reply);
        }
        code_outcome(&decoded)
    });
}

#[test]
fn an_invite_link_commits_to_its_invite_and_fits_a_small_qr() {
    use crate::invite::{InviteLink, MAX_LINK_BYTES};
    let (_, _, pending, _, _) = pair();
    let invite = pending.invite();
    // Addresses past the budget are left out; the full invite has them all.
    let many: Vec<String> = (0..8)
        .map(|i| format!("/ip4/192.168.1.{i}/udp/4001/quic-v1"))
        .collect();
    let link = InviteLink::to(invite, &many).unwrap();
    assert!(link.as_bytes().len() <= MAX_LINK_BYTES);
    assert!(link.addresses.len() >= 2 && link.addresses.len() < 8);
    assert_eq!(link.addresses[..], many[..link.addresses.len()]);
    let back = InviteLink::decode(link.as_bytes()).unwrap();
    assert_eq!(back, link);
    assert_eq!(code_kind(link.as_bytes()), Some("invite link"));
    back.check(invite).unwrap();
    back.check_fresh(NOW).unwrap();
    assert!(matches!(
        back.check_fresh(NOW + 601),
        Err(CodeError::Expired(1))
    ));
    // Another invite (even from the same device) does not match it.
    let other = PendingInvite::create(
        &Identity::generate(&mut rng(1)),
        "Alice",
        &many,
        NOW + 600,
        &mut rng(9),
    );
    assert!(matches!(
        back.check(other.invite()),
        Err(CodeError::Damaged(_))
    ));
    // A link is not an invite, and the reverse; nothing fits no address.
    assert!(matches!(
        Invite::decode(link.as_bytes()),
        Err(CodeError::WrongKind {
            expected: "invite",
            found: "invite link"
        })
    ));
    assert!(matches!(
        InviteLink::decode(invite.as_bytes()),
        Err(CodeError::Damaged(_) | CodeError::WrongKind { .. })
    ));
    assert!(InviteLink::to(invite, &[]).is_none());
    assert!(InviteLink::to(invite, &["x".repeat(300)]).is_none());
    // Every cut and every flipped byte is refused, never a panic.
    let bytes = link.as_bytes();
    for cut in 0..bytes.len() {
        assert!(InviteLink::decode(&bytes[..cut]).is_err(), "cut {cut}");
    }
    for i in 0..bytes.len() {
        let mut bad = bytes.to_vec();
        bad[i] ^= 0x20;
        assert!(InviteLink::decode(&bad).is_err(), "byte {i}");
    }
}
