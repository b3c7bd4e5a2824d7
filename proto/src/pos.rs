//! `pos.proto` requests as validated commands: every field checked, every error naming its
//! path (`cart.lines[2].quantity`), before a daemon does anything with them.

use dcs_core::commerce::{CustomerId, Discount, RefundId, SaleId, SessionId, Sku, Tender};
use dcs_core::{AgentId, IdempotencyKey, Money};

use crate::ProtoError;
use crate::pb;

/// Most lines of one cart.
pub const MAX_CART_LINES: usize = 500;
/// Most lines of one refund.
pub const MAX_REFUND_LINES: usize = 500;
/// Longest free text (a refund's reason, an inventory reference), in bytes.
pub const MAX_NOTE_LEN: usize = 200;
/// Most events of one `SubmitSealed` call.
pub const MAX_SEALED_EVENTS: usize = 100;
/// Most units of one stock movement (a delivery or an adjustment).
pub const MAX_MOVEMENT_UNITS: i64 = 1_000_000;
/// Longest command idempotency key, in bytes (the daemon appends `/N` per event).
pub const MAX_COMMAND_KEY_LEN: usize = 100;

/// One validated cart line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLineSpec {
    /// The SKU.
    pub sku: Sku,
    /// Units, at least 1.
    pub quantity: u32,
    /// A line discount.
    pub discount: Option<Discount>,
}

/// A validated cart: distinct SKUs, positive quantities, at most [`MAX_CART_LINES`] lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartSpec {
    /// The lines, in order.
    pub lines: Vec<CartLineSpec>,
    /// A discount on the whole cart.
    pub discount: Option<Discount>,
}

/// A validated `OpenSessionRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    /// The command's key.
    pub key: IdempotencyKey,
    /// The session.
    pub session_id: SessionId,
    /// The cashier.
    pub cashier: AgentId,
    /// The opening float (zero or more).
    pub opening_float: Money,
}

/// A validated `CloseSessionRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseSession {
    /// The command's key.
    pub key: IdempotencyKey,
    /// The session.
    pub session_id: SessionId,
    /// The counted cash (zero or more).
    pub counted: Money,
}

/// A validated `SubmitSaleRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitSale {
    /// The command's key.
    pub key: IdempotencyKey,
    /// The open session.
    pub session_id: SessionId,
    /// The sale.
    pub sale_id: SaleId,
    /// What is sold.
    pub cart: CartSpec,
    /// How it is paid.
    pub tender: Tender,
    /// The loyalty customer.
    pub customer: Option<CustomerId>,
}

/// A validated `SubmitRefundRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitRefund {
    /// The command's key.
    pub key: IdempotencyKey,
    /// The open session.
    pub session_id: SessionId,
    /// The sale refunded.
    pub sale_id: SaleId,
    /// The refund.
    pub refund_id: RefundId,
    /// (SKU, units) refunded, each SKU once.
    pub lines: Vec<(Sku, u32)>,
    /// How it is paid back.
    pub tender: Tender,
    /// Why.
    pub reason: String,
}

/// A validated `SubmitInventoryRequest`: units received (positive) or adjusted (non-zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitInventory {
    /// The command's key.
    pub key: IdempotencyKey,
    /// True for a delivery, false for an adjustment.
    pub received: bool,
    /// The SKU.
    pub sku: Sku,
    /// Signed units.
    pub quantity: i64,
    /// The delivery note or the reason.
    pub reference: String,
}

fn key(field: &str, text: String) -> Result<IdempotencyKey, ProtoError> {
    if text.is_empty() || text.len() > MAX_COMMAND_KEY_LEN {
        return Err(ProtoError::invalid(
            field,
            format!(
                "must be 1 to {MAX_COMMAND_KEY_LEN} bytes (one key per command, reused on every retry)"
            ),
        ));
    }
    IdempotencyKey::new(text).map_err(ProtoError::core(field))
}

fn note(field: &str, text: String) -> Result<String, ProtoError> {
    if text.len() > MAX_NOTE_LEN || text.chars().any(char::is_control) {
        return Err(ProtoError::invalid(
            field,
            format!("must be at most {MAX_NOTE_LEN} bytes without control characters"),
        ));
    }
    Ok(text)
}

