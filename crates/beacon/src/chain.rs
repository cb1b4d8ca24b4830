//! drand chains: the two League of Entropy chains we ship, and any other chain
//! described by a drand `/info` document (a devnet, a testnet).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex32;

/// A chain hash: drand's name for a chain, `sha256` of its info (see [`ChainInfo::compute_hash`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The hash as 64 lowercase hex digits, the form drand's URLs use.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl FromStr for ChainHash {
    type Err = ChainError;

    fn from_str(s: &str) -> Result<Self, ChainError> {
        hex32(s)
            .map(ChainHash)
            .ok_or_else(|| ChainError::BadHash(s.to_owned()))
    }
}

/// The signature schemes drand uses, by their drand scheme ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `pedersen-bls-chained`: signature on G2 over `sha256(prev_sig ‖ round)`, key on G1.
    PedersenBlsChained,
    /// `pedersen-bls-unchained`: signature on G2 over `sha256(round)`, key on G1.
    PedersenBlsUnchained,
    /// `bls-unchained-g1-rfc9380`: signature on G1 over `sha256(round)`, key on G2 (quicknet).
    UnchainedG1Rfc9380,
}

/// Which group a point lives in; sizes of the compressed encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// G1, 48-byte compressed points.
    G1,
    /// G2, 96-byte compressed points.
    G2,
}

impl Group {
    /// Length of a compressed point of this group.
    pub const fn point_len(self) -> usize {
        match self {
            Group::G1 => 48,
            Group::G2 => 96,
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Group::G1 => "G1",
            Group::G2 => "G2",
        })
    }
}

/// Hash-to-curve domain separation tag for signatures on G1 (RFC 9380 suite).
pub const DST_G1: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";
/// Hash-to-curve domain separation tag for signatures on G2.
pub const DST_G2: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";

impl Scheme {
    /// Every scheme, for parsing and listing.
    pub const ALL: [Scheme; 3] = [
        Scheme::PedersenBlsChained,
        Scheme::PedersenBlsUnchained,
        Scheme::UnchainedG1Rfc9380,
    ];

    /// drand's scheme ID string.
    pub const fn id(self) -> &'static str {
        match self {
            Scheme::PedersenBlsChained => "pedersen-bls-chained",
            Scheme::PedersenBlsUnchained => "pedersen-bls-unchained",
            Scheme::UnchainedG1Rfc9380 => "bls-unchained-g1-rfc9380",
        }
    }

    /// Whether each round's message includes the previous round's signature.
    pub const fn is_chained(self) -> bool {
        matches!(self, Scheme::PedersenBlsChained)
    }

    /// The group signatures live in.
    pub const fn signature_group(self) -> Group {
        match self {
            Scheme::UnchainedG1Rfc9380 => Group::G1,
            _ => Group::G2,
        }
    }

    /// The group the public key lives in.
    pub const fn key_group(self) -> Group {
        match self.signature_group() {
            Group::G1 => Group::G2,
            Group::G2 => Group::G1,
        }
    }

    /// The hash-to-curve domain separation tag.
    pub const fn dst(self) -> &'static [u8] {
        match self.signature_group() {
            Group::G1 => DST_G1,
            Group::G2 => DST_G2,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Scheme {
    type Err = ChainError;

    fn from_str(s: &str) -> Result<Self, ChainError> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.id() == s)
            .ok_or_else(|| ChainError::UnknownScheme(s.to_owned()))
    }
}

/// Everything needed to verify a chain's beacons, as in drand's `/info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainInfo {
    /// A short human name (the drand beacon ID, e.g. `quicknet`, `default`).
    pub name: String,
    /// The chain hash, always equal to [`ChainInfo::compute_hash`].
    pub hash: ChainHash,
    /// The signature scheme.
    pub scheme: Scheme,
    /// The group public key, compressed (48 bytes on G1 or 96 on G2).
    pub public_key: Vec<u8>,
    /// Seconds between rounds.
    pub period: u64,
    /// Unix time (seconds) of round 1.
    pub genesis_time: u64,
    /// The genesis seed ("groupHash"); round 1 of a chained scheme signs over it.
    pub group_hash: [u8; 32],
}

