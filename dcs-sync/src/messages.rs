//! The sync messages exchanged between tiers (postcard on the wire, see [`crate::codec`]).
//!
//! Every message is a plain struct or enum with owned fields, so a protobuf mapping (`sync.proto`)
//! is field-for-field: enums become `oneof`, `Vec` becomes `repeated`, `Option` becomes `optional`.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use dcs_core::commerce::EventBody;
use dcs_core::{BranchId, EventId, EventType, Money, SovereignFinancialEvent, TenantId};
use serde::{Deserialize, Serialize};

use crate::state::{ReplicatedState, StateDelta};

/// The protocol version this build speaks (the first byte of every encoded message). Version 2:
/// the replicated state carries the stores' terminal enrollments ([`ReplicatedState::enrolled`]).
pub const PROTOCOL_VERSION: u8 = 2;

/// A node of the sync topology: the master, a region, or a store's local agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeId {
    /// The central master.
    Master,
    /// A regional node.
    Region(u16),
    /// A store's local agent.
    Store(u32),
}

impl NodeId {
    /// A non-zero 16-byte HLC node id derived from this node id.
    pub fn hlc_node(&self) -> [u8; 16] {
        let mut n = [0u8; 16];
        match *self {
            NodeId::Master => n[0] = 1,
            NodeId::Region(r) => {
                n[0] = 2;
                n[1..3].copy_from_slice(&r.to_le_bytes());
            }
            NodeId::Store(s) => {
                n[0] = 3;
                n[1..5].copy_from_slice(&s.to_le_bytes());
            }
        }
        n
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Master => write!(f, "master"),
            NodeId::Region(r) => write!(f, "region-{r}"),
            NodeId::Store(s) => write!(f, "store-{s}"),
        }
    }
}

/// The stock effect of an inventory event: signed units of a SKU at a branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockEffect {
    /// The branch whose stock moves (the body's branch).
    pub branch: String,
    /// The SKU.
    pub sku: String,
    /// Units: + received / transferred in / adjusted up, − sold / transferred out / adjusted down.
    pub delta: i64,
}

/// What a region tells the master about one accepted event (the master holds no payloads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSummary {
    /// The event's id (the master deduplicates on it).
    pub event_id: EventId,
    /// Tenant.
    pub tenant: TenantId,
    /// Branch that produced it.
    pub branch: BranchId,
    /// Event type.
    pub event_type: EventType,
    /// Visible amount.
    pub amount: Money,
    /// HLC time of the event (NTP64 layout).
    pub hlc: u64,
    /// Stock movement, when the region could open the body and it moves stock.
    pub stock: Option<StockEffect>,
}

impl EventSummary {
    /// Summarises `event`, with the stock effect taken from its opened `body` if given.
    pub fn of(event: &SovereignFinancialEvent, body: Option<&EventBody>) -> Self {
        EventSummary {
            event_id: event.event_id(),
            tenant: event.tenant_id().clone(),
            branch: event.branch_id().clone(),
            event_type: event.event_type(),
            amount: event.amount(),
            hlc: event.causality().hlc.time,
            stock: body.and_then(stock_effect),
        }
    }
}

/// The signed stock effect of a body, if it moves stock.
pub fn stock_effect(body: &EventBody) -> Option<StockEffect> {
    let eff = |b: &BranchId, sku: &dcs_core::commerce::Sku, delta: i64| StockEffect {
        branch: b.as_str().into(),
        sku: sku.as_str().into(),
        delta,
    };
    match body {
        EventBody::InventoryReceived(m) => Some(eff(&m.branch, &m.sku, i64::from(m.quantity))),
        EventBody::InventorySold(m) => Some(eff(&m.branch, &m.sku, -i64::from(m.quantity))),
        EventBody::InventoryTransferredOut(t) => {
            Some(eff(&t.branch, &t.sku, -i64::from(t.quantity)))
        }
        EventBody::InventoryTransferredIn(t) => Some(eff(&t.branch, &t.sku, i64::from(t.quantity))),
        EventBody::InventoryAdjusted(a) => Some(eff(&a.branch, &a.sku, a.delta)),
        _ => None,
    }
}

/// One entry of an uplink outbox: a full event (store → region) or a summary (region → master).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    /// A sealed event with its MAC and signature.
    Event(Box<SovereignFinancialEvent>),
    /// An event summary.
    Summary(EventSummary),
}

