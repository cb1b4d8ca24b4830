//! drand timelock through the real binary: drand's own ciphertext opens
//! with `zks tlock open`; two daemons on a local devnet exchange a message
//! that opens five seconds later, locked until then on the receiving side;
//! a file sent with `--open-in 5s` arrives locked (no file at the
//! destination) and opens with identical bytes; bad times and bad files
//! exit 2 and change nothing.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{daemon, json_lines, ok, pair, run, start, url_in, zks};

fn fails(out: &std::process::Output, words: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(words), "{words:?} not in {err}");
}

fn inbox(home: &Path) -> Vec<serde_json::Value> {
    json_lines(&ok(&run(home, &["inbox", "--json"])))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn drands_ciphertext_opens_and_bad_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("h");
    ok(&run(
        &home,
        &[
            "beacon",
            "import",
            "--chain",
            "quicknet",
            &common::quicknet(),
        ],
    ));
    let drand = zks_testkit::data_path("tlock/drand-tlock-quicknet-12040883.age.asc");
    let out = tmp.path().join("out.txt");
    let o = out.to_str().unwrap();
    ok(&run(
        &home,
        &["tlock", "open", drand.to_str().unwrap(), o, "--no-http"],
    ));
    assert_eq!(std::fs::read(&out).unwrap(), b"hello world");
    std::fs::remove_file(&out).unwrap();

    // Cut, damaged, not age: refused, and no output file appears.
    let bytes = std::fs::read(&drand).unwrap();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("cut.asc", bytes[..bytes.len() / 2].to_vec(), "cut short"),
        (
            "plain.txt",
            b"just text\n".to_vec(),
            "not a timelocked file",
        ),
        (
            "damaged.asc",
            String::from_utf8(bytes.clone())
                .unwrap()
                .replace("UnBmtsw6", "UnBmtsw7")
                .into_bytes(),
            "damaged",
        ),
    ];
    for (name, content, words) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, content).unwrap();
        fails(
            &run(
                &home,
                &["tlock", "open", path.to_str().unwrap(), o, "--no-http"],
            ),
            words,
        );
        assert!(!out.exists(), "{name} left an output file");
    }
    // Our own file for a future round: too early (exit 1), nothing written.
    let plain = tmp.path().join("plain.txt");
    let locked = tmp.path().join("later.age");
    ok(&run(
        &home,
        &[
            "tlock",
            "seal",
            "--in",
            "2h",
            plain.to_str().unwrap(),
            locked.to_str().unwrap(),
        ],
    ));
    let early = run(
        &home,
        &["tlock", "open", locked.to_str().unwrap(), o, "--no-http"],
    );
    assert_eq!(early.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&early.stderr).contains("too early"));
    assert!(!out.exists());
    // A chain that cannot timelock, and bad times.
    for (args, words) in [
        (
            vec!["--round", "5", "--chain", "default"],
            "cannot be used for timelock",
        ),
        (vec!["--at", "2020-01-01T00:00Z"], "has passed"),
        (vec!["--at", "tomorrow"], "is not a time"),
        (vec!["--in", "3y"], "is not a duration"),
        (vec!["--round", "0"], "round 0"),
    ] {
        let mut all = vec!["tlock", "seal"];
        all.extend(args.iter().copied());
        all.extend([plain.to_str().unwrap(), o]);
        fails(&run(&home, &all), words);
        assert!(!out.exists());
    }
}

/// A devnet with one-second rounds: (process, chain hash, base URL).
fn fast_devnet() -> (common::Running, String, String) {
    let mut cmd = zks();
    cmd.args([
        "devnet",
        "--http",
        "127.0.0.1:0",
        "--period",
        "1",
        "--history",
        "100",
        "--run-for",
        "120",
    ]);
    let (child, lines) = start(cmd, "serving the drand HTTP API");
    let info: serde_json::Value = serde_json::from_str(&lines[0]).expect("info JSON first");
    let hash = info["hash"].as_str().expect("hash").to_owned();
    (child, hash, url_in(lines.last().expect("a line")))
}

