//! The replicated CRDT state every tier holds, and how domain events change it.

use alloc::string::ToString;

use dcs_core::commerce::EventBody;
use dcs_crdt::{
    Crdt, CrdtError, Hlc, LWWRegister, ORMap, ORMapDelta, ORSet, ORSetDelta, PNCounter, ReplicaId,
};
use serde::{Deserialize, Serialize};

use crate::SyncError;

pub use crate::key_name::KeyName;
/// Stock key: (branch, SKU).
pub type StockKey = (KeyName, KeyName);
/// Open POS session key: (branch, session id).
pub type SessionKey = (KeyName, KeyName);

/// The central key registry's map (see [`crate::keys`]).
type KeyRegistry = ORMap<KeyName, LWWRegister<crate::keys::AgentKey>>;
/// The stores' enrollments' map (see [`crate::enrolled`]).
type Enrollments = ORMap<KeyName, LWWRegister<crate::enrolled::Enrollment>>;

/// The state replicated to every store, region and the master (identical once converged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicatedState {
    /// Units on hand per (branch, SKU): received − sold − transferred out + transferred in + adjusted.
    pub stock: ORMap<StockKey, PNCounter>,
    /// Prices in minor units per SKU, set centrally (last writer wins by HLC).
    pub prices: ORMap<KeyName, LWWRegister<i64>>,
    /// The active catalog (SKUs), set centrally.
    pub catalog: ORSet<KeyName>,
    /// POS sessions currently open.
    pub sessions: ORSet<SessionKey>,
    /// The central key registry per `tenant/agent`, set by the master (see [`crate::keys`]).
    pub keys: ORMap<KeyName, LWWRegister<crate::keys::AgentKey>>,
    /// Terminals enrolled at stores per `tenant/agent`, written by their stores (see
    /// [`crate::enrolled`]).
    pub enrolled: Enrollments,
}

/// A change of [`ReplicatedState`]: one delta per field (empty fields cost a few bytes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateDelta {
    /// Stock changes.
    pub stock: ORMapDelta<StockKey, PNCounter>,
    /// Price writes.
    pub prices: ORMapDelta<KeyName, LWWRegister<i64>>,
    /// Catalog changes.
    pub catalog: ORSetDelta<KeyName>,
    /// Session changes.
    pub sessions: ORSetDelta<SessionKey>,
    /// Key registry writes.
    pub keys: ORMapDelta<KeyName, LWWRegister<crate::keys::AgentKey>>,
    /// Store enrollments.
    pub enrolled: ORMapDelta<KeyName, LWWRegister<crate::enrolled::Enrollment>>,
}

impl StateDelta {
    /// True when joining this delta changes nothing anywhere.
    pub fn is_empty(&self) -> bool {
        *self == StateDelta::default()
    }

    /// This delta less what only the master writes (prices, the catalog, the key registry):
    /// what a parent merges from a child, whose own changes are stock, sessions and
    /// enrollments. Returns whether it dropped anything (a child that tried to write them).
    pub fn without_master_writes(&mut self) -> bool {
        let prices = core::mem::take(&mut self.prices);
        let catalog = core::mem::take(&mut self.catalog);
        let keys = core::mem::take(&mut self.keys);
        prices != ORMapDelta::default()
            || catalog != ORSetDelta::default()
            || keys != ORMapDelta::default()
    }
}

impl Crdt for ReplicatedState {
    type Delta = StateDelta;

    fn merge(&mut self, other: &Self) {
        self.stock.merge(&other.stock);
        self.prices.merge(&other.prices);
        self.catalog.merge(&other.catalog);
        self.sessions.merge(&other.sessions);
        self.keys.merge(&other.keys);
        self.enrolled.merge(&other.enrolled);
    }

    fn apply_delta(&mut self, delta: &StateDelta) {
        self.stock.apply_delta(&delta.stock);
        self.prices.apply_delta(&delta.prices);
        self.catalog.apply_delta(&delta.catalog);
        self.sessions.apply_delta(&delta.sessions);
        self.keys.apply_delta(&delta.keys);
        self.enrolled.apply_delta(&delta.enrolled);
    }

