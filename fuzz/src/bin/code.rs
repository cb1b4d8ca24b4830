//! AFL target: see [`zks_fuzz::code`].

fn main() {
    afl::fuzz!(|data: &[u8]| zks_fuzz::code(data));
}
