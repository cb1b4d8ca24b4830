//! The `ZKS1:` text form and QR codes of pairing invites, replies and safety codes.
//!
//! A payload travels as [`TEXT_PREFIX`] followed by its base45 encoding (RFC 9285). Base45's
//! alphabet is exactly QR's alphanumeric set, so the whole text packs into a QR code at 5.5 bits
//! a character, and the same text can be pasted where no camera is at hand. Everything here is
//! pure: bytes or text in, bytes or text out.
//!
//! Its own crate so that the pairing and encryption crate (`zks-pad`) carries no image code:
//! the PNG, QR drawing and QR reading dependencies are used by the node (reading a code from an
//! image), the CLI (writing PNGs) and the desktop app (SVGs) only.
#![forbid(unsafe_code)]

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use qrcode::bits::Bits;
use qrcode::render::svg;
use qrcode::types::QrError as EncodeError;
use qrcode::{Color, EcLevel, QrCode, Version};

/// The start of every ZKS code in text form; the digit is the format version.
pub const TEXT_PREFIX: &str = "ZKS1:";
/// Largest payload we encode (bytes), so that the text fits one QR code (version 40 alphanumeric).
pub const MAX_PAYLOAD: usize = 2600;
/// Longest text [`to_text`] makes: three characters per two bytes, plus the prefix.
const MAX_TEXT: usize = TEXT_PREFIX.len() + MAX_PAYLOAD / 2 * 3 + MAX_PAYLOAD % 2 * 2;
const MAX_SIDE: u32 = 16384;
const MAX_PIXELS: u64 = 40_000_000;
/// Quiet zone around the code, in modules, as ISO 18004 asks of scanners' input.
const QUIET_ZONE: usize = 4;
const SVG_MODULE_PX: u32 = 4;
const QR_ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a ZKS code could not be made or read; the `Display` text is meant for the end user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text does not start with [`TEXT_PREFIX`]; `found` is its first (up to 16) characters.
    #[error("this is not a ZKS code: it starts with {found:?} instead of ZKS1:")]
    BadPrefix { found: String },
    /// Nothing to encode, or nothing after the prefix.
    #[error("the ZKS code is empty")]
    Empty,
    /// The part after the prefix is not canonical base45.
    #[error("this ZKS code is damaged: it has stray characters or is cut short")]
    BadBase45,
    /// The payload (or, when rendering, the text) is `len` bytes, over the `max` accepted.
    #[error("this is too long for one QR code: {len} bytes where at most {max} fit")]
    TooLong { len: usize, max: usize },
    /// A caller passed an argument out of range.
    #[error("invalid argument: {0}")]
    BadArgument(String),
    /// The bytes are not a PNG, or a truncated or corrupt one.
    #[error("this file is not a readable PNG image ({0})")]
    NotAnImage(String),
    /// The image (`width`×`height` pixels) is over 16384 pixels a side or 40 megapixels.
    #[error(
        "this image is {width}×{height} pixels; images up to 16384 pixels a side and 40 \
         megapixels in all are accepted"
    )]
    ImageTooLarge { width: u32, height: u32 },
    /// No QR code was found in the image.
    #[error("the image contains no QR code")]
    NoQrCode,
    /// A QR code was found but its content could not be read.
    #[error("a QR code was found in the image but could not be read: {0}")]
    Unreadable(String),
    /// The QR code could not be drawn.
    #[error("the QR code could not be drawn: {0}")]
    Render(String),
}

/// The text form of a payload: [`TEXT_PREFIX`] followed by the payload in base45.
///
/// Refuses an empty payload ([`QrError::Empty`]), which [`from_text`] would not accept back,
/// and one over [`MAX_PAYLOAD`] bytes ([`QrError::TooLong`]).
pub fn to_text(bytes: &[u8]) -> Result<String, QrError> {
    if bytes.is_empty() {
        return Err(QrError::Empty);
    }
    if bytes.len() > MAX_PAYLOAD {
        return Err(too_long(bytes.len(), MAX_PAYLOAD));
    }
    Ok(format!("{TEXT_PREFIX}{}", base45::encode(bytes)))
}

