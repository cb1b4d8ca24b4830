//! Round ↔ time arithmetic. Round r is published at `genesis + (r-1)·period`;
//! the clock is always passed in, never read here.

use crate::chain::ChainInfo;

impl ChainInfo {
    /// The latest round published at Unix time `now` (0 before genesis).
    pub fn round_at(&self, now: u64) -> u64 {
        if now < self.genesis_time {
            return 0;
        }
        (now - self.genesis_time) / self.period + 1
    }

    /// The Unix time at which round `round` is published (genesis for round 0).
    pub fn time_of_round(&self, round: u64) -> u64 {
        let rounds_after_genesis = round.saturating_sub(1);
        self.genesis_time
            .saturating_add(rounds_after_genesis.saturating_mul(self.period))
    }

    /// Whether `round` had not yet been published at Unix time `now`.
    pub fn is_future(&self, round: u64, now: u64) -> bool {
        round > self.round_at(now)
    }
}

#[cfg(test)]
mod tests {
    use crate::chain::ChainInfo;

    #[test]
    fn rounds_and_times_agree_at_the_boundaries() {
        let q = ChainInfo::quicknet();
        assert_eq!(q.round_at(q.genesis_time - 1), 0);
        assert_eq!(q.round_at(q.genesis_time), 1);
        assert_eq!(q.round_at(q.genesis_time + 2), 1);
        assert_eq!(q.round_at(q.genesis_time + 3), 2);
        assert_eq!(q.time_of_round(1), q.genesis_time);
        assert_eq!(q.time_of_round(123), 1692803367 + 122 * 3);
        for round in [1, 2, 1000, 72785, 34_000_000] {
            assert_eq!(q.round_at(q.time_of_round(round)), round);
            assert_eq!(q.round_at(q.time_of_round(round) - 1), round - 1);
        }
    }

    #[test]
    fn future_rounds_are_detected() {
        let d = ChainInfo::default_chain();
        let now = d.time_of_round(100) + 29;
        assert!(!d.is_future(100, now));
        assert!(d.is_future(101, now));
        assert!(d.is_future(1, d.genesis_time - 1));
        assert!(!d.is_future(1, u64::MAX));
        assert_eq!(d.time_of_round(u64::MAX), u64::MAX);
    }
}
