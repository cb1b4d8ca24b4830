//! Files that open at a chosen time (decision 0070) between two nodes over
//! the swarm on loopback, on a local devnet with one-second rounds (real
//! BLS signatures, no network beyond loopback): the file travels as its age
//! file in either mode, arrives locked (no file at the destination), and
//! opens by itself once its round's beacon is in the receiver's cache;
//! a damaged age file fails with its reason and leaves nothing; sender and
//! receiver restart in between and nothing is lost.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zks_beacon::{DevnetSigner, Scheme};
use zks_node::{Mode, TransferInfo};
use zks_scenarios::{
    TestNode, content, go_online, online_pair_of, paired, share_pad, start_in, wait_for_transfer,
};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A live devnet with one-second rounds (its newest rounds are due now).
fn devnet() -> DevnetSigner {
    DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 1, now() - 100)
}

/// Alice and Bob paired and online, both timelocking to `signer`'s chain.
async fn online_pair(
    signer: &DevnetSigner,
) -> (TestNode, TestNode, Vec<zks_grid::swarm::SwarmClient>) {
    let (alice, bob) = paired().await;
    for n in [&alice, &bob] {
        n.node.add_chain(&signer.chain().to_info_json()).unwrap();
        n.node
            .set_binding_chain(&signer.chain().hash.to_hex())
            .unwrap();
    }
    online_pair_of(alice, bob).await
}

