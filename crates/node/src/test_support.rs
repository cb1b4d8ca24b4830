//! Helpers for the node's own unit tests (the tests of other crates use
//! `zks-testkit` and the scenarios' `tests/support`).

use std::path::Path;

use crate::{DataDir, Node, NodeConfig, Unlock};

/// A node started in `home` (new, or one a stopped node left), locked
/// with the test passphrase.
pub(crate) async fn started(home: &Path) -> Node {
    Node::start(NodeConfig {
        data_dir: DataDir::at(home).expect("data dir"),
        unlock: Unlock::passphrase(zks_testkit::PASSPHRASE),
    })
    .await
    .expect("node starts")
}

/// Alice (`alice/` in `dir`) and Bob (`bob/`), paired in process (Alice
/// invited; they know each other as "Bob" and "Alice"), both holding the
/// recorded quicknet beacons.
pub(crate) async fn paired(dir: &Path) -> (Node, Node) {
    let alice = started(&dir.join("alice")).await;
    let bob = started(&dir.join("bob")).await;
    let invite = alice.create_invite(Some("Alice"), 3600).expect("invite");
    let accepted = bob
        .accept_invite(invite.text.as_bytes(), None)
        .expect("accept");
    alice
        .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
        .expect("finish");
    for node in [&alice, &bob] {
        node.import_beacons("quicknet", zks_testkit::QUICKNET)
            .expect("beacons");
    }
    (alice, bob)
}

/// Hands everything `from` queued for `contact` to `to` in order, as
/// delivery would, and marks what `to` took delivered; returns `to`'s
/// result for each envelope.
pub(crate) fn relay(
    from: &Node,
    contact: &str,
    to: &Node,
) -> Vec<Result<crate::OpenedMessage, crate::NodeError>> {
    let queued = from
        .with_store(|store| {
            let id = store.contact(contact)?.id;
            Ok(store.queued_run(id, usize::MAX, usize::MAX)?)
        })
        .expect("queue");
    let mut results = Vec::new();
    for item in queued {
        let result = to.open(&item.envelope);
        from.with_store_mut(|store| {
            match &result {
                Ok(_) => store.outbox_delivered(item.id)?,
                Err(e) => store.outbox_failed(item.id, &e.to_string())?,
            }
            Ok(())
        })
        .expect("outbox");
        results.push(result);
    }
    results
}
