//! `Product`, `TaxEngine` and `Cart` for JS: a priced cart with discounts and exact tax.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::args;
use crate::money::{Money, currency, rounding};
use dcs_core::commerce::{Sku, TaxPricing, TaxRounding};
use dcs_core::{Discount, TaxPolicy, TaxRate, TaxTable};

/// The TypeScript shape of `Cart.totals()`: every amount is bigint minor units of `currency`.
#[wasm_bindgen(typescript_custom_section)]
const CART_TOTALS_TS: &str = r#"
/** One priced cart line; amounts are minor units of the cart's currency. */
export interface CartTotalsLine {
  sku: string; name: string; quantity: number; unitPrice: bigint;
  lineDiscount: bigint; cartDiscount: bigint; net: bigint; tax: bigint; gross: bigint;
}
/** The tax collected at one rate over the cart. */
export interface CartTaxTotal { name: string; ratePpm: number; taxable: bigint; tax: bigint; }
/** A priced cart: totals, lines and tax per rate; amounts are minor units of `currency`. */
export interface CartTotals {
  currency: string; subtotal: bigint; discount: bigint; net: bigint; tax: bigint; total: bigint;
  lines: CartTotalsLine[]; taxes: CartTaxTotal[];
}
/** One tax rate: a name and parts per million (6.25 % = 62500). */
export interface TaxRateInput { name: string; ppm: number; }
"#;

/// Reads a SKU.
fn sku(value: &JsValue) -> Result<Sku, JsError> {
    Sku::new(args::text(value, "sku")?).map_err(args::error)
}

/// Reads a percentage in basis points (1500 = 15 %).
fn percent(value: &JsValue) -> Result<Discount, JsError> {
    Ok(Discount::Percent(args::int_as::<u32>(value, "basis points")?))
}

/// A catalog product: SKU, name, category, unit price and tax category.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Product {
    inner: dcs_core::Product,
}

#[wasm_bindgen]
impl Product {
    /// Validates and makes a product (price zero or more, non-blank texts, a valid SKU).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] sku: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] category: JsValue,
        unit_price: &Money,
        #[wasm_bindgen(unchecked_param_type = "string")] tax_category: JsValue,
    ) -> Result<Product, JsError> {
        let inner = dcs_core::Product::new(
            &args::text(&sku, "sku")?,
            &args::text(&name, "name")?,
            &args::text(&category, "category")?,
            unit_price.inner,
            &args::text(&tax_category, "tax category")?,
        )
        .map_err(args::error)?;
        Ok(Product { inner })
    }

    /// The SKU.
    #[wasm_bindgen(getter)]
    pub fn sku(&self) -> String {
        self.inner.sku().as_str().into()
    }

    /// The unit price.
    #[wasm_bindgen(getter, js_name = unitPrice)]
    pub fn unit_price(&self) -> Money {
        Money { inner: self.inner.unit_price() }
    }
}

/// Tax rates per tax category and the pricing/rounding policy a checkout uses.
#[wasm_bindgen]
#[derive(Clone, Default)]
pub struct TaxEngine {
    table: TaxTable,
    policy: TaxPolicy,
}

