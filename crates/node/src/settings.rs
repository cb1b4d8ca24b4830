//! The user's settings, stored in the home's database: what the grid
//! fetches and gives, where it connects, notifications. Every change is
//! checked as a whole before anything is stored.

use serde::{Deserialize, Serialize};

use crate::{Node, NodeError};

/// The settings key in the store.
const KEY: &str = "app";

/// Public drand HTTP endpoints (League of Entropy), used when the user set
/// none. Only contacted when the node fetches beacons (seeding, or the
/// binding keeper when no connected peer has a round of the last minute).
pub const DEFAULT_DRAND_URLS: [&str; 4] = [
    "https://api.drand.sh",
    "https://api2.drand.sh",
    "https://api3.drand.sh",
    "https://drand.cloudflare.com",
];

/// The public IPFS bootstrap peers (kubo's default list): the way into the
/// Amino DHT, where the grid's seeders, contacts and relays are found. A
/// fresh home starts with them; an empty list is a private grid.
pub const DEFAULT_BOOTSTRAP: [&str; 6] = [
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
    "/ip4/104.131.131.82/udp/4001/quic-v1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
];

/// Smallest beacon-cache budget accepted (one chunk file of a G2 chain is
/// about 3 MiB).
pub const MIN_CACHE_BUDGET: u64 = 64 << 20;

/// Longest inactivity before the desktop app locks a passphrase home (a day).
const MAX_AUTO_LOCK_MINUTES: u32 = 24 * 60;

/// Everything the user can set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Keep following and serving the chains (seeding).
    pub seeding: bool,
    /// Chains to seed, by name or hash.
    pub chains: Vec<String>,
    /// Peers to connect to first (multiaddresses with `/p2p/…`): public
    /// Amino DHT servers ([`DEFAULT_BOOTSTRAP`]), grid seeders, or both.
    /// Empty: a private grid (only LAN peers, contacts and peers added).
    pub bootstrap: Vec<String>,
    /// drand HTTP API base URLs.
    pub drand_urls: Vec<String>,
    /// IPFS trustless gateways for complete chunks.
    pub gateways: Vec<String>,
    /// Upload cap: beacon rounds served to peers per second (`None`: no cap).
    pub upload_rounds_per_sec: Option<u64>,
    /// Disk cap of the beacon cache in bytes (pinned ranges are kept).
    pub cache_budget_bytes: u64,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Desktop notifications for messages and files.
    pub notifications: bool,
    /// TCP and QUIC port to listen on when no address is given (0: pick one
    /// at the first start and keep it, so contacts find this device at the
    /// same address after a restart).
    pub listen_port: u16,
    /// Minutes without use after which the desktop app locks a passphrase
    /// home (0: never; at most 1440, a day). Keyring homes
    /// ignore it: they have no passphrase to lock with.
    pub auto_lock_minutes: u32,
    /// Disk cap, in MiB, of the mailboxes this device holds for others
    /// while seeding and publicly reachable (0: hold none).
    pub mailbox_cap_mb: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            seeding: false,
            chains: vec!["quicknet".into()],
            bootstrap: DEFAULT_BOOTSTRAP.iter().map(|s| (*s).to_owned()).collect(),
            drand_urls: DEFAULT_DRAND_URLS.iter().map(|s| (*s).to_owned()).collect(),
            gateways: Vec::new(),
            upload_rounds_per_sec: None,
            cache_budget_bytes: 4 << 30,
            mdns: true,
            notifications: true,
            listen_port: 0,
            auto_lock_minutes: 0,
            mailbox_cap_mb: 1024,
        }
    }
}

/// The largest mailbox cap, in MiB (1 TiB).
pub const MAX_MAILBOX_CAP_MB: u64 = 1 << 20;

fn bad(message: String) -> NodeError {
    NodeError::BadInput(message)
}

fn check_urls(what: &str, urls: &[String]) -> Result<(), NodeError> {
    for url in urls {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= 2048
            && !url.chars().any(char::is_whitespace)
            && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
        if !ok {
            return Err(bad(format!(
                "{what}: {url:?} is not an http:// or https:// URL"
            )));
        }
    }
    Ok(())
}

