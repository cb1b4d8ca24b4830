//! The ASCII armor of age files (what `tlock-js` writes by default and
//! `tle --armor` writes): the binary file in padded base64, 64 columns,
//! between `-----BEGIN AGE ENCRYPTED FILE-----` and
//! `-----END AGE ENCRYPTED FILE-----`.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::TlockError;

pub(crate) const BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const END: &str = "-----END AGE ENCRYPTED FILE-----";
/// Bytes per armored line (64 base64 columns).
const LINE_BYTES: usize = 48;

/// Whether `start` (the first bytes of a file) looks armored.
pub(crate) fn is_armored(start: &[u8]) -> bool {
    let trimmed = start.trim_ascii_start();
    trimmed.starts_with(&BEGIN.as_bytes()[..trimmed.len().min(BEGIN.len())]) && !trimmed.is_empty()
}

/// Decodes an armored file.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, TlockError> {
    let bad = |why: &str| TlockError::Malformed(format!("armor: {why}"));
    let text = std::str::from_utf8(text).map_err(|_| bad("not text"))?;
    let text = text.trim_ascii();
    let inner = text
        .strip_prefix(BEGIN)
        .ok_or_else(|| bad("no BEGIN line"))?;
    let inner = inner.strip_suffix(END).ok_or(TlockError::Truncated)?;
    let mut joined = String::with_capacity(inner.len());
    for line in inner.lines() {
        let line = line.trim_end_matches('\r');
        if line.len() > 64 {
            return Err(bad("a line is longer than 64 columns"));
        }
        joined.push_str(line);
    }
    STANDARD
        .decode(joined.as_bytes())
        .map_err(|_| bad("not base64"))
}

/// Writes armored output as the binary file is written through it; call
/// [`ArmorWriter::finish`] at the end.
pub(crate) struct ArmorWriter<W: Write> {
    out: W,
    pending: Vec<u8>,
}

impl<W: Write> ArmorWriter<W> {
    pub(crate) fn new(mut out: W) -> std::io::Result<ArmorWriter<W>> {
        out.write_all(BEGIN.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(ArmorWriter {
            out,
            pending: Vec::new(),
        })
    }

    fn flush_lines(&mut self, all: bool) -> std::io::Result<()> {
        let whole = if all {
            self.pending.len()
        } else {
            self.pending.len() / LINE_BYTES * LINE_BYTES
        };
        let mut text = String::new();
        for line in self.pending[..whole].chunks(LINE_BYTES) {
            STANDARD.encode_string(line, &mut text);
            text.push('\n');
        }
        self.out.write_all(text.as_bytes())?;
        self.pending.drain(..whole);
        Ok(())
    }

    /// Writes what is left and the END line; returns the inner writer.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.flush_lines(true)?;
        self.out.write_all(END.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ArmorWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= 64 * LINE_BYTES {
            self.flush_lines(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
