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

    pub(crate) fn live_file(&self) -> PathBuf {
        self.data_dir().path().join("live.json")
    }

    /// Announces that this process is the home's daemon.
    pub fn publish_daemon(&self, info: &DaemonInfo) -> Result<(), NodeError> {
        write_atomically(&self.daemon_file(), info)
    }

    /// What the home's running daemon (or app) last reported of its grid.
    pub fn running_grid(&self) -> Option<crate::status::LiveGrid> {
        self.running_daemon()?;
        let text = std::fs::read_to_string(self.live_file()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Withdraws the announcement (on a clean exit).
    pub fn withdraw_daemon(&self) {
        let _ = std::fs::remove_file(self.daemon_file());
        let _ = std::fs::remove_file(self.live_file());
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

/// Writes `value` as JSON to a temporary file, then renames it over `path`,
/// so readers never see half a file.
pub(crate) fn write_atomically<T: Serialize>(
    path: &std::path::Path,
    value: &T,
) -> Result<(), NodeError> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value).map_err(|e| NodeError::Io(e.to_string()))?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| NodeError::Io(format!("cannot write {}: {e}", path.display())))
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

    async fn started(tmp: &tempfile::TempDir) -> Node {
        crate::test_support::started(tmp.path()).await
    }

    #[tokio::test]
    async fn a_daemon_is_seen_only_while_its_process_lives() {
        let tmp = tempfile::tempdir().unwrap();
        let node = started(&tmp).await;
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

    /// Stopping an online node takes it off the network: its tasks end,
    /// the swarm closes its listeners and the port can be bound again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_node_releases_its_listening_port() {
        let tmp = tempfile::tempdir().unwrap();
        let node = started(&tmp).await;
        let config = crate::OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..crate::OnlineConfig::default()
        };
        let (client, info) = node.serve_home(config).await.unwrap();
        drop(client);
        let port: u16 = info
            .addresses
            .iter()
            .find_map(|a| a.split("/tcp/").nth(1)?.split('/').next()?.parse().ok())
            .unwrap();
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
            "listening"
        );
        node.withdraw_daemon();
        node.stop().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "port {port} still held after stop"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