impl Settings {
    /// The bootstrap peers to dial: all of them, except that under
    /// `ZKS_LOOPBACK_ONLY=1` (the test command) the public
    /// [`DEFAULT_BOOTSTRAP`] peers are left out, as tests never leave this
    /// machine.
    pub fn bootstrap_peers(&self) -> Vec<libp2p::Multiaddr> {
        let loopback = crate::reach::loopback_only();
        self.bootstrap
            .iter()
            .filter(|a| !(loopback && DEFAULT_BOOTSTRAP.contains(&a.as_str())))
            .filter_map(|a| a.parse().ok())
            .collect()
    }

    /// Whether this is a private grid: no bootstrap peers at all.
    pub fn private_grid(&self) -> bool {
        self.bootstrap.is_empty()
    }

    /// Checks every field; the first problem is the error.
    pub fn validate(&self, node: &Node) -> Result<(), NodeError> {
        if self.chains.is_empty() {
            return Err(bad("choose at least one chain to seed".into()));
        }
        for chain in &self.chains {
            let is_hash = chain.len() == 64 && chain.chars().all(|c| c.is_ascii_hexdigit());
            if !is_hash && node.chain(chain).is_err() {
                return Err(bad(format!(
                    "chains: {chain:?} is neither a known chain name nor a 64-digit chain hash"
                )));
            }
        }
        for peer in &self.bootstrap {
            let addr: libp2p::Multiaddr = peer
                .parse()
                .map_err(|_| bad(format!("bootstrap: {peer:?} is not a multiaddress")))?;
            if !addr
                .iter()
                .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
            {
                return Err(bad(format!(
                    "bootstrap: {peer:?} must end with /p2p/<peer id>"
                )));
            }
        }
        check_urls("drand URLs", &self.drand_urls)?;
        check_urls("gateways", &self.gateways)?;
        if self.upload_rounds_per_sec == Some(0) {
            return Err(bad(
                "upload cap: 0 rounds per second would serve nothing; turn seeding off instead"
                    .into(),
            ));
        }
        if self.cache_budget_bytes < MIN_CACHE_BUDGET {
            return Err(bad(format!(
                "the beacon cache needs at least {} MiB",
                MIN_CACHE_BUDGET >> 20
            )));
        }
        if self.mailbox_cap_mb > MAX_MAILBOX_CAP_MB {
            return Err(bad(format!(
                "mailbox cap: {} MiB is more than {MAX_MAILBOX_CAP_MB} MiB (1 TiB); choose less, or 0 to hold no mailboxes",
                self.mailbox_cap_mb
            )));
        }
        if self.auto_lock_minutes > MAX_AUTO_LOCK_MINUTES {
            return Err(bad(format!(
                "auto-lock: {} minutes is too long; choose at most {MAX_AUTO_LOCK_MINUTES} (a day), or 0 for never",
                self.auto_lock_minutes
            )));
        }
        Ok(())
    }
}

impl Node {
    /// The settings (defaults for anything never set).
    pub fn settings(&self) -> Result<Settings, NodeError> {
        self.with_store(|store| Ok(store.setting::<Settings>(KEY)?.unwrap_or_default()))
    }

    /// Checks and stores `settings` as a whole; a bad field changes nothing.
    /// Seeding is switched on or off at once if the node is online; the
    /// network sources and caps apply the next time it goes online.
    pub fn save_settings(&self, settings: &Settings) -> Result<Settings, NodeError> {
        settings.validate(self)?;
        self.with_store_mut(|store| Ok(store.set_setting(KEY, settings)?))?;
        self.apply_seeding(settings.seeding);
        Ok(settings.clone())
    }

