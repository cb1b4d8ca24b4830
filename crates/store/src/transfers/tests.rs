use super::*;
use crate::{NewContact, NewMessage};

fn new_transfer(id: u8) -> NewTransfer {
    NewTransfer {
        transfer_id: vec![id; 16],
        outgoing: false,
        name: "a.bin".into(),
        size: 3 * 1024 * 1024 + 1,
        blake3: vec![1; 32],
        chunk_size: 1024 * 1024,
        mode: "grid".into(),
        secret: Some(vec![2; 32]),
        pad_offset: None,
        pad_id: None,
        path: String::new(),
        chunk_hashes: None,
        state: TransferState::Offered,
        timelock: None,
    }
}

fn store_with_contact() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
    let contact = NewContact {
        name: "bob".into(),
        peer_id: "p".into(),
        identity_key: vec![1; 32],
        addresses: vec![],
        safety_code: "0".into(),
        role: "initiator".into(),
        session_id: vec![3; 16],
        session: vec![4],
        rendezvous: None,
        reply: None,
    };
    let id = store.complete_pairing(b"h", &contact).unwrap();
    (dir, store, id)
}

fn offer(t: NewTransfer) -> NewMessage {
    NewMessage {
        outgoing: false,
        mode: "grid".into(),
        kind: "file".into(),
        body: vec![0],
        chain_hash: None,
        round: None,
        transfer: Some(TransferChange::Create(Box::new(t))),
        ..NewMessage::default()
    }
}

#[test]
fn an_offer_lands_with_its_message_once_and_states_only_move_forward() {
    let (_dir, mut store, contact) = store_with_contact();
    store
        .record_message(contact, None, None, &offer(new_transfer(1)))
        .unwrap();
    let t = store.transfer(&[1; 16]).unwrap().unwrap();
    assert_eq!((t.state, t.done.len()), (TransferState::Offered, 1));
    assert!(t.message_id.is_some());
    // The same offer again: refused, and no second message either.
    assert!(
        store
            .record_message(contact, None, None, &offer(new_transfer(1)))
            .is_err()
    );
    assert_eq!(store.messages(contact).unwrap().len(), 1);

    store.set_transfer_progress(&[1; 16], &[0b101], 2).unwrap();
    assert!(
        store
            .set_transfer_state(&[1; 16], TransferState::Cancelled, Some("by bob"))
            .unwrap()
    );
    // A closed transfer stays closed.
    assert!(
        !store
            .set_transfer_state(&[1; 16], TransferState::Transferring, None)
            .unwrap()
    );
    let t = store.transfer(&[1; 16]).unwrap().unwrap();
    assert_eq!(
        (t.state, t.done.as_slice(), t.bytes_done),
        (TransferState::Cancelled, &[0b101u8][..], 2)
    );
    assert!(!t.is_open());
    assert_eq!(store.transfers().unwrap().len(), 1);
    assert!(store.receiving_transfers().unwrap().is_empty());
    store
        .record_message(contact, None, None, &offer(new_transfer(2)))
        .unwrap();
    store
        .set_transfer_state(&[2; 16], TransferState::Accepted, None)
        .unwrap();
    let moving = store.receiving_transfers().unwrap();
    assert_eq!(moving.len(), 1);
    assert_eq!(moving[0].transfer_id, vec![2; 16]);
}