/// The payload of a text made by [`to_text`], pasted or scanned.
///
/// Surrounding whitespace is ignored: base45 uses the space, but never as its last character
/// (a group's last digit is at most 32 of 44), and its first character follows the prefix. The
/// prefix is case-sensitive and only the canonical base45 spelling is accepted, so that one
/// payload has exactly one text.
pub fn from_text(text: &str) -> Result<Vec<u8>, QrError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QrError::Empty);
    }
    let Some(body) = text.strip_prefix(TEXT_PREFIX) else {
        let mut found: String = text.chars().take(16).collect();
        if text.chars().nth(16).is_some() {
            found.push('…');
        }
        return Err(QrError::BadPrefix { found });
    };
    if body.is_empty() {
        return Err(QrError::Empty);
    }
    let bytes = base45::decode(body).map_err(|_| QrError::BadBase45)?;
    // base45 3.2 wraps a final pair above 255 ("ZZ") into a byte instead of refusing it.
    if base45::encode(&bytes) != body {
        return Err(QrError::BadBase45);
    }
    if bytes.len() > MAX_PAYLOAD {
        return Err(too_long(bytes.len(), MAX_PAYLOAD));
    }
    Ok(bytes)
}

/// The version (1 to 40: the symbol is 17 + 4 × version modules wide) of the QR code
/// [`render_svg`] and [`render_png`] draw for `text`.
pub fn version_of(text: &str) -> Result<u8, QrError> {
    match encode(text)?.version() {
        qrcode::Version::Normal(v) => Ok(u8::try_from(v).unwrap_or(u8::MAX)),
        qrcode::Version::Micro(_) => Err(QrError::Render("a micro QR code was made".into())),
    }
}

