//! A cache of data keys so that sealing an event needs no provider round trip.
//!
//! One data key, made and wrapped by the [`KeyProvider`] once, serves up to
//! [`CachePolicy::max_uses`] events or [`CachePolicy::max_age_ms`] milliseconds, whichever
//! comes first; each event still gets its own DEK, derived with HKDF over its event id. The
//! cache holds at most [`CachePolicy::max_entries`] data keys, one per (tenant, KEK version);
//! an evicted key is zeroized as it is dropped. Time is an argument (`now_ms`): the cache
//! reads no clock.
//!
//! What the cache may skip and what it may not: it skips the provider's *wrap* call for a
//! cached key, never the check that the key's KEK is still the tenant's current, live KEK.
//! Every [`sealing_key`](DataKeyCache::sealing_key) asks the provider for the tenant's current
//! KEK first (for the in-memory keyring a map look-up; for a remote provider whatever its
//! `current_kek` costs). So after a rotation, a retirement, a crypto-shred
//! (`destroy_tenant`) or against an empty keyring, the next seal fails or moves to the new
//! version, and the cached data keys of the old version are dropped and zeroized: no event is
//! ever sealed under a key that can no longer open it. [`evict_tenant`](DataKeyCache::evict_tenant)
//! and [`clear`](DataKeyCache::clear) drop keys at once (call them on shutdown, or when an
//! operator shreds a tenant, to erase the secrets from memory).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use rand_core::CryptoRngCore;

use crate::error::{CryptoError, Result};
use crate::provider::{DATA_KEY_ID_LEN, DataKey, KekRef, KeyProvider, SealingKey, WrappedKey};

/// Bounds on how long and how much one cached data key is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// Most data keys held at once (oldest evicted first).
    pub max_entries: usize,
    /// Most events sealed with one data key.
    pub max_uses: u64,
    /// Oldest a data key may be, in milliseconds, before a new one is made.
    pub max_age_ms: u64,
}

impl Default for CachePolicy {
    /// 64 keys, 10 000 events each, 5 minutes.
    fn default() -> Self {
        Self { max_entries: 64, max_uses: 10_000, max_age_ms: 5 * 60 * 1000 }
    }
}

#[derive(Debug)]
struct Entry {
    tenant: String,
    key: SealingKey,
    created_ms: u64,
    uses: u64,
    /// A leased key's own bounds (most uses, expiry in Unix ms) instead of the policy's.
    lease: Option<(u64, u64)>,
}

impl Entry {
    fn fresh(&self, policy: &CachePolicy, now_ms: u64) -> bool {
        match self.lease {
            Some((max_uses, expires_ms)) => self.uses < max_uses && now_ms < expires_ms,
            None => {
                self.uses < policy.max_uses
                    && now_ms >= self.created_ms
                    && now_ms - self.created_ms <= policy.max_age_ms
            }
        }
    }
}

/// Data keys per (tenant, KEK version), bounded by count, uses and age; zeroized on eviction.
#[derive(Debug, Default)]
pub struct DataKeyCache {
    policy: CachePolicy,
    entries: Vec<Entry>,
}

impl DataKeyCache {
    /// An empty cache with `policy`.
    pub fn new(policy: CachePolicy) -> Self {
        Self { policy, entries: Vec::new() }
    }

    /// The policy.
    pub fn policy(&self) -> CachePolicy {
        self.policy
    }

