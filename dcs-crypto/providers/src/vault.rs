//! [`VaultTransitProvider`]: KEKs in HashiCorp Vault / OpenBao Transit, over HTTP(S).
//!
//! Each KEK is one Transit key (`aes256-gcm96`, `derived`, not exportable) named
//! `dcs.<tenant>.<kek id>` (both escaped to Vault's name alphabet); its Transit versions are
//! the KEK versions. Data keys come from the `datakey/plaintext` endpoint, are wrapped with
//! `encrypt` (pinned to the KEK version the event names), opened with `decrypt` and moved
//! to the newest version with `rewrap`, which never lets the data key leave Vault. Every call
//! passes a derivation `context` made of the tenant, the KEK id and the data-key id (not the
//! version, so a rewrapped key keeps it): a wrapped key moved to another envelope, tenant or
//! KEK does not decrypt. The wrapped form is Transit's ciphertext string (`vault:v<N>:...`).
//!
//! Retiring version `v` sets the key's `min_decryption_version` to `v + 1` (so it retires
//! every version up to `v`; Vault cannot retire the newest version: rotate first).
//! Destroying a tenant deletes its keys (`deletion_allowed`, then `DELETE`) after leaving an
//! empty marker key `dcs-shredded.<tenant>.<kek id>`, so later requests report
//! [`CryptoError::KekDestroyed`] rather than an unknown key.
//!
//! `current_kek` lists the Transit keys and reads their versions (several requests), and a
//! terminal asks it before every seal (see `dcs_crypto::dek_cache`). By default every call
//! asks Vault. [`VaultTransitProvider::with_current_kek_ttl`] keeps each tenant's answer for a
//! bounded time instead: a rotation, retirement or shred made through this provider clears it
//! at once, one made elsewhere is seen within the TTL (so for at most that long events may be
//! sealed under a KEK another process just shredded: choose it accordingly).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use dcs_crypto::provider::DATA_KEY_ID_LEN;
use dcs_crypto::{CryptoError, DataKey, KekRef, KekState, KeyProvider, SealingKey, WrappedKey};
use rand_core::CryptoRngCore;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::admin::KekAdmin;
use crate::error::{KeysError, Result, provider_error};
use crate::state::{VersionInfo, check_kek_id, check_usable, current, wrap_aad};

const PROVIDER: &str = "vault";
const KEY_PREFIX: &str = "dcs";
const MARKER_PREFIX: &str = "dcs-shredded";

/// Environment variable with the Vault / OpenBao address (e.g. `http://127.0.0.1:8200`).
pub const ENV_ADDR: &str = "DCS_VAULT_ADDR";
/// Environment variable with the Vault token.
pub const ENV_TOKEN: &str = "DCS_VAULT_TOKEN";
/// Environment variable with the Transit mount path (default `transit`).
pub const ENV_MOUNT: &str = "DCS_VAULT_TRANSIT_MOUNT";

/// KEKs in Vault Transit; implements [`KeyProvider`] and [`KekAdmin`].
pub struct VaultTransitProvider {
    agent: ureq::Agent,
    addr: String,
    mount: String,
    token: Zeroizing<String>,
    /// How long a tenant's current KEK is kept (zero: always ask Vault).
    current_ttl: Duration,
    /// tenant → (when asked, the answer).
    current_cache: Mutex<BTreeMap<String, (Instant, KekRef)>>,
}

impl fmt::Debug for VaultTransitProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultTransitProvider")
            .field("addr", &self.addr)
            .field("mount", &self.mount)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Escapes `s` to Vault's key-name alphabet: ASCII letters and digits stay, every other
/// byte becomes `_xx` (hex).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'_' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

fn key_name(prefix: &str, tenant: &str, kek_id: &str) -> String {
    format!("{prefix}.{}.{}", escape(tenant), escape(kek_id))
}

/// `(prefix, tenant, kek id)` of a key name this provider made.
fn parse_name(name: &str) -> Option<(&str, String, String)> {
    let mut parts = name.split('.');
    let (p, t, k) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || (p != KEY_PREFIX && p != MARKER_PREFIX) {
        return None;
    }
    Some((p, unescape(t)?, unescape(k)?))
}

/// The KEK version a Transit ciphertext (`vault:v<N>:...`) names.
fn ciphertext_version(ct: &str) -> Option<u32> {
    let rest = ct.strip_prefix("vault:v")?;
    rest.split_once(':')?.0.parse().ok()
}