fn money(field: &str, m: Option<pb::Money>) -> Result<Money, ProtoError> {
    let m = m.ok_or_else(|| ProtoError::missing(field))?;
    Money::try_from(m).map_err(|e| e.at(field))
}

fn non_negative(field: &str, m: Money) -> Result<Money, ProtoError> {
    if m.is_negative() {
        return Err(ProtoError::invalid(field, format!("{m} is negative; give zero or more")));
    }
    Ok(m)
}

/// A tender from its wire value; unspecified and unknown values are refused.
pub fn tender(field: &str, value: i32) -> Result<Tender, ProtoError> {
    match pb::Tender::try_from(value) {
        Ok(pb::Tender::Cash) => Ok(Tender::Cash),
        Ok(pb::Tender::Card) => Ok(Tender::Card),
        Ok(pb::Tender::Mobile) => Ok(Tender::Mobile),
        Ok(pb::Tender::Voucher) => Ok(Tender::Voucher),
        Ok(pb::Tender::Unspecified) | Err(_) => Err(ProtoError::invalid(
            field,
            format!(
                "{value} is not a tender: use TENDER_CASH, TENDER_CARD, TENDER_MOBILE or TENDER_VOUCHER"
            ),
        )),
    }
}

fn discount(field: &str, d: Option<pb::Discount>) -> Result<Option<Discount>, ProtoError> {
    let Some(d) = d else { return Ok(None) };
    match d.kind {
        Some(pb::discount::Kind::PercentBps(bps)) if bps <= 10_000 => {
            Ok(Some(Discount::Percent(bps)))
        }
        Some(pb::discount::Kind::PercentBps(bps)) => Err(ProtoError::invalid(
            &format!("{field}.percent_bps"),
            format!("{bps} is above 10000 (100 %)"),
        )),
        Some(pb::discount::Kind::Amount(m)) => {
            let path = format!("{field}.amount");
            Ok(Some(Discount::Amount(non_negative(&path, money(&path, Some(m))?)?)))
        }
        None => {
            Err(ProtoError::invalid(field, "set percent_bps or amount, or leave the discount out"))
        }
    }
}

fn sku(field: &str, text: String) -> Result<Sku, ProtoError> {
    Sku::new(text).map_err(ProtoError::core(field))
}

fn positive_quantity(field: &str, q: u32) -> Result<u32, ProtoError> {
    if q == 0 {
        return Err(ProtoError::invalid(field, "must be at least 1"));
    }
    Ok(q)
}

/// A cart from `field` (`cart`), validated.
pub fn cart(field: &str, cart: Option<pb::Cart>) -> Result<CartSpec, ProtoError> {
    let cart = cart.ok_or_else(|| ProtoError::missing(field))?;
    if cart.lines.is_empty() || cart.lines.len() > MAX_CART_LINES {
        return Err(ProtoError::invalid(
            &format!("{field}.lines"),
            format!("{} lines: a cart has 1 to {MAX_CART_LINES}", cart.lines.len()),
        ));
    }
    let mut lines: Vec<CartLineSpec> = Vec::with_capacity(cart.lines.len());
    for (i, line) in cart.lines.into_iter().enumerate() {
        let at = format!("{field}.lines[{i}]");
        let sku = sku(&format!("{at}.sku"), line.sku)?;
        if lines.iter().any(|l| l.sku == sku) {
            return Err(ProtoError::invalid(
                &format!("{at}.sku"),
                format!("{sku} is already in the cart: give each SKU one line with its quantity"),
            ));
        }
        let quantity = positive_quantity(&format!("{at}.quantity"), line.quantity)?;
        let discount = discount(&format!("{at}.discount"), line.discount)?;
        lines.push(CartLineSpec { sku, quantity, discount });
    }
    Ok(CartSpec { lines, discount: discount(&format!("{field}.discount"), cart.discount)? })
}

impl TryFrom<pb::OpenSessionRequest> for OpenSession {
    type Error = ProtoError;
    fn try_from(r: pb::OpenSessionRequest) -> Result<Self, ProtoError> {
        Ok(Self {
            key: key("idempotency_key", r.idempotency_key)?,
            session_id: SessionId::new(r.session_id).map_err(ProtoError::core("session_id"))?,
            cashier: crate::convert::agent("cashier", r.cashier)?,
            opening_float: non_negative("opening_float", money("opening_float", r.opening_float)?)?,
        })
    }
}

