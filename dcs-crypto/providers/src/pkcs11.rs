//! [`Pkcs11Provider`]: KEKs as non-extractable AES-256 keys on a PKCS#11 token.
//!
//! Each KEK version is one secret-key object: `CKA_ID` = the KEK id, `CKA_LABEL` =
//! `<tenant>/<kek id>/v<version>`, sensitive and never extractable, usable only to encrypt
//! and decrypt. A data key is wrapped with `CKM_AES_GCM` on the token (random 96-bit IV,
//! 128-bit tag), with the tenant, KEK id, version and data-key id as associated data. The
//! wrapped form is `0x01 ‖ IV ‖ ciphertext ‖ tag`.
//!
//! Retiring a version or destroying a tenant deletes the key objects and leaves a data
//! object (`CKA_APPLICATION` = `dcs-keys:retired` or `dcs-keys:destroyed`, same label,
//! `CKA_VALUE` = the KEK id) so later requests get the right error, not "unknown KEK".

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use dcs_crypto::provider::{DATA_KEY_ID_LEN, DATA_KEY_LEN};
use dcs_crypto::{CryptoError, DataKey, KekRef, KekState, KeyProvider};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::admin::KekAdmin;
use crate::error::{KeysError, Result, provider_error};
use crate::state::{VersionInfo, check_kek_id, check_usable, current, wrap_aad};

const PROVIDER: &str = "pkcs11";
const SCHEME_GCM: u8 = 1;
const IV_LEN: usize = 12;
const TAG_BITS: u64 = 128;
const APP_RETIRED: &[u8] = b"dcs-keys:retired";
const APP_DESTROYED: &[u8] = b"dcs-keys:destroyed";

/// Environment variable naming the PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
pub const ENV_MODULE: &str = "DCS_PKCS11_MODULE";
/// Environment variable with the token label (default `dcs`).
pub const ENV_TOKEN: &str = "DCS_PKCS11_TOKEN";
/// Environment variable with the user PIN.
pub const ENV_PIN: &str = "DCS_PKCS11_PIN";

/// KEKs on a PKCS#11 token; implements [`KeyProvider`] and [`KekAdmin`].
pub struct Pkcs11Provider {
    session: Mutex<Session>,
    token: String,
}

impl fmt::Debug for Pkcs11Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Provider").field("token", &self.token).finish_non_exhaustive()
    }
}

/// One KEK version found on the token, with its objects.
struct Found {
    info: VersionInfo,
    key: Option<ObjectHandle>,
    marker: Option<ObjectHandle>,
}

fn p11(e: P11Error) -> CryptoError {
    provider_error(PROVIDER, e)
}

fn label(tenant: &str, kek_id: &str, version: u32) -> String {
    format!("{tenant}/{kek_id}/v{version}")
}

/// Splits `<tenant>/<kek id>/v<version>` knowing the KEK id.
fn parse_label(label: &[u8], kek_id: &str) -> Option<(String, u32)> {
    let label = std::str::from_utf8(label).ok()?;
    let (rest, version) = label.rsplit_once("/v")?;
    let tenant = rest.strip_suffix(kek_id)?.strip_suffix('/')?;
    Some((tenant.to_string(), version.parse().ok()?))
}

/// `(tenant, KEK id, version)` of object `h`, whose KEK id is in attribute `id_attr`; `None`
/// for objects this provider did not make.
fn named(
    s: &Session,
    h: ObjectHandle,
    id_attr: AttributeType,
) -> Result<Option<(String, String, u32)>, CryptoError> {
    let (mut id, mut lab) = (None, None);
    for a in s.get_attributes(h, &[id_attr, AttributeType::Label]).map_err(p11)? {
        match a {
            Attribute::Id(v) | Attribute::Value(v) => id = String::from_utf8(v).ok(),
            Attribute::Label(v) => lab = Some(v),
            _ => {}
        }
    }
    let (Some(id), Some(lab)) = (id, lab) else { return Ok(None) };
    Ok(parse_label(&lab, &id).map(|(tenant, version)| (tenant, id, version)))
}