/// A received timelocked file is locked from its offer on; the opener
/// sees it only once it arrived whole and its round is due, and it
/// opens or fails once. Ours is never locked.
#[test]
fn a_received_timelocked_file_waits_for_its_round_then_opens_or_fails_once() {
    let (_dir, mut store, contact) = store_with_contact();
    let lock = TransferLock {
        chain_hash: vec![0x52; 32],
        round: 40,
        opens_at: 1_000,
    };
    for (id, outgoing) in [(1u8, false), (2, false), (3, true)] {
        let t = NewTransfer {
            outgoing,
            timelock: Some(lock.clone()),
            ..new_transfer(id)
        };
        store
            .record_message(contact, None, None, &offer(t))
            .unwrap();
    }
    let t = store.transfer(&[1; 16]).unwrap().unwrap();
    assert_eq!((t.timelock.as_ref(), t.locked), (Some(&lock), true));
    let ours = store.transfer(&[3; 16]).unwrap().unwrap();
    assert_eq!((ours.timelock.as_ref(), ours.locked), (Some(&lock), false));
    let plain = store
        .record_message(contact, None, None, &offer(new_transfer(4)))
        .map(|_| store.transfer(&[4; 16]).unwrap().unwrap())
        .unwrap();
    assert_eq!((plain.timelock, plain.locked), (None, false));

    // Not before it arrived whole, nor before its round.
    assert!(store.locked_transfers_due(5_000, 10).unwrap().is_empty());
    for id in [1u8, 2, 3] {
        store
            .set_transfer_state(&[id; 16], TransferState::Transferring, None)
            .unwrap();
        assert!(
            store
                .complete_transfer(&[id; 16], &format!("/d/.zks-{id}.tlock"), 10)
                .unwrap()
        );
    }
    assert!(store.locked_transfers_due(999, 10).unwrap().is_empty());
    let due = store.locked_transfers_due(1_000, 10).unwrap();
    assert_eq!(
        due.iter().map(|t| t.transfer_id[0]).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(store.locked_transfers_due(1_000, 1).unwrap().len(), 1);

    assert!(store.open_locked_transfer(&[1; 16], "/d/a.bin").unwrap());
    assert!(!store.open_locked_transfer(&[1; 16], "/d/b.bin").unwrap());
    let opened = store.transfer(&[1; 16]).unwrap().unwrap();
    assert_eq!(
        (opened.path.as_str(), opened.locked, opened.state),
        ("/d/a.bin", false, TransferState::Completed)
    );
    assert!(!store.fail_locked_transfer(&[1; 16], "late").unwrap());

    assert!(store.fail_locked_transfer(&[2; 16], "damaged").unwrap());
    let failed = store.transfer(&[2; 16]).unwrap().unwrap();
    assert_eq!(
        (
            failed.state,
            failed.error.as_deref(),
            failed.path.as_str(),
            failed.locked
        ),
        (TransferState::Failed, Some("damaged"), "", true)
    );
    assert!(!store.open_locked_transfer(&[2; 16], "/d/x").unwrap());
    assert!(store.locked_transfers_due(i64::MAX, 10).unwrap().is_empty());
    // Ours is not the opener's business.
    assert!(!store.open_locked_transfer(&[3; 16], "/d/y").unwrap());
}

#[test]
fn transfer_states_keep_their_names_in_the_database_and_in_json() {
    let names = [
        "offered",
        "accepted",
        "transferring",
        "paused",
        "completed",
        "declined",
        "cancelled",
        "failed",
    ];
    assert_eq!(TransferState::ALL.map(TransferState::as_str), names);
    for state in TransferState::ALL {
        assert_eq!(state.as_str().parse::<TransferState>(), Ok(state));
        assert_eq!(state.to_string(), state.as_str());
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, format!("\"{}\"", state.as_str()));
        assert_eq!(serde_json::from_str::<TransferState>(&json).unwrap(), state);
    }
    assert!("Offered".parse::<TransferState>().is_err());
    assert!("complete".parse::<TransferState>().is_err());

    // Every state passes the table's CHECK and reads back as itself.
    let (_dir, mut store, contact) = store_with_contact();
    for (i, state) in TransferState::ALL.into_iter().enumerate() {
        let id = 10 + i as u8;
        let t = NewTransfer {
            state,
            ..new_transfer(id)
        };
        store
            .record_message(contact, None, None, &offer(t))
            .unwrap();
        assert_eq!(store.transfer_state(&[id; 16]).unwrap(), Some(state));
        let text: String = store
            .conn
            .query_row(
                "SELECT state FROM transfers WHERE transfer_id = ?1",
                [vec![id; 16]],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(text, state.as_str());
    }
}
