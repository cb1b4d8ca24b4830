//! Known-answer tests for the primitives zks-pad is built on: X25519, ML-KEM-768,
//! BLAKE3 and Poly1305, called through exactly the APIs the crate uses.
//!
//! The vectors are published ones, kept under `tests/data/kat/` at the root of
//! the workspace; `tests/data/kat/README.md` says where each file came from.
//! Every test compares exact bytes, and checks how many cases it ran, so that a
//! truncated data file cannot make a test pass vacuously.

use ml_kem::array::Array;
use ml_kem::{Decapsulate, DecapsulationKey, EncapsulationKey, KeyExport, MlKem768};
use poly1305::Poly1305;
use poly1305::universal_hash::KeyInit;
use serde_json::Value;
use x25519_dalek::{PublicKey, StaticSecret};

const X25519_RFC7748: &str = include_str!("../../../tests/data/kat/x25519_rfc7748.json");
const POLY1305_RFC8439: &str = include_str!("../../../tests/data/kat/poly1305_rfc8439.json");
const BLAKE3_VECTORS: &str = include_str!("../../../tests/data/kat/blake3_test_vectors.json");
const MLKEM768_ACVP_KEYGEN: &str =
    include_str!("../../../tests/data/kat/mlkem768_acvp_keygen.json");
const MLKEM768_ACVP_ENCAPDECAP: &str =
    include_str!("../../../tests/data/kat/mlkem768_acvp_encapdecap.json");
const MLKEM768_WYCHEPROOF: &str = include_str!("../../../tests/data/kat/mlkem768_wycheproof.json");

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("KAT file is valid JSON")
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name)
        .unwrap_or_else(|| panic!("KAT entry has no field {name:?}: {v}"))
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    field(v, name)
        .as_str()
        .unwrap_or_else(|| panic!("field {name:?} is not a string"))
}

fn list<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    field(v, name)
        .as_array()
        .unwrap_or_else(|| panic!("field {name:?} is not an array"))
}

fn bytes(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(text(v, name)).unwrap_or_else(|e| panic!("field {name:?} is not hex: {e}"))
}

fn bytes32(v: &Value, name: &str) -> [u8; 32] {
    bytes(v, name)
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("field {name:?} has {} bytes, expected 32", b.len()))
}

fn bytes64(v: &Value, name: &str) -> [u8; 64] {
    bytes(v, name)
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("field {name:?} has {} bytes, expected 64", b.len()))
}

/// RFC 7748's X25519(k, u) through the API zks-pad uses.
fn x25519(k: [u8; 32], u: [u8; 32]) -> [u8; 32] {
    StaticSecret::from(k)
        .diffie_hellman(&PublicKey::from(u))
        .to_bytes()
}

/// The ML-KEM-768 test groups of an ACVP or Wycheproof file, optionally only
/// those of one `function`.
fn mlkem768_groups<'a>(file: &'a Value, function: Option<&str>) -> Vec<&'a Value> {
    list(file, "testGroups")
        .iter()
        .filter(|g| text(g, "parameterSet") == "ML-KEM-768")
        .filter(|g| function.is_none_or(|f| text(g, "function") == f))
        .collect()
}

fn mlkem768_from_seed(seed: [u8; 64]) -> DecapsulationKey<MlKem768> {
    DecapsulationKey::<MlKem768>::from_seed(Array::from(seed))
}

fn mlkem768_ek(ek: &[u8]) -> EncapsulationKey<MlKem768> {
    let ek = Array::try_from(ek).expect("ML-KEM-768 encapsulation key is 1184 bytes");
    EncapsulationKey::<MlKem768>::new(&ek).expect("encapsulation key passes the modulus check")
}

fn mlkem768_ct(c: &[u8]) -> ml_kem::Ciphertext<MlKem768> {
    Array::try_from(c).expect("ML-KEM-768 ciphertext is 1088 bytes")
}

// ---------------------------------------------------------------------------
// X25519 — RFC 7748
// ---------------------------------------------------------------------------

#[test]
fn x25519_rfc7748_section_5_2_scalar_mult() {
    let kat = parse(X25519_RFC7748);
    let cases = list(&kat, "scalar_mult");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let out = x25519(bytes32(case, "scalar"), bytes32(case, "u"));
        assert_eq!(
            hex::encode(out),
            text(case, "output"),
            "{}",
            text(case, "name")
        );
    }
}