/// Errors about chains and chain info documents.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    /// The text is not 64 hex digits.
    #[error("{0:?} is not a chain hash (64 hex digits)")]
    BadHash(String),
    /// No built-in or configured chain has this name or hash.
    #[error("unknown chain {0:?}: use quicknet, default, or a chain hash of a configured chain")]
    Unknown(String),
    /// The scheme ID is not one drand defines.
    #[error(
        "unknown drand scheme {0:?} (known: pedersen-bls-chained, pedersen-bls-unchained, bls-unchained-g1-rfc9380)"
    )]
    UnknownScheme(String),
    /// The info document is not the JSON drand serves.
    #[error("chain info is not valid drand /info JSON: {0}")]
    BadInfo(String),
    /// The public key has the wrong length or is not a valid point.
    #[error("chain public key is invalid: {0}")]
    BadPublicKey(String),
    /// The info's contents hash to a different chain hash than it claims.
    #[error("chain info hashes to {computed}, not to the claimed chain hash {claimed}")]
    HashMismatch {
        /// What the document says.
        claimed: ChainHash,
        /// What its contents hash to.
        computed: ChainHash,
    },
}

/// drand's `/info` JSON shape.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoJson {
    public_key: String,
    period: u64,
    genesis_time: u64,
    hash: String,
    #[serde(rename = "groupHash")]
    group_hash: String,
    #[serde(rename = "schemeID")]
    scheme_id: String,
    metadata: MetadataJson,
}

#[derive(Debug, Serialize, Deserialize)]
struct MetadataJson {
    #[serde(rename = "beaconID")]
    beacon_id: String,
}

impl ChainInfo {
    /// The quicknet chain: 3 s rounds, unchained, signatures on G1.
    pub fn quicknet() -> ChainInfo {
        ChainInfo::builtin(
            "quicknet",
            Scheme::UnchainedG1Rfc9380,
            "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
            3,
            1692803367,
            "f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
        )
    }

    /// The League of Entropy's original chain ("default"): 30 s rounds, chained.
    pub fn default_chain() -> ChainInfo {
        ChainInfo::builtin(
            "default",
            Scheme::PedersenBlsChained,
            "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529eeda66c7293784a9402801af31",
            30,
            1595431050,
            "176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a",
        )
    }

    /// The chains every node knows without being told.
    pub fn builtins() -> [ChainInfo; 2] {
        [ChainInfo::quicknet(), ChainInfo::default_chain()]
    }

    fn builtin(
        name: &str,
        scheme: Scheme,
        public_key: &str,
        period: u64,
        genesis_time: u64,
        group_hash: &str,
    ) -> ChainInfo {
        // The constants above are checked by the unit tests, including that
        // they hash to the published chain hashes.
        let public_key = hex::decode(public_key).unwrap_or_default();
        let group_hash = hex32(group_hash).unwrap_or_default();
        ChainInfo::new(name, scheme, public_key, period, genesis_time, group_hash)
    }

    /// A chain from its parts; the hash is computed by drand's rule.
    pub fn new(
        name: &str,
        scheme: Scheme,
        public_key: Vec<u8>,
        period: u64,
        genesis_time: u64,
        group_hash: [u8; 32],
    ) -> ChainInfo {
        let mut info = ChainInfo {
            name: name.to_owned(),
            hash: ChainHash([0; 32]),
            scheme,
            public_key,
            period,
            genesis_time,
            group_hash,
        };
        info.hash = info.compute_hash();
        info
    }

    /// drand's chain hash: `sha256(u32_be(period) ‖ i64_be(genesis) ‖ public key ‖
    /// group hash ‖ beacon ID)`, the beacon ID left out when it is `default`.
    pub fn compute_hash(&self) -> ChainHash {
        let mut h = Sha256::new();
        h.update((self.period as u32).to_be_bytes());
        h.update((self.genesis_time as i64).to_be_bytes());
        h.update(&self.public_key);
        h.update(self.group_hash);
        if !self.name.is_empty() && self.name != "default" {
            h.update(self.name.as_bytes());
        }
        ChainHash(h.finalize().into())
    }

