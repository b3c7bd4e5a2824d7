//! Decoding arbitrary bytes as a sync message gives an error, never a panic; a newer
//! protocol version is refused by name; valid messages survive the round trip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dcs_crdt::{Crdt, ReplicaId};
use dcs_sync::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// Valid messages of every kind, with real CRDT deltas and full states.
fn message() -> impl Strategy<Value = Message> {
    let delta = (1u64..50, vec(("[A-Z]{1,6}", 1i64..10_000), 0..4)).prop_map(|(r, prices)| {
        let mut st = ReplicatedState::default();
        let mut d = StateDelta::default();
        for (sku, p) in prices {
            let x = st.set_price(ReplicaId(r), 1_000 + r, &sku, p).unwrap();
            ReplicatedState::join_deltas(&mut d, &x);
            let y = st.list_in_catalog(ReplicaId(r), &sku);
            ReplicatedState::join_deltas(&mut d, &y);
        }
        (d, st)
    });
    let crdt = prop_oneof![
        Just(None),
        (delta.clone(), 0u64..100, 1u64..100).prop_map(|((d, _), from, n)| Some(
            CrdtPayload::Delta { from, upto: from + n, delta: d }
        )),
        (delta, 0u64..100)
            .prop_map(|((_, st), upto)| Some(CrdtPayload::Full { upto, state: Box::new(st) })),
    ];
    prop_oneof![
        (any::<u64>(), crdt.clone(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(batch, crdt, have, hlc, lag)| Message::Push(Push {
                batch,
                items: vec![],
                crdt,
                have,
                hlc,
                lag
            })
        ),
        (any::<u64>(), any::<u64>(), crdt, any::<u64>(), any::<u64>()).prop_map(
            |(batch, durable_pos, crdt, have, hlc)| Message::Ack(Ack {
                batch,
                durable_pos,
                rejected: vec![],
                crdt,
                have,
                hlc
            })
        ),
        (any::<u64>(), any::<u64>())
            .prop_map(|(hlc, lag)| Message::Heartbeat(Heartbeat { hlc, lag })),
        (any::<u8>(), ".{0,40}").prop_map(|(supported_version, reason)| Message::Refuse(Refuse {
            supported_version,
            reason
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_an_error_or_a_valid_message(bytes in vec(any::<u8>(), 0..512)) {
        if let Ok(m) = decode(&bytes) {
            // Whatever decodes re-encodes to a message that decodes to the same value.
            prop_assert_eq!(decode(&encode(&m).unwrap()).unwrap(), m);
        }
    }

    #[test]
    fn bytes_behind_the_current_version_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let mut b = vec![PROTOCOL_VERSION];
        b.extend(bytes);
        let _ = decode(&b);
    }

    #[test]
    fn valid_messages_round_trip(m in message()) {
        let bytes = encode(&m).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap(), m);
    }

    #[test]
    fn mutated_messages_are_an_error_or_a_message(
        m in message(),
        flips in vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode(&m).unwrap();
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x;
        }
        let _ = decode(&bytes);
        let _ = decode(&bytes[..cut.index(bytes.len())]);
    }

    #[test]
    fn any_newer_version_is_refused_by_name(version in (PROTOCOL_VERSION + 1)..=u8::MAX, m in message()) {
        let mut bytes = encode(&m).unwrap();
        bytes[0] = version;
        let err = decode(&bytes).unwrap_err();
        prop_assert_eq!(&err, &SyncError::UnsupportedVersion { got: version, supported: PROTOCOL_VERSION });
        prop_assert!(err.to_string().contains("upgrade"));
    }
}
