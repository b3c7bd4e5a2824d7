//! sync.proto ↔ dcs-sync messages: the round trip is the identity, hostile envelopes are
//! errors (never panics), and a newer protocol version is refused by name.

use dcs_core::commerce::body::StockMovement;
use dcs_core::commerce::{EventBody, Sku};
use dcs_core::{BranchId, EventId, EventType, TenantId};
use dcs_crdt::{Crdt, ReplicaId};
use dcs_proto::{ProtoError, decode_sync, encode_sync, pb, sync_from_pb, sync_refusal, sync_to_pb};
use dcs_sync::{
    Ack, CrdtPayload, EventSummary, Heartbeat, Item, Message, NodeId, PROTOCOL_VERSION, Positioned,
    Push, Refuse, Rejection, ReplicatedState, StateDelta, StockEffect,
};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message as _;

use crate::strategies::{event, money, sample};

fn node() -> impl Strategy<Value = NodeId> {
    prop_oneof![
        Just(NodeId::Master),
        any::<u16>().prop_map(NodeId::Region),
        any::<u32>().prop_map(NodeId::Store),
    ]
}

/// A CRDT delta and the state it came from: stock, central prices and catalog entries.
fn crdt() -> impl Strategy<Value = (StateDelta, ReplicatedState)> {
    (1u64..50, vec(("[A-Z]{1,6}", 1i64..10_000, 1u32..100), 0..4)).prop_map(|(r, lines)| {
        let (mut st, mut d) = (ReplicatedState::default(), StateDelta::default());
        for (sku, price, qty) in lines {
            let body = EventBody::InventoryReceived(StockMovement {
                branch: BranchId::new("b1").unwrap(),
                sku: Sku::new(sku.clone()).unwrap(),
                quantity: qty,
            });
            let parts = [
                st.apply_body(ReplicaId(r), "b1", &body).unwrap(),
                st.set_price(ReplicaId(r), 1_000 + r, &sku, price).unwrap(),
                st.list_in_catalog(ReplicaId(r), &sku),
            ];
            for p in &parts {
                ReplicatedState::join_deltas(&mut d, p);
            }
        }
        (d, st)
    })
}

fn payload() -> impl Strategy<Value = Option<CrdtPayload>> {
    prop_oneof![
        Just(None),
        (crdt(), 0u64..100, 1u64..100).prop_map(|((delta, _), from, n)| Some(CrdtPayload::Delta {
            from,
            upto: from + n,
            delta
        })),
        (crdt(), any::<u64>())
            .prop_map(|((_, st), upto)| Some(CrdtPayload::Full { upto, state: Box::new(st) })),
    ]
}

fn summary() -> impl Strategy<Value = EventSummary> {
    (any::<u64>(), money(), prop::option::of(("[a-z0-9-]{1,12}", "[A-Z0-9-]{1,12}", any::<i64>())))
        .prop_map(|(hlc, amount, stock)| EventSummary {
            event_id: EventId::new_v7(1_795_000_000_000 + (hlc >> 40), [hlc as u8; 10]),
            tenant: TenantId::new("acme").unwrap(),
            branch: BranchId::new("store-7").unwrap(),
            event_type: EventType::SaleCompleted,
            amount,
            hlc,
            stock: stock.map(|(branch, sku, delta)| StockEffect { branch, sku, delta }),
        })
}

