//! The sync protocol (`sync.proto`) to and from the dcs-sync messages.
//!
//! Out of dcs-sync ([`sync_to_pb`], [`encode_sync`]) only fails if a CRDT payload cannot be
//! serialized; into dcs-sync ([`sync_from_pb`], [`decode_sync`]) validates every field, names
//! the bad one, and refuses a newer protocol version with [`ProtoError::UnsupportedVersion`],
//! which [`sync_refusal`] turns into the answer for the peer.

use dcs_core::{BranchId, EventId, Money, SovereignFinancialEvent, TenantId};
use dcs_crdt::Crdt;
use dcs_sync::{
    Ack, CrdtPayload, EventSummary, Heartbeat, Item, Message, NodeId, PROTOCOL_VERSION, Positioned,
    Push, Refuse, Rejection, ReplicatedState, StateDelta, StockEffect,
};
use prost::Message as _;

use crate::convert::{event_type_from_wire, id_bytes};
use crate::{ProtoError, pb};

/// Largest encoded sync envelope accepted: dcs-sync's own message limit plus room for the
/// protobuf framing of each item.
pub const MAX_SYNC_MESSAGE_LEN: usize = dcs_sync::MAX_MESSAGE_LEN + 1024 * 1024;

impl From<NodeId> for pb::SyncNode {
    fn from(n: NodeId) -> Self {
        let node = match n {
            NodeId::Master => pb::sync_node::Node::Master(true),
            NodeId::Region(r) => pb::sync_node::Node::Region(u32::from(r)),
            NodeId::Store(s) => pb::sync_node::Node::Store(s),
        };
        pb::SyncNode { node: Some(node) }
    }
}

/// Errors name `node` or `node.region`.
impl TryFrom<pb::SyncNode> for NodeId {
    type Error = ProtoError;
    fn try_from(n: pb::SyncNode) -> Result<Self, ProtoError> {
        match n.node.ok_or_else(|| ProtoError::missing("node"))? {
            pb::sync_node::Node::Master(_) => Ok(NodeId::Master),
            pb::sync_node::Node::Region(r) => u16::try_from(r).map(NodeId::Region).map_err(|_| {
                ProtoError::invalid("node.region", format!("{r} is larger than 65535"))
            }),
            pb::sync_node::Node::Store(s) => Ok(NodeId::Store(s)),
        }
    }
}

fn postcard_bytes<T: serde::Serialize>(field: &str, value: &T) -> Result<Vec<u8>, ProtoError> {
    postcard::to_allocvec(value)
        .map_err(|e| ProtoError::invalid(field, format!("cannot serialize: {e}")))
}

fn from_postcard<T: serde::de::DeserializeOwned>(
    field: &str,
    bytes: &[u8],
) -> Result<T, ProtoError> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| {
        ProtoError::invalid(field, format!("not the postcard encoding of the CRDT value: {e}"))
    })?;
    if !rest.is_empty() {
        return Err(ProtoError::invalid(field, format!("{} trailing bytes", rest.len())));
    }
    Ok(value)
}

fn crdt_to_pb(c: &CrdtPayload) -> Result<pb::CrdtPayload, ProtoError> {
    let payload = match c {
        CrdtPayload::Delta { from, upto, delta } => {
            pb::crdt_payload::Payload::Delta(pb::CrdtDelta {
                from: *from,
                upto: *upto,
                delta: postcard_bytes("crdt.delta.delta", delta)?,
            })
        }
        CrdtPayload::Full { upto, state } => pb::crdt_payload::Payload::Full(pb::CrdtFull {
            upto: *upto,
            state: postcard_bytes("crdt.full.state", state.as_ref())?,
        }),
    };
    Ok(pb::CrdtPayload { payload: Some(payload) })
}

fn crdt_from_pb(c: pb::CrdtPayload) -> Result<CrdtPayload, ProtoError> {
    match c.payload.ok_or_else(|| ProtoError::missing("payload"))? {
        pb::crdt_payload::Payload::Delta(d) => {
            if d.from >= d.upto {
                return Err(ProtoError::invalid(
                    "delta.upto",
                    format!("{} is not above from = {}", d.upto, d.from),
                ));
            }
            let delta: StateDelta = from_postcard("delta.delta", &d.delta)?;
            ReplicatedState::validate_delta(&delta)
                .map_err(|e| ProtoError::invalid("delta.delta", e.to_string()))?;
            Ok(CrdtPayload::Delta { from: d.from, upto: d.upto, delta })
        }
        pb::crdt_payload::Payload::Full(f) => {
            let state: ReplicatedState = from_postcard("full.state", &f.state)?;
            state.validate().map_err(|e| ProtoError::invalid("full.state", e.to_string()))?;
            Ok(CrdtPayload::Full { upto: f.upto, state: Box::new(state) })
        }
    }
}

