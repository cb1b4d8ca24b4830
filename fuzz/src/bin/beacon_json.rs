//! AFL target: see [`zks_fuzz::beacon_json`].

fn main() {
    afl::fuzz!(|data: &[u8]| zks_fuzz::beacon_json(data));
}
