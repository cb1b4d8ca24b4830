//! AFL target: see [`zks_fuzz::session`].

fn main() {
    afl::fuzz!(|data: &[u8]| zks_fuzz::session(data));
}
