//! The methods every CRDT class shares: construct, bytes round trip, merge, deltas, equality.

/// Declares a JS class `$js` wrapping the CRDT `$inner` with the shared methods.
///
/// Deltas cross the boundary as bytes (the versioned canonical encoding of dcs-crdt), so they
/// can be queued, sent and joined without a JS class per delta type.
macro_rules! crdt_class {
    ($(#[doc = $doc:tt])* $wrapper:ident, $js:ident, $inner:ty) => {
        $(#[doc = $doc])*
        #[wasm_bindgen::prelude::wasm_bindgen(js_name = $js)]
        #[derive(Clone, Default)]
        pub struct $wrapper {
            inner: $inner,
        }

        #[wasm_bindgen::prelude::wasm_bindgen(js_class = $js)]
        impl $wrapper {
            #[doc = "An empty state."]
            #[wasm_bindgen::prelude::wasm_bindgen(constructor)]
            pub fn new() -> $wrapper {
                $wrapper::default()
            }

            #[doc = "Decodes and validates a state written by `toBytes` (in any binding or in Rust)."]
            #[wasm_bindgen::prelude::wasm_bindgen(js_name = fromBytes)]
            pub fn from_bytes(
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: wasm_bindgen::JsValue,
            ) -> Result<$wrapper, wasm_bindgen::JsError> {
                let bytes = $crate::args::bytes(&bytes, "state bytes")?;
                let inner = dcs_crdt::decode_state::<$inner>(&bytes).map_err($crate::args::error)?;
                Ok($wrapper { inner })
            }

            #[doc = "The canonical bytes of the state: equal states give equal bytes."]
            #[wasm_bindgen::prelude::wasm_bindgen(js_name = toBytes)]
            pub fn to_bytes(&self) -> Result<Vec<u8>, wasm_bindgen::JsError> {
                dcs_crdt::encode(&self.inner).map_err($crate::args::error)
            }

            #[doc = "Joins the full state `other` into this one."]
            pub fn merge(&mut self, other: &$wrapper) {
                dcs_crdt::Crdt::merge(&mut self.inner, &other.inner);
            }

            #[doc = "Joins a delta (bytes returned by a mutator or by `joinDeltas`) into this state."]
            #[wasm_bindgen::prelude::wasm_bindgen(js_name = applyDelta)]
            pub fn apply_delta(
                &mut self,
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")] delta: wasm_bindgen::JsValue,
            ) -> Result<(), wasm_bindgen::JsError> {
                let bytes = $crate::args::bytes(&delta, "delta bytes")?;
                let delta = dcs_crdt::decode_delta::<$inner>(&bytes).map_err($crate::args::error)?;
                dcs_crdt::Crdt::apply_delta(&mut self.inner, &delta);
                Ok(())
            }

            #[doc = "Joins two deltas into one group to ship as one (bytes in, bytes out)."]
            #[wasm_bindgen::prelude::wasm_bindgen(js_name = joinDeltas)]
            pub fn join_deltas(
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")] a: wasm_bindgen::JsValue,
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")] b: wasm_bindgen::JsValue,
            ) -> Result<Vec<u8>, wasm_bindgen::JsError> {
                let a = $crate::args::bytes(&a, "first delta")?;
                let b = $crate::args::bytes(&b, "second delta")?;
                let mut joined =
                    dcs_crdt::decode_delta::<$inner>(&a).map_err($crate::args::error)?;
                let b = dcs_crdt::decode_delta::<$inner>(&b).map_err($crate::args::error)?;
                <$inner as dcs_crdt::Crdt>::join_deltas(&mut joined, &b);
                dcs_crdt::encode(&joined).map_err($crate::args::error)
            }

            #[doc = "True when both states are equal."]
            pub fn equals(&self, other: &$wrapper) -> bool {
                self.inner == other.inner
            }

            #[doc = "An independent copy of the state."]
            #[wasm_bindgen::prelude::wasm_bindgen(js_name = clone)]
            pub fn copy(&self) -> $wrapper {
                self.clone()
            }
        }

        impl $wrapper {
            #[doc = "Encodes a delta returned by a mutator of the inner type."]
            #[allow(dead_code)]
            fn delta<D: serde::Serialize>(
                delta: Result<D, dcs_crdt::CrdtError>,
            ) -> Result<Vec<u8>, wasm_bindgen::JsError> {
                let delta = delta.map_err($crate::args::error)?;
                dcs_crdt::encode(&delta).map_err($crate::args::error)
            }
        }
    };
}

pub(crate) use crdt_class;
