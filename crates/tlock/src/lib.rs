//! drand timelock encryption ("tlock"): a file sealed to a future round of a
//! drand chain, which nobody can open until the chain publishes that
//! round's signature, and then everyone holding the file can.
//!
//! Files are age v1 files with one `tlock` stanza (`-> tlock <round>
//! <chain hash>`), binary or ASCII-armored, exactly as drand's `tle`, the
//! `tlock_age` crate and `tlock-js` write and read them; [`ibe`] is the
//! identity-based encryption of the age file key to the round.
//!
//! What this gives: nobody can open the file before the round's signature
//! exists, which the League of Entropy's threshold of signers produce at
//! the round's time. What it rests on: pairings on BLS12-381 (not
//! post-quantum: a quantum computer could open it early) and those signers
//! not colluding to sign the round early. Opening takes a
//! [`VerifiedBeacon`], so a forged signature never reaches the decryption.
//!
//! Supported chains: signatures on G1, key on G2 (`bls-unchained-g1-rfc9380`,
//! drand's quicknet and our devnets). The other unchained scheme (key on G1)
//! has no public chain meant for timelock and is refused.
#![forbid(unsafe_code)]

mod age;
mod armor;
pub mod ibe;

use std::io::{BufRead, Read, Write};

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;
use zks_beacon::{ChainHash, ChainInfo, Scheme, VerifiedBeacon};

/// Why a timelocked file could not be written or opened. Each has a stable
/// [`TlockError::code`] for front ends.
#[derive(Debug, thiserror::Error)]
pub enum TlockError {
    /// Not an age file at all.
    #[error("not a timelocked file (no age-encryption.org/v1 header)")]
    NotAge,
    /// An age file whose header or armor is malformed.
    #[error("malformed timelocked file: {0}")]
    Malformed(String),
    /// An age file for other recipients (no `tlock` stanza).
    #[error("this age file is not timelocked (it has no tlock stanza)")]
    NotTimelocked,
    /// The file ends early.
    #[error("the timelocked file is cut short")]
    Truncated,
    /// A header MAC or payload chunk does not authenticate.
    #[error("the timelocked file is damaged (it does not authenticate)")]
    Damaged,
    /// Locked to another chain than the one given.
    #[error("the file is timelocked to chain {file}, not {given}")]
    WrongChain {
        /// The file's chain hash (hex).
        file: String,
        /// The chain given (hex).
        given: String,
    },
    /// The beacon given is of another round.
    #[error("the file opens at round {file}, the beacon given is round {given}")]
    WrongRound {
        /// The file's round.
        file: u64,
        /// The beacon's round.
        given: u64,
    },
    /// The chain's scheme cannot be used for timelock.
    #[error(
        "chain {0} cannot be used for timelock: it needs unchained signatures on G1 (bls-unchained-g1-rfc9380, like quicknet)"
    )]
    Scheme(String),
    /// Round 0 does not exist.
    #[error("round 0 does not exist (rounds start at 1)")]
    RoundZero,
    /// More data than the format can count.
    #[error("the input is too long for one age file")]
    TooLong,
    /// The identity-based layer refused.
    #[error(transparent)]
    Ibe(#[from] ibe::IbeError),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl TlockError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TlockError::NotAge | TlockError::Malformed(_) | TlockError::NotTimelocked => {
                "malformed"
            }
            TlockError::Truncated => "truncated",
            TlockError::Damaged | TlockError::Ibe(_) => "damaged",
            TlockError::WrongChain { .. } => "wrong_chain",
            TlockError::WrongRound { .. } => "wrong_round",
            TlockError::Scheme(_) | TlockError::RoundZero | TlockError::TooLong => "bad_input",
            TlockError::Io(_) => "io",
        }
    }
}

/// Checks that `chain` can be used for timelock.
pub fn check_chain(chain: &ChainInfo) -> Result<(), TlockError> {
    if chain.scheme == Scheme::UnchainedG1Rfc9380 {
        Ok(())
    } else {
        Err(TlockError::Scheme(format!(
            "{} ({})",
            chain.name, chain.scheme
        )))
    }
}

/// The first round of `chain` published at or after Unix time `at`: the
/// round to lock to so that the file never opens before `at`.
pub fn round_for_time(chain: &ChainInfo, at: u64) -> u64 {
    if at <= chain.genesis_time {
        return 1;
    }
    let after = at - chain.genesis_time;
    after.div_ceil(chain.period.max(1)).saturating_add(1)
}

