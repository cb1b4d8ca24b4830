//! AFL target: see [`zks_fuzz::backup`].

fn main() {
    afl::fuzz!(|data: &[u8]| zks_fuzz::backup(data));
}
