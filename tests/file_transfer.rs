//! Files between two paired nodes over the swarm on loopback: offers,
//! accept and decline, both modes, damaged chunks, pause and resume,
//! cancellation, a source file changed after the offer, and refusals that
//! change nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zks_node::{Mode, NodeError, TransferInfo};
use zks_scenarios::{TestNode, content, online_pair, paired, share_pad, wait_for_transfer};

async fn wait_state(n: &TestNode, id: &str, state: &str) -> TransferInfo {
    wait_for_transfer(n, id, state, |t| t.state == state).await
}

fn write_source(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// The files in `n`'s downloads folder (hidden partial files included).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_offered_accepted_verified_and_lands_without_overwriting() {
    let (alice, bob, _swarms) = online_pair().await;
    let src = tempfile::tempdir().unwrap();
    let data = content(5 * 1024 * 1024 + 12345, 1);
    let path = write_source(src.path(), "report.bin", &data);
    // Bob already has a file of that name: it must survive.
    std::fs::create_dir_all(bob.node.downloads_dir()).unwrap();
    std::fs::write(bob.node.downloads_dir().join("report.bin"), b"older").unwrap();
    let mut events = bob.node.subscribe();

    let offered = alice.node.send_file("Bob", &path, Mode::Grid).unwrap();
    assert_eq!(
        (offered.state.as_str(), offered.size),
        ("offered", data.len() as u64)
    );
    assert_eq!(offered.blake3, blake3::hash(&data).to_hex().to_string());
    let incoming = wait_state(&bob, &offered.id, "offered").await;
    assert_eq!(
        (
            incoming.name.as_str(),
            incoming.outgoing,
            incoming.contact.as_str()
        ),
        ("report.bin", false, "Alice")
    );
    // Nothing moves until Bob accepts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bob.node.transfer(&offered.id).unwrap().bytes_done, 0);
    // The offer shows in the conversation, the bookkeeping does not.
    let history = bob.node.history("Alice").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].kind.as_str(), history[0].body.as_slice()),
        ("file", &b"report.bin"[..])
    );

    bob.node.accept_transfer(&offered.id[..8]).unwrap();
    let done = wait_state(&bob, &offered.id, "completed").await;
    let placed = PathBuf::from(done.path.expect("final path"));
    assert_eq!(placed, bob.node.downloads_dir().join("report (1).bin"));
    assert_eq!(std::fs::read(&placed).unwrap(), data);
    assert_eq!(
        std::fs::read(bob.node.downloads_dir().join("report.bin")).unwrap(),
        b"older"
    );
    assert_eq!(
        downloads(&bob),
        ["report (1).bin", "report.bin"],
        "no partial file left"
    );
    // The sender learns it arrived, and what it served counts every chunk
    // (chunks are asked for in parallel; none may be counted on a copy of
    // the figures that is then dropped).
    let sent = wait_state(&alice, &offered.id, "completed").await;
    assert_eq!(sent.bytes_done, data.len() as u64, "{sent:?}");
    assert!(sent.bytes_sent >= data.len() as u64, "{sent:?}");
    // Bob saw the offer, progress and the end as events.
    let mut kinds = Vec::new();
    while let Ok(e) = events.try_recv() {
        kinds.push(
            serde_json::to_value(&e).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for kind in ["transfer_offered", "transfer_progress", "transfer_finished"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pad_file_uses_its_own_pad_bytes_which_are_wiped_and_a_too_large_one_is_refused() {
    let (alice, bob, _swarms) = online_pair().await;
    let dir = tempfile::tempdir().unwrap();
    share_pad(&alice, &bob, 8 * 1024 * 1024);
    let before = alice.node.pad_status("Bob").unwrap();

    // Larger than Alice's half (4 MiB): refused with the numbers, nothing used.
    let big = write_source(dir.path(), "big.bin", &content(4 * 1024 * 1024, 2));
    let err = alice.node.send_file("Bob", &big, Mode::Pad).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("4194304 bytes") && text.contains("left"),
        "{text}"
    );
    assert_eq!(alice.node.pad_status("Bob").unwrap(), before);
    assert!(alice.node.transfers().unwrap().is_empty());

    let data = content(2 * 1024 * 1024 + 7, 3);
    let path = write_source(dir.path(), "secret.txt", &data);
    bob.node.set_auto_accept_files(true);
    let offered = alice.node.send_file("Bob", &path, Mode::Pad).unwrap();
    assert_eq!(offered.protection, zks_node::Protection::PerfectSecrecy);
    let done = wait_state(&bob, &offered.id, "completed").await;
    assert_eq!(std::fs::read(done.path.unwrap()).unwrap(), data);
    wait_state(&alice, &offered.id, "completed").await;
    // The file took its bytes plus 32 per chunk (3 chunks) plus the offer.
    let after = alice.node.pad_status("Bob").unwrap();
    let used = before.send_left - after.send_left;
    assert!(
        used >= data.len() as u64 + 3 * 32 && used < data.len() as u64 + 3 * 32 + 1024,
        "{used}"
    );
    // Both copies of the pad have the file's range wiped.
    for home in [&alice, &bob] {
        let copy = std::fs::read(
            home.home
                .path()
                .join("pads")
                .read_dir()
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap();
        let zeros = copy[..4 * 1024 * 1024].iter().filter(|b| **b == 0).count();
        assert!(
            zeros as u64 >= data.len() as u64,
            "only {zeros} bytes wiped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_chunks_are_refused_and_fetched_again() {
    let (alice, bob, _swarms) = online_pair().await;
    let src = tempfile::tempdir().unwrap();
    let data = content(4 * 1024 * 1024 + 1, 4);
    let path = write_source(src.path(), "photo.jpg", &data);
    alice.node.inject_corrupt_chunks(3);
    bob.node.set_auto_accept_files(true);
    let offered = alice.node.send_file("Bob", &path, Mode::Grid).unwrap();
    let done = wait_state(&bob, &offered.id, "completed").await;
    assert_eq!(std::fs::read(done.path.unwrap()).unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_transfer_resumes_where_it_stopped() {
    let (alice, bob, _swarms) = online_pair().await;
    let src = tempfile::tempdir().unwrap();
    let data = content(64 * 1024 * 1024, 5);
    let path = write_source(src.path(), "video.mp4", &data);
    let offered = alice.node.send_file("Bob", &path, Mode::Grid).unwrap();
    wait_state(&bob, &offered.id, "offered").await;
    bob.node.accept_transfer(&offered.id).unwrap();
    wait_for_transfer(&bob, &offered.id, "partly received", |t| t.bytes_done > 0).await;
    bob.node.pause_transfer(&offered.id).unwrap();
    // Let the receiver notice, then check it is stopped part way.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paused = bob.node.transfer(&offered.id).unwrap();
    assert_eq!(paused.state, "paused");
    let at_pause = paused.bytes_done;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bob.node.transfer(&offered.id).unwrap().bytes_done,
        at_pause,
        "paused means paused"
    );
    bob.node.accept_transfer(&offered.id).unwrap();
    let done = wait_state(&bob, &offered.id, "completed").await;
    assert_eq!(
        blake3::hash(&std::fs::read(done.path.unwrap()).unwrap()),
        blake3::hash(&data)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_cancel_and_a_changed_source_end_transfers_on_both_sides() {
    let (alice, bob, _swarms) = online_pair().await;
    let src = tempfile::tempdir().unwrap();

    // Declined: the sender hears of it.
    let path = write_source(src.path(), "a.txt", b"not wanted");
    let declined = alice.node.send_file("Bob", &path, Mode::Grid).unwrap();
    wait_state(&bob, &declined.id, "offered").await;
    bob.node.decline_transfer(&declined.id).unwrap();
    wait_state(&alice, &declined.id, "declined").await;
    assert!(
        bob.node.accept_transfer(&declined.id).is_err(),
        "a declined offer stays declined"
    );

    // Cancelled by the sender before the receiver accepts.
    let path = write_source(src.path(), "b.txt", b"changed my mind");
    let cancelled = alice.node.send_file("Bob", &path, Mode::Grid).unwrap();
    wait_state(&bob, &cancelled.id, "offered").await;
    alice.node.cancel_transfer(&cancelled.id).unwrap();
    let seen = wait_state(&bob, &cancelled.id, "cancelled").await;
    assert_eq!(seen.error.as_deref(), Some("cancelled by Alice"));

    // The source changes after the offer: the receiver gets no mixed file.
    let path = write_source(src.path(), "c.bin", &content(3 * 1024 * 1024, 6));
    let changed = alice.node.send_file("Bob", &path, Mode::Grid).unwrap();
    std::fs::write(&path, content(3 * 1024 * 1024, 8)).unwrap();
    wait_state(&bob, &changed.id, "offered").await;
    bob.node.accept_transfer(&changed.id).unwrap();
    let failed = wait_state(&bob, &changed.id, "failed").await;
    assert!(failed.error.unwrap().contains("changed on disk"));
    assert!(
        downloads(&bob).is_empty(),
        "no file, no partial file: {:?}",
        downloads(&bob)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_change_nothing() {
    let (alice, _bob) = paired().await;
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Result<TransferInfo, NodeError>, &str)> = vec![
        (
            alice.node.send_file("Bob", dir.path(), Mode::Grid),
            "not a regular file",
        ),
        (
            alice
                .node
                .send_file("Bob", &dir.path().join("missing"), Mode::Grid),
            "cannot read",
        ),
        (
            alice
                .node
                .send_file("Bob", &write_source(dir.path(), "x", b"x"), Mode::Pad),
            "no one-time pad",
        ),
        (
            alice
                .node
                .send_file("Nobody", &write_source(dir.path(), "y", b"y"), Mode::Grid),
            "Nobody",
        ),
        (alice.node.accept_transfer("zz"), "not a transfer id"),
        (alice.node.accept_transfer("abcdef"), "no transfer"),
        (alice.node.cancel_transfer("0000"), "no transfer"),
    ];
    for (result, needle) in cases {
        let err = result.unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
    }
    assert!(alice.node.transfers().unwrap().is_empty());
    assert!(alice.node.history("Bob").unwrap().is_empty());
}
