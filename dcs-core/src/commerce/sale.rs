//! The sale lifecycle: a small state machine that produces the events of a sale.
//!
//! ```text
//! initiate ──► Initiated ──authorize──► Authorized ──capture──► Captured ──complete──► Completed
//!                  └──────────────capture (cash)──────────────────┘                      │
//!              refund (partial, any number of times, never more than sold) ◄───────────────┤
//!              reverse (voids an open sale, or gives back what is left of a completed one) ┘
//! ```
//!
//! Every command validates its input, makes the [`DomainEvent`]s of the step and changes
//! the state only by applying those events, so [`Sale::replay`] rebuilds the same state
//! from the events (e.g. to refund at another terminal or after a restart). A command
//! that is not allowed in the current state returns an error and changes nothing.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::body::{Payment, PaymentFailure, RefundLine, SaleRecord, SaleRefund, StockMovement};
use super::code::check_positive;
use super::{
    CartTotals, CustomerId, DomainEvent, EventBody, RefundId, SaleId, SaleLine, SaleTotals, Sku,
    Tender,
};
use crate::error::{CoreError, Result};
use crate::ids::BranchId;
use crate::money::{Currency, Money};

/// Where a sale is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SaleState {
    /// Priced, not paid.
    Initiated,
    /// At least one payment is authorized, none captured.
    Authorized,
    /// At least one payment is captured.
    Captured,
    /// Paid in full and completed; refunds are possible.
    Completed,
    /// Voided or reversed; nothing more can happen.
    Reversed,
}

/// A sale in progress or done: its priced lines, payments and refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    record: SaleRecord,
    branch: BranchId,
    state: SaleState,
    authorized: BTreeMap<Tender, Money>,
    captured: BTreeMap<Tender, Money>,
    refunded: BTreeMap<Tender, Money>,
    refunded_qty: Vec<u32>,
    refund_ids: BTreeSet<RefundId>,
}

fn add_to(map: &mut BTreeMap<Tender, Money>, tender: Tender, amount: Money) -> Result<()> {
    let entry = map.entry(tender).or_insert(Money::zero(amount.currency()));
    *entry = entry.checked_add(amount)?;
    Ok(())
}

/// Checks that a sale record is consistent: lines, one per SKU, that sum to its totals.
fn check_record(record: &SaleRecord) -> Result<()> {
    let id = &record.sale_id;
    if record.lines.is_empty() {
        return Err(CoreError::Rule(alloc::format!(
            "sale {id} has no lines: add products to the cart first"
        )));
    }
    let mut skus = BTreeSet::new();
    for line in &record.lines {
        if line.quantity == 0 || !skus.insert(&line.sku) {
            return Err(CoreError::Rule(alloc::format!(
                "sale {id}: SKU {} must appear once with a quantity of at least 1; price the sale with the cart's totals",
                line.sku
            )));
        }
        if line.net.checked_add(line.tax)? != line.gross || line.gross.is_negative() {
            return Err(CoreError::Rule(alloc::format!(
                "sale {id}: line {} has net + tax != gross; price the sale with the cart's totals",
                line.sku
            )));
        }
    }
    let currency = record.totals.total.currency();
    if SaleTotals::of_lines(currency, &record.lines)? != record.totals {
        return Err(CoreError::Rule(alloc::format!(
            "sale {id}: the totals are not the sums of the lines; price the sale with the cart's totals"
        )));
    }
    Ok(())
}

impl Sale {
    /// Starts a sale of a priced, non-empty cart at `branch`; returns SALE_INITIATED.
    pub fn initiate(
        sale_id: SaleId,
        branch: BranchId,
        priced: &CartTotals,
        customer: Option<CustomerId>,
    ) -> Result<(Sale, DomainEvent)> {
        let record = SaleRecord {
            sale_id,
            policy: priced.policy,
            lines: priced.lines.clone(),
            totals: priced.totals,
            customer,
        };
        let sale = Sale::from_record(branch, record.clone())?;
        Ok((sale, EventBody::SaleInitiated(record).into()))
    }

    fn from_record(branch: BranchId, record: SaleRecord) -> Result<Sale> {
        check_record(&record)?;
        Ok(Sale {
            refunded_qty: alloc::vec![0; record.lines.len()],
            record,
            branch,
            state: SaleState::Initiated,
            authorized: BTreeMap::new(),
            captured: BTreeMap::new(),
            refunded: BTreeMap::new(),
            refund_ids: BTreeSet::new(),
        })
    }

