//! Customer loyalty: points per amount spent and tiers by points threshold.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::{Projection, ProjectionContext};
use crate::commerce::{CustomerId, EventBody, check_text};
use crate::error::{CoreError, Result};
use crate::ids::TenantId;
use crate::money::{Currency, Money};

/// A tier reached at `min_points` points (e.g. Silver at 500).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyTier {
    /// The tier's name.
    pub name: String,
    /// Points needed to reach it.
    pub min_points: u64,
}

/// The rules of a loyalty program in one currency: `points_per_unit` points for every
/// whole `spend_unit` of net spend (sales minus refunds, tax included), and tiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProgramFields", into = "ProgramFields")]
pub struct LoyaltyProgram {
    spend_unit: Money,
    points_per_unit: u64,
    tiers: Vec<LoyaltyTier>,
}

impl LoyaltyProgram {
    /// A program; `spend_unit` must be more than zero and `tiers` (name, minimum points)
    /// must have non-blank names and strictly increasing minimums.
    pub fn new(spend_unit: Money, points_per_unit: u64, tiers: &[(&str, u64)]) -> Result<Self> {
        if spend_unit.minor() <= 0 {
            return Err(CoreError::InvalidField {
                field: "loyalty.spend_unit",
                reason: alloc::format!("{spend_unit} must be more than zero (e.g. 1.00 USD)"),
            });
        }
        let mut out: Vec<LoyaltyTier> = Vec::with_capacity(tiers.len());
        for (name, min_points) in tiers {
            check_text("loyalty.tier", name, 64)?;
            if out.last().is_some_and(|t| t.min_points >= *min_points) {
                return Err(CoreError::InvalidField {
                    field: "loyalty.tier",
                    reason: alloc::format!(
                        "tier {name:?} at {min_points} points does not come after the previous tier; list tiers by increasing points"
                    ),
                });
            }
            out.push(LoyaltyTier { name: String::from(*name), min_points: *min_points });
        }
        Ok(LoyaltyProgram { spend_unit, points_per_unit, tiers: out })
    }

    /// The program's currency; spend in other currencies earns nothing.
    pub fn currency(&self) -> Currency {
        self.spend_unit.currency()
    }

    /// Points for a net spend of `spent` minor units: `⌊spent / unit⌋ × points_per_unit`
    /// (zero when the net spend is negative).
    pub fn points_for(&self, spent: i64) -> u64 {
        let whole = spent.checked_div(self.spend_unit.minor()).unwrap_or(0);
        let units = u64::try_from(whole).unwrap_or(0);
        units.saturating_mul(self.points_per_unit)
    }

    /// The highest tier whose minimum is reached, if any.
    pub fn tier_for(&self, points: u64) -> Option<&LoyaltyTier> {
        self.tiers.iter().rev().find(|t| t.min_points <= points)
    }
}

/// The serde form of a program, validated by [`LoyaltyProgram::new`] when read.
type ProgramFields = (Money, u64, Vec<(String, u64)>);

impl TryFrom<ProgramFields> for LoyaltyProgram {
    type Error = CoreError;
    fn try_from((unit, points, tiers): ProgramFields) -> Result<Self> {
        let tiers: Vec<(&str, u64)> = tiers.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        LoyaltyProgram::new(unit, points, &tiers)
    }
}

impl From<LoyaltyProgram> for ProgramFields {
    fn from(p: LoyaltyProgram) -> Self {
        let tiers = p.tiers.into_iter().map(|t| (t.name, t.min_points)).collect();
        (p.spend_unit, p.points_per_unit, tiers)
    }
}

/// What one customer has bought and given back, in the program's minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerLoyalty {
    /// Completed purchases.
    pub purchases: u64,
    /// Σ totals of purchases − Σ totals refunded.
    pub net_spend: i64,
}

/// Loyalty per customer: a fold of SALE_COMPLETED (adds the total) and
/// SALE_PARTIALLY_REFUNDED / SALE_REVERSED (subtract what is given back) bodies that name a
/// customer and are in the program's currency. Points derive from the net spend, so the
/// result does not depend on the order of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyLedger {
    program: LoyaltyProgram,
    customers: BTreeMap<(TenantId, CustomerId), CustomerLoyalty>,
}

impl LoyaltyLedger {
    /// An empty ledger for `program`.
    pub fn new(program: LoyaltyProgram) -> Self {
        LoyaltyLedger { program, customers: BTreeMap::new() }
    }

    /// The program.
    pub fn program(&self) -> &LoyaltyProgram {
        &self.program
    }

    /// A customer's record (zero if unknown).
    pub fn customer(&self, tenant: &TenantId, customer: &CustomerId) -> CustomerLoyalty {
        self.customers.get(&(tenant.clone(), customer.clone())).copied().unwrap_or_default()
    }

    /// A customer's points.
    pub fn points(&self, tenant: &TenantId, customer: &CustomerId) -> u64 {
        self.program.points_for(self.customer(tenant, customer).net_spend)
    }

    /// A customer's tier name, if any tier is reached.
    pub fn tier(&self, tenant: &TenantId, customer: &CustomerId) -> Option<&str> {
        self.program.tier_for(self.points(tenant, customer)).map(|t| t.name.as_str())
    }

    /// Every customer, ordered by tenant and customer id.
    pub fn customers(&self) -> impl Iterator<Item = (&(TenantId, CustomerId), &CustomerLoyalty)> {
        self.customers.iter()
    }

    fn add(
        &mut self,
        ctx: &ProjectionContext,
        customer: &CustomerId,
        amount: Money,
        purchase: bool,
    ) -> Result<()> {
        if amount.currency() != self.program.currency() {
            return Ok(());
        }
        let entry = self.customers.entry((ctx.tenant.clone(), customer.clone())).or_default();
        entry.net_spend = entry
            .net_spend
            .checked_add(amount.minor())
            .ok_or(CoreError::Overflow("loyalty spend"))?;
        if purchase {
            entry.purchases =
                entry.purchases.checked_add(1).ok_or(CoreError::Overflow("loyalty purchases"))?;
        }
        Ok(())
    }
}

impl Projection for LoyaltyLedger {
    fn apply(&mut self, ctx: &ProjectionContext, body: &EventBody) -> Result<()> {
        match body {
            EventBody::SaleCompleted(s) => match &s.customer {
                Some(c) => self.add(ctx, c, s.totals.total, true),
                None => Ok(()),
            },
            EventBody::SalePartiallyRefunded(r) | EventBody::SaleReversed(r) => match &r.customer {
                Some(c) => self.add(ctx, c, r.total.checked_neg()?, false),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}