#[test]
fn x25519_rfc7748_section_5_2_iterated_1_and_1000() {
    let kat = parse(X25519_RFC7748);
    let iterated = field(&kat, "iterated");
    // k = u = 9; each step: k' = X25519(k, u), u' = k.
    let mut k = bytes32(iterated, "start");
    let mut u = k;
    for i in 1..=1000 {
        let next = x25519(k, u);
        u = k;
        k = next;
        if i == 1 {
            assert_eq!(hex::encode(k), text(iterated, "after_1"));
        }
    }
    assert_eq!(hex::encode(k), text(iterated, "after_1000"));
}

#[test]
fn x25519_rfc7748_section_6_1() {
    let kat = parse(X25519_RFC7748);
    let dh = field(&kat, "dh");
    let alice = StaticSecret::from(bytes32(dh, "alice_private"));
    let bob = StaticSecret::from(bytes32(dh, "bob_private"));

    let alice_public = PublicKey::from(&alice);
    let bob_public = PublicKey::from(&bob);
    assert_eq!(alice_public.as_bytes(), &bytes32(dh, "alice_public"));
    assert_eq!(bob_public.as_bytes(), &bytes32(dh, "bob_public"));

    let shared = bytes32(dh, "shared");
    // Each side uses the other's public key as printed in the RFC.
    let k_alice = alice.diffie_hellman(&PublicKey::from(bytes32(dh, "bob_public")));
    let k_bob = bob.diffie_hellman(&PublicKey::from(bytes32(dh, "alice_public")));
    assert_eq!(k_alice.as_bytes(), &shared);
    assert_eq!(k_bob.as_bytes(), &shared);
}

// ---------------------------------------------------------------------------
// Poly1305 — RFC 8439
// ---------------------------------------------------------------------------

fn poly1305_case(case: &Value) {
    let key = poly1305::Key::from(bytes32(case, "key"));
    let tag = Poly1305::new(&key).compute_unpadded(&bytes(case, "msg"));
    assert_eq!(
        hex::encode(tag),
        text(case, "tag"),
        "{}",
        text(case, "name")
    );
}

#[test]
fn poly1305_rfc8439_section_2_5_2() {
    let kat = parse(POLY1305_RFC8439);
    let case = list(&kat, "cases")
        .iter()
        .find(|c| text(c, "name") == "RFC 8439 section 2.5.2")
        .expect("section 2.5.2 case present");
    assert_eq!(bytes(case, "msg"), b"Cryptographic Forum Research Group");
    poly1305_case(case);
}

#[test]
fn poly1305_rfc8439_appendix_a_3_vectors_1_to_11() {
    let kat = parse(POLY1305_RFC8439);
    let cases: Vec<&Value> = list(&kat, "cases")
        .iter()
        .filter(|c| text(c, "name").starts_with("RFC 8439 A.3 "))
        .collect();
    assert_eq!(cases.len(), 11);
    for case in cases {
        poly1305_case(case);
    }
}

// ---------------------------------------------------------------------------
// BLAKE3 — official test_vectors.json
// ---------------------------------------------------------------------------

/// The official input: bytes 0, 1, ..., 250, 0, 1, ... of the given length.
fn blake3_input(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 251).expect("below 251"))
        .collect()
}

/// The cases, each with its input and the three expected extended outputs.
fn blake3_cases(kat: &Value) -> Vec<(usize, Vec<u8>, &Value)> {
    let cases: Vec<(usize, Vec<u8>, &Value)> = list(kat, "cases")
        .iter()
        .map(|c| {
            let len = field(c, "input_len")
                .as_u64()
                .expect("input_len is a number");
            let len = usize::try_from(len).expect("input_len fits usize");
            (len, blake3_input(len), c)
        })
        .collect();
    let lens: Vec<usize> = cases.iter().map(|(len, _, _)| *len).collect();
    assert_eq!(
        lens,
        [
            0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 8192, 31744, 102400
        ]
    );
    cases
}

