//! The audit log: every change an operator makes (a price, the catalog, a token) is an
//! entry with its author, chained by SHA-256 (each entry's hash covers the one before) and
//! signed by the master's Ed25519 key, in `admin.sqlite`. The canonical bytes hashed are the
//! postcard encoding of [`EntryV1`] (fixed fields, no map). Verifying reads the log in
//! bounded pages, so memory does not grow with the log.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use dcs_crypto::Signer;

/// What is hashed and signed of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryV1 {
    /// 1, 2, 3 … with no gap.
    pub seq: u64,
    /// When (Unix ms).
    pub at_ms: u64,
    /// Who (the operator's or token's name).
    pub actor: String,
    /// What (`set_price`, `list_in_catalog`, `login`, …).
    pub action: String,
    /// On which tenant (`*` for what every tenant shares).
    pub tenant: String,
    /// The change (JSON text).
    pub detail: String,
    /// The previous entry's hash (zeros for the first).
    pub prev: [u8; 32],
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The hashed fields.
    #[serde(flatten)]
    pub body: EntryView,
    /// SHA-256 of the canonical bytes (hex).
    pub hash: String,
}

/// The hashed fields as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryView {
    /// Sequence number.
    pub seq: u64,
    /// Unix ms.
    pub at_ms: u64,
    /// Author.
    pub actor: String,
    /// Action.
    pub action: String,
    /// Tenant.
    pub tenant: String,
    /// Detail.
    pub detail: String,
}

/// The chain's state after a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries checked.
    pub entries: u64,
    /// None when every hash links and every signature verifies; else the first bad entry
    /// and why.
    pub broken_at: Option<(u64, String)>,
}

/// Why the log failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file failed.
    #[error("the audit log: {0}")]
    Database(String),
}

fn db(e: rusqlite::Error) -> AuditError {
    AuditError::Database(e.to_string())
}

const DDL: &str = "
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    tenant TEXT NOT NULL, detail TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL,
    signature BLOB NOT NULL
) STRICT;
";

/// The bytes hashed for `e`.
pub fn canonical(e: &EntryV1) -> Vec<u8> {
    // Plain fields only: postcard cannot fail on them.
    postcard::to_allocvec(e).unwrap_or_default()
}