    /// Parses drand's `/info` JSON strictly: every field present and well
    /// formed, the key of the right group, and the claimed hash equal to the
    /// hash of the contents.
    pub fn from_info_json(json: &str) -> Result<ChainInfo, ChainError> {
        let raw: InfoJson =
            serde_json::from_str(json).map_err(|e| ChainError::BadInfo(e.to_string()))?;
        let scheme: Scheme = raw.scheme_id.parse()?;
        let public_key = hex::decode(&raw.public_key)
            .map_err(|e| ChainError::BadPublicKey(format!("not hex: {e}")))?;
        let group_hash = hex32(&raw.group_hash)
            .ok_or_else(|| ChainError::BadInfo("groupHash is not 64 hex digits".into()))?;
        let claimed: ChainHash = raw.hash.parse()?;
        if raw.period == 0 || raw.period > u64::from(u32::MAX) {
            return Err(ChainError::BadInfo(format!(
                "period {} is out of range",
                raw.period
            )));
        }
        if raw.genesis_time > i64::MAX as u64 {
            return Err(ChainError::BadInfo("genesis_time is out of range".into()));
        }
        let info = ChainInfo::new(
            &raw.metadata.beacon_id,
            scheme,
            public_key,
            raw.period,
            raw.genesis_time,
            group_hash,
        );
        info.check_public_key()?;
        if info.hash != claimed {
            return Err(ChainError::HashMismatch {
                claimed,
                computed: info.hash,
            });
        }
        Ok(info)
    }

    /// The `/info` JSON drand serves for this chain.
    pub fn to_info_json(&self) -> String {
        let raw = InfoJson {
            public_key: hex::encode(&self.public_key),
            period: self.period,
            genesis_time: self.genesis_time,
            hash: self.hash.to_hex(),
            group_hash: hex::encode(self.group_hash),
            scheme_id: self.scheme.id().to_owned(),
            metadata: MetadataJson {
                beacon_id: self.name.clone(),
            },
        };
        serde_json::to_string(&raw).unwrap_or_default()
    }

    /// Checks that the public key is a valid point of the scheme's key group.
    pub fn check_public_key(&self) -> Result<(), ChainError> {
        crate::verify::decode_public_key(self.scheme, &self.public_key).map(drop)
    }

