//! Replays every file under `regressions/<target>/` (crashers AFL found,
//! kept after the fix) and the seed corpus through the targets, so that a
//! plain `cargo test` in this folder checks them without AFL.

use std::path::Path;

#[test]
fn every_kept_input_runs_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for (name, target) in zks_fuzz::TARGETS {
        for dir in ["regressions", "corpus"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            for entry in entries.flatten() {
                let data = std::fs::read(entry.path()).expect("read a kept input");
                target(&data);
                count += 1;
            }
        }
    }
    println!("{count} kept inputs replayed");
}
