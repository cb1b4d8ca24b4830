//! A real NAT in Linux network namespaces, real `zks daemon` processes.
//!
//! ```text
//!   public ns: S 10.77.1.2:4001 (seeder, relay server, --external)
//!              B 10.77.1.2:4002            default route → router
//!        │ veth
//!   router ns: 10.77.1.1 | 10.77.2.1   forwarding; nftables: masquerade
//!        │ veth                        out of the public side, and only
//!   private ns: A 10.77.2.2:4003       replies (ct established) come in
//!
//!   two NATs: B instead at 10.77.4.2:4002 behind a second router
//!             (10.77.3.1 on the public ns's 10.77.3.2, which forwards)
//! ```
//!
//! A can dial out, nobody can dial A. A is started with S as its only
//! bootstrap peer and nothing else: it must find out by itself that it is
//! not reachable, reserve a slot on S and advertise the relayed address;
//! B (paired with A through the codes, which carry that address) then
//! delivers a message to A through S. A second run opens the NAT to all
//! outbound connections (a home router): there A dials B directly once B
//! reached it through S (connection reversal), and B reaches A after S is
//! gone. A third run puts B behind a home router of its own: DCUtR punches
//! a hole through both NATs. Needs root (namespaces, nftables): real root
//! (CI), or root of a user namespace (`scripts/root-tests.sh`, which
//! `scripts/test.sh` uses for other users); without it the test fails with
//! that reason.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{PASSPHRASE, Running, ok, quicknet};

const S_ADDR: &str = "/ip4/10.77.1.2/tcp/4001";
const B_ADDR: &str = "/ip4/10.77.1.2/tcp/4002";
const A_ADDR: &str = "/ip4/10.77.2.2/tcp/4003";
const O_ADDR: &str = "/ip4/10.77.1.2/tcp/4004";
const B2_ADDR: &str = "/ip4/10.77.4.2/tcp/4002";

/// Runs `ip ARGS…`, panicking with its stderr on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Three namespaces (public, router, private) with a masquerading router
/// between public and private; unique names per run, deleted on drop
/// (which removes their veths and nftables rules with them).
struct Nat {
    public: String,
    router: String,
    private: String,
    /// With [`Topology::TwoNats`]: B's own router and private side.
    router2: Option<String>,
    private2: Option<String>,
}

/// Where A may connect to and where B lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topology {
    /// A may open connections to S only; B is public.
    Closed,
    /// A may open connections to anyone (a home router); B is public.
    HomeRouter,
    /// A and B each behind a home router of their own (B at 10.77.4.2,
    /// its router at 10.77.3.1 on the public side).
    TwoNats,
}

impl Nat {
    fn new(topology: Topology) -> Nat {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "zn{}x{}",
            std::process::id() % 100_000,
            RUN.fetch_add(1, Ordering::Relaxed)
        );
        let two = topology == Topology::TwoNats;
        let nat = Nat {
            public: format!("{tag}-pub"),
            router: format!("{tag}-rtr"),
            private: format!("{tag}-prv"),
            router2: two.then(|| format!("{tag}-rt2")),
            private2: two.then(|| format!("{tag}-pv2")),
        };
        ip(&["netns", "add", &nat.public]);
        ip(&["-n", &nat.public, "link", "set", "lo", "up"]);
        let outbound = match topology {
            Topology::Closed => "ip daddr 10.77.1.2 tcp dport 4001",
            Topology::HomeRouter | Topology::TwoNats => "",
        };
        nat.site(&tag, 1, &nat.router, &nat.private, outbound, two);
        if let (Some(router2), Some(private2)) = (&nat.router2, &nat.private2) {
            nat.site(&tag, 2, router2, private2, "", true);
            // Between the two routers packets cross the public namespace.
            nat.exec(&nat.public, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        }
        // The public side routes everything else to the first router (as
        // the internet would route the router's address), so dialing A's
        // private address is dropped at the NAT, not refused locally.
        ip(&[
            "-n",
            &nat.public,
            "route",
            "add",
            "default",
            "via",
            "10.77.1.1",
        ]);
        nat
    }