impl Pkcs11Provider {
    /// Opens the token labelled `token_label` through `module` and logs in with `pin`.
    pub fn open(module: impl AsRef<Path>, token_label: &str, pin: &str) -> Result<Self> {
        let cfg = |reason: String| KeysError::Config { provider: PROVIDER, reason };
        let module = module.as_ref();
        let ctx = Pkcs11::new(module)
            .map_err(|e| cfg(format!("cannot load module {}: {e}", module.display())))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(())
            | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, Function::Initialize)) => {}
            Err(e) => return Err(cfg(format!("C_Initialize failed: {e}"))),
        }
        let slot = ctx
            .get_slots_with_initialized_token()
            .map_err(p11)?
            .into_iter()
            .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == token_label))
            .ok_or_else(|| {
                cfg(format!(
                    "no initialised token labelled `{token_label}` (list them with \
                     `softhsm2-util --show-slots` or `pkcs11-tool --list-slots`)"
                ))
            })?;
        let gcm = ctx.get_mechanism_list(slot).map_err(p11)?.contains(&MechanismType::AES_GCM);
        if !gcm {
            return Err(cfg(format!("token `{token_label}` does not offer CKM_AES_GCM")));
        }
        let session = ctx.open_rw_session(slot).map_err(p11)?;
        let pin = AuthPin::new(pin.into());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(cfg(format!("login to token `{token_label}` failed: {e}"))),
        }
        Ok(Self { session: Mutex::new(session), token: token_label.into() })
    }

    /// Opens the token named by `DCS_PKCS11_MODULE`, `DCS_PKCS11_TOKEN` and `DCS_PKCS11_PIN`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| KeysError::Config {
                provider: PROVIDER,
                reason: format!(
                    "environment variable {name} is not set (run `source scripts/crypto-services.sh`)"
                ),
            })
        };
        let token = std::env::var(ENV_TOKEN).unwrap_or_else(|_| "dcs".into());
        let pin = Zeroizing::new(var(ENV_PIN)?);
        Self::open(var(ENV_MODULE)?, &token, &pin)
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // A session has no state of ours that a panic could leave half-changed.
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every version of `kek_id` (or of every KEK, with `None`) on the token.
    fn inventory(&self, s: &Session, kek_id: Option<&str>) -> Result<Vec<Found>, CryptoError> {
        let mut found: Vec<Found> = Vec::new();
        let mut tmpl =
            vec![Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES)];
        if let Some(id) = kek_id {
            tmpl.push(Attribute::Id(id.as_bytes().to_vec()));
        }
        for h in s.find_objects(&tmpl).map_err(p11)? {
            let Some((tenant, id, version)) = named(s, h, AttributeType::Id)? else { continue };
            let info = VersionInfo { tenant, kek_id: id, version, state: KekState::Active };
            found.push(Found { info, key: Some(h), marker: None });
        }
        for (app, state) in [(APP_RETIRED, KekState::Retired), (APP_DESTROYED, KekState::Destroyed)]
        {
            let mut tmpl =
                vec![Attribute::Class(ObjectClass::DATA), Attribute::Application(app.to_vec())];
            if let Some(id) = kek_id {
                tmpl.push(Attribute::Value(id.as_bytes().to_vec()));
            }
            for h in s.find_objects(&tmpl).map_err(p11)? {
                let Some((tenant, id, version)) = named(s, h, AttributeType::Value)? else {
                    continue;
                };
                // A marker outranks a key object left by an interrupted retire/destroy.
                match found.iter_mut().find(|f| f.info.kek_id == id && f.info.version == version) {
                    Some(f) if f.info.state != KekState::Destroyed => {
                        f.info.state = state;
                        f.marker = Some(h);
                    }
                    Some(_) => {}
                    None => found.push(Found {
                        info: VersionInfo { tenant, kek_id: id, version, state },
                        key: None,
                        marker: Some(h),
                    }),
                }
            }
        }
        Ok(found)
    }

    /// The key object of an active `kek` that `tenant` may use.
    fn usable_key(
        &self,
        s: &Session,
        tenant: &str,
        kek: &KekRef,
    ) -> Result<ObjectHandle, CryptoError> {
        let found = self.inventory(s, Some(&kek.id))?;
        let infos: Vec<VersionInfo> = found.iter().map(|f| f.info.clone()).collect();
        check_usable(&infos, tenant, kek)?;
        found.iter().find(|f| f.info.version == kek.version).and_then(|f| f.key).ok_or_else(|| {
            CryptoError::UnknownKekVersion { kek_id: kek.id.clone(), version: kek.version }
        })
    }

    fn generate(&self, s: &Session, tenant: &str, kek_id: &str, version: u32) -> Result<KekRef> {
        let tmpl = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen((DATA_KEY_LEN as u64).into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Id(kek_id.as_bytes().to_vec()),
            Attribute::Label(label(tenant, kek_id, version).into_bytes()),
        ];
        s.generate_key(&Mechanism::AesKeyGen, &tmpl).map_err(p11)?;
        Ok(KekRef::new(kek_id, version))
    }

    /// Replaces `f`'s objects by a marker of `app`.
    fn mark(&self, s: &Session, f: &Found, app: &[u8]) -> Result<(), CryptoError> {
        let tmpl = [
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Application(app.to_vec()),
            Attribute::Label(label(&f.info.tenant, &f.info.kek_id, f.info.version).into_bytes()),
            Attribute::Value(f.info.kek_id.as_bytes().to_vec()),
        ];
        s.create_object(&tmpl).map_err(p11)?;
        for h in [f.key, f.marker].into_iter().flatten() {
            s.destroy_object(h).map_err(p11)?;
        }
        Ok(())
    }
}