impl TryFrom<pb::CloseSessionRequest> for CloseSession {
    type Error = ProtoError;
    fn try_from(r: pb::CloseSessionRequest) -> Result<Self, ProtoError> {
        Ok(Self {
            key: key("idempotency_key", r.idempotency_key)?,
            session_id: SessionId::new(r.session_id).map_err(ProtoError::core("session_id"))?,
            counted: non_negative("counted", money("counted", r.counted)?)?,
        })
    }
}

impl TryFrom<pb::SubmitSaleRequest> for SubmitSale {
    type Error = ProtoError;
    fn try_from(r: pb::SubmitSaleRequest) -> Result<Self, ProtoError> {
        Ok(Self {
            key: key("idempotency_key", r.idempotency_key)?,
            session_id: SessionId::new(r.session_id).map_err(ProtoError::core("session_id"))?,
            sale_id: SaleId::new(r.sale_id).map_err(ProtoError::core("sale_id"))?,
            cart: cart("cart", r.cart)?,
            tender: tender("tender", r.tender)?,
            customer: r
                .customer_id
                .map(|c| CustomerId::new(c).map_err(ProtoError::core("customer_id")))
                .transpose()?,
        })
    }
}

impl TryFrom<pb::SubmitRefundRequest> for SubmitRefund {
    type Error = ProtoError;
    fn try_from(r: pb::SubmitRefundRequest) -> Result<Self, ProtoError> {
        if r.lines.is_empty() || r.lines.len() > MAX_REFUND_LINES {
            return Err(ProtoError::invalid(
                "lines",
                format!("{} lines: a refund has 1 to {MAX_REFUND_LINES}", r.lines.len()),
            ));
        }
        let mut lines: Vec<(Sku, u32)> = Vec::with_capacity(r.lines.len());
        for (i, line) in r.lines.into_iter().enumerate() {
            let sku = sku(&format!("lines[{i}].sku"), line.sku)?;
            if lines.iter().any(|(s, _)| *s == sku) {
                return Err(ProtoError::invalid(
                    &format!("lines[{i}].sku"),
                    format!("{sku} appears twice: give each SKU one line"),
                ));
            }
            lines.push((sku, positive_quantity(&format!("lines[{i}].quantity"), line.quantity)?));
        }
        Ok(Self {
            key: key("idempotency_key", r.idempotency_key)?,
            session_id: SessionId::new(r.session_id).map_err(ProtoError::core("session_id"))?,
            sale_id: SaleId::new(r.sale_id).map_err(ProtoError::core("sale_id"))?,
            refund_id: RefundId::new(r.refund_id).map_err(ProtoError::core("refund_id"))?,
            lines,
            tender: tender("tender", r.tender)?,
            reason: note("reason", r.reason)?,
        })
    }
}