    /// How many data keys are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A data key for sealing one event of `tenant` under `kek`, counting one use.
    ///
    /// First checks with `provider` that `kek` is the tenant's current KEK
    /// ([`CryptoError::KekNotCurrent`] otherwise, or the provider's own error for a destroyed,
    /// retired or unknown key) and drops the tenant's cached keys of any other version. Then
    /// reuses a cached key if it is young enough and not used up; otherwise makes one through
    /// `provider` (one wrap call) and caches it.
    pub fn sealing_key(
        &mut self,
        provider: &(impl KeyProvider + ?Sized),
        tenant: &str,
        kek: &KekRef,
        now_ms: u64,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<&SealingKey> {
        self.evict_expired(now_ms);
        let current = match provider.current_kek(tenant) {
            Ok(current) => current,
            Err(e) => {
                self.evict_tenant(tenant);
                return Err(e);
            }
        };
        self.entries.retain(|e| e.tenant != tenant || e.key.wrapped.kek == current);
        if current != *kek {
            return Err(CryptoError::KekNotCurrent {
                tenant: tenant.into(),
                kek_id: kek.id.clone(),
                version: kek.version,
                current: current.to_string(),
            });
        }
        let pos = self.entries.iter().position(|e| e.tenant == tenant && e.key.wrapped.kek == *kek);
        let pos = match pos {
            Some(p) => p,
            None => {
                let mut id = [0u8; DATA_KEY_ID_LEN];
                rng.fill_bytes(&mut id);
                let key = DataKey::random(rng);
                let bytes = provider.wrap(tenant, kek, &id, &key, rng)?;
                if self.entries.len() >= self.policy.max_entries.max(1) {
                    let oldest = self
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| e.created_ms)
                        .map_or(0, |(i, _)| i);
                    drop(self.entries.swap_remove(oldest));
                }
                self.entries.push(Entry {
                    tenant: tenant.into(),
                    key: SealingKey { id, key, wrapped: WrappedKey { kek: kek.clone(), bytes } },
                    created_ms: now_ms,
                    uses: 0,
                    lease: None,
                });
                self.entries.len() - 1
            }
        };
        let entry =
            self.entries.get_mut(pos).ok_or(CryptoError::UnknownKek { kek_id: kek.id.clone() })?;
        entry.uses += 1;
        Ok(&entry.key)
    }

    /// A data key under the tenant's current KEK, whichever version that is now (what a
    /// terminal that follows rotations uses); returns it with that KEK.
    pub fn current_sealing_key(
        &mut self,
        provider: &(impl KeyProvider + ?Sized),
        tenant: &str,
        now_ms: u64,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<&SealingKey> {
        let current = provider.current_kek(tenant).inspect_err(|_| self.evict_tenant(tenant))?;
        self.sealing_key(provider, tenant, &current, now_ms, rng)
    }

    /// A data key for the tenant and KEK that `event` names.
    pub fn sealing_key_for_event(
        &mut self,
        provider: &(impl KeyProvider + ?Sized),
        event: &dcs_core::SovereignFinancialEvent,
        now_ms: u64,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<&SealingKey> {
        let p = event.payload();
        let kek = KekRef::new(p.kek_id.clone(), p.kek_version);
        self.sealing_key(provider, event.tenant_id().as_str(), &kek, now_ms, rng)
    }

    /// Adds a data key the store leased to this terminal (made and wrapped by the store's
    /// provider), good for `max_uses` events until `expires_ms` (Unix ms); it replaces a
    /// cached key of the same tenant and KEK version, so the newest lease is used first.
    /// A terminal that holds no KEK seals only with leased keys (see [`crate::lease`]).
    pub fn insert_leased(
        &mut self,
        tenant: &str,
        key: SealingKey,
        now_ms: u64,
        max_uses: u64,
        expires_ms: u64,
    ) {
        self.entries.retain(|e| e.tenant != tenant || e.key.wrapped.kek != key.wrapped.kek);
        if self.entries.len() >= self.policy.max_entries.max(1) {
            let oldest =
                self.entries.iter().enumerate().min_by_key(|(_, e)| e.created_ms).map(|(i, _)| i);
            if let Some(i) = oldest {
                drop(self.entries.swap_remove(i));
            }
        }
        self.entries.push(Entry {
            tenant: tenant.into(),
            key,
            created_ms: now_ms,
            uses: 0,
            lease: Some((max_uses, expires_ms)),
        });
    }

    /// Events the cached key of `tenant` under `kek` may still seal at `now_ms` (0: none).
    pub fn remaining_uses(&self, tenant: &str, kek: &KekRef, now_ms: u64) -> u64 {
        let policy = self.policy;
        self.entries
            .iter()
            .filter(|e| e.tenant == tenant && e.key.wrapped.kek == *kek && e.fresh(&policy, now_ms))
            .map(|e| e.lease.map_or(policy.max_uses, |(max, _)| max).saturating_sub(e.uses))
            .max()
            .unwrap_or(0)
    }

    /// Drops (and zeroizes) every key that is too old or used up at `now_ms`.
    pub fn evict_expired(&mut self, now_ms: u64) {
        let policy = self.policy;
        self.entries.retain(|e| e.fresh(&policy, now_ms));
    }

    /// Drops (and zeroizes) every key of `tenant`: call it when the tenant's KEK is rotated,
    /// retired or shredded.
    pub fn evict_tenant(&mut self, tenant: &str) {
        self.entries.retain(|e| e.tenant != tenant);
    }

    /// Drops (and zeroizes) every key.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
