//! The event builder for JS: event ids, the hybrid logical clock and `SovereignFinancialEvent`s.
//!
//! The core is sans-IO, so time and randomness come from the caller: `Date.now()` for wall
//! time and `crypto.getRandomValues` for the random bits of an event id.

use wasm_bindgen::prelude::*;

use crate::args;
use crate::money::Money;
use dcs_core::causality::HlcTimestamp;
use dcs_core::{
    AgentId, BranchId, CausalContext, CorrelationId, EventId, EventType, IdempotencyKey,
    SovereignFinancialEvent, TenantId, VectorClock,
};

/// A new UUIDv7 event id from a Unix time in ms (`Date.now()`) and 10 random bytes.
#[wasm_bindgen(js_name = newEventId)]
pub fn new_event_id(
    #[wasm_bindgen(unchecked_param_type = "bigint | number")] unix_ms: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] random: JsValue,
) -> Result<String, JsError> {
    let ms = args::int_as::<u64>(&unix_ms, "unixMs")?;
    let random = args::byte_array::<10>(&random, "random")?;
    Ok(EventId::new_v7(ms, random).to_string())
}

/// A hybrid logical clock for one agent: never goes backwards, even when the wall clock does.
#[wasm_bindgen]
pub struct HybridClock {
    inner: dcs_core::HybridClock,
}

#[wasm_bindgen]
impl HybridClock {
    /// A clock for the 16-byte `node` id that refuses remote times more than `maxDriftMs` ahead.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] node: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] max_drift_ms: JsValue,
    ) -> Result<HybridClock, JsError> {
        let node = args::byte_array::<16>(&node, "node")?;
        let drift = args::int_as::<u64>(&max_drift_ms, "maxDriftMs")?;
        Ok(HybridClock { inner: dcs_core::HybridClock::new(node, drift).map_err(args::error)? })
    }

    /// A new HLC time for a local event at wall time `wallUnixMs` (`Date.now()`).
    pub fn tick(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] wall_unix_ms: JsValue,
    ) -> Result<u64, JsError> {
        Ok(self.inner.tick(args::int_as::<u64>(&wall_unix_ms, "wallUnixMs")?).time)
    }

    /// Folds in a remote HLC time seen at local wall time `wallUnixMs`; throws if it is too far ahead.
    pub fn observe(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] remote_time: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] remote_node: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] wall_unix_ms: JsValue,
    ) -> Result<(), JsError> {
        let remote = HlcTimestamp {
            time: args::int_as::<u64>(&remote_time, "remoteTime")?,
            node: args::byte_array::<16>(&remote_node, "remoteNode")?,
        };
        let wall = args::int_as::<u64>(&wall_unix_ms, "wallUnixMs")?;
        self.inner.observe(remote, wall).map_err(args::error)
    }

    /// The last HLC time handed out or observed.
    #[wasm_bindgen(getter)]
    pub fn last(&self) -> u64 {
        self.inner.last().time
    }

    /// The clock's 16-byte node id.
    #[wasm_bindgen(getter)]
    pub fn node(&self) -> Vec<u8> {
        self.inner.last().node.to_vec()
    }
}

/// Collects the fields of an event; each setter validates its value, `build` checks the whole.
#[wasm_bindgen]
#[derive(Default)]
pub struct EventBuilder {
    inner: dcs_core::EventBuilder,
}

/// Applies a builder setter in place.
fn with(
    b: &mut EventBuilder,
    f: impl FnOnce(dcs_core::EventBuilder) -> dcs_core::EventBuilder,
) -> Result<(), JsError> {
    b.inner = f(core::mem::take(&mut b.inner));
    Ok(())
}