fn items() -> impl Strategy<Value = Vec<Positioned>> {
    vec(
        (
            any::<u64>(),
            prop_oneof![
                event().prop_map(|e| Item::Event(Box::new(e))),
                summary().prop_map(Item::Summary)
            ],
        )
            .prop_map(|(pos, item)| Positioned { pos, item }),
        0..3,
    )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u64>(), items(), payload(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(batch, items, crdt, have, hlc, lag)| Message::Push(Push {
                batch,
                items,
                crdt,
                have,
                hlc,
                lag
            })
        ),
        (
            any::<u64>(),
            any::<u64>(),
            vec((any::<u64>(), ".{0,20}"), 0..3),
            payload(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(|(batch, durable_pos, rejected, crdt, have, hlc)| {
                let rejected = rejected
                    .into_iter()
                    .map(|(pos, reason)| Rejection { pos, event_id: sample().event_id(), reason })
                    .collect();
                Message::Ack(Ack { batch, durable_pos, rejected, crdt, have, hlc })
            }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(hlc, lag)| Message::Heartbeat(Heartbeat { hlc, lag })),
        (any::<u8>(), ".{0,40}").prop_map(|(supported_version, reason)| Message::Refuse(Refuse {
            supported_version,
            reason
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sync_message_round_trip_is_identity(from in node(), m in message()) {
        let env = sync_to_pb(from, &m).unwrap();
        prop_assert_eq!(env.version, u32::from(PROTOCOL_VERSION));
        let back = sync_from_pb(env).map_err(|e| e.to_string());
        prop_assert_eq!(back, Ok((from, m.clone())));
        let bytes = encode_sync(from, &m).unwrap();
        prop_assert_eq!(decode_sync(&bytes).map_err(|e| e.to_string()), Ok((from, m)));
    }

    #[test]
    fn random_bytes_are_an_error_never_a_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode_sync(&bytes);
    }

    #[test]
    fn mutated_envelopes_are_an_error_or_a_valid_message(
        from in node(),
        m in message(),
        flips in vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
    ) {
        let mut bytes = encode_sync(from, &m).unwrap();
        if bytes.is_empty() { return Ok(()); }
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Ok((f, m2)) = decode_sync(&bytes) {
            // Whatever is accepted is a valid message that survives another trip.
            prop_assert_eq!(decode_sync(&encode_sync(f, &m2).unwrap()).unwrap(), (f, m2));
        }
    }

    #[test]
    fn newer_versions_are_refused_by_name(from in node(), m in message(), v in 2u32..) {
        prop_assume!(v > u32::from(PROTOCOL_VERSION));
        let mut env = sync_to_pb(from, &m).unwrap();
        env.version = v;
        let err = decode_sync(&env.encode_to_vec()).unwrap_err();
        prop_assert_eq!(&err, &ProtoError::UnsupportedVersion { got: v, supported: PROTOCOL_VERSION });
        prop_assert!(err.to_string().contains("upgrade"));
        // The answer is a refusal naming the version this node speaks.
        let answer = sync_refusal(NodeId::Region(0), &err).unwrap();
        let (who, Message::Refuse(r)) = sync_from_pb(answer).unwrap() else {
            return Err(TestCaseError::fail("not a refusal"));
        };
        prop_assert_eq!(who, NodeId::Region(0));
        prop_assert_eq!(r.supported_version, PROTOCOL_VERSION);
    }
}

#[test]
fn bad_fields_are_named() {
    let push = Message::Push(Push {
        batch: 1,
        items: vec![Positioned { pos: 1, item: Item::Event(Box::new(sample())) }],
        crdt: None,
        have: 0,
        hlc: 1,
        lag: 0,
    });
    let good = sync_to_pb(NodeId::Store(3), &push).unwrap();

    let mut env = good.clone();
    env.version = 0;
    assert_eq!(sync_from_pb(env).unwrap_err().field(), Some("version"));

    let mut env = good.clone();
    env.from = Some(pb::SyncNode { node: Some(pb::sync_node::Node::Region(70_000)) });
    assert_eq!(
        sync_from_pb(env).unwrap_err().to_string(),
        "from.node.region: 70000 is larger than 65535"
    );

    let mut env = good.clone();
    env.message = None;
    assert_eq!(sync_from_pb(env).unwrap_err().field(), Some("message"));

    let mut env = good.clone();
    if let Some(pb::sync_envelope::Message::Push(p)) = env.message.as_mut()
        && let Some(pb::sync_item::Item::Event(e)) = p.items[0].item.as_mut()
    {
        e.event_id = vec![1; 3];
    }
    assert_eq!(sync_from_pb(env).unwrap_err().field(), Some("push.items[0].event.event_id"));

    let mut env = good.clone();
    if let Some(pb::sync_envelope::Message::Push(p)) = env.message.as_mut() {
        p.crdt = Some(pb::CrdtPayload {
            payload: Some(pb::crdt_payload::Payload::Delta(pb::CrdtDelta {
                from: 5,
                upto: 5,
                delta: vec![],
            })),
        });
    }
    assert_eq!(sync_from_pb(env).unwrap_err().field(), Some("push.crdt.delta.upto"));

    let mut env = good;
    if let Some(pb::sync_envelope::Message::Push(p)) = env.message.as_mut() {
        p.crdt = Some(pb::CrdtPayload {
            payload: Some(pb::crdt_payload::Payload::Full(pb::CrdtFull {
                upto: 5,
                state: vec![0xff; 9],
            })),
        });
    }
    assert_eq!(sync_from_pb(env).unwrap_err().field(), Some("push.crdt.full.state"));
}
