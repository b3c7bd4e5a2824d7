//! The tax engine: exact tax of priced lines, exclusive or inclusive, rounded per line or
//! per invoice.
//!
//! # Arithmetic
//!
//! All amounts are `i64` minor units; products are taken in `i128` by
//! [`Money::mul_ratio`], and the only rounding is the policy's [`RoundingMode`] applied
//! to a single division. With a line amount `A` (after discounts), the rates `r_1..r_k` of
//! its tax category in ppm and `R = Σ r_i`:
//!
//! - **Exclusive** (`A` is net): component `i` is `round(A × r_i / 1_000_000)`; the line
//!   tax `T` is their sum; `net = A`, `gross = A + T`.
//! - **Inclusive** (`A` is gross): `T = round(A × R / (1_000_000 + R))`, split into
//!   components in proportion to `r_i` with [`Money::allocate`] (so they sum to `T`);
//!   `gross = A`, `net = A − T`.
//!
//! In both cases `net + tax == gross` exactly. With [`TaxRounding::PerLine`] the rules
//! above apply to each line. With [`TaxRounding::PerInvoice`] they apply once to the sum
//! `S` of the amounts of all lines of one tax category, and each component is then
//! allocated back to those lines in proportion to their amounts, so the lines still sum
//! to the invoice tax exactly.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::tax::PPM;
use super::{TaxCategory, TaxPolicy, TaxPricing, TaxRate, TaxRounding, TaxTable};
use crate::error::{CoreError, Result};
use crate::money::{Currency, Money, RoundingMode};

/// The tax of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    /// The amount without tax.
    pub net: Money,
    /// The tax (sum of `components`).
    pub tax: Money,
    /// The amount with tax (`net + tax`).
    pub gross: Money,
    /// The tax of each rate of the line's category, in the table's order.
    pub components: Vec<Money>,
}

/// The total of one tax rate over an invoice, e.g. for the tax lines of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxComponentTotal {
    /// The rate's name.
    pub name: String,
    /// The rate in parts per million.
    pub rate_ppm: u32,
    /// The net amount of the lines that bear this rate.
    pub taxable: Money,
    /// The tax collected at this rate.
    pub tax: Money,
}

/// The tax of an invoice: one [`LineTax`] per input line and the totals per rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxResult {
    /// One entry per input line, in input order.
    pub lines: Vec<LineTax>,
    /// Totals per (rate name, rate), sorted by name then rate.
    pub components: Vec<TaxComponentTotal>,
}

/// Computes tax from a [`TaxTable`] under a [`TaxPolicy`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxEngine {
    table: TaxTable,
    policy: TaxPolicy,
}

/// Splits `amount` in proportion to `weights`; all zeroes when the amount or every weight is zero.
pub(crate) fn allocate_or_zero(amount: Money, weights: &[u64]) -> Result<Vec<Money>> {
    if amount.is_zero() || weights.iter().all(|w| *w == 0) {
        if !amount.is_zero() {
            return Err(CoreError::Rule(alloc::format!(
                "cannot allocate {amount} over lines that are all zero"
            )));
        }
        return Ok(vec![Money::zero(amount.currency()); weights.len()]);
    }
    amount.allocate(weights)
}

/// The non-negative minor units of `amount` as an allocation weight.
pub(crate) fn weight(amount: Money) -> u64 {
    u64::try_from(amount.minor()).unwrap_or(0)
}

/// The tax components of one amount under `pricing` (see the module docs).
fn components(
    amount: Money,
    rates: &[TaxRate],
    pricing: TaxPricing,
    mode: RoundingMode,
) -> Result<Vec<Money>> {
    match pricing {
        TaxPricing::Exclusive => rates
            .iter()
            .map(|r| amount.mul_ratio(i64::from(r.ppm()), i64::from(PPM), mode))
            .collect(),
        TaxPricing::Inclusive => {
            let combined: i64 = rates.iter().map(|r| i64::from(r.ppm())).sum();
            let tax = amount.mul_ratio(combined, i64::from(PPM) + combined, mode)?;
            let weights: Vec<u64> = rates.iter().map(|r| u64::from(r.ppm())).collect();
            allocate_or_zero(tax, &weights)
        }
    }
}

impl TaxEngine {
    /// An engine with `table` and `policy`.
    pub fn new(table: TaxTable, policy: TaxPolicy) -> Self {
        TaxEngine { table, policy }
    }

    /// The policy.
    pub fn policy(&self) -> &TaxPolicy {
        &self.policy
    }

    /// The tax table.
    pub fn table(&self) -> &TaxTable {
        &self.table
    }

