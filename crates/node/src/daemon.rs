//! The presence of a running daemon in a home: `<home>/daemon.json` holds its
//! process id, PeerId and listen addresses while it runs. Other processes on
//! the same home read it to put the daemon's addresses into pairing codes and
//! to know that queued messages will be delivered by it (the outbox in the
//! shared database is the hand-over; SQLite's WAL mode lets both write).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Node, NodeError};

/// What a running daemon publishes about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DaemonInfo {
    /// Its process id.
    pub pid: u32,
    /// Its PeerId.
    pub peer_id: String,
    /// The addresses it listens on (with `/p2p/<peer id>`).
    pub addresses: Vec<String>,
}

impl Node {
    fn daemon_file(&self) -> PathBuf {
        self.data_dir().path().join("daemon.json")
    }

    /// Announces that this process is the home's daemon.
    pub fn publish_daemon(&self, info: &DaemonInfo) -> Result<(), NodeError> {
        let path = self.daemon_file();
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(info).map_err(|e| NodeError::Io(e.to_string()))?;
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| NodeError::Io(format!("cannot write {}: {e}", path.display())))
    }

    /// Withdraws the announcement (on a clean exit).
    pub fn withdraw_daemon(&self) {
        let _ = std::fs::remove_file(self.daemon_file());
    }

    /// The running daemon of this home, if its process is alive.
    pub fn running_daemon(&self) -> Option<DaemonInfo> {
        let text = std::fs::read_to_string(self.daemon_file()).ok()?;
        let info: DaemonInfo = serde_json::from_str(&text).ok()?;
        process_alive(info.pid).then_some(info)
    }

    /// Addresses to put into pairing codes: the running daemon's, if any.
    pub(crate) fn advertised_addresses(&self) -> Vec<String> {
        self.running_daemon()
            .map(|d| d.addresses)
            .unwrap_or_default()
    }
}

/// Whether a process exists (Linux and other systems with /proc; elsewhere
/// the file is trusted, and a stale one only means codes carry old addresses).
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    if proc.is_dir() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataDir, NodeConfig};

    #[tokio::test]
    async fn a_daemon_is_seen_only_while_its_process_lives() {
        let tmp = tempfile::tempdir().unwrap();
        let node = Node::start(NodeConfig {
            data_dir: DataDir::at(tmp.path()).unwrap(),
        })
        .await
        .unwrap();
        assert_eq!(node.running_daemon(), None);
        let me = DaemonInfo {
            pid: std::process::id(),
            peer_id: "p".into(),
            addresses: vec!["/ip4/127.0.0.1/tcp/1".into()],
        };
        node.publish_daemon(&me).unwrap();
        assert_eq!(node.running_daemon(), Some(me.clone()));
        assert_eq!(node.advertised_addresses(), me.addresses);
        let dead = DaemonInfo {
            pid: u32::MAX - 1,
            ..me
        };
        node.publish_daemon(&dead).unwrap();
        assert_eq!(
            node.running_daemon(),
            None,
            "a stale file from a dead process is ignored"
        );
        node.withdraw_daemon();
        assert_eq!(node.running_daemon(), None);
    }
}
