//! Two nodes pair, then chat over the grid's swarm on loopback: every
//! message is delivered exactly once and in order, in both modes and both
//! directions, including messages queued while the contact was offline.

use std::time::Duration;

use zks_node::Mode;
use zks_node::wire::{file, msg};
use zks_scenarios::{TestNode, go_online, go_online_speaking, paired, share_pad};

/// Messages sent each way in the exactly-once test.
const COUNT: usize = 1000;

async fn wait_delivered(n: &TestNode, ids: &[i64]) {
    // Delivery is in order per contact: once the last is delivered, all are.
    let last = *ids.last().expect("ids");
    for _ in 0..3000 {
        let (state, error) = n.node.delivery_state(last).unwrap().unwrap();
        assert_ne!(state, "failed", "{error:?}");
        if state == "delivered" {
            for id in ids {
                assert_eq!(n.node.delivery_state(*id).unwrap().unwrap().0, "delivered");
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("messages were not delivered in time");
}

fn received(n: &TestNode, from: &str) -> Vec<String> {
    n.node
        .history(from)
        .unwrap()
        .into_iter()
        .filter(|m| !m.outgoing)
        .map(|m| String::from_utf8(m.body).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arrive_exactly_once_and_in_order_both_ways_in_both_modes() {
    let (alice, bob) = paired().await;
    share_pad(&alice, &bob, 64 * 1024);

    let (_a_swarm, a_addr) = go_online(&alice).await;
    let (_b_swarm, b_addr) = go_online(&bob).await;
    alice.node.set_contact_addresses("Bob", &[b_addr]).unwrap();
    bob.node.set_contact_addresses("Alice", &[a_addr]).unwrap();

    let mut a_ids = Vec::new();
    let mut b_ids = Vec::new();
    // 1,000 each way, every other one under the one-time pad.
    for i in 0..COUNT {
        let mode = if i % 2 == 1 { Mode::Pad } else { Mode::Grid };
        a_ids.push(
            alice
                .node
                .send("Bob", format!("a{i}").as_bytes(), mode)
                .unwrap()
                .message_id,
        );
        b_ids.push(
            bob.node
                .send("Alice", format!("b{i}").as_bytes(), mode)
                .unwrap()
                .message_id,
        );
    }
    wait_delivered(&alice, &a_ids).await;
    wait_delivered(&bob, &b_ids).await;
    let expected_a: Vec<String> = (0..COUNT).map(|i| format!("a{i}")).collect();
    let expected_b: Vec<String> = (0..COUNT).map(|i| format!("b{i}")).collect();
    assert_eq!(received(&bob, "Alice"), expected_a);
    assert_eq!(received(&alice, "Bob"), expected_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_on_an_older_release_gets_messages_one_by_one() {
    let (alice, bob) = paired().await;
    share_pad(&alice, &bob, 64 * 1024);
    let (_a_swarm, a_addr) = go_online(&alice).await;
    // Bob's release predates batches: he takes only /zks/msg/1.0.0.
    let (_b_swarm, b_addr) =
        go_online_speaking(&bob, vec![msg::protocol(), file::protocol()]).await;
    alice.node.set_contact_addresses("Bob", &[b_addr]).unwrap();
    bob.node.set_contact_addresses("Alice", &[a_addr]).unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        let mode = if i % 2 == 1 { Mode::Pad } else { Mode::Grid };
        ids.push(
            alice
                .node
                .send("Bob", format!("a{i}").as_bytes(), mode)
                .unwrap()
                .message_id,
        );
    }
    wait_delivered(&alice, &ids).await;
    let expected: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
    assert_eq!(received(&bob, "Alice"), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_batches_are_refused_and_a_bad_envelope_spoils_only_itself() {
    let (alice, bob) = paired().await;
    let (a_swarm, _) = go_online(&alice).await;
    let (_b_swarm, b_addr) = go_online(&bob).await;
    let bob_peer: libp2p::PeerId = alice.node.contacts().unwrap()[0].peer_id.parse().unwrap();
    let at = vec![b_addr.parse().unwrap()];
    // Framing Bob cannot read: refused whole, nothing stored.
    for bad in [
        &b""[..],
        &[0, 0],
        &[0, 1, 0, 0, 0, 9, 1, 2],
        &[0, 2, 0, 0, 0, 1, 7],
    ] {
        let answer = a_swarm
            .send_direct(msg::BATCH_ID, bob_peer, at.clone(), bad.to_vec())
            .await
            .unwrap();
        assert!(
            answer.starts_with(b"err:bad_input: malformed message batch"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    assert!(bob.node.history("Alice").unwrap().is_empty());
    // Three sealed messages, the middle one damaged: the other two are
    // stored in order, the damaged one is refused on its own.
    let mut envelopes: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            alice
                .node
                .seal("Bob", format!("m{i}").as_bytes(), Mode::Grid)
                .unwrap()
                .envelope
        })
        .collect();
    let last = envelopes[1].len() - 1;
    envelopes[1][last] ^= 1;
    let answer = a_swarm
        .send_direct(
            msg::BATCH_ID,
            bob_peer,
            at.clone(),
            msg::encode_batch(&envelopes).unwrap(),
        )
        .await
        .unwrap();
    let acks = msg::decode_acks(&answer, 3).unwrap();
    assert_eq!(acks[0], b"ok");
    assert!(
        acks[1].starts_with(b"err:"),
        "{:?}",
        String::from_utf8_lossy(&acks[1])
    );
    assert_eq!(acks[2], b"ok");
    assert_eq!(received(&bob, "Alice"), ["m0", "m2"]);
    // The same batch again: two duplicates, the damaged one refused again.
    let answer = a_swarm
        .send_direct(
            msg::BATCH_ID,
            bob_peer,
            at,
            msg::encode_batch(&envelopes).unwrap(),
        )
        .await
        .unwrap();
    let acks = msg::decode_acks(&answer, 3).unwrap();
    assert_eq!(
        (acks[0].as_slice(), acks[2].as_slice()),
        (&b"dup"[..], &b"dup"[..])
    );
    assert!(acks[1].starts_with(b"err:"));
    assert_eq!(received(&bob, "Alice"), ["m0", "m2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_queued_while_the_contact_is_offline_arrive_when_it_comes_online() {
    let (alice, bob) = paired().await;
    let (_a_swarm, a_addr) = go_online(&alice).await;
    // Bob is offline: an address nobody listens on.
    alice
        .node
        .set_contact_addresses("Bob", &["/ip4/127.0.0.1/tcp/9".to_owned()])
        .unwrap();
    let ids: Vec<i64> = (0..5)
        .map(|i| {
            alice
                .node
                .send("Bob", format!("while away {i}").as_bytes(), Mode::Grid)
                .unwrap()
                .message_id
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (state, error) = alice.node.delivery_state(ids[0]).unwrap().unwrap();
    assert_eq!(state, "queued");
    assert!(error.is_some(), "the failed attempt is recorded");

    let (_b_swarm, b_addr) = go_online(&bob).await;
    bob.node.set_contact_addresses("Alice", &[a_addr]).unwrap();
    alice.node.set_contact_addresses("Bob", &[b_addr]).unwrap();
    wait_delivered(&alice, &ids).await;
    let expected: Vec<String> = (0..5).map(|i| format!("while away {i}")).collect();
    assert_eq!(received(&bob, "Alice"), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_reaches_the_inviter_over_the_network_before_any_message() {
    let alice = zks_scenarios::start_test_node().await;
    let bob = zks_scenarios::start_test_node().await;
    for n in [&alice, &bob] {
        n.node
            .import_beacons("quicknet", zks_scenarios::QUICKNET)
            .unwrap();
    }
    let (a_swarm, a_addr) = go_online(&alice).await;
    let (_b_swarm, _) = go_online(&bob).await;
    // Alice's invite says where she listens (as a daemon's or the app's does).
    alice
        .node
        .publish_daemon(&zks_node::DaemonInfo {
            pid: std::process::id(),
            peer_id: a_swarm.peer_id().to_string(),
            addresses: vec![a_addr],
        })
        .unwrap();
    let mut events = alice.node.subscribe();
    let invite = alice.node.create_invite(Some("Alice"), 600).unwrap();
    let accepted = bob
        .node
        .accept_invite(invite.text.as_bytes(), None)
        .unwrap();
    // Bob writes at once; his reply is ahead of it in his outbox.
    let id = bob
        .node
        .send("Alice", b"hello from the network", Mode::Grid)
        .unwrap()
        .message_id;
    wait_delivered(&bob, &[id]).await;
    let bob_at_alice = alice.node.contacts().unwrap()[0].name.clone();
    assert_eq!(received(&alice, &bob_at_alice), ["hello from the network"]);
    let mut finished = false;
    while let Ok(e) = events.try_recv() {
        finished |= matches!(e, zks_node::NodeEvent::PairingFinished { .. });
    }
    assert!(finished, "Alice was told the pairing finished");
    // Alice also scans the reply afterwards: same contact, nothing changes.
    let contacts = alice.node.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    let again = alice
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), None)
        .unwrap();
    assert_eq!(again, contacts[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_s_current_address_is_learned_from_the_network_and_kept() {
    let (alice, bob) = paired().await;
    let (_a_swarm, a_addr) = go_online(&alice).await;
    let (_b_swarm, b_addr) = go_online(&bob).await;
    // Alice only has an address where nobody listens (Bob moved).
    alice
        .node
        .set_contact_addresses("Bob", &["/ip4/127.0.0.1/tcp/9".to_owned()])
        .unwrap();
    bob.node.set_contact_addresses("Alice", &[a_addr]).unwrap();
    // Bob writes; the connection tells Alice where Bob listens.
    let from_bob = bob.node.send("Alice", b"I moved", Mode::Grid).unwrap();
    wait_delivered(&bob, &[from_bob.message_id]).await;
    let reply = alice.node.send("Bob", b"found you", Mode::Grid).unwrap();
    wait_delivered(&alice, &[reply.message_id]).await;
    assert_eq!(received(&bob, "Alice"), ["found you"]);
    // The learned address is stored for next time, ahead of the stale one.
    let stored = alice.node.contacts().unwrap()[0].addresses.clone();
    assert!(
        stored.iter().any(|a| b_addr.starts_with(a.as_str())),
        "{stored:?} lacks {b_addr}"
    );
    assert!(stored.len() <= 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_node_keeps_a_fresh_verified_round_to_bind_messages_to() {
    use std::sync::Arc;
    use zks_beacon::{DevnetSigner, Scheme};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signer = Arc::new(DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, now - 300));
    let chain = signer.chain().clone();
    let (addr, _relay) = zks_grid::relay::serve(
        "127.0.0.1:0".parse().unwrap(),
        zks_grid::RelaySource::Devnet(signer),
    )
    .await
    .unwrap();
    let (alice, _bob) = paired().await;
    // Alice binds to the devnet chain and has none of its rounds yet: her
    // message is not refused, it binds to quicknet (the envelope names its
    // chain) until a devnet round is held.
    alice.node.add_chain(&chain.to_info_json()).unwrap();
    alice.node.set_binding_chain(&chain.hash.to_hex()).unwrap();
    let early = alice.node.seal("Bob", b"early", Mode::Grid).unwrap();
    assert_eq!(early.round, Some(SHIPPED_ROUND));
    let mut settings = alice.node.settings().unwrap();
    settings.drand_urls = vec![format!("http://{addr}")];
    alice.node.save_settings(&settings).unwrap();
    // Online (as the app and the daemon are), it fetches and verifies one.
    let (_swarm, _) = alice
        .node
        .serve_home(zks_node::OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..zks_node::OnlineConfig::default()
        })
        .await
        .unwrap();
    let mut sealed = None;
    for _ in 0..100 {
        let s = alice.node.seal("Bob", b"now bound", Mode::Grid).unwrap();
        let bound_to = alice.node.history("Bob").unwrap().pop().unwrap().chain_hash;
        if bound_to.as_deref() == Some(&chain.hash.0[..]) {
            sealed = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sealed = sealed.expect("a round was fetched and verified");
    let head = chain.round_at(now);
    assert!(sealed.round.unwrap() + 2 >= head, "bound to a recent round");
    alice.node.withdraw_daemon();
}

/// Two fresh homes, no beacons imported and no drand source (loopback
/// only: no HTTP source is reachable), paired and online with each other:
/// messages go both ways at once, each bound to the quicknet round shipped
/// with the release or a newer verified one, and each shows when it was
/// sealed at the earliest (the round's time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_homes_without_any_beacon_exchange_messages_both_ways() {
    let alice = zks_scenarios::start_test_node().await;
    let bob = zks_scenarios::start_test_node().await;
    let invite = alice.node.create_invite(Some("Alice"), 600).unwrap();
    let accepted = bob
        .node
        .accept_invite(invite.text.as_bytes(), None)
        .unwrap();
    alice
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
        .unwrap();
    for n in [&alice, &bob] {
        // No drand source and no public network, whatever the environment.
        let mut settings = n.node.settings().unwrap();
        settings.drand_urls.clear();
        settings.bootstrap.clear();
        n.node.save_settings(&settings).unwrap();
        let status = n.node.status().unwrap();
        assert!(
            status.grid.chains.iter().all(|c| c.rounds == 0),
            "nothing imported: {:?}",
            status.grid.chains
        );
        assert!(
            n.node
                .sources_from_settings()
                .unwrap()
                .drand_urls
                .is_empty(),
            "no drand source"
        );
    }
    // Online as the app and the daemon are: the grid and its binding
    // keeper run too, and find no round anywhere.
    let online = || zks_node::OnlineConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        grid: true,
        ..zks_node::OnlineConfig::default()
    };
    let a_swarm = alice.node.go_online(online()).await.unwrap();
    let b_swarm = bob.node.go_online(online()).await.unwrap();
    let a_addrs = zks_node::listen_addresses(&a_swarm).await;
    let b_addrs = zks_node::listen_addresses(&b_swarm).await;
    alice.node.set_contact_addresses("Bob", &b_addrs).unwrap();
    bob.node.set_contact_addresses("Alice", &a_addrs).unwrap();

    let a_ids: Vec<i64> = (0..3)
        .map(|i| {
            alice
                .node
                .send("Bob", format!("a{i}").as_bytes(), Mode::Grid)
                .unwrap()
                .message_id
        })
        .collect();
    let b_ids: Vec<i64> = (0..3)
        .map(|i| {
            bob.node
                .send("Alice", format!("b{i}").as_bytes(), Mode::Grid)
                .unwrap()
                .message_id
        })
        .collect();
    wait_delivered(&alice, &a_ids).await;
    wait_delivered(&bob, &b_ids).await;
    assert_eq!(received(&bob, "Alice"), ["a0", "a1", "a2"]);
    assert_eq!(received(&alice, "Bob"), ["b0", "b1", "b2"]);

    let quicknet = zks_beacon::ChainInfo::quicknet();
    for (n, with) in [(&alice, "Bob"), (&bob, "Alice")] {
        let history = n.node.history(with).unwrap();
        assert_eq!(history.len(), 6);
        for m in history {
            let round = m.round.expect("bound to a round");
            assert!(round >= SHIPPED_ROUND, "{round}");
            assert_eq!(m.chain_hash.as_deref(), Some(&quicknet.hash.0[..]));
            assert_eq!(
                n.node.sealed_after(&m),
                Some(quicknet.time_of_round(round)),
                "its age is shown"
            );
        }
    }
    // Shipped: due 2026-07-23 07:39:30 UTC.
    assert_eq!(quicknet.time_of_round(SHIPPED_ROUND), 1_784_792_370);
    alice.node.stop().await;
    bob.node.stop().await;
}

/// The quicknet round shipped with the release (crates/node/data).
const SHIPPED_ROUND: u64 = 30_663_002;
