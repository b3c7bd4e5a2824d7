//! Money, products, the tax engine and the cart as Python classes (integers only).

use dcs_core::commerce::{
    Cart as CoreCart, CartTotals as CoreTotals, Discount, Product as CoreProduct, Sku,
    TaxEngine as CoreEngine, TaxPolicy, TaxPricing, TaxRate, TaxRounding, TaxTable,
};
use dcs_core::{Currency, Money as CoreMoney, RoundingMode};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::strict_int;
use crate::errors::py;
use pyo3::pyclass::CompareOp;

/// Parses an ISO-4217 code.
pub(crate) fn currency(code: &str) -> PyResult<Currency> {
    Currency::from_code(code).map_err(py)
}

/// An amount of money: integer minor units of an ISO-4217 currency (never a float).
///
/// Amounts of one currency compare and sort (`<`, `sorted`, `max`); comparing amounts of two
/// currencies raises MoneyError, as adding them does. `sum()` works (it starts from 0), and
/// `3 * price` as well as `price * 3`; booleans are refused as amounts and quantities.
#[pyclass(module = "dcs", frozen, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub(crate) inner: CoreMoney,
}

#[pymethods]
impl Money {
    /// `Money(1299, "USD")` is 12.99 USD; `minor` must be an int (a float raises TypeError).
    #[new]
    fn new(minor: &Bound<'_, PyAny>, currency_code: &str) -> PyResult<Self> {
        let minor = strict_int(minor, "minor (the amount in minor units)")?;
        Ok(Self { inner: CoreMoney::from_minor(minor, currency(currency_code)?) })
    }

    /// The amount in minor units.
    #[getter]
    fn minor(&self) -> i64 {
        self.inner.minor()
    }

    /// The ISO-4217 code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.currency().code().to_string()
    }

    fn __add__(&self, other: &Self) -> PyResult<Self> {
        Ok(Self { inner: self.inner.checked_add(other.inner).map_err(py)? })
    }

    fn __sub__(&self, other: &Self) -> PyResult<Self> {
        Ok(Self { inner: self.inner.checked_sub(other.inner).map_err(py)? })
    }

    fn __mul__(&self, quantity: &Bound<'_, PyAny>) -> PyResult<Self> {
        let quantity = strict_int(quantity, "a quantity")?;
        Ok(Self { inner: self.inner.checked_mul(quantity).map_err(py)? })
    }

    fn __rmul__(&self, quantity: &Bound<'_, PyAny>) -> PyResult<Self> {
        self.__mul__(quantity)
    }

    /// `0 + money` is `money`, so `sum(amounts)` works; any other left operand is refused.
    fn __radd__(&self, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !other.is_instance_of::<pyo3::types::PyBool>() && other.extract::<i64>().ok() == Some(0)
        {
            return Ok(*self);
        }
        Err(pyo3::exceptions::PyTypeError::new_err(
            "only Money (or the 0 that sum() starts from) can be added to Money",
        ))
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py_ = other.py();
        let Ok(other) = other.cast::<Money>() else {
            return Ok(py_.NotImplemented());
        };
        let (a, b) = (self.inner, other.get().inner);
        let result = match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => {
                if a.currency() != b.currency() {
                    return Err(py(dcs_core::CoreError::CurrencyMismatch {
                        left: a.currency().code().to_string(),
                        right: b.currency().code().to_string(),
                    }));
                }
                op.matches(a.minor().cmp(&b.minor()))
            }
        };
        Ok(pyo3::types::PyBool::new(py_, result).to_owned().into_any().unbind())
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.hash(&mut h);
        h.finish()
    }

    fn __neg__(&self) -> PyResult<Self> {
        Ok(Self { inner: self.inner.checked_neg().map_err(py)? })
    }

    /// Splits the amount by integer weights into parts that sum exactly to it.
    fn allocate(&self, weights: Vec<u64>) -> PyResult<Vec<Money>> {
        let parts = self.inner.allocate(&weights).map_err(py)?;
        Ok(parts.into_iter().map(|inner| Money { inner }).collect())
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Money({}, {:?})", self.inner.minor(), self.inner.currency().code())
    }
}

/// A catalog product.
#[pyclass(module = "dcs", frozen, from_py_object)]
#[derive(Clone)]
pub struct Product {
    inner: CoreProduct,
}

#[pymethods]
impl Product {
    /// A product: SKU, name, category, unit price and tax category.
    #[new]
    fn new(
        sku: &str,
        name: &str,
        category: &str,
        unit_price: Money,
        tax_category: &str,
    ) -> PyResult<Self> {
        Ok(Self {
            inner: CoreProduct::new(sku, name, category, unit_price.inner, tax_category)
                .map_err(py)?,
        })
    }

    /// The SKU.
    #[getter]
    fn sku(&self) -> String {
        self.inner.sku().to_string()
    }

    /// The unit price.
    #[getter]
    fn unit_price(&self) -> Money {
        Money { inner: self.inner.unit_price() }
    }

    fn __repr__(&self) -> String {
        format!("Product({:?}, {})", self.inner.sku().to_string(), self.inner.unit_price())
    }
}

fn choose<T: Copy>(what: &str, given: &str, options: &[(&str, T)]) -> PyResult<T> {
    options.iter().find(|(name, _)| *name == given).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        PyValueError::new_err(format!("{what} must be one of {names:?}, got {given:?}"))
    })
}

/// Tax rates per category and the policy that applies them.
#[pyclass(module = "dcs")]
pub struct TaxEngine {
    table: TaxTable,
    policy: TaxPolicy,
}

