//! `zks tlock seal` / `open` against a third-party implementation of drand
//! timelock encryption: drand's tlock-js (npm, with drand-client for HTTP;
//! `tests/interop/tlock.mjs`), both ways, on quicknet round 12040883,
//! whose recorded beacon is in `tests/data/quicknet.jsonl`.
//!
//! tlock-js talks to the drand HTTP API that `tlock.mjs` serves on
//! loopback from the recorded beacons (drand-client verifies the chain info
//! and each beacon's signature); `zks tlock open` reads the beacon from the
//! home's cache, where `zks beacon import` put it, or over HTTP from that
//! same server with `--drand-url`. Every process is bounded in time.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ok, quicknet, run, start, url_in, zks};

/// The quicknet round every file here is locked to.
const ROUND: &str = "12040883";
/// quicknet's chain hash.
const QUICKNET: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
const BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const END: &str = "-----END AGE ENCRYPTED FILE-----";
/// How long one command may take (tlock.mjs gives up by itself after 30 s).
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `cmd` to completion with no stdin, killing it (and failing the
/// test) after [`LIMIT`].
fn bounded(mut cmd: Command) -> Output {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{shown}: {e} (scripts/deps.sh test installs node and tlock-js)")
        });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} still ran after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout thread").expect("stdout"),
        stderr: stderr.join().expect("stderr thread").expect("stderr"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// `node tlock.mjs`, found from this crate's folder: the test kit's
/// [`zks_testkit::interop_command`] has its folder baked in when it is
/// built, which is another checkout's when several share a target folder.
fn tlock_mjs() -> Command {
    let mut cmd = Command::new(zks_testkit::node_program());
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop"))
        .arg("tlock.mjs");
    cmd
}

/// `node tlock.mjs ARGS…`, which must succeed; returns the requests its
/// drand server answered (`GET /<path>`, in order).
fn tlock_js(args: &[&str]) -> Vec<String> {
    let mut cmd = tlock_mjs();
    cmd.args(args);
    let out = bounded(cmd);
    let said = text(&out.stdout);
    assert!(
        out.status.success() && said.starts_with("ok "),
        "tlock.mjs {args:?}: {said} {}",
        text(&out.stderr)
    );
    said.trim()
        .split_once(" requests=")
        .map(|(_, r)| r.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The request for quicknet round `round`'s beacon, as drand-client makes it.
fn beacon_request(round: &str) -> String {
    format!("GET /{QUICKNET}/public/{round}")
}

/// tlock-js encrypts `input` to [`ROUND`] into `output`: armored, or with
/// `binary` the age file inside the armor. Encrypting needs only the
/// chain's info, never a beacon.
fn js_seal(input: &Path, output: &Path, binary: bool) {
    let mut args = vec!["encrypt", ROUND, path(input), path(output)];
    if binary {
        args.push("--binary");
    }
    assert_eq!(tlock_js(&args), [format!("GET /{QUICKNET}/info")]);
}

/// tlock-js decrypts `input` into `output`, fetching the round's beacon.
fn js_open(input: &Path, output: &Path) {
    let requests = tlock_js(&["decrypt", path(input), path(output)]);
    assert!(requests.contains(&beacon_request(ROUND)), "{requests:?}");
}

/// A home holding the recorded quicknet beacons (round 12040883 among them).
fn home_with_quicknet(home: &Path) {
    ok(&run(
        home,
        &["beacon", "import", "--chain", "quicknet", &quicknet()],
    ));
}

/// `zks --home HOME tlock seal --round ROUND --chain quicknet [extra] IN OUT`.
fn zks_seal(home: &Path, extra: &[&str], input: &Path, output: &Path) {
    let mut cmd = zks();
    cmd.arg("--home")
        .arg(home)
        .args(["tlock", "seal", "--round", ROUND, "--chain", "quicknet"])
        .args(extra)
        .args([input, output]);
    ok(&bounded(cmd));
}

/// `zks --home HOME tlock open [extra] IN OUT`.
fn zks_open(home: &Path, extra: &[&str], input: &Path, output: &Path) -> Output {
    let mut cmd = zks();
    cmd.arg("--home")
        .arg(home)
        .args(["tlock", "open"])
        .args(extra)
        .args([input, output]);
    bounded(cmd)
}

/// `len` pseudo-random bytes (xorshift64), the same on every run.
fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The first lines of an age file locked to [`ROUND`] of quicknet.
fn assert_tlock_header(age: &[u8]) {
    let want = format!("age-encryption.org/v1\n-> tlock {ROUND} {QUICKNET}\n");
    assert!(
        age.starts_with(want.as_bytes()),
        "{:?}",
        text(&age[..age.len().min(120)])
    );
}

/// The base64 lines of an armored file, between its BEGIN and END lines.
fn armor_lines(armored: &str) -> Vec<&str> {
    let lines: Vec<&str> = armored.lines().collect();
    assert_eq!(lines.first(), Some(&BEGIN), "{armored}");
    assert_eq!(lines.last(), Some(&END), "{armored}");
    assert!(armored.ends_with('\n'));
    lines[1..lines.len() - 1].to_vec()
}

#[test]
fn a_text_tlock_js_sealed_opens_with_zks() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    home_with_quicknet(&home);
    let plain = "A letter to the future: open after round 12040883 — ça marche.\n";
    let input = tmp.path().join("letter.txt");
    std::fs::write(&input, plain).unwrap();

    // Armored, as tlock-js writes it.
    let sealed = tmp.path().join("letter.age");
    js_seal(&input, &sealed, false);
    let armored = std::fs::read_to_string(&sealed).unwrap();
    assert!(armor_lines(&armored).iter().all(|l| l.len() <= 64));
    let opened = tmp.path().join("opened.txt");
    ok(&zks_open(&home, &[], &sealed, &opened));
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), plain);

    // The age file inside tlock-js's armor, read as binary.
    let binary = tmp.path().join("letter.bin.age");
    js_seal(&input, &binary, true);
    assert_tlock_header(&std::fs::read(&binary).unwrap());
    let opened = tmp.path().join("opened-bin.txt");
    ok(&zks_open(&home, &[], &binary, &opened));
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), plain);
}

