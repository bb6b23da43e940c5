//! The tamper-evident chain over each tenant's audit log: the canonical
//! encoding every store and the verifier hash, the links stored with each
//! entry, signed checkpoints of the chain head, and what verification reports.
//!
//! # Canonical encoding, version 1
//!
//! `hash(entry) = SHA-256(encode_v1(entry, seq, prev_hash))`, where
//! `encode_v1` is the concatenation, in this order, of:
//!
//! | part | bytes |
//! | --- | --- |
//! | domain tag | the 20 ASCII bytes `platform-audit-chain` |
//! | version | one byte, `0x01` |
//! | `seq` | u64, big-endian (the entry's place in its tenant's chain, from 1) |
//! | `prev_hash` | 32 bytes (the previous entry's hash; 32 zero bytes for `seq` 1) |
//! | `id` | the UUID's 16 bytes |
//! | `tenant_id` | the UUID's 16 bytes |
//! | `actor_id` | `opt(uuid)` |
//! | `action` | `str` |
//! | `target_id` | `opt(str)` |
//! | `metadata` | `str` of the canonical JSON below |
//! | `occurred_at` | i64, big-endian: microseconds since the Unix epoch, UTC (what PostgreSQL keeps) |
//! | `request_id`, `ip`, `user_agent` | `opt(str)` each |
//!
//! `str(s)` is the UTF-8 length as u32 big-endian, then the bytes;
//! `opt(x)` is `0x00` for none, else `0x01` then `x`. Canonical JSON has
//! no whitespace, object keys sorted by their UTF-8 bytes at every depth,
//! strings escaped as `serde_json` escapes them and numbers as `serde_json`
//! prints them. The encoding depends on no serde field order or feature: a
//! new field means a new version, and old entries keep verifying with theirs.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::audit::AuditEntry;
use crate::model::{AuditId, TenantId};

/// The version of [`canonical_encoding`] this build writes.
pub const ENCODING_VERSION: u8 = 1;

const CHAIN_TAG: &[u8] = b"platform-audit-chain";
const CHECKPOINT_TAG: &[u8] = b"platform-audit-checkpoint";

/// A SHA-256 value of the chain, printed and serialised as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// What the first entry of a tenant links to.
    pub const GENESIS: Self = Self([0; 32]);

    /// The hash from stored bytes, if there are exactly 32 of them.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// Parses 64 hex digits.
    #[must_use]
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16);
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let (hi, lo) = (digit(pair[0])?, digit(pair[1])?);
            out[i] = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // An entry field longer than 4 GiB cannot be stored anyway; saturating
    // keeps the function total without a panic path.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// Writes `value` as canonical JSON (see the module documentation).
fn canonical_json(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, key);
                out.push(':');
                if let Some(item) = map.get(key) {
                    canonical_json(out, item);
                }
            }
            out.push('}');
        }
    }
}

fn json_string(out: &mut String, s: &str) {
    // Serialising a &str cannot fail; the fallback is unreachable but total.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// The metadata map as canonical JSON.
#[must_use]
pub fn canonical_metadata(entry: &AuditEntry) -> String {
    let mut out = String::new();
    let object: serde_json::Map<String, serde_json::Value> =
        entry.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    canonical_json(&mut out, &serde_json::Value::Object(object));
    out
}

/// The version-1 bytes hashed for `entry` at `seq` after `prev`.
#[must_use]
pub fn canonical_encoding(entry: &AuditEntry, seq: u64, prev: &ChainHash) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(CHAIN_TAG);
    out.push(ENCODING_VERSION);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&prev.0);
    out.extend_from_slice(entry.id.0.as_bytes());
    out.extend_from_slice(entry.tenant_id.0.as_bytes());
    match entry.actor_id {
        None => out.push(0),
        Some(actor) => {
            out.push(1);
            out.extend_from_slice(actor.0.as_bytes());
        }
    }
    put_str(&mut out, &entry.action);
    put_opt_str(&mut out, entry.target_id.as_deref());
    put_str(&mut out, &canonical_metadata(entry));
    out.extend_from_slice(&entry.occurred_at.timestamp_micros().to_be_bytes());
    put_opt_str(&mut out, entry.request_id.as_deref());
    put_opt_str(&mut out, entry.ip.as_deref());
    put_opt_str(&mut out, entry.user_agent.as_deref());
    out
}

