//! Desktop notifications for what happens while the window is not in front:
//! a new message, a file offered, a transfer that completed or failed, a
//! timelocked file that opened, a pairing finished over the network.
//!
//! Which event deserves a notification, and its words, is [`notice_for`], a
//! plain function. Notifications never carry a message's text or a file's
//! name (both may be private; the lock screen shows notifications), only
//! who and what kind of thing. They are off when the `notifications`
//! setting is off (read at each event, so the Settings screen's switch
//! applies at once) or when `ZKS_NOTIFICATIONS=0` (tests and CI set it), and
//! a notification that cannot be shown (no notification service, as under
//! Xvfb) is only logged.
//!
//! notify-rust talks to the desktop's notification service over D-Bus on
//! Linux and the BSDs, to the Notification Center on macOS and to the
//! toast API on Windows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tauri::{AppHandle, Manager};
use zks_node::{Node, NodeEvent, TransferInfo, TransferState};

/// The environment variable that turns notifications off when set to `0`.
pub(crate) const ENV: &str = "ZKS_NOTIFICATIONS";

/// The name notifications are shown under.
const APP_NAME: &str = "ZKS Entropy Grid";

/// Whether notifications are on, given the value of [`ENV`]: on unless it is
/// `0`, `false`, `off` or `no`.
pub(crate) fn enabled(value: Option<&str>) -> bool {
    !matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("0" | "false" | "off" | "no")
    )
}

/// Whether the settings ask for notifications (on when they cannot be read:
/// the setting's default).
pub(crate) fn wanted(node: &Node) -> bool {
    node.settings().map_or(true, |s| s.notifications)
}

/// A notification's title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) title: String,
    pub(crate) body: String,
}

impl Notice {
    fn new(title: impl Into<String>, body: impl Into<String>) -> Notice {
        Notice {
            title: title.into(),
            body: body.into(),
        }
    }
}

/// What the node knows about an event beyond the event itself; the caller
/// reads it from the node (see [`Notifier`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// For `message_received`: the kind (`text` or `file`) of a message from
    /// that contact not announced before, or `None` when the event brought
    /// none (file-transfer bookkeeping messages raise the event too).
    pub(crate) new_message_kind: Option<String>,
    /// For `transfer_finished` and `transfer_opened`: the transfer, if the
    /// node still lists it.
    pub(crate) transfer: Option<TransferInfo>,
}

/// The notification an event deserves, if any.
pub(crate) fn notice_for(event: &NodeEvent, facts: &Facts) -> Option<Notice> {
    match event {
        NodeEvent::MessageReceived { from } => match facts.new_message_kind.as_deref() {
            Some("text") => Some(Notice::new(
                format!("New message from {from}"),
                "Open ZKS Entropy Grid to read it.",
            )),
            // A file offer is announced by its own event; bookkeeping is not news.
            _ => None,
        },
        NodeEvent::TransferOffered { from, size, .. } => Some(Notice::new(
            format!("{from} offers you a file"),
            format!(
                "{} — open ZKS Entropy Grid to accept or decline it.",
                format_bytes(*size)
            ),
        )),
        NodeEvent::TransferFinished { state, .. } => {
            let t = facts.transfer.as_ref();
            let contact = t.map_or("your contact", |t| t.contact.as_str());
            let outgoing = t.map(|t| t.outgoing);
            match (state, outgoing) {
                // A timelocked file arrived: there is no file to open yet.
                (TransferState::Completed, Some(false)) if t.is_some_and(|t| t.locked) => {
                    Some(Notice::new(
                        format!("Timelocked file from {contact} received"),
                        "It opens by itself at its time (drand timelock).",
                    ))
                }
                (TransferState::Completed, Some(true)) => Some(Notice::new(
                    format!("File delivered to {contact}"),
                    "It arrived complete and verified.",
                )),
                (TransferState::Completed, Some(false)) => Some(Notice::new(
                    format!("File from {contact} received"),
                    "It is complete and verified, in your downloads folder.",
                )),
                (TransferState::Completed, None) => Some(Notice::new(
                    "File transfer completed",
                    "Open ZKS Entropy Grid to see it.",
                )),
                (TransferState::Failed, _) => Some(Notice::new(
                    format!("File transfer with {contact} failed"),
                    "Open ZKS Entropy Grid to see why.",
                )),
                // Declined and cancelled transfers were someone's choice.
                _ => None,
            }
        }
        NodeEvent::TransferOpened { .. } => {
            let contact = facts
                .transfer
                .as_ref()
                .map_or("your contact", |t| t.contact.as_str());
            Some(Notice::new(
                format!("Timelocked file from {contact} opened"),
                "Its time came; it is in your downloads folder.",
            ))
        }
        NodeEvent::PairingFinished { contact } => Some(Notice::new(
            format!("Paired with {contact}"),
            format!("Compare your safety code with {contact} to verify the pairing."),
        )),
        NodeEvent::KeyReuseDetected { contact, .. } => Some(Notice::new(
            format!("Key or pad reuse detected with {contact}"),
            "A message was refused. Open ZKS Entropy Grid to see what to do.",
        )),
        NodeEvent::Started
        | NodeEvent::Stopping
        | NodeEvent::MessageDelivered { .. }
        | NodeEvent::MessageMailboxed { .. }
        | NodeEvent::MessagesExpired { .. }
        | NodeEvent::MessagesOpened { .. }
        | NodeEvent::TransferProgress { .. } => None,
        // Like a 1:1 message: who, never what (nor the group's name).
        NodeEvent::GroupMessage {
            from: Some(from), ..
        } => Some(Notice::new(
            format!("New group message from {from}"),
            "Open ZKS Entropy Grid to read it.",
        )),
        // Ours, reactions, edits, deletes and membership changes reach the
        // window (it refreshes the group) and are not news.
        NodeEvent::GroupChanged { .. } | NodeEvent::GroupMessage { from: None, .. } => None,
        // Our own devices' doings refresh the window; they are not news.
        NodeEvent::DevicesChanged | NodeEvent::ConversationSynced { .. } => None,
    }
}