/// A one-second devnet, homes `a` and `b` that learned its chain, bind
/// (and so timelock) to it and fetch from it, their daemons, and the two
/// paired. Keep what it returns alive for the test.
fn paired_on_devnet(tmp: &Path, a: &Path, b: &Path) -> [common::Running; 3] {
    let (devnet, hash, url) = fast_devnet();
    for home in [a, b] {
        ok(&common::fetch_from(home, &hash, "1..1", &url)
            .output()
            .unwrap());
        ok(&run(home, &["beacon", "bind", &hash]));
        ok(&run(
            home,
            &["settings", "set", "drand_urls", &format!("[\"{url}\"]")],
        ));
        ok(&run(home, &["settings", "set", "mdns", "false"]));
    }
    let da = daemon(a, &[]);
    let db = daemon(b, &[]);
    pair(tmp, a, b);
    [devnet, da, db]
}

#[test]
fn an_open_at_message_arrives_locked_and_opens_at_its_devnet_round() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _running = paired_on_devnet(tmp.path(), &a, &b);

    let before = inbox(&a).len();
    // Bad times are refused before anything is sealed.
    fails(
        &run(&a, &["send", "Bob", "x", "--open-at", "2020-01-01T00:00Z"]),
        "has passed",
    );
    fails(
        &run(&a, &["send", "Bob", "x", "--open-at", "2046-01-01T00:00Z"]),
        "more than 10 years",
    );
    fails(
        &run(&a, &["send", "Bob", "x", "--open-in", "400d"]),
        "--far",
    );
    assert_eq!(inbox(&a).len(), before, "a refused send left a message");

    let sent_at = now();
    let sent = json_lines(&ok(&run(
        &a,
        &[
            "send",
            "Bob",
            "see you at five",
            "--open-in",
            "5s",
            "--json",
        ],
    )));
    let id = sent[0]["message_id"].to_string();
    // Ours shows its text, with the time it opens for Bob.
    let mine = inbox(&a);
    let m = mine
        .iter()
        .find(|l| l["id"] == sent[0]["message_id"])
        .unwrap();
    assert_eq!(m["text"], "see you at five");
    assert_eq!(m["locked"], false);
    let opens_at = m["opens_at"].as_i64().expect("opens_at");
    assert!(opens_at >= sent_at + 5 && opens_at <= sent_at + 8, "{m}");
    // A timelocked message cannot be edited (its new text would arrive early).
    fails(&run(&a, &["edit", &id, "changed"]), "timelocked");

    // Bob has it locked: no text until the round.
    let deadline = Instant::now() + Duration::from_secs(30);
    let locked = loop {
        let lines = inbox(&b);
        if let Some(l) = lines.iter().find(|l| l["opens_at"] == opens_at) {
            break l.clone();
        }
        assert!(Instant::now() < deadline, "never arrived: {lines:#?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    if now() < opens_at {
        assert_eq!(locked["locked"], true, "{locked}");
        assert_eq!(locked["text"], "", "{locked}");
        // Nor can its words be found.
        assert!(
            ok(&run(&b, &["search", "five", "--json"]))
                .trim()
                .is_empty()
        );
    }
    let human = ok(&run(&b, &["inbox"]));
    assert!(
        human.contains("drand timelock"),
        "the inbox says what it is: {human}"
    );
    // Then it opens by itself, not before its round.
    let opened = loop {
        let lines = inbox(&b);
        let l = lines.iter().find(|l| l["opens_at"] == opens_at).unwrap();
        if l["locked"] == false {
            break l.clone();
        }
        assert!(Instant::now() < deadline, "never opened: {l}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(now() >= opens_at, "opened before its round's time");
    assert_eq!(opened["text"], "see you at five");
    assert_eq!(opened["opens_round"], m["opens_round"]);
    let hits = json_lines(&ok(&run(&b, &["search", "five", "--json"])));
    assert_eq!(hits.len(), 1, "the opened text is searchable");
}

fn transfers(home: &Path) -> Vec<serde_json::Value> {
    json_lines(&ok(&run(home, &["transfers", "--json"])))
}

/// Waits (up to 30 s) until `home` lists transfer `id` so that `done` holds.
fn wait_transfer(
    home: &Path,
    id: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = transfers(home);
        if let Some(t) = all.iter().find(|t| t["id"] == id)
            && done(t)
        {
            return t.clone();
        }
        assert!(Instant::now() < deadline, "never {what}: {all:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_open_in_file_arrives_locked_and_opens_with_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _running = paired_on_devnet(tmp.path(), &a, &b);
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 99)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let source = tmp.path().join("plans.bin");
    std::fs::write(&source, &data).unwrap();
    let src = source.to_str().unwrap();

    // Bad times and clashing options: exit 2, nothing offered, nothing sealed.
    for (args, words) in [
        (vec!["--open-at", "2020-01-01T00:00Z"], "has passed"),
        (vec!["--open-at", "2046-01-01T00:00Z"], "more than 10 years"),
        (vec!["--open-in", "400d"], "--far"),
        (vec!["--open-in", "5x"], "is not a duration"),
        (vec!["--open-at", "tomorrow"], "is not a time"),
        (
            vec!["--open-at", "2030-01-01T00:00Z", "--open-in", "5s"],
            "cannot be used with",
        ),
    ] {
        let mut all = vec!["file", "send", "Bob", src];
        all.extend(args.iter().copied());
        fails(&run(&a, &all), words);
    }
    assert!(transfers(&a).is_empty(), "a refused send left a transfer");
    assert!(
        std::fs::read_dir(a.join("timelocked")).map_or(true, |mut d| d.next().is_none()),
        "a refused send left a sealed copy"
    );

    let sent_at = now();
    let sent = json_lines(&ok(&run(
        &a,
        &["file", "send", "Bob", src, "--open-in", "5s", "--json"],
    )));
    let id = sent[0]["id"].as_str().unwrap().to_owned();
    let opens_at = sent[0]["opens_at"].as_i64().expect("opens_at");
    assert!(
        opens_at >= sent_at + 5 && opens_at <= sent_at + 8,
        "{}",
        sent[0]
    );
    assert_eq!(sent[0]["name"], "plans.bin");
    assert_eq!(sent[0]["locked"], false);
    assert!(sent[0]["size"].as_u64().unwrap() > data.len() as u64);
    let human = ok(&run(&a, &["transfers"]));
    assert!(human.contains("opens for Bob at"), "{human}");

    // Bob is offered it locked, accepts, and gets only the age file.
    let offer = wait_transfer(&b, &id, "offered", |t| t["state"] == "offered");
    assert_eq!(
        (&offer["locked"], &offer["opens_at"]),
        (&true.into(), &opens_at.into())
    );
    ok(&run(&b, &["file", "accept", &id[..8]]));
    let downloads = b.join("downloads");
    let placed = downloads.join("plans.bin");
    let arrived = wait_transfer(&b, &id, "completed", |t| {
        t["state"] == "completed" || t["locked"] == false
    });
    if now() < opens_at {
        assert_eq!(arrived["locked"], true, "{arrived}");
        assert!(arrived["path"].is_null(), "{arrived}");
        assert!(!placed.exists(), "the file exists before its round");
        let names: Vec<String> = std::fs::read_dir(&downloads)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!(".zks-{id}.tlock")]);
        let human = ok(&run(&b, &["transfers"]));
        assert!(human.contains("locked: opens at"), "{human}");
        assert!(human.contains("drand timelock"), "{human}");
    }

    // Then it opens by itself, not before its round, with the same bytes.
    let opened = wait_transfer(&b, &id, "opened", |t| t["locked"] == false);
    assert!(now() >= opens_at, "opened before its round's time");
    assert_eq!(opened["state"], "completed");
    assert_eq!(opened["path"].as_str().unwrap(), placed.to_str().unwrap());
    assert_eq!(std::fs::read(&placed).unwrap(), data);
    let human = ok(&run(&b, &["file", "list"]));
    assert!(human.contains("opened at"), "{human}");
    // Alice learnt it arrived; her sealed copy is gone.
    wait_transfer(&a, &id, "completed", |t| t["state"] == "completed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(a.join("timelocked")).is_ok_and(|mut d| d.next().is_some()) {
        assert!(Instant::now() < deadline, "the sealed copy stayed");
        std::thread::sleep(Duration::from_millis(100));
    }
}