/// The files in `n`'s downloads folder (hidden ones included).
fn downloads(n: &TestNode) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(n.node.downloads_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The sealed copies in `n`'s home.
fn sealed_copies(n: &TestNode) -> usize {
    std::fs::read_dir(n.home.path().join("timelocked")).map_or(0, Iterator::count)
}

/// Puts `round` of `signer`'s chain into `n`'s beacon cache once it is due
/// (as a fetch, gossip or an import would).
async fn publish(n: &TestNode, signer: &DevnetSigner, round: u64) {
    let due = signer.chain().time_of_round(round);
    while now() < due {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = signer.sign(round, None).unwrap().to_json() + "\n";
    n.node
        .import_beacons(&signer.chain().hash.to_hex(), &line)
        .unwrap();
}

/// Waits until a received timelocked transfer arrived whole and is locked,
/// and checks what that means: no file at the destination, only its age
/// file (hidden), no path shown.
async fn locked(n: &TestNode, id: &str) -> TransferInfo {
    let t = wait_for_transfer(n, id, "completed and locked", |t| t.state == "completed").await;
    assert!(t.locked, "{t:?}");
    assert_eq!(t.path, None, "no file to show before its round");
    assert!(
        downloads(n)
            .iter()
            .all(|f| f.starts_with(".zks-") && f.ends_with(".tlock")),
        "only age files: {:?}",
        downloads(n)
    );
    t
}

/// Waits until a received timelocked transfer opened; returns its file.
async fn opened(n: &TestNode, id: &str) -> PathBuf {
    let t = wait_for_transfer(n, id, "opened", |t| !t.locked).await;
    assert_eq!(t.state, "completed");
    PathBuf::from(t.path.expect("the file's path once opened"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timelocked_file_arrives_locked_in_both_modes_and_opens_at_its_round() {
    let signer = devnet();
    let (alice, bob, _swarms) = online_pair(&signer).await;
    share_pad(&alice, &bob, 2 * 1024 * 1024);
    let src = tempfile::tempdir().unwrap();
    let big = content(3 * 1024 * 1024 + 4321, 1);
    let small = content(100_000, 2);
    let big_path = src.path().join("plans.tar");
    let small_path = src.path().join("note.txt");
    std::fs::write(&big_path, &big).unwrap();
    std::fs::write(&small_path, &small).unwrap();
    let mut events = bob.node.subscribe();
    let pad_before = alice.node.pad_status("Bob").unwrap();

    let open_at = now() + 8;
    // Damaged chunks on the way are refused and fetched again, as ever.
    alice.node.inject_corrupt_chunks(2);
    let grid = alice
        .node
        .send_timelocked_file("Bob", &big_path, Mode::Grid, open_at)
        .unwrap();
    let pad = alice
        .node
        .send_timelocked_file("Bob", &small_path, Mode::Pad, open_at)
        .unwrap();
    // Ours: the real name and path, what travels is the larger age file,
    // and when it opens for Bob.
    let round = grid.opens_round.expect("the round");
    assert_eq!(pad.opens_round, Some(round));
    assert_eq!(round, zks_tlock::round_for_time(signer.chain(), open_at));
    let opens_at = grid.opens_at.expect("its time");
    assert!(opens_at >= open_at as i64 && opens_at <= open_at as i64 + 1);
    for (t, name, path, len) in [
        (&grid, "plans.tar", &big_path, big.len()),
        (&pad, "note.txt", &small_path, small.len()),
    ] {
        assert_eq!((t.name.as_str(), t.outgoing, t.locked), (name, true, false));
        assert_eq!(
            PathBuf::from(t.path.as_deref().unwrap()),
            std::fs::canonicalize(path).unwrap()
        );
        assert!(t.size > len as u64 && t.size < len as u64 + 2048, "{t:?}");
        assert_ne!(
            t.blake3,
            blake3::hash(&std::fs::read(path).unwrap())
                .to_hex()
                .to_string()
        );
    }
    assert_eq!(pad.protection, zks_node::Protection::PerfectSecrecy);
    assert_eq!(sealed_copies(&alice), 2);

    // Bob is offered two locked files, then receives their age files.
    for t in [&grid, &pad] {
        let offer = wait_for_transfer(&bob, &t.id, "offered", |t| t.state == "offered").await;
        assert_eq!(
            (offer.opens_at, offer.opens_round, offer.locked),
            (Some(opens_at), Some(round), true)
        );
        assert_eq!((offer.size, &offer.blake3), (t.size, &t.blake3));
        bob.node.accept_transfer(&t.id).unwrap();
    }
    for t in [&grid, &pad] {
        locked(&bob, &t.id).await;
        wait_for_transfer(&alice, &t.id, "completed", |t| t.state == "completed").await;
    }
    assert!(
        (now() as i64) < opens_at,
        "the test machine was too slow to see the files locked"
    );
    // The sender's sealed copies go once Bob has them.
    for _ in 0..50 {
        if sealed_copies(&alice) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sealed_copies(&alice), 0);
    // What Bob holds is an age file timelocked to the round, nothing of the file.
    let age = std::fs::read(
        bob.node
            .downloads_dir()
            .join(format!(".zks-{}.tlock", grid.id)),
    )
    .unwrap();
    assert!(age.starts_with(b"age-encryption.org/v1\n"));
    assert_eq!(zks_tlock::peek(&age).unwrap(), (round, signer.chain().hash));
    assert!(!age.windows(64).any(|w| w == &big[4096..4160]));
    // The pad paid for the age file.
    let used = pad_before.send_left - alice.node.pad_status("Bob").unwrap().send_left;
    assert!(
        used >= pad.size + 32 && used < pad.size + 32 + 1024,
        "{used}"
    );

    // Without the round nothing opens, even past its time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(bob.node.transfer(&grid.id).unwrap().locked);

    // The round comes (here: an import into the cache) and both open.
    publish(&bob, &signer, round).await;
    let big_file = opened(&bob, &grid.id).await;
    let small_file = opened(&bob, &pad.id).await;
    assert_eq!(big_file, bob.node.downloads_dir().join("plans.tar"));
    assert_eq!(std::fs::read(&big_file).unwrap(), big);
    assert_eq!(std::fs::read(&small_file).unwrap(), small);
    assert_eq!(
        downloads(&bob),
        ["note.txt", "plans.tar"],
        "nothing else left"
    );
    // Each opening is announced once (the event may follow the file by a
    // moment: it is sent after the transfer is written).
    let mut opened_events = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while opened_events < 2 {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(e)) => {
                if serde_json::to_value(&e).unwrap()["kind"] == "transfer_opened" {
                    opened_events += 1;
                }
            }
            // Older events dropped for a slow reader: read on.
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => panic!("the event stream failed: {e}"),
            Err(_) => break,
        }
    }
    while let Ok(e) = events.try_recv() {
        if serde_json::to_value(&e).unwrap()["kind"] == "transfer_opened" {
            opened_events += 1;
        }
    }
    assert_eq!(opened_events, 2);
    // Alice's side still says when it opened for Bob.
    let mine = alice.node.transfer(&grid.id).unwrap();
    assert_eq!((mine.opens_at, mine.locked), (Some(opens_at), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_timelocked_file_fails_with_its_reason_and_leaves_nothing() {
    let signer = devnet();
    let (alice, bob, _swarms) = online_pair(&signer).await;
    let src = tempfile::tempdir().unwrap();
    let data = content(300_000, 5);
    let path = src.path().join("draft.odt");
    std::fs::write(&path, &data).unwrap();
    bob.node.set_auto_accept_files(true);
    let t = alice
        .node
        .send_timelocked_file("Bob", &path, Mode::Grid, now() + 3)
        .unwrap();
    locked(&bob, &t.id).await;
    // The age file is damaged on Bob's disk while it waits.
    let age: PathBuf = bob
        .node
        .downloads_dir()
        .join(format!(".zks-{}.tlock", t.id));
    let mut bytes = std::fs::read(&age).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(&age, &bytes).unwrap();

    publish(&bob, &signer, t.opens_round.unwrap()).await;
    let failed = wait_for_transfer(&bob, &t.id, "failed", |t| t.state == "failed").await;
    let error = failed.error.unwrap();
    assert!(error.contains("damaged"), "{error}");
    assert_eq!(failed.path, None);
    assert!(
        downloads(&bob).is_empty(),
        "no partial output, no age file: {:?}",
        downloads(&bob)
    );
}

/// Stops `n` (and its swarm) and starts it again in the same home, online.
async fn restart(
    n: TestNode,
    swarm: zks_grid::swarm::SwarmClient,
) -> (TestNode, zks_grid::swarm::SwarmClient, String) {
    n.node.stop().await;
    drop(swarm);
    let TestNode { node, home } = n;
    drop(node);
    let n = start_in(home).await;
    let (swarm, addr) = go_online(&n).await;
    (n, swarm, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timelocked_files_survive_restarts_of_sender_and_receiver() {
    let signer = devnet();
    let (alice, bob, mut swarms) = online_pair(&signer).await;
    let src = tempfile::tempdir().unwrap();
    let data = content(2 * 1024 * 1024 + 3, 7);
    let path = src.path().join("letter.pdf");
    std::fs::write(&path, &data).unwrap();
    let t = alice
        .node
        .send_timelocked_file("Bob", &path, Mode::Grid, now() + 6)
        .unwrap();
    wait_for_transfer(&bob, &t.id, "offered", |t| t.state == "offered").await;

    // Alice restarts before Bob accepts: her sealed copy stays and serves.
    let b_swarm = swarms.pop().unwrap();
    let a_swarm = swarms.pop().unwrap();
    let (alice, _a_swarm, a_addr) = restart(alice, a_swarm).await;
    assert_eq!(sealed_copies(&alice), 1);
    bob.node.set_contact_addresses("Alice", &[a_addr]).unwrap();
    bob.node.accept_transfer(&t.id).unwrap();
    locked(&bob, &t.id).await;

    // Bob restarts while it is locked: it stays locked, then opens.
    let age_file = bob
        .node
        .downloads_dir()
        .join(format!(".zks-{}.tlock", t.id));
    let (bob, _b_swarm, _) = restart(bob, b_swarm).await;
    let again = bob.node.transfer(&t.id).unwrap();
    assert!(again.locked && again.path.is_none(), "{again:?}");
    assert!(age_file.exists());
    publish(&bob, &signer, t.opens_round.unwrap()).await;
    let file = opened(&bob, &t.id).await;
    assert_eq!(std::fs::read(file).unwrap(), data);
    assert!(!age_file.exists());
}

/// Bad requests change nothing: a time that passed, one too far ahead, a
/// folder, a contact that is not there, a pad too small for the age file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_timelocked_sends_are_refused_and_change_nothing() {
    let signer = devnet();
    let (alice, bob, _swarms) = online_pair(&signer).await;
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("a.bin");
    std::fs::write(&path, content(1000, 9)).unwrap();
    share_pad(&alice, &bob, 4 * 1024);
    let pad_before = alice.node.pad_status("Bob").unwrap();
    let exactly_half = src.path().join("half.bin");
    std::fs::write(&exactly_half, content(2000, 3)).unwrap();
    let cases: [(&str, &Path, Mode, u64, &str); 5] = [
        ("Bob", &path, Mode::Grid, now() - 1, "has passed"),
        (
            "Bob",
            &path,
            Mode::Grid,
            now() + 11 * 365 * 86_400,
            "10 years",
        ),
        (
            "Bob",
            src.path(),
            Mode::Grid,
            now() + 60,
            "not a regular file",
        ),
        ("Nobody", &path, Mode::Grid, now() + 60, "Nobody"),
        ("Bob", &exactly_half, Mode::Pad, now() + 60, "pad"),
    ];
    for (contact, file, mode, at, words) in cases {
        let err = alice
            .node
            .send_timelocked_file(contact, file, mode, at)
            .unwrap_err();
        assert!(err.to_string().contains(words), "{words}: {err}");
    }
    assert!(alice.node.transfers().unwrap().is_empty());
    assert!(alice.node.history("Bob").unwrap().is_empty());
    assert_eq!(alice.node.pad_status("Bob").unwrap(), pad_before);
    assert_eq!(sealed_copies(&alice), 0);
}

/// The peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// A large file through the whole path, timed: sealed and hashed into the
/// sealed copy, sent over loopback, opened at its round; memory stays
/// bounded (both nodes are in this process). Not run by default (it takes
/// 2 GiB of disk and, in a debug build, minutes); measure in release:
/// `ZKS_TLOCK_FILE_MIB=1024 cargo test --release -p zks-scenarios --test
/// timelocked_files -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: a large file, minutes in a debug build"]
async fn a_large_timelocked_file_goes_through_in_bounded_memory() {
    let mib: usize = std::env::var("ZKS_TLOCK_FILE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let signer = devnet();
    let (alice, bob, _swarms) = online_pair(&signer).await;
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("large.bin");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block = content(1 << 20, 11);
        for i in 0..mib {
            let mut b = block.clone();
            b[..8].copy_from_slice(&(i as u64).to_be_bytes());
            out.write_all(&b).unwrap();
        }
    }
    let whole = {
        let mut h = blake3::Hasher::new();
        h.update_reader(std::fs::File::open(&path).unwrap())
            .unwrap();
        h.finalize()
    };
    let rss_before = peak_rss_mib();
    bob.node.set_auto_accept_files(true);
    let started = std::time::Instant::now();
    let t = alice
        .node
        .send_timelocked_file("Bob", &path, Mode::Grid, now() + 30)
        .unwrap();
    let sealed = started.elapsed();
    let t = wait_for_long(&bob, &t.id, |t| t.state == "completed").await;
    let sent = started.elapsed() - sealed;
    assert!(t.locked);
    let round = t.opens_round.unwrap();
    publish(&bob, &signer, round).await;
    let at = std::time::Instant::now();
    let file = {
        let mut tries = 0;
        loop {
            let t = bob.node.transfer(&t.id).unwrap();
            if !t.locked {
                break PathBuf::from(t.path.unwrap());
            }
            tries += 1;
            assert!(tries < 6000, "never opened: {t:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let opened = at.elapsed();
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(&file).unwrap())
        .unwrap();
    assert_eq!(h.finalize(), whole, "the opened file is the file");
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    eprintln!(
        "{mib} MiB: sealed and hashed in {sealed:.2?} ({:.0} MiB/s), sent over loopback in {sent:.2?} ({:.0} MiB/s), opened (from the round's import, opener tick included) in {opened:.2?} ({:.0} MiB/s); peak RSS {rss_before:?} MiB before, {:?} MiB after (both nodes)",
        rate(sealed),
        rate(sent),
        rate(opened),
        peak_rss_mib()
    );
    if let (Some(before), Some(after)) = (rss_before, peak_rss_mib()) {
        assert!(
            after < before + 512,
            "memory grew with the file: {before} → {after} MiB"
        );
    }
}

/// [`wait_for_transfer`] without its 60 s limit (a large file in a slow build).
async fn wait_for_long(
    n: &TestNode,
    id: &str,
    done: impl Fn(&TransferInfo) -> bool,
) -> TransferInfo {
    loop {
        if let Ok(t) = n.node.transfer(id)
            && done(&t)
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