#[wasm_bindgen]
impl TaxEngine {
    /// An engine with no categories; `pricing` is `exclusive` or `inclusive`, `rounding`
    /// `perLine` or `perInvoice`, `mode` a rounding mode name (e.g. `halfUp`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "'exclusive' | 'inclusive'")] pricing: JsValue,
        #[wasm_bindgen(unchecked_param_type = "'perLine' | 'perInvoice'")] rounding: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] mode: JsValue,
    ) -> Result<TaxEngine, JsError> {
        let pricing = match args::text(&pricing, "pricing")?.to_ascii_lowercase().as_str() {
            "exclusive" => TaxPricing::Exclusive,
            "inclusive" => TaxPricing::Inclusive,
            other => {
                return Err(JsError::new(&format!(
                    "unknown pricing {other:?}: use \"exclusive\" or \"inclusive\""
                )));
            }
        };
        let rounding_text = args::text(&rounding, "tax rounding")?;
        let tax_rounding = match rounding_text.to_ascii_lowercase().replace(['_', '-'], "").as_str()
        {
            "perline" => TaxRounding::PerLine,
            "perinvoice" => TaxRounding::PerInvoice,
            _ => {
                return Err(JsError::new(&format!(
                    "unknown tax rounding {rounding_text:?}: use \"perLine\" or \"perInvoice\""
                )));
            }
        };
        let policy = TaxPolicy { pricing, rounding: tax_rounding, mode: self::rounding(&mode)? };
        Ok(TaxEngine { table: TaxTable::new(), policy })
    }

    /// The core engine (for the till's commands).
    pub(crate) fn core(&self) -> dcs_core::TaxEngine {
        dcs_core::TaxEngine::new(self.table.clone(), self.policy)
    }

    /// Sets the rates of `category` (replacing earlier ones); an empty list makes it exempt.
    #[wasm_bindgen(js_name = setRates)]
    pub fn set_rates(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] category: JsValue,
        #[wasm_bindgen(unchecked_param_type = "TaxRateInput[]")] rates: JsValue,
    ) -> Result<(), JsError> {
        let category = args::text(&category, "tax category")?;
        let mut parsed = Vec::new();
        for rate in args::array(&rates, "rates")? {
            let name = args::text(&args::field(&rate, "name", "rate")?, "rate.name")?;
            let ppm = args::int_as::<u32>(&args::field(&rate, "ppm", "rate")?, "rate.ppm")?;
            parsed.push(TaxRate::new(&name, ppm).map_err(args::error)?);
        }
        self.table.set(&category, parsed).map_err(args::error)
    }
}

/// A cart in one currency: product lines, line and cart discounts, priced by a `TaxEngine`.
#[wasm_bindgen]
pub struct Cart {
    inner: dcs_core::Cart,
}