impl TryFrom<pb::SubmitInventoryRequest> for SubmitInventory {
    type Error = ProtoError;
    fn try_from(r: pb::SubmitInventoryRequest) -> Result<Self, ProtoError> {
        let received = match pb::InventoryMovement::try_from(r.movement) {
            Ok(pb::InventoryMovement::Received) => true,
            Ok(pb::InventoryMovement::Adjusted) => false,
            _ => {
                return Err(ProtoError::invalid(
                    "movement",
                    "use INVENTORY_MOVEMENT_RECEIVED or INVENTORY_MOVEMENT_ADJUSTED",
                ));
            }
        };
        if r.quantity.unsigned_abs() > MAX_MOVEMENT_UNITS.unsigned_abs() {
            return Err(ProtoError::invalid(
                "quantity",
                format!("at most {MAX_MOVEMENT_UNITS} units per movement; split larger ones"),
            ));
        }
        if (received && r.quantity < 1) || r.quantity == 0 {
            return Err(ProtoError::invalid(
                "quantity",
                if received { "a delivery has at least 1 unit" } else { "an adjustment is not 0" },
            ));
        }
        Ok(Self {
            key: key("idempotency_key", r.idempotency_key)?,
            received,
            sku: sku("sku", r.sku)?,
            quantity: r.quantity,
            reference: note("reference", r.reference)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn usd(minor: i64) -> Option<pb::Money> {
        Some(pb::Money { minor_units: minor, currency_code: "USD".into(), exponent: 2 })
    }

    fn line(sku: &str, quantity: u32) -> pb::CartLine {
        pb::CartLine { sku: sku.into(), quantity, discount: None }
    }

    fn sale(lines: Vec<pb::CartLine>) -> pb::SubmitSaleRequest {
        pb::SubmitSaleRequest {
            idempotency_key: "k-1".into(),
            session_id: "s-1".into(),
            sale_id: "R-1".into(),
            cart: Some(pb::Cart { lines, discount: None }),
            tender: pb::Tender::Cash as i32,
            customer_id: None,
        }
    }

    fn field_of(e: ProtoError) -> String {
        e.field().unwrap_or("").to_string()
    }

    #[test]
    fn a_valid_sale_converts() {
        let s = SubmitSale::try_from(sale(vec![line("MUG", 2), line("TEA", 1)])).unwrap();
        assert_eq!(s.cart.lines.len(), 2);
        assert_eq!(s.tender, Tender::Cash);
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = SubmitSale::try_from(sale(vec![line("MUG", 0)])).unwrap_err();
        assert_eq!(field_of(e), "cart.lines[0].quantity");
        let e = SubmitSale::try_from(sale(vec![line("MUG", 1), line("MUG", 1)])).unwrap_err();
        assert_eq!(field_of(e), "cart.lines[1].sku");
        let e = SubmitSale::try_from(sale(vec![])).unwrap_err();
        assert_eq!(field_of(e), "cart.lines");
        let mut r = sale(vec![line("MUG", 1)]);
        r.tender = 0;
        assert_eq!(field_of(SubmitSale::try_from(r).unwrap_err()), "tender");
        let mut r = sale(vec![line("MUG", 1)]);
        r.idempotency_key = String::new();
        assert_eq!(field_of(SubmitSale::try_from(r).unwrap_err()), "idempotency_key");
        let mut r = sale(vec![line("has space", 1)]);
        r.cart.as_mut().unwrap().discount =
            Some(pb::Discount { kind: Some(pb::discount::Kind::PercentBps(20_000)) });
        assert_eq!(field_of(SubmitSale::try_from(r).unwrap_err()), "cart.lines[0].sku");
        let mut r = sale(vec![line("MUG", 1)]);
        r.cart.as_mut().unwrap().discount = Some(pb::Discount {
            kind: Some(pb::discount::Kind::Amount(pb::Money {
                minor_units: -5,
                currency_code: "USD".into(),
                exponent: 2,
            })),
        });
        assert_eq!(field_of(SubmitSale::try_from(r).unwrap_err()), "cart.discount.amount");
    }

    #[test]
    fn sessions_refunds_and_inventory_are_validated() {
        let open = pb::OpenSessionRequest {
            idempotency_key: "k".into(),
            session_id: "s-1".into(),
            cashier: "cashier-1".into(),
            opening_float: usd(-1),
        };
        assert_eq!(field_of(OpenSession::try_from(open).unwrap_err()), "opening_float");
        let close = pb::CloseSessionRequest {
            idempotency_key: "k".into(),
            session_id: "s-1".into(),
            counted: None,
        };
        assert_eq!(field_of(CloseSession::try_from(close).unwrap_err()), "counted");
        let refund = pb::SubmitRefundRequest {
            idempotency_key: "k".into(),
            session_id: "s-1".into(),
            sale_id: "R-1".into(),
            refund_id: "F-1".into(),
            lines: vec![pb::RefundLine { sku: "MUG".into(), quantity: 0 }],
            tender: pb::Tender::Card as i32,
            reason: "chipped".into(),
        };
        assert_eq!(field_of(SubmitRefund::try_from(refund).unwrap_err()), "lines[0].quantity");
        let inv = pb::SubmitInventoryRequest {
            idempotency_key: "k".into(),
            movement: pb::InventoryMovement::Received as i32,
            sku: "MUG".into(),
            quantity: -3,
            reference: String::new(),
        };
        assert_eq!(field_of(SubmitInventory::try_from(inv.clone()).unwrap_err()), "quantity");
        // Found by the daemon's fuzzer: i64::MIN units overflowed the stock projection.
        let huge = pb::SubmitInventoryRequest { movement: 2, quantity: i64::MIN, ..inv };
        assert_eq!(field_of(SubmitInventory::try_from(huge).unwrap_err()), "quantity");
    }
}
