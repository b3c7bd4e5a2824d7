//! Operators, their sessions and API tokens, in the master's `admin.sqlite`: passwords as
//! argon2id PHC strings, session and API tokens as SHA-256 digests only (a stolen file gives
//! no working token), each with an expiry; grants per operator or token. The CLI
//! (`dcs-master admin …`) and the running daemon share the file (WAL, a busy timeout).

use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand_core::{OsRng, RngCore};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::access::{Grant, Principal, Role};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The file failed.
    #[error("the accounts file: {0}")]
    Database(String),
    /// Bad input, naming the field.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Wrong name or password (which of the two is not said).
    #[error("wrong operator name or password")]
    BadLogin,
    /// The token is unknown, expired or signed out.
    #[error("the session or token is unknown or expired: sign in again")]
    BadToken,
}

fn db(e: rusqlite::Error) -> AccountError {
    AccountError::Database(e.to_string())
}

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

const DDL: &str = "
CREATE TABLE IF NOT EXISTS operators (
    name TEXT PRIMARY KEY, password TEXT NOT NULL, created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS grants (
    holder TEXT NOT NULL, tenant TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (holder, tenant)
) STRICT;
CREATE TABLE IF NOT EXISTS credentials (
    digest BLOB PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    holder TEXT NOT NULL, expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS credentials_expiry ON credentials (expires_ms);
";

/// The accounts file.
pub struct Accounts {
    conn: Connection,
    /// A hash of a random password: an unknown name is checked against it, so that a login
    /// takes as long whether or not the name exists.
    dummy: String,
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

fn fresh_token(prefix: &str) -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(raw.as_mut());
    Zeroizing::new(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_ref())
    ))
}

fn check_name(field: &'static str, name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid {
            field,
            reason: format!("{name:?}: 1 to 64 of A-Z a-z 0-9 - _ . @"),
        })
    }
}

/// Parses `TENANT=ROLE` (the CLI's `--grant`).
///
/// # Errors
/// [`AccountError::Invalid`] naming `grant`.
pub fn parse_grant(s: &str) -> Result<Grant, AccountError> {
    let (tenant, role) = s.split_once('=').ok_or_else(|| AccountError::Invalid {
        field: "grant",
        reason: format!("{s:?}: write TENANT=ROLE, e.g. acme=operator or *=viewer"),
    })?;
    if tenant != "*" {
        check_name("grant", tenant)?;
    }
    let role =
        Role::parse(role).map_err(|reason| AccountError::Invalid { field: "grant", reason })?;
    Ok(Grant { tenant: tenant.to_string(), role })
}

