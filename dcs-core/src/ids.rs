//! Identifiers: event and correlation ids (UUIDs), tenant/branch/agent names, idempotency keys.
//!
//! Every parser returns [`CoreError::InvalidId`] naming the field, so a bad id from a POS, a
//! proto message or an FFI caller says exactly what to fix.

use alloc::string::{String, ToString};
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::error::{CoreError, Result};

/// The id of one event: a UUID version 7, ordered by its creation time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(Uuid);

impl EventId {
    /// Makes a UUIDv7 from a Unix time in milliseconds and 10 caller-supplied random bytes.
    pub fn new_v7(unix_ms: u64, random: [u8; 10]) -> Self {
        EventId(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid())
    }

    /// Parses the hyphenated text form; the value must be a version-7 UUID.
    pub fn parse(text: &str) -> Result<Self> {
        let uuid = Uuid::try_parse(text).map_err(|e| invalid("event_id", e.to_string()))?;
        Self::from_uuid(uuid)
    }

    /// Takes the 16 raw bytes; the value must be a version-7 UUID.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<Self> {
        Self::from_uuid(Uuid::from_bytes(bytes))
    }

    fn from_uuid(uuid: Uuid) -> Result<Self> {
        if uuid.get_version_num() != 7 {
            return Err(invalid(
                "event_id",
                alloc::format!(
                    "expected a UUID version 7 (time-ordered), got version {}",
                    uuid.get_version_num()
                ),
            ));
        }
        Ok(EventId(uuid))
    }

    /// The 16 raw bytes (big-endian UUID layout).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The Unix time in milliseconds at which the id was made.
    pub fn unix_ms(&self) -> u64 {
        let b = self.0.as_bytes();
        u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
    }
}

/// The id that ties together the events of one business transaction (a sale, a saga).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CorrelationId(Uuid);

impl CorrelationId {
    /// Wraps 16 raw bytes; any UUID version is accepted except the nil UUID.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<Self> {
        let uuid = Uuid::from_bytes(bytes);
        if uuid.is_nil() {
            return Err(invalid("correlation_id", "the nil UUID is not a correlation id".into()));
        }
        Ok(CorrelationId(uuid))
    }

    /// Parses the hyphenated text form.
    pub fn parse(text: &str) -> Result<Self> {
        let uuid = Uuid::try_parse(text).map_err(|e| invalid("correlation_id", e.to_string()))?;
        Self::from_bytes(*uuid.as_bytes())
    }

    /// Uses an event id as the correlation id of the transaction it starts.
    pub fn from_event(id: EventId) -> Self {
        CorrelationId(id.0)
    }

    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

macro_rules! uuid_text_impls {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self.0.hyphenated())
            }
        }
        impl FromStr for $ty {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                self.as_bytes().serialize(s)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                let bytes = <[u8; 16]>::deserialize(d)?;
                Self::from_bytes(bytes).map_err(serde::de::Error::custom)
            }
        }
    };
}
uuid_text_impls!(EventId);
uuid_text_impls!(CorrelationId);

/// Longest accepted tenant, branch or agent name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest accepted idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

fn invalid(field: &'static str, reason: String) -> CoreError {
    CoreError::InvalidId { field, reason }
}

fn check_name(field: &'static str, text: &str) -> Result<()> {
    if text.is_empty() || text.len() > MAX_NAME_LEN {
        return Err(invalid(
            field,
            alloc::format!("must be 1 to {MAX_NAME_LEN} bytes long, got {}", text.len()),
        ));
    }
    if let Some(bad) =
        text.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(invalid(
            field,
            alloc::format!(
                "character {bad:?} is not allowed; use ASCII letters, digits, '-', '_', '.' or ':'"
            ),
        ));
    }
    Ok(())
}

macro_rules! name_id {
    ($(#[$doc:meta])* $ty:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $ty(String);

        impl $ty {
            /// Validates and wraps a name (1 to 64 bytes of ASCII letters, digits, `-_.:`).
            pub fn new(text: impl Into<String>) -> Result<Self> {
                let text = text.into();
                check_name($field, &text)?;
                Ok($ty(text))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({:?})"), self.0)
            }
        }
        impl FromStr for $ty {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::new(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_id!(
    /// The tenant (retail company) that owns an event; the unit of key and row isolation.
    TenantId,
    "tenant_id"
);
name_id!(
    /// A branch (store) of a tenant.
    BranchId,
    "branch_id"
);
name_id!(
    /// An agent: a POS terminal, a local agent, a regional node, a cashier or a service.
    AgentId,
    "agent_id"
);

/// A caller-chosen key that makes a retried command produce its effect once.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates and wraps a key: 1 to 128 bytes of printable ASCII (space through `~`).
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        if text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(invalid(
                "idempotency_key",
                alloc::format!(
                    "must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} bytes long, got {}",
                    text.len()
                ),
            ));
        }
        if let Some(pos) = text.bytes().position(|b| !(0x20..=0x7e).contains(&b)) {
            return Err(invalid(
                "idempotency_key",
                alloc::format!("byte {pos} is not printable ASCII (0x20..=0x7e)"),
            ));
        }
        Ok(IdempotencyKey(text))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}
impl FromStr for IdempotencyKey {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}
impl<'de> Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::new(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_is_time_ordered_v7() {
        let a = EventId::new_v7(1_700_000_000_000, [0xff; 10]);
        let b = EventId::new_v7(1_700_000_000_001, [0x00; 10]);
        assert!(a < b);
        assert_eq!(a.unix_ms(), 1_700_000_000_000);
        let text = a.to_string();
        assert_eq!(EventId::parse(&text).unwrap(), a);
    }

    #[test]
    fn bad_ids_name_their_field() {
        let err = EventId::parse("6fa459ea-ee8a-3ca4-894e-db77e160355e").unwrap_err();
        assert!(err.to_string().contains("event_id"), "{err}");
        assert!(err.to_string().contains("version 3"), "{err}");
        let err = TenantId::new("acme corp").unwrap_err();
        assert!(err.to_string().starts_with("invalid tenant_id"), "{err}");
        let err = BranchId::new("").unwrap_err();
        assert!(err.to_string().contains("branch_id"), "{err}");
        let err = AgentId::new("x".repeat(65)).unwrap_err();
        assert!(err.to_string().contains("agent_id"), "{err}");
        let err = CorrelationId::parse("nope").unwrap_err();
        assert!(err.to_string().contains("correlation_id"), "{err}");
    }

    #[test]
    fn idempotency_key_bounds() {
        assert!(IdempotencyKey::new("a").is_ok());
        assert!(IdempotencyKey::new("k".repeat(128)).is_ok());
        assert!(IdempotencyKey::new("k".repeat(129)).is_err());
        assert!(IdempotencyKey::new("").is_err());
        let err = IdempotencyKey::new("ab\ncd").unwrap_err();
        assert!(err.to_string().contains("byte 2"), "{err}");
    }

    #[test]
    fn deserializing_validates() {
        let bytes = postcard::to_allocvec(&"bad name!").unwrap();
        assert!(postcard::from_bytes::<TenantId>(&bytes).is_err());
        let nil = postcard::to_allocvec(&[0u8; 16]).unwrap();
        assert!(postcard::from_bytes::<EventId>(&nil).is_err());
    }
}
