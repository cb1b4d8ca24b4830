//! No key material is ever used twice (DESIGN.md invariant 2), in the flows
//! where it used to break: a home copied back from a snapshot, a database
//! rolled back under a wiped pad, a pad replaced during a transfer, and —
//! in a model-based test — any sequence of seals, opens, crashes, pairing
//! again either way, backup and restore, pad imports and replacements, and
//! two processes on one home.

use std::path::Path;

use zks_node::{Mode, NodeError, NodeEvent};
use zks_pad::PadError;
use zks_scenarios::{QUICKNET, TestNode, paired, share_pad, start_in};

/// Stops a test node and hands back its home (a crash, as far as the home
/// is concerned: nothing runs between the last committed write and here).
async fn stopped(n: TestNode) -> tempfile::TempDir {
    n.node.stop().await;
    let TestNode { node, home } = n;
    drop(node);
    home
}

/// Copies every file of `from` into `to` (a home is one flat folder plus
/// `pads/` and `cache/`).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Replaces the files of `home` with those of `snapshot`.
fn roll_back(home: &Path, snapshot: &Path, only_database: bool) {
    for entry in std::fs::read_dir(home).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if only_database && !name.starts_with("zks.sqlite3") {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            std::fs::remove_dir_all(entry.path()).unwrap();
        } else {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    for entry in std::fs::read_dir(snapshot).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if only_database && !name.starts_with("zks.sqlite3") {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &home.join(&name));
        } else {
            std::fs::copy(entry.path(), home.join(&name)).unwrap();
        }
    }
}

/// Alice and Bob paired with a shared pad, and a copy of Alice's home as
/// it is then (taken while her node is stopped).
async fn paired_with_a_pad_and_a_snapshot() -> (TestNode, TestNode, tempfile::TempDir) {
    let (alice, bob) = paired().await;
    share_pad(&alice, &bob, 16 * 1024);
    let home = stopped(alice).await;
    let snapshot = tempfile::tempdir().unwrap();
    copy_tree(home.path(), snapshot.path());
    (start_in(home).await, bob, snapshot)
}

#[tokio::test]
async fn a_home_copied_back_from_a_snapshot_is_caught_reusing_a_key_or_pad_bytes() {
    let (alice, bob, snapshot) = paired_with_a_pad_and_a_snapshot().await;
    let first_grid = alice.node.seal("Bob", b"first, grid", Mode::Grid).unwrap();
    let first_pad = alice.node.seal("Bob", b"first, pad", Mode::Pad).unwrap();
    for sealed in [&first_grid, &first_pad] {
        bob.node.open(&sealed.envelope).unwrap();
    }
    // The identical envelope again is a harmless duplicate, refused as such.
    for sealed in [&first_grid, &first_pad] {
        let again = bob.node.open(&sealed.envelope).unwrap_err();
        assert_ne!(again.code(), "key_reuse", "{again}");
    }

    // The whole home (database and pad copy) comes back from the snapshot:
    // nothing on Alice's side can tell, so she reuses the same key and
    // pad bytes for different messages. Bob refuses both and raises the
    // alarm instead of acknowledging them as duplicates.
    let home = stopped(alice).await;
    roll_back(home.path(), snapshot.path(), false);
    let alice = start_in(home).await;
    let mut events = bob.node.subscribe();
    let second_grid = alice.node.seal("Bob", b"other, grid", Mode::Grid).unwrap();
    let second_pad = alice.node.seal("Bob", b"other, pad", Mode::Pad).unwrap();
    for sealed in [&second_grid, &second_pad] {
        let err = bob.node.open(&sealed.envelope).unwrap_err();
        assert_eq!(err.code(), "key_reuse", "{err}");
        assert!(
            err.to_string().contains("key or pad reuse detected"),
            "{err}"
        );
        match events.try_recv() {
            Ok(NodeEvent::KeyReuseDetected { contact, detail }) => {
                assert_eq!(contact, "Alice");
                assert!(detail.contains("refused"), "{detail}");
            }
            other => panic!("expected the alarm event, got {other:?}"),
        }
    }
    assert_eq!(
        bob.node.history("Alice").unwrap().len(),
        2,
        "the refused messages changed nothing"
    );
}