/// A standalone SVG document of the QR code for `text`: black modules on white, 4 units a
/// module, with a quiet zone of 4 modules.
pub fn render_svg(text: &str) -> Result<String, QrError> {
    let code = encode(text)?;
    Ok(code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(SVG_MODULE_PX, SVG_MODULE_PX)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The QR code for `text` as 8-bit greyscale pixels (0 black, 255 white), each module
/// `module_px`×`module_px` (1 to 32), with a quiet zone of 4 modules: the square's side and
/// its pixels, row by row.
pub fn render_luma(text: &str, module_px: u32) -> Result<(u32, Vec<u8>), QrError> {
    if !(1..=32).contains(&module_px) {
        let msg = format!("a module must be 1 to 32 pixels wide, not {module_px}");
        return Err(QrError::BadArgument(msg));
    }
    let code = encode(text)?;
    let (side, luma) = rasterize(code.width(), &code.to_colors(), module_px as usize);
    let side = u32::try_from(side).map_err(|_| QrError::Render("the image is too large".into()))?;
    Ok((side, luma))
}

/// An 8-bit greyscale PNG of the QR code for `text`, each module `module_px`×`module_px`
/// pixels (1 to 32), with a quiet zone of 4 modules.
pub fn render_png(text: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    if !(1..=32).contains(&module_px) {
        let msg = format!("a module must be 1 to 32 pixels wide, not {module_px}");
        return Err(QrError::BadArgument(msg));
    }
    let (side, luma) = render_luma(text, module_px)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let render_err = |e: png::EncodingError| QrError::Render(e.to_string());
    let mut writer = encoder.write_header().map_err(render_err)?;
    writer.write_image_data(&luma).map_err(render_err)?;
    writer.finish().map_err(render_err)?;
    Ok(out)
}

/// The text of the first readable QR code in a PNG image of any colour type and bit depth;
/// transparent pixels count as white.
///
/// The size is checked from the header, before any pixel memory is allocated.
pub fn decode_png(png: &[u8]) -> Result<String, QrError> {
    let not_image = |e: png::DecodingError| QrError::NotAnImage(e.to_string());
    let mut decoder = png::Decoder::new(Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    let (width, height) = {
        let info = decoder.read_header_info().map_err(not_image)?;
        (info.width, info.height)
    };
    check_size(width, height)?;
    let mut reader = decoder.read_info().map_err(not_image)?;
    let size = reader
        .output_buffer_size()
        .ok_or(QrError::ImageTooLarge { width, height })?;
    let mut frame = vec![0; size];
    let info = reader.next_frame(&mut frame).map_err(not_image)?;
    let luma = frame_to_luma(&frame, &info)?;
    find_text(info.width, info.height, &luma)
}

/// The text of the first readable QR code in a raw 8-bit greyscale frame, row by row
/// (e.g. from a camera). The same size limits as [`decode_png`] apply.
pub fn decode_luma(width: u32, height: u32, luma: &[u8]) -> Result<String, QrError> {
    check_size(width, height)?;
    let expected = u64::from(width) * u64::from(height);
    if u64::try_from(luma.len()).ok() != Some(expected) {
        let len = luma.len();
        let msg = format!("a {width}×{height} frame has {expected} bytes, not {len}");
        return Err(QrError::BadArgument(msg));
    }
    find_text(width, height, luma)
}

/// The QR code for `text` at level M (15% of it may be damaged) if it fits, else at L (7%):
/// only the longest invites need L.
fn encode(text: &str) -> Result<QrCode, QrError> {
    if text.len() > MAX_TEXT {
        return Err(too_long(text.len(), MAX_TEXT));
    }
    let alphanumeric = text.bytes().all(|b| QR_ALPHANUMERIC.contains(&b));
    for ec in [EcLevel::M, EcLevel::L] {
        let code = if alphanumeric {
            alphanumeric_bits(text, ec).and_then(|bits| QrCode::with_bits(bits, ec))
        } else {
            QrCode::with_error_correction_level(text, ec)
        };
        match code {
            Ok(code) => return Ok(code),
            Err(EncodeError::DataTooLong) => {}
            Err(e) => return Err(QrError::Render(e.to_string())),
        }
    }
    let msg = "the text does not fit in one QR code";
    Err(QrError::Render(msg.into()))
}

/// One alphanumeric segment in the smallest version that holds it: its capacity is the one
/// [`MAX_PAYLOAD`] was chosen for, which qrcode's segment optimiser does not promise.
fn alphanumeric_bits(text: &str, ec: EcLevel) -> Result<Bits, EncodeError> {
    for version in 1..=40 {
        let mut bits = Bits::new(Version::Normal(version));
        if bits.push_alphanumeric_data(text.as_bytes()).is_ok() && bits.push_terminator(ec).is_ok()
        {
            return Ok(bits);
        }
    }
    Err(EncodeError::DataTooLong)
}

const fn too_long(len: usize, max: usize) -> QrError {
    QrError::TooLong { len, max }
}

/// A white square frame with the `n`×`n` modules drawn black, quiet zone included.
fn rasterize(n: usize, modules: &[Color], px: usize) -> (usize, Vec<u8>) {
    let side = (n + 2 * QUIET_ZONE) * px;
    let mut luma = vec![255; side * side];
    for (i, colour) in modules.iter().enumerate() {
        if *colour == Color::Light {
            continue;
        }
        let (left, top) = ((i % n + QUIET_ZONE) * px, (i / n + QUIET_ZONE) * px);
        for y in top..top + px {
            let start = y * side + left;
            if let Some(row) = luma.get_mut(start..start + px) {
                row.fill(0);
            }
        }
    }
    (side, luma)
}

fn check_size(width: u32, height: u32) -> Result<(), QrError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(QrError::ImageTooLarge { width, height });
    }
    Ok(())
}

/// Greyscale of an 8-bit frame, composited over white: codes are often drawn on transparency.
fn frame_to_luma(frame: &[u8], info: &png::OutputInfo) -> Result<Vec<u8>, QrError> {
    // normalize_to_color8 expands palettes and strips 16-bit samples, so neither is left.
    if info.color_type == png::ColorType::Indexed || info.bit_depth != png::BitDepth::Eight {
        let msg = "its pixel format is not supported";
        return Err(QrError::NotAnImage(msg.into()));
    }
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let mut luma = Vec::with_capacity(width.saturating_mul(height));
    for y in 0..height {
        let row = y
            .checked_mul(info.line_size)
            .and_then(|start| frame.get(start..)?.get(..width.checked_mul(channels)?))
            .ok_or_else(|| QrError::NotAnImage("its pixel data is incomplete".into()))?;
        luma.extend(row.chunks_exact(channels).map(grey));
    }
    Ok(luma)
}

fn grey(px: &[u8]) -> u8 {
    let rgb = |r, g, b| (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000;
    let (v, a) = match *px {
        [l] => (u32::from(l), 255),
        [l, a] => (u32::from(l), u32::from(a)),
        [r, g, b] => (rgb(r, g, b), 255),
        [r, g, b, a] => (rgb(r, g, b), u32::from(a)),
        _ => (255, 255),
    };
    u8::try_from((v * a + 255 * (255 - a)) / 255).unwrap_or(u8::MAX)
}

fn find_text(width: u32, height: u32, luma: &[u8]) -> Result<String, QrError> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 {
        return Err(QrError::NoQrCode);
    }
    // rqrr has panicked on degenerate grids before (issue #54 upstream); a hostile image must
    // cost the caller an error, not the process.
    let found = catch_unwind(AssertUnwindSafe(|| {
        let grey = |x: usize, y: usize| luma.get(y * w + x).copied().unwrap_or(u8::MAX);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
        let mut failure = QrError::NoQrCode;
        for grid in image.detect_grids() {
            match grid.decode() {
                Ok((_, text)) => return Ok(text),
                Err(e) => failure = QrError::Unreadable(reason(e).into()),
            }
        }
        Err(failure)
    }));
    found.unwrap_or_else(|_| Err(QrError::Unreadable("the QR reader failed on it".into())))
}

fn reason(e: rqrr::DeQRError) -> &'static str {
    match e {
        rqrr::DeQRError::DataEcc => "too much of it is damaged or blurred to correct",
        rqrr::DeQRError::FormatEcc => "its format information is damaged",
        rqrr::DeQRError::InvalidVersion => "its size could not be worked out",
        rqrr::DeQRError::InvalidGridSize => "its size could not be worked out",
        rqrr::DeQRError::EncodingError => "its content is not text",
        _ => "its content is malformed",
    }
}