/// Derivation context binding a wrapped key to tenant, KEK id and data-key id.
fn context(tenant: &str, kek_id: &str, data_key_id: &[u8; DATA_KEY_ID_LEN]) -> String {
    B64.encode(wrap_aad(tenant, &KekRef::new(kek_id, 0), data_key_id))
}

fn err(reason: impl fmt::Display) -> CryptoError {
    provider_error(PROVIDER, reason)
}

/// What Vault said, for error messages.
fn vault_errors(body: &Value) -> String {
    match body.get("errors").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            list.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")
        }
        _ => "no error text".into(),
    }
}

/// Moves the base64 `data.plaintext` out of a response and decodes it into a data key.
fn take_plaintext(body: &mut Value) -> Result<DataKey, CryptoError> {
    let text = match body.pointer_mut("/data/plaintext").map(Value::take) {
        Some(Value::String(s)) => Zeroizing::new(s),
        _ => return Err(err("response has no `data.plaintext`")),
    };
    let raw =
        Zeroizing::new(B64.decode(text.as_bytes()).map_err(|e| err(format!("plaintext: {e}")))?);
    DataKey::from_slice(&raw)
}

fn data_str<'a>(body: &'a Value, field: &str) -> Result<&'a str, CryptoError> {
    body.pointer(&format!("/data/{field}"))
        .and_then(Value::as_str)
        .ok_or_else(|| err(format!("response has no `data.{field}`")))
}

