//! Timelocking a large file, against sealing it the way a file transfer
//! does, on the same bytes: `cargo run --release -p zks-tlock --example gib
//! [SIZE_MIB] [RUNS]` (default 1024 MiB, 5 runs). File to file through 1 MiB
//! buffers, the input in the page cache for every operation alike.
//!
//! - `tlock seal` / `tlock open`: `zks_tlock::seal` / `read_header` +
//!   `open` to a devnet round (the IBE to the round, the age header and its
//!   MAC, the ChaCha20-Poly1305 STREAM payload). The beacon is verified once
//!   before the timing (as the cache hands over verified beacons).
//! - `grid chunks seal` / `open`: `zks_pad::file::seal_grid_chunk` /
//!   `open_grid_chunk` over 1 MiB chunks (BLAKE3 keystream and MAC), what a
//!   grid-pad file transfer does per chunk, without the network.
//! - `blake3`: hashing the file once (a floor for one pass over the bytes).

use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use zks_beacon::{DevnetSigner, ReferenceVerifier, Scheme};

const BUF: usize = 1 << 20;

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir_in(std::env::var("ZKS_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("temp dir");
    let plain = dir.path().join("plain.bin");
    let locked = dir.path().join("locked.age");
    let opened = dir.path().join("opened.bin");
    let chunks = dir.path().join("chunks.bin");
    let back = dir.path().join("back.bin");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    {
        let mut out = BufWriter::new(std::fs::File::create(&plain).unwrap());
        let mut buf = vec![0u8; BUF];
        for _ in 0..mib {
            rng.fill_bytes(&mut buf);
            out.write_all(&buf).unwrap();
        }
    }
    let signer = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_700_000_000);
    let chain = signer.chain().clone();
    let beacon = ReferenceVerifier::new(&chain)
        .unwrap()
        .verified(signer.sign(1000, None).unwrap())
        .unwrap();
    let key = [7u8; 32];
    let id = [9u8; 16];
    let open_file =
        |p: &std::path::Path| BufReader::with_capacity(BUF, std::fs::File::open(p).unwrap());
    let create =
        |p: &std::path::Path| BufWriter::with_capacity(BUF, std::fs::File::create(p).unwrap());

    let mut times: Vec<(&str, Vec<f64>)> = vec![
        ("tlock seal", vec![]),
        ("tlock open", vec![]),
        ("grid chunks seal", vec![]),
        ("grid chunks open", vec![]),
        ("blake3", vec![]),
    ];
    for run in 0..runs {
        let t = Instant::now();
        let mut out = create(&locked);
        zks_tlock::seal(
            &chain,
            1000,
            &mut open_file(&plain),
            &mut out,
            false,
            &mut rng,
        )
        .unwrap();
        out.into_inner().unwrap().sync_all().unwrap();
        times[0].1.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut out = create(&opened);
        zks_tlock::read_header(open_file(&locked))
            .unwrap()
            .open(&chain, &beacon, &mut out)
            .unwrap();
        out.into_inner().unwrap().sync_all().unwrap();
        times[1].1.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut input = open_file(&plain);
        let mut out = create(&chunks);
        let mut buf = vec![0u8; BUF];
        let mut index = 0;
        loop {
            let n = read_full(&mut input, &mut buf);
            if n == 0 {
                break;
            }
            out.write_all(&zks_pad::file::seal_grid_chunk(&key, &id, index, &buf[..n]))
                .unwrap();
            index += 1;
        }
        out.into_inner().unwrap().sync_all().unwrap();
        times[2].1.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut input = open_file(&chunks);
        let mut out = create(&back);
        let mut buf = vec![0u8; BUF + 32];
        let mut index = 0;
        loop {
            let n = read_full(&mut input, &mut buf);
            if n == 0 {
                break;
            }
            let text = zks_pad::file::open_grid_chunk(&key, &id, index, (n - 32) as u64, &buf[..n])
                .unwrap();
            out.write_all(&text).unwrap();
            index += 1;
        }
        out.into_inner().unwrap().sync_all().unwrap();
        times[3].1.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(open_file(&plain)).unwrap();
        std::hint::black_box(hasher.finalize());
        times[4].1.push(t.elapsed().as_secs_f64());
        eprintln!("run {} of {runs} done", run + 1);
    }
    assert_eq!(
        blake3::hash(&std::fs::read(&opened).unwrap()),
        blake3::hash(&std::fs::read(&plain).unwrap())
    );
    assert_eq!(
        std::fs::metadata(&back).unwrap().len(),
        std::fs::metadata(&plain).unwrap().len()
    );
    println!("{mib} MiB, {runs} runs, file to file (page cache), release build");
    println!("| operation | median ms | min–max ms | MiB/s (median) |");
    println!("|---|---|---|---|");
    let mut medians = Vec::new();
    for (name, mut t) in times {
        t.sort_by(f64::total_cmp);
        let median = t[t.len() / 2];
        medians.push(median);
        println!(
            "| {name} | {:.1} | {:.1}–{:.1} | {:.0} |",
            median * 1e3,
            t[0] * 1e3,
            t[t.len() - 1] * 1e3,
            mib as f64 / median
        );
    }
    println!(
        "tlock seal / grid chunks seal = {:.2}; tlock open / grid chunks open = {:.2}",
        medians[0] / medians[2],
        medians[1] / medians[3]
    );
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]).unwrap() {
            0 => break,
            n => filled += n,
        }
    }
    filled
}
