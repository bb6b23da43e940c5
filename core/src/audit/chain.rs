//! Verifying a tenant's audit chain, and signing checkpoints of its head.
//!
//! The store links every entry to the one before it (see
//! [`platform_ports::audit::chain_hash`]); this walks the links in sequence
//! order and stops at the first one that does not hold. Links alone cannot
//! show that the newest entries were removed (the shorter chain is still
//! consistent), so a cron job signs each moved chain head with the
//! checkpoint key, and the walk checks the latest checkpoint is still there.

use std::fmt;

use hmac::{Hmac, KeyInit as _, Mac as _};
use platform_ports::StoreError;
use platform_ports::audit::{
    AuditStore, BrokenLink, ChainFault, ChainHash, ChainHead, ChainReport, Checkpoint, CheckpointSigner,
    checkpoint_message,
};
use platform_ports::clock::Clock;
use platform_ports::model::{SecretString, TenantId};
use sha2::Sha256;

/// Links read per round trip.
const PAGE: u32 = 1000;

/// [`CheckpointSigner`] with HMAC-SHA-256 under `audit.checkpoint_key`.
#[derive(shaku::Component)]
#[shaku(interface = CheckpointSigner)]
pub struct HmacCheckpointSigner {
    /// `None`: no key configured, checkpoints are neither written nor trusted.
    key: Option<SecretString>,
}

impl HmacCheckpointSigner {
    /// A signer with `key` (an empty key counts as none).
    #[must_use]
    pub fn new(key: Option<SecretString>) -> Self {
        Self {
            key: key.filter(|k| !k.expose().is_empty()),
        }
    }

    /// The shaku parameters for [`Self::new`].
    #[must_use]
    pub fn parameters(key: Option<SecretString>) -> HmacCheckpointSignerParameters {
        HmacCheckpointSignerParameters {
            key: key.filter(|k| !k.expose().is_empty()),
        }
    }

    fn mac(&self, head: &ChainHead) -> Option<Hmac<Sha256>> {
        let key = self.key.as_ref()?;
        // HMAC takes keys of any length, so this never fails.
        let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).ok()?;
        mac.update(&checkpoint_message(head));
        Some(mac)
    }
}

