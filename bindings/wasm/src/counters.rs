//! Counter CRDTs for JS: `GCounter`, `PNCounter` and the escrow `BoundedCounter`.

use wasm_bindgen::prelude::*;

use crate::args;
use crate::crdt_common::crdt_class;
use dcs_crdt::ReplicaId;

/// Reads a replica id (a u64 given as bigint or safe integer).
pub(crate) fn replica(value: &JsValue) -> Result<ReplicaId, JsError> {
    Ok(ReplicaId(args::int_as::<u64>(value, "replica")?))
}

/// Reads a counter step (a u64 given as bigint or safe integer).
fn amount(value: &JsValue) -> Result<u64, JsError> {
    args::int_as::<u64>(value, "amount")
}

/// Declares `(replica, amount)` mutators of a counter class, each returning its delta bytes.
macro_rules! replica_amount_mutators {
    ($wrapper:ident, $js:ident, $( $(#[doc = $doc:tt])* $method:ident ),+) => {
        #[wasm_bindgen(js_class = $js)]
        impl $wrapper {
            $(
                $(#[doc = $doc])*
                pub fn $method(
                    &mut self,
                    #[wasm_bindgen(unchecked_param_type = "bigint | number")] replica: JsValue,
                    #[wasm_bindgen(unchecked_param_type = "bigint | number")] amount: JsValue,
                ) -> Result<Vec<u8>, JsError> {
                    let (r, a) = (self::replica(&replica)?, self::amount(&amount)?);
                    Self::delta(self.inner.$method(r, a))
                }
            )+
        }
    };
}

crdt_class!(
    #[doc = "A grow-only counter (transactions, visits): the sum of every replica's own total."]
    GCounter,
    GCounter,
    dcs_crdt::GCounter
);

replica_amount_mutators!(
    GCounter,
    GCounter,
    #[doc = "Adds `amount` on behalf of `replica`; returns the delta bytes."]
    increment
);

#[wasm_bindgen(js_class = GCounter)]
impl GCounter {
    /// The counter's value.
    #[wasm_bindgen(unchecked_return_type = "bigint")]
    pub fn value(&self) -> JsValue {
        JsValue::from(self.inner.value())
    }
}

crdt_class!(
    #[doc = "An increment/decrement counter (stock quantities); the value may go negative."]
    PNCounter,
    PNCounter,
    dcs_crdt::PNCounter
);

replica_amount_mutators!(
    PNCounter,
    PNCounter,
    #[doc = "Adds `amount` on behalf of `replica`; returns the delta bytes."]
    increment,
    #[doc = "Subtracts `amount` on behalf of `replica`; returns the delta bytes."]
    decrement
);

#[wasm_bindgen(js_class = PNCounter)]
impl PNCounter {
    /// The counter's value (increments − decrements).
    #[wasm_bindgen(unchecked_return_type = "bigint")]
    pub fn value(&self) -> JsValue {
        JsValue::from(self.inner.value())
    }
}

crdt_class!(
    #[doc = "A counter that never goes below zero (limited stock): replicas spend only rights they hold."]
    BoundedCounter,
    BoundedCounter,
    dcs_crdt::BoundedCounter
);

replica_amount_mutators!(
    BoundedCounter,
    BoundedCounter,
    #[doc = "Adds `amount` (and as many rights) to `replica`; returns the delta bytes."]
    increment,
    #[doc = "Spends `amount` of the rights `replica` holds; throws (changing nothing) if it holds fewer."]
    decrement
);

#[wasm_bindgen(js_class = BoundedCounter)]
impl BoundedCounter {
    /// Moves `amount` rights from `from` (the caller) to `to`; returns the delta bytes.
    pub fn transfer(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] from: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] to: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] amount: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let (f, t, a) = (replica(&from)?, replica(&to)?, self::amount(&amount)?);
        Self::delta(self.inner.transfer(f, t, a))
    }

    /// The counter's value (never negative).
    #[wasm_bindgen(unchecked_return_type = "bigint")]
    pub fn value(&self) -> JsValue {
        JsValue::from(self.inner.value())
    }

    /// The rights `replica` holds here: what it may still decrement or transfer.
    #[wasm_bindgen(unchecked_return_type = "bigint")]
    pub fn rights(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] replica: JsValue,
    ) -> Result<JsValue, JsError> {
        Ok(JsValue::from(self.inner.rights(self::replica(&replica)?)))
    }
}