#[tokio::test]
async fn a_database_rolled_back_under_a_wiped_pad_fails_closed() {
    let (alice, bob, snapshot) = paired_with_a_pad_and_a_snapshot().await;
    for text in [&b"one"[..], b"two"] {
        let sealed = alice.node.seal("Bob", text, Mode::Pad).unwrap();
        bob.node.open(&sealed.envelope).unwrap();
    }
    // Only the database goes back; the pad copy keeps its wiped bytes. The
    // ledger now hands out bytes that are gone: reading them is refused,
    // never taken for pad (they would decrypt to the at-rest keystream).
    let home = stopped(alice).await;
    roll_back(home.path(), snapshot.path(), true);
    let alice = start_in(home).await;
    match alice.node.seal("Bob", b"three", Mode::Pad) {
        Err(NodeError::Pad(PadError::Wiped { .. })) => {}
        other => panic!("expected a refusal of wiped bytes, got {other:?}"),
    }
    // Each refusal burns the reserved range; once past the wiped bytes,
    // sealing works again, with fresh bytes Bob accepts.
    let mut refused = 1;
    let sealed = loop {
        match alice.node.seal("Bob", b"three", Mode::Pad) {
            Ok(sealed) => break sealed,
            Err(NodeError::Pad(PadError::Wiped { .. })) if refused < 8 => refused += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    };
    assert_eq!(bob.node.open(&sealed.envelope).unwrap().plaintext, b"three");
}

#[tokio::test]
async fn replacing_a_pad_fails_its_open_transfers() {
    let (alice, bob) = paired().await;
    share_pad(&alice, &bob, 256 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, vec![b'n'; 40_000]).unwrap();
    let offered = alice.node.send_file("Bob", &file, Mode::Pad).unwrap();
    assert_eq!(offered.state, "offered");
    let pad = dir.path().join("new.pad");
    zks_node::create_pad_file(&pad, 64 * 1024).unwrap();
    let err = alice.node.import_pad("Bob", &pad, false).unwrap_err();
    assert!(err.to_string().contains("--replace"), "{err}");
    assert_eq!(alice.node.transfer(&offered.id).unwrap().state, "offered");
    alice.node.import_pad("Bob", &pad, true).unwrap();
    let after = alice.node.transfer(&offered.id).unwrap();
    assert_eq!(after.state, "failed");
    assert!(
        after
            .error
            .as_deref()
            .unwrap_or("")
            .contains("pad of this transfer was replaced"),
        "{after:?}"
    );
    // The replaced pad's copy is gone from the home.
    let pads: Vec<_> = std::fs::read_dir(alice.home.path().join("pads"))
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(pads.len(), 1, "{pads:?}");
    // The same pad file again, for anyone: refused.
    let err = alice.node.import_pad("Bob", &pad, true).unwrap_err();
    assert_eq!(err.code(), "pad", "{err}");
    let _ = QUICKNET;
}

/// The model-based test: random sequences of what people and machines do,
/// with the invariants checked after every step.
mod model {
    use std::collections::{HashMap, HashSet};
    use std::ops::Range;
    use std::path::PathBuf;

    use proptest::prelude::*;
    use zks_node::{DataDir, Mode, Node, NodeConfig};
    use zks_pad::Envelope;
    use zks_pad::envelope::Body;
    use zks_scenarios::{QUICKNET, TEST_PASSPHRASE, TestNode, paired, share_pad, start_in};

    const BACKUP_PASSPHRASE: &[u8] = b"model backup passphrase";

    #[derive(Debug, Clone)]
    enum Op {
        /// One side seals a message of `len` bytes for the other.
        Seal { alice: bool, pad: bool, len: u8 },
        /// The receiver of an envelope made earlier opens it (again, maybe).
        Deliver { pick: usize },
        /// A side's process dies and starts again.
        Crash { alice: bool },
        /// The two pair again; `alice` invites.
        PairAgain { alice: bool },
        /// A side's home is backed up and restored on a new machine, which
        /// then pairs again (the old machine is gone).
        BackupRestore { alice: bool },
        /// A new pad replaces the old one on both sides.
        NewPad,
        /// A side tries to import a pad it held before.
        ImportOldPad { alice: bool, pick: usize },
        /// Two processes seal on one side's home at once.
        TwoProcesses { alice: bool, pad: bool },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (any::<bool>(), any::<bool>(), 1u8..120)
                .prop_map(|(alice, pad, len)| Op::Seal { alice, pad, len }),
            5 => any::<usize>().prop_map(|pick| Op::Deliver { pick }),
            1 => any::<bool>().prop_map(|alice| Op::Crash { alice }),
            1 => any::<bool>().prop_map(|alice| Op::PairAgain { alice }),
            1 => any::<bool>().prop_map(|alice| Op::BackupRestore { alice }),
            1 => Just(Op::NewPad),
            1 => (any::<bool>(), any::<usize>())
                .prop_map(|(alice, pick)| Op::ImportOldPad { alice, pick }),
            1 => (any::<bool>(), any::<bool>())
                .prop_map(|(alice, pad)| Op::TwoProcesses { alice, pad }),
        ]
    }

    /// What is known of every envelope ever sealed.
    struct Made {
        to_alice: bool,
        bytes: Vec<u8>,
        plaintext: Vec<u8>,
    }

    struct World {
        alice: Option<TestNode>,
        bob: Option<TestNode>,
        made: Vec<Made>,
        /// Pad bytes ever used, per pad: (range, which envelope).
        pad_ranges: HashMap<[u8; 16], Vec<(Range<u64>, usize)>>,
        /// Grid message keys ever used: (session, direction, epoch, n).
        grid_keys: HashSet<([u8; 16], String, u32, u64)>,
        /// Envelopes opened once already (each opens at most once).
        opened: HashSet<usize>,
        /// Every pad file ever made (kept, as a careless user would).
        pads: Vec<PathBuf>,
        dir: tempfile::TempDir,
        counter: u64,
    }

    impl World {
        fn side(&self, alice: bool) -> &TestNode {
            if alice {
                self.alice.as_ref()
            } else {
                self.bob.as_ref()
            }
            .expect("running")
        }

        fn peer_name(alice: bool) -> &'static str {
            if alice { "Bob" } else { "Alice" }
        }

        /// Records a sealed envelope and checks that it reuses no pad byte
        /// and no message key of any envelope made before.
        fn record(&mut self, to_alice: bool, bytes: Vec<u8>, plaintext: Vec<u8>) {
            let index = self.made.len();
            let envelope = Envelope::parse(&bytes).expect("a sealed envelope parses");
            match &envelope.body {
                Body::Pad(h) => {
                    let range = zks_pad::truepad::claimed_range(&envelope).expect("range");
                    let used = self.pad_ranges.entry(h.pad_id).or_default();
                    for (other, by) in used.iter() {
                        assert!(
                            other.end <= range.start || range.end <= other.start,
                            "pad bytes {range:?} of envelope {index} overlap {other:?} of envelope {by}"
                        );
                    }
                    used.push((range, index));
                }
                Body::Grid(h) => {
                    let key = (
                        envelope.session_id,
                        format!("{:?}", envelope.direction),
                        h.epoch,
                        h.n,
                    );
                    assert!(
                        self.grid_keys.insert(key.clone()),
                        "message key {key:?} used twice (envelope {index})"
                    );
                }
            }
            self.made.push(Made {
                to_alice,
                bytes,
                plaintext,
            });
        }

        fn text(&mut self, len: u8) -> Vec<u8> {
            self.counter += 1;
            let mut text = format!("m{} ", self.counter).into_bytes();
            text.resize(usize::from(len).max(text.len()), b'.');
            text
        }
    }

    async fn restart(n: TestNode) -> TestNode {
        start_in(super::stopped(n).await).await
    }

    async fn pair_again(world: &mut World, alice_invites: bool) {
        let (inviter, joiner) = if alice_invites {
            (world.alice.as_ref().unwrap(), world.bob.as_ref().unwrap())
        } else {
            (world.bob.as_ref().unwrap(), world.alice.as_ref().unwrap())
        };
        let (own, other) = if alice_invites {
            ("Alice", "Bob")
        } else {
            ("Bob", "Alice")
        };
        let invite = inviter.node.create_invite(Some(own), 600).unwrap();
        let accepted = joiner
            .node
            .accept_invite(invite.text.as_bytes(), None)
            .unwrap();
        assert_eq!(accepted.contact.name, own);
        inviter
            .node
            .finish_pairing(accepted.reply_text.as_bytes(), Some(other))
            .unwrap();
    }

    async fn step(world: &mut World, op: Op) {
        match op {
            Op::Seal { alice, pad, len } => {
                let text = world.text(len);
                let mode = if pad { Mode::Pad } else { Mode::Grid };
                // A refusal (no pad, pad used up) happens before sealing.
                if let Ok(sealed) =
                    world
                        .side(alice)
                        .node
                        .seal(World::peer_name(alice), &text, mode)
                {
                    world.record(!alice, sealed.envelope, text);
                }
            }
            Op::Deliver { pick } => {
                if world.made.is_empty() {
                    return;
                }
                let index = pick % world.made.len();
                let made = &world.made[index];
                let receiver = world.side(made.to_alice);
                let before = receiver
                    .node
                    .history(World::peer_name(made.to_alice))
                    .unwrap()
                    .len();
                match receiver.node.open(&made.bytes) {
                    Ok(opened) => {
                        assert_eq!(opened.plaintext, made.plaintext);
                        assert!(world.opened.insert(index), "envelope {index} opened twice");
                    }
                    Err(e) => {
                        assert_ne!(e.code(), "key_reuse", "a false alarm: {e}");
                        let after = receiver
                            .node
                            .history(World::peer_name(made.to_alice))
                            .unwrap()
                            .len();
                        assert_eq!(before, after, "a refused envelope changed the history");
                    }
                }
            }
            Op::Crash { alice } => {
                let slot = if alice {
                    &mut world.alice
                } else {
                    &mut world.bob
                };
                let n = slot.take().unwrap();
                *slot = Some(restart(n).await);
            }
            Op::PairAgain { alice } => pair_again(world, alice).await,
            Op::BackupRestore { alice } => {
                world.counter += 1;
                let backup = world.dir.path().join(format!("backup-{}", world.counter));
                let slot = if alice {
                    &mut world.alice
                } else {
                    &mut world.bob
                };
                let old = slot.take().unwrap();
                old.node.write_backup(&backup, BACKUP_PASSPHRASE).unwrap();
                drop(super::stopped(old).await);
                let restored = zks_scenarios::start_test_node().await;
                restored
                    .node
                    .restore_backup(&backup, BACKUP_PASSPHRASE)
                    .unwrap();
                restored.node.import_beacons("quicknet", QUICKNET).unwrap();
                *slot = Some(restored);
                pair_again(world, alice).await;
            }
            Op::NewPad => {
                world.counter += 1;
                let pad = world.dir.path().join(format!("pad-{}", world.counter));
                zks_node::create_pad_file(&pad, 4096).unwrap();
                for alice in [true, false] {
                    world
                        .side(alice)
                        .node
                        .import_pad(World::peer_name(alice), &pad, true)
                        .unwrap();
                }
                world.pads.push(pad);
            }
            Op::ImportOldPad { alice, pick } => {
                let pad = world.pads[pick % world.pads.len()].clone();
                let n = world.side(alice);
                let before = n.node.pad_status(World::peer_name(alice)).ok();
                let err = n
                    .node
                    .import_pad(World::peer_name(alice), &pad, true)
                    .expect_err("a pad held before is refused");
                assert_eq!(err.code(), "pad", "{err}");
                assert_eq!(n.node.pad_status(World::peer_name(alice)).ok(), before);
            }
            Op::TwoProcesses { alice, pad } => {
                let home = world.side(alice).home.path().to_owned();
                let second = Node::start(NodeConfig {
                    data_dir: DataDir::at(&home).unwrap(),
                    unlock: zks_node::Unlock::passphrase(TEST_PASSPHRASE),
                })
                .await
                .expect("a second process on the same home");
                let first = world.side(alice).node.clone();
                let to = World::peer_name(alice);
                let texts: Vec<Vec<u8>> = (0..6).map(|_| world.text(24)).collect();
                let sealed: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|s| {
                    let handles: Vec<_> = [&first, &second]
                        .into_iter()
                        .enumerate()
                        .map(|(k, node)| {
                            let texts = &texts;
                            s.spawn(move || {
                                let mut out = Vec::new();
                                for (i, text) in texts.iter().enumerate().skip(k).step_by(2) {
                                    let mode = if pad ^ (i % 3 == 0) {
                                        Mode::Pad
                                    } else {
                                        Mode::Grid
                                    };
                                    if let Ok(sealed) = node.seal(to, text, mode) {
                                        out.push((sealed.envelope, text.clone()));
                                    }
                                }
                                out
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .flat_map(|h| h.join().unwrap())
                        .collect()
                });
                second.stop().await;
                drop(second);
                for (bytes, text) in sealed {
                    world.record(!alice, bytes, text);
                }
            }
        }
    }

    fn cases() -> u32 {
        // Whole nodes per case: 8 cases, or 64 per unit of a soak run.
        if std::env::var_os("ZKS_SOAK").is_some() {
            64 * zks_testkit::soak()
        } else {
            8
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: cases(),
            max_shrink_iters: 32,
            ..ProptestConfig::default()
        })]

        #[test]
        fn no_pad_byte_or_message_key_is_ever_used_twice(ops in proptest::collection::vec(op(), 4..24)) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let (alice, bob) = paired().await;
                let dir = tempfile::tempdir().unwrap();
                let first_pad = dir.path().join("pad-0");
                zks_node::create_pad_file(&first_pad, 4096).unwrap();
                alice.node.import_pad("Bob", &first_pad, false).unwrap();
                bob.node.import_pad("Alice", &first_pad, false).unwrap();
                let mut world = World {
                    alice: Some(alice),
                    bob: Some(bob),
                    made: Vec::new(),
                    pad_ranges: HashMap::new(),
                    grid_keys: HashSet::new(),
                    opened: HashSet::new(),
                    pads: vec![first_pad],
                    dir,
                    counter: 0,
                };
                for op in ops {
                    step(&mut world, op).await;
                }
                // Everything still in flight either opens once or is
                // refused without an alarm.
                for pick in 0..world.made.len() {
                    step(&mut world, Op::Deliver { pick }).await;
                }
                let _ = share_pad;
            });
        }
    }
}