    fn join_deltas(into: &mut StateDelta, delta: &StateDelta) {
        ORMap::<StockKey, PNCounter>::join_deltas(&mut into.stock, &delta.stock);
        ORMap::<KeyName, LWWRegister<i64>>::join_deltas(&mut into.prices, &delta.prices);
        ORSet::<KeyName>::join_deltas(&mut into.catalog, &delta.catalog);
        ORSet::<SessionKey>::join_deltas(&mut into.sessions, &delta.sessions);
        KeyRegistry::join_deltas(&mut into.keys, &delta.keys);
        Enrollments::join_deltas(&mut into.enrolled, &delta.enrolled);
    }

    fn validate(&self) -> Result<(), CrdtError> {
        self.stock.validate()?;
        self.prices.validate()?;
        self.catalog.validate()?;
        self.sessions.validate()?;
        self.keys.validate()?;
        self.enrolled.validate()
    }

    fn validate_delta(delta: &StateDelta) -> Result<(), CrdtError> {
        ORMap::<StockKey, PNCounter>::validate_delta(&delta.stock)?;
        ORMap::<KeyName, LWWRegister<i64>>::validate_delta(&delta.prices)?;
        ORSet::<KeyName>::validate_delta(&delta.catalog)?;
        ORSet::<SessionKey>::validate_delta(&delta.sessions)?;
        KeyRegistry::validate_delta(&delta.keys)?;
        Enrollments::validate_delta(&delta.enrolled)
    }
}

fn crdt_err(e: CrdtError) -> SyncError {
    SyncError::Domain(e.to_string())
}

impl ReplicatedState {
    /// This state less what only the master writes (see [`StateDelta::without_master_writes`]):
    /// what a parent merges of a child's whole state (which holds the master's writes as the
    /// child merged them from its parent).
    pub fn without_master_writes(&mut self) {
        self.prices = ORMap::default();
        self.catalog = ORSet::default();
        self.keys = ORMap::default();
    }

    /// Units of `sku` on hand at `branch` as this replica sees them (0 if never moved).
    pub fn on_hand(&self, branch: &str, sku: &str) -> i128 {
        self.stock.get(&(KeyName::from(branch), KeyName::from(sku))).map_or(0, PNCounter::value)
    }

    /// The central price of `sku`, if one was set.
    pub fn price(&self, sku: &str) -> Option<i64> {
        self.prices.get(&KeyName::from(sku)).and_then(|r| r.get().copied())
    }

    /// `product` as this replica sells it: at the central price of its SKU when one was set
    /// (in the product's currency's minor units), else at its own list price. A negative
    /// central price is ignored (the list price stands).
    pub fn central_product(
        &self,
        product: &dcs_core::commerce::Product,
    ) -> dcs_core::commerce::Product {
        let currency = product.unit_price().currency();
        self.price(product.sku().as_str())
            .and_then(|p| product.with_unit_price(dcs_core::Money::from_minor(p, currency)).ok())
            .unwrap_or_else(|| product.clone())
    }

    /// Applies the CRDT side of one domain event of `branch` on behalf of `replica` and
    /// returns the delta to ship (empty for events that change no replicated state).
    ///
    /// Stock follows the INVENTORY_* bodies exactly like `dcs_core::projection::InventoryLevels`
    /// (keyed by the branch named in the body); SESSION_OPENED/CLOSED add and remove the session.
    ///
    /// # Errors
    /// [`SyncError::Domain`] if a counter would overflow; nothing changes then.
    pub fn apply_body(
        &mut self,
        replica: ReplicaId,
        branch: &str,
        body: &EventBody,
    ) -> Result<StateDelta, SyncError> {
        let mut delta = StateDelta::default();
        let mut stock = |b: &str, sku: &str, by: i64| -> Result<(), SyncError> {
            let key = (KeyName::from(b), KeyName::from(sku));
            delta.stock = self
                .stock
                .update(replica, key, |c| {
                    if by >= 0 {
                        c.increment(replica, by.unsigned_abs())
                    } else {
                        c.decrement(replica, by.unsigned_abs())
                    }
                })
                .map_err(crdt_err)?;
            Ok(())
        };
        match body {
            EventBody::InventoryReceived(m) => {
                stock(m.branch.as_str(), m.sku.as_str(), i64::from(m.quantity))?
            }
            EventBody::InventorySold(m) => {
                stock(m.branch.as_str(), m.sku.as_str(), -i64::from(m.quantity))?
            }
            EventBody::InventoryTransferredOut(t) => {
                stock(t.branch.as_str(), t.sku.as_str(), -i64::from(t.quantity))?
            }
            EventBody::InventoryTransferredIn(t) => {
                stock(t.branch.as_str(), t.sku.as_str(), i64::from(t.quantity))?
            }
            EventBody::InventoryAdjusted(a) => stock(a.branch.as_str(), a.sku.as_str(), a.delta)?,
            EventBody::SessionOpened(s) => {
                delta.sessions = self
                    .sessions
                    .add(replica, (KeyName::from(branch), KeyName::from(s.session_id.as_str())));
            }
            EventBody::SessionClosed(s) => {
                delta.sessions = self
                    .sessions
                    .remove(&(KeyName::from(branch), KeyName::from(s.session_id.as_str())));
            }
            _ => {}
        }
        Ok(delta)
    }