impl VaultTransitProvider {
    /// A client of the Transit engine mounted at `transit` on `addr`, using `token`.
    pub fn new(addr: &str, token: &str) -> Result<Self> {
        if !(addr.starts_with("http://") || addr.starts_with("https://")) {
            return Err(KeysError::Config {
                provider: PROVIDER,
                reason: format!("address `{addr}` must start with http:// or https://"),
            });
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Ok(Self {
            agent,
            addr: addr.trim_end_matches('/').into(),
            mount: "transit".into(),
            token: Zeroizing::new(token.into()),
            current_ttl: Duration::ZERO,
            current_cache: Mutex::new(BTreeMap::new()),
        })
    }

    /// Keeps each tenant's current KEK for `ttl` instead of asking Vault before every seal
    /// (see the module doc for what that trades).
    pub fn with_current_kek_ttl(mut self, ttl: Duration) -> Self {
        self.current_ttl = ttl;
        self
    }

    /// Forgets the cached current KEKs (after a change this provider made).
    fn forget_current(&self) {
        self.current_cache.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Uses the Transit engine mounted at `mount` instead of `transit`.
    pub fn with_mount(mut self, mount: &str) -> Self {
        self.mount = mount.trim_matches('/').into();
        self
    }

    /// A client configured by `DCS_VAULT_ADDR`, `DCS_VAULT_TOKEN` and `DCS_VAULT_TRANSIT_MOUNT`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| KeysError::Config {
                provider: PROVIDER,
                reason: format!(
                    "environment variable {name} is not set (run `source scripts/crypto-services.sh`)"
                ),
            })
        };
        let token = Zeroizing::new(var(ENV_TOKEN)?);
        let p = Self::new(&var(ENV_ADDR)?, &token)?;
        Ok(match std::env::var(ENV_MOUNT) {
            Ok(m) => p.with_mount(&m),
            Err(_) => p,
        })
    }

    /// One Transit call: `(status, JSON body or Null)`.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), CryptoError> {
        let bytes = body.map(|b| Zeroizing::new(b.to_string().into_bytes()));
        self.call_raw(method, path, bytes.as_deref().map(Vec::as_slice))
    }

    /// One Transit call with a body already serialized (secret-bearing bodies are built in
    /// zeroized buffers); the response body is read into a zeroized buffer.
    fn call_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Value), CryptoError> {
        let url = format!("{}/v1/{}/{path}", self.addr, self.mount);
        let token = self.token.as_str();
        let sent = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("X-Vault-Token", token).call(),
            ("DELETE", _) => self.agent.delete(&url).header("X-Vault-Token", token).call(),
            (_, Some(b)) => self
                .agent
                .post(&url)
                .header("X-Vault-Token", token)
                .header("Content-Type", "application/json")
                .send(b),
            (_, None) => self.agent.post(&url).header("X-Vault-Token", token).send_empty(),
        };
        let mut resp =
            sent.map_err(|e| err(format!("cannot reach Vault at {}: {e}", self.addr)))?;
        let status = resp.status().as_u16();
        let text = Zeroizing::new(
            resp.body_mut()
                .read_to_string()
                .map_err(|e| err(format!("reading the response: {e}")))?,
        );
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .map_err(|e| err(format!("{method} {path}: HTTP {status}, not JSON: {e}")))?
        };
        Ok((status, json))
    }

    /// A call that must succeed.
    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, CryptoError> {
        let (status, json) = self.call(method, path, body)?;
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            Err(err(format!("{method} {path}: HTTP {status}: {}", vault_errors(&json))))
        }
    }

    /// Names of every Transit key on the mount.
    fn list(&self) -> Result<Vec<String>, CryptoError> {
        let (status, json) = self.call("GET", "keys?list=true", None)?;
        match status {
            404 => Ok(Vec::new()),
            200..=299 => Ok(json
                .pointer("/data/keys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default()),
            _ => Err(err(format!("listing keys: HTTP {status}: {}", vault_errors(&json)))),
        }
    }

    /// Versions of the live key `name` (owned by `tenant`), or `None` if it does not exist.
    fn key_versions(
        &self,
        name: &str,
        tenant: &str,
        kek_id: &str,
    ) -> Result<Option<Vec<VersionInfo>>, CryptoError> {
        let (status, json) = self.call("GET", &format!("keys/{name}"), None)?;
        match status {
            404 => return Ok(None),
            200..=299 => {}
            _ => {
                return Err(err(format!(
                    "reading key {name}: HTTP {status}: {}",
                    vault_errors(&json)
                )));
            }
        }
        let num = |f: &str| json.pointer(&format!("/data/{f}")).and_then(Value::as_u64);
        let latest = num("latest_version").ok_or_else(|| err("key info has no latest_version"))?;
        let min_dec = num("min_decryption_version").unwrap_or(1);
        Ok(Some(
            (1..=u32::try_from(latest).unwrap_or(u32::MAX))
                .map(|v| VersionInfo {
                    tenant: tenant.into(),
                    kek_id: kek_id.into(),
                    version: v,
                    state: if u64::from(v) < min_dec {
                        KekState::Retired
                    } else {
                        KekState::Active
                    },
                })
                .collect(),
        ))
    }

    /// Every known version of `kek_id` (any tenant), shredded ones included.
    fn versions_of(
        &self,
        tenant_hint: &str,
        kek_id: &str,
    ) -> Result<Vec<VersionInfo>, CryptoError> {
        // The common case first: the tenant asking owns the key.
        let marker = key_name(MARKER_PREFIX, tenant_hint, kek_id);
        let (status, _) = self.call("GET", &format!("keys/{marker}"), None)?;
        if status == 404
            && let Some(v) =
                self.key_versions(&key_name(KEY_PREFIX, tenant_hint, kek_id), tenant_hint, kek_id)?
        {
            return Ok(v);
        }
        self.scan(|_, k| k == kek_id)
    }

    /// Versions of every KEK whose (tenant, KEK id) `pick` accepts, shredded ones included.
    fn scan(&self, pick: impl Fn(&str, &str) -> bool) -> Result<Vec<VersionInfo>, CryptoError> {
        let names = self.list()?;
        let mut out = Vec::new();
        let mut shredded = Vec::new();
        for name in &names {
            match parse_name(name) {
                Some((MARKER_PREFIX, t, k)) if pick(&t, &k) => shredded.push((t, k)),
                _ => {}
            }
        }
        for name in &names {
            match parse_name(name) {
                Some((KEY_PREFIX, t, k))
                    if pick(&t, &k) && !shredded.contains(&(t.clone(), k.clone())) =>
                {
                    out.extend(self.key_versions(name, &t, &k)?.unwrap_or_default());
                }
                _ => {}
            }
        }
        for (t, k) in shredded {
            // Versions are gone with the key; one entry per shredded KEK stands for all.
            out.push(VersionInfo { tenant: t, kek_id: k, version: 0, state: KekState::Destroyed });
        }
        Ok(out)
    }

    /// Checks `tenant` may use `kek`; returns the Transit key name.
    fn usable(&self, tenant: &str, kek: &KekRef) -> Result<String, CryptoError> {
        let mut infos = self.versions_of(tenant, &kek.id)?;
        for i in &mut infos {
            if i.state == KekState::Destroyed {
                i.version = kek.version;
            }
        }
        check_usable(&infos, tenant, kek)?;
        Ok(key_name(KEY_PREFIX, tenant, &kek.id))
    }

    fn wrapped_from(&self, kek_id: &str, ct: &str) -> Result<WrappedKey, CryptoError> {
        let version =
            ciphertext_version(ct).ok_or_else(|| err("ciphertext has no vault:v<N>: prefix"))?;
        Ok(WrappedKey { kek: KekRef::new(kek_id, version), bytes: ct.as_bytes().to_vec() })
    }
}

impl KeyProvider for VaultTransitProvider {
    fn current_kek(&self, tenant: &str) -> dcs_crypto::Result<KekRef> {
        if !self.current_ttl.is_zero() {
            let cache = self.current_cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, kek)) = cache.get(tenant)
                && at.elapsed() < self.current_ttl
            {
                return Ok(kek.clone());
            }
        }
        let kek = current(&self.scan(|t, _| t == tenant)?, tenant)?;
        if !self.current_ttl.is_zero() {
            let mut cache = self.current_cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.insert(tenant.to_string(), (Instant::now(), kek.clone()));
        }
        Ok(kek)
    }

    fn wrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        key: &DataKey,
        _rng: &mut dyn CryptoRngCore,
    ) -> dcs_crypto::Result<Vec<u8>> {
        let name = self.usable(tenant, kek)?;
        let plaintext = Zeroizing::new(B64.encode(key.expose_secret()));
        // Base64 needs no JSON escaping; the body holding the key is zeroized after sending.
        let body = Zeroizing::new(format!(
            r#"{{"plaintext":"{}","context":"{}","key_version":{}}}"#,
            plaintext.as_str(),
            context(tenant, &kek.id, data_key_id),
            kek.version
        ));
        let (status, resp) =
            self.call_raw("POST", &format!("encrypt/{name}"), Some(body.as_bytes()))?;
        if !(200..300).contains(&status) {
            return Err(err(format!("encrypt: HTTP {status}: {}", vault_errors(&resp))));
        }
        let ct = data_str(&resp, "ciphertext")?;
        if ciphertext_version(ct) != Some(kek.version) {
            return Err(err(format!("Vault encrypted under another version than {kek}")));
        }
        Ok(ct.as_bytes().to_vec())
    }

    fn unwrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &[u8],
    ) -> dcs_crypto::Result<DataKey> {
        let name = self.usable(tenant, kek)?;
        let fail = || CryptoError::UnwrapFailed { kek_id: kek.id.clone(), version: kek.version };
        let ct = std::str::from_utf8(wrapped).map_err(|_| fail())?;
        if ciphertext_version(ct) != Some(kek.version) {
            return Err(fail());
        }
        let body = json!({ "ciphertext": ct, "context": context(tenant, &kek.id, data_key_id) });
        let (status, mut resp) = self.call("POST", &format!("decrypt/{name}"), Some(body))?;
        match status {
            200..=299 => {}
            400 => return Err(fail()),
            _ => return Err(err(format!("decrypt: HTTP {status}: {}", vault_errors(&resp)))),
        }
        take_plaintext(&mut resp)
    }

    fn generate_data_key(
        &self,
        tenant: &str,
        rng: &mut dyn CryptoRngCore,
    ) -> dcs_crypto::Result<SealingKey> {
        let kek = self.current_kek(tenant)?;
        let name = key_name(KEY_PREFIX, tenant, &kek.id);
        let mut id = [0u8; DATA_KEY_ID_LEN];
        rng.fill_bytes(&mut id);
        let body = json!({ "context": context(tenant, &kek.id, &id), "bits": 256 });
        let mut resp = self.ok("POST", &format!("datakey/plaintext/{name}"), Some(body))?;
        let key = take_plaintext(&mut resp)?;
        let wrapped = self.wrapped_from(&kek.id, data_str(&resp, "ciphertext")?)?;
        Ok(SealingKey { id, key, wrapped })
    }

    /// Rewraps inside Vault (Transit `rewrap`): the data key never leaves it.
    fn rewrap(
        &self,
        tenant: &str,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &WrappedKey,
        _rng: &mut dyn CryptoRngCore,
    ) -> dcs_crypto::Result<WrappedKey> {
        let kek = &wrapped.kek;
        let name = self.usable(tenant, kek)?;
        let fail = || CryptoError::UnwrapFailed { kek_id: kek.id.clone(), version: kek.version };
        let ct = std::str::from_utf8(&wrapped.bytes).map_err(|_| fail())?;
        if ciphertext_version(ct) != Some(kek.version) {
            return Err(fail());
        }
        let body = json!({ "ciphertext": ct, "context": context(tenant, &kek.id, data_key_id) });
        let (status, resp) = self.call("POST", &format!("rewrap/{name}"), Some(body))?;
        match status {
            200..=299 => self.wrapped_from(&kek.id, data_str(&resp, "ciphertext")?),
            400 => Err(fail()),
            _ => Err(err(format!("rewrap: HTTP {status}: {}", vault_errors(&resp)))),
        }
    }
}