impl From<&EventSummary> for pb::EventSummary {
    fn from(s: &EventSummary) -> Self {
        pb::EventSummary {
            event_id: s.event_id.as_bytes().to_vec(),
            tenant_id: s.tenant.as_str().into(),
            branch_id: s.branch.as_str().into(),
            event_type: pb::EventType::from(s.event_type).into(),
            amount: Some(s.amount.into()),
            hlc: s.hlc,
            stock: s.stock.as_ref().map(|e| pb::StockEffect {
                branch: e.branch.clone(),
                sku: e.sku.clone(),
                delta: e.delta,
            }),
        }
    }
}

/// Errors name the summary's field (`event_id`, `tenant_id`, `amount.exponent`, …).
impl TryFrom<pb::EventSummary> for EventSummary {
    type Error = ProtoError;
    fn try_from(s: pb::EventSummary) -> Result<Self, ProtoError> {
        let amount = s.amount.ok_or_else(|| ProtoError::missing("amount"))?;
        Ok(EventSummary {
            event_id: event_id("event_id", &s.event_id)?,
            tenant: TenantId::new(s.tenant_id).map_err(ProtoError::core("tenant_id"))?,
            branch: BranchId::new(s.branch_id).map_err(ProtoError::core("branch_id"))?,
            event_type: event_type_from_wire(s.event_type)?,
            amount: Money::try_from(amount).map_err(|e| e.at("amount"))?,
            hlc: s.hlc,
            stock: s.stock.map(|e| StockEffect { branch: e.branch, sku: e.sku, delta: e.delta }),
        })
    }
}

fn event_id(field: &str, bytes: &[u8]) -> Result<EventId, ProtoError> {
    EventId::from_bytes(id_bytes(field, bytes)?).map_err(ProtoError::core(field))
}

fn item_to_pb(p: &Positioned) -> pb::SyncItem {
    let item = match &p.item {
        Item::Event(e) => pb::sync_item::Item::Event(pb::SovereignFinancialEvent::from(&**e)),
        Item::Summary(s) => pb::sync_item::Item::Summary(s.into()),
    };
    pb::SyncItem { pos: p.pos, item: Some(item) }
}

fn item_from_pb(p: pb::SyncItem) -> Result<Positioned, ProtoError> {
    let item = match p.item.ok_or_else(|| ProtoError::missing("item"))? {
        pb::sync_item::Item::Event(e) => {
            Item::Event(Box::new(SovereignFinancialEvent::try_from(e).map_err(|e| e.at("event"))?))
        }
        pb::sync_item::Item::Summary(s) => {
            Item::Summary(EventSummary::try_from(s).map_err(|e| e.at("summary"))?)
        }
    };
    Ok(Positioned { pos: p.pos, item })
}

fn at_index(e: ProtoError, list: &str, i: usize) -> ProtoError {
    e.at(&format!("{list}[{i}]"))
}

/// The envelope of `msg` sent by `from`, at this build's protocol version.
///
/// # Errors
/// [`ProtoError::Invalid`] naming the CRDT field if a payload cannot be serialized.
pub fn sync_to_pb(from: NodeId, msg: &Message) -> Result<pb::SyncEnvelope, ProtoError> {
    use pb::sync_envelope::Message as M;
    let crdt = |c: &Option<CrdtPayload>, at: &str| {
        c.as_ref().map(crdt_to_pb).transpose().map_err(|e: ProtoError| e.at(at))
    };
    let message = match msg {
        Message::Push(p) => M::Push(pb::SyncPush {
            batch: p.batch,
            items: p.items.iter().map(item_to_pb).collect(),
            crdt: crdt(&p.crdt, "push")?,
            have: p.have,
            hlc: p.hlc,
            lag: p.lag,
        }),
        Message::Ack(a) => M::Ack(pb::SyncAck {
            batch: a.batch,
            durable_pos: a.durable_pos,
            rejected: a
                .rejected
                .iter()
                .map(|r| pb::SyncRejection {
                    pos: r.pos,
                    event_id: r.event_id.as_bytes().to_vec(),
                    reason: r.reason.clone(),
                })
                .collect(),
            crdt: crdt(&a.crdt, "ack")?,
            have: a.have,
            hlc: a.hlc,
        }),
        Message::Heartbeat(h) => M::Heartbeat(pb::SyncHeartbeat { hlc: h.hlc, lag: h.lag }),
        Message::Refuse(r) => M::Refuse(pb::SyncRefuse {
            supported_version: u32::from(r.supported_version),
            reason: r.reason.clone(),
        }),
    };
    Ok(pb::SyncEnvelope {
        version: u32::from(PROTOCOL_VERSION),
        from: Some(from.into()),
        message: Some(message),
    })
}