    /// Sets the central price of `sku` (a last-writer-wins write stamped `hlc_time` by `replica`).
    ///
    /// # Errors
    /// Never in practice (the register update cannot fail); kept for a uniform signature.
    pub fn set_price(
        &mut self,
        replica: ReplicaId,
        hlc_time: u64,
        sku: &str,
        price_minor: i64,
    ) -> Result<StateDelta, SyncError> {
        let prices = self
            .prices
            .update(replica, KeyName::from(sku), |r| {
                Ok(r.set(price_minor, Hlc::new(hlc_time, replica)))
            })
            .map_err(crdt_err)?;
        Ok(StateDelta { prices, ..StateDelta::default() })
    }

    /// Adds `sku` to the active catalog.
    pub fn list_in_catalog(&mut self, replica: ReplicaId, sku: &str) -> StateDelta {
        StateDelta {
            catalog: self.catalog.add(replica, KeyName::from(sku)),
            ..StateDelta::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcs_core::BranchId;
    use dcs_core::commerce::Sku;
    use dcs_core::commerce::body::StockMovement;

    #[test]
    fn inventory_bodies_move_stock_and_deltas_replay_elsewhere() {
        let mut a = ReplicatedState::default();
        let mut b = ReplicatedState::default();
        let mv = |q| StockMovement {
            branch: BranchId::new("s1").unwrap(),
            sku: Sku::new("MUG").unwrap(),
            quantity: q,
        };
        let d1 = a.apply_body(ReplicaId(1), "s1", &EventBody::InventoryReceived(mv(10))).unwrap();
        let d2 = a.apply_body(ReplicaId(1), "s1", &EventBody::InventorySold(mv(3))).unwrap();
        assert_eq!(a.on_hand("s1", "MUG"), 7);
        let mut joined = d1.clone();
        ReplicatedState::join_deltas(&mut joined, &d2);
        b.apply_delta(&joined);
        assert_eq!(a, b);
        let p = b.set_price(ReplicaId(2), 99, "MUG", 1299).unwrap();
        a.apply_delta(&p);
        assert_eq!(a.price("MUG"), Some(1299));
        assert!(StateDelta::default().is_empty() && !p.is_empty());
        let usd = dcs_core::Currency::USD;
        let mug = dcs_core::commerce::Product::new(
            "MUG",
            "Mug",
            "home",
            dcs_core::Money::from_minor(900, usd),
            "general",
        )
        .unwrap();
        assert_eq!(a.central_product(&mug).unit_price().minor(), 1299, "the central price wins");
        let tea = dcs_core::commerce::Product::new(
            "TEA",
            "Tea",
            "food",
            dcs_core::Money::from_minor(450, usd),
            "food",
        )
        .unwrap();
        assert_eq!(a.central_product(&tea), tea, "no central price: the list price");
        let neg = a.set_price(ReplicaId(2), 100, "TEA", -5).unwrap();
        a.apply_delta(&neg);
        assert_eq!(a.central_product(&tea), tea, "a negative central price is ignored");
        a.validate().unwrap();
        ReplicatedState::validate_delta(&joined).unwrap();
    }
}
