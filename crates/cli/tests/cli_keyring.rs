//! The OS keyring, for real: a private D-Bus session with GNOME Keyring's
//! Secret Service (unlocked with a login password, as a desktop login
//! does). A new home without `ZKS_PASSPHRASE` keeps its key there; a key
//! change moves it to a passphrase and back, rotating it each time; without
//! the session the keyring home is locked with a clear error.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Running, ok, zks};

/// A private D-Bus bus with an unlocked GNOME Keyring on it, its files in a
/// temporary folder. The bus has
/// no service directories: with the standard session configuration, a
/// first request that arrives before our keyring has taken its name makes
/// the bus *activate* a second gnome-keyring-daemon, with its keyring
/// locked (that made this test fail on a loaded machine).
struct Keyring {
    address: String,
    _config: tempfile::TempDir,
    _bus: Running,
    _keyring: Running,
}

/// A session bus that lets everyone talk to everyone and starts nothing.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl Keyring {
    fn start() -> Keyring {
        let config = tempfile::tempdir().unwrap();
        let config_file = config.path().join("bus.conf");
        std::fs::write(&config_file, BUS_CONFIG).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config_file.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (scripts/deps.sh test installs it)");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        assert!(address.starts_with("unix:"), "no bus address: {address:?}");
        // Its keyring files and control socket in the test's own folder,
        // never in the user's keyring.
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_DATA_HOME", config.path().join("data"))
            .env("XDG_RUNTIME_DIR", config.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (scripts/deps.sh test installs it)");
        let mut stdin = keyring.stdin.take().unwrap();
        stdin.write_all(b"login password").unwrap();
        drop(stdin);
        Keyring {
            address,
            _config: config,
            _bus: Running(bus),
            _keyring: Running(keyring),
        }
    }

    /// `zks --home HOME ARGS…` in the session, without a passphrase.
    fn zks(&self, home: &Path, args: &[&str]) -> Output {
        zks()
            .env_remove("ZKS_PASSPHRASE")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .arg("--home")
            .arg(home)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn protection(out: &Output) -> String {
    let v: serde_json::Value = serde_json::from_str(&ok(out)).unwrap();
    v["protection"].as_str().unwrap().to_owned()
}

#[test]
fn a_home_keeps_its_key_in_the_os_keyring_and_moves_it_to_a_passphrase_and_back() {
    let keyring = Keyring::start();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    // The Secret Service takes a moment to appear on the bus; until then
    // the home is refused (no keyring, no passphrase) and nothing is made.
    let deadline = Instant::now() + Duration::from_secs(60);
    let first = loop {
        let out = keyring.zks(&home, &["key", "status", "--json"]);
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        first.status.success(),
        "no keyring home within 60 s: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(protection(&first), "keyring");
    let key_file = std::fs::read_to_string(home.join("key.json")).unwrap();
    assert!(!key_file.contains("sealed"), "{key_file}");
    ok(&keyring.zks(&home, &["settings", "set", "seeding", "true"]));
    let status: serde_json::Value =
        serde_json::from_str(&ok(&keyring.zks(&home, &["status", "--json"]))).unwrap();
    assert_eq!(status["database"]["key_protection"], "keyring");

    // Without the session, the home is locked, with a clear error.
    let out = zks()
        .env_remove("ZKS_PASSPHRASE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .arg("--home")
        .arg(&home)
        .arg("status")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keyring"));

    // To a passphrase (rotating the key), then back to the keyring.
    let to_pass = zks()
        .env_remove("ZKS_PASSPHRASE")
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .env("ZKS_NEW_PASSPHRASE", "moved to a passphrase")
        .arg("--home")
        .arg(&home)
        .args(["key", "change", "--json"])
        .output()
        .unwrap();
    assert_eq!(protection(&to_pass), "passphrase");
    let locked = keyring.zks(&home, &["status"]);
    assert_eq!(locked.status.code(), Some(2), "a passphrase home needs it");
    let back = zks()
        .env("ZKS_PASSPHRASE", "moved to a passphrase")
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .arg("--home")
        .arg(&home)
        .args(["key", "change", "--to", "keyring", "--json"])
        .output()
        .unwrap();
    assert_eq!(protection(&back), "keyring");
    let settings: serde_json::Value =
        serde_json::from_str(&ok(&keyring.zks(&home, &["settings", "show"]))).unwrap();
    assert_eq!(
        settings["seeding"], true,
        "the data came through both rotations"
    );
    let account_now = std::fs::read_to_string(home.join("key.json")).unwrap();
    assert_ne!(
        account_now, key_file,
        "a fresh keyring entry after rotation"
    );

    // No key is left behind in the keyring. The first entry went with the
    // move to a passphrase: a home whose key file names it is locked.
    let ghost = tmp.path().join("ghost");
    std::fs::create_dir_all(&ghost).unwrap();
    std::fs::write(ghost.join("key.json"), &key_file).unwrap();
    let out = keyring.zks(&ghost, &["key", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no key for this home"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A move into the keyring cut short before its commit point (its key
    // staged in `key.json.new`, the re-encrypted database not yet swapped
    // in) is rolled back at the next start, and the staged entry removed.
    // The staged entry here is a second home's, so that it is a real one.
    let other = tmp.path().join("other");
    assert_eq!(
        protection(&keyring.zks(&other, &["key", "status", "--json"])),
        "keyring"
    );
    std::fs::copy(other.join("key.json"), home.join("key.json.new")).unwrap();
    std::fs::write(home.join("zks.sqlite3-rekey"), b"half an export").unwrap();
    ok(&keyring.zks(&home, &["status"]));
    assert!(!home.join("key.json.new").exists());
    assert!(!home.join("zks.sqlite3-rekey").exists());
    assert_eq!(
        std::fs::read_to_string(home.join("key.json")).unwrap(),
        account_now,
        "the home kept its own key"
    );
    let out = keyring.zks(&other, &["status"]);
    assert_eq!(out.status.code(), Some(2), "the staged entry is gone");
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no key for this home"));
}
