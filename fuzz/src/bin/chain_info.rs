//! AFL target: see [`zks_fuzz::chain_info`].

fn main() {
    afl::fuzz!(|data: &[u8]| zks_fuzz::chain_info(data));
}
