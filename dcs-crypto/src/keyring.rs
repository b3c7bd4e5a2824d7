//! The local keyring, the default [`KeyProvider`]: KEKs per tenant with versions, random or
//! derived with HKDF from a root secret, held in memory and zeroized on drop.
//!
//! [`Keyring::to_bytes`] and [`Keyring::from_bytes`] give a versioned serialization; the
//! `dcs-keys` crate (at `dcs-crypto/providers`) stores it in a file only its owner can read
//! (mode 0600).
//!
//! What protects those bytes:
//! - **Corruption and truncation** (a bad disk, a half-copied file, a flipped bit): format
//!   version 2 ends with a SHA-256 digest of everything before it, and decoding refuses a
//!   digest mismatch and any trailing byte, so a damaged keyring fails to load with an error
//!   that says so, instead of loading and then failing every open.
//! - **An attacker who can write the bytes**: the digest does not stop them (they can
//!   recompute it, and whoever can write the file can usually read its secrets too). Seal the
//!   keyring under a key held elsewhere with [`Keyring::to_sealed_bytes`] (AES-256-GCM: any
//!   edit fails to open), or keep the KEKs in an HSM or Vault (`dcs-keys`).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use sha2::{Digest, Sha256};

use crate::error::{CryptoError, Result};
use crate::primitive::{NONCE_LEN, aes256gcm_open, aes256gcm_seal, hkdf_sha256};
use crate::provider::{DATA_KEY_ID_LEN, DATA_KEY_LEN, DataKey, KekRef, KeyProvider};

/// Lifecycle state of one KEK version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KekState {
    /// Wraps new data keys (if newest) and unwraps old ones.
    Active,
    /// Opens nothing any more; kept so errors can name it.
    Retired,
    /// Key material erased (crypto-shredded).
    Destroyed,
}

/// Where a new KEK version's secret comes from.
pub enum KekMaterial<'a> {
    /// 32 random bytes drawn from the caller's RNG (stored in the keyring).
    Random(&'a mut dyn CryptoRngCore),
    /// HKDF-SHA256 from a root secret, the tenant, the KEK id and the version (re-derivable).
    Derived(&'a [u8]),
}

impl fmt::Debug for KekMaterial<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Random(_) => f.write_str("KekMaterial::Random"),
            Self::Derived(_) => f.write_str("KekMaterial::Derived(<redacted>)"),
        }
    }
}

#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct Secret([u8; DATA_KEY_LEN]);

#[derive(Clone, Serialize, Deserialize)]
struct Version {
    version: u32,
    state: KekState,
    secret: Option<Secret>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Kek {
    tenant: String,
    versions: Vec<Version>,
}

/// An in-memory keyring of tenants' KEKs; implements [`KeyProvider`].
#[derive(Clone, Default)]
pub struct Keyring {
    keks: BTreeMap<String, Kek>,
}

#[derive(Serialize, Deserialize)]
struct Persisted {
    magic: [u8; 4],
    version: u8,
    keks: BTreeMap<String, Kek>,
}

const PERSIST_MAGIC: [u8; 4] = *b"DCSK";
/// The keyring format written by [`Keyring::to_bytes`] (version 1 had no digest).
const PERSIST_VERSION: u8 = 2;
/// Length of the SHA-256 digest that ends a version-2 keyring.
const DIGEST_LEN: usize = 32;
const SEALED_MAGIC: [u8; 4] = *b"DCSS";
const SEALED_AAD: &[u8] = b"dcs.keyring.sealed1";
const WRAP_TAG: &[u8] = b"dcs.wrap1";
const KEK_SALT: &[u8] = b"dcs/kek/v1";

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (id, kek) in &self.keks {
            let versions: Vec<(u32, KekState)> =
                kek.versions.iter().map(|v| (v.version, v.state)).collect();
            m.entry(id, &(&kek.tenant, versions, "<secrets redacted>"));
        }
        m.finish()
    }
}

