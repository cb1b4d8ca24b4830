//! The camera of the Pairing screen's "Scan with camera": the window
//! captures frames itself (`getUserMedia`) and hands them, as greyscale
//! pixels, to [`scan_frame`], which reads them with the same QR decoder
//! as pasted images (`zks_qr::decode_luma`).
//!
//! On Linux the web view (WebKitGTK) ships with media streams off and no
//! permission prompt of its own: [`allow_camera`] turns the setting on and
//! answers WebKit's permission requests, allowing video capture only
//! (no microphone, no screen, nothing else: WebKit's default deny stays).
//! On macOS (WKWebView) and Windows (WebView2) the web view asks the
//! operating system, which shows its own camera prompt; nothing is needed
//! here.

use crate::error::IpcError;

/// Largest frame accepted, in pixels (1920×1080); the window sends 640×480.
pub(crate) const MAX_FRAME_PIXELS: u64 = 1920 * 1080;

/// Turns on the web view's media capture for the camera (Linux).
pub(crate) fn allow_camera(window: &tauri::WebviewWindow) {
    #[cfg(target_os = "linux")]
    {
        let result = window.with_webview(|platform| {
            use webkit2gtk::{
                PermissionRequestExt, SettingsExt, UserMediaPermissionRequest,
                UserMediaPermissionRequestExt, WebViewExt, glib::object::Cast,
            };
            let view = platform.inner();
            if let Some(settings) = WebViewExt::settings(&view) {
                settings.set_enable_media_stream(true);
            }
            view.connect_permission_request(|_, request| {
                match request.downcast_ref::<UserMediaPermissionRequest>() {
                    // The camera only: never the microphone.
                    Some(media) if media.is_for_video_device() && !media.is_for_audio_device() => {
                        request.allow();
                        true
                    }
                    _ => false,
                }
            });
        });
        if let Err(e) = result {
            tracing::warn!("the camera cannot be offered in this window: {e}");
        }
    }
    // macOS and Windows: the web view asks the operating system.
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// Checks a frame's size before its pixels are read: `width`×`height`
/// within [`MAX_FRAME_PIXELS`], and `encoded_len` (its base64) no longer
/// than such a frame's.
pub(crate) fn check_frame(width: u32, height: u32, encoded_len: usize) -> Result<(), IpcError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || pixels > MAX_FRAME_PIXELS {
        return Err(IpcError::new(
            "bad_input",
            format!("a camera frame of {width}×{height} pixels is not taken (at most 1920×1080)"),
        ));
    }
    if encoded_len as u64 > pixels.div_ceil(3) * 4 {
        return Err(IpcError::new(
            "bad_input",
            "the camera frame is larger than its size says",
        ));
    }
    Ok(())
}

/// Reads a QR code in one greyscale camera frame (`width`×`height`, one
/// byte a pixel): its text, or `None` when the frame shows no readable
/// code (the window then sends the next frame). A frame whose bytes do not
/// match its size is `bad_input`.
pub(crate) fn scan_frame(width: u32, height: u32, luma: &[u8]) -> Result<Option<String>, IpcError> {
    check_frame(width, height, 0)?;
    match zks_qr::decode_luma(width, height, luma) {
        Ok(text) => Ok(Some(text)),
        Err(zks_qr::QrError::NoQrCode) => Ok(None),
        Err(e) => Err(IpcError::new("bad_input", e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_with_a_code_gives_its_text_and_bad_frames_are_refused() {
        let text = "ZKS1:ABCDEFGH";
        // The code as raw greyscale pixels, as the window sends them.
        let (side, luma) = zks_qr::render_luma(text, 4).unwrap();
        assert_eq!(
            scan_frame(side, side, &luma).unwrap().as_deref(),
            Some(text)
        );
        // A blank frame: nothing yet, not an error.
        assert_eq!(scan_frame(64, 48, &[255; 64 * 48]).unwrap(), None);
        assert_eq!(scan_frame(64, 48, &[0; 10]).unwrap_err().code, "bad_input");
        assert_eq!(scan_frame(0, 0, &[]).unwrap_err().code, "bad_input");
        assert_eq!(check_frame(4000, 4000, 16).unwrap_err().code, "bad_input");
        assert_eq!(check_frame(8, 8, 1000).unwrap_err().code, "bad_input");
        assert!(check_frame(640, 480, 409_600).is_ok());
    }
}
