//! Commands about pairing and contacts: invites with their QR codes, accepting
//! and finishing a pairing from pasted text or a QR image, listing and
//! verifying contacts. Each is a thin call into the node's pairing API.

use tauri::State;
use zks_node::{Contact, DisplayName, NodeError};
use zks_qr as qr;

use crate::dto::{AcceptedInvite, InviteCode};
use crate::error::IpcError;
use crate::state::AppNode;

/// How long an invite stays valid when the window does not say (1 hour, as
/// `zks pair invite`).
pub const DEFAULT_TTL_SECS: u64 = 3600;
/// Shortest invite lifetime accepted (1 minute, as `zks pair invite --ttl`).
pub const MIN_TTL_SECS: u64 = 60;
/// Longest invite lifetime accepted (7 days, as `zks pair invite --ttl`).
pub const MAX_TTL_SECS: u64 = 7 * 86_400;
/// Largest QR image accepted from the window, in base64 characters (32 MiB,
/// i.e. a 24 MiB PNG); the QR decoder bounds the pixels further.
pub const MAX_IMAGE_BASE64: usize = 32 << 20;

/// Makes an invite and its QR code.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn pairing_create_invite(
    node: State<'_, AppNode>,
    name: Option<String>,
    ttl_secs: Option<u64>,
) -> Result<InviteCode, IpcError> {
    create_invite(&node, name.as_deref(), ttl_secs)
}

/// Accepts someone's invite (the full code, or an invite link whose invite
/// comes over the network); returns the reply to show them and the contact.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub async fn pairing_accept(
    node: State<'_, AppNode>,
    text: Option<String>,
    image_base64: Option<String>,
    as_name: Option<String>,
) -> Result<AcceptedInvite, IpcError> {
    accept(
        &node,
        text.as_deref(),
        image_base64.as_deref(),
        as_name.as_deref(),
    )
    .await
}

/// Finishes a pairing with the reply to one of our invites.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn pairing_finish(
    node: State<'_, AppNode>,
    text: Option<String>,
    image_base64: Option<String>,
    as_name: Option<String>,
) -> Result<Contact, IpcError> {
    finish(
        &node,
        text.as_deref(),
        image_base64.as_deref(),
        as_name.as_deref(),
    )
}

/// Reads a QR code in one greyscale camera frame of the Pairing screen's
/// camera (`width`×`height`, one byte a pixel, in base64): its text, or
/// `null` when the frame shows none yet.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn pairing_scan_frame(
    width: u32,
    height: u32,
    luma_base64: String,
) -> Result<Option<String>, IpcError> {
    scan_frame(width, height, &luma_base64)
}

/// Plain form of [`pairing_scan_frame`].
pub fn scan_frame(width: u32, height: u32, luma_base64: &str) -> Result<Option<String>, IpcError> {
    crate::camera::check_frame(width, height, luma_base64.len())?;
    let luma = base64_decode(luma_base64)
        .ok_or_else(|| IpcError::new("bad_input", "the camera frame is not base64"))?;
    crate::camera::scan_frame(width, height, &luma)
}

/// Every contact.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn contacts_list(node: State<'_, AppNode>) -> Result<Vec<Contact>, IpcError> {
    contacts(&node)
}

/// Marks a contact as verified after the comparison: a given `code` must
/// match its safety code; without one, `compared` must be true (the
/// person's word that all 40 digits match).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn contacts_verify(
    node: State<'_, AppNode>,
    name: String,
    code: Option<String>,
    compared: Option<bool>,
) -> Result<Contact, IpcError> {
    verify(&node, &name, code.as_deref(), compared.unwrap_or(false))
}

/// The name contacts see in our invites and replies, and whether it was
/// chosen (the window asks for it at first start until it is).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn identity_name_get(node: State<'_, AppNode>) -> Result<DisplayName, IpcError> {
    Ok(node.get()?.display_name()?)
}

/// Chooses the name contacts see (trimmed, 1 to 64 characters, no control
/// characters; `bad_input` otherwise).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn identity_name_set(node: State<'_, AppNode>, name: String) -> Result<DisplayName, IpcError> {
    set_name(&node, &name)
}

/// Plain form of [`identity_name_set`].
pub fn set_name(node: &AppNode, name: &str) -> Result<DisplayName, IpcError> {
    Ok(node.get()?.set_display_name(name)?)
}

