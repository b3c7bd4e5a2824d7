//! Chain anchors: the region's signed statement "this store's chain was at `chain_head` at
//! `position`", kept in the store (the newest one) and checked by `verify_chain`, or fetched
//! from outside and checked with `verify_chain_against`.

use dcs_core::AgentId;
use dcs_core::event::EventSignature;
use dcs_crypto::{KeyRegistry, Signer};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{SqliteStore, map_err};
use crate::chain::{Chain, GENESIS, RowHash};
use crate::error::{Result, StoreError};

use super::verify::ChainReport;

/// A signed anchor of a store's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainAnchor {
    /// The position anchored (the last event the signer holds).
    pub position: u64,
    /// The chain link of the row at `position`.
    pub chain_head: RowHash,
    /// Who signed it (the region's agent id, in the key registry).
    pub signer: AgentId,
    /// The signature over [`ChainAnchor::message`].
    pub signature: EventSignature,
}

/// The canonical bytes an anchor's signature covers (postcard of a fixed struct).
#[derive(Serialize)]
struct AnchorMessage<'a> {
    tag: &'a str,
    store_id: &'a str,
    position: u64,
    chain_head: &'a RowHash,
}

impl ChainAnchor {
    /// The bytes signed for `store_id` at `position` with `chain_head`.
    pub fn message(store_id: &str, position: u64, chain_head: &RowHash) -> Vec<u8> {
        let m = AnchorMessage { tag: "dcs.anchor1", store_id, position, chain_head };
        // A struct of a string, an integer and a byte array always encodes.
        postcard::to_allocvec(&m).unwrap_or_default()
    }

    /// Signs an anchor (the region's side, when it acknowledges `position`).
    pub fn sign(
        store_id: &str,
        position: u64,
        chain_head: RowHash,
        signer_id: AgentId,
        signer: &Signer,
    ) -> Self {
        let signature = signer.sign(&Self::message(store_id, position, &chain_head));
        ChainAnchor { position, chain_head, signer: signer_id, signature }
    }

    /// Checks the signature with `registry` for the store `store_id`.
    pub fn verify(&self, store_id: &str, registry: &KeyRegistry) -> Result<()> {
        let message = Self::message(store_id, self.position, &self.chain_head);
        registry.verify(&self.signer, &message, &self.signature).map_err(StoreError::Crypto)
    }
}

fn anchor_mismatch(anchor: &ChainAnchor, log_end: u64, found: Option<&RowHash>) -> StoreError {
    let reason = match found {
        None => format!(
            "the log ends at {log_end} but {} signed that it held position {}: events were deleted; restore them from the region",
            anchor.signer, anchor.position
        ),
        Some(_) => format!(
            "the chain at position {} differs from the one {} signed: the log was rewritten; restore it from the region",
            anchor.position, anchor.signer
        ),
    };
    StoreError::Tampered { position: anchor.position.min(log_end + 1), reason }
}

impl SqliteStore {
    /// The store's random id (what its chain key and anchors are bound to).
    pub fn store_id(&self) -> Result<String> {
        self.lock()
            .query_row("SELECT value FROM dcs_meta WHERE key = 'store_id'", [], |r| r.get(0))
            .map_err(map_err)
    }

    /// The chain link of the row at `position` (the genesis link for 0), for the region to
    /// sign when it acknowledges that position.
    pub fn chain_head_at(&self, position: u64) -> Result<RowHash> {
        if position == 0 {
            return Ok(GENESIS);
        }
        let hash: Option<Vec<u8>> = self
            .lock()
            .query_row("SELECT row_hash FROM events WHERE position = ?1", [position], |r| r.get(0))
            .optional()
            .map_err(map_err)?;
        let hash = hash.ok_or_else(|| StoreError::Invalid {
            field: "position",
            reason: format!("no event at position {position}"),
        })?;
        RowHash::try_from(hash.as_slice()).map_err(|_| StoreError::Tampered {
            position,
            reason: "row_hash is not 32 bytes".into(),
        })
    }

    /// Records a signed anchor after checking its signature and that it matches this log;
    /// it replaces an older one (the newer anchor commits to every row before it too). Only
    /// keyed stores take anchors (an unkeyed chain is re-chained when it is keyed).
    pub fn record_anchor(&self, anchor: &ChainAnchor, registry: &KeyRegistry) -> Result<()> {
        self.writable("record_anchor")?;
        if matches!(self.chain, Chain::Unkeyed) {
            return Err(StoreError::Invalid {
                field: "anchor",
                reason: "this store's chain is unkeyed: open it with open_keyed before recording anchors".into(),
            });
        }
        anchor.verify(&self.store_id()?, registry)?;
        let head = self.head_position_sync()?;
        if anchor.position > head || self.chain_head_at(anchor.position)? != anchor.chain_head {
            return Err(anchor_mismatch(
                anchor,
                head,
                (anchor.position <= head).then_some(&anchor.chain_head),
            ));
        }
        let signature =
            postcard::to_allocvec(&anchor.signature).map_err(|e| StoreError::Invalid {
                field: "anchor",
                reason: format!("the signature does not encode: {e}"),
            })?;
        self.lock()
            .execute(
                "INSERT INTO chain_anchor (id, position, chain_head, signer, signature) VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET position = excluded.position, chain_head = excluded.chain_head,
                   signer = excluded.signer, signature = excluded.signature
                 WHERE excluded.position >= chain_anchor.position",
                params![anchor.position, anchor.chain_head.as_slice(), anchor.signer.as_str(), signature],
            )
            .map_err(map_err)?;
        Ok(())
    }

    /// The newest recorded anchor.
    pub fn anchor(&self) -> Result<Option<ChainAnchor>> {
        type Row = (u64, Vec<u8>, String, Vec<u8>);
        let row: Option<Row> = self
            .lock()
            .query_row(
                "SELECT position, chain_head, signer, signature FROM chain_anchor WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(map_err)?;
        let Some((position, head, signer, signature)) = row else { return Ok(None) };
        let bad = |what: &str| StoreError::Tampered {
            position,
            reason: format!("the stored anchor's {what} is malformed"),
        };
        Ok(Some(ChainAnchor {
            position,
            chain_head: RowHash::try_from(head.as_slice()).map_err(|_| bad("chain head"))?,
            signer: AgentId::new(signer).map_err(|_| bad("signer"))?,
            signature: postcard::from_bytes(&signature).map_err(|_| bad("signature"))?,
        }))
    }

    /// [`verify_chain`](Self::verify_chain), then checks that the log holds `anchor` (one
    /// fetched from outside, e.g. the region's copy) and that its signature verifies.
    pub fn verify_chain_against(
        &self,
        anchor: &ChainAnchor,
        registry: &KeyRegistry,
    ) -> Result<ChainReport> {
        anchor.verify(&self.store_id()?, registry)?;
        let report = self.verify_chain()?;
        check_anchor(self, anchor, report.rows)?;
        Ok(report)
    }
}

/// The log at `anchor.position` must be what the anchor says.
pub(super) fn check_anchor(store: &SqliteStore, anchor: &ChainAnchor, rows: u64) -> Result<()> {
    if anchor.position > rows {
        return Err(anchor_mismatch(anchor, rows, None));
    }
    if store.chain_head_at(anchor.position)? != anchor.chain_head {
        return Err(anchor_mismatch(anchor, rows, Some(&anchor.chain_head)));
    }
    Ok(())
}
