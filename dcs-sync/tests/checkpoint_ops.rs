//! A batch's compacted checkpoint changes (`PersistBatch::checkpoint_ops`) replay to the same
//! checkpoint as every write's own change replayed in order, from any starting checkpoint, and
//! a push's accepted items from one child log one inbox entry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use dcs_core::EventId;
use dcs_crdt::ReplicaId;
use dcs_sync::*;
use proptest::collection::vec;
use proptest::prelude::*;

fn node(n: u8) -> NodeId {
    match n % 3 {
        0 => NodeId::Store(u32::from(n)),
        1 => NodeId::Region(u16::from(n)),
        _ => NodeId::Master,
    }
}

/// Writes of every kind that change a checkpoint (outbox appends change only the HLC).
fn write() -> impl Strategy<Value = WriteOp> {
    let delta = (1u64..20, "[A-Z]{1,4}", 1i64..1_000).prop_map(|(r, sku, p)| {
        let mut st = ReplicatedState::default();
        Arc::new(st.set_price(ReplicaId(r), 1_000 + r, &sku, p).unwrap())
    });
    prop_oneof![
        (0u64..10_000).prop_map(|last| WriteOp::Hlc { last }),
        (0u8..6, 0u64..500).prop_map(|(n, pos)| WriteOp::Reject {
            from: node(n),
            pos,
            event_id: EventId::new_v7(1_000 + pos, [n; 10]),
            reason: "bad signature".into(),
        }),
        (0u64..500).prop_map(|upto| WriteOp::Acked { upto, rejected: vec![] }),
        (proptest::option::of(0u8..6), 0u64..100, delta.clone(), 0u64..200).prop_map(
            |(from, have, delta, seq)| WriteOp::Delta { from: from.map(node), have, delta, seq }
        ),
    ]
}

proptest! {
    #[test]
    fn compacted_ops_replay_to_the_same_checkpoint(
        before in vec(write(), 0..20),
        ops in vec(write(), 0..60),
    ) {
        let mut start = Checkpoint::default();
        for op in &before {
            start.apply(op);
        }
        let batch = PersistBatch { token: 1, ops };
        let (mut each, mut compact) = (start.clone(), start);
        for op in &batch.ops {
            if let Some(c) = op.checkpoint_op() {
                each.apply_logged(&c);
            }
        }
        let logged = batch.checkpoint_ops();
        for c in &logged {
            compact.apply_logged(c);
        }
        prop_assert_eq!(each, compact);
        let every = batch.ops.iter().filter(|o| o.checkpoint_op().is_some()).count();
        prop_assert!(logged.len() <= every);
    }
}

#[test]
fn a_push_from_one_child_logs_one_inbox_entry() {
    let from = NodeId::Store(4);
    let ops = (1..=256)
        .map(|pos| WriteOp::Reject {
            from,
            pos,
            event_id: EventId::new_v7(1_000 + pos, [1; 10]),
            reason: "revoked".into(),
        })
        .chain([WriteOp::Hlc { last: 9 }, WriteOp::Hlc { last: 7 }])
        .collect();
    let logged = PersistBatch { token: 3, ops }.checkpoint_ops();
    assert_eq!(logged, vec![CheckpointOp::Hlc(9), CheckpointOp::Inbox { from, pos: 256 }]);
}