fn blake3_key(kat: &Value) -> [u8; 32] {
    let key = text(kat, "key");
    assert_eq!(key, "whats the Elvish word for friend");
    key.as_bytes()
        .try_into()
        .expect("the key is 32 ASCII bytes")
}

fn blake3_context(kat: &Value) -> &str {
    let context = text(kat, "context_string");
    assert_eq!(context, "BLAKE3 2019-12-27 16:29:52 test vectors context");
    context
}

#[test]
fn blake3_official_vectors_hash() {
    let kat = parse(BLAKE3_VECTORS);
    for (len, input, case) in blake3_cases(&kat) {
        let expected = bytes(case, "hash");
        assert_eq!(
            blake3::hash(&input).as_bytes(),
            &expected[..32],
            "hash, len {len}"
        );
    }
}

#[test]
fn blake3_official_vectors_keyed_hash() {
    let kat = parse(BLAKE3_VECTORS);
    let key = blake3_key(&kat);
    for (len, input, case) in blake3_cases(&kat) {
        let expected = bytes(case, "keyed_hash");
        let one_shot = blake3::keyed_hash(&key, &input);
        assert_eq!(
            one_shot.as_bytes(),
            &expected[..32],
            "keyed_hash, len {len}"
        );
        let mut hasher = blake3::Hasher::new_keyed(&key);
        hasher.update(&input);
        assert_eq!(
            hasher.finalize().as_bytes(),
            &expected[..32],
            "new_keyed, len {len}"
        );
    }
}

#[test]
fn blake3_official_vectors_derive_key() {
    let kat = parse(BLAKE3_VECTORS);
    let context = blake3_context(&kat);
    for (len, input, case) in blake3_cases(&kat) {
        let expected = bytes(case, "derive_key");
        let mut hasher = blake3::Hasher::new_derive_key(context);
        hasher.update(&input);
        assert_eq!(
            hasher.finalize().as_bytes(),
            &expected[..32],
            "derive_key, len {len}"
        );
    }
}

