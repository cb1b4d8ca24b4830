//! Commands of Settings → Devices (decision 0072): one person on several
//! devices. The primary device lists its devices, makes a code that links
//! a new one, confirms a device that joined (after both show the same
//! safety code) and unlinks one; a new home joins as a linked device with
//! that code. Each is a thin call into `zks_node::Node`; its errors become
//! `{code, message}`.

use tauri::State;
use zks_node::DevicesView;

use crate::commands::pairing::{code_input, svg_of};
use crate::dto::InviteCode;
use crate::error::IpcError;
use crate::state::AppNode;

/// How long a link code stays valid when the window does not say (10
/// minutes, as `zks device link`).
pub const DEFAULT_LINK_TTL_SECS: u64 = 600;
/// Shortest link code lifetime accepted (1 minute, as `zks device link --ttl`).
pub const MIN_LINK_TTL_SECS: u64 = 60;
/// Longest link code lifetime accepted (1 day, as `zks device link --ttl`).
pub const MAX_LINK_TTL_SECS: u64 = 86_400;

/// This device's place among the person's devices, and the devices.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn devices(node: State<'_, AppNode>) -> Result<DevicesView, IpcError> {
    list(&node)
}

/// On the primary: a code that links a new device, with its QR code.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn link_device(
    node: State<'_, AppNode>,
    ttl_secs: Option<u64>,
) -> Result<InviteCode, IpcError> {
    link(&node, ttl_secs)
}

/// On a new home: joins the person whose primary made the link code (the
/// pasted `code`, or an image of its QR code), as the device `name`.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn join_device(
    node: State<'_, AppNode>,
    code: Option<String>,
    image_base64: Option<String>,
    name: String,
) -> Result<DevicesView, IpcError> {
    join(&node, code.as_deref(), image_base64.as_deref(), &name)
}

/// On the primary: confirms the device `id` that joined (after comparing
/// the safety code both devices show).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn confirm_device(node: State<'_, AppNode>, id: String) -> Result<DevicesView, IpcError> {
    confirm(&node, &id)
}

/// On the primary: unlinks the device `id`, or refuses one that joined.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn remove_device(node: State<'_, AppNode>, id: String) -> Result<DevicesView, IpcError> {
    remove(&node, &id)
}

/// Plain form of [`devices`].
pub fn list(node: &AppNode) -> Result<DevicesView, IpcError> {
    Ok(node.get()?.devices()?)
}

/// Plain form of [`link_device`]. `ttl_secs` defaults to
/// [`DEFAULT_LINK_TTL_SECS`] and must lie in
/// [`MIN_LINK_TTL_SECS`]..=[`MAX_LINK_TTL_SECS`]. The answer is the
/// pairing invite's shape with the full code only: a new device joins
/// with the whole code (no small link code).
pub fn link(node: &AppNode, ttl_secs: Option<u64>) -> Result<InviteCode, IpcError> {
    let node = node.get()?;
    let ttl = ttl_secs.unwrap_or(DEFAULT_LINK_TTL_SECS);
    if !(MIN_LINK_TTL_SECS..=MAX_LINK_TTL_SECS).contains(&ttl) {
        return Err(IpcError::new(
            "bad_input",
            format!(
                "a link code lives 1 minute to 1 day ({MIN_LINK_TTL_SECS} to {MAX_LINK_TTL_SECS} s), not {ttl} s"
            ),
        ));
    }
    let code = node.link_device(ttl)?;
    let qr_svg = svg_of(&code.text)?;
    Ok(InviteCode {
        text: code.text,
        expires_at: code.expires_at,
        name: code.name,
        qr_svg,
        link_text: None,
        link_qr_svg: None,
        link_qr_version: None,
    })
}