/// The notification shown the first time the window is closed.
pub(crate) fn tray_hint() -> Notice {
    Notice::new(
        "ZKS Entropy Grid keeps running",
        "It stays online in the tray to deliver messages and serve files. \
         Quit it from the tray menu.",
    )
}

/// Bytes in binary units, one decimal above a KiB ("2.4 MiB"), as the window shows them.
fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)] // one decimal is all that is shown
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Notifications being handed to the platform at once; more are dropped
/// (a burst of events is not worth a burst of threads or popups).
const MAX_IN_FLIGHT: usize = 4;

/// Shows a notification on a thread of its own (the platform call may block
/// for a while); a failure is logged, loudly only the first time.
pub(crate) fn show(notice: Notice) {
    static FAILED_BEFORE: AtomicBool = AtomicBool::new(false);
    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    if IN_FLIGHT.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        tracing::debug!("too many notifications at once; dropped {:?}", notice.title);
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("notification".into())
        .spawn(move || {
            let shown = notify_rust::Notification::new()
                .appname(APP_NAME)
                .summary(&notice.title)
                .body(&notice.body)
                .show();
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
            if let Err(e) = shown {
                if FAILED_BEFORE.swap(true, Ordering::Relaxed) {
                    tracing::debug!("cannot show a notification: {e}");
                } else {
                    tracing::warn!("cannot show desktop notifications: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!("cannot show a notification: {e}");
    }
}

/// Reads the [`Facts`] of events from the node and remembers which messages
/// were announced, so that a later bookkeeping message does not announce an
/// old one again.
#[derive(Debug)]
pub(crate) struct Notifier {
    node: Node,
    /// Per contact name, the newest incoming message already accounted for.
    announced: HashMap<String, i64>,
}

impl Notifier {
    /// Starts with every message already in the store accounted for.
    pub(crate) fn new(node: Node) -> Notifier {
        let mut announced = HashMap::new();
        if let Ok(contacts) = node.contacts() {
            for c in contacts {
                if let Some(id) = newest_incoming(&node, &c.name).map(|m| m.0) {
                    announced.insert(c.name, id);
                }
            }
        }
        Notifier { node, announced }
    }

    /// The facts `event` needs; takes note of the messages it announces.
    pub(crate) fn facts(&mut self, event: &NodeEvent) -> Facts {
        match event {
            NodeEvent::MessageReceived { from } => {
                let mut facts = Facts::default();
                if let Some((id, kind)) = newest_incoming(&self.node, from) {
                    let seen = self.announced.entry(from.clone()).or_insert(0);
                    if id > *seen {
                        *seen = id;
                        facts.new_message_kind = Some(kind);
                    }
                }
                facts
            }
            NodeEvent::TransferFinished { transfer_id, .. }
            | NodeEvent::TransferOpened { transfer_id } => Facts {
                transfer: self.node.transfer(transfer_id).ok(),
                ..Facts::default()
            },
            _ => Facts::default(),
        }
    }
}

/// The newest incoming chat message or file offer from `contact`: (id, kind).
fn newest_incoming(node: &Node, contact: &str) -> Option<(i64, String)> {
    let history = node.history(contact).ok()?;
    history
        .into_iter()
        .rev()
        .find(|m| !m.outgoing && (m.kind == "text" || m.kind == "file"))
        .map(|m| (m.id, m.kind))
}

/// Whether the main window is shown and has the focus (then the person sees
/// what happens and needs no notification).
fn window_in_front(app: &AppHandle) -> bool {
    app.get_webview_window("main").is_some_and(|w| {
        w.is_visible().unwrap_or(false)
            && !w.is_minimized().unwrap_or(false)
            && w.is_focused().unwrap_or(false)
    })
}

/// Notifies about the node's events while the window is not in front, until
/// the node stops.
pub(crate) fn watch(app: &AppHandle, node: &Node) {
    let mut events = node.subscribe();
    let app = app.clone();
    let node = node.clone();
    tauri::async_runtime::spawn(async move {
        // Reading the store blocks; it happens off the async threads.
        let notifier = tauri::async_runtime::spawn_blocking(move || Notifier::new(node)).await;
        let Ok(mut notifier) = notifier else {
            return;
        };
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            // The node stopped (the home was locked): so does this watch,
            // dropping its handle on the node.
            if event == NodeEvent::Stopping {
                break;
            }
            if !matches!(
                event,
                NodeEvent::MessageReceived { .. }
                    | NodeEvent::TransferOffered { .. }
                    | NodeEvent::TransferFinished { .. }
                    | NodeEvent::TransferOpened { .. }
                    | NodeEvent::PairingFinished { .. }
                    | NodeEvent::KeyReuseDetected { .. }
            ) {
                continue;
            }
            let app = app.clone();
            let handled = tauri::async_runtime::spawn_blocking(move || {
                // The facts are read even with the window in front, so that
                // what was announced stays current.
                let facts = notifier.facts(&event);
                if let Some(notice) = notice_for(&event, &facts)
                    && wanted(&notifier.node)
                    && !window_in_front(&app)
                {
                    show(notice);
                }
                notifier
            })
            .await;
            match handled {
                Ok(n) => notifier = n,
                Err(_) => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use zks_node::Protection;

    fn transfer(outgoing: bool, state: TransferState) -> TransferInfo {
        TransferInfo {
            id: "ab".repeat(16),
            contact: "Alice".into(),
            outgoing,
            name: "secret-plans.pdf".into(),
            size: 2_500_000,
            blake3: "00".repeat(32),
            protection: Protection::PostQuantum,
            state,
            error: Some("cannot write /home/me/Downloads/secret-plans.pdf".into()),
            bytes_done: 0,
            bytes_sent: 0,
            path: Some("/home/me/Downloads/secret-plans.pdf".into()),
            created_at: 1,
            message_id: Some(3),
            opens_at: None,
            opens_round: None,
            locked: false,
        }
    }

    fn text(notice: &Option<Notice>) -> String {
        notice
            .as_ref()
            .map(|n| format!("{} | {}", n.title, n.body))
            .unwrap_or_default()
    }

    #[test]
    fn the_environment_variable_turns_notifications_off() {
        assert!(enabled(None));
        assert!(enabled(Some("1")));
        assert!(enabled(Some("")));
        for off in ["0", "false", "OFF", " no "] {
            assert!(!enabled(Some(off)), "{off:?}");
        }
    }

    #[test]
    fn a_new_text_message_is_announced_without_its_text() {
        let event = NodeEvent::MessageReceived {
            from: "Alice".into(),
        };
        let facts = Facts {
            new_message_kind: Some("text".into()),
            ..Facts::default()
        };
        assert_eq!(
            notice_for(&event, &facts),
            Some(Notice::new(
                "New message from Alice",
                "Open ZKS Entropy Grid to read it."
            ))
        );
        // A file offer has its own notification; bookkeeping has none.
        let file = Facts {
            new_message_kind: Some("file".into()),
            ..Facts::default()
        };
        assert_eq!(notice_for(&event, &file), None);
        assert_eq!(notice_for(&event, &Facts::default()), None);
    }

    #[test]
    fn a_members_new_group_message_is_announced_and_nothing_else_of_groups() {
        let news = NodeEvent::GroupMessage {
            group: "ab".repeat(16),
            from: Some("Carol".into()),
        };
        assert_eq!(
            text(&notice_for(&news, &Facts::default())),
            "New group message from Carol | Open ZKS Entropy Grid to read it."
        );
        let ours = NodeEvent::GroupMessage {
            group: "ab".repeat(16),
            from: None,
        };
        assert_eq!(notice_for(&ours, &Facts::default()), None);
        let changed = NodeEvent::GroupChanged {
            group: "ab".repeat(16),
        };
        assert_eq!(notice_for(&changed, &Facts::default()), None);
    }

    #[test]
    fn a_file_offer_says_who_and_how_big_but_not_the_name() {
        let event = NodeEvent::TransferOffered {
            transfer_id: "ab".repeat(16),
            from: "Bob".into(),
            name: "secret-plans.pdf".into(),
            size: 2_500_000,
        };
        let notice = notice_for(&event, &Facts::default());
        assert_eq!(
            text(&notice),
            "Bob offers you a file | 2.4 MiB — open ZKS Entropy Grid to accept or decline it."
        );
    }

    #[test]
    fn finished_transfers_are_announced_when_completed_or_failed() {
        let finished = |state: TransferState| NodeEvent::TransferFinished {
            transfer_id: "ab".repeat(16),
            state,
            error: None,
        };
        let with = |outgoing: bool, state: TransferState| Facts {
            transfer: Some(transfer(outgoing, state)),
            ..Facts::default()
        };
        assert_eq!(
            text(&notice_for(
                &finished(TransferState::Completed),
                &with(false, TransferState::Completed)
            )),
            "File from Alice received | It is complete and verified, in your downloads folder."
        );
        assert_eq!(
            text(&notice_for(
                &finished(TransferState::Completed),
                &with(true, TransferState::Completed)
            )),
            "File delivered to Alice | It arrived complete and verified."
        );
        assert_eq!(
            text(&notice_for(
                &finished(TransferState::Failed),
                &with(false, TransferState::Failed)
            )),
            "File transfer with Alice failed | Open ZKS Entropy Grid to see why."
        );
        // Without the transfer (gone from the list) it is still announced.
        assert_eq!(
            text(&notice_for(
                &finished(TransferState::Completed),
                &Facts::default()
            )),
            "File transfer completed | Open ZKS Entropy Grid to see it."
        );
        assert_eq!(
            text(&notice_for(
                &finished(TransferState::Failed),
                &Facts::default()
            )),
            "File transfer with your contact failed | Open ZKS Entropy Grid to see why."
        );
        for state in [TransferState::Declined, TransferState::Cancelled] {
            assert_eq!(notice_for(&finished(state), &with(true, state)), None);
        }
        // Neither the file's name nor its path (nor an error naming them) shows.
        for outgoing in [false, true] {
            for state in [TransferState::Completed, TransferState::Failed] {
                let all = text(&notice_for(&finished(state), &with(outgoing, state)));
                assert!(!all.contains("secret"), "{all}");
            }
        }
    }

    /// A timelocked file that arrived is not yet a file; when it opens,
    /// that is announced — by who, never by name.
    #[test]
    fn timelocked_files_are_announced_when_they_arrive_and_when_they_open() {
        let locked = TransferInfo {
            opens_at: Some(1_800_000_000),
            opens_round: Some(4242),
            locked: true,
            path: None,
            ..transfer(false, TransferState::Completed)
        };
        let finished = NodeEvent::TransferFinished {
            transfer_id: "ab".repeat(16),
            state: TransferState::Completed,
            error: None,
        };
        let facts = Facts {
            transfer: Some(locked.clone()),
            ..Facts::default()
        };
        assert_eq!(
            text(&notice_for(&finished, &facts)),
            "Timelocked file from Alice received | It opens by itself at its time (drand timelock)."
        );
        let opened = NodeEvent::TransferOpened {
            transfer_id: "ab".repeat(16),
        };
        let facts = Facts {
            transfer: Some(TransferInfo {
                locked: false,
                ..locked
            }),
            ..Facts::default()
        };
        let shown = text(&notice_for(&opened, &facts));
        assert_eq!(
            shown,
            "Timelocked file from Alice opened | Its time came; it is in your downloads folder."
        );
        assert!(!shown.contains("secret"));
        assert_eq!(
            text(&notice_for(&opened, &Facts::default())),
            "Timelocked file from your contact opened | Its time came; it is in your downloads folder."
        );
    }

    #[test]
    fn a_pairing_finished_over_the_network_is_announced() {
        let event = NodeEvent::PairingFinished {
            contact: "Carol".into(),
        };
        assert_eq!(
            text(&notice_for(&event, &Facts::default())),
            "Paired with Carol | Compare your safety code with Carol to verify the pairing."
        );
    }

    #[test]
    fn a_key_reuse_alarm_is_announced_without_its_detail() {
        let event = NodeEvent::KeyReuseDetected {
            contact: "Carol".into(),
            detail: "secret detail".into(),
        };
        let shown = text(&notice_for(&event, &Facts::default()));
        assert!(
            shown.starts_with("Key or pad reuse detected with Carol"),
            "{shown}"
        );
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn other_events_are_not_announced() {
        for event in [
            NodeEvent::Started,
            NodeEvent::Stopping,
            NodeEvent::MessageDelivered { message_id: 4 },
            NodeEvent::TransferProgress {
                transfer_id: "ab".repeat(16),
                bytes_done: 1,
                size: 2,
            },
        ] {
            assert_eq!(notice_for(&event, &Facts::default()), None, "{event:?}");
        }
    }

    #[tokio::test]
    async fn each_message_is_announced_once_and_old_ones_never() {
        use zks_node::{DataDir, Mode, NodeConfig};
        use zks_testkit::QUICKNET;
        let base = std::env::temp_dir().join(format!("zks-desktop-notify-{}", std::process::id()));
        let start = |name: &str| {
            let home = base.join(name);
            async move {
                Node::start(NodeConfig {
                    data_dir: DataDir::at(&home).unwrap(),
                    unlock: zks_node::Unlock::passphrase("test passphrase"),
                })
                .await
                .unwrap()
            }
        };
        let (alice, bob) = (start("alice").await, start("bob").await);
        let invite = alice.create_invite(Some("Alice"), 3600).unwrap();
        let accepted = bob.accept_invite(invite.text.as_bytes(), None).unwrap();
        alice
            .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
            .unwrap();
        for n in [&alice, &bob] {
            n.import_beacons("quicknet", QUICKNET).unwrap();
        }
        let deliver = |text: &str| {
            let sealed = bob.seal("Alice", text.as_bytes(), Mode::Grid).unwrap();
            alice.open(&sealed.envelope).unwrap();
        };
        let received = NodeEvent::MessageReceived { from: "Bob".into() };

        // A message there before the app started is not news.
        deliver("before");
        let mut notifier = Notifier::new(alice.clone());
        assert_eq!(notifier.facts(&received), Facts::default());

        deliver("hello");
        let facts = notifier.facts(&received);
        assert_eq!(facts.new_message_kind.as_deref(), Some("text"));
        assert_eq!(
            text(&notice_for(&received, &facts)),
            "New message from Bob | Open ZKS Entropy Grid to read it."
        );
        // The same event again (say, after a bookkeeping message) announces nothing.
        assert_eq!(notifier.facts(&received), Facts::default());
        // A finished transfer the node does not know reads as no transfer.
        let finished = NodeEvent::TransferFinished {
            transfer_id: "00".repeat(16),
            state: TransferState::Failed,
            error: None,
        };
        assert_eq!(notifier.facts(&finished).transfer, None);

        // The settings' switch: on by default, off when the person says so.
        assert!(wanted(&alice));
        let mut settings = alice.settings().unwrap();
        settings.notifications = false;
        alice.save_settings(&settings).unwrap();
        assert!(!wanted(&alice));

        for n in [&alice, &bob] {
            n.stop().await;
        }
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn sizes_read_like_the_window_shows_them() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1024), "1.0 KiB");
        assert_eq!(format_bytes(2_500_000), "2.4 MiB");
        assert_eq!(format_bytes(5 << 30), "5.0 GiB");
    }
}