impl KekAdmin for VaultTransitProvider {
    fn create_kek(
        &self,
        tenant: &str,
        kek_id: &str,
        _rng: &mut dyn CryptoRngCore,
    ) -> Result<KekRef> {
        self.forget_current();
        check_kek_id(kek_id)?;
        if let Some(v) = self.scan(|_, k| k == kek_id)?.first() {
            return Err(CryptoError::WrongTenant {
                kek_id: kek_id.into(),
                owner: v.tenant.clone(),
                requested: tenant.into(),
            }
            .into());
        }
        let name = key_name(KEY_PREFIX, tenant, kek_id);
        let body = json!({ "type": "aes256-gcm96", "derived": true, "exportable": false });
        self.ok("POST", &format!("keys/{name}"), Some(body))?;
        Ok(KekRef::new(kek_id, 1))
    }

    fn rotate(&self, kek_id: &str, _rng: &mut dyn CryptoRngCore) -> Result<KekRef> {
        self.forget_current();
        let infos = self.scan(|_, k| k == kek_id)?;
        let first =
            infos.first().ok_or_else(|| CryptoError::UnknownKek { kek_id: kek_id.into() })?;
        let tenant = first.tenant.clone();
        if infos.iter().any(|v| v.state == KekState::Destroyed) {
            return Err(CryptoError::KekDestroyed { tenant, kek_id: kek_id.into() }.into());
        }
        let name = key_name(KEY_PREFIX, &tenant, kek_id);
        self.ok("POST", &format!("keys/{name}/rotate"), None)?;
        let latest = self
            .key_versions(&name, &tenant, kek_id)?
            .and_then(|v| v.last().map(|v| v.version))
            .ok_or_else(|| CryptoError::UnknownKek { kek_id: kek_id.into() })?;
        Ok(KekRef::new(kek_id, latest))
    }

