//! How fast `Store::search` answers over a large history: fills an
//! encrypted store with 100,000 chat messages (10 contacts, 3–30 words
//! each, words drawn with a Zipf-like skew from an English core and 4,000
//! made-up words, a few file offers), then times typical searches: a very
//! common word, a rare one, two words, a word being typed (1, 2 and 3
//! letters), one contact's conversation, and a word that is nowhere.
//! Prints the median and the spread (10th–90th percentile, min, max) of
//! each. Not asserted anywhere; the target is under 50 ms (issue 20).
//!
//! `cargo bench -p zks-store --bench search` (release). `ZKS_BENCH_MESSAGES`
//! changes the history's size.

use std::time::{Duration, Instant};

use zks_store::{NewContact, NewMessage, Store, StoreKey};

/// Searches timed per query (after warming up).
const RUNS: usize = 200;
/// Hits asked for, as the CLI's default.
const LIMIT: usize = 50;

/// The most frequent words, in rank order, then made-up ones.
const CORE: &[&str] = &[
    "the", "you", "i", "to", "a", "and", "it", "is", "that", "in", "me", "we", "for", "of", "on",
    "be", "have", "do", "what", "this", "ok", "so", "at", "are", "can", "just", "but", "not",
    "see", "will", "with", "my", "yes", "no", "get", "know", "call", "time", "now", "there",
    "here", "good", "how", "when", "today", "tomorrow", "tonight", "home", "work", "meeting",
    "lunch", "dinner", "thanks", "love", "sorry", "later", "soon", "weekend", "train", "late",
    "morning", "evening", "photo", "file", "send", "sent", "back", "week", "coffee", "office",
    "report", "friday", "monday", "sunday", "birthday", "party", "car", "harbour", "station",
    "doctor", "school", "kids", "plan", "meet", "where", "done",
];

/// A small deterministic generator (xorshift64*), so every run searches
/// the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn vocabulary(rng: &mut Rng) -> Vec<String> {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "an", "ti", "mus", "pe", "ra", "gon",
        "li", "be", "stra", "no", "qui", "el", "fa", "zu", "or", "win", "ha", "cet", "po", "ly",
    ];
    let mut words: Vec<String> = CORE.iter().map(|w| (*w).to_owned()).collect();
    while words.len() < CORE.len() + 4000 {
        let n = 2 + rng.below(3);
        let word: String = (0..n)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
            .collect();
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// A word with a Zipf-like skew: rank r is drawn with probability about
/// 1 / (r ln V) (log-uniform ranks).
fn word<'a>(rng: &mut Rng, words: &'a [String]) -> &'a str {
    let rank = (words.len() as f64).powf(rng.unit()) as usize - 1;
    &words[rank.min(words.len() - 1)]
}

fn contact(i: usize) -> NewContact {
    NewContact {
        name: format!("contact{i}"),
        peer_id: format!("peer-{i}"),
        identity_key: vec![1; 32],
        addresses: vec!["/ip4/127.0.0.1/tcp/1".into()],
        safety_code: "00000 11111".into(),
        role: "initiator".into(),
        session_id: format!("session-{i}").into_bytes(),
        session: vec![9; 10],
        rendezvous: Some(vec![5; 32]),
        reply: None,
    }
}

fn fill(store: &mut Store, messages: usize, words: &[String], rng: &mut Rng) -> Vec<i64> {
    let contacts: Vec<i64> = (0..10)
        .map(|i| {
            store
                .complete_pairing(format!("invite-{i}").as_bytes(), &contact(i))
                .expect("pair")
        })
        .collect();
    let mut left = messages;
    while left > 0 {
        let batch = left.min(5000);
        store
            .atomically(|store| {
                for _ in 0..batch {
                    let file = rng.below(50) == 0;
                    let body = if file {
                        format!("{}-{}.pdf", word(rng, words), word(rng, words))
                    } else {
                        let n = 3 + rng.below(28);
                        let mut text = String::new();
                        for i in 0..n {
                            if i > 0 {
                                text.push(' ');
                            }
                            text.push_str(word(rng, words));
                        }
                        text
                    };
                    let message = NewMessage {
                        outgoing: rng.below(2) == 0,
                        mode: "grid".into(),
                        kind: if file { "file" } else { "text" }.into(),
                        body: body.into_bytes(),
                        chain_hash: Some(vec![7; 32]),
                        round: Some(30_000_000 + rng.below(1_000_000)),
                        transfer: None,
                        ..NewMessage::default()
                    };
                    let to = contacts[rng.below(contacts.len() as u64) as usize];
                    store.record_message(to, None, None, &message)?;
                }
                Ok::<_, zks_store::StoreError>(())
            })
            .expect("fill");
        left -= batch;
    }
    contacts
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not:
    // then only check that a small history searches.
    let benching = std::env::args().any(|a| a == "--bench");
    let messages: usize = std::env::var("ZKS_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 100_000 } else { 1_000 });
    let runs = if benching { RUNS } else { 3 };

    let dir = tempfile::tempdir().expect("temp dir");
    let key = StoreKey::from_bytes([42; 32]);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let words = vocabulary(&mut rng);
    let mut store = Store::open_in(dir.path(), &key).expect("open");
    let started = Instant::now();
    let contacts = fill(&mut store, messages, &words, &mut rng);
    println!(
        "filled {messages} messages in {:.1} s (SQLite {})",
        started.elapsed().as_secs_f64(),
        Store::sqlite_version()
    );
    // Searched from a fresh open, as a new `zks search` process would.
    drop(store);
    let mut store = Store::open_in(dir.path(), &key).expect("reopen");
    // Messages are indexed by the first search after they were stored
    // (migration 11); here all of them at once, timed on their own.
    let started = Instant::now();
    let indexed = store.index_pending().expect("index");
    println!(
        "indexed {indexed} waiting messages in {:.2} s (what the first search after them pays)",
        started.elapsed().as_secs_f64()
    );

    let rare = words[CORE.len() + 2500].clone();
    let medium = words[CORE.len() + 20].clone();
    let queries: Vec<(&str, String, Option<i64>)> = vec![
        ("very common word", "the".into(), None),
        ("common word", "meeting".into(), None),
        ("uncommon word", rare.clone(), None),
        ("two words", format!("the {medium}"), None),
        ("three words", "see you tomorrow".into(), None),
        ("typing: 1 letter", "t".into(), None),
        ("typing: 2 letters", "ka".into(), None),
        ("typing: 3 letters", "lor".into(), None),
        ("one contact, common", "meeting".into(), Some(contacts[3])),
        ("one contact, uncommon", rare, Some(contacts[3])),
        ("no match", "zebracorn".into(), None),
    ];
    println!(
        "{:<22} {:>24} {:>6} {:>9} {:>17} {:>9} {:>9}",
        "query", "text", "hits", "median", "p10–p90", "min", "max"
    );
    for (what, text, contact) in &queries {
        let mut hits = 0;
        for _ in 0..runs.min(5) {
            hits = store.search(text, *contact, LIMIT).expect("search").len();
        }
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let found = store.search(text, *contact, LIMIT).expect("search");
                let took = start.elapsed();
                std::hint::black_box(found);
                took
            })
            .collect();
        times.sort();
        let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
        println!(
            "{what:<22} {:>24} {hits:>6} {:>6.2} ms {:>17} {:>6.2} ms {:>6.2} ms",
            format!("{text:?}"),
            at(0.5),
            format!("{:.2}–{:.2} ms", at(0.1), at(0.9)),
            at(0.0),
            at(1.0),
        );
    }
}