impl KeyProvider for Pkcs11Provider {
    fn current_kek(&self, tenant: &str) -> dcs_crypto::Result<KekRef> {
        let s = self.session();
        let infos: Vec<VersionInfo> =
            self.inventory(&s, None)?.into_iter().map(|f| f.info).collect();
        current(&infos, tenant)
    }

    fn wrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        key: &DataKey,
        rng: &mut dyn CryptoRngCore,
    ) -> dcs_crypto::Result<Vec<u8>> {
        let s = self.session();
        let handle = self.usable_key(&s, tenant, kek)?;
        let mut iv = [0u8; IV_LEN];
        rng.fill_bytes(&mut iv);
        let aad = wrap_aad(tenant, kek, data_key_id);
        let mut iv_param = iv;
        let params = GcmParams::new(&mut iv_param, &aad, TAG_BITS.into()).map_err(p11)?;
        let ct = s.encrypt(&Mechanism::AesGcm(params), handle, key.expose_secret()).map_err(p11)?;
        let mut out = Vec::with_capacity(1 + IV_LEN + ct.len());
        out.push(SCHEME_GCM);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &[u8],
    ) -> dcs_crypto::Result<DataKey> {
        let s = self.session();
        let handle = self.usable_key(&s, tenant, kek)?;
        let fail = || CryptoError::UnwrapFailed { kek_id: kek.id.clone(), version: kek.version };
        if wrapped.len() != 1 + IV_LEN + DATA_KEY_LEN + 16 || wrapped[0] != SCHEME_GCM {
            return Err(fail());
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&wrapped[1..1 + IV_LEN]);
        let aad = wrap_aad(tenant, kek, data_key_id);
        let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into()).map_err(p11)?;
        let pt = s
            .decrypt(&Mechanism::AesGcm(params), handle, &wrapped[1 + IV_LEN..])
            .map(Zeroizing::new)
            .map_err(|e| match e {
                // Tag mismatch: SoftHSM2 reports CKR_GENERAL_ERROR, the standard says
                // CKR_ENCRYPTED_DATA_INVALID.
                P11Error::Pkcs11(
                    RvError::EncryptedDataInvalid
                    | RvError::EncryptedDataLenRange
                    | RvError::GeneralError,
                    Function::Decrypt,
                ) => fail(),
                other => p11(other),
            })?;
        DataKey::from_slice(&pt)
    }
}