#[cfg(test)]
mod tests {
    use super::QrError::*;
    use super::*;
    use png::{BitDepth, ColorType};
    use proptest::prelude::*;

    macro_rules! assert_err {
        ($result:expr, $pattern:pat) => {{
            let result = $result;
            assert!(matches!(result, Err($pattern)), "{result:?}");
        }};
    }

    /// Deterministic filler (a linear congruential generator), so failures reproduce.
    fn fill(len: usize, mut s: u64) -> Vec<u8> {
        let mut next = || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            s.to_be_bytes()[0]
        };
        (0..len).map(|_| next()).collect()
    }

    /// A 640×480 webcam frame: the QR code of `text` `side` pixels wide
    /// (scaled, nearest neighbour) on a grey background, off centre,
    /// blurred with a 3×3 box (out of focus by about a pixel) and with
    /// sensor noise.
    fn webcam_frame(text: &str, side: usize, seed: u64) -> Vec<u8> {
        let (w, h) = (640usize, 480usize);
        let (n, luma) = frame(text, 1);
        let n = n as usize;
        let mut img = vec![128u8; w * h];
        let (left, top) = (140, 50);
        for y in 0..side {
            for x in 0..side {
                // Black on white, a little washed out, as a lit screen looks.
                let v = luma[(y * n / side) * n + x * n / side];
                img[(top + y) * w + left + x] = if v == 0 { 40 } else { 215 };
            }
        }
        {
            let src = img.clone();
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let mut sum = 0u32;
                    for dy in 0..3 {
                        for dx in 0..3 {
                            sum += u32::from(src[(y + dy - 1) * w + x + dx - 1]);
                        }
                    }
                    img[y * w + x] = (sum / 9) as u8;
                }
            }
        }
        for (p, noise) in img.iter_mut().zip(fill(w * h, seed)) {
            *p = p.saturating_add(noise % 16).saturating_sub(8);
        }
        img
    }

    #[test]
    fn a_version_10_code_on_a_blurred_webcam_frame_decodes() {
        // The largest invite link (204 bytes): its text needs version 10.
        let text = to_text(&fill(204, 3)).unwrap();
        assert_eq!(version_of(&text).unwrap(), 10);
        // 57 modules and the quiet zone in about 380 pixels: under 6 pixels a
        // module, as a phone held 30 cm from a laptop screen sees it.
        let img = webcam_frame(&text, 380, 11);
        assert_eq!(decode_luma(640, 480, &img).unwrap(), text);
        // The full invite (2,400 characters, version 31) does not survive
        // the same frame: too many modules for the pixels.
        let long = to_text(&fill(1_600, 5)).unwrap();
        assert!(version_of(&long).unwrap() > 30);
        assert!(decode_luma(640, 480, &webcam_frame(&long, 380, 11)).is_err());
    }

    fn frame(text: &str, px: usize) -> (u32, Vec<u8>) {
        let code = encode(text).unwrap();
        let (side, luma) = rasterize(code.width(), &code.to_colors(), px);
        (side as u32, luma)
    }

    fn write_png(w: u32, h: u32, (colour, depth): Format, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(colour);
        enc.set_depth(depth);
        if colour == ColorType::Indexed {
            enc.set_palette(vec![250, 250, 235, 20, 70, 20]);
        }
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    type Format = (ColorType, BitDepth);
    const GREY: Format = (ColorType::Grayscale, BitDepth::Eight);
    const RGBA: Format = (ColorType::Rgba, BitDepth::Eight);
    const GREY_ALPHA16: Format = (ColorType::GrayscaleAlpha, BitDepth::Sixteen);
    const INDEXED: Format = (ColorType::Indexed, BitDepth::Eight);

    fn message<T: std::fmt::Debug>(result: Result<T, QrError>) -> String {
        result.unwrap_err().to_string()
    }

    /// A PNG signature and IHDR only, declaring any size.
    fn bare_header(w: u32, h: u32) -> Vec<u8> {
        let (w, h) = (w.to_be_bytes(), h.to_be_bytes());
        let ihdr = [&b"IHDR"[..], &w, &h, &[8, 0, 0, 0, 0]].concat();
        let mut crc = !0u32;
        for &b in &ihdr {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
        let signature_and_length = b"\x89PNG\r\n\x1a\n\0\0\0\x0d";
        [&signature_and_length[..], &ihdr, &(!crc).to_be_bytes()].concat()
    }

    #[test]
    fn base45_never_ends_with_a_space() {
        for v in 0..=u16::MAX {
            assert!(!base45::encode(v.to_be_bytes()).ends_with(' '));
        }
        for b in 0..=u8::MAX {
            assert!(!base45::encode([b]).ends_with(' '));
        }
    }

    #[test]
    fn inner_spaces_survive_trimming() {
        // [0, 36] encodes to " 00", so the body starts with a space and has one inside.
        let payload = [0, 36, 1, 2, 0, 36, 9];
        let text = to_text(&payload).unwrap();
        assert!(text.starts_with("ZKS1: 00") && text[6..].contains(' '));
        assert_eq!(from_text(&format!(" \r\n\t{text}\r\n ")).unwrap(), payload);
    }

    #[test]
    fn text_errors() {
        let hello = "this is not a ZKS code: it starts with \"hello\" instead of ZKS1:";
        assert_eq!(message(from_text(" hello ")), hello);
        let found = "zks1:ABCDEFGHIJK…".to_owned();
        assert_eq!(from_text("zks1:ABCDEFGHIJKLMNOP"), Err(BadPrefix { found }));
        assert_eq!(from_text("  \r\n"), Err(Empty));
        assert_eq!(from_text("ZKS1:\n"), Err(Empty));
        assert_eq!(to_text(&[]), Err(Empty));
        for body in ["AB@", "ABCD", "ZZ", "ZZZ", "ab", "AB\nC"] {
            assert_eq!(from_text(&format!("ZKS1:{body}")), Err(BadBase45));
        }
        let long = vec![7; MAX_PAYLOAD + 1];
        assert_eq!(to_text(&long), Err(too_long(2601, 2600)));
        let long_text = format!("ZKS1:{}", base45::encode(&long));
        assert_eq!(from_text(&long_text), Err(too_long(2601, 2600)));
    }

    #[test]
    fn png_round_trips_at_the_expected_versions() {
        let (m, l) = (EcLevel::M, EcLevel::L);
        let sizes = [
            (1, 1, m),
            (100, 7, m),
            (1300, 30, m),
            (1400, 31, m),
            (2000, 38, m),
        ];
        for (len, version, ec) in sizes.into_iter().chain([(MAX_PAYLOAD, 38, l)]) {
            let payload = fill(len, len as u64);
            let text = to_text(&payload).unwrap();
            let code = encode(&text).unwrap();
            let chosen = (code.version(), code.error_correction_level());
            assert_eq!(chosen, (Version::Normal(version), ec), "{len} bytes");
            let read = decode_png(&render_png(&text, 3).unwrap()).unwrap();
            assert_eq!(from_text(&read).unwrap(), payload, "{len} bytes");
        }
    }

    #[test]
    fn other_png_formats_decode() {
        let text = to_text(&fill(300, 3)).unwrap();
        let (side, luma) = frame(&text, 3);
        // Dark blue on transparent red: only compositing over white makes the red light.
        let colour = |l| [[255, 0, 0, 0], [0, 0, 128, 255]][usize::from(l == 0)];
        let rgba: Vec<u8> = luma.iter().flat_map(|&l| colour(l)).collect();
        let png = write_png(side, side, RGBA, &rgba);
        assert_eq!(decode_png(&png).unwrap(), text);
        let grey16: Vec<u8> = luma.iter().flat_map(|&l| [l, l, 255, 255]).collect();
        let png = write_png(side, side, GREY_ALPHA16, &grey16);
        assert_eq!(decode_png(&png).unwrap(), text);
        // Indexed, and scaled up twice.
        let s = side as usize;
        let dark = |i: usize| luma[(i / (2 * s) / 2) * s + (i % (2 * s)) / 2] == 0;
        let indexed: Vec<u8> = (0..4 * s * s).map(|i| u8::from(dark(i))).collect();
        let png = write_png(2 * side, 2 * side, INDEXED, &indexed);
        assert_eq!(decode_png(&png).unwrap(), text);
    }

    #[test]
    fn a_code_inside_a_larger_canvas_decodes() {
        let text = to_text(&fill(500, 5)).unwrap();
        let (side, luma) = frame(&text, 2);
        assert_eq!(decode_luma(side, side, &luma).unwrap(), text);
        let (w, h, (dx, dy)) = (900, 700, (123, 77));
        let mut canvas = vec![240; w * h];
        for (y, row) in luma.chunks(side as usize).enumerate() {
            canvas[(y + dy) * w + dx..][..row.len()].copy_from_slice(row);
        }
        assert_eq!(decode_luma(w as u32, h as u32, &canvas).unwrap(), text);
        let png = write_png(w as u32, h as u32, GREY, &canvas);
        assert_eq!(decode_png(&png).unwrap(), text);
    }

    #[test]
    fn svg_is_a_scannable_document() {
        let text = to_text(b"safety code").unwrap();
        let svg = render_svg(&text).unwrap();
        let side = (encode(&text).unwrap().width() + 8) * 4;
        assert!(svg.starts_with("<?xml") && svg.ends_with("</svg>"));
        assert!(svg.contains(&format!(r#"width="{side}" height="{side}""#)));
        // Rasterise the path ("M{x} {y}h4v4H{x}V{y}" per dark module) and read it back.
        let mut luma = vec![255; side * side];
        let path = svg.split(r#" d=""#).nth(1).unwrap();
        for rect in path.split('M').skip(1) {
            let mut nums = rect.split(|c: char| !c.is_ascii_digit());
            let mut next = || nums.next().unwrap().parse::<usize>().unwrap();
            let (x, y, w, h) = (next(), next(), next(), next());
            for row in y..y + h {
                luma[row * side + x..][..w].fill(0);
            }
        }
        assert_eq!(decode_luma(side as u32, side as u32, &luma).unwrap(), text);
    }

    #[test]
    fn image_errors() {
        assert_err!(decode_png(b"GIF89a, not a PNG"), NotAnImage(_));
        let png = render_png(&to_text(&fill(200, 9)).unwrap(), 2).unwrap();
        for cut in [10, 40, png.len() / 2, png.len() - 13] {
            assert_err!(decode_png(&png[..cut]), NotAnImage(_));
        }
        // The hand-made header is well formed: a small one fails only for lack of pixel data.
        assert_err!(decode_png(&bare_header(10, 10)), NotAnImage(_));
        let huge = message(decode_png(&bare_header(20000, 20000)));
        let limits = "images up to 16384 pixels a side and 40 megapixels in all are accepted";
        assert_eq!(huge, format!("this image is 20000×20000 pixels; {limits}"));
        assert_err!(decode_png(&bare_header(10000, 5000)), ImageTooLarge { .. });
        assert_err!(decode_luma(10000, 5000, &[]), ImageTooLarge { .. });
        let white = write_png(64, 48, GREY, &[255; 64 * 48]);
        assert_eq!(message(decode_png(&white)), "the image contains no QR code");
        assert_eq!(decode_luma(0, 0, &[]), Err(QrError::NoQrCode));
        assert_err!(decode_luma(4, 4, &[0; 15]), BadArgument(_));
    }

    #[test]
    fn a_damaged_code_is_unreadable() {
        let code = encode(&to_text(&fill(60, 6)).unwrap()).unwrap();
        let n = code.width();
        assert_eq!(n, 37, "from version 7 on, version blocks would be flipped");
        // Flip half the modules away from finders, timing, format and alignment patterns.
        let mut modules = code.to_colors();
        for (i, m) in modules.iter_mut().enumerate() {
            let (x, y) = (i % n, i / n);
            if (9..n - 9).contains(&x) && (9..n - 9).contains(&y) && (x + y) % 2 == 0 {
                *m = !*m;
            }
        }
        let (side, luma) = rasterize(n, &modules, 4);
        let side = side as u32;
        assert_err!(decode_luma(side, side, &luma), Unreadable(_));
    }

    #[test]
    fn render_errors() {
        assert_err!(render_png("ZKS1:00", 0), BadArgument(_));
        assert_err!(render_png("ZKS1:00", 33), BadArgument(_));
        assert!(render_png("ZKS1:00", 1).is_ok() && render_png("ZKS1:00", 32).is_ok());
        let long = "A".repeat(MAX_TEXT + 1);
        assert_eq!(render_svg(&long), Err(too_long(MAX_TEXT + 1, MAX_TEXT)));
        // Lower case needs byte mode, where 3000 characters do not fit.
        assert_err!(render_png(&"a".repeat(3000), 1), Render(_));
        assert_err!(render_svg(&"a".repeat(3000)), Render(_));
        let png = render_png("hello, world", 2).unwrap();
        assert_eq!(decode_png(&png).unwrap(), "hello, world");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn text_round_trips(bytes in prop::collection::vec(any::<u8>(), 1..=MAX_PAYLOAD)) {
            prop_assert_eq!(from_text(&to_text(&bytes)?)?, bytes);
        }

        #[test]
        fn from_text_never_panics(any in "\\PC{0,40}", body in "[0-9A-Z $%*+./:-]{0,40}") {
            let _ = from_text(&any);
            let _ = from_text(&format!("ZKS1:{body}"));
        }

        #[test]
        fn decode_png_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), at: usize) {
            let _ = decode_png(&bytes);
            let mut png = render_png("ZKS1:PROPTEST", 1).unwrap();
            let i = at % png.len();
            png[i] ^= bytes.first().copied().unwrap_or(1);
            png.truncate(png.len() - at % 8);
            let _ = decode_png(&png);
        }

        #[test]
        fn decode_luma_never_panics(w in 1u32..64, h in 1u32..64, seed: u64) {
            let _ = decode_luma(w, h, &fill((w * h) as usize, seed));
        }
    }
}