    /// Computes the tax of `lines` (tax category and amount after discounts, net when
    /// pricing is exclusive, gross when inclusive). Every amount must be in `currency`
    /// and zero or more, and every category in the table.
    pub fn compute(
        &self,
        currency: Currency,
        lines: &[(&TaxCategory, Money)],
    ) -> Result<TaxResult> {
        let mut rates = Vec::with_capacity(lines.len());
        for (category, amount) in lines {
            if amount.currency() != currency {
                return Err(CoreError::CurrencyMismatch {
                    left: currency.code().into(),
                    right: amount.currency().code().into(),
                });
            }
            if amount.is_negative() {
                return Err(CoreError::InvalidField {
                    field: "tax.amount",
                    reason: alloc::format!("{amount} is negative; tax lines must be zero or more"),
                });
            }
            rates.push(self.table.rates(category)?);
        }
        let (pricing, mode) = (self.policy.pricing, self.policy.mode);
        let mut line_components: Vec<Vec<Money>> = match self.policy.rounding {
            TaxRounding::PerLine => lines
                .iter()
                .zip(&rates)
                .map(|((_, amount), r)| components(*amount, r, pricing, mode))
                .collect::<Result<_>>()?,
            TaxRounding::PerInvoice => lines
                .iter()
                .zip(&rates)
                .map(|(_, r)| vec![Money::zero(currency); r.len()])
                .collect(),
        };
        if self.policy.rounding == TaxRounding::PerInvoice {
            let mut groups: BTreeMap<&TaxCategory, Vec<usize>> = BTreeMap::new();
            for (i, (category, _)) in lines.iter().enumerate() {
                groups.entry(*category).or_default().push(i);
            }
            for (category, members) in groups {
                let group_rates = self.table.rates(category)?;
                let sum = Money::sum(currency, members.iter().map(|i| &lines[*i].1))?;
                let weights: Vec<u64> = members.iter().map(|i| weight(lines[*i].1)).collect();
                let totals = components(sum, group_rates, pricing, mode)?;
                for (c, total) in totals.into_iter().enumerate() {
                    for (share, i) in allocate_or_zero(total, &weights)?.into_iter().zip(&members) {
                        line_components[*i][c] = share;
                    }
                }
            }
        }
        self.assemble(currency, lines, &rates, line_components)
    }