    /// Finds a chain by name or hash among the built-ins and `extra`.
    pub fn find<'a>(
        name_or_hash: &str,
        extra: impl IntoIterator<Item = &'a ChainInfo>,
    ) -> Result<ChainInfo, ChainError> {
        let hash = name_or_hash.parse::<ChainHash>().ok();
        ChainInfo::builtins()
            .into_iter()
            .chain(extra.into_iter().cloned())
            .find(|c| c.name == name_or_hash || Some(c.hash) == hash)
            .ok_or_else(|| ChainError::Unknown(name_or_hash.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_chains_hash_to_their_published_chain_hashes() {
        assert_eq!(
            ChainInfo::quicknet().hash.to_hex(),
            "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
        );
        assert_eq!(
            ChainInfo::default_chain().hash.to_hex(),
            "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce"
        );
        for chain in ChainInfo::builtins() {
            chain.check_public_key().unwrap();
        }
    }

    #[test]
    fn info_json_round_trips_and_is_checked() {
        let quicknet = ChainInfo::quicknet();
        let json = quicknet.to_info_json();
        assert_eq!(ChainInfo::from_info_json(&json).unwrap(), quicknet);

        let forged = json.replace("\"period\":3", "\"period\":4");
        assert!(matches!(
            ChainInfo::from_info_json(&forged),
            Err(ChainError::HashMismatch { .. })
        ));
        let bad_scheme = json.replace("bls-unchained-g1-rfc9380", "bls-unchained-on-g1");
        assert_eq!(
            ChainInfo::from_info_json(&bad_scheme),
            Err(ChainError::UnknownScheme("bls-unchained-on-g1".into()))
        );
        assert!(matches!(
            ChainInfo::from_info_json("{}"),
            Err(ChainError::BadInfo(_))
        ));
        assert!(matches!(
            ChainInfo::from_info_json("not json"),
            Err(ChainError::BadInfo(_))
        ));
    }

    #[test]
    fn info_with_a_key_of_the_wrong_group_is_rejected() {
        let mut chain = ChainInfo::quicknet();
        chain.public_key = ChainInfo::default_chain().public_key;
        chain.hash = chain.compute_hash();
        assert!(matches!(
            ChainInfo::from_info_json(&chain.to_info_json()),
            Err(ChainError::BadPublicKey(_))
        ));
    }

    #[test]
    fn chains_are_found_by_name_or_hash() {
        assert_eq!(ChainInfo::find("quicknet", []).unwrap().name, "quicknet");
        let by_hash = ChainInfo::find(
            "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
            [],
        )
        .unwrap();
        assert_eq!(by_hash.name, "default");
        assert_eq!(
            ChainInfo::find("mainnet", []),
            Err(ChainError::Unknown("mainnet".into()))
        );
    }

    /// The chains whose info documents the fuzzing edits: both built-ins
    /// and one of the third scheme.
    fn chains() -> Vec<ChainInfo> {
        let default = ChainInfo::default_chain();
        let unchained = ChainInfo::new(
            "testnet-unchained-3s",
            Scheme::PedersenBlsUnchained,
            default.public_key.clone(),
            3,
            1_651_677_099,
            default.group_hash,
        );
        vec![ChainInfo::quicknet(), default, unchained]
    }

    /// Recomputes the claimed `hash` from the (edited) contents where they
    /// still read, as a chain's operator would: the hash is the checksum of
    /// this format.
    fn rehash(object: &mut serde_json::Map<String, serde_json::Value>) {
        let text = |k: &str| object.get(k).and_then(|v| v.as_str());
        let number = |k: &str| object.get(k).and_then(serde_json::Value::as_u64);
        let name = object
            .get("metadata")
            .and_then(|m| m.get("beaconID"))
            .and_then(|v| v.as_str());
        let (Some(Ok(key)), Some(period), Some(genesis), Some(Some(group)), Some(name)) = (
            text("public_key").map(hex::decode),
            number("period"),
            number("genesis_time"),
            text("groupHash").map(hex32),
            name,
        ) else {
            return;
        };
        let hash = ChainInfo::new(
            name,
            Scheme::PedersenBlsChained,
            key,
            period,
            genesis,
            group,
        )
        .hash;
        object.insert("hash".into(), hash.to_hex().into());
    }

    /// Chain info documents with their field values edited (key hex and
    /// length, period, genesis, group hash, scheme ID, name), the hash
    /// recomputed in most cases: the checks behind serde (the key's group
    /// and point, ranges, the hash) run on most cases; what parses is
    /// exactly the document's chain. The chain-hash text of the relay's
    /// paths is parsed from the edited `hash` too.
    #[test]
    fn edited_chain_info_reaches_the_field_checks_and_never_panics() {
        let chains = chains();
        let strategy = (
            0..chains.len(),
            crate::fuzz::edits(2),
            proptest::bool::weighted(0.7),
            proptest::option::weighted(0.2, 0..3usize),
        );
        crate::fuzz::run(
            "chain info",
            1000,
            0.8,
            strategy,
            |(i, edits, rehashed, scheme)| {
                let json = chains[i].to_info_json();
                let mut object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&json).unwrap();
                if let Some(k) = scheme {
                    object.insert("schemeID".into(), Scheme::ALL[k].id().into());
                }
                crate::fuzz::apply(&mut object, &edits);
                if rehashed {
                    rehash(&mut object);
                }
                if let Some(hash) = object.get("hash").and_then(|h| h.as_str()) {
                    let _ = hash.parse::<ChainHash>();
                    let _ = ChainInfo::find(hash, &chains);
                }
                let text = serde_json::Value::Object(object).to_string();
                match ChainInfo::from_info_json(&text) {
                    Ok(info) => {
                        assert_eq!(info.hash, info.compute_hash());
                        assert_eq!(ChainInfo::from_info_json(&info.to_info_json()), Ok(info));
                        crate::fuzz::Outcome::Accepted
                    }
                    // serde's own messages name the place in the text.
                    Err(ChainError::BadInfo(m)) if m.contains(" at line ") => {
                        crate::fuzz::Outcome::Framing
                    }
                    Err(_) => crate::fuzz::Outcome::Refused,
                }
            },
        );
    }
}