fn derive_kek(root: &[u8], tenant: &str, kek_id: &str, version: u32) -> Result<Secret> {
    let mut info = Vec::with_capacity(tenant.len() + kek_id.len() + 8);
    info.extend_from_slice(&(tenant.len() as u32).to_be_bytes());
    info.extend_from_slice(tenant.as_bytes());
    info.extend_from_slice(&(kek_id.len() as u32).to_be_bytes());
    info.extend_from_slice(kek_id.as_bytes());
    info.extend_from_slice(&version.to_be_bytes());
    let mut out = [0u8; DATA_KEY_LEN];
    hkdf_sha256(KEK_SALT, root, &info, &mut out)?;
    let s = Secret(out);
    out.zeroize();
    Ok(s)
}

fn wrap_aad(tenant: &str, kek: &KekRef, data_key_id: &[u8; DATA_KEY_ID_LEN]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_TAG.len() + tenant.len() + kek.id.len() + 32);
    aad.extend_from_slice(WRAP_TAG);
    aad.extend_from_slice(&(tenant.len() as u32).to_be_bytes());
    aad.extend_from_slice(tenant.as_bytes());
    aad.extend_from_slice(&(kek.id.len() as u32).to_be_bytes());
    aad.extend_from_slice(kek.id.as_bytes());
    aad.extend_from_slice(&kek.version.to_be_bytes());
    aad.extend_from_slice(data_key_id);
    aad
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    fn material(
        material: KekMaterial<'_>,
        tenant: &str,
        kek_id: &str,
        version: u32,
    ) -> Result<Secret> {
        match material {
            KekMaterial::Random(rng) => {
                let mut s = Secret([0; DATA_KEY_LEN]);
                rng.fill_bytes(&mut s.0);
                Ok(s)
            }
            KekMaterial::Derived(root) => {
                if root.len() < DATA_KEY_LEN {
                    return Err(CryptoError::InvalidKey {
                        what: "keyring root secret",
                        reason: "must be at least 32 bytes",
                    });
                }
                derive_kek(root, tenant, kek_id, version)
            }
        }
    }

    /// Creates KEK `kek_id` for `tenant` at version 1; fails if the id exists.
    pub fn create_kek(
        &mut self,
        tenant: &str,
        kek_id: &str,
        material: KekMaterial<'_>,
    ) -> Result<KekRef> {
        crate::provider::check_kek_id(kek_id)?;
        if tenant.is_empty() {
            return Err(CryptoError::InvalidKey {
                what: "tenant",
                reason: "must not be empty: name the tenant that owns the KEK",
            });
        }
        if let Some(k) = self.keks.get(kek_id) {
            return Err(CryptoError::WrongTenant {
                kek_id: kek_id.into(),
                owner: k.tenant.clone(),
                requested: tenant.into(),
            });
        }
        let secret = Self::material(material, tenant, kek_id, 1)?;
        self.keks.insert(
            kek_id.into(),
            Kek {
                tenant: tenant.into(),
                versions: alloc::vec![Version {
                    version: 1,
                    state: KekState::Active,
                    secret: Some(secret)
                }],
            },
        );
        Ok(KekRef::new(kek_id, 1))
    }

    /// Adds a new version of `kek_id`; new data keys are wrapped under it from now on.
    pub fn rotate(&mut self, kek_id: &str, material: KekMaterial<'_>) -> Result<KekRef> {
        let kek = self
            .keks
            .get_mut(kek_id)
            .ok_or_else(|| CryptoError::UnknownKek { kek_id: kek_id.into() })?;
        if kek.versions.iter().any(|v| v.state == KekState::Destroyed) {
            return Err(CryptoError::KekDestroyed {
                tenant: kek.tenant.clone(),
                kek_id: kek_id.into(),
            });
        }
        let version = kek.versions.iter().map(|v| v.version).max().unwrap_or(0).saturating_add(1);
        let secret = Self::material(material, &kek.tenant, kek_id, version)?;
        kek.versions.push(Version { version, state: KekState::Active, secret: Some(secret) });
        Ok(KekRef::new(kek_id, version))
    }

    /// Retires one version: it no longer wraps or unwraps (rewrap its envelopes first).
    pub fn retire(&mut self, kek: &KekRef) -> Result<()> {
        let v = self.version_mut(kek)?;
        if v.state == KekState::Active {
            v.state = KekState::Retired;
            v.secret = None;
        }
        Ok(())
    }

    /// Crypto-shreds every KEK of `tenant`: the secrets are zeroized and can never open again.
    ///
    /// Returns how many KEK versions were destroyed.
    pub fn destroy_tenant(&mut self, tenant: &str) -> usize {
        let mut n = 0;
        for kek in self.keks.values_mut().filter(|k| k.tenant == tenant) {
            for v in &mut kek.versions {
                v.secret = None; // `Secret` zeroizes on drop
                v.state = KekState::Destroyed;
                n += 1;
            }
        }
        n
    }

    /// The state of one KEK version.
    pub fn state(&self, kek: &KekRef) -> Result<KekState> {
        Ok(self.version(kek, None)?.state)
    }

    fn version_mut(&mut self, kek: &KekRef) -> Result<&mut Version> {
        let k = self
            .keks
            .get_mut(&kek.id)
            .ok_or_else(|| CryptoError::UnknownKek { kek_id: kek.id.clone() })?;
        k.versions.iter_mut().find(|v| v.version == kek.version).ok_or_else(|| {
            CryptoError::UnknownKekVersion { kek_id: kek.id.clone(), version: kek.version }
        })
    }

    fn version(&self, kek: &KekRef, tenant: Option<&str>) -> Result<&Version> {
        let k = self
            .keks
            .get(&kek.id)
            .ok_or_else(|| CryptoError::UnknownKek { kek_id: kek.id.clone() })?;
        if let Some(t) = tenant
            && k.tenant != t
        {
            return Err(CryptoError::WrongTenant {
                kek_id: kek.id.clone(),
                owner: k.tenant.clone(),
                requested: t.into(),
            });
        }
        k.versions.iter().find(|v| v.version == kek.version).ok_or_else(|| {
            CryptoError::UnknownKekVersion { kek_id: kek.id.clone(), version: kek.version }
        })
    }

    fn usable_secret(&self, tenant: &str, kek: &KekRef) -> Result<&Secret> {
        let v = self.version(kek, Some(tenant))?;
        match (&v.state, &v.secret) {
            (KekState::Active, Some(s)) => Ok(s),
            (KekState::Destroyed, _) | (KekState::Active, None) => {
                Err(CryptoError::KekDestroyed { tenant: tenant.into(), kek_id: kek.id.clone() })
            }
            (KekState::Retired, _) => {
                Err(CryptoError::RetiredKek { kek_id: kek.id.clone(), version: kek.version })
            }
        }
    }

    /// Serializes the keyring (secrets included) in keyring format version 2: the postcard
    /// encoding followed by its SHA-256 digest.
    ///
    /// The bytes are secret: store them only where the owner alone can read them, or seal
    /// them with [`to_sealed_bytes`](Self::to_sealed_bytes).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let p =
            Persisted { magic: PERSIST_MAGIC, version: PERSIST_VERSION, keks: self.keks.clone() };
        // Postcard into a growable buffer fails only for types whose Serialize fails; ours
        // cannot.
        let mut out = Zeroizing::new(postcard::to_allocvec(&p).unwrap_or_default());
        let digest = Sha256::digest(out.as_slice());
        out.extend_from_slice(&digest);
        out
    }

    /// Reads bytes written by [`to_bytes`](Self::to_bytes) (format 2, or format 1 of earlier
    /// releases), refusing a digest mismatch and any trailing byte.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < PERSIST_MAGIC.len() || bytes[..PERSIST_MAGIC.len()] != PERSIST_MAGIC {
            return Err(CryptoError::KeyringFormat("bad magic (not a keyring file)"));
        }
        let (p, rest) = postcard::take_from_bytes::<Persisted>(bytes).map_err(|_| {
            CryptoError::KeyringFormat(
                "undecodable (truncated or corrupt): restore it from a backup",
            )
        })?;
        match p.version {
            1 if rest.is_empty() => {}
            1 => return Err(CryptoError::KeyringFormat("trailing bytes after the keyring")),
            PERSIST_VERSION => {
                if rest.len() != DIGEST_LEN {
                    return Err(CryptoError::KeyringFormat(
                        "the digest is missing or followed by trailing bytes: the keyring is truncated or corrupt",
                    ));
                }
                let body = &bytes[..bytes.len() - DIGEST_LEN];
                if Sha256::digest(body).as_slice() != rest {
                    return Err(CryptoError::KeyringFormat(
                        "digest mismatch: the keyring bytes are corrupt or were edited; restore them from a backup",
                    ));
                }
            }
            _ => return Err(CryptoError::KeyringFormat("unknown keyring version")),
        }
        Ok(Self { keks: p.keks.clone() })
    }

    /// The keyring sealed under `wrapping_key` (held elsewhere: an HSM, a secret manager, an
    /// operator's passphrase through a KDF): `DCSS ‖ nonce ‖ AES-256-GCM(to_bytes())`. Any
    /// edit of the sealed bytes fails [`from_sealed_bytes`](Self::from_sealed_bytes).
    pub fn to_sealed_bytes(
        &self,
        wrapping_key: &DataKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let plain = self.to_bytes();
        let sealed = aes256gcm_seal(wrapping_key.expose_secret(), &nonce, SEALED_AAD, &plain)?;
        let mut out = Vec::with_capacity(SEALED_MAGIC.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(&SEALED_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens bytes written by [`to_sealed_bytes`](Self::to_sealed_bytes) with the same key.
    ///
    /// [`CryptoError::BadTag`] when the key is wrong or the bytes were changed.
    pub fn from_sealed_bytes(bytes: &[u8], wrapping_key: &DataKey) -> Result<Self> {
        let head = SEALED_MAGIC.len() + NONCE_LEN;
        if bytes.len() < head || bytes[..SEALED_MAGIC.len()] != SEALED_MAGIC {
            return Err(CryptoError::KeyringFormat("not a sealed keyring (bad magic)"));
        }
        let nonce = &bytes[SEALED_MAGIC.len()..head];
        let plain =
            aes256gcm_open(wrapping_key.expose_secret(), nonce, SEALED_AAD, &bytes[head..])?;
        Self::from_bytes(&plain)
    }
}

impl KeyProvider for Keyring {
    fn current_kek(&self, tenant: &str) -> Result<KekRef> {
        let mut destroyed = None;
        let mut best: Option<KekRef> = None;
        for (id, kek) in self.keks.iter().filter(|(_, k)| k.tenant == tenant) {
            for v in &kek.versions {
                match v.state {
                    KekState::Active if best.as_ref().is_none_or(|b| v.version > b.version) => {
                        best = Some(KekRef::new(id.clone(), v.version));
                    }
                    KekState::Destroyed => destroyed = Some(id.clone()),
                    _ => {}
                }
            }
        }
        match (best, destroyed) {
            (Some(b), _) => Ok(b),
            (None, Some(kek_id)) => {
                Err(CryptoError::KekDestroyed { tenant: tenant.into(), kek_id })
            }
            (None, None) => Err(CryptoError::UnknownKek {
                kek_id: alloc::format!("<any KEK of tenant {tenant}>"),
            }),
        }
    }

    fn wrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        key: &DataKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<u8>> {
        let secret = self.usable_secret(tenant, kek)?;
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ct = aes256gcm_seal(
            &secret.0,
            &nonce,
            &wrap_aad(tenant, kek, data_key_id),
            key.expose_secret(),
        )?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &[u8],
    ) -> Result<DataKey> {
        let secret = self.usable_secret(tenant, kek)?;
        let fail = || CryptoError::UnwrapFailed { kek_id: kek.id.clone(), version: kek.version };
        if wrapped.len() != NONCE_LEN + DATA_KEY_LEN + crate::primitive::TAG_LEN {
            return Err(fail());
        }
        let (nonce, ct) = wrapped.split_at(NONCE_LEN);
        let pt = aes256gcm_open(&secret.0, nonce, &wrap_aad(tenant, kek, data_key_id), ct)
            .map_err(|_| fail())?;
        DataKey::from_slice(&pt)
    }
}
