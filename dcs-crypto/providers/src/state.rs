//! KEK version bookkeeping shared by the external providers: which tenant owns a KEK, which
//! versions exist and in what state, mapped to the same errors the in-memory keyring gives.
#![cfg_attr(not(any(feature = "pkcs11", feature = "vault")), allow(dead_code))]

use dcs_crypto::provider::DATA_KEY_ID_LEN;
use dcs_crypto::{CryptoError, KekRef, KekState};

/// One version of one KEK as a provider found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionInfo {
    /// The tenant that owns the KEK.
    pub tenant: String,
    /// The KEK id.
    pub kek_id: String,
    /// The version.
    pub version: u32,
    /// Its state.
    pub state: KekState,
}

/// Checks that `tenant` may use `kek` given every known version of that KEK id.
pub(crate) fn check_usable(
    known: &[VersionInfo],
    tenant: &str,
    kek: &KekRef,
) -> Result<(), CryptoError> {
    let mut of_id = known.iter().filter(|v| v.kek_id == kek.id).peekable();
    let owner = match of_id.peek() {
        Some(v) => v.tenant.clone(),
        None => return Err(CryptoError::UnknownKek { kek_id: kek.id.clone() }),
    };
    if owner != tenant {
        return Err(CryptoError::WrongTenant {
            kek_id: kek.id.clone(),
            owner,
            requested: tenant.into(),
        });
    }
    let found = of_id.find(|v| v.version == kek.version).ok_or_else(|| {
        CryptoError::UnknownKekVersion { kek_id: kek.id.clone(), version: kek.version }
    })?;
    match found.state {
        KekState::Active => Ok(()),
        KekState::Retired => {
            Err(CryptoError::RetiredKek { kek_id: kek.id.clone(), version: kek.version })
        }
        _ => Err(CryptoError::KekDestroyed { tenant: tenant.into(), kek_id: kek.id.clone() }),
    }
}

/// The newest active KEK version of `tenant` among `known`.
pub(crate) fn current(known: &[VersionInfo], tenant: &str) -> Result<KekRef, CryptoError> {
    let mine = || known.iter().filter(|v| v.tenant == tenant);
    if let Some(best) =
        // Newest version; on a tie the first KEK id in order, as the in-memory keyring does.
        mine()
            .filter(|v| v.state == KekState::Active)
            .max_by_key(|v| (v.version, std::cmp::Reverse(&v.kek_id)))
    {
        return Ok(KekRef::new(best.kek_id.clone(), best.version));
    }
    match mine().find(|v| v.state == KekState::Destroyed) {
        Some(v) => {
            Err(CryptoError::KekDestroyed { tenant: tenant.into(), kek_id: v.kek_id.clone() })
        }
        None => Err(CryptoError::UnknownKek { kek_id: format!("<any KEK of tenant {tenant}>") }),
    }
}

/// Associated data binding a wrapped data key to its tenant, KEK version and data-key id.
pub(crate) fn wrap_aad(tenant: &str, kek: &KekRef, data_key_id: &[u8; DATA_KEY_ID_LEN]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + tenant.len() + kek.id.len() + DATA_KEY_ID_LEN);
    aad.extend_from_slice(b"dcs-keys.wrap1");
    for part in [tenant.as_bytes(), kek.id.as_bytes()] {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad.extend_from_slice(&kek.version.to_be_bytes());
    aad.extend_from_slice(data_key_id);
    aad
}

/// Refuses a KEK id that is empty or longer than an envelope can name.
pub(crate) fn check_kek_id(kek_id: &str) -> Result<(), CryptoError> {
    let max = dcs_crypto::envelope::MAX_KEK_ID_LEN;
    if kek_id.is_empty() || kek_id.len() > max {
        return Err(CryptoError::OversizedLength { field: "kek id", len: kek_id.len(), max });
    }
    Ok(())
}
