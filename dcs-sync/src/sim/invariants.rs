//! The checker's arithmetic: per-tier ledgers of stock and money, and their comparison.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::commerce::EventBody;
use dcs_core::{
    EventType, InventoryLevels, Projection, ProjectionContext, SovereignFinancialEvent,
};

use crate::{EventSummary, ReplicatedState, stock_effect};

const DAY_MS: u64 = 86_400_000;

/// What one tier knows, folded from its events or summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Units on hand per (branch, SKU).
    pub stock: BTreeMap<(String, String), i64>,
    /// Per (branch, day): (Σ sales − Σ refunds, Σ captured − Σ refunded payments), in cents.
    pub money: BTreeMap<(String, u64), (i64, i64)>,
    /// Number of events folded.
    pub events: u64,
}

impl Ledger {
    fn money(&mut self, branch: &str, hlc: u64, event_type: EventType, amount: i64) {
        let day = dcs_core::causality::HlcTimestamp { time: hlc, node: [1; 16] }.unix_ms() / DAY_MS;
        let row = self.money.entry((branch.into(), day)).or_insert((0, 0));
        match event_type {
            EventType::SaleCompleted => row.0 += amount,
            EventType::SalePartiallyRefunded | EventType::SaleReversed => row.0 -= amount,
            EventType::PaymentCaptured => row.1 += amount,
            EventType::PaymentRefunded => row.1 -= amount,
            _ => {}
        }
    }

    /// Folds a full event with its opened body.
    pub fn add_event(&mut self, event: &SovereignFinancialEvent, body: &EventBody) {
        self.events += 1;
        if let Some(e) = stock_effect(body) {
            *self.stock.entry((e.branch, e.sku)).or_insert(0) += e.delta;
        }
        self.money(
            event.branch_id().as_str(),
            event.causality().hlc.time,
            event.event_type(),
            event.amount().minor(),
        );
    }

    /// Folds a summary (the master's view).
    pub fn add_summary(&mut self, s: &EventSummary) {
        self.events += 1;
        if let Some(e) = &s.stock {
            *self.stock.entry((e.branch.clone(), e.sku.clone())).or_insert(0) += e.delta;
        }
        self.money(s.branch.as_str(), s.hlc, s.event_type, s.amount.minor());
    }

    /// Violations of "sales − refunds = captured − refunded payments" per branch and day.
    pub fn check_money(&self, tier: &str) -> Vec<String> {
        self.money
            .iter()
            .filter(|(_, (sales, paid))| sales != paid)
            .map(|((b, d), (sales, paid))| {
                format!("{tier}: {b} day {d}: sales − refunds = {sales} but payments = {paid}")
            })
            .collect()
    }

    /// Violations of "this tier's CRDT stock equals its events' stock".
    pub fn check_stock_against(&self, tier: &str, state: &ReplicatedState) -> Vec<String> {
        let mut out = Vec::new();
        for ((b, sku), units) in &self.stock {
            let crdt = state.on_hand(b, sku);
            if crdt != i128::from(*units) {
                out.push(format!("{tier}: {b}/{sku}: CRDT on hand {crdt} but events say {units}"));
            }
        }
        for ((b, sku), c) in state.stock.iter() {
            if !self.stock.contains_key(&(b.to_string(), sku.to_string())) && c.value() != 0 {
                out.push(format!("{tier}: {b}/{sku}: CRDT on hand {} with no event", c.value()));
            }
        }
        out
    }
}

/// Stock from `dcs_core`'s own projection: received − sold − transferred out + transferred in
/// (+ adjusted), per (branch, SKU), to cross-check the ledger.
pub fn projected_stock<'a>(
    events: impl IntoIterator<Item = (&'a SovereignFinancialEvent, &'a EventBody)>,
) -> Result<BTreeMap<(String, String), i64>, String> {
    let mut levels = InventoryLevels::new();
    for (e, body) in events {
        let ctx = ProjectionContext::of_event(e, 0).map_err(|e| format!("{e}"))?;
        levels.apply(&ctx, body).map_err(|e| format!("{e}"))?;
    }
    levels
        .rows()
        .map(|(k, l)| {
            let on_hand = l.on_hand().map_err(|e| format!("{e}"))?;
            let formula = l.received - l.sold - l.transferred_out + l.transferred_in + l.adjusted;
            if on_hand != formula {
                return Err(format!(
                    "{}/{}: on hand {on_hand} ≠ formula {formula}",
                    k.branch, k.sku
                ));
            }
            Ok(((k.branch.as_str().into(), k.sku.as_str().into()), on_hand))
        })
        .collect()
}

/// Differences between two ledgers' maps, named.
pub fn diff<K: Ord + core::fmt::Debug, V: PartialEq + core::fmt::Debug>(
    what: &str,
    a_name: &str,
    a: &BTreeMap<K, V>,
    b_name: &str,
    b: &BTreeMap<K, V>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, va) in a {
        match b.get(k) {
            Some(vb) if vb == va => {}
            other => out.push(format!("{what} {k:?}: {a_name} {va:?} vs {b_name} {other:?}")),
        }
    }
    for (k, vb) in b {
        if !a.contains_key(k) {
            out.push(format!("{what} {k:?}: {a_name} none vs {b_name} {vb:?}"));
        }
    }
    out
}