/// Plain form of [`join_device`]: a blank name is `bad_input` here, and
/// exactly one of `code` and `image_base64` must be given; the node checks
/// the rest (the name, the code, a home without contacts).
pub fn join(
    node: &AppNode,
    code: Option<&str>,
    image_base64: Option<&str>,
    name: &str,
) -> Result<DevicesView, IpcError> {
    let node = node.get()?;
    let name = name.trim();
    if name.is_empty() {
        return Err(IpcError::new(
            "bad_input",
            "give this device a name (your other devices and your contacts see it)",
        ));
    }
    let input = code_input(code, image_base64)?;
    Ok(node.join_device(&input, name)?)
}

/// Plain form of [`confirm_device`].
pub fn confirm(node: &AppNode, id: &str) -> Result<DevicesView, IpcError> {
    Ok(node.get()?.confirm_device(id)?)
}

/// Plain form of [`remove_device`].
pub fn remove(node: &AppNode, id: &str) -> Result<DevicesView, IpcError> {
    Ok(node.get()?.remove_device(id)?)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::test_support::{self, node, paired};

    /// Brings `app`'s node online on loopback, as the app does at start.
    async fn online(app: &AppNode) {
        let node = app.get().unwrap();
        node.serve_home(zks_node::OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..zks_node::OnlineConfig::default()
        })
        .await
        .unwrap();
    }

    /// Waits (up to 30 s) until `app`'s devices satisfy `check`.
    async fn until(what: &str, app: &AppNode, check: impl Fn(&DevicesView) -> bool) -> DevicesView {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let view = list(app).unwrap();
            if check(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "{what}: {view:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    #[tokio::test]
    async fn a_new_home_is_a_primary_with_this_device_only() {
        let desk = node("devices-fresh").await;
        desk.node().set_display_name("Desk").unwrap();
        let view = list(&desk.app).unwrap();
        assert_eq!(view.role, "primary");
        assert_eq!(view.devices.len(), 1);
        let me = &view.devices[0];
        assert!(me.primary && me.this_device);
        assert_eq!((me.name.as_str(), me.state.as_str()), ("Desk", "linked"));
        assert_eq!(me.last_seen, None);
        // As the window receives it.
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["role"], "primary");
        assert_eq!(json["devices"][0]["this_device"], true);
        assert!(json["devices"][0]["last_seen"].is_null());
    }

    #[tokio::test]
    async fn bad_requests_are_refused_as_bad_input() {
        let desk = node("devices-bad").await;
        desk.node().set_display_name("Desk").unwrap();
        // Lifetimes out of range are refused before the node is asked.
        for ttl in [0, 59, MAX_LINK_TTL_SECS + 1, u64::MAX] {
            let err = link(&desk.app, Some(ttl)).unwrap_err();
            assert_eq!(err.code, "bad_input", "{ttl}");
            assert!(err.message.contains("1 minute to 1 day"), "{}", err.message);
        }
        // Offline: the new device could not reach this one.
        let err = link(&desk.app, None).unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("not online"), "{}", err.message);
        // A name, and exactly one form of the code.
        for (code, image, name, says) in [
            (Some("ZKS1:AB"), None, "  ", "give this device a name"),
            (None, None, "Laptop", "paste a ZKS1: code"),
            (Some("ZKS1:AB"), Some("aGk="), "Laptop", "not both"),
        ] {
            let err = join(&desk.app, code, image, name).unwrap_err();
            assert_eq!(err.code, "bad_input", "{says}");
            assert!(err.message.contains(says), "{}", err.message);
        }
        // Garbage is the node's `bad_qr` (not a code, or a damaged one),
        // and changes nothing.
        for garbage in ["hello", "ZKS1:%%%%", "ZKS1:", "ZKS1:AAAA"] {
            let err = join(&desk.app, Some(garbage), None, "Laptop").unwrap_err();
            assert_eq!(err.code, "bad_qr", "{garbage:?}: {}", err.message);
        }
        assert_eq!(list(&desk.app).unwrap().role, "primary");
        // Ids: too short, not hex, or no such device.
        for id in ["ab", "zzzz", "abcdef12"] {
            assert_eq!(
                confirm(&desk.app, id).unwrap_err().code,
                "bad_input",
                "{id}"
            );
            assert_eq!(remove(&desk.app, id).unwrap_err().code, "bad_input", "{id}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_home_with_contacts_cannot_join() {
        let (alice, bob) = paired().await;
        online(&alice.app).await;
        let code = link(&alice.app, None).unwrap();
        let err = join(&bob.app, Some(&code.text), None, "Laptop").unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("new home"), "{}", err.message);
        assert_eq!(list(&bob.app).unwrap().role, "primary");
        // A pairing invite is no link code, even on a new home.
        let fresh = node("devices-fresh").await;
        let invite = alice.node().create_invite(Some("Alice"), 600).unwrap();
        let err = join(&fresh.app, Some(&invite.text), None, "Laptop").unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("not a link code"), "{}", err.message);
        assert_eq!(list(&fresh.app).unwrap().role, "primary");
        alice.node().stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_device_links_is_confirmed_and_unlinked_through_the_commands() {
        let desk = node("devices-desk").await;
        let laptop = node("devices-laptop").await;
        desk.node().set_display_name("Desk").unwrap();
        online(&desk.app).await;
        online(&laptop.app).await;

        let code = link(&desk.app, None).unwrap();
        assert!(code.text.starts_with("ZKS1:"));
        assert!(code.qr_svg.contains("viewBox"));
        assert!(code.link_text.is_none() && code.link_qr_svg.is_none());
        assert_eq!(code.name, "Desk");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((now + 590..=now + 610).contains(&code.expires_at));

        let joined = join(&laptop.app, Some(&code.text), None, " Laptop ").unwrap();
        assert_eq!(joined.role, "joining");
        let primary = joined.devices.iter().find(|d| d.primary).unwrap();
        assert!(!primary.this_device);
        assert!(!primary.safety_code.is_empty());
        let me = joined.devices.iter().find(|d| d.this_device).unwrap();
        assert_eq!((me.name.as_str(), me.state.as_str()), ("Laptop", "pending"));
        // Joining twice is refused; so is a primary's command here.
        let err = join(&laptop.app, Some(&code.text), None, "Laptop").unwrap_err();
        assert_eq!(err.code, "bad_input");
        let err = link(&laptop.app, None).unwrap_err();
        assert!(err.message.contains("primary"), "{}", err.message);

        // The laptop's reply reaches the desk: pending there, same code.
        let view = until("the laptop is pending on the desk", &desk.app, |v| {
            v.devices.iter().any(|d| d.state == "pending")
        })
        .await;
        let pending = view.devices.iter().find(|d| d.state == "pending").unwrap();
        assert_eq!(pending.name, "Laptop");
        assert_eq!(pending.safety_code, primary.safety_code);

        let confirmed = confirm(&desk.app, &pending.id[..8]).unwrap();
        assert_eq!(confirmed.role, "primary");
        assert!(
            confirmed
                .devices
                .iter()
                .any(|d| d.name == "Laptop" && d.state == "linked" && d.added_at > 0)
        );
        until("the laptop is linked", &laptop.app, |v| v.role == "linked").await;

        // Only the primary unlinks.
        let err = remove(&laptop.app, &pending.id).unwrap_err();
        assert!(err.message.contains("primary"), "{}", err.message);
        let removed = remove(&desk.app, &pending.id).unwrap();
        assert!(removed.devices.iter().all(|d| d.name != "Laptop"));
        assert_eq!(removed.devices.len(), 1);
        desk.node().stop().await;
        laptop.node().stop().await;
    }

    #[test]
    fn a_failed_node_answers_with_its_error() {
        let failed = test_support::failed();
        assert_eq!(list(&failed).unwrap_err().code, "data_dir");
        assert_eq!(link(&failed, None).unwrap_err().code, "data_dir");
        assert_eq!(
            join(&failed, Some("ZKS1:AB"), None, "Laptop")
                .unwrap_err()
                .code,
            "data_dir"
        );
        assert_eq!(confirm(&failed, "abcd").unwrap_err().code, "data_dir");
        assert_eq!(remove(&failed, "abcd").unwrap_err().code, "data_dir");
    }
}
