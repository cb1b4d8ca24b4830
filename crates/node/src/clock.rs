//! The one clock of the node: Unix time in seconds, for beacon rounds,
//! outbox retries, invites and status reports.

/// Seconds since the Unix epoch (0 if the system clock is before it).
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