#[test]
fn files_zks_sealed_open_with_tlock_js() {
    let tmp = tempfile::tempdir().unwrap();
    // Sealing to a given round needs no beacon: an empty home.
    let home = tmp.path().join("home");
    let plain = "sealed by zks, opened by tlock-js\n";
    let input = tmp.path().join("note.txt");
    std::fs::write(&input, plain).unwrap();

    let binary = tmp.path().join("note.age");
    zks_seal(&home, &[], &input, &binary);
    assert_tlock_header(&std::fs::read(&binary).unwrap());
    let opened = tmp.path().join("opened-bin.txt");
    js_open(&binary, &opened);
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), plain);

    let armored = tmp.path().join("note.age.asc");
    zks_seal(&home, &["--armor"], &input, &armored);
    let lines = std::fs::read_to_string(&armored).unwrap();
    assert!(armor_lines(&lines).iter().all(|l| l.len() <= 64));
    let opened = tmp.path().join("opened-armor.txt");
    js_open(&armored, &opened);
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), plain);

    // An empty file: one empty last chunk, which tlock-js opens too.
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let sealed = tmp.path().join("empty.age");
    zks_seal(&home, &[], &empty, &sealed);
    let opened = tmp.path().join("opened-empty.txt");
    js_open(&sealed, &opened);
    assert_eq!(std::fs::read(&opened).unwrap(), b"");
}

#[test]
fn multi_chunk_payloads_go_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    home_with_quicknet(&home);
    // 200 KiB: three full 64 KiB chunks and a short last one; 128 KiB: a
    // full last chunk.
    for (len, seed) in [(200 * 1024, 0x5eed_0001), (128 * 1024, 0x5eed_0002)] {
        let plain = pseudo_random(len, seed);
        let input = tmp.path().join(format!("{len}.bin"));
        std::fs::write(&input, &plain).unwrap();

        let theirs = tmp.path().join(format!("{len}.js.age"));
        js_seal(&input, &theirs, false);
        let opened = tmp.path().join(format!("{len}.js.out"));
        ok(&zks_open(&home, &[], &theirs, &opened));
        assert!(std::fs::read(&opened).unwrap() == plain, "{len} bytes");

        for (name, extra) in [("bin", &[][..]), ("armor", &["--armor"][..])] {
            let ours = tmp.path().join(format!("{len}.zks.{name}.age"));
            zks_seal(&home, extra, &input, &ours);
            let opened = tmp.path().join(format!("{len}.zks.{name}.out"));
            js_open(&ours, &opened);
            assert!(std::fs::read(&opened).unwrap() == plain, "{len} {name}");
        }
    }
}

/// age's armor may end on a full 64-column line, the END line right after
/// it (age's own writer does so when the file is a multiple of 48 bytes);
/// tlock-js writes that too.
#[test]
fn tlock_js_armor_ending_on_a_full_line_opens_with_zks() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    home_with_quicknet(&home);
    // A tlock-js file of a 1-byte payload, to learn its header's length
    // (fixed for one round and chain); then the payload length that makes
    // the whole file a multiple of 48 bytes.
    let one = tmp.path().join("one.bin");
    std::fs::write(&one, b"x").unwrap();
    let probe = tmp.path().join("probe.age");
    js_seal(&one, &probe, true);
    let overhead = std::fs::read(&probe).unwrap().len() - 1;
    let len = (48 - overhead % 48) % 48 + 48;
    let plain = pseudo_random(len, 0x5eed_0003);
    let input = tmp.path().join("aligned.bin");
    std::fs::write(&input, &plain).unwrap();

    let sealed = tmp.path().join("aligned.age");
    js_seal(&input, &sealed, false);
    let armored = std::fs::read_to_string(&sealed).unwrap();
    let lines = armor_lines(&armored);
    assert_eq!(lines.last().map(|l| l.len()), Some(64), "{armored}");
    assert!(lines.iter().all(|l| l.len() == 64), "{armored}");
    let opened = tmp.path().join("aligned.out");
    ok(&zks_open(&home, &[], &sealed, &opened));
    assert!(std::fs::read(&opened).unwrap() == plain);
}

/// With an empty home, `zks tlock open --drand-url` fetches the beacon from
/// the drand HTTP API that tlock-js was served (`tlock.mjs serve`).
#[test]
fn zks_fetches_the_beacon_from_the_api_tlock_js_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, "fetched over HTTP\n").unwrap();
    let sealed = tmp.path().join("in.age");
    js_seal(&input, &sealed, false);

    let mut serve = tlock_mjs();
    // It serves until its stdin closes, or for 60 s at most.
    serve.args(["serve", "60"]).stdin(Stdio::piped());
    let (_server, lines) = start(serve, "serving http://");
    let url = url_in(lines.last().expect("the serving line"));

    let home = tmp.path().join("empty");
    let opened = tmp.path().join("out.txt");
    let out = zks_open(&home, &[], &sealed, &opened);
    assert!(!out.status.success(), "opened without the beacon");
    ok(&zks_open(&home, &["--drand-url", &url], &sealed, &opened));
    assert_eq!(
        std::fs::read_to_string(&opened).unwrap(),
        "fetched over HTTP\n"
    );
}