/// The sender and the validated message of an envelope.
///
/// # Errors
/// [`ProtoError::UnsupportedVersion`] for a newer version (answer with [`sync_refusal`]);
/// otherwise the first bad field, by its path (`push.items[3].event.amount`, `ack.crdt…`).
pub fn sync_from_pb(env: pb::SyncEnvelope) -> Result<(NodeId, Message), ProtoError> {
    use pb::sync_envelope::Message as M;
    if env.version < u32::from(PROTOCOL_VERSION) {
        return Err(ProtoError::invalid(
            "version",
            format!(
                "{} is older than this node's sync protocol version {PROTOCOL_VERSION}: upgrade the sender",
                env.version
            ),
        ));
    }
    if env.version > u32::from(PROTOCOL_VERSION) {
        return Err(ProtoError::UnsupportedVersion {
            got: env.version,
            supported: PROTOCOL_VERSION,
        });
    }
    let from = NodeId::try_from(env.from.ok_or_else(|| ProtoError::missing("from"))?)
        .map_err(|e| e.at("from"))?;
    let crdt = |c: Option<pb::CrdtPayload>, at: &str| {
        c.map(crdt_from_pb).transpose().map_err(|e| e.at(&format!("{at}.crdt")))
    };
    let message = match env.message.ok_or_else(|| ProtoError::missing("message"))? {
        M::Push(p) => Message::Push(Push {
            batch: p.batch,
            items: p
                .items
                .into_iter()
                .enumerate()
                .map(|(i, x)| item_from_pb(x).map_err(|e| at_index(e, "push.items", i)))
                .collect::<Result<_, _>>()?,
            crdt: crdt(p.crdt, "push")?,
            have: p.have,
            hlc: p.hlc,
            lag: p.lag,
        }),
        M::Ack(a) => Message::Ack(Ack {
            batch: a.batch,
            durable_pos: a.durable_pos,
            rejected: a
                .rejected
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    Ok(Rejection {
                        pos: r.pos,
                        event_id: event_id("event_id", &r.event_id)?,
                        reason: r.reason,
                    })
                    .map_err(|e: ProtoError| at_index(e, "ack.rejected", i))
                })
                .collect::<Result<_, _>>()?,
            crdt: crdt(a.crdt, "ack")?,
            have: a.have,
            hlc: a.hlc,
        }),
        M::Heartbeat(h) => Message::Heartbeat(Heartbeat { hlc: h.hlc, lag: h.lag }),
        M::Refuse(r) => Message::Refuse(Refuse {
            supported_version: u8::try_from(r.supported_version).map_err(|_| {
                ProtoError::invalid(
                    "refuse.supported_version",
                    format!("{} is larger than 255", r.supported_version),
                )
            })?,
            reason: r.reason,
        }),
    };
    Ok((from, message))
}

/// Encodes `msg` from `from` as a `dcs.v1.SyncEnvelope`.
///
/// # Errors
/// As [`sync_to_pb`].
pub fn encode_sync(from: NodeId, msg: &Message) -> Result<Vec<u8>, ProtoError> {
    Ok(sync_to_pb(from, msg)?.encode_to_vec())
}

/// Decodes and validates a `dcs.v1.SyncEnvelope`; never panics on any input.
///
/// # Errors
/// [`ProtoError::TooLarge`], [`ProtoError::Decode`], or as [`sync_from_pb`].
pub fn decode_sync(bytes: &[u8]) -> Result<(NodeId, Message), ProtoError> {
    if bytes.len() > MAX_SYNC_MESSAGE_LEN {
        return Err(ProtoError::TooLarge { len: bytes.len(), max: MAX_SYNC_MESSAGE_LEN });
    }
    sync_from_pb(pb::SyncEnvelope::decode(bytes)?)
}

/// The answer `me` sends to a peer whose envelope had a protocol version this build does not
/// speak (`None` for any other error: those are the sender's bug, not a version skew).
pub fn sync_refusal(me: NodeId, error: &ProtoError) -> Option<pb::SyncEnvelope> {
    let ProtoError::UnsupportedVersion { .. } = error else { return None };
    let refuse =
        Message::Refuse(Refuse { supported_version: PROTOCOL_VERSION, reason: error.to_string() });
    sync_to_pb(me, &refuse).ok()
}