    /// Turns per-line components into [`LineTax`]es and per-rate totals.
    fn assemble(
        &self,
        currency: Currency,
        lines: &[(&TaxCategory, Money)],
        rates: &[&[TaxRate]],
        line_components: Vec<Vec<Money>>,
    ) -> Result<TaxResult> {
        let mut out = Vec::with_capacity(lines.len());
        let mut per_rate: BTreeMap<(&str, u32), (Money, Money)> = BTreeMap::new();
        for (((_, amount), line_rates), comps) in lines.iter().zip(rates).zip(line_components) {
            let tax = Money::sum(currency, &comps)?;
            let (net, gross) = match self.policy.pricing {
                TaxPricing::Exclusive => (*amount, amount.checked_add(tax)?),
                TaxPricing::Inclusive => (amount.checked_sub(tax)?, *amount),
            };
            for (rate, c) in line_rates.iter().zip(&comps) {
                let entry = per_rate
                    .entry((rate.name(), rate.ppm()))
                    .or_insert((Money::zero(currency), Money::zero(currency)));
                entry.0 = entry.0.checked_add(net)?;
                entry.1 = entry.1.checked_add(*c)?;
            }
            out.push(LineTax { net, tax, gross, components: comps });
        }
        let components = per_rate
            .into_iter()
            .map(|((name, rate_ppm), (taxable, tax))| TaxComponentTotal {
                name: name.into(),
                rate_ppm,
                taxable,
                tax,
            })
            .collect();
        Ok(TaxResult { lines: out, components })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(m: i64) -> Money {
        Money::from_minor(m, Currency::USD)
    }

    fn engine(pricing: TaxPricing, rounding: TaxRounding) -> TaxEngine {
        let table = TaxTable::new()
            .with(
                "general",
                vec![TaxRate::new("state", 62_500).unwrap(), TaxRate::new("city", 25_000).unwrap()],
            )
            .unwrap()
            .with("exempt", vec![])
            .unwrap();
        let policy = TaxPolicy { pricing, rounding, mode: RoundingMode::HalfUp };
        TaxEngine::new(table, policy)
    }

    fn cat(name: &str) -> TaxCategory {
        TaxCategory::new(name).unwrap()
    }

    #[test]
    fn exclusive_per_line_stacks_rates() {
        let e = engine(TaxPricing::Exclusive, TaxRounding::PerLine);
        let g = cat("general");
        let r = e.compute(Currency::USD, &[(&g, usd(1000))]).unwrap();
        // 6.25 % of 10.00 = 0.625 → 0.63 (half-up); 2.5 % = 0.25.
        assert_eq!(r.lines[0].components, [usd(63), usd(25)]);
        assert_eq!((r.lines[0].tax, r.lines[0].gross), (usd(88), usd(1088)));
        assert_eq!(r.components.len(), 2);
        assert_eq!(r.components[0].name, "city");
        assert_eq!(r.components[1].taxable, usd(1000));
    }

    #[test]
    fn per_invoice_rounds_once() {
        let g = cat("general");
        let lines = [(&g, usd(10)), (&g, usd(10)), (&g, usd(10))];
        // Per line: 6.25 % of 0.10 = 0.00625 → 0.01 each → 0.03 state tax.
        let per_line = engine(TaxPricing::Exclusive, TaxRounding::PerLine)
            .compute(Currency::USD, &lines)
            .unwrap();
        let state_line: i64 = per_line.lines.iter().map(|l| l.components[0].minor()).sum();
        assert_eq!(state_line, 3);
        // Per invoice: 6.25 % of 0.30 = 0.01875 → 0.02.
        let per_invoice = engine(TaxPricing::Exclusive, TaxRounding::PerInvoice)
            .compute(Currency::USD, &lines)
            .unwrap();
        let state_inv: i64 = per_invoice.lines.iter().map(|l| l.components[0].minor()).sum();
        assert_eq!(state_inv, 2);
    }

    #[test]
    fn inclusive_extracts_tax_exactly() {
        let g = cat("general");
        let r = engine(TaxPricing::Inclusive, TaxRounding::PerLine)
            .compute(Currency::USD, &[(&g, usd(1088))])
            .unwrap();
        assert_eq!((r.lines[0].net, r.lines[0].tax), (usd(1000), usd(88)));
        assert_eq!(r.lines[0].components, [usd(63), usd(25)]);
    }

    #[test]
    fn inclusive_per_invoice_allocates_back_exactly() {
        let g = cat("general");
        let lines = [(&g, usd(333)), (&g, usd(333)), (&g, usd(334))];
        let r = engine(TaxPricing::Inclusive, TaxRounding::PerInvoice)
            .compute(Currency::USD, &lines)
            .unwrap();
        // 10.00 gross at 8.75 %: tax = round(1000 × 87500 / 1087500) = round(80.46) cents = 0.80.
        let tax: i64 = r.lines.iter().map(|l| l.tax.minor()).sum();
        assert_eq!(tax, 80);
        for (l, (_, gross)) in r.lines.iter().zip(&lines) {
            assert_eq!(l.net.checked_add(l.tax).unwrap(), *gross);
        }
        // Split 62 500 : 25 000 → 0.57 state + 0.23 city.
        assert_eq!((r.components[1].tax, r.components[0].tax), (usd(57), usd(23)));
    }

    #[test]
    fn serde_revalidates_rates() {
        let bytes = postcard::to_allocvec(&("VAT", crate::commerce::MAX_COMBINED_PPM + 1)).unwrap();
        assert!(postcard::from_bytes::<TaxRate>(&bytes).is_err());
        let rate = TaxRate::new("VAT", 200_000).unwrap();
        let bytes = postcard::to_allocvec(&rate).unwrap();
        assert_eq!(postcard::from_bytes::<TaxRate>(&bytes).unwrap(), rate);
    }

    #[test]
    fn exempt_and_errors() {
        let e = engine(TaxPricing::Exclusive, TaxRounding::PerInvoice);
        let x = cat("exempt");
        let r = e.compute(Currency::USD, &[(&x, usd(500))]).unwrap();
        assert_eq!(r.lines[0].tax, usd(0));
        assert!(r.components.is_empty());
        let eur = Money::from_minor(1, Currency::EUR);
        assert!(matches!(
            e.compute(Currency::USD, &[(&x, eur)]),
            Err(CoreError::CurrencyMismatch { .. })
        ));
        assert!(e.compute(Currency::USD, &[(&x, usd(-1))]).is_err());
        assert!(e.compute(Currency::USD, &[(&cat("nope"), usd(1))]).is_err());
    }

    #[test]
    fn jpy_and_kwd_exponents() {
        let table =
            TaxTable::new().with("std", vec![TaxRate::new("VAT", 100_000).unwrap()]).unwrap();
        let e = TaxEngine::new(table, TaxPolicy::default());
        let s = cat("std");
        let yen = e.compute(Currency::JPY, &[(&s, Money::from_minor(1_055, Currency::JPY))]);
        // 10 % of ¥1055 = ¥105.5 → ¥106.
        assert_eq!(yen.unwrap().lines[0].tax.minor(), 106);
        let kwd = e.compute(Currency::KWD, &[(&s, Money::from_minor(1_005, Currency::KWD))]);
        // 10 % of 1.005 KWD = 0.1005 → 0.101 (three decimals).
        assert_eq!(kwd.unwrap().lines[0].tax.minor(), 101);
    }
}
