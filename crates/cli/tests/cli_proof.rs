//! Not-before proofs through the real binary: Alice exports a proof of a
//! message she sent, bound to a recorded quicknet round; `zks proof
//! verify` checks it with no home at all; every altered part is refused.

mod common;

use common::{json_lines, ok, pair, run, zks};

fn verify(path: &std::path::Path) -> std::process::Output {
    // No --home and a ZKS_HOME that does not exist: verify needs neither.
    zks()
        .env("ZKS_HOME", "/nonexistent/zks-home")
        .args(["proof", "verify", "--json"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn a_proof_checks_anywhere_and_any_change_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    pair(tmp.path(), &a, &b);
    let sent = json_lines(&ok(&run(
        &a,
        &["send", "Bob", "the bid is 40", "--wait", "0", "--json"],
    )));
    let id = sent[0]["message_id"].to_string();
    let round = sent[0]["round"].as_u64().expect("bound to a round");
    let proof_path = tmp.path().join("proof.json");
    ok(&run(
        &a,
        &["proof", "export", &id, proof_path.to_str().unwrap()],
    ));
    assert!(!tmp.path().join("nonexistent").exists());
    let out = verify(&proof_path);
    let check: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(check["round"], round);
    assert_eq!(check["text"], "the bid is 40");
    assert_eq!(check["league_of_entropy"], true);
    assert_eq!(check["chain"], "quicknet");
    // 1692803367 + (round - 1) * 3: quicknet's genesis and period.
    assert_eq!(check["not_before"], 1_692_803_367 + (round - 1) * 3);
    let human = ok(&zks()
        .args(["proof", "verify"])
        .arg(&proof_path)
        .output()
        .unwrap());
    assert!(human.contains("sealed no earlier than"), "{human}");

    // Each altered part is refused with its reason.
    let proof: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof_path).unwrap()).unwrap();
    let other_sig = "929906c959032ab363c9f26570d215d66f5c06cb0c44fe508c12bb5839f04ec895bb6868e5b9ff13ab289bdb5266b394";
    let mut flipped_envelope = proof["envelope"].as_str().unwrap().to_owned();
    let last = flipped_envelope.pop().unwrap();
    flipped_envelope.push(if last == '0' { '1' } else { '0' });
    type Change = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "text",
            Box::new(|p| p["text"] = "the bid is 90".into()),
            "another text",
        ),
        (
            "signature",
            Box::new(move |p| p["beacon"]["signature"] = other_sig.into()),
            "randomness is not sha256(signature)",
        ),
        (
            "signature without randomness",
            Box::new(move |p| {
                p["beacon"]["signature"] = other_sig.into();
                p["beacon"].as_object_mut().unwrap().remove("randomness");
            }),
            "does not verify",
        ),
        (
            "round",
            Box::new(|p| {
                let r = p["beacon"]["round"].as_u64().unwrap();
                p["beacon"]["round"] = (r - 1).into();
            }),
            "does not verify",
        ),
        (
            "key",
            Box::new(|p| p["message_key"] = "00".repeat(32).into()),
            "does not open",
        ),
        (
            "envelope",
            Box::new(move |p| p["envelope"] = flipped_envelope.clone().into()),
            "does not open",
        ),
        (
            "ref",
            Box::new(|p| p["envelope_ref"] = "00".repeat(16).into()),
            "ref",
        ),
        (
            "chain",
            Box::new(|p| p["chain"]["period"] = 4.into()),
            "not a valid not-before proof",
        ),
        (
            "format",
            Box::new(|p| p["format"] = "other".into()),
            "format",
        ),
    ];
    for (what, change, words) in cases {
        let mut bad = proof.clone();
        change(&mut bad);
        let path = tmp.path().join(format!("bad-{what}.json"));
        std::fs::write(&path, bad.to_string()).unwrap();
        let out = verify(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(words), "{what}: {words:?} not in {err}");
    }
    let cut = tmp.path().join("cut.json");
    let text = std::fs::read_to_string(&proof_path).unwrap();
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    assert_eq!(verify(&cut).status.code(), Some(2));

    // Only our own grid-pad chat text has a proof.
    let bob_in = json_lines(&ok(&run(&a, &["inbox", "--json"])));
    assert_eq!(bob_in.len(), 1);
    let out = run(&a, &["proof", "export", "999", "x.json"]);
    assert_eq!(out.status.code(), Some(2));
}