/// Reads a text argument and parses it with `parse`, mapping its error.
fn parsed<T, E: core::fmt::Display>(
    value: &JsValue,
    what: &str,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<T, JsError> {
    parse(args::text(value, what)?).map_err(args::error)
}

/// Declares builder setters that parse one text argument and hand the value to the core builder.
macro_rules! text_setters {
    ($( $(#[doc = $doc:tt])* $name:ident = $js:ident: $parse:expr, )+) => {
        #[wasm_bindgen]
        impl EventBuilder {
            $(
                $(#[doc = $doc])*
                #[wasm_bindgen(js_name = $js)]
                pub fn $name(
                    &mut self,
                    #[wasm_bindgen(unchecked_param_type = "string")] value: JsValue,
                ) -> Result<(), JsError> {
                    let value = parsed(&value, stringify!($js), $parse)?;
                    with(self, |b| b.$name(value))
                }
            )+
        }
    };
}

text_setters! {
    #[doc = "Sets the event id (required): the text of a UUIDv7, e.g. from `newEventId`."]
    event_id = eventId: |t| EventId::parse(&t),
    #[doc = "Sets the correlation id (defaults to the event id)."]
    correlation_id = correlationId: |t| CorrelationId::parse(&t),
    #[doc = "Sets the idempotency key (required)."]
    idempotency_key = idempotencyKey: IdempotencyKey::new,
    #[doc = "Sets the tenant (required)."]
    tenant_id = tenantId: TenantId::new,
    #[doc = "Sets the branch (required)."]
    branch_id = branchId: BranchId::new,
    #[doc = "Sets the recording agent, e.g. the POS terminal (required)."]
    agent_id = agentId: AgentId::new,
    #[doc = "Sets the event type by name, e.g. `\"SALE_COMPLETED\"` (required)."]
    event_type = eventType: |n| EventType::from_name(&n),
    #[doc = "Sets the creator who signs the event (required)."]
    created_by = createdBy: AgentId::new,
    #[doc = "Sets the approving supervisor (optional; refunds and reversals need one)."]
    approved_by = approvedBy: AgentId::new,
}

#[wasm_bindgen]
impl EventBuilder {
    /// An empty builder.
    #[wasm_bindgen(constructor)]
    pub fn new() -> EventBuilder {
        EventBuilder::default()
    }

    /// Sets the visible amount (required; zero for non-monetary types).
    pub fn amount(&mut self, amount: &Money) -> Result<(), JsError> {
        let m = amount.inner;
        with(self, |b| b.amount(m))
    }

    /// Names the key-encryption key (id and version) that will wrap the payload key (required).
    pub fn kek(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] kek_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] version: JsValue,
    ) -> Result<(), JsError> {
        let id = args::text(&kek_id, "kekId")?;
        let v = args::int_as::<u32>(&version, "kekVersion")?;
        with(self, |b| b.kek(id, v))
    }

    /// Sets the sealed envelope bytes (when rebuilding a sealed event).
    pub fn envelope(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] envelope: JsValue,
    ) -> Result<(), JsError> {
        let bytes = args::bytes(&envelope, "envelope")?;
        with(self, |b| b.envelope(bytes))
    }

    /// Sets the causal context (required): the HLC time from `HybridClock.tick`, the clock's
    /// 16-byte node id and the creator's vector clock as `[agentId, counter]` pairs.
    pub fn causality(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] hlc_time: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] hlc_node: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Array<[string, bigint | number]>")]
        vector_clock: JsValue,
    ) -> Result<(), JsError> {
        let hlc = HlcTimestamp {
            time: args::int_as::<u64>(&hlc_time, "hlcTime")?,
            node: args::byte_array::<16>(&hlc_node, "hlcNode")?,
        };
        let mut clock = VectorClock::new();
        for pair in args::array(&vector_clock, "vectorClock")? {
            let pair = args::array(&pair, "vectorClock entry")?;
            let (Some(agent), Some(counter)) = (pair.first(), pair.get(1)) else {
                return Err(JsError::new("vectorClock entries must be [agentId, counter] pairs"));
            };
            let agent = parsed(agent, "vectorClock agent", AgentId::new)?;
            clock.set(agent, args::int_as::<u64>(counter, "vectorClock counter")?);
        }
        with(self, |b| b.causality(CausalContext { hlc, vector_clock: clock }))
    }

    /// Validates every field and makes the event; the builder keeps its fields.
    pub fn build(&self) -> Result<Event, JsError> {
        Ok(Event { inner: self.inner.clone().build().map_err(args::error)? })
    }
}

/// One immutable financial fact, as built by `EventBuilder` or decoded from bytes.
#[wasm_bindgen]
pub struct Event {
    inner: SovereignFinancialEvent,
}

#[wasm_bindgen]
impl Event {
    /// Decodes and validates an event from `toBytes` (the store's postcard form).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    ) -> Result<Event, JsError> {
        let bytes = args::bytes(&bytes, "event bytes")?;
        // The canonical decoding: bounded, exactly one event, no trailing bytes.
        let inner = SovereignFinancialEvent::from_bytes(&bytes).map_err(args::error)?;
        Ok(Event { inner })
    }

    /// The event in the store's postcard form (what the offline queue keeps).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsError> {
        postcard::to_allocvec(&self.inner).map_err(args::error)
    }

    /// The canonical metadata bytes that get MACed and signed.
    #[wasm_bindgen(js_name = canonicalBytes)]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.inner.canonical_bytes()
    }

    /// The associated data the payload's AEAD binds to.
    #[wasm_bindgen(js_name = aadBytes)]
    pub fn aad_bytes(&self) -> Vec<u8> {
        self.inner.aad_bytes()
    }

    /// The UUIDv7 event id.
    #[wasm_bindgen(getter, js_name = eventId)]
    pub fn event_id(&self) -> String {
        self.inner.event_id().to_string()
    }

    /// The correlation id of the business transaction.
    #[wasm_bindgen(getter, js_name = correlationId)]
    pub fn correlation_id(&self) -> String {
        self.inner.correlation_id().to_string()
    }

    /// The idempotency key.
    #[wasm_bindgen(getter, js_name = idempotencyKey)]
    pub fn idempotency_key(&self) -> String {
        self.inner.idempotency_key().as_str().into()
    }

    /// The tenant.
    #[wasm_bindgen(getter, js_name = tenantId)]
    pub fn tenant_id(&self) -> String {
        self.inner.tenant_id().as_str().into()
    }

    /// The branch.
    #[wasm_bindgen(getter, js_name = branchId)]
    pub fn branch_id(&self) -> String {
        self.inner.branch_id().as_str().into()
    }

    /// The recording agent.
    #[wasm_bindgen(getter, js_name = agentId)]
    pub fn agent_id(&self) -> String {
        self.inner.agent_id().as_str().into()
    }

    /// The event type's name, e.g. `"SALE_COMPLETED"`.
    #[wasm_bindgen(getter, js_name = eventType)]
    pub fn event_type(&self) -> String {
        self.inner.event_type().name().into()
    }

    /// The visible amount.
    #[wasm_bindgen(getter)]
    pub fn amount(&self) -> Money {
        Money { inner: self.inner.amount() }
    }

    /// The HLC time.
    #[wasm_bindgen(getter, js_name = hlcTime)]
    pub fn hlc_time(&self) -> u64 {
        self.inner.causality().hlc.time
    }

    /// The creator.
    #[wasm_bindgen(getter, js_name = createdBy)]
    pub fn created_by(&self) -> String {
        self.inner.audit().created_by.as_str().into()
    }
}