    /// Site `n` (1 or 2): `router` on the public namespace's 10.77.(2n-1).0/24
    /// (router .1, public namespace .2) and the private 10.77.2n.0/24
    /// (router .1, the host in `private` .2). The router forwards and
    /// masquerades out of its public side; from the private side it lets
    /// out what `outbound` matches (nftables, "" for everything), and in
    /// only replies. With `quiet`, unasked-for packets to the router itself
    /// are dropped without an answer, as home routers do (a kernel answers a
    /// SYN to a closed port with a RST, which ends a hole punch before the
    /// other side's SYN comes in).
    fn site(&self, tag: &str, n: u8, router: &str, private: &str, outbound: &str, quiet: bool) {
        for ns in [router, private] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        let (pub_if, rtr_pub, rtr_prv, prv_if) = (
            format!("{tag}p{n}"),
            format!("{tag}r{n}a"),
            format!("{tag}r{n}b"),
            format!("{tag}h{n}"),
        );
        for (a, a_ns, b, b_ns) in [
            (&rtr_pub, router, &pub_if, self.public.as_str()),
            (&rtr_prv, router, &prv_if, private),
        ] {
            ip(&[
                "link", "add", "name", a, "netns", a_ns, "type", "veth", "peer", "name", b,
                "netns", b_ns,
            ]);
        }
        let (outer, inner) = (2 * n - 1, 2 * n);
        for (ns, dev, addr) in [
            (self.public.as_str(), &pub_if, format!("10.77.{outer}.2/24")),
            (router, &rtr_pub, format!("10.77.{outer}.1/24")),
            (router, &rtr_prv, format!("10.77.{inner}.1/24")),
            (private, &prv_if, format!("10.77.{inner}.2/24")),
        ] {
            ip(&["-n", ns, "addr", "add", &addr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        let (out_gw, in_gw) = (format!("10.77.{outer}.2"), format!("10.77.{inner}.1"));
        ip(&["-n", router, "route", "add", "default", "via", &out_gw]);
        ip(&["-n", private, "route", "add", "default", "via", &in_gw]);
        self.exec(router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        let quiet = if quiet {
            "chain quiet { type filter hook input priority filter; policy drop;
                 ct state established,related accept
                 iifname \"lo\" accept
               }"
        } else {
            ""
        };
        let rules = format!(
            "table ip zksnat {{
               chain postrouting {{ type nat hook postrouting priority srcnat; oifname \"{rtr_pub}\" masquerade; }}
             }}
             table inet zksfw {{
               chain through {{ type filter hook forward priority filter; policy drop;
                 ct state established,related accept
                 iifname \"{rtr_prv}\" oifname \"{rtr_pub}\" {outbound} accept
               }}
               {quiet}
             }}"
        );
        let rules_file = std::env::temp_dir().join(format!("{tag}-{n}.nft"));
        std::fs::write(&rules_file, rules).expect("rules file");
        self.exec(router, &["nft", "-f", rules_file.to_str().expect("path")]);
        let _ = std::fs::remove_file(rules_file);
    }

    /// The namespace B runs in.
    fn b_ns(&self) -> &str {
        self.private2.as_deref().unwrap_or(&self.public)
    }

    /// Runs a command inside `ns` to completion, which must succeed.
    fn exec(&self, ns: &str, args: &[&str]) -> Output {
        let out = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert!(
            out.status.success(),
            "{args:?} in {ns}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Gives the host in `ns` another address (`cidr`), as a laptop that
    /// moved to another network gets one.
    fn add_host_address(&self, ns: &str, cidr: &str) {
        let links = self.exec(ns, &["ip", "-o", "link", "show"]);
        let links = String::from_utf8_lossy(&links.stdout);
        let dev = links
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|d| d.split('@').next().unwrap_or(d))
            .find(|d| *d != "lo")
            .expect("the host's veth")
            .to_owned();
        ip(&["-n", ns, "addr", "add", cidr, "dev", &dev]);
    }

    /// Whether a TCP connection from `ns` to `host:port` opens within 3 s.
    fn connects(&self, ns: &str, host: &str, port: u16) -> bool {
        Command::new("ip")
            .args(["netns", "exec", ns, "timeout", "3", "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{host}/{port}"))
            .stderr(Stdio::null())
            .status()
            .expect("bash")
            .success()
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        let second = [&self.private2, &self.router2];
        for ns in second.into_iter().flatten() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        for ns in [&self.private, &self.router, &self.public] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The `zks` binary run inside `ns`, with the environment of the other
/// CLI tests (`common::zks`).
fn zks_in(ns: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_zks")])
        .env_remove("ZKS_HOME")
        .env_remove("ZKS_NEW_PASSPHRASE")
        .env_remove("ZKS_BACKUP_PASSPHRASE")
        .env("ZKS_PASSPHRASE", PASSPHRASE)
        .env("ZKS_TEST_WEAK_KDF", "1")
        .env("ZKS_LOOPBACK_ONLY", "1")
        .env(
            "RUST_LOG",
            "warn,zks_grid::swarm=info,zks_node::rendezvous=info",
        );
    c
}

fn run_in(ns: &str, home: &Path, args: &[&str]) -> Output {
    zks_in(ns)
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("run zks")
}

/// Starts `zks daemon` for `home` inside `ns` with `args`, its log in
/// `log`; returns it with its PeerId once it listens.
fn daemon_in(ns: &str, home: &Path, args: &[&str], log: &Path) -> (Running, String) {
    let mut child = zks_in(ns)
        .arg("--home")
        .arg(home)
        .args(["daemon", "--run-for", "300"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn the daemon");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut peer = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("daemon ") {
            peer = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.starts_with("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let peer = peer.unwrap_or_else(|| {
        panic!(
            "the daemon in {ns} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        )
    });
    (Running(child), peer)
}

/// The addresses `home`'s daemon publishes in `daemon.json`.
fn published(home: &Path) -> Vec<String> {
    std::fs::read_to_string(home.join("daemon.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v["addresses"].as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Polls `check` every 250 ms until it returns something or `limit` passes.
fn wait_until<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn inbox(ns: &str, home: &Path) -> Vec<serde_json::Value> {
    ok(&run_in(ns, home, &["inbox", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn log_lines(log: &Path, needle: &str) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// S (seeder, relay) and B on the public side, A behind the NAT (`open`:
/// A may dial anyone, else only S), each a running daemon; A has reserved
/// a slot on S by itself, A and B are paired through codes carrying A's
/// relayed address, and one message went each way, B's through S.
struct World {
    // Dropped in this order: the daemons die before their namespaces go.
    s_daemon: Option<Running>,
    _o_daemon: Option<Running>,
    _a_daemon: Running,
    _b_daemon: Running,
    nat: Nat,
    b_ns: String,
    a: PathBuf,
    b: PathBuf,
    tmp: tempfile::TempDir,
}

impl World {
    fn log(&self, n: &str) -> PathBuf {
        self.tmp.path().join(format!("{n}.log"))
    }

    /// Stops S; A is still not reachable from outside, yet B's message
    /// `text` reaches it (over a direct connection, then).
    fn relay_stops_and_b_still_reaches_a(&mut self, text: &str) {
        drop(self.s_daemon.take());
        assert!(!self.nat.connects(&self.b_ns, "10.77.2.2", 4003));
        ok(&run_in(&self.b_ns, &self.b, &["send", "Alice", text]));
        let delivered = wait_until(Duration::from_secs(30), || {
            inbox(&self.nat.private, &self.a)
                .iter()
                .any(|m| m["direction"] == "in" && m["text"] == text)
                .then_some(())
        });
        assert!(
            delivered.is_some(),
            "B's message after the relay stopped did not arrive:\n{}",
            self.logs()
        );
    }

    fn logs(&self) -> String {
        ["a", "b", "s", "o"]
            .iter()
            .map(|n| {
                format!(
                    "== {n}\n{}",
                    std::fs::read_to_string(self.log(n)).unwrap_or_default()
                )
            })
            .collect()
    }
}

fn through_the_relay(topology: Topology) -> World {
    // Like the disk-full tests: without root this fails loudly, never
    // passes by skipping.
    assert!(
        is_root(),
        "network namespaces and nftables need root: run as root, or through \
         scripts/test.sh, which gives this test root in a user namespace"
    );
    let tmp = tempfile::tempdir().unwrap();
    let home = |n: &str| -> PathBuf { tmp.path().join(n) };
    let (s, a, b) = (home("s"), home("a"), home("b"));
    let log = |n: &str| -> PathBuf { tmp.path().join(format!("{n}.log")) };
    let nat = Nat::new(topology);
    let open = topology != Topology::Closed;
    let b_ns = nat.b_ns().to_owned();

    // The NAT itself: A reaches the public side; nobody reaches A.
    ok(&run_in(
        &nat.public,
        &s,
        &["settings", "set", "seeding", "true"],
    ));
    let (ds, s_peer) = daemon_in(
        &nat.public,
        &s,
        &["--listen", S_ADDR, "--external", S_ADDR],
        &log("s"),
    );
    let s_full = format!("{S_ADDR}/p2p/{s_peer}");
    // Behind the home router, A would dial a public B by itself once S's
    // DHT named B; so there B knows only O, another public peer, and B's
    // first way to A is S's circuit. Behind its own NAT, B is like A.
    let (o_daemon, b_bootstrap) = if topology == Topology::HomeRouter {
        let (o, o_peer) = daemon_in(
            &nat.public,
            &home("o"),
            &["--listen", O_ADDR, "--external", O_ADDR],
            &log("o"),
        );
        (Some(o), format!("{O_ADDR}/p2p/{o_peer}"))
    } else {
        (None, s_full.clone())
    };
    let b_args: Vec<&str> = if topology == Topology::TwoNats {
        vec!["--listen", B2_ADDR, "--bootstrap", &b_bootstrap]
    } else {
        vec![
            "--listen",
            B_ADDR,
            "--external",
            B_ADDR,
            "--bootstrap",
            &b_bootstrap,
        ]
    };
    let (db, b_peer) = daemon_in(&b_ns, &b, &b_args, &log("b"));
    let (da, a_peer) = daemon_in(
        &nat.private,
        &a,
        &["--listen", A_ADDR, "--bootstrap", &s_full],
        &log("a"),
    );
    assert!(
        nat.connects(&nat.private, "10.77.2.2", 4003),
        "A listens (seen from its own side)"
    );
    assert!(
        nat.connects(&nat.private, "10.77.1.2", 4001),
        "A dials out to S"
    );
    assert!(
        !nat.connects(&nat.public, "10.77.2.2", 4003),
        "the public side must not reach A directly"
    );
    if topology != Topology::TwoNats {
        assert_eq!(
            nat.connects(&nat.private, "10.77.1.2", 4002),
            open,
            "A may open connections to S only, or to anyone"
        );
    }

    // A reserves a slot on S by itself and advertises the relayed address.
    let relayed = format!("{s_full}/p2p-circuit/p2p/{a_peer}");
    let found = wait_until(Duration::from_secs(90), || {
        published(&a).contains(&relayed).then_some(())
    });
    assert!(
        found.is_some(),
        "A published no relayed address: {:?} (live: {:?}, now {:?})\nA's log:\n{}",
        published(&a),
        std::fs::read_to_string(a.join("daemon.json")),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH),
        std::fs::read_to_string(log("a")).unwrap_or_default()
    );
    // S (and a public B) have a declared public address: they reserve
    // nothing.
    let public_homes = if topology == Topology::TwoNats {
        vec![&s]
    } else {
        vec![&s, &b]
    };
    for home in public_homes {
        assert!(
            !published(home).iter().any(|x| x.contains("/p2p-circuit")),
            "{:?}",
            published(home)
        );
    }

    // Pairing codes made now carry A's relayed address; B reaches A
    // through S (there is no other way in) and A answers over that
    // connection (it has no other way to B).
    let (inv, rep) = (tmp.path().join("inv.txt"), tmp.path().join("rep.txt"));
    let (inv, rep) = (inv.to_str().unwrap(), rep.to_str().unwrap());
    ok(&run_in(
        &nat.private,
        &a,
        &["pair", "invite", "--name", "Alice", "--out", inv],
    ));
    assert!(
        std::fs::read_to_string(inv).is_ok(),
        "the invite was written"
    );
    ok(&run_in(
        &b_ns,
        &b,
        &["pair", "accept", inv, "--as", "Alice", "--out", rep],
    ));
    let contacts: serde_json::Value =
        serde_json::from_str(&ok(&run_in(&b_ns, &b, &["contacts", "--json"]))).unwrap();
    let known: Vec<&str> = contacts[0]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(known.contains(&relayed.as_str()), "{known:?}");
    ok(&run_in(
        &nat.private,
        &a,
        &["pair", "finish", rep, "--as", "Bob"],
    ));
    for (ns, home) in [(&nat.private, &a), (&b_ns, &b)] {
        ok(&run_in(
            ns,
            home,
            &["beacon", "import", "--chain", "quicknet", &quicknet()],
        ));
    }
    ok(&run_in(&b_ns, &b, &["send", "Alice", "through the relay"]));
    let delivered = wait_until(Duration::from_secs(60), || {
        inbox(&nat.private, &a)
            .iter()
            .any(|m| m["direction"] == "in" && m["text"] == "through the relay")
            .then_some(())
    });
    assert!(
        delivered.is_some(),
        "B's message did not reach A: {:?}\nB's log:\n{}",
        inbox(&b_ns, &b),
        std::fs::read_to_string(log("b")).unwrap_or_default()
    );
    ok(&run_in(&nat.private, &a, &["send", "Bob", "back out"]));
    let answered = wait_until(Duration::from_secs(60), || {
        inbox(&b_ns, &b)
            .iter()
            .any(|m| m["direction"] == "in" && m["text"] == "back out")
            .then_some(())
    });
    assert!(answered.is_some(), "A's answer did not reach B");

    // The two met through S: B dialed A (A's relay client saw the circuit
    // come in). Between two NATs B has a relayed address too, and A, which
    // learnt it when the pairing finished, may dial B through S first; then
    // it is B's relay client that sees the circuit come in.
    let came_in = |home: &str, from: &str| {
        let line = format!("InboundCircuitEstablished {{ src_peer_id: PeerId(\"{from}\")");
        !log_lines(&log(home), &line).is_empty()
    };
    let met = came_in("a", &b_peer) || (topology == Topology::TwoNats && came_in("b", &a_peer));
    assert!(
        met,
        "no relayed circuit between A and B:\nA's log:\n{}\nB's log:\n{}",
        std::fs::read_to_string(log("a")).unwrap_or_default(),
        std::fs::read_to_string(log("b")).unwrap_or_default()
    );
    World {
        b_ns,
        s_daemon: Some(ds),
        _o_daemon: o_daemon,
        _a_daemon: da,
        _b_daemon: db,
        nat,
        a,
        b,
        tmp,
    }
}

#[test]
fn a_node_behind_a_nat_reserves_a_relay_slot_by_itself_and_is_reached_through_it() {
    let w = through_the_relay(Topology::Closed);
    // Still no way in from outside but the relay.
    assert!(!w.nat.connects(&w.nat.public, "10.77.2.2", 4003));
    // Hole punching (DCUtR) is tried on the relayed connection; with no
    // direct path either way it cannot succeed. Whether an attempt was
    // logged by now depends on timing, so it is only reported.
    let punched: Vec<String> = [w.log("a"), w.log("b")]
        .iter()
        .flat_map(|l| log_lines(l, "hole punch"))
        .collect();
    assert!(
        !punched.iter().any(|l| l.contains("direct connection")),
        "{punched:?}"
    );
    eprintln!("DCUtR: {punched:#?}");
    if std::env::var_os("ZKS_NAT_LOGS").is_some() {
        eprintln!("{}", w.logs());
    }
}

/// Behind a NAT that lets A dial out to anyone (a home router): B reaches
/// A through S's relay, then A dials B's own address (connection
/// reversal) and the two have a direct connection; the relay goes away and
/// B's next message still reaches A. DCUtR runs too and now gets B's
/// declared address (it got none before: "Protocol error"), but its hole
/// punch cannot succeed here: A's attempt is simply accepted by B, and both
/// then wait as listeners.
#[test]
fn behind_a_home_router_the_relayed_contact_is_reached_directly_and_the_relay_can_go() {
    let mut w = through_the_relay(Topology::HomeRouter);
    let direct = wait_until(Duration::from_secs(30), || {
        log_lines(&w.log("a"), "connection reversal: direct connection")
            .into_iter()
            .next()
    });
    assert!(
        direct.is_some(),
        "A never connected to B directly:\n{}",
        w.logs()
    );
    let offered_nothing: Vec<String> = [w.log("a"), w.log("b")]
        .iter()
        .flat_map(|l| log_lines(l, "Protocol error"))
        .collect();
    assert!(
        offered_nothing.is_empty(),
        "DCUtR had no address of B's: {offered_nothing:?}"
    );
    // The direct connection A opened carries B's next message.
    w.relay_stops_and_b_still_reaches_a("without the relay");
}

/// A and B each behind a home router of their own: neither can be dialed.
/// B reaches A through S; DCUtR then punches a hole through both NATs (A's
/// first SYN is dropped at B's router but opens A's own; B's SYN then comes
/// through it), and after S stops B's next message still reaches A.
#[test]
fn between_two_nats_dcutr_punches_a_hole_and_the_relay_can_go() {
    let mut w = through_the_relay(Topology::TwoNats);
    let punched = wait_until(Duration::from_secs(30), || {
        [w.log("a"), w.log("b")]
            .iter()
            .flat_map(|l| log_lines(l, "hole punch: direct connection"))
            .next()
    });
    assert!(punched.is_some(), "no hole was punched:\n{}", w.logs());
    w.relay_stops_and_b_still_reaches_a("through the hole");
}

/// A js-libp2p node (`tests/interop/dht-node.mjs`, from npm: a third-party
/// implementation) inside `ns`, listening on `listen`: the public network's
/// stand-in, an Amino DHT server and circuit-relay v2 server.
fn js_dht_in(ns: &str, listen: &str) -> zks_testkit::JsPeer {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", ns])
        .arg(zks_testkit::node_program())
        .arg("dht-node.mjs")
        .arg(listen)
        .current_dir(zks_testkit::interop_dir());
    zks_testkit::JsPeer::spawn(command, Duration::from_secs(30))
}

/// Issue #18's first test. A and B each behind a home router of their
/// own, and the only address either is given is a js-libp2p node's on the
/// public side (no seeder of ours). They reserve relay slots on it by
/// themselves, pair through files and exchange messages. Then both go
/// offline and move apart: A comes back at a new address and port, and
/// each one's stored addresses of the other are unusable (B's were behind
/// its NAT, A's old one is gone). Messages still arrive both ways: the
/// undeliverable one makes its sender look the contact up by today's
/// rendezvous key on the DHT, dial it through the relay in its provider
/// record, and DCUtR then punches a direct connection, which carries a
/// message after the js node is gone.
#[test]
fn contacts_that_moved_apart_behind_two_nats_find_each_other_on_a_public_dht() {
    assert!(
        is_root(),
        "network namespaces and nftables need root: run as root, or through \
         scripts/test.sh, which gives this test root in a user namespace"
    );
    const J_ADDR: &str = "/ip4/10.77.1.2/tcp/4001";
    const A_MOVED: &str = "/ip4/10.77.2.3/tcp/4005";
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let log = |n: &str| -> PathBuf { tmp.path().join(format!("{n}.log")) };
    let logs = |names: &[&str]| -> String {
        names
            .iter()
            .map(|n| {
                format!(
                    "== {n}\n{}",
                    std::fs::read_to_string(log(n)).unwrap_or_default()
                )
            })
            .collect()
    };
    let nat = Nat::new(Topology::TwoNats);
    let b_ns = nat.b_ns().to_owned();
    let js = js_dht_in(&nat.public, J_ADDR);
    let j_full = format!("{J_ADDR}/p2p/{}", js.peer_id);
    let relayed = |peer: &str| format!("{j_full}/p2p-circuit/p2p/{peer}");
    let wait_relayed = |home: &Path, peer: &str, name: &str| {
        let found = wait_until(Duration::from_secs(90), || {
            published(home).contains(&relayed(peer)).then_some(())
        });
        assert!(
            found.is_some(),
            "{name} reserved no slot on the js relay: {:?}\n{}",
            published(home),
            logs(&[name])
        );
    };

    let (da, a_peer) = daemon_in(
        &nat.private,
        &a,
        &["--listen", A_ADDR, "--bootstrap", &j_full],
        &log("a"),
    );
    let (db, b_peer) = daemon_in(
        &b_ns,
        &b,
        &["--listen", B2_ADDR, "--bootstrap", &j_full],
        &log("b"),
    );
    wait_relayed(&a, &a_peer, "a");
    wait_relayed(&b, &b_peer, "b");

    let (inv, rep) = (tmp.path().join("inv.txt"), tmp.path().join("rep.txt"));
    let (inv, rep) = (inv.to_str().unwrap(), rep.to_str().unwrap());
    ok(&run_in(
        &nat.private,
        &a,
        &["pair", "invite", "--name", "Alice", "--out", inv],
    ));
    ok(&run_in(
        &b_ns,
        &b,
        &["pair", "accept", inv, "--as", "Alice", "--out", rep],
    ));
    ok(&run_in(
        &nat.private,
        &a,
        &["pair", "finish", rep, "--as", "Bob"],
    ));
    for (ns, home) in [(&nat.private, &a), (&b_ns, &b)] {
        ok(&run_in(
            ns,
            home,
            &["beacon", "import", "--chain", "quicknet", &quicknet()],
        ));
    }
    let arrives = |ns: &str, home: &Path, text: &str, limit: Duration| {
        wait_until(limit, || {
            inbox(ns, home)
                .iter()
                .any(|m| m["direction"] == "in" && m["text"] == text)
                .then_some(())
        })
        .is_some()
    };
    ok(&run_in(&b_ns, &b, &["send", "Alice", "before the move"]));
    assert!(
        arrives(&nat.private, &a, "before the move", Duration::from_secs(60)),
        "{}",
        logs(&["a", "b"])
    );

    // Both go offline and move apart.
    drop(da);
    drop(db);
    ok(&run_in(
        &nat.private,
        &a,
        &[
            "contacts",
            "addresses",
            "Bob",
            &format!("{B2_ADDR}/p2p/{b_peer}"),
        ],
    ));
    ok(&run_in(
        &b_ns,
        &b,
        &[
            "contacts",
            "addresses",
            "Alice",
            &format!("{A_ADDR}/p2p/{a_peer}"),
        ],
    ));
    nat.add_host_address(&nat.private, "10.77.2.3/24");
    let (_da, _) = daemon_in(
        &nat.private,
        &a,
        &["--listen", A_MOVED, "--bootstrap", &j_full],
        &log("a2"),
    );
    let (_db, _) = daemon_in(
        &b_ns,
        &b,
        &["--listen", B2_ADDR, "--bootstrap", &j_full],
        &log("b2"),
    );
    wait_relayed(&a, &a_peer, "a2");
    wait_relayed(&b, &b_peer, "b2");

    let started = Instant::now();
    ok(&run_in(&b_ns, &b, &["send", "Alice", "after the move"]));
    ok(&run_in(&nat.private, &a, &["send", "Bob", "found you"]));
    assert!(
        arrives(&nat.private, &a, "after the move", Duration::from_secs(90)),
        "B's message after the move did not arrive:\n{}",
        logs(&["a2", "b2"])
    );
    assert!(
        arrives(&b_ns, &b, "found you", Duration::from_secs(90)),
        "A's message after the move did not arrive:\n{}",
        logs(&["a2", "b2"])
    );
    eprintln!(
        "after the move, both messages arrived in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let found: Vec<String> = ["a2", "b2"]
        .iter()
        .flat_map(|n| log_lines(&log(n), "found on the DHT by its rendezvous key"))
        .collect();
    assert!(
        !found.is_empty(),
        "neither side found the other on the DHT:\n{}",
        logs(&["a2", "b2"])
    );
    eprintln!("rendezvous: {found:#?}");

    // They met through the js relay; DCUtR then punches a hole.
    let punched = wait_until(Duration::from_secs(60), || {
        ["a2", "b2"]
            .iter()
            .flat_map(|n| log_lines(&log(n), "hole punch: direct connection"))
            .next()
    });
    assert!(
        punched.is_some(),
        "no hole was punched:\n{}",
        logs(&["a2", "b2"])
    );
    // Without the js node (no relay, no DHT), the direct connection
    // carries the next message.
    drop(js);
    ok(&run_in(&b_ns, &b, &["send", "Alice", "directly"]));
    assert!(
        arrives(&nat.private, &a, "directly", Duration::from_secs(30)),
        "B's message after the js node stopped did not arrive:\n{}",
        logs(&["a2", "b2"])
    );
}