impl KekAdmin for Pkcs11Provider {
    fn create_kek(
        &self,
        tenant: &str,
        kek_id: &str,
        _rng: &mut dyn CryptoRngCore,
    ) -> Result<KekRef> {
        check_kek_id(kek_id)?;
        let s = self.session();
        if let Some(f) = self.inventory(&s, Some(kek_id))?.first() {
            return Err(CryptoError::WrongTenant {
                kek_id: kek_id.into(),
                owner: f.info.tenant.clone(),
                requested: tenant.into(),
            }
            .into());
        }
        self.generate(&s, tenant, kek_id, 1)
    }

    fn rotate(&self, kek_id: &str, _rng: &mut dyn CryptoRngCore) -> Result<KekRef> {
        let s = self.session();
        let found = self.inventory(&s, Some(kek_id))?;
        let first =
            found.first().ok_or_else(|| CryptoError::UnknownKek { kek_id: kek_id.into() })?;
        let tenant = first.info.tenant.clone();
        if found.iter().any(|f| f.info.state == KekState::Destroyed) {
            return Err(CryptoError::KekDestroyed { tenant, kek_id: kek_id.into() }.into());
        }
        let version = found.iter().map(|f| f.info.version).max().unwrap_or(0).saturating_add(1);
        self.generate(&s, &tenant, kek_id, version)
    }

    fn retire(&self, kek: &KekRef) -> Result<()> {
        let s = self.session();
        let found = self.inventory(&s, Some(&kek.id))?;
        if found.is_empty() {
            return Err(CryptoError::UnknownKek { kek_id: kek.id.clone() }.into());
        }
        let f = found.iter().find(|f| f.info.version == kek.version).ok_or_else(|| {
            CryptoError::UnknownKekVersion { kek_id: kek.id.clone(), version: kek.version }
        })?;
        if f.info.state == KekState::Active {
            self.mark(&s, f, APP_RETIRED)?;
        }
        Ok(())
    }

    fn destroy_tenant(&self, tenant: &str) -> Result<usize> {
        let s = self.session();
        let mut n = 0;
        for f in self.inventory(&s, None)?.iter().filter(|f| f.info.tenant == tenant) {
            if f.info.state != KekState::Destroyed {
                self.mark(&s, f, APP_DESTROYED)?;
            }
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// KEK objects on the real token are sensitive, never extractable and cannot wrap keys.
    #[test]
    fn kek_objects_never_leave_the_token() {
        let p = Pkcs11Provider::from_env().unwrap_or_else(|e| {
            panic!("{e}: start SoftHSM2 with `source scripts/crypto-services.sh`")
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tenant = format!("attrs-{}-{nanos:x}", std::process::id());
        let kek_id = format!("{tenant}/kek");
        let mut rng = rand_core::OsRng;
        p.create_kek(&tenant, &kek_id, &mut rng).unwrap();
        let s = p.session();
        let found = p.inventory(&s, Some(&kek_id)).unwrap();
        assert_eq!(found.len(), 1);
        let handle = found[0].key.unwrap();
        let attrs = s
            .get_attributes(
                handle,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Wrap,
                    AttributeType::Value,
                ],
            )
            .unwrap();
        assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
        assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
        assert!(attrs.contains(&Attribute::Wrap(false)), "{attrs:?}");
        assert!(!attrs.iter().any(|a| matches!(a, Attribute::Value(_))), "key value readable");
        assert_eq!(found[0].info.tenant, tenant);
        drop(s);
        p.destroy_tenant(&tenant).unwrap();
    }
}