/// Timelocks `input` to `round` of `chain` and writes the age file
/// (ASCII-armored if `armor`) to `output`. Returns the plaintext length.
pub fn seal(
    chain: &ChainInfo,
    round: u64,
    input: &mut (impl Read + ?Sized),
    output: &mut (impl Write + ?Sized),
    armor: bool,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<u64, TlockError> {
    check_chain(chain)?;
    if round == 0 {
        return Err(TlockError::RoundZero);
    }
    let mut file_key = Zeroizing::new([0u8; ibe::MESSAGE_LEN]);
    rng.fill_bytes(&mut file_key[..]);
    let body = ibe::encrypt(&chain.public_key, round, &file_key, rng)?;
    let stanza = age::Stanza {
        args: vec!["tlock".into(), round.to_string(), chain.hash.to_hex()],
        body: body.to_vec(),
    };
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    if armor {
        let mut armored = armor::ArmorWriter::new(&mut *output)?;
        age::write_header(&mut armored, &[stanza], &file_key[..])?;
        let n = age::write_payload(input, &mut armored, &file_key[..], &nonce)?;
        armored.finish()?;
        Ok(n)
    } else {
        age::write_header(output, &[stanza], &file_key[..])?;
        age::write_payload(input, output, &file_key[..], &nonce)
    }
}

/// [`seal`] for bytes in memory (binary output).
pub fn seal_bytes(
    chain: &ChainInfo,
    round: u64,
    plaintext: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>, TlockError> {
    let mut out = Vec::with_capacity(plaintext.len() + 400);
    seal(chain, round, &mut &plaintext[..], &mut out, false, rng)?;
    Ok(out)
}

/// A timelocked file whose header was read: which round of which chain
/// opens it, and the rest of the file.
pub struct Locked<'a> {
    round: u64,
    chain: ChainHash,
    body: [u8; ibe::CIPHERTEXT_LEN],
    header: age::Header,
    payload: Box<dyn BufRead + 'a>,
}

impl std::fmt::Debug for Locked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locked")
            .field("round", &self.round)
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

/// Reads the header of a timelocked file (binary or armored) from `input`.
/// Armored files are decoded in memory first.
pub fn read_header<'a>(mut input: impl BufRead + 'a) -> Result<Locked<'a>, TlockError> {
    let start = input.fill_buf()?;
    let mut payload: Box<dyn BufRead + 'a> = if armor::is_armored(start) {
        let mut text = Vec::new();
        input.read_to_end(&mut text)?;
        Box::new(std::io::Cursor::new(armor::decode(&text)?))
    } else {
        Box::new(input)
    };
    let header = age::Header::read(&mut payload)?;
    let mut found = None;
    for stanza in &header.stanzas {
        if stanza.args.first().map(String::as_str) != Some("tlock") {
            continue;
        }
        if found.is_some() {
            return Err(TlockError::Malformed("more than one tlock stanza".into()));
        }
        let [_, round, chain] = &stanza.args[..] else {
            return Err(TlockError::Malformed(
                "a tlock stanza needs a round and a chain hash".into(),
            ));
        };
        let round: u64 = round
            .parse()
            .ok()
            .filter(|r| *r > 0)
            .ok_or_else(|| TlockError::Malformed(format!("{round:?} is not a round")))?;
        let chain: ChainHash = chain
            .parse()
            .map_err(|_| TlockError::Malformed(format!("{chain:?} is not a chain hash")))?;
        let body: [u8; ibe::CIPHERTEXT_LEN] = stanza.body[..].try_into().map_err(|_| {
            TlockError::Malformed(format!(
                "a tlock stanza body is {} bytes, not {}",
                stanza.body.len(),
                ibe::CIPHERTEXT_LEN
            ))
        })?;
        found = Some((round, chain, body));
    }
    let (round, chain, body) = found.ok_or(TlockError::NotTimelocked)?;
    Ok(Locked {
        round,
        chain,
        body,
        header,
        payload,
    })
}

impl Locked<'_> {
    /// The round whose beacon opens the file.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The chain the round belongs to.
    pub fn chain(&self) -> ChainHash {
        self.chain
    }

    /// Opens the file with the round's verified beacon of `chain` and writes
    /// the plaintext to `output` as it authenticates. Returns its length.
    /// On an error, what was written is not to be used.
    pub fn open(
        mut self,
        chain: &ChainInfo,
        beacon: &VerifiedBeacon,
        output: &mut (impl Write + ?Sized),
    ) -> Result<u64, TlockError> {
        if chain.hash != self.chain || beacon.chain_hash() != self.chain {
            return Err(TlockError::WrongChain {
                file: self.chain.to_hex(),
                given: chain.hash.to_hex(),
            });
        }
        check_chain(chain)?;
        if beacon.round() != self.round {
            return Err(TlockError::WrongRound {
                file: self.round,
                given: beacon.round(),
            });
        }
        let file_key = Zeroizing::new(ibe::decrypt(beacon.beacon().signature(), &self.body)?);
        self.header.check_mac(&file_key[..])?;
        age::read_payload(&mut self.payload, output, &file_key[..])
    }
}

/// Reads which round of which chain opens `file` (bytes in memory).
pub fn peek(file: &[u8]) -> Result<(u64, ChainHash), TlockError> {
    let locked = read_header(file)?;
    Ok((locked.round(), locked.chain()))
}

/// Opens a timelocked file held in memory.
pub fn open_bytes(
    file: &[u8],
    chain: &ChainInfo,
    beacon: &VerifiedBeacon,
) -> Result<Zeroizing<Vec<u8>>, TlockError> {
    let mut out = Zeroizing::new(Vec::new());
    read_header(file)?.open(chain, beacon, &mut *out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