fn hash(e: &EntryV1) -> [u8; 32] {
    Sha256::digest(canonical(e)).into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The log, over a connection to `admin.sqlite`.
pub struct AuditLog {
    conn: Connection,
    signer: Signer,
}

impl AuditLog {
    /// Opens the log on `conn` (creating its table), signing with `signer`.
    ///
    /// # Errors
    /// [`AuditError::Database`].
    pub fn open(conn: Connection, signer: Signer) -> Result<Self, AuditError> {
        conn.execute_batch(DDL).map_err(db)?;
        Ok(AuditLog { conn, signer })
    }

    /// Appends an entry; returns its sequence number.
    ///
    /// # Errors
    /// [`AuditError::Database`]: nothing is appended then.
    pub fn append(
        &mut self,
        at_ms: u64,
        actor: &str,
        action: &str,
        tenant: &str,
        detail: &str,
    ) -> Result<u64, AuditError> {
        let tx = self.conn.transaction().map_err(db)?;
        let last: Option<(i64, Vec<u8>)> = tx
            .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(db)?;
        let (seq, prev) = match last {
            Some((s, h)) => (s as u64 + 1, <[u8; 32]>::try_from(h.as_slice()).unwrap_or([0; 32])),
            None => (1, [0; 32]),
        };
        let e = EntryV1 {
            seq,
            at_ms,
            actor: actor.into(),
            action: action.into(),
            tenant: tenant.into(),
            detail: detail.into(),
            prev,
        };
        let h = hash(&e);
        let sig = self.signer.sign(&h);
        tx.execute(
            "INSERT INTO audit (seq, at_ms, actor, action, tenant, detail, prev, hash, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                seq as i64,
                at_ms as i64,
                e.actor,
                e.action,
                e.tenant,
                e.detail,
                prev.as_slice(),
                h.as_slice(),
                sig.bytes.as_slice()
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(seq)
    }

    /// The newest entries first, at most `limit`, only of `tenants` when given (an entry on
    /// `*` is shown to everyone who may read).
    ///
    /// # Errors
    /// [`AuditError::Database`].
    pub fn recent(
        &self,
        limit: usize,
        tenants: Option<&[String]>,
    ) -> Result<Vec<Entry>, AuditError> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT seq, at_ms, actor, action, tenant, detail, hash FROM audit ORDER BY seq DESC",
            )
            .map_err(db)?;
        let mut rows = q.query([]).map_err(db)?;
        let mut out = vec![];
        while out.len() < limit {
            let Some(r) = rows.next().map_err(db)? else { break };
            let tenant: String = r.get(4).map_err(db)?;
            if let Some(allowed) = tenants
                && tenant != "*"
                && !allowed.contains(&tenant)
            {
                continue;
            }
            out.push(Entry {
                body: EntryView {
                    seq: r.get::<_, i64>(0).map_err(db)? as u64,
                    at_ms: r.get::<_, i64>(1).map_err(db)? as u64,
                    actor: r.get(2).map_err(db)?,
                    action: r.get(3).map_err(db)?,
                    tenant,
                    detail: r.get(5).map_err(db)?,
                },
                hash: hex(&r.get::<_, Vec<u8>>(6).map_err(db)?),
            });
        }
        Ok(out)
    }

    /// Walks the whole chain: every entry's hash recomputed, linked to the one before, its
    /// signature checked with the master's key.
    ///
    /// # Errors
    /// [`AuditError::Database`].
    pub fn verify(&self) -> Result<Verification, AuditError> {
        let verifier = self.signer.verifier();
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT seq, at_ms, actor, action, tenant, detail, prev, hash, signature
                 FROM audit ORDER BY seq",
            )
            .map_err(db)?;
        let mut rows = q.query([]).map_err(db)?;
        let (mut prev, mut n) = ([0u8; 32], 0u64);
        while let Some(r) = rows.next().map_err(db)? {
            let seq = r.get::<_, i64>(0).map_err(db)? as u64;
            let broken =
                |why: &str| Ok(Verification { entries: n, broken_at: Some((seq, why.into())) });
            let stored_prev: Vec<u8> = r.get(6).map_err(db)?;
            let e = EntryV1 {
                seq,
                at_ms: r.get::<_, i64>(1).map_err(db)? as u64,
                actor: r.get(2).map_err(db)?,
                action: r.get(3).map_err(db)?,
                tenant: r.get(4).map_err(db)?,
                detail: r.get(5).map_err(db)?,
                prev,
            };
            if seq != n + 1 {
                return broken("an entry is missing before this one");
            }
            if stored_prev != prev {
                return broken("it does not link to the entry before");
            }
            let h = hash(&e);
            if r.get::<_, Vec<u8>>(7).map_err(db)? != h {
                return broken("its content does not match its hash: it was altered");
            }
            let sig: Vec<u8> = r.get(8).map_err(db)?;
            if verifier.verify_raw(&h, &sig).is_err() {
                return broken("its signature is not the master's");
            }
            prev = h;
            n += 1;
        }
        Ok(Verification { entries: n, broken_at: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcs_core::event::SignatureAlgorithm;

    fn log() -> (tempfile::TempDir, AuditLog, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = d.path().join("admin.sqlite");
        let conn = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rand_core::OsRng);
        (d, AuditLog::open(conn, signer).unwrap_or_else(|e| panic!("{e}")), path)
    }

    #[test]
    fn the_chain_verifies_and_any_alteration_is_found() {
        let (_d, mut l, path) = log();
        for k in 0..5 {
            l.append(k, "alice", "set_price", "*", &format!("{{\"price_minor\":{k}}}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(l.verify().ok(), Some(Verification { entries: 5, broken_at: None }));
        assert_eq!(
            l.recent(2, None).map(|r| r.iter().map(|e| e.body.seq).collect::<Vec<_>>()).ok(),
            Some(vec![5, 4])
        );
        let other = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        other
            .execute("UPDATE audit SET detail = '{\"price_minor\":999}' WHERE seq = 3", [])
            .unwrap_or_else(|e| panic!("{e}"));
        let v = l.verify().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.entries, 2);
        assert_eq!(v.broken_at.map(|b| b.0), Some(3));
        other.execute("DELETE FROM audit WHERE seq = 3", []).unwrap_or_else(|e| panic!("{e}"));
        assert!(l.verify().unwrap_or_else(|e| panic!("{e}")).broken_at.is_some_and(|b| b.0 == 4));
    }

    #[test]
    fn a_tenants_reader_sees_its_own_and_shared_entries() {
        let (_d, mut l, _) = log();
        l.append(1, "a", "set_price", "acme", "{}").unwrap_or_else(|e| panic!("{e}"));
        l.append(2, "b", "set_price", "globex", "{}").unwrap_or_else(|e| panic!("{e}"));
        l.append(3, "c", "set_price", "*", "{}").unwrap_or_else(|e| panic!("{e}"));
        let seen = l.recent(10, Some(&["acme".to_string()])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seen.iter().map(|e| e.body.seq).collect::<Vec<_>>(), vec![3, 1]);
    }
}