    /// Rebuilds a sale at `branch` from its event bodies, in the order they were made: the
    /// first must be SALE_INITIATED; INVENTORY_* bodies are skipped, and a body of another
    /// sale is an error.
    pub fn replay<'a>(
        branch: BranchId,
        bodies: impl IntoIterator<Item = &'a EventBody>,
    ) -> Result<Sale> {
        let mut bodies = bodies.into_iter();
        let mut sale = match bodies.next() {
            Some(EventBody::SaleInitiated(record)) => Sale::from_record(branch, record.clone())?,
            _ => {
                return Err(CoreError::Rule(
                    "a sale's history must start with its SALE_INITIATED body".into(),
                ));
            }
        };
        for body in bodies {
            sale.apply(body)?;
        }
        Ok(sale)
    }

    /// The sale id.
    pub fn sale_id(&self) -> &SaleId {
        &self.record.sale_id
    }

    /// The state.
    pub fn state(&self) -> SaleState {
        self.state
    }

    /// The priced lines.
    pub fn lines(&self) -> &[SaleLine] {
        &self.record.lines
    }

    /// The totals.
    pub fn totals(&self) -> &SaleTotals {
        &self.record.totals
    }

    /// The sale's currency.
    pub fn currency(&self) -> Currency {
        self.record.totals.total.currency()
    }

    fn total(&self) -> Money {
        self.record.totals.total
    }

    /// Σ captured payments.
    pub fn captured(&self) -> Result<Money> {
        Money::sum(self.currency(), self.captured.values())
    }

    /// Σ refunded payments.
    pub fn refunded(&self) -> Result<Money> {
        Money::sum(self.currency(), self.refunded.values())
    }

    /// Units of `sku` sold and not yet refunded (zero if the SKU is not in the sale).
    pub fn refundable_quantity(&self, sku: &Sku) -> u32 {
        self.lines()
            .iter()
            .zip(&self.refunded_qty)
            .find(|(l, _)| &l.sku == sku)
            .map_or(0, |(l, r)| l.quantity.saturating_sub(*r))
    }

    fn require(&self, allowed: &[SaleState], action: &str) -> Result<()> {
        if allowed.contains(&self.state) {
            return Ok(());
        }
        Err(CoreError::Rule(alloc::format!(
            "cannot {action} sale {} in state {:?}; allowed in {allowed:?}",
            self.sale_id(),
            self.state
        )))
    }

    fn payment(&self, tender: Tender, amount: Money) -> Payment {
        Payment { sale_id: self.sale_id().clone(), tender, amount }
    }

    /// Applies `body` and wraps it as the event the command returns.
    fn emit(&mut self, body: EventBody) -> Result<DomainEvent> {
        self.apply(&body)?;
        Ok(DomainEvent::new(body))
    }

    /// Authorizes `amount` by `tender`; captured plus authorized may not exceed the total.
    pub fn authorize(&mut self, tender: Tender, amount: Money) -> Result<DomainEvent> {
        use SaleState::*;
        self.require(&[Initiated, Authorized], "authorize a payment for")?;
        check_positive(amount, self.currency(), "payment.amount")?;
        let pending = Money::sum(self.currency(), self.authorized.values())?;
        let after = self.captured()?.checked_add(pending)?.checked_add(amount)?;
        if after.minor() > self.total().minor() {
            return Err(CoreError::Rule(alloc::format!(
                "authorizing {amount} would bring payments of sale {} to {after}, above its total {}: authorize at most the rest",
                self.sale_id(),
                self.total()
            )));
        }
        self.emit(EventBody::PaymentAuthorized(self.payment(tender, amount)))
    }

    /// Captures `amount` by `tender` (cash needs no authorization); it uses up the
    /// tender's authorization first, and captures may not exceed the total.
    pub fn capture(&mut self, tender: Tender, amount: Money) -> Result<DomainEvent> {
        use SaleState::*;
        self.require(&[Initiated, Authorized, Captured], "capture a payment for")?;
        check_positive(amount, self.currency(), "payment.amount")?;
        let after = self.captured()?.checked_add(amount)?;
        if after.minor() > self.total().minor() {
            return Err(CoreError::Rule(alloc::format!(
                "capturing {amount} would bring sale {} to {after}, above its total {}: capture at most the rest",
                self.sale_id(),
                self.total()
            )));
        }
        self.emit(EventBody::PaymentCaptured(self.payment(tender, amount)))
    }

    /// Records a failed payment attempt; it drops the tender's authorization.
    pub fn fail_payment(
        &mut self,
        tender: Tender,
        amount: Money,
        reason: &str,
    ) -> Result<DomainEvent> {
        use SaleState::*;
        self.require(&[Initiated, Authorized, Captured], "fail a payment of")?;
        check_positive(amount, self.currency(), "payment.amount")?;
        self.emit(EventBody::PaymentFailed(PaymentFailure {
            sale_id: self.sale_id().clone(),
            tender,
            amount,
            reason: reason.into(),
        }))
    }

    /// Completes a sale that is paid in full (or totals zero); returns SALE_COMPLETED and
    /// one INVENTORY_SOLD per line.
    pub fn complete(&mut self) -> Result<Vec<DomainEvent>> {
        use SaleState::*;
        self.require(&[Initiated, Authorized, Captured], "complete")?;
        let captured = self.captured()?;
        if captured != self.total() {
            return Err(CoreError::Rule(alloc::format!(
                "sale {} has captured {captured} of {}: capture the rest before completing",
                self.sale_id(),
                self.total()
            )));
        }
        let mut events = alloc::vec![self.emit(EventBody::SaleCompleted(self.record.clone()))?];
        for line in self.lines() {
            events.push(
                EventBody::InventorySold(StockMovement {
                    branch: self.branch.clone(),
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                })
                .into(),
            );
        }
        Ok(events)
    }

    /// Captures what is still due by `tender` (if anything) and completes the sale: the
    /// usual one-tender checkout. Returns PAYMENT_CAPTURED (when something was due),
    /// SALE_COMPLETED and the INVENTORY_SOLD events.
    pub fn pay_and_complete(&mut self, tender: Tender) -> Result<Vec<DomainEvent>> {
        let due = self.total().checked_sub(self.captured()?)?;
        let mut events = Vec::new();
        if due.minor() > 0 {
            events.push(self.capture(tender, due)?);
        }
        events.extend(self.complete()?);
        Ok(events)
    }

    /// Refunds `items` (SKU and units) of a completed sale to `tender`; returns
    /// SALE_PARTIALLY_REFUNDED and PAYMENT_REFUNDED (when money is given back).
    ///
    /// A line's amounts are given back pro rata: after `k` of `n` units are refunded in
    /// total, `round(gross × k / n)` has been given back (likewise for tax), so refunds of
    /// a line never exceed it and refunding every unit gives back exactly the line.
    pub fn refund(
        &mut self,
        refund_id: RefundId,
        items: &[(Sku, u32)],
        tender: Tender,
        reason: &str,
    ) -> Result<Vec<DomainEvent>> {
        self.require(&[SaleState::Completed], "refund")?;
        self.check_refund_id(&refund_id)?;
        if items.is_empty() {
            return Err(CoreError::Rule(
                "a refund needs at least one (SKU, quantity); use reverse to give back the whole sale".into(),
            ));
        }
        let wanted = self.wanted(items)?;
        let body = self.refund_body(refund_id, &wanted, reason)?;
        let total = body.total;
        let zero = Money::zero(self.currency());
        let paid = self.captured.get(&tender).copied().unwrap_or(zero);
        let back = self.refunded.get(&tender).copied().unwrap_or(zero);
        let left_on_tender = paid.checked_sub(back)?;
        if total.minor() > left_on_tender.minor() {
            return Err(CoreError::Rule(alloc::format!(
                "cannot refund {total} to {tender:?}: only {left_on_tender} was captured by it and not refunded; choose another tender"
            )));
        }
        let mut events = alloc::vec![self.emit(EventBody::SalePartiallyRefunded(body))?];
        if !total.is_zero() {
            events.push(self.emit(EventBody::PaymentRefunded(self.payment(tender, total)))?);
        }
        Ok(events)
    }

    /// The units of each line asked for by `items`, checked against what is left.
    fn wanted(&self, items: &[(Sku, u32)]) -> Result<Vec<u32>> {
        let mut wanted = alloc::vec![0u32; self.lines().len()];
        for (sku, qty) in items {
            let i = self.lines().iter().position(|l| &l.sku == sku).ok_or_else(|| {
                CoreError::Rule(alloc::format!("SKU {sku} is not in sale {}", self.sale_id()))
            })?;
            if *qty == 0 {
                return Err(CoreError::InvalidField {
                    field: "refund.quantity",
                    reason: alloc::format!("the quantity of SKU {sku} must be at least 1"),
                });
            }
            wanted[i] = wanted[i].saturating_add(*qty);
            let left = self.refundable_quantity(sku);
            if wanted[i] > left {
                return Err(CoreError::Rule(alloc::format!(
                    "cannot refund {} of SKU {sku} in sale {}: only {left} of {} sold are left to refund",
                    wanted[i],
                    self.sale_id(),
                    self.lines()[i].quantity
                )));
            }
        }
        Ok(wanted)
    }

    /// Reverses the sale: voids an open sale (giving back any captured payment), or gives
    /// back everything not yet refunded of a completed one. Returns SALE_REVERSED and one
    /// PAYMENT_REFUNDED per tender with money left.
    pub fn reverse(&mut self, refund_id: RefundId, reason: &str) -> Result<Vec<DomainEvent>> {
        use SaleState::*;
        self.require(&[Initiated, Authorized, Captured, Completed], "reverse")?;
        self.check_refund_id(&refund_id)?;
        let wanted: Vec<u32> = if self.state == Completed {
            let left: Vec<u32> =
                self.lines().iter().map(|l| self.refundable_quantity(&l.sku)).collect();
            if left.iter().all(|q| *q == 0) {
                return Err(CoreError::Rule(alloc::format!(
                    "sale {} is fully refunded: there is nothing left to reverse",
                    self.sale_id()
                )));
            }
            left
        } else {
            alloc::vec![0; self.lines().len()]
        };
        let body = self.refund_body(refund_id, &wanted, reason)?;
        let mut payments = Vec::new();
        for (tender, paid) in &self.captured {
            let back = self.refunded.get(tender).copied().unwrap_or(Money::zero(self.currency()));
            let left = paid.checked_sub(back)?;
            if !left.is_zero() {
                payments.push(EventBody::PaymentRefunded(self.payment(*tender, left)));
            }
        }
        let mut events = alloc::vec![self.emit(EventBody::SaleReversed(body))?];
        for p in payments {
            events.push(self.emit(p)?);
        }
        Ok(events)
    }

    fn check_refund_id(&self, refund_id: &RefundId) -> Result<()> {
        if self.refund_ids.contains(refund_id) {
            return Err(CoreError::Rule(alloc::format!(
                "refund {refund_id} was already applied to sale {}: use a new refund id",
                self.sale_id()
            )));
        }
        Ok(())
    }

    /// The refund body for `wanted[i]` more units of each line, pro rata.
    fn refund_body(&self, refund_id: RefundId, wanted: &[u32], reason: &str) -> Result<SaleRefund> {
        let mode = self.record.policy.mode;
        let mut lines = Vec::new();
        for ((line, done), now) in self.lines().iter().zip(&self.refunded_qty).zip(wanted) {
            if *now == 0 {
                continue;
            }
            let (n, before) = (i64::from(line.quantity), i64::from(*done));
            let after = before + i64::from(*now);
            let share = |m: Money| -> Result<Money> {
                m.mul_ratio(after, n, mode)?.checked_sub(m.mul_ratio(before, n, mode)?)
            };
            let gross = share(line.gross)?;
            let tax = share(line.tax)?;
            lines.push(RefundLine {
                sku: line.sku.clone(),
                quantity: *now,
                net: gross.checked_sub(tax)?,
                tax,
                gross,
            });
        }
        let currency = self.currency();
        Ok(SaleRefund {
            sale_id: self.sale_id().clone(),
            refund_id,
            net: Money::sum(currency, lines.iter().map(|l| &l.net))?,
            tax: Money::sum(currency, lines.iter().map(|l| &l.tax))?,
            total: Money::sum(currency, lines.iter().map(|l| &l.gross))?,
            lines,
            customer: self.record.customer.clone(),
            reason: String::from(reason),
        })
    }

    /// Applies the fact `body` to the state (the only place the state changes after
    /// initiation). Facts are trusted: commands validated them before making them.
    /// Applies a body made elsewhere (a self-sealing till's sealed event) after checking it
    /// is what this sale's own commands would have made: a refund of no more units than are
    /// left, with a new refund id and the pro-rata amounts [`Sale::refund`] computes, and a
    /// payment refund no larger than what its tender captured and has not given back.
    pub fn accept(&mut self, body: &EventBody) -> Result<()> {
        match body {
            EventBody::SalePartiallyRefunded(r) => {
                self.require(&[SaleState::Completed], "refund")?;
                self.check_refund_id(&r.refund_id)?;
                let items: Vec<(Sku, u32)> =
                    r.lines.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
                let wanted = self.wanted(&items)?;
                let expected = self.refund_body(r.refund_id.clone(), &wanted, &r.reason)?;
                if expected.lines != r.lines || expected.total != r.total || expected.tax != r.tax {
                    return Err(CoreError::Rule(alloc::format!(
                        "refund {} of sale {}: its amounts are not the sale's pro-rata amounts ({} expected, {} claimed)",
                        r.refund_id,
                        self.sale_id(),
                        expected.total,
                        r.total
                    )));
                }
            }
            EventBody::PaymentRefunded(p) => {
                let zero = Money::zero(self.currency());
                let paid = self.captured.get(&p.tender).copied().unwrap_or(zero);
                let back = self.refunded.get(&p.tender).copied().unwrap_or(zero);
                if p.amount.minor() > paid.checked_sub(back)?.minor() {
                    return Err(CoreError::Rule(alloc::format!(
                        "cannot refund {} to {:?} in sale {}: more than it captured and has not given back",
                        p.amount,
                        p.tender,
                        self.sale_id()
                    )));
                }
            }
            EventBody::SaleInitiated(_) => {
                return Err(CoreError::Rule(alloc::format!(
                    "sale {} exists already: a sale is initiated once",
                    self.sale_id()
                )));
            }
            _ => {}
        }
        self.apply(body)
    }

    fn apply(&mut self, body: &EventBody) -> Result<()> {
        use SaleState::*;
        let of_sale = match body {
            EventBody::PaymentAuthorized(p)
            | EventBody::PaymentCaptured(p)
            | EventBody::PaymentRefunded(p) => &p.sale_id,
            EventBody::PaymentFailed(p) => &p.sale_id,
            EventBody::SaleInitiated(r) | EventBody::SaleCompleted(r) => &r.sale_id,
            EventBody::SalePartiallyRefunded(r) | EventBody::SaleReversed(r) => &r.sale_id,
            _ => return Ok(()),
        };
        if of_sale != self.sale_id() {
            return Err(CoreError::Rule(alloc::format!(
                "a {} body of sale {of_sale} does not belong to sale {}",
                body.event_type(),
                self.sale_id()
            )));
        }
        match body {
            EventBody::PaymentAuthorized(p) => {
                add_to(&mut self.authorized, p.tender, p.amount)?;
                self.state = Authorized;
            }
            EventBody::PaymentCaptured(p) => {
                if let Some(auth) = self.authorized.get_mut(&p.tender) {
                    let used = if auth.minor() < p.amount.minor() { *auth } else { p.amount };
                    *auth = auth.checked_sub(used)?;
                }
                add_to(&mut self.captured, p.tender, p.amount)?;
                self.state = Captured;
            }
            EventBody::PaymentFailed(p) => {
                self.authorized.remove(&p.tender);
                if self.state == Authorized && self.authorized.values().all(Money::is_zero) {
                    self.state = Initiated;
                }
            }
            EventBody::PaymentRefunded(p) => add_to(&mut self.refunded, p.tender, p.amount)?,
            EventBody::SaleCompleted(_) => self.state = Completed,
            EventBody::SalePartiallyRefunded(r) | EventBody::SaleReversed(r) => {
                for line in &r.lines {
                    if let Some(i) = self.lines().iter().position(|l| l.sku == line.sku) {
                        self.refunded_qty[i] = self.refunded_qty[i].saturating_add(line.quantity);
                    }
                }
                self.refund_ids.insert(r.refund_id.clone());
                if matches!(body, EventBody::SaleReversed(_)) {
                    self.authorized.clear();
                    self.state = Reversed;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