/// Plain form of [`pairing_create_invite`]. `ttl_secs` defaults to
/// [`DEFAULT_TTL_SECS`] and must lie in [`MIN_TTL_SECS`]..=[`MAX_TTL_SECS`].
pub fn create_invite(
    node: &AppNode,
    name: Option<&str>,
    ttl_secs: Option<u64>,
) -> Result<InviteCode, IpcError> {
    let node = node.get()?;
    let ttl = ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl) {
        return Err(IpcError::new(
            "bad_input",
            format!(
                "an invite lives 1 minute to 7 days ({MIN_TTL_SECS} to {MAX_TTL_SECS} s), not {ttl} s"
            ),
        ));
    }
    let invite = node.create_invite(name, ttl)?;
    let qr_svg = svg_of(&invite.text)?;
    // Without its picture a link is no use on screen; the full code stays.
    let link = invite.link_text.and_then(|text| {
        let svg = svg_of(&text).ok()?;
        let version = qr::version_of(&text).ok()?;
        Some((text, svg, version))
    });
    Ok(InviteCode {
        text: invite.text,
        expires_at: invite.expires_at,
        name: invite.name,
        qr_svg,
        link_qr_svg: link.as_ref().map(|l| l.1.clone()),
        link_qr_version: link.as_ref().map(|l| l.2),
        link_text: link.map(|l| l.0),
    })
}

/// Plain form of [`pairing_accept`].
pub async fn accept(
    node: &AppNode,
    text: Option<&str>,
    image_base64: Option<&str>,
    as_name: Option<&str>,
) -> Result<AcceptedInvite, IpcError> {
    let node = node.get()?;
    let input = code_input(text, image_base64)?;
    let accepted = node.accept_code(&input, non_empty(as_name)).await?;
    // The pairing is stored by now; a reply that cannot be drawn is still
    // given as text rather than hiding a contact that exists.
    let reply_qr_svg = match svg_of(&accepted.reply_text) {
        Ok(svg) => Some(svg),
        Err(e) => {
            tracing::warn!("cannot draw the reply's QR code: {}", e.message);
            None
        }
    };
    Ok(AcceptedInvite {
        reply_text: accepted.reply_text,
        reply_qr_svg,
        contact: accepted.contact,
    })
}

/// Plain form of [`pairing_finish`].
pub fn finish(
    node: &AppNode,
    text: Option<&str>,
    image_base64: Option<&str>,
    as_name: Option<&str>,
) -> Result<Contact, IpcError> {
    let node = node.get()?;
    let input = code_input(text, image_base64)?;
    Ok(node.finish_pairing(&input, non_empty(as_name))?)
}

/// Plain form of [`contacts_list`].
pub fn contacts(node: &AppNode) -> Result<Vec<Contact>, IpcError> {
    Ok(node.get()?.contacts()?)
}

/// Plain form of [`contacts_verify`]; an empty `code` counts as none.
pub fn verify(
    node: &AppNode,
    name: &str,
    code: Option<&str>,
    compared: bool,
) -> Result<Contact, IpcError> {
    Ok(node
        .get()?
        .verify_contact(name, non_empty(code), compared)?)
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

pub(crate) fn svg_of(text: &str) -> Result<String, IpcError> {
    qr::render_svg(text).map_err(|e| IpcError::from(NodeError::from(e)))
}

/// The bytes the node decodes: the pasted text, or the image sent as base64.
/// Exactly one of the two must be given.
pub(crate) fn code_input(
    text: Option<&str>,
    image_base64: Option<&str>,
) -> Result<Vec<u8>, IpcError> {
    match (non_empty(text), image_base64.filter(|i| !i.is_empty())) {
        (Some(text), None) => Ok(text.as_bytes().to_vec()),
        (None, Some(image)) => {
            if image.len() > MAX_IMAGE_BASE64 {
                return Err(IpcError::new(
                    "bad_input",
                    "this image is too large; a QR code image of up to 24 MiB is accepted",
                ));
            }
            base64_decode(image).ok_or_else(|| {
                IpcError::new("bad_input", "the image did not arrive intact (bad base64)")
            })
        }
        (None, None) => Err(IpcError::new(
            "bad_input",
            "paste a ZKS1: code or open an image of its QR code",
        )),
        (Some(_), Some(_)) => Err(IpcError::new(
            "bad_input",
            "give either the pasted code or an image, not both",
        )),
    }
}

/// Standard base64 (RFC 4648 §4) with optional padding; ASCII whitespace is
/// skipped. `None` for anything else.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let clean: Vec<u8> = input.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let body_len = clean.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    let (body, padding) = clean.split_at(body_len);
    if padding.len() > 2
        || body_len % 4 == 1
        || (!padding.is_empty() && (body_len + padding.len()) % 4 != 0)
    {
        return None;
    }
    let mut out = Vec::with_capacity(body_len / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            2 => out.push((acc >> 4) as u8),
            _ => return None,
        }
    }
    Some(out)
}

