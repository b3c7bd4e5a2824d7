//! The keyed chain at open: which chain a file uses, the check that a key fits it, and the
//! upgrade of an unkeyed chain (verified first, then re-chained under the key).

use rusqlite::{Connection, OptionalExtension, params};

use super::map_err;
use super::read::{COLUMNS, RawRow};
use super::schema::{CHAIN_KEYED, CHAIN_UNKEYED};
use crate::chain::{Chain, GENESIS, RowHash};
use crate::error::{Result, StoreError};

/// Rows re-chained per read during an upgrade (bounds its memory).
const PAGE: i64 = 1_000;

fn meta(conn: &Connection, key: &str) -> Result<String> {
    conn.query_row("SELECT value FROM dcs_meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .map_err(map_err)?
        .ok_or_else(|| StoreError::Corrupt(format!("dcs_meta has no {key}")))
}

fn wrong_key(reason: String) -> StoreError {
    StoreError::Invalid { field: "mac_key", reason }
}

/// The chain the store at `path` uses with `mac_key` (upgrading an unkeyed one).
pub(super) fn chain_for(
    conn: &mut Connection,
    path: &str,
    mac_key: Option<&dcs_crypto::MacKey>,
    read_only: bool,
) -> Result<Chain> {
    let kind = meta(conn, "chain")?;
    let keyed = match kind.as_str() {
        CHAIN_UNKEYED => false,
        CHAIN_KEYED => true,
        other => {
            return Err(StoreError::NotAStore {
                path: path.to_string(),
                reason: format!("its chain kind {other:?} is unknown to this build"),
            });
        }
    };
    let Some(mac_key) = mac_key else {
        if keyed {
            return Err(wrong_key(format!(
                "the store {path} has a keyed chain: open it with its tenant's MAC key (SqliteStore::open_keyed; dcs.Store(path, mac_key=...) in Python)"
            )));
        }
        return Ok(Chain::Unkeyed);
    };
    let store_id = meta(conn, "store_id")?;
    let chain = Chain::Keyed(mac_key.derive_chain_key(store_id.as_bytes())?);
    if keyed {
        check_last_row(conn, &chain, path)?;
        return Ok(chain);
    }
    if read_only {
        return Err(wrong_key(format!(
            "the store {path} has an unkeyed chain; upgrading it to the key writes: open it read-write once"
        )));
    }
    rechain(conn, &chain)?;
    Ok(chain)
}

fn links(conn: &Connection, from: u64, limit: i64) -> Result<Vec<RawRow>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM events e WHERE position >= ?1 ORDER BY position LIMIT ?2"
        ))
        .map_err(map_err)?;
    let rows = stmt.query_map(params![from, limit], RawRow::from_row).map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

/// The last row must verify under the key: a wrong key fails here, not at every read.
fn check_last_row(conn: &Connection, chain: &Chain, path: &str) -> Result<()> {
    let head: u64 = conn
        .query_row("SELECT position FROM chain_head WHERE id = 1", [], |r| r.get(0))
        .map_err(map_err)?;
    let Some(last) = links(conn, head.max(1), 1)?.pop() else { return Ok(()) };
    let fits =
        last.recomputed_hash(chain).is_some_and(|h| h.as_slice() == last.row_hash.as_slice());
    if !fits {
        return Err(wrong_key(format!(
            "the chain of {path} does not verify under this key at its last row ({}): it is another tenant's key, or the file was edited; run verify_chain with the right key",
            last.position
        )));
    }
    Ok(())
}

/// Verifies the unkeyed chain row by row and rewrites every link under `chain`, with the
/// chain head and the chain kind, in one transaction (another process waits for it).
fn rechain(conn: &mut Connection, chain: &Chain) -> Result<()> {
    let tx = conn.transaction().map_err(map_err)?;
    // Still unkeyed? Another process may have upgraded it while this one waited.
    if meta(&tx, "chain")? == CHAIN_KEYED {
        return tx.commit().map_err(map_err);
    }
    let (mut old_prev, mut new_prev): (RowHash, RowHash) = (GENESIS, GENESIS);
    let mut expected = 1u64;
    loop {
        let page = links(&tx, expected, PAGE)?;
        if page.is_empty() {
            break;
        }
        let mut update = tx
            .prepare_cached("UPDATE events SET prev_hash = ?1, row_hash = ?2 WHERE position = ?3")
            .map_err(map_err)?;
        for link in &page {
            let old = Chain::Unkeyed.link(&old_prev, &link.place(), &link.event);
            if link.position != expected
                || link.prev_hash.as_slice() != old_prev.as_slice()
                || link.row_hash.as_slice() != old.as_slice()
            {
                return Err(StoreError::Tampered {
                    position: expected,
                    reason: "the unkeyed chain does not verify, so it is not upgraded to the key: restore the store from a backup or the region".into(),
                });
            }
            let new = chain.link(&new_prev, &link.place(), &link.event);
            update
                .execute(params![new_prev.as_slice(), new.as_slice(), link.position])
                .map_err(map_err)?;
            old_prev = old;
            new_prev = new;
            expected += 1;
        }
    }
    let head: u64 = tx
        .query_row("SELECT position FROM chain_head WHERE id = 1", [], |r| r.get(0))
        .map_err(map_err)?;
    if head != expected - 1 {
        return Err(StoreError::Tampered {
            position: expected,
            reason: format!(
                "the chain head says {head} but the log ends at {}: not upgraded",
                expected - 1
            ),
        });
    }
    tx.execute("UPDATE chain_head SET hash = ?1 WHERE id = 1", [new_prev.as_slice()])
        .map_err(map_err)?;
    tx.execute("UPDATE dcs_meta SET value = ?1 WHERE key = 'chain'", [CHAIN_KEYED])
        .map_err(map_err)?;
    tx.commit().map_err(map_err)
}