impl fmt::Debug for HmacCheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacCheckpointSigner")
            .field("key", &self.key.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl CheckpointSigner for HmacCheckpointSigner {
    fn has_key(&self) -> bool {
        self.key.is_some()
    }

    fn sign(&self, head: &ChainHead) -> Option<Vec<u8>> {
        Some(self.mac(head)?.finalize().into_bytes().to_vec())
    }

    fn verify(&self, head: &ChainHead, mac: &[u8]) -> bool {
        // `verify_slice` compares in constant time.
        self.mac(head).is_some_and(|m| m.verify_slice(mac).is_ok())
    }
}

/// Where a walk starts: after genesis, or at a link already trusted.
#[derive(Clone, Copy)]
struct Start {
    /// The last trusted sequence number (0: none).
    seq: u64,
    /// Its hash ([`ChainHash::GENESIS`] for none).
    hash: ChainHash,
}

/// How a walk ended.
struct Walk {
    verified: u64,
    last_seq: u64,
    last_hash: ChainHash,
    broken: Option<BrokenLink>,
}

/// Follows the links after `start`; checks the entry at `checkpoint.seq`
/// against the signed hash on the way.
async fn walk(
    store: &dyn AuditStore,
    tenant: TenantId,
    start: Start,
    checkpoint: Option<&ChainHead>,
) -> Result<Walk, StoreError> {
    let mut w = Walk {
        verified: 0,
        last_seq: start.seq,
        last_hash: start.hash,
        broken: None,
    };
    loop {
        let page = store.chain(tenant, w.last_seq, PAGE).await?;
        if page.is_empty() {
            return Ok(w);
        }
        for link in page {
            let expected = w.last_seq + 1;
            // Checked in this order so a moved row reads as "out of place"
            // and an edited one as "content changed".
            let fault = if link.seq != expected {
                Some(ChainFault::Sequence {
                    expected,
                    found: link.seq,
                })
            } else if link.prev_hash != w.last_hash {
                Some(ChainFault::PreviousHash {
                    expected: w.last_hash,
                    stored: link.prev_hash,
                })
            } else {
                let computed = platform_ports::audit::chain_hash(&link.entry, link.seq, &link.prev_hash);
                if computed != link.hash {
                    Some(ChainFault::ContentHash {
                        computed,
                        stored: link.hash,
                    })
                } else {
                    checkpoint
                        .filter(|cp| cp.seq == link.seq && cp.hash != link.hash)
                        .map(|cp| ChainFault::CheckpointMismatch {
                            signed: cp.hash,
                            found: link.hash,
                        })
                }
            };
            if let Some(fault) = fault {
                w.broken = Some(BrokenLink {
                    entry_id: Some(link.entry.id),
                    seq: link.seq,
                    fault,
                });
                return Ok(w);
            }
            w.verified += 1;
            w.last_seq = link.seq;
            w.last_hash = link.hash;
        }
    }
}

/// Walks `tenant`'s whole chain and checks its latest checkpoint and head
/// record; stops at the first broken link.
///
/// # Errors
/// [`StoreError`] when the store cannot be read.
pub async fn verify_chain(
    store: &dyn AuditStore,
    signer: &dyn CheckpointSigner,
    tenant: TenantId,
) -> Result<ChainReport, StoreError> {
    let checkpoint = store.latest_checkpoint(tenant).await?;
    let mut report = ChainReport {
        tenant_id: tenant,
        verified: 0,
        checkpoint_seq: checkpoint.as_ref().map(|cp| cp.head.seq),
        broken: None,
    };
    if let Some(cp) = &checkpoint
        && !signer.verify(&cp.head, &cp.mac)
    {
        report.broken = Some(BrokenLink {
            entry_id: None,
            seq: cp.head.seq,
            fault: ChainFault::CheckpointSignature { seq: cp.head.seq },
        });
        return Ok(report);
    }
    let genesis = Start {
        seq: 0,
        hash: ChainHash::GENESIS,
    };
    let w = walk(store, tenant, genesis, checkpoint.as_ref().map(|cp| &cp.head)).await?;
    report.verified = w.verified;
    if w.broken.is_some() {
        report.broken = w.broken;
        return Ok(report);
    }
    let past_end = |fault| BrokenLink {
        entry_id: None,
        seq: w.last_seq + 1,
        fault,
    };
    if let Some(cp) = &checkpoint
        && w.last_seq < cp.head.seq
    {
        report.broken = Some(past_end(ChainFault::Truncated {
            checkpoint_seq: cp.head.seq,
            last_seq: w.last_seq,
        }));
        return Ok(report);
    }
    // The head record is written with every append: disagreeing with the
    // entries means rows were removed or added around the store.
    let head = store.chain_head(tenant).await?;
    let (head_seq, head_hash) = head.map_or((0, ChainHash::GENESIS), |h| (h.seq, h.hash));
    if head_seq != w.last_seq || head_hash != w.last_hash {
        report.broken = Some(past_end(ChainFault::HeadMismatch {
            head_seq,
            last_seq: w.last_seq,
        }));
    }
    Ok(report)
}

/// Signs and stores a checkpoint of every chain head that moved since its
/// tenant's latest checkpoint; returns how many were written.
///
/// The links from the previous checkpoint up to the head are checked first:
/// signing a rewritten tail would bless it, so a broken one is logged and
/// left unsigned.
///
/// # Errors
/// [`StoreError`] when the store cannot be read or written.
pub async fn write_checkpoints(
    store: &dyn AuditStore,
    signer: &dyn CheckpointSigner,
    clock: &dyn Clock,
) -> Result<usize, StoreError> {
    let mut written = 0;
    if !signer.has_key() {
        return Ok(written);
    }
    for tenant in store.chained_tenants().await? {
        let Some(head) = store.chain_head(tenant).await? else {
            continue;
        };
        let latest = store.latest_checkpoint(tenant).await?;
        if latest.as_ref().is_some_and(|cp| cp.head.seq >= head.seq) {
            continue;
        }
        let start = match &latest {
            Some(cp) if signer.verify(&cp.head, &cp.mac) => Start {
                seq: cp.head.seq,
                hash: cp.head.hash,
            },
            Some(cp) => {
                tracing::error!(tenant_id = %tenant, seq = cp.head.seq, "audit checkpoint signature does not verify; not signing over it");
                continue;
            }
            None => Start {
                seq: 0,
                hash: ChainHash::GENESIS,
            },
        };
        // The entry at the checkpoint must still carry the signed hash.
        let at = store.chain(tenant, start.seq.saturating_sub(1), 1).await?;
        if start.seq > 0
            && at
                .first()
                .is_none_or(|link| link.seq != start.seq || link.hash != start.hash)
        {
            tracing::error!(tenant_id = %tenant, seq = start.seq, "audit chain no longer matches its checkpoint; not signing");
            continue;
        }
        let w = walk(store, tenant, start, None).await?;
        if let Some(broken) = w.broken {
            tracing::error!(tenant_id = %tenant, seq = broken.seq, fault = ?broken.fault, "audit chain is broken; not signing");
            continue;
        }
        let signed = ChainHead {
            tenant_id: tenant,
            seq: w.last_seq,
            hash: w.last_hash,
        };
        let Some(mac) = signer.sign(&signed) else {
            return Ok(written);
        };
        store
            .save_checkpoint(&Checkpoint {
                head: signed,
                mac,
                signed_at: clock.now(),
            })
            .await?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    //! The verifier over a hand-built chain (the stores' own chains are
    //! covered by the contract suite and the PostgreSQL tamper tests).

    use std::sync::Mutex;

    use async_trait::async_trait;
    use platform_ports::audit::{AuditEntry, AuditFilter, ChainedEntry, chain_hash};
    use platform_ports::model::{AuditId, Page, PageRequest};
    use platform_ports::persistence::Transaction;

    use super::*;

    #[derive(Default)]
    struct FakeChain {
        links: Mutex<Vec<ChainedEntry>>,
        head: Mutex<Option<ChainHead>>,
        checkpoints: Mutex<Vec<Checkpoint>>,
    }

    const T: TenantId = TenantId::DEFAULT;

    impl FakeChain {
        fn with(n: u64) -> Self {
            let chain = Self::default();
            let mut prev = ChainHash::GENESIS;
            for seq in 1..=n {
                let entry = AuditEntry {
                    id: AuditId::new(),
                    tenant_id: T,
                    actor_id: None,
                    action: format!("action.{seq}"),
                    target_id: None,
                    metadata: Default::default(),
                    occurred_at: chrono::Utc::now(),
                    request_id: None,
                    ip: None,
                    user_agent: None,
                };
                let hash = chain_hash(&entry, seq, &prev);
                chain.links.lock().unwrap().push(ChainedEntry {
                    entry,
                    seq,
                    prev_hash: prev,
                    hash,
                });
                prev = hash;
                *chain.head.lock().unwrap() = Some(ChainHead {
                    tenant_id: T,
                    seq,
                    hash,
                });
            }
            chain
        }

        fn id(&self, seq: u64) -> AuditId {
            self.links.lock().unwrap()[usize::try_from(seq - 1).unwrap()].entry.id
        }
    }

    #[async_trait]
    impl AuditStore for FakeChain {
        async fn append(&self, _: &mut Transaction, _: &AuditEntry) -> Result<(), StoreError> {
            unreachable!("not used")
        }
        async fn append_batch(&self, _: &[AuditEntry]) -> Result<(), StoreError> {
            unreachable!("not used")
        }
        async fn query(&self, _: TenantId, _: &AuditFilter, _: &PageRequest) -> Result<Page<AuditEntry>, StoreError> {
            unreachable!("not used")
        }
        async fn chain(&self, _: TenantId, after: u64, limit: u32) -> Result<Vec<ChainedEntry>, StoreError> {
            let mut links: Vec<_> = self
                .links
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.seq > after)
                .cloned()
                .collect();
            links.sort_by_key(|l| l.seq);
            links.truncate(limit as usize);
            Ok(links)
        }
        async fn chain_head(&self, _: TenantId) -> Result<Option<ChainHead>, StoreError> {
            Ok(*self.head.lock().unwrap())
        }
        async fn chained_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
            Ok(vec![T])
        }
        async fn save_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
            self.checkpoints.lock().unwrap().push(cp.clone());
            Ok(())
        }
        async fn latest_checkpoint(&self, _: TenantId) -> Result<Option<Checkpoint>, StoreError> {
            Ok(self
                .checkpoints
                .lock()
                .unwrap()
                .iter()
                .max_by_key(|c| c.head.seq)
                .cloned())
        }
    }

    fn signer() -> HmacCheckpointSigner {
        HmacCheckpointSigner::new(Some(SecretString::new("a-checkpoint-key-of-thirty-two-bytes")))
    }

    struct Now;
    impl Clock for Now {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::Utc::now()
        }
    }

    async fn verify(chain: &FakeChain) -> ChainReport {
        verify_chain(chain, &signer(), T).await.unwrap()
    }

    #[tokio::test]
    async fn an_intact_chain_counts_every_entry_across_pages() {
        let chain = FakeChain::with(2500);
        let report = verify(&chain).await;
        assert_eq!((report.verified, report.broken), (2500, None));
    }

    #[tokio::test]
    async fn an_edited_entry_is_named_with_its_hashes() {
        let chain = FakeChain::with(5);
        chain.links.lock().unwrap()[2].entry.action = "forged".into();
        let broken = verify(&chain).await.broken.unwrap();
        assert_eq!((broken.entry_id, broken.seq), (Some(chain.id(3)), 3));
        assert!(matches!(broken.fault, ChainFault::ContentHash { .. }), "{broken:?}");
    }

    #[tokio::test]
    async fn a_removed_entry_is_a_gap_before_the_next() {
        let chain = FakeChain::with(5);
        let next = chain.id(4);
        chain.links.lock().unwrap().remove(2);
        let report = verify(&chain).await;
        let broken = report.broken.unwrap();
        assert_eq!(broken.entry_id, Some(next));
        assert_eq!(broken.fault, ChainFault::Sequence { expected: 3, found: 4 });
        assert_eq!(report.verified, 2);
    }

    #[tokio::test]
    async fn swapped_entries_break_at_the_first_moved_one() {
        let chain = FakeChain::with(5);
        {
            let mut links = chain.links.lock().unwrap();
            let (a, b) = (links[1].seq, links[2].seq);
            links[1].seq = b;
            links[2].seq = a;
        }
        let broken = verify(&chain).await.broken.unwrap();
        // Seq 2 now holds the old third entry: it links to the old second.
        assert_eq!((broken.entry_id, broken.seq), (Some(chain.id(3)), 2));
        assert!(matches!(broken.fault, ChainFault::PreviousHash { .. }), "{broken:?}");
    }

    #[tokio::test]
    async fn a_removed_tail_is_caught_by_the_checkpoint_even_with_the_head_rewound() {
        let chain = FakeChain::with(6);
        assert_eq!(write_checkpoints(&chain, &signer(), &Now).await.unwrap(), 1);
        assert_eq!(
            write_checkpoints(&chain, &signer(), &Now).await.unwrap(),
            0,
            "head did not move"
        );
        assert!(verify(&chain).await.is_intact());
        chain.links.lock().unwrap().truncate(4);
        let kept = chain.links.lock().unwrap()[3].hash;
        *chain.head.lock().unwrap() = Some(ChainHead {
            tenant_id: T,
            seq: 4,
            hash: kept,
        });
        let report = verify(&chain).await;
        assert_eq!(report.checkpoint_seq, Some(6));
        let broken = report.broken.unwrap();
        assert_eq!(
            broken.fault,
            ChainFault::Truncated {
                checkpoint_seq: 6,
                last_seq: 4
            }
        );
        assert_eq!((broken.entry_id, broken.seq), (None, 5));
    }

    #[tokio::test]
    async fn a_removed_tail_without_a_checkpoint_still_disagrees_with_the_head() {
        let chain = FakeChain::with(3);
        chain.links.lock().unwrap().truncate(2);
        let broken = verify(&chain).await.broken.unwrap();
        assert_eq!(
            broken.fault,
            ChainFault::HeadMismatch {
                head_seq: 3,
                last_seq: 2
            }
        );
    }

    #[tokio::test]
    async fn a_forged_checkpoint_is_refused_and_never_signed_over() {
        let chain = FakeChain::with(3);
        let head = chain.head.lock().unwrap().unwrap();
        let other = HmacCheckpointSigner::new(Some(SecretString::new("another-key-another-key-another-key")));
        chain.checkpoints.lock().unwrap().push(Checkpoint {
            mac: other.sign(&head).unwrap(),
            head,
            signed_at: chrono::Utc::now(),
        });
        let broken = verify(&chain).await.broken.unwrap();
        assert_eq!(broken.fault, ChainFault::CheckpointSignature { seq: 3 });
    }

    #[tokio::test]
    async fn a_tail_rewritten_after_a_checkpoint_is_not_signed() {
        let chain = FakeChain::with(3);
        write_checkpoints(&chain, &signer(), &Now).await.unwrap();
        // The intruder rewrites entry 2 and re-links everything after it,
        // then appends: the job must not bless the new head.
        {
            let mut links = chain.links.lock().unwrap();
            links[1].entry.action = "forged".into();
            let mut prev = links[0].hash;
            for link in links.iter_mut().skip(1) {
                link.prev_hash = prev;
                link.hash = chain_hash(&link.entry, link.seq, &prev);
                prev = link.hash;
            }
        }
        *chain.head.lock().unwrap() = Some(ChainHead {
            tenant_id: T,
            seq: 3,
            hash: chain.links.lock().unwrap()[2].hash,
        });
        let report = verify(&chain).await;
        assert!(matches!(
            report.broken.unwrap().fault,
            ChainFault::CheckpointMismatch { .. }
        ));
        assert_eq!(write_checkpoints(&chain, &signer(), &Now).await.unwrap(), 0);
    }

    #[test]
    fn the_signer_needs_its_key() {
        let head = ChainHead {
            tenant_id: T,
            seq: 1,
            hash: ChainHash::GENESIS,
        };
        let keyless = HmacCheckpointSigner::new(Some(String::new().into()));
        assert!(!keyless.has_key());
        assert_eq!(keyless.sign(&head), None);
        let mac = signer().sign(&head).unwrap();
        assert!(signer().verify(&head, &mac));
        assert!(!keyless.verify(&head, &mac));
        assert!(!signer().verify(&ChainHead { seq: 2, ..head }, &mac));
        assert!(!format!("{:?}", signer()).contains("thirty"));
    }
}
