//! Human-readable logs on stderr, filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide log subscriber: human-readable lines on stderr,
/// level from `RUST_LOG` (default `warn` for dependencies, `info` for us).
/// Calling it twice is harmless.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,zks=info,zks_desktop=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