    /// Turns seeding on or off (stored, and applied at once when online).
    pub fn set_seeding(&self, on: bool) -> Result<Settings, NodeError> {
        let mut settings = self.settings()?;
        settings.seeding = on;
        self.save_settings(&settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settings_round_trip_and_bad_ones_change_nothing() {
        let home = tempfile::tempdir().unwrap();
        let node = Node::start(crate::NodeConfig {
            data_dir: crate::DataDir::at(home.path()).unwrap(),
            unlock: crate::Unlock::passphrase("test passphrase"),
        })
        .await
        .unwrap();
        assert_eq!(node.settings().unwrap(), Settings::default());
        let s = Settings {
            seeding: true,
            bootstrap: vec![
                "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGmWKUoeSLLdTcPZzKrCCExV8hRvafaRVT54GkBVvbg1u"
                    .into(),
            ],
            drand_urls: vec!["http://127.0.0.1:8080".into()],
            upload_rounds_per_sec: Some(5000),
            ..Settings::default()
        };
        node.save_settings(&s).unwrap();
        assert_eq!(node.settings().unwrap(), s);

        type Change = Box<dyn Fn(&mut Settings)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|s| s.chains.clear()), "at least one chain"),
            (
                Box::new(|s| s.chains = vec!["nope".into()]),
                "neither a known chain",
            ),
            (
                Box::new(|s| s.bootstrap = vec!["not an address".into()]),
                "not a multiaddress",
            ),
            (
                Box::new(|s| s.bootstrap = vec!["/ip4/1.2.3.4/tcp/1".into()]),
                "/p2p/",
            ),
            (
                Box::new(|s| s.drand_urls = vec!["ftp://x".into()]),
                "drand URLs",
            ),
            (
                Box::new(|s| s.gateways = vec!["https://".into()]),
                "gateways",
            ),
            (
                Box::new(|s| s.upload_rounds_per_sec = Some(0)),
                "upload cap",
            ),
            (Box::new(|s| s.cache_budget_bytes = 1024), "at least 64 MiB"),
            (
                Box::new(|s| s.auto_lock_minutes = MAX_AUTO_LOCK_MINUTES + 1),
                "auto-lock: 1441 minutes",
            ),
            (Box::new(|s| s.auto_lock_minutes = u32::MAX), "at most 1440"),
            (
                Box::new(|s| s.mailbox_cap_mb = MAX_MAILBOX_CAP_MB + 1),
                "mailbox cap",
            ),
        ];
        for (change, needle) in cases {
            let mut bad = s.clone();
            change(&mut bad);
            let err = node.save_settings(&bad).unwrap_err();
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
            assert_eq!(node.settings().unwrap(), s, "nothing changed");
        }
        assert!(!node.set_seeding(false).unwrap().seeding);
        assert!(!node.settings().unwrap().seeding);

        // The bounds themselves are accepted.
        for minutes in [0, 15, MAX_AUTO_LOCK_MINUTES] {
            let s = Settings {
                auto_lock_minutes: minutes,
                ..node.settings().unwrap()
            };
            assert_eq!(node.save_settings(&s).unwrap().auto_lock_minutes, minutes);
            assert_eq!(node.settings().unwrap().auto_lock_minutes, minutes);
        }
    }

    #[test]
    fn settings_stored_before_auto_lock_still_load() {
        // As an older build stored them: every field but auto_lock_minutes.
        let old = serde_json::json!({
            "seeding": true, "chains": ["quicknet"], "bootstrap": [],
            "drand_urls": ["http://127.0.0.1:8080"], "gateways": [],
            "upload_rounds_per_sec": 5000, "cache_budget_bytes": 67108864u64,
            "mdns": false, "notifications": true, "listen_port": 40123
        });
        let s: Settings = serde_json::from_value(old).unwrap();
        assert_eq!(s.auto_lock_minutes, 0, "never, unless set");
        assert!(s.seeding);
        assert_eq!(s.listen_port, 40123);
        // Unknown fields are still refused, and a negative or non-number
        // value (e.g. from `zks settings set`) does not parse.
        let mut with = serde_json::to_value(&s).unwrap();
        with["auto_lock_minutes"] = serde_json::json!(15);
        let parsed: Settings = serde_json::from_value(with.clone()).unwrap();
        assert_eq!(parsed.auto_lock_minutes, 15);
        for bad in [
            serde_json::json!(-1),
            serde_json::json!("soon"),
            serde_json::json!(1.5),
        ] {
            let mut v = with.clone();
            v["auto_lock_minutes"] = bad;
            assert!(serde_json::from_value::<Settings>(v).is_err());
        }
        with["auto_lock_after"] = serde_json::json!(15);
        assert!(serde_json::from_value::<Settings>(with).is_err());
    }
}
