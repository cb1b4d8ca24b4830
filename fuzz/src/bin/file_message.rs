//! AFL target: see [`zks_fuzz::file_message`].

fn main() {
    afl::fuzz!(|data: &[u8]| zks_fuzz::file_message(data));
}