/// The chain hash of `entry` at `seq` after `prev`.
#[must_use]
pub fn chain_hash(entry: &AuditEntry, seq: u64, prev: &ChainHash) -> ChainHash {
    ChainHash(Sha256::digest(canonical_encoding(entry, seq, prev)).into())
}

/// The bytes a checkpoint's MAC covers: the tag `platform-audit-checkpoint`,
/// the version byte, the tenant's 16 bytes, `seq` (u64 big-endian), the hash.
#[must_use]
pub fn checkpoint_message(head: &ChainHead) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(CHECKPOINT_TAG);
    out.push(ENCODING_VERSION);
    out.extend_from_slice(head.tenant_id.0.as_bytes());
    out.extend_from_slice(&head.seq.to_be_bytes());
    out.extend_from_slice(&head.hash.0);
    out
}

/// An entry with its place in the chain, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainedEntry {
    /// The entry.
    pub entry: AuditEntry,
    /// Its place in its tenant's chain, from 1, without gaps.
    pub seq: u64,
    /// The hash of the entry before it ([`ChainHash::GENESIS`] for the first).
    pub prev_hash: ChainHash,
    /// [`chain_hash`] of this entry.
    pub hash: ChainHash,
}

/// A tenant's newest link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The newest entry's sequence number.
    pub seq: u64,
    /// The newest entry's hash.
    pub hash: ChainHash,
}

/// A chain head signed with the checkpoint key, kept so that removing the
/// newest entries (and rewriting the head) is detected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// What was signed.
    pub head: ChainHead,
    /// HMAC-SHA-256 of [`checkpoint_message`] under the checkpoint key.
    pub mac: Vec<u8>,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
}

/// What is wrong at the first broken link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainFault {
    /// The entry's content (or sequence number) no longer hashes to its stored hash.
    ContentHash {
        /// What the stored content hashes to.
        computed: ChainHash,
        /// The hash stored with the entry.
        stored: ChainHash,
    },
    /// The entry does not link to the hash of the entry before it.
    PreviousHash {
        /// The previous entry's hash.
        expected: ChainHash,
        /// The link stored with this entry.
        stored: ChainHash,
    },
    /// Entries are missing or out of order before this one.
    Sequence {
        /// The sequence number that should come next.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// The chain ends before a signed checkpoint (its tail was removed).
    Truncated {
        /// The signed checkpoint's sequence number.
        checkpoint_seq: u64,
        /// The last sequence number found (0: no entry at all).
        last_seq: u64,
    },
    /// The entry at a signed checkpoint's position is not the one signed.
    CheckpointMismatch {
        /// The signed hash.
        signed: ChainHash,
        /// The hash of the entry found there.
        found: ChainHash,
    },
    /// The latest checkpoint's signature does not match (forged or another key).
    CheckpointSignature {
        /// The sequence number it claims.
        seq: u64,
    },
    /// The chain head record disagrees with the entries.
    HeadMismatch {
        /// What the head record says.
        head_seq: u64,
        /// The last sequence number found.
        last_seq: u64,
    },
}

/// The first broken link of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The entry at fault (`None` when the fault is past the last entry, such
    /// as a removed tail).
    pub entry_id: Option<AuditId>,
    /// The sequence number where it was found.
    pub seq: u64,
    /// What differs.
    pub fault: ChainFault,
}

/// The outcome of walking one tenant's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Entries whose links checked out before the walk stopped.
    pub verified: u64,
    /// The latest checkpoint's sequence number, if one was checked.
    pub checkpoint_seq: Option<u64>,
    /// The first broken link; `None` when the chain is intact.
    pub broken: Option<BrokenLink>,
}

