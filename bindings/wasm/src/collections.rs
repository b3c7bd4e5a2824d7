//! Set, register and map CRDTs for JS: `ORSet` of strings, `LWWRegister` of strings and
//! `PNCounterMap` (string key → `PNCounter`, e.g. SKU → stock).

use wasm_bindgen::prelude::*;

use crate::args;
use crate::counters::replica;
use crate::crdt_common::crdt_class;
use dcs_crdt::{CrdtError, Hlc, ReplicaId};

crdt_class!(
    #[doc = "An add-wins set of strings (active catalog, open sessions)."]
    ORSet,
    ORSet,
    dcs_crdt::ORSet<String>
);

#[wasm_bindgen(js_class = ORSet)]
impl ORSet {
    /// Adds `element` on behalf of `replica`; returns the delta bytes.
    pub fn add(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] replica: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] element: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let r = self::replica(&replica)?;
        let e = args::text(&element, "element")?;
        Self::delta(Ok(self.inner.add(r, e)))
    }

    /// Removes `element` as observed here (a concurrent add wins); returns the delta bytes.
    pub fn remove(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] element: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let e = args::text(&element, "element")?;
        Self::delta(Ok(self.inner.remove(&e)))
    }

    /// True when `element` is in the set.
    pub fn has(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] element: JsValue,
    ) -> Result<bool, JsError> {
        Ok(self.inner.contains(&args::text(&element, "element")?))
    }

    /// The elements, in sorted order.
    pub fn values(&self) -> Vec<String> {
        self.inner.iter().cloned().collect()
    }

    /// The number of elements.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.len()
    }
}

crdt_class!(
    #[doc = "A last-writer-wins register of a string (a price text, a setting), ordered by HLC time then replica."]
    LWWRegister,
    LWWRegister,
    dcs_crdt::LWWRegister<String>
);

#[wasm_bindgen(js_class = LWWRegister)]
impl LWWRegister {
    /// Writes `value` at HLC `time` by `replica`; returns the delta bytes.
    pub fn set(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] value: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] time: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] replica: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let v = args::text(&value, "value")?;
        let stamp = Hlc::new(args::int_as::<u64>(&time, "time")?, self::replica(&replica)?);
        Self::delta(Ok(self.inner.set(v, stamp)))
    }

    /// The winning value, or `undefined` if nothing was written.
    pub fn get(&self) -> Option<String> {
        self.inner.get().cloned()
    }

    /// The HLC time of the winning write, or `undefined`.
    #[wasm_bindgen(js_name = stampTime, unchecked_return_type = "bigint | undefined")]
    pub fn stamp_time(&self) -> JsValue {
        self.inner.stamp().map_or(JsValue::UNDEFINED, |s| JsValue::from(s.time))
    }

    /// The replica of the winning write, or `undefined`.
    #[wasm_bindgen(js_name = stampReplica, unchecked_return_type = "bigint | undefined")]
    pub fn stamp_replica(&self) -> JsValue {
        self.inner.stamp().map_or(JsValue::UNDEFINED, |s| JsValue::from(s.replica.0))
    }
}

crdt_class!(
    #[doc = "A map of string keys to `PNCounter`s with add-wins keys (SKU → stock)."]
    PNCounterMap,
    PNCounterMap,
    dcs_crdt::ORMap<String, dcs_crdt::PNCounter>
);

#[wasm_bindgen(js_class = PNCounterMap)]
impl PNCounterMap {
    /// Adds `amount` to the counter at `key` on behalf of `replica`; returns the delta bytes.
    pub fn increment(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] replica: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] amount: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        self.update(&replica, &key, &amount, dcs_crdt::PNCounter::increment)
    }

    /// Subtracts `amount` from the counter at `key` on behalf of `replica`; returns the delta bytes.
    pub fn decrement(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] replica: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] amount: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        self.update(&replica, &key, &amount, dcs_crdt::PNCounter::decrement)
    }

    /// Removes `key` as observed here (a concurrent update keeps it); returns the delta bytes.
    pub fn remove(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let k = args::text(&key, "key")?;
        Self::delta(Ok(self.inner.remove(&k)))
    }

    /// The counter value at `key`, or `undefined` if the key is absent.
    #[wasm_bindgen(unchecked_return_type = "bigint | undefined")]
    pub fn get(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<JsValue, JsError> {
        let k = args::text(&key, "key")?;
        Ok(self.inner.get(&k).map_or(JsValue::UNDEFINED, |c| JsValue::from(c.value())))
    }

    /// The present keys, in sorted order.
    pub fn keys(&self) -> Vec<String> {
        self.inner.keys().cloned().collect()
    }

    /// The number of present keys.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.len()
    }
}

impl PNCounterMap {
    /// Applies the counter mutator `op(replica, amount)` at `key`; returns the delta bytes.
    fn update(
        &mut self,
        replica: &JsValue,
        key: &JsValue,
        amount: &JsValue,
        op: fn(&mut dcs_crdt::PNCounter, ReplicaId, u64) -> Result<dcs_crdt::PNCounter, CrdtError>,
    ) -> Result<Vec<u8>, JsError> {
        let (r, k) = (self::replica(replica)?, args::text(key, "key")?);
        let a = args::int_as::<u64>(amount, "amount")?;
        Self::delta(self.inner.update(r, k, |c| op(c, r, a)))
    }
}
