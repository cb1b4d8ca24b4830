//! Machine-readable output shared by every `--json` flag.

use std::io::Write;

use serde::Serialize;

/// Prints `value` as one line of JSON on stdout.
pub(crate) fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
