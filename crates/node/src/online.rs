//! Going online: the one way the daemon, `zks send` and the desktop app
//! start this home's swarm, with message delivery, file transfer and (when
//! asked) the grid on top; and serving a home as its daemon, announced in
//! `daemon.json` (see `daemon`) with live grid figures for other processes.

use std::time::Duration;

use futures::channel::mpsc;
use zks_grid::swarm::SwarmClient;

use crate::daemon::write_atomically;
use crate::reach::{listen_on_port, loopback_only};
use crate::{DaemonInfo, Node, NodeError};

/// How often a serving process refreshes `daemon.json`.
const REFRESH: Duration = Duration::from_secs(5);

/// How a home goes online.
#[derive(Debug, Clone, Default)]
pub struct OnlineConfig {
    /// Addresses to listen on; empty: all interfaces, TCP and QUIC, any port.
    pub listen: Vec<libp2p::Multiaddr>,
    /// Grid peers to connect to first.
    pub bootstrap: Vec<libp2p::Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Accept every file offer as it arrives.
    pub auto_accept_files: bool,
    /// Run the grid too: the settings' sources and seeding (the daemon and
    /// the app; one-shot commands leave it off).
    pub grid: bool,
}

impl Node {
    /// Starts this home's swarm (serving the built-in chains from its cache)
    /// with message delivery on: the one way the daemon, `zks send` and the
    /// desktop app go online.
    pub async fn go_online(&self, config: OnlineConfig) -> Result<SwarmClient, NodeError> {
        self.set_auto_accept_files(config.auto_accept_files);
        let settings = self.settings()?;
        let (tx, rx) = mpsc::channel(zks_grid::swarm::INBOUND_QUEUE);
        let cache = zks_grid::BeaconCache::open(&self.cache_dir(), settings.cache_budget_bytes)
            .map_err(NodeError::grid)?;
        let chains = settings
            .chains
            .iter()
            .chain(["quicknet".to_owned(), "default".to_owned()].iter())
            .filter_map(|c| self.chain(c).ok())
            .fold(Vec::new(), |mut all: Vec<zks_beacon::ChainInfo>, c| {
                if !all.iter().any(|k| k.hash == c.hash) {
                    all.push(c);
                }
                all
            });
        // Without explicit addresses, listen on the home's own port (chosen
        // once, then kept) so contacts find this device again after a
        // restart; if it is taken now, on any port.
        let stable = config.listen.is_empty();
        let loopback = loopback_only();
        let listen = if stable {
            listen_on_port(settings.listen_port)
        } else {
            config.listen
        };
        let mdns = config.mdns && !loopback;
        let mut bootstrap = config.bootstrap;
        for peer in settings.bootstrap_peers() {
            if !bootstrap.contains(&peer) {
                bootstrap.push(peer);
            }
        }
        let cache = std::sync::Arc::new(cache);
        let keypair = self.libp2p_keypair()?;
        // The daemon and the app may host mailboxes for others (offered
        // only while seeding and publicly reachable); one-shot commands not.
        let hosted = if config.grid {
            match self.open_mailboxes() {
                Ok(store) => Some(store),
                Err(e) => {
                    tracing::warn!("not hosting mailboxes: {e}");
                    None
                }
            }
        } else {
            None
        };
        let swarm_config = |listen: Vec<libp2p::Multiaddr>| zks_grid::SwarmConfig {
            listen,
            bootstrap: bootstrap.clone(),
            chains: chains.clone(),
            mdns,
            serve_rounds_per_sec: settings.upload_rounds_per_sec,
            direct: crate::wire::direct_protocols(),
            inbound: Some(tx.clone()),
            mailbox: hosted.clone(),
            ..zks_grid::SwarmConfig::new(keypair.clone())
        };
        let started = match zks_grid::swarm::start(swarm_config(listen), cache.clone()).await {
            Err(e) if stable && settings.listen_port != 0 => {
                tracing::warn!(
                    port = settings.listen_port,
                    "cannot listen on this home's port ({e}); using another"
                );
                zks_grid::swarm::start(swarm_config(listen_on_port(0)), cache).await
            }
            other => other,
        };
        let client = started.map_err(NodeError::grid)?;
        if stable {
            self.keep_listen_port(&client, settings.listen_port).await;
        }
        if let Ok(mut swarm) = self.inner.swarm.lock() {
            *swarm = Some(client.clone());
        }
        self.run_messaging(client.clone(), rx);
        self.run_mailboxes(client.clone(), hosted);
        self.run_rendezvous(client.clone());
        if config.grid {
            self.start_grid(client.clone()).await?;
        }
        Ok(client)
    }
}

impl Node {
    /// The swarm of this node while it is online.
    pub(crate) fn online_swarm(&self) -> Option<SwarmClient> {
        self.inner.swarm.lock().ok()?.clone()
    }

    /// Stores the TCP port the swarm got, when it is not the stored one.
    async fn keep_listen_port(&self, client: &SwarmClient, stored: u16) {
        let port = listen_addresses(client).await.iter().find_map(|a| {
            a.parse::<libp2p::Multiaddr>()
                .ok()?
                .iter()
                .find_map(|p| match p {
                    libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
                    _ => None,
                })
        });
        if let Some(port) = port.filter(|p| *p != stored)
            && let Ok(mut settings) = self.settings()
        {
            settings.listen_port = port;
            let _ = self.with_store_mut(|store| Ok(store.set_setting("app", &settings)?));
        }
    }
}

/// The swarm's listen addresses, waiting up to 2 s for the first; empty if
/// none came.
pub async fn listen_addresses(client: &SwarmClient) -> Vec<String> {
    for _ in 0..100 {
        match client.listen_addrs().await {
            Ok(addrs) if !addrs.is_empty() => {
                return addrs.iter().map(ToString::to_string).collect();
            }
            Ok(_) => {}
            Err(_) => return Vec::new(),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Vec::new()
}

impl Node {
    /// Brings the home online as its daemon (the `zks daemon` command and the
    /// desktop app): messaging, files and the grid with the settings'
    /// sources and seeding, announced in `daemon.json` with live grid
    /// figures refreshed every 5 s for other processes (`zks status`).
    pub async fn serve_home(
        &self,
        config: crate::OnlineConfig,
    ) -> Result<(zks_grid::SwarmClient, DaemonInfo), NodeError> {
        let client = self
            .go_online(crate::OnlineConfig {
                grid: true,
                ..config
            })
            .await?;
        let addresses = crate::listen_addresses(&client).await;
        if addresses.is_empty() {
            return Err(NodeError::Io("the network did not start listening".into()));
        }
        let info = DaemonInfo {
            pid: std::process::id(),
            peer_id: client.peer_id().to_string(),
            addresses,
        };
        self.publish_daemon(&info)?;
        let node = self.clone();
        let swarm = client.clone();
        let mut published = info.clone();
        self.spawn_until_stopped(async move {
            loop {
                // Stop once the node stopped or another process took over.
                if node
                    .running_daemon()
                    .is_none_or(|d| d.pid != std::process::id())
                {
                    return;
                }
                let Some(live) = node.live_grid().await else {
                    return;
                };
                if write_atomically(&node.live_file(), &live).is_err() {
                    return;
                }
                // Addresses change (a relay slot won or lost): pairing
                // codes made from now on carry the new ones.
                let addresses = crate::listen_addresses(&swarm).await;
                if !addresses.is_empty() && addresses != published.addresses {
                    published.addresses = addresses;
                    if node.publish_daemon(&published).is_err() {
                        return;
                    }
                }
                tokio::time::sleep(REFRESH).await;
            }
        });
        Ok((client, info))
    }
}