    fn retire(&self, kek: &KekRef) -> Result<()> {
        self.forget_current();
        let infos = self.scan(|_, k| k == kek.id)?;
        let first =
            infos.first().ok_or_else(|| CryptoError::UnknownKek { kek_id: kek.id.clone() })?;
        let tenant = first.tenant.clone();
        check_usable(&infos, &tenant, kek).or_else(|e| match e {
            CryptoError::RetiredKek { .. } => Ok(()),
            other => Err(other),
        })?;
        let latest = infos.iter().map(|v| v.version).max().unwrap_or(0);
        if kek.version >= latest {
            return Err(KeysError::Config {
                provider: PROVIDER,
                reason: format!(
                    "Vault cannot retire the newest version of `{}`: rotate first",
                    kek.id
                ),
            });
        }
        let name = key_name(KEY_PREFIX, &tenant, &kek.id);
        let min = kek.version.saturating_add(1);
        let current_min =
            infos.iter().filter(|v| v.state == KekState::Retired).map(|v| v.version + 1).max();
        if current_min.is_none_or(|m| m < min) {
            self.ok(
                "POST",
                &format!("keys/{name}/config"),
                Some(json!({ "min_decryption_version": min })),
            )?;
        }
        Ok(())
    }

    fn destroy_tenant(&self, tenant: &str) -> Result<usize> {
        self.forget_current();
        let infos = self.scan(|t, _| t == tenant)?;
        let mut keks: Vec<&str> = infos.iter().map(|v| v.kek_id.as_str()).collect();
        keks.dedup();
        let mut n = 0;
        for kek_id in keks {
            let live: Vec<&VersionInfo> = infos
                .iter()
                .filter(|v| v.kek_id == kek_id && v.state != KekState::Destroyed)
                .collect();
            let marker = key_name(MARKER_PREFIX, tenant, kek_id);
            self.ok("POST", &format!("keys/{marker}"), Some(json!({ "type": "aes256-gcm96" })))?;
            if !live.is_empty() {
                let name = key_name(KEY_PREFIX, tenant, kek_id);
                self.ok(
                    "POST",
                    &format!("keys/{name}/config"),
                    Some(json!({ "deletion_allowed": true })),
                )?;
                self.ok("DELETE", &format!("keys/{name}"), None)?;
            }
            n += live.len();
        }
        Ok(n)
    }
}
