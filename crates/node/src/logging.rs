//! Human-readable logs on stderr, filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide log subscriber: human-readable lines on stderr,
/// level from `RUST_LOG`, else `default` (e.g. `warn` for one-shot CLI
/// commands, `warn,zks=info` for long-running processes). Calling it twice
/// is harmless.
pub fn init_logging(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