impl Accounts {
    /// Opens (creating) the accounts file.
    ///
    /// # Errors
    /// [`AccountError::Database`].
    pub fn open(path: &Path) -> Result<Self, AccountError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(DDL).map_err(db)?;
        let dummy = Argon2::default()
            .hash_password(fresh_token("").as_bytes(), &SaltString::generate(&mut OsRng))
            .map_err(|e| AccountError::Database(format!("cannot hash: {e}")))?
            .to_string();
        Ok(Accounts { conn, dummy })
    }

    /// Creates operator `name` with `password` (argon2id) and `grants`.
    ///
    /// # Errors
    /// [`AccountError::Invalid`] for a bad name, a short password, no grants or a taken name.
    pub fn create_operator(
        &mut self,
        name: &str,
        password: &str,
        grants: &[Grant],
        now_ms: u64,
    ) -> Result<(), AccountError> {
        check_name("name", name)?;
        if password.chars().count() < MIN_PASSWORD {
            return Err(AccountError::Invalid {
                field: "password",
                reason: format!("at least {MIN_PASSWORD} characters"),
            });
        }
        if grants.is_empty() {
            return Err(AccountError::Invalid {
                field: "grant",
                reason: "an operator needs at least one grant (TENANT=ROLE)".into(),
            });
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AccountError::Database(format!("cannot hash the password: {e}")))?
            .to_string();
        let tx = self.conn.transaction().map_err(db)?;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO operators (name, password, created_ms) VALUES (?1, ?2, ?3)",
                params![name, hash, now_ms as i64],
            )
            .map_err(db)?;
        if inserted == 0 {
            return Err(AccountError::Invalid {
                field: "name",
                reason: format!("{name:?} is taken"),
            });
        }
        for g in grants {
            tx.execute(
                "INSERT OR REPLACE INTO grants (holder, tenant, role) VALUES (?1, ?2, ?3)",
                params![format!("operator:{name}"), g.tenant, g.role.name()],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    /// Checks `name`'s password and opens a session of `ttl_ms`; returns its token (shown
    /// once) and expiry.
    ///
    /// # Errors
    /// [`AccountError::BadLogin`] for an unknown name or a wrong password (the same answer,
    /// after the same work).
    pub fn login(
        &mut self,
        name: &str,
        password: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<(Zeroizing<String>, u64), AccountError> {
        let stored: Option<String> = self
            .conn
            .query_row("SELECT password FROM operators WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(db)?;
        // An unknown name is verified against the dummy hash, so both answers take as long.
        let phc = stored.clone().unwrap_or_else(|| self.dummy.clone());
        let parsed = PasswordHash::new(&phc).map_err(|_| AccountError::BadLogin)?;
        let good = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        if !good || stored.is_none() {
            return Err(AccountError::BadLogin);
        }
        let token = fresh_token("dcs_s_");
        let expires = now_ms.saturating_add(ttl_ms);
        self.conn
            .execute(
                "INSERT INTO credentials (digest, kind, holder, expires_ms) VALUES (?1, 'session', ?2, ?3)",
                params![digest(&token), format!("operator:{name}"), expires as i64],
            )
            .map_err(db)?;
        // Expired credentials go as new ones come (the table stays bounded by the live ones).
        self.conn
            .execute("DELETE FROM credentials WHERE expires_ms <= ?1", [now_ms as i64])
            .map_err(db)?;
        Ok((token, expires))
    }

    /// Makes an API token `name` with its own `grants`, valid for `ttl_ms`; returns it (shown
    /// once).
    ///
    /// # Errors
    /// [`AccountError::Invalid`] for a bad name or no grants.
    pub fn create_token(
        &mut self,
        name: &str,
        grants: &[Grant],
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Zeroizing<String>, AccountError> {
        check_name("name", name)?;
        if grants.is_empty() {
            return Err(AccountError::Invalid {
                field: "grant",
                reason: "a token needs at least one grant (TENANT=ROLE)".into(),
            });
        }
        let token = fresh_token("dcs_t_");
        let holder = format!("token:{name}");
        let tx = self.conn.transaction().map_err(db)?;
        tx.execute("DELETE FROM grants WHERE holder = ?1", [&holder]).map_err(db)?;
        for g in grants {
            tx.execute(
                "INSERT INTO grants (holder, tenant, role) VALUES (?1, ?2, ?3)",
                params![holder, g.tenant, g.role.name()],
            )
            .map_err(db)?;
        }
        tx.execute(
            "INSERT INTO credentials (digest, kind, holder, expires_ms) VALUES (?1, 'token', ?2, ?3)",
            params![digest(&token), holder, now_ms.saturating_add(ttl_ms) as i64],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(token)
    }

    /// The caller a session or API token stands for.
    ///
    /// # Errors
    /// [`AccountError::BadToken`] for an unknown, expired or signed-out token.
    pub fn resolve(&self, token: &str, now_ms: u64) -> Result<Principal, AccountError> {
        let holder: Option<(String, i64)> = self
            .conn
            .prepare_cached("SELECT holder, expires_ms FROM credentials WHERE digest = ?1")
            .and_then(|mut s| {
                s.query_row([digest(token)], |r| Ok((r.get(0)?, r.get(1)?))).optional()
            })
            .map_err(db)?;
        let Some((holder, expires)) = holder else { return Err(AccountError::BadToken) };
        if expires as u64 <= now_ms {
            return Err(AccountError::BadToken);
        }
        let mut q = self
            .conn
            .prepare_cached("SELECT tenant, role FROM grants WHERE holder = ?1 ORDER BY tenant")
            .map_err(db)?;
        let rows = q
            .query_map([&holder], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?;
        let mut grants = vec![];
        for row in rows {
            let (tenant, role) = row.map_err(db)?;
            let role = Role::parse(&role).map_err(AccountError::Database)?;
            grants.push(Grant { tenant, role });
        }
        let name = holder.split_once(':').map_or(holder.as_str(), |(_, n)| n).to_string();
        Ok(Principal { name, grants })
    }

    /// Ends the session `token` (signing out); an unknown token changes nothing.
    ///
    /// # Errors
    /// [`AccountError::Database`].
    pub fn logout(&mut self, token: &str) -> Result<(), AccountError> {
        self.conn
            .execute(
                "DELETE FROM credentials WHERE digest = ?1 AND kind = 'session'",
                [digest(token)],
            )
            .map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let a = Accounts::open(&d.path().join("admin.sqlite")).unwrap_or_else(|e| panic!("{e}"));
        (d, a)
    }

    #[test]
    fn a_session_stands_for_its_operator_until_it_expires_or_signs_out() {
        let (_d, mut a) = accounts();
        let g = vec![parse_grant("acme=operator").unwrap_or_else(|e| panic!("{e}"))];
        a.create_operator("alice", "correct horse battery", &g, 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            a.login("alice", "wrong password!!", 0, 1_000),
            Err(AccountError::BadLogin)
        ));
        assert!(matches!(
            a.login("bob", "correct horse battery", 0, 1_000),
            Err(AccountError::BadLogin)
        ));
        let (t, exp) =
            a.login("alice", "correct horse battery", 10, 1_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(exp, 1_010);
        let p = a.resolve(&t, 500).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.name.as_str(), p.grants.clone()), ("alice", g));
        assert!(matches!(a.resolve(&t, 1_010), Err(AccountError::BadToken)), "expired");
        let (t, _) =
            a.login("alice", "correct horse battery", 10, 1_000).unwrap_or_else(|e| panic!("{e}"));
        a.logout(&t).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(a.resolve(&t, 20), Err(AccountError::BadToken)), "signed out");
        assert!(matches!(a.resolve("dcs_s_forged", 20), Err(AccountError::BadToken)));
    }

    #[test]
    fn bad_input_is_refused_naming_the_field() {
        let (_d, mut a) = accounts();
        let g = vec![parse_grant("acme=viewer").unwrap_or_else(|e| panic!("{e}"))];
        let field = |r: Result<(), AccountError>| match r {
            Err(AccountError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(a.create_operator("alice", "short", &g, 0)), "password");
        assert_eq!(field(a.create_operator("al ice", "long enough pass", &g, 0)), "name");
        assert_eq!(field(a.create_operator("alice", "long enough pass", &[], 0)), "grant");
        a.create_operator("alice", "long enough pass", &g, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(field(a.create_operator("alice", "long enough pass", &g, 0)), "name");
        assert!(parse_grant("acme").is_err());
        assert!(parse_grant("acme=root").is_err());
        assert_eq!(parse_grant("*=admin").map(|g| g.role).ok(), Some(Role::Admin));
    }

    #[test]
    fn an_api_token_carries_its_own_grants_and_expiry() {
        let (_d, mut a) = accounts();
        let g = vec![parse_grant("globex=viewer").unwrap_or_else(|e| panic!("{e}"))];
        let t = a.create_token("ci", &g, 0, 100).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.starts_with("dcs_t_"));
        let p = a.resolve(&t, 99).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.name.as_str(), p.grants), ("ci", g));
        assert!(a.resolve(&t, 100).is_err());
        a.logout(&t).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.resolve(&t, 50).is_ok(), "signing out ends sessions, not API tokens");
    }
}