impl ChainReport {
    /// Whether the chain is intact.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Signs and checks checkpoints with the key from the secret source
/// (`audit.checkpoint_key`).
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait CheckpointSigner: shaku::Interface {
    /// Whether a key is configured.
    fn has_key(&self) -> bool;

    /// The MAC of `head`, or `None` when no key is configured (checkpoints
    /// are then not written).
    fn sign(&self, head: &ChainHead) -> Option<Vec<u8>>;

    /// Whether `mac` is `head`'s MAC under the key (`false` without a key).
    fn verify(&self, head: &ChainHead, mac: &[u8]) -> bool;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::UserId;

    fn entry() -> AuditEntry {
        AuditEntry {
            id: AuditId(uuid::Uuid::from_u128(1)),
            tenant_id: TenantId(uuid::Uuid::from_u128(2)),
            actor_id: Some(UserId(uuid::Uuid::from_u128(3))),
            action: "user.created".into(),
            target_id: None,
            metadata: BTreeMap::from([
                ("b".to_owned(), serde_json::json!({"z": 1, "a": [true, null, 1.5]})),
                ("a".to_owned(), serde_json::json!("é\n")),
            ]),
            occurred_at: DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap_or_default(),
            request_id: Some("req".into()),
            ip: None,
            user_agent: Some("ua".into()),
        }
    }

    #[test]
    fn metadata_is_canonical_at_every_depth() {
        assert_eq!(
            canonical_metadata(&entry()),
            r#"{"a":"é\n","b":{"a":[true,null,1.5],"z":1}}"#
        );
    }

    #[test]
    fn the_encoding_is_pinned() {
        // A change here breaks every stored chain: bump ENCODING_VERSION instead.
        // The value was computed from the table above by a separate (Python)
        // implementation, so it pins the documented format, not this code.
        let hash = chain_hash(&entry(), 1, &ChainHash::GENESIS);
        assert_eq!(
            hash.to_string(),
            "7504408b7a462a741ada16767610d8da8859df1fc5d58b9f8ce48dfd9093d06c"
        );
    }

    #[test]
    fn nanoseconds_beyond_the_microsecond_do_not_count() {
        let mut other = entry();
        other.occurred_at = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap_or_default();
        assert_eq!(
            chain_hash(&entry(), 1, &ChainHash::GENESIS),
            chain_hash(&other, 1, &ChainHash::GENESIS)
        );
    }

    #[test]
    fn every_field_seq_and_link_change_the_hash() {
        let base = chain_hash(&entry(), 1, &ChainHash::GENESIS);
        assert_ne!(base, chain_hash(&entry(), 2, &ChainHash::GENESIS));
        assert_ne!(base, chain_hash(&entry(), 1, &ChainHash([1; 32])));
        let changes: Vec<fn(&mut AuditEntry)> = vec![
            |e| e.action.push('x'),
            |e| e.actor_id = None,
            |e| e.target_id = Some(String::new()),
            |e| e.ip = Some(String::new()),
            |e| {
                e.metadata.insert("c".into(), serde_json::Value::Null);
            },
            |e| e.occurred_at += chrono::TimeDelta::microseconds(1),
        ];
        for change in changes {
            let mut e = entry();
            change(&mut e);
            assert_ne!(base, chain_hash(&e, 1, &ChainHash::GENESIS));
        }
    }

    #[test]
    fn hex_round_trips() {
        let hash = chain_hash(&entry(), 7, &ChainHash::GENESIS);
        assert_eq!(ChainHash::from_hex(&hash.to_string()), Some(hash));
        assert_eq!(ChainHash::from_hex("zz"), None);
        let json = serde_json::to_string(&hash).unwrap_or_default();
        assert_eq!(serde_json::from_str::<ChainHash>(&json).ok(), Some(hash));
    }
}