#[wasm_bindgen]
impl Cart {
    /// An empty cart in `currency` (an ISO-4217 code).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] currency: JsValue,
    ) -> Result<Cart, JsError> {
        Ok(Cart { inner: dcs_core::Cart::new(self::currency(&currency)?) })
    }

    /// Adds `quantity` (at least one) of `product`, adding to its line if the SKU is there.
    pub fn add(
        &mut self,
        product: &Product,
        #[wasm_bindgen(unchecked_param_type = "number")] quantity: JsValue,
    ) -> Result<(), JsError> {
        let q = args::int_as::<u32>(&quantity, "quantity")?;
        self.inner.add(product.inner.clone(), q).map_err(args::error)
    }

    /// Removes the line of `sku`.
    pub fn remove(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] sku: JsValue,
    ) -> Result<(), JsError> {
        self.inner.remove(&self::sku(&sku)?).map(drop).map_err(args::error)
    }

    /// Sets the quantity of the line of `sku`; zero removes the line.
    #[wasm_bindgen(js_name = setQuantity)]
    pub fn set_quantity(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] sku: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] quantity: JsValue,
    ) -> Result<(), JsError> {
        let q = args::int_as::<u32>(&quantity, "quantity")?;
        self.inner.set_quantity(&self::sku(&sku)?, q).map_err(args::error)
    }

    /// Gives the line of `sku` a discount of `bps` basis points (1500 = 15 %).
    #[wasm_bindgen(js_name = setLineDiscountPercent)]
    pub fn set_line_discount_percent(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] sku: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] bps: JsValue,
    ) -> Result<(), JsError> {
        let d = percent(&bps)?;
        self.inner.set_line_discount(&self::sku(&sku)?, Some(d)).map_err(args::error)
    }

    /// Gives the line of `sku` a fixed discount of `amount`.
    #[wasm_bindgen(js_name = setLineDiscountAmount)]
    pub fn set_line_discount_amount(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] sku: JsValue,
        amount: &Money,
    ) -> Result<(), JsError> {
        let d = Discount::Amount(amount.inner);
        self.inner.set_line_discount(&self::sku(&sku)?, Some(d)).map_err(args::error)
    }

    /// Removes the discount of the line of `sku`.
    #[wasm_bindgen(js_name = clearLineDiscount)]
    pub fn clear_line_discount(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] sku: JsValue,
    ) -> Result<(), JsError> {
        self.inner.set_line_discount(&self::sku(&sku)?, None).map_err(args::error)
    }

    /// Gives the whole cart a discount of `bps` basis points, allocated over the lines.
    #[wasm_bindgen(js_name = setCartDiscountPercent)]
    pub fn set_cart_discount_percent(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] bps: JsValue,
    ) -> Result<(), JsError> {
        self.inner.set_cart_discount(Some(percent(&bps)?)).map_err(args::error)
    }

    /// Gives the whole cart a fixed discount of `amount`, allocated over the lines.
    #[wasm_bindgen(js_name = setCartDiscountAmount)]
    pub fn set_cart_discount_amount(&mut self, amount: &Money) -> Result<(), JsError> {
        self.inner.set_cart_discount(Some(Discount::Amount(amount.inner))).map_err(args::error)
    }

    /// Removes the cart discount.
    #[wasm_bindgen(js_name = clearCartDiscount)]
    pub fn clear_cart_discount(&mut self) -> Result<(), JsError> {
        self.inner.set_cart_discount(None).map_err(args::error)
    }

    /// The number of lines.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.lines().len()
    }

    /// The core cart (for the till's commands).
    pub(crate) fn core(&self) -> &dcs_core::Cart {
        &self.inner
    }

    /// Prices the cart with `engine`: line discounts, the cart discount, then tax.
    #[wasm_bindgen(unchecked_return_type = "CartTotals")]
    pub fn totals(&self, engine: &TaxEngine) -> Result<JsValue, JsError> {
        let engine = dcs_core::TaxEngine::new(engine.table.clone(), engine.policy);
        let t = self.inner.totals(&engine).map_err(args::error)?;
        let out = Object::new();
        set(&out, "currency", self.inner.currency().code().into())?;
        set(&out, "subtotal", t.totals.subtotal.minor().into())?;
        set(&out, "discount", t.totals.discount.minor().into())?;
        set(&out, "net", t.totals.net.minor().into())?;
        set(&out, "tax", t.totals.tax.minor().into())?;
        set(&out, "total", t.totals.total.minor().into())?;
        let lines = Array::new();
        for l in &t.lines {
            let o = Object::new();
            set(&o, "sku", l.sku.as_str().into())?;
            set(&o, "name", l.name.as_str().into())?;
            set(&o, "quantity", l.quantity.into())?;
            set(&o, "unitPrice", l.unit_price.minor().into())?;
            set(&o, "lineDiscount", l.line_discount.minor().into())?;
            set(&o, "cartDiscount", l.cart_discount.minor().into())?;
            set(&o, "net", l.net.minor().into())?;
            set(&o, "tax", l.tax.minor().into())?;
            set(&o, "gross", l.gross.minor().into())?;
            lines.push(&o);
        }
        set(&out, "lines", lines.into())?;
        let taxes = Array::new();
        for c in &t.taxes {
            let o = Object::new();
            set(&o, "name", c.name.as_str().into())?;
            set(&o, "ratePpm", c.rate_ppm.into())?;
            set(&o, "taxable", c.taxable.minor().into())?;
            set(&o, "tax", c.tax.minor().into())?;
            taxes.push(&o);
        }
        set(&out, "taxes", taxes.into())?;
        Ok(out.into())
    }
}

/// Sets `object[key] = value`.
fn set(object: &Object, key: &str, value: JsValue) -> Result<(), JsError> {
    Reflect::set(object, &JsValue::from_str(key), &value)
        .map(drop)
        .map_err(|_| JsError::new(&format!("cannot set {key} on the totals object")))
}