/// Standard base64 with padding (tests send what the window sends).
#[cfg(test)]
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, node};

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64_encode(&bytes);
            assert_eq!(base64_decode(&text).unwrap(), bytes, "{text}");
            // Unpadded and line-wrapped forms are accepted too.
            assert_eq!(base64_decode(text.trim_end_matches('=')).unwrap(), bytes);
            let wrapped: String = text
                .chars()
                .enumerate()
                .flat_map(|(i, c)| (i % 8 == 7).then_some('\n').into_iter().chain([c]))
                .collect();
            assert_eq!(base64_decode(&wrapped).unwrap(), bytes);
        }
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        for bad in ["a", "aG=k", "aGk==", "a===", "aGk*", "ZZZZZ", "é"] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn code_input_takes_exactly_one_form() {
        assert_eq!(code_input(Some(" ZKS1:AB "), None).unwrap(), b"ZKS1:AB");
        assert_eq!(code_input(None, Some("aGk=")).unwrap(), b"hi");
        assert_eq!(code_input(Some("  "), Some("aGk=")).unwrap(), b"hi");
        for (text, image) in [
            (None, None),
            (Some(""), Some("")),
            (Some("x"), Some("aGk=")),
        ] {
            assert_eq!(code_input(text, image).unwrap_err().code, "bad_input");
        }
        assert_eq!(code_input(None, Some("!!")).unwrap_err().code, "bad_input");
    }

    #[test]
    fn camera_frames_in_base64_are_read_or_refused() {
        let (side, luma) = zks_qr::render_luma("ZKS1:CAMERA", 4).unwrap();
        let found = scan_frame(side, side, &base64_encode(&luma)).unwrap();
        assert_eq!(found.as_deref(), Some("ZKS1:CAMERA"));
        assert_eq!(scan_frame(8, 8, &base64_encode(&[255; 64])).unwrap(), None);
        for (w, h, data) in [
            (8, 8, "not base64!".to_owned()),
            (8, 8, base64_encode(&[0; 10])),
            (4000, 4000, base64_encode(&[0; 16])),
            (8, 8, base64_encode(&[0; 1000])),
        ] {
            let err = scan_frame(w, h, &data).unwrap_err();
            assert_eq!(err.code, "bad_input", "{w}×{h}: {}", err.message);
        }
    }

    #[tokio::test]
    async fn invite_has_text_qr_and_expiry() {
        let alice = node("alice").await;
        let invite = create_invite(&alice.app, Some("Alice"), Some(600)).unwrap();
        assert!(invite.text.starts_with("ZKS1:"));
        assert!(invite.qr_svg.starts_with("<?xml") || invite.qr_svg.starts_with("<svg"));
        assert!(invite.qr_svg.contains("viewBox"));
        assert_eq!(invite.name, "Alice");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((now + 590..=now + 610).contains(&invite.expires_at));
        // The default lifetime is an hour.
        let default = create_invite(&alice.app, None, None).unwrap();
        assert!((now + 3590..=now + 3610).contains(&default.expires_at));
        assert_eq!(default.name, "Alice");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_online_app_shows_a_small_qr_code_another_app_accepts() {
        let alice = node("alice-link").await;
        let bob = node("bob-link").await;
        // Offline: only the full code.
        let offline = create_invite(&alice.app, Some("Alice"), Some(600)).unwrap();
        assert!(offline.link_text.is_none() && offline.link_qr_svg.is_none());
        let (_swarm, _) = alice
            .node()
            .serve_home(zks_node::OnlineConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                ..zks_node::OnlineConfig::default()
            })
            .await
            .unwrap();
        let invite = create_invite(&alice.app, Some("Alice"), Some(600)).unwrap();
        let link = invite.link_text.clone().unwrap();
        assert!(invite.link_qr_version.unwrap() <= 10);
        assert!(invite.link_qr_svg.unwrap().contains("viewBox"));
        assert!(link.len() < invite.text.len() / 5);
        let accepted = accept(&bob.app, Some(&link), None, None).await.unwrap();
        assert_eq!(accepted.contact.name, "Alice");
        // Used: the same link is refused, with the reason.
        let err = accept(&bob.app, Some(&link), None, None).await.unwrap_err();
        assert!(err.message.contains("already accepted"), "{}", err.message);
        alice.node().stop().await;
    }

    #[tokio::test]
    async fn the_name_is_chosen_once_and_bad_names_are_refused() {
        let alice = node("named").await;
        let fresh = alice.app.get().unwrap().display_name().unwrap();
        assert!(!fresh.chosen);
        assert_eq!(fresh.name, "");
        let err = create_invite(&alice.app, None, None).unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("choose the name"), "{}", err.message);
        for (bad, says) in [
            ("", "empty"),
            ("  ", "empty"),
            (&*"x".repeat(65), "too long"),
            ("a\u{7}b", "control"),
        ] {
            let err = set_name(&alice.app, bad).unwrap_err();
            assert_eq!(err.code, "bad_input", "{bad:?}");
            assert!(err.message.contains(says), "{bad:?}: {}", err.message);
        }
        let named = set_name(&alice.app, " Alice ").unwrap();
        assert_eq!((named.name.as_str(), named.chosen), ("Alice", true));
        assert_eq!(create_invite(&alice.app, None, None).unwrap().name, "Alice");
        let json = serde_json::to_value(&named).unwrap();
        assert_eq!(json, serde_json::json!({ "name": "Alice", "chosen": true }));
    }

    #[tokio::test]
    async fn invite_lifetime_out_of_range_is_refused() {
        let alice = node("ttl").await;
        for ttl in [0, 59, MAX_TTL_SECS + 1, u64::MAX] {
            let err = create_invite(&alice.app, Some("Renamed"), Some(ttl)).unwrap_err();
            assert_eq!(err.code, "bad_input", "{ttl}");
        }
        // Nothing changed: the name was not taken over.
        let node = alice.app.get().unwrap();
        assert_ne!(node.whoami().unwrap().1, "Renamed");
    }

    #[tokio::test]
    async fn full_pairing_through_the_commands() {
        let alice = node("alice").await;
        let bob = node("bob").await;
        let invite = create_invite(&alice.app, Some("Alice"), None).unwrap();

        // Bob reads Alice's QR code from an image file.
        let png = qr::render_png(&invite.text, 4).unwrap();
        let accepted = accept(&bob.app, None, Some(&base64_encode(&png)), None)
            .await
            .unwrap();
        assert_eq!(accepted.contact.name, "Alice");
        assert_eq!(accepted.contact.role, "responder");
        assert!(!accepted.contact.verified);
        assert!(accepted.reply_text.starts_with("ZKS1:"));
        assert!(
            accepted
                .reply_qr_svg
                .as_deref()
                .unwrap()
                .starts_with("<?xml")
        );

        // Alice pastes Bob's reply, naming him herself.
        let contact = finish(&alice.app, Some(&accepted.reply_text), None, Some("Bob")).unwrap();
        assert_eq!(contact.name, "Bob");
        assert_eq!(contact.role, "initiator");
        assert_eq!(contact.safety_code, accepted.contact.safety_code);
        let groups: Vec<&str> = contact.safety_code.split(' ').collect();
        assert_eq!(groups.len(), 8);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
        );

        assert_eq!(contacts(&alice.app).unwrap(), vec![contact.clone()]);
        assert_eq!(contacts(&bob.app).unwrap(), vec![accepted.contact.clone()]);

        // Alice marks Bob verified with the code Bob's screen shows.
        let verified = verify(
            &alice.app,
            "Bob",
            Some(&accepted.contact.safety_code),
            false,
        )
        .unwrap();
        assert!(verified.verified);
        // Bob marks Alice verified without typing the code: an empty code
        // is none, and then he must say that he compared the digits.
        let err = verify(&bob.app, "Alice", Some("  "), false).unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("compare"), "{}", err.message);
        assert!(!contacts(&bob.app).unwrap()[0].verified);
        assert!(
            verify(&bob.app, "Alice", Some("  "), true)
                .unwrap()
                .verified
        );
        assert!(contacts(&bob.app).unwrap()[0].verified);
    }

    #[tokio::test]
    async fn contact_json_has_the_shape_the_ui_reads() {
        let alice = node("alice").await;
        let bob = node("bob").await;
        let invite = create_invite(&alice.app, Some("Alice"), None).unwrap();
        let accepted = accept(&bob.app, Some(&invite.text), None, Some("Al"))
            .await
            .unwrap();
        let json = serde_json::to_value(&accepted).unwrap();
        for key in ["reply_text", "reply_qr_svg", "contact"] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let contact = &json["contact"];
        assert_eq!(contact["name"], "Al");
        for key in [
            "peer_id",
            "safety_code",
            "verified",
            "addresses",
            "role",
            "pad",
        ] {
            assert!(contact.get(key).is_some(), "{key}");
        }
        assert!(contact["pad"].is_null());
        let json = serde_json::to_value(&invite).unwrap();
        for key in ["text", "expires_at", "name", "qr_svg"] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }

    #[tokio::test]
    async fn bad_codes_are_refused_and_change_nothing() {
        let alice = node("alice").await;
        let bob = node("bob").await;
        let invite = create_invite(&alice.app, Some("Alice"), None).unwrap();

        // Damaged text, a foreign text, a non-image, nothing at all.
        let mut damaged = invite.text.clone();
        damaged.truncate(damaged.len() - 7);
        damaged.push_str("*******");
        let err = accept(&bob.app, Some(&damaged), None, None)
            .await
            .unwrap_err();
        assert!(
            ["bad_qr", "bad_code"].contains(&err.code.as_str()),
            "{err:?}"
        );
        assert!(!err.message.is_empty());
        let err = accept(&bob.app, Some("hello there"), None, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, "bad_qr");
        let err = accept(
            &bob.app,
            None,
            Some(&base64_encode(b"\x89PNG\r\n\x1a\nnope")),
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, "bad_qr");
        assert_eq!(
            accept(&bob.app, None, None, None).await.unwrap_err().code,
            "bad_input"
        );
        assert!(contacts(&bob.app).unwrap().is_empty());

        // An invite is not a reply, and a reply to nobody's invite is refused.
        let err = finish(&alice.app, Some(&invite.text), None, None).unwrap_err();
        assert_eq!(err.code, "bad_code");
        let stranger = node("stranger").await;
        let other = create_invite(&stranger.app, Some("S"), None).unwrap();
        let reply = accept(&bob.app, Some(&other.text), None, None)
            .await
            .unwrap();
        let err = finish(&alice.app, Some(&reply.reply_text), None, None).unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(contacts(&alice.app).unwrap().is_empty());

        // An invite accepted twice is refused the second time.
        accept(&bob.app, Some(&invite.text), None, Some("Alice"))
            .await
            .unwrap();
        let err = accept(&bob.app, Some(&invite.text), None, Some("Alice 2"))
            .await
            .unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert_eq!(contacts(&bob.app).unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_wrong_safety_code_does_not_verify() {
        let alice = node("alice").await;
        let bob = node("bob").await;
        let invite = create_invite(&alice.app, Some("Alice"), None).unwrap();
        let accepted = accept(&bob.app, Some(&invite.text), None, None)
            .await
            .unwrap();
        let real = accepted.contact.safety_code.clone();
        let wrong: String = real
            .chars()
            .map(|c| match c {
                '0'..='8' => char::from(c as u8 + 1),
                '9' => '0',
                c => c,
            })
            .collect();
        let err = verify(&bob.app, "Alice", Some(&wrong), true).unwrap_err();
        assert_eq!(err.code, "bad_input");
        assert!(err.message.contains("does not match"), "{}", err.message);
        assert_eq!(
            verify(&bob.app, "Alice", Some("123"), true)
                .unwrap_err()
                .code,
            "bad_input"
        );
        assert!(!contacts(&bob.app).unwrap()[0].verified);
        // An unknown contact is an error, not a panic.
        assert!(verify(&bob.app, "Nobody", None, true).is_err());
    }

    #[tokio::test]
    async fn a_failed_node_answers_with_its_error() {
        let failed = test_support::failed();
        assert_eq!(contacts(&failed).unwrap_err().code, "data_dir");
        assert_eq!(
            create_invite(&failed, None, None).unwrap_err().code,
            "data_dir"
        );
        assert_eq!(
            accept(&failed, Some("x"), None, None)
                .await
                .unwrap_err()
                .code,
            "data_dir"
        );
        assert_eq!(
            finish(&failed, Some("x"), None, None).unwrap_err().code,
            "data_dir"
        );
        assert_eq!(
            verify(&failed, "x", None, true).unwrap_err().code,
            "data_dir"
        );
        assert_eq!(set_name(&failed, "x").unwrap_err().code, "data_dir");
    }
}