#[test]
fn blake3_official_vectors_extended_output_xof() {
    let kat = parse(BLAKE3_VECTORS);
    let key = blake3_key(&kat);
    let context = blake3_context(&kat);
    for (len, input, case) in blake3_cases(&kat) {
        let modes = [
            ("hash", blake3::Hasher::new()),
            ("keyed_hash", blake3::Hasher::new_keyed(&key)),
            ("derive_key", blake3::Hasher::new_derive_key(context)),
        ];
        for (mode, mut hasher) in modes {
            let expected = bytes(case, mode);
            assert_eq!(expected.len(), 131, "the official vectors give 131 bytes");
            hasher.update(&input);
            let mut out = vec![0u8; expected.len()];
            hasher.finalize_xof().fill(&mut out);
            assert_eq!(
                hex::encode(&out),
                hex::encode(&expected),
                "{mode} XOF, len {len}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// ML-KEM-768 — NIST ACVP (FIPS 203 internal functions) and Wycheproof
// ---------------------------------------------------------------------------

/// ML-KEM.KeyGen_internal(d, z): the seed d || z gives the published ek and dk.
#[test]
fn mlkem768_acvp_keygen_from_seed_d_z() {
    #[allow(deprecated)] // the expanded dk encoding is deprecated, but is what ACVP publishes
    use ml_kem::ExpandedKeyEncoding;

    let kat = parse(MLKEM768_ACVP_KEYGEN);
    let groups = mlkem768_groups(&kat, None);
    assert_eq!(groups.len(), 1);
    let cases = list(groups[0], "tests");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let tc = field(case, "tcId");
        let mut seed = [0u8; 64];
        seed[..32].copy_from_slice(&bytes32(case, "d"));
        seed[32..].copy_from_slice(&bytes32(case, "z"));
        let dk = mlkem768_from_seed(seed);

        let ek = dk.encapsulation_key().to_bytes();
        assert_eq!(
            hex::encode(ek.as_slice()),
            hex::encode(bytes(case, "ek")),
            "ek, tcId {tc}"
        );
        #[allow(deprecated)]
        let expanded = dk.to_expanded_bytes();
        assert_eq!(
            hex::encode(expanded.as_slice()),
            hex::encode(bytes(case, "dk")),
            "expanded dk, tcId {tc}"
        );
        assert_eq!(
            dk.to_bytes().as_slice(),
            &seed[..],
            "seed round trip, tcId {tc}"
        );
    }
}

/// ML-KEM.Encaps_internal(ek, m): the published ciphertext and shared key.
#[test]
fn mlkem768_acvp_encapsulate_deterministic() {
    let kat = parse(MLKEM768_ACVP_ENCAPDECAP);
    let groups = mlkem768_groups(&kat, Some("encapsulation"));
    assert_eq!(groups.len(), 1);
    let cases = list(groups[0], "tests");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let tc = field(case, "tcId");
        let ek = mlkem768_ek(&bytes(case, "ek"));
        let m = Array::from(bytes32(case, "m"));
        let (c, k) = ek.encapsulate_deterministic(&m);
        assert_eq!(
            hex::encode(c.as_slice()),
            hex::encode(bytes(case, "c")),
            "c, tcId {tc}"
        );
        assert_eq!(
            hex::encode(k.as_slice()),
            hex::encode(bytes(case, "k")),
            "k, tcId {tc}"
        );
    }
}

/// ML-KEM.Decaps_internal(dk, c) with ACVP's expanded dk: a valid ciphertext
/// gives the encapsulated key, a modified one the implicit-rejection key.
#[test]
fn mlkem768_acvp_decapsulate_expanded_dk() {
    #[allow(deprecated)] // the expanded dk encoding is deprecated, but is what ACVP publishes
    use ml_kem::ExpandedKeyEncoding;

    let kat = parse(MLKEM768_ACVP_ENCAPDECAP);
    let groups = mlkem768_groups(&kat, Some("decapsulation"));
    assert_eq!(groups.len(), 1);
    let group = groups[0];
    let dk_bytes = bytes(group, "dk");
    let dk_bytes = Array::try_from(&dk_bytes[..]).expect("expanded dk is 2400 bytes");
    #[allow(deprecated)]
    let dk = DecapsulationKey::<MlKem768>::from_expanded_bytes(&dk_bytes)
        .expect("expanded dk passes the hash check");
    assert_eq!(
        hex::encode(dk.encapsulation_key().to_bytes().as_slice()),
        hex::encode(bytes(group, "ek"))
    );

    let cases = list(group, "tests");
    let reasons: Vec<&str> = cases.iter().map(|c| text(c, "reason")).collect();
    assert_eq!(reasons, ["modify ciphertext", "no modification"]);
    for case in cases {
        let tc = field(case, "tcId");
        let k = dk.decapsulate(&mlkem768_ct(&bytes(case, "c")));
        assert_eq!(
            hex::encode(k.as_slice()),
            hex::encode(bytes(case, "k")),
            "k, tcId {tc}"
        );
    }
}

/// Wycheproof's seed-based ML-KEM-768 tests: the 64-byte seed d || z gives
/// the published ek, and decapsulating c gives K — both for ordinary
/// ciphertexts and for ones that must take the implicit-rejection path.
#[test]
fn mlkem768_wycheproof_decapsulate_from_seed() {
    let kat = parse(MLKEM768_WYCHEPROOF);
    let cases: Vec<&Value> = mlkem768_groups(&kat, None)
        .into_iter()
        .flat_map(|g| list(g, "tests"))
        .collect();
    let ids: Vec<u64> = cases
        .iter()
        .map(|c| field(c, "tcId").as_u64().expect("tcId"))
        .collect();
    assert_eq!(ids, [1, 2, 142, 152]);
    for case in cases {
        let tc = field(case, "tcId");
        assert_eq!(text(case, "result"), "valid", "tcId {tc}");
        let dk = mlkem768_from_seed(bytes64(case, "seed"));
        assert_eq!(
            hex::encode(dk.encapsulation_key().to_bytes().as_slice()),
            hex::encode(bytes(case, "ek")),
            "ek, tcId {tc}"
        );
        let k = dk.decapsulate(&mlkem768_ct(&bytes(case, "c")));
        assert_eq!(
            hex::encode(k.as_slice()),
            hex::encode(bytes(case, "K")),
            "K, tcId {tc}"
        );
    }
}
