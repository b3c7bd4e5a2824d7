//! The sale lifecycle: a small state machine that produces the events of a sale.
//!
//! ```text
//! initiate ──► Initiated ──authorize──► Authorized ──capture──► Captured ──complete──► Completed
//!                  └──────────────capture (cash)──────────────────┘                      │
//!              refund (partial, any number of times, never more than sold) ◄───────────────┤
//!              reverse (voids an open sale, or gives back what is left of a completed one) ┘
//! ```
//!
//! Every step validates its input and returns the [`DomainEvent`]s it produces; a step
//! that is not allowed in the current state returns an error and changes nothing.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::body::{Payment, PaymentFailure, RefundLine, SaleRecord, SaleRefund, StockMovement};
use super::code::check_positive;
use super::{
    CartTotals, CustomerId, DomainEvent, EventBody, RefundId, SaleId, SaleLine, SaleTotals, Sku,
    TaxPolicy, Tender,
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
    sale_id: SaleId,
    branch: BranchId,
    policy: TaxPolicy,
    lines: Vec<SaleLine>,
    totals: SaleTotals,
    customer: Option<CustomerId>,
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

impl Sale {
    /// Starts a sale of a priced, non-empty cart at `branch`; returns SALE_INITIATED.
    pub fn initiate(
        sale_id: SaleId,
        branch: BranchId,
        priced: &CartTotals,
        customer: Option<CustomerId>,
    ) -> Result<(Sale, DomainEvent)> {
        if priced.lines.is_empty() {
            return Err(CoreError::Rule(alloc::format!(
                "sale {sale_id} has no lines: add products to the cart first"
            )));
        }
        let sale = Sale {
            sale_id,
            branch,
            policy: priced.policy,
            refunded_qty: alloc::vec![0; priced.lines.len()],
            lines: priced.lines.clone(),
            totals: priced.totals,
            customer,
            state: SaleState::Initiated,
            authorized: BTreeMap::new(),
            captured: BTreeMap::new(),
            refunded: BTreeMap::new(),
            refund_ids: BTreeSet::new(),
        };
        let event = DomainEvent::new(EventBody::SaleInitiated(sale.record()));
        Ok((sale, event))
    }

    fn record(&self) -> SaleRecord {
        SaleRecord {
            sale_id: self.sale_id.clone(),
            pricing: self.policy.pricing,
            lines: self.lines.clone(),
            totals: self.totals,
            customer: self.customer.clone(),
        }
    }

    /// The sale id.
    pub fn sale_id(&self) -> &SaleId {
        &self.sale_id
    }

    /// The state.
    pub fn state(&self) -> SaleState {
        self.state
    }

    /// The priced lines.
    pub fn lines(&self) -> &[SaleLine] {
        &self.lines
    }

    /// The totals.
    pub fn totals(&self) -> &SaleTotals {
        &self.totals
    }

    /// The sale's currency.
    pub fn currency(&self) -> Currency {
        self.totals.total.currency()
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
        self.lines
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
            self.sale_id,
            self.state
        )))
    }

    fn payment(&self, tender: Tender, amount: Money) -> Payment {
        Payment { sale_id: self.sale_id.clone(), tender, amount }
    }

    /// Authorizes `amount` by `tender`; captured plus authorized may not exceed the total.
    pub fn authorize(&mut self, tender: Tender, amount: Money) -> Result<DomainEvent> {
        use SaleState::*;
        self.require(&[Initiated, Authorized], "authorize a payment for")?;
        check_positive(amount, self.currency(), "payment.amount")?;
        let pending = Money::sum(self.currency(), self.authorized.values())?;
        let after = self.captured()?.checked_add(pending)?.checked_add(amount)?;
        if after.minor() > self.totals.total.minor() {
            return Err(CoreError::Rule(alloc::format!(
                "authorizing {amount} would bring payments of sale {} to {after}, above its total {}: authorize at most the rest",
                self.sale_id,
                self.totals.total
            )));
        }
        add_to(&mut self.authorized, tender, amount)?;
        self.state = Authorized;
        Ok(EventBody::PaymentAuthorized(self.payment(tender, amount)).into())
    }

    /// Captures `amount` by `tender` (cash needs no authorization); it uses up the
    /// tender's authorization first, and captures may not exceed the total.
    pub fn capture(&mut self, tender: Tender, amount: Money) -> Result<DomainEvent> {
        use SaleState::*;
        self.require(&[Initiated, Authorized, Captured], "capture a payment for")?;
        check_positive(amount, self.currency(), "payment.amount")?;
        let after = self.captured()?.checked_add(amount)?;
        if after.minor() > self.totals.total.minor() {
            return Err(CoreError::Rule(alloc::format!(
                "capturing {amount} would bring sale {} to {after}, above its total {}: capture at most the rest",
                self.sale_id,
                self.totals.total
            )));
        }
        if let Some(auth) = self.authorized.get_mut(&tender) {
            let used = if auth.minor() < amount.minor() { *auth } else { amount };
            *auth = auth.checked_sub(used)?;
        }
        add_to(&mut self.captured, tender, amount)?;
        self.state = Captured;
        Ok(EventBody::PaymentCaptured(self.payment(tender, amount)).into())
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
        self.authorized.remove(&tender);
        if self.state == Authorized && self.authorized.values().all(Money::is_zero) {
            self.state = Initiated;
        }
        Ok(EventBody::PaymentFailed(PaymentFailure {
            sale_id: self.sale_id.clone(),
            tender,
            amount,
            reason: reason.into(),
        })
        .into())
    }

    /// Completes a sale that is paid in full (or totals zero); returns SALE_COMPLETED and
    /// one INVENTORY_SOLD per line.
    pub fn complete(&mut self) -> Result<Vec<DomainEvent>> {
        use SaleState::*;
        self.require(&[Initiated, Authorized, Captured], "complete")?;
        let captured = self.captured()?;
        if captured != self.totals.total {
            return Err(CoreError::Rule(alloc::format!(
                "sale {} has captured {captured} of {}: capture the rest before completing",
                self.sale_id,
                self.totals.total
            )));
        }
        self.state = Completed;
        let mut events = alloc::vec![DomainEvent::new(EventBody::SaleCompleted(self.record()))];
        for line in &self.lines {
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
        let due = self.totals.total.checked_sub(self.captured()?)?;
        let mut events = Vec::new();
        if due.minor() > 0 {
            events.push(self.capture(tender, due)?);
        }
        events.extend(self.complete()?);
        Ok(events)
    }

    /// Refunds `items` (SKU and units) of a completed sale to `tender`; returns
    /// SALE_PARTIALLY_REFUNDED and PAYMENT_REFUNDED.
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
        let mut wanted = alloc::vec![0u32; self.lines.len()];
        for (sku, qty) in items {
            let i = self.lines.iter().position(|l| &l.sku == sku).ok_or_else(|| {
                CoreError::Rule(alloc::format!("SKU {sku} is not in sale {}", self.sale_id))
            })?;
            if *qty == 0 {
                return Err(CoreError::InvalidField {
                    field: "refund.quantity",
                    reason: alloc::format!("the quantity of SKU {sku} must be at least 1"),
                });
            }
            wanted[i] =
                wanted[i].checked_add(*qty).ok_or(CoreError::Overflow("refund quantity"))?;
            let left = self.refundable_quantity(sku);
            if wanted[i] > left {
                return Err(CoreError::Rule(alloc::format!(
                    "cannot refund {} of SKU {sku} in sale {}: only {left} of {} sold are left to refund",
                    wanted[i],
                    self.sale_id,
                    self.lines[i].quantity
                )));
            }
        }
        let body = self.refund_body(refund_id, &wanted, reason)?;
        let total = body.total;
        let left_on_tender = {
            let captured = self.captured.get(&tender).copied();
            let refunded = self.refunded.get(&tender).copied();
            captured
                .unwrap_or(Money::zero(self.currency()))
                .checked_sub(refunded.unwrap_or(Money::zero(self.currency())))?
        };
        if total.minor() > left_on_tender.minor() {
            return Err(CoreError::Rule(alloc::format!(
                "cannot refund {total} to {tender:?}: only {left_on_tender} was captured by it and not refunded; choose another tender"
            )));
        }
        self.apply_refund(&wanted, &body, tender)?;
        let mut events = alloc::vec![DomainEvent::new(EventBody::SalePartiallyRefunded(body))];
        if !total.is_zero() {
            events.push(EventBody::PaymentRefunded(self.payment(tender, total)).into());
        }
        Ok(events)
    }

    /// Reverses the sale: voids an open sale (giving back any captured payment), or gives
    /// back everything not yet refunded of a completed one. Returns SALE_REVERSED and one
    /// PAYMENT_REFUNDED per tender with money left.
    pub fn reverse(&mut self, refund_id: RefundId, reason: &str) -> Result<Vec<DomainEvent>> {
        use SaleState::*;
        self.require(&[Initiated, Authorized, Captured, Completed], "reverse")?;
        self.check_refund_id(&refund_id)?;
        let wanted: Vec<u32> = if self.state == Completed {
            let left: Vec<u32> = self
                .lines
                .iter()
                .zip(&self.refunded_qty)
                .map(|(l, r)| l.quantity.saturating_sub(*r))
                .collect();
            if left.iter().all(|q| *q == 0) {
                return Err(CoreError::Rule(alloc::format!(
                    "sale {} is fully refunded: there is nothing left to reverse",
                    self.sale_id
                )));
            }
            left
        } else {
            alloc::vec![0; self.lines.len()]
        };
        let body = self.refund_body(refund_id, &wanted, reason)?;
        let mut payments = Vec::new();
        for (tender, captured) in &self.captured {
            let done = self.refunded.get(tender).copied().unwrap_or(Money::zero(self.currency()));
            let left = captured.checked_sub(done)?;
            if !left.is_zero() {
                payments.push(self.payment(*tender, left));
            }
        }
        for p in &payments {
            add_to(&mut self.refunded, p.tender, p.amount)?;
        }
        for (r, w) in self.refunded_qty.iter_mut().zip(&wanted) {
            *r = r.saturating_add(*w);
        }
        self.refund_ids.insert(body.refund_id.clone());
        self.authorized.clear();
        self.state = Reversed;
        let mut events = alloc::vec![DomainEvent::new(EventBody::SaleReversed(body))];
        events.extend(payments.into_iter().map(|p| EventBody::PaymentRefunded(p).into()));
        Ok(events)
    }

    fn check_refund_id(&self, refund_id: &RefundId) -> Result<()> {
        if self.refund_ids.contains(refund_id) {
            return Err(CoreError::Rule(alloc::format!(
                "refund {refund_id} was already applied to sale {}: use a new refund id",
                self.sale_id
            )));
        }
        Ok(())
    }

    /// The refund body for `wanted[i]` more units of each line, pro rata.
    fn refund_body(&self, refund_id: RefundId, wanted: &[u32], reason: &str) -> Result<SaleRefund> {
        let mode = self.policy.mode;
        let mut lines = Vec::new();
        for ((line, done), now) in self.lines.iter().zip(&self.refunded_qty).zip(wanted) {
            if *now == 0 {
                continue;
            }
            let (n, before, after) =
                (i64::from(line.quantity), i64::from(*done), i64::from(*done) + i64::from(*now));
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
            sale_id: self.sale_id.clone(),
            refund_id,
            net: Money::sum(currency, lines.iter().map(|l| &l.net))?,
            tax: Money::sum(currency, lines.iter().map(|l| &l.tax))?,
            total: Money::sum(currency, lines.iter().map(|l| &l.gross))?,
            lines,
            customer: self.customer.clone(),
            reason: String::from(reason),
        })
    }

    fn apply_refund(&mut self, wanted: &[u32], body: &SaleRefund, tender: Tender) -> Result<()> {
        if !body.total.is_zero() {
            add_to(&mut self.refunded, tender, body.total)?;
        }
        for (r, w) in self.refunded_qty.iter_mut().zip(wanted) {
            *r = r.saturating_add(*w);
        }
        self.refund_ids.insert(body.refund_id.clone());
        Ok(())
    }
}
