//! The products and tax table the store sells with, from its config, at the central prices
//! the master set (replicated down to the store's sync machine) where there are any, and
//! carts priced with the dcs-core engine (so every client gets the same totals).

use std::collections::BTreeMap;
use std::sync::Arc;

use dcs_core::commerce::{Cart, CartTotals, Product, Sku, TaxEngine, TaxPolicy, TaxRate, TaxTable};
use dcs_core::{Currency, Money};
use dcs_proto::pb;
use dcs_proto::pos::CartSpec;

use crate::config::LocalConfig;
use crate::error::{LocalError, Result};

/// The catalog and the tax engine of the store.
#[derive(Clone)]
pub struct Catalog {
    currency: Currency,
    products: BTreeMap<Sku, Product>,
    engine: TaxEngine,
    /// The tax table as configured (category → rates), handed to tills.
    tax: Vec<(String, Vec<(String, u32)>)>,
    central: Option<Arc<crate::sync_machine::SyncMachine>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("products", &self.products.len()).finish_non_exhaustive()
    }
}

impl Catalog {
    /// Builds the catalog of `config`, validating every product and rate.
    pub fn from_config(config: &LocalConfig, currency: Currency) -> Result<Self> {
        let mut table = TaxTable::new();
        for (i, t) in config.tax.iter().enumerate() {
            let rates = t
                .rates
                .iter()
                .map(|(name, ppm)| TaxRate::new(name, *ppm))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| LocalError::Setup(format!("tax[{i}]: {e}")))?;
            table
                .set(&t.category, rates)
                .map_err(|e| LocalError::Setup(format!("tax[{i}]: {e}")))?;
        }
        let mut products = BTreeMap::new();
        for (i, p) in config.products.iter().enumerate() {
            let product = Product::new(
                &p.sku,
                &p.name,
                &p.category,
                Money::from_minor(p.price_minor, currency),
                &p.tax_category,
            )
            .map_err(|e| LocalError::Setup(format!("products[{i}]: {e}")))?;
            products.insert(product.sku().clone(), product);
        }
        Ok(Self {
            currency,
            products,
            engine: TaxEngine::new(table, TaxPolicy::default()),
            tax: config.tax.iter().map(|t| (t.category.clone(), t.rates.clone())).collect(),
            central: None,
        })
    }

    /// This catalog at the central prices of `sync`'s replicated state.
    pub fn with_central(mut self, sync: Arc<crate::sync_machine::SyncMachine>) -> Self {
        self.central = Some(sync);
        self
    }

    /// Every product as sold now (central price over list price).
    fn current(&self) -> BTreeMap<Sku, Product> {
        match &self.central {
            Some(sync) => {
                let m = sync.lock();
                let state = m.state();
                self.products.iter().map(|(k, p)| (k.clone(), state.central_product(p))).collect()
            }
            None => self.products.clone(),
        }
    }

    /// The store's currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Prices `spec`; an unknown SKU names its line.
    pub fn price(&self, spec: &CartSpec) -> Result<CartTotals> {
        let products = self.current();
        let mut cart = Cart::new(self.currency);
        for (i, line) in spec.lines.iter().enumerate() {
            let product = products.get(&line.sku).ok_or_else(|| {
                LocalError::Invalid(format!(
                    "cart.lines[{i}].sku: {} is not in the catalog",
                    line.sku
                ))
            })?;
            cart.add(product.clone(), line.quantity)
                .map_err(|e| LocalError::Invalid(format!("cart.lines[{i}]: {e}")))?;
            if line.discount.is_some() {
                cart.set_line_discount(&line.sku, line.discount)
                    .map_err(|e| LocalError::Invalid(format!("cart.lines[{i}].discount: {e}")))?;
            }
        }
        cart.set_cart_discount(spec.discount)
            .map_err(|e| LocalError::Invalid(format!("cart.discount: {e}")))?;
        Ok(cart.totals(&self.engine)?)
    }

    /// The tax table as tills price with it (the engine's policy is dcs-core's default:
    /// exclusive prices, tax rounded per line, half up).
    pub fn tax_pb(&self) -> Vec<pb::TaxCategory> {
        self.tax
            .iter()
            .map(|(category, rates)| pb::TaxCategory {
                category: category.clone(),
                rates: rates
                    .iter()
                    .map(|(name, ppm)| pb::TaxRateEntry { name: name.clone(), ppm: *ppm })
                    .collect(),
            })
            .collect()
    }

    /// The catalog as terminals see it.
    pub fn to_pb(&self) -> pb::Catalog {
        pb::Catalog {
            products: self
                .current()
                .values()
                .map(|p| pb::CatalogProduct {
                    sku: p.sku().to_string(),
                    name: p.name().to_string(),
                    category: p.category().to_string(),
                    unit_price: Some(pb::Money::from(p.unit_price())),
                    tax_category: p.tax_category().to_string(),
                })
                .collect(),
        }
    }
}

/// A priced cart on the wire.
pub fn priced_to_pb(t: &CartTotals) -> pb::PricedCart {
    let m = |x: Money| Some(pb::Money::from(x));
    pb::PricedCart {
        lines: t
            .lines
            .iter()
            .map(|l| pb::PricedLine {
                sku: l.sku.to_string(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: m(l.unit_price),
                net: m(l.net),
                tax: m(l.tax),
                gross: m(l.gross),
            })
            .collect(),
        subtotal: m(t.totals.subtotal),
        discount: m(t.totals.discount),
        net: m(t.totals.net),
        tax: m(t.totals.tax),
        total: m(t.totals.total),
    }
}