#[pymethods]
impl TaxEngine {
    /// `pricing`: "exclusive"|"inclusive"; `rounding`: "per_line"|"per_invoice"; `mode`: "half_up"|"half_even".
    #[new]
    #[pyo3(signature = (pricing = "exclusive", rounding = "per_line", mode = "half_up"))]
    fn new(pricing: &str, rounding: &str, mode: &str) -> PyResult<Self> {
        let policy = TaxPolicy {
            pricing: choose(
                "pricing",
                pricing,
                &[("exclusive", TaxPricing::Exclusive), ("inclusive", TaxPricing::Inclusive)],
            )?,
            rounding: choose(
                "rounding",
                rounding,
                &[("per_line", TaxRounding::PerLine), ("per_invoice", TaxRounding::PerInvoice)],
            )?,
            mode: choose(
                "mode",
                mode,
                &[("half_up", RoundingMode::HalfUp), ("half_even", RoundingMode::HalfEven)],
            )?,
        };
        Ok(Self { table: TaxTable::new(), policy })
    }

    /// Sets the rates of `category` as (name, parts per million) pairs: 62_500 is 6.25 %.
    fn set_rates(&mut self, category: &str, rates: Vec<(String, u32)>) -> PyResult<()> {
        let rates = rates
            .iter()
            .map(|(n, ppm)| TaxRate::new(n, *ppm))
            .collect::<Result<Vec<_>, _>>()
            .map_err(py)?;
        self.table.set(category, rates).map_err(py)
    }
}

impl TaxEngine {
    fn engine(&self) -> CoreEngine {
        CoreEngine::new(self.table.clone(), self.policy)
    }
}

fn discount(percent_bps: Option<u32>, amount: Option<Money>) -> PyResult<Option<Discount>> {
    match (percent_bps, amount) {
        (Some(_), Some(_)) => Err(PyValueError::new_err("give percent_bps or amount, not both")),
        (Some(p), None) => Ok(Some(Discount::Percent(p))),
        (None, Some(m)) => Ok(Some(Discount::Amount(m.inner))),
        (None, None) => Ok(None),
    }
}

fn sku(s: &str) -> PyResult<Sku> {
    Sku::new(s).map_err(py)
}

/// A shopping cart in one currency.
#[pyclass(module = "dcs")]
pub struct Cart {
    inner: CoreCart,
}

#[pymethods]
impl Cart {
    /// An empty cart in `currency_code`.
    #[new]
    fn new(currency_code: &str) -> PyResult<Self> {
        Ok(Self { inner: CoreCart::new(currency(currency_code)?) })
    }

    /// Adds `quantity` of `product` (merging with an existing line of that SKU).
    fn add(&mut self, product: Product, quantity: u32) -> PyResult<()> {
        self.inner.add(product.inner, quantity).map_err(py)
    }

    /// Removes the line of `sku`.
    fn remove(&mut self, sku_code: &str) -> PyResult<()> {
        self.inner.remove(&sku(sku_code)?).map(|_| ()).map_err(py)
    }

    /// Sets the quantity of the line of `sku`.
    fn set_quantity(&mut self, sku_code: &str, quantity: u32) -> PyResult<()> {
        self.inner.set_quantity(&sku(sku_code)?, quantity).map_err(py)
    }

    /// Sets (or clears, with neither argument) the discount of one line.
    #[pyo3(signature = (sku_code, percent_bps = None, amount = None))]
    fn set_line_discount(
        &mut self,
        sku_code: &str,
        percent_bps: Option<u32>,
        amount: Option<Money>,
    ) -> PyResult<()> {
        self.inner.set_line_discount(&sku(sku_code)?, discount(percent_bps, amount)?).map_err(py)
    }

    /// Sets (or clears, with neither argument) the discount of the whole cart.
    #[pyo3(signature = (percent_bps = None, amount = None))]
    fn set_cart_discount(
        &mut self,
        percent_bps: Option<u32>,
        amount: Option<Money>,
    ) -> PyResult<()> {
        self.inner.set_cart_discount(discount(percent_bps, amount)?).map_err(py)
    }

    /// Number of lines.
    fn __len__(&self) -> usize {
        self.inner.lines().len()
    }

    /// Prices the cart under `engine`.
    fn totals(&self, engine: &TaxEngine) -> PyResult<CartTotals> {
        Ok(CartTotals { inner: self.inner.totals(&engine.engine()).map_err(py)? })
    }
}

/// A priced cart: its totals (what a sale is initiated from).
#[pyclass(module = "dcs", frozen)]
pub struct CartTotals {
    pub(crate) inner: CoreTotals,
}

#[pymethods]
impl CartTotals {
    /// Sum of line amounts before discounts.
    #[getter]
    fn subtotal(&self) -> Money {
        Money { inner: self.inner.totals.subtotal }
    }
    /// All discounts.
    #[getter]
    fn discount(&self) -> Money {
        Money { inner: self.inner.totals.discount }
    }
    /// Net of tax.
    #[getter]
    fn net(&self) -> Money {
        Money { inner: self.inner.totals.net }
    }
    /// Tax.
    #[getter]
    fn tax(&self) -> Money {
        Money { inner: self.inner.totals.tax }
    }
    /// What the customer pays.
    #[getter]
    fn total(&self) -> Money {
        Money { inner: self.inner.totals.total }
    }

    fn __repr__(&self) -> String {
        let t = &self.inner.totals;
        format!(
            "CartTotals(subtotal={}, discount={}, tax={}, total={})",
            t.subtotal, t.discount, t.tax, t.total
        )
    }
}