impl Item {
    /// The id of the event this item carries or summarises.
    pub fn event_id(&self) -> EventId {
        match self {
            Item::Event(e) => e.event_id(),
            Item::Summary(s) => s.event_id,
        }
    }

    /// The HLC time of a full event (summaries carry their region's clock elsewhere).
    pub fn hlc(&self) -> Option<u64> {
        match self {
            Item::Event(e) => Some(e.causality().hlc.time),
            Item::Summary(_) => None,
        }
    }

    /// The (tenant, idempotency key) pair, for full events.
    pub fn idempotency(&self) -> Option<(String, String)> {
        match self {
            Item::Event(e) => {
                Some((e.tenant_id().as_str().into(), e.idempotency_key().as_str().into()))
            }
            Item::Summary(_) => None,
        }
    }
}

/// An outbox item with its position in the sender's outbox (1, 2, 3, … never reused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positioned {
    /// Position in the sender's durable outbox.
    pub pos: u64,
    /// The item.
    pub item: Item,
}

/// CRDT changes the receiver has not merged yet, as positions of the sender's delta log.
// Delta is the common case; Full is already boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CrdtPayload {
    /// The join of the sender's log entries in `(from, upto]` (the receiver reported `from`).
    Delta {
        /// Log position the receiver said it had.
        from: u64,
        /// Log position this payload brings the receiver to.
        upto: u64,
        /// The joined deltas.
        delta: StateDelta,
    },
    /// The sender's whole durable state (sent when its delta log no longer covers the gap).
    Full {
        /// Log position the state corresponds to.
        upto: u64,
        /// The state.
        state: Box<ReplicatedState>,
    },
}

/// Child → parent: a batch of outbox items plus CRDT deltas; doubles as the periodic sync round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Push {
    /// Batch number (the ack names it).
    pub batch: u64,
    /// Outbox items after the last acknowledged position, in order.
    pub items: Vec<Positioned>,
    /// CRDT changes since the parent's reported log position.
    pub crdt: Option<CrdtPayload>,
    /// How far the sender has durably merged the parent's delta log.
    pub have: u64,
    /// The sender's HLC time.
    pub hlc: u64,
    /// Outbox items not yet acknowledged (the sender's lag).
    pub lag: u64,
}

/// Why an item was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Outbox position of the refused item.
    pub pos: u64,
    /// Its event id.
    pub event_id: EventId,
    /// The verifier's reason.
    pub reason: String,
}

/// Parent → child: the highest durable position plus the CRDT changes the child has not seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// The push this answers.
    pub batch: u64,
    /// Every outbox position up to this one is durably stored (or refused) at the parent.
    pub durable_pos: u64,
    /// Items of the push that were refused (their positions count as handled).
    pub rejected: Vec<Rejection>,
    /// CRDT changes since the child's reported log position.
    pub crdt: Option<CrdtPayload>,
    /// How far the parent has durably merged the child's delta log.
    pub have: u64,
    /// The parent's HLC time.
    pub hlc: u64,
}

/// Liveness beacon of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The sender's HLC time.
    pub hlc: u64,
    /// Outbox items not yet acknowledged.
    pub lag: u64,
}

/// A refusal: the peer's message could not be understood (for example a newer version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refuse {
    /// The highest protocol version the refusing node speaks.
    pub supported_version: u8,
    /// Why.
    pub reason: String,
}

/// A sync message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Child → parent batch.
    Push(Push),
    /// Parent → child acknowledgement.
    Ack(Ack),
    /// Liveness beacon.
    Heartbeat(Heartbeat),
    /// Refusal of an unreadable message.
    Refuse(Refuse),
}

impl Message {
    /// The CRDT payload carried, if any.
    pub fn crdt(&self) -> Option<&CrdtPayload> {
        match self {
            Message::Push(p) => p.crdt.as_ref(),
            Message::Ack(a) => a.crdt.as_ref(),
            _ => None,
        }
    }

    /// The sender's HLC time carried (refusals carry none).
    pub fn hlc(&self) -> Option<u64> {
        match self {
            Message::Push(p) => Some(p.hlc),
            Message::Ack(a) => Some(a.hlc),
            Message::Heartbeat(h) => Some(h.hlc),
            Message::Refuse(_) => None,
        }
    }

    /// Number of outbox items carried.
    pub fn item_count(&self) -> usize {
        match self {
            Message::Push(p) => p.items.len(),
            _ => 0,
        }
    }
}
