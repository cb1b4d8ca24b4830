//! AFL target: see [`zks_fuzz::envelope`].

fn main() {
    afl::fuzz!(|data: &[u8]| zks_fuzz::envelope(data));
}
