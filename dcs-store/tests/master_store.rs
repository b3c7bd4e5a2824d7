//! The master's SQLite store under a real `MasterMachine`: summaries kept once (by event id,
//! whatever position or region re-sends them), hourly sales and stock that add up exactly, a
//! restart from the file, refusals of what a master does not take (full events, outbox
//! writes, sums past 64 bits) that write nothing, the region registry, foreign files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use dcs_core::causality::unix_ms_to_ntp64;
use dcs_core::{BranchId, Currency, EventId, EventType, Money, TenantId};
use dcs_crdt::ReplicaId;
use dcs_store::StoreError;
use dcs_store::sqlite::{
    BranchRow, MasterStore, RegionReplicaStore, SalesRow, SqliteStore, StockRow,
};
use dcs_sync::{
    Ack, EventSummary, Item, LivenessConfig, MasterConfig, MasterMachine, Message, NodeId, Now,
    Outcome, PersistBatch, Positioned, Push, Restored, StockEffect, SyncConfig, SyncStore, WriteOp,
};
use proptest::prelude::*;

const R3: NodeId = NodeId::Region(3);
const R4: NodeId = NodeId::Region(4);
const BASE_MS: u64 = 1_795_600_000_000;
/// The first hour of the test events (hours since the Unix epoch).
const H: u64 = 498_778;

fn now(ms: u64) -> Now {
    Now { mono_ms: ms, wall_ms: BASE_MS + ms }
}

fn config() -> MasterConfig {
    MasterConfig {
        regions: vec![R3, R4],
        replica: ReplicaId(1),
        sync: SyncConfig::default(),
        liveness: LivenessConfig::default(),
    }
}

/// Unix ms of minute `min` of hour `hour` (whole seconds: exact through NTP64).
fn at(hour: u64, min: u64) -> u64 {
    hour * 3_600_000 + min * 60_000
}

fn id(seq: u64) -> EventId {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&seq.to_be_bytes());
    EventId::new_v7(BASE_MS + seq, random)
}

/// A summary; `stock` is (SKU, delta) at the summary's branch.
fn summary(
    seq: u64,
    tenant: &str,
    branch: &str,
    event_type: EventType,
    amount: Money,
    unix_ms: u64,
    stock: Option<(&str, i64)>,
) -> EventSummary {
    EventSummary {
        event_id: id(seq),
        tenant: TenantId::new(tenant).unwrap(),
        branch: BranchId::new(branch).unwrap(),
        event_type,
        amount,
        hlc: unix_ms_to_ntp64(unix_ms),
        stock: stock.map(|(sku, delta)| StockEffect {
            branch: branch.into(),
            sku: sku.into(),
            delta,
        }),
    }
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// The store, recording the outcome of every accepted item.
struct Recording<'a> {
    store: &'a mut MasterStore,
    outcomes: Vec<Outcome>,
    accepts: usize,
}

impl SyncStore for Recording<'_> {
    type Error = StoreError;

    fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>, StoreError> {
        let out = self.store.persist(batch)?;
        self.accepts += batch.accepts();
        self.outcomes.extend(out.iter().cloned());
        Ok(out)
    }

    fn read_outbox(&mut self, after: u64, max: usize) -> Result<Vec<Positioned>, StoreError> {
        self.store.read_outbox(after, max)
    }

    fn load(&mut self) -> Result<Restored, StoreError> {
        self.store.load()
    }
}

/// `from` pushes `items` (position, summary) as batch `batch`; the machine's writes go to
/// `host`; returns the master's ack.
fn push(
    m: &mut MasterMachine,
    host: &mut impl SyncStore<Error = StoreError>,
    t: u64,
    from: NodeId,
    batch: u64,
    items: Vec<(u64, Item)>,
) -> Result<Ack, dcs_sync::PumpError<StoreError>> {
    let items = items.into_iter().map(|(pos, item)| Positioned { pos, item }).collect();
    let msg =
        Push { batch, items, crdt: None, have: 0, hlc: unix_ms_to_ntp64(BASE_MS + t), lag: 0 };
    m.handle_message(now(t), from, Message::Push(msg)).unwrap();
    dcs_sync::pump(now(t), m, host)?;
    let mut ack = None;
    while let Some((to, msg)) = m.poll_transmit() {
        if let (true, Message::Ack(a)) = (to == from, msg) {
            ack = Some(a);
        }
    }
    Ok(ack.expect("the master acknowledges the push"))
}

fn summaries(items: &[(u64, EventSummary)]) -> Vec<(u64, Item)> {
    items.iter().map(|(p, s)| (*p, Item::Summary(s.clone()))).collect()
}

/// The known set: region 3 positions 1..=5, region 4 position 1.
/// Summaries at their positions in a region's outbox.
type Pushed = Vec<(u64, EventSummary)>;

fn known() -> (Pushed, Pushed) {
    use EventType::{InventoryReceived, SaleCompleted};
    let r3 = vec![
        (1, summary(1, "t1", "b1", SaleCompleted, usd(1_000), at(H, 5), None)),
        (2, summary(2, "t1", "b1", SaleCompleted, usd(250), at(H, 15), Some(("SKU-A", -2)))),
        (
            3,
            summary(
                3,
                "t1",
                "b1",
                SaleCompleted,
                Money::from_minor(500, Currency::EUR),
                at(H, 59),
                None,
            ),
        ),
        (4, summary(4, "t1", "b2", InventoryReceived, usd(0), at(H, 0), Some(("SKU-A", 10)))),
        (5, summary(5, "t2", "b9", SaleCompleted, usd(700), at(H + 1, 0), Some(("SKU-Z", -1)))),
    ];
    let r4 =
        vec![(1, summary(6, "t1", "b1", SaleCompleted, usd(300), at(H, 30), Some(("SKU-A", 5))))];
    (r3, r4)
}

/// A sales row: ((tenant, region, branch, hour), type, currency, (count, amount)).
fn row(
    (tenant, region, branch, hour): (&str, u32, &str, u64),
    event_type: EventType,
    currency: &str,
    (count, amount_minor): (u64, i64),
) -> SalesRow {
    SalesRow {
        tenant: tenant.into(),
        region,
        branch: branch.into(),
        hour,
        event_type,
        currency: currency.into(),
        count,
        amount_minor,
    }
}

fn known_sales() -> Vec<SalesRow> {
    use EventType::{InventoryReceived, SaleCompleted};
    vec![
        row(("t1", 3, "b1", H), SaleCompleted, "EUR", (1, 500)),
        row(("t1", 3, "b1", H), SaleCompleted, "USD", (2, 1_250)),
        row(("t1", 3, "b2", H), InventoryReceived, "USD", (1, 0)),
        row(("t1", 4, "b1", H), SaleCompleted, "USD", (1, 300)),
        row(("t2", 3, "b9", H + 1), SaleCompleted, "USD", (1, 700)),
    ]
}

fn stock_row(tenant: &str, branch: &str, sku: &str, on_hand: i64) -> StockRow {
    StockRow { tenant: tenant.into(), branch: branch.into(), sku: sku.into(), on_hand }
}

fn known_stock() -> Vec<StockRow> {
    vec![
        stock_row("t1", "b1", "SKU-A", 3),
        stock_row("t1", "b2", "SKU-A", 10),
        stock_row("t2", "b9", "SKU-Z", -1),
    ]
}

/// Every summary id, paging `page` at a time.
fn all_ids(s: &MasterStore, page: usize) -> Vec<(u64, EventId, u32)> {
    let mut out: Vec<(u64, EventId, u32)> = Vec::new();
    loop {
        let after = out.last().map_or(0, |r| r.0);
        let next = s.summary_ids(after, page).unwrap();
        if next.is_empty() {
            return out;
        }
        assert!(next.len() <= page);
        out.extend(next);
    }
}

#[test]
fn summaries_are_kept_once_and_sales_and_stock_add_up_exactly() {
    let mut store = MasterStore::open_in_memory().unwrap();
    let mut m = MasterMachine::new(config(), now(0), 1).unwrap();
    let (r3, r4) = known();
    let mut host = Recording { store: &mut store, outcomes: Vec::new(), accepts: 0 };
    let ack = push(&mut m, &mut host, 10, R3, 1, summaries(&r3)).unwrap();
    assert_eq!(ack.durable_pos, 5);
    assert!(ack.rejected.is_empty());
    let ack = push(&mut m, &mut host, 20, R4, 1, summaries(&r4)).unwrap();
    assert_eq!(ack.durable_pos, 1);
    assert_eq!(host.outcomes, vec![Outcome::Stored { forwarded: None }; 6]);
    // Region 3 re-sends everything (its ack was lost): the machine drops the known positions.
    let ack = push(&mut m, &mut host, 30, R3, 2, summaries(&r3)).unwrap();
    assert_eq!(ack.durable_pos, 5);
    assert_eq!(host.accepts, 6, "no position the master holds is written again");
    // The same summaries at new positions (region 3 lost its outbox; region 4 relays one of
    // region 3's): duplicates, by event id.
    let again = vec![(6, r3[1].1.clone()), (7, r3[4].1.clone())];
    let ack = push(&mut m, &mut host, 40, R3, 3, summaries(&again)).unwrap();
    assert_eq!(ack.durable_pos, 7);
    let ack = push(&mut m, &mut host, 50, R4, 2, summaries(&[(2, r3[0].1.clone())])).unwrap();
    assert_eq!(ack.durable_pos, 2);
    assert_eq!(host.outcomes[6..], [Outcome::Duplicate, Outcome::Duplicate, Outcome::Duplicate]);
    assert_eq!(m.stats().duplicates, 3 + 5, "3 by event id (store), 5 by position (machine)");

    assert_eq!(store.summary_count().unwrap(), 6);
    let ids = all_ids(&store, 4);
    assert_eq!(ids.len(), 6);
    let mut want: Vec<(EventId, u32)> =
        r3.iter().map(|(_, s)| (s.event_id, 3)).chain([(r4[0].1.event_id, 4)]).collect();
    let mut got: Vec<(EventId, u32)> = ids.iter().map(|r| (r.1, r.2)).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(ids.windows(2).all(|w| w[0].0 < w[1].0), "row order");

    assert_eq!(store.sales(None, 0, u64::MAX, 100).unwrap(), known_sales());
    assert_eq!(store.sales(None, 0, u64::MAX, 2).unwrap(), known_sales()[..2]);
    // The stores (branches) per region: each event once, the newest event's time.
    let b = |tenant: &str, region: u32, branch: &str, events: u64, last_event_ms: u64| BranchRow {
        tenant: tenant.into(),
        region,
        branch: branch.into(),
        events,
        last_event_ms,
    };
    assert_eq!(
        store.branches(None, 100).unwrap(),
        vec![
            b("t1", 3, "b1", 3, at(H, 59)),
            b("t1", 3, "b2", 1, at(H, 0)),
            b("t2", 3, "b9", 1, at(H + 1, 0)),
            b("t1", 4, "b1", 1, at(H, 30)),
        ]
    );
    assert_eq!(store.branches(Some("t2"), 100).unwrap(), vec![b("t2", 3, "b9", 1, at(H + 1, 0))]);
    assert_eq!(store.branches(None, 1).unwrap().len(), 1);
    assert_eq!(store.sales(Some("t1"), H, H + 1, 100).unwrap(), known_sales()[..4]);
    assert_eq!(store.sales(Some("t1"), H + 1, H + 2, 100).unwrap(), []);
    assert_eq!(store.sales(None, H + 1, H + 2, 100).unwrap(), known_sales()[4..]);
    assert_eq!(store.sales(Some("nobody"), 0, u64::MAX, 100).unwrap(), []);
    assert_eq!(store.stock(None, 100).unwrap(), known_stock());
    assert_eq!(store.stock(Some("t2"), 100).unwrap(), known_stock()[2..]);
    assert_eq!(store.stock(None, 1).unwrap(), known_stock()[..1]);
    assert_eq!(store.tenants().unwrap(), ["t1", "t2"]);
    assert_eq!(store.read_outbox(0, 10).unwrap(), []);
}

#[test]
fn a_reopened_file_restores_the_machine_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.db");
    let mut store = MasterStore::open(&path).unwrap();
    let mut m = MasterMachine::new(config(), now(0), 1).unwrap();
    m.set_price(now(0), "MUG", 1_299).unwrap();
    m.list_in_catalog(now(0), "MUG");
    dcs_sync::pump(now(0), &mut m, &mut store).unwrap();
    let (r3, r4) = known();
    push(&mut m, &mut store, 10, R3, 1, summaries(&r3)).unwrap();
    push(&mut m, &mut store, 20, R4, 1, summaries(&r4)).unwrap();
    // Enough summaries from region 4 that the checkpoint log is folded into its row.
    let many: Vec<(u64, EventSummary)> = (0..1_100u64)
        .map(|k| {
            let s = summary(100 + k, "t3", "b3", EventType::SaleCompleted, usd(1), at(H, 0), None);
            (2 + k, s)
        })
        .collect();
    for (b, chunk) in many.chunks(300).enumerate() {
        push(&mut m, &mut store, 30 + b as u64, R4, 2 + b as u64, summaries(chunk)).unwrap();
    }
    let state = m.state().clone();
    assert!(dir.path().join("master.db-wal").exists(), "the file is in WAL mode");
    let restored = store.load().unwrap();
    drop((m, store));

    let mut store = MasterStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), restored, "the same checkpoint from the file");
    let mut m = MasterMachine::restore(config(), store.load().unwrap(), now(100), 2).unwrap();
    assert_eq!(m.state(), &state);
    assert_eq!(m.state().price("MUG"), Some(1_299));
    assert_eq!(store.summary_count().unwrap(), 6 + 1_100);
    let mut sales = known_sales();
    sales.insert(4, row(("t3", 4, "b3", H), EventType::SaleCompleted, "USD", (1_100, 1_100)));
    assert_eq!(store.sales(None, 0, u64::MAX, 100).unwrap(), sales);
    assert_eq!(store.stock(None, 100).unwrap(), known_stock());
    assert_eq!(store.tenants().unwrap(), ["t1", "t2", "t3"]);
    // The restored machine knows what it holds: a re-sent push writes nothing new.
    let mut host = Recording { store: &mut store, outcomes: Vec::new(), accepts: 0 };
    let ack = push(&mut m, &mut host, 200, R3, 9, summaries(&r3)).unwrap();
    assert_eq!(ack.durable_pos, 5);
    assert_eq!(host.accepts, 0);
    let next = summary(9_999, "t1", "b1", EventType::SaleCompleted, usd(1), at(H, 1), None);
    let ack = push(&mut m, &mut host, 210, R3, 10, summaries(&[(6, next)])).unwrap();
    assert_eq!(ack.durable_pos, 6);
    assert_eq!(host.outcomes, [Outcome::Stored { forwarded: None }]);
    assert_eq!(store.summary_count().unwrap(), 6 + 1_100 + 1);
}

#[test]
fn a_full_event_is_refused_and_nothing_of_its_batch_is_written() {
    let mut store = MasterStore::open_in_memory().unwrap();
    let mut m = MasterMachine::new(config(), now(0), 1).unwrap();
    let (r3, _) = known();
    push(&mut m, &mut store, 10, R3, 1, summaries(&r3[..1])).unwrap();
    let before = (store.load().unwrap(), store.sales(None, 0, u64::MAX, 100).unwrap());
    let restored_inbox = before.0.checkpoint.inbox.clone();
    // Through the machine: a region that pushes a payload.
    let event = dcs_store::conformance::test_event("t1", 1, "ev-1");
    let items =
        vec![(2, Item::Summary(r3[1].1.clone())), (3, Item::Event(Box::new(event.clone())))];
    let err = push(&mut m, &mut store, 20, R3, 2, items).unwrap_err();
    let dcs_sync::PumpError::Store(StoreError::Invalid { field: "item", reason }) = err else {
        panic!("{err}")
    };
    assert!(reason.contains("summaries only"), "{reason}");
    assert_eq!(store.summary_count().unwrap(), 1, "the summary before the event is not kept");
    assert_eq!(store.sales(None, 0, u64::MAX, 100).unwrap(), before.1);
    assert_eq!(store.stock(None, 10).unwrap(), []);
    // (The clock went in a batch of its own, ahead of the data: only the inbox is unmoved.)
    let before = (store.load().unwrap(), before.1);
    assert_eq!(before.0.checkpoint.inbox, restored_inbox);
    // Directly, and every outbox write.
    let accept = |pos, item| WriteOp::Accept { from: R3, pos, item, forward: None };
    let bad = [
        (accept(3, Item::Event(Box::new(event))), "item"),
        (WriteOp::Append { pos: 1, item: Item::Summary(r3[2].1.clone()) }, "append"),
        (WriteOp::Acked { upto: 1, rejected: vec![] }, "acked"),
        (
            WriteOp::Accept {
                from: R3,
                pos: 3,
                item: Item::Summary(r3[3].1.clone()),
                forward: Some(Item::Summary(r3[3].1.clone())),
            },
            "forward",
        ),
        (
            WriteOp::Accept {
                from: NodeId::Store(1),
                pos: 3,
                item: Item::Summary(r3[3].1.clone()),
                forward: None,
            },
            "from",
        ),
    ];
    for (op, field) in bad {
        let batch = PersistBatch {
            token: 1,
            ops: vec![WriteOp::Hlc { last: 99 }, accept(2, Item::Summary(r3[1].1.clone())), op],
        };
        match store.persist(&batch) {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
        assert_eq!((store.load().unwrap(), store.sales(None, 0, u64::MAX, 100).unwrap()), before);
        assert_eq!(store.summary_count().unwrap(), 1);
    }
}

#[test]
fn sums_past_64_bits_are_refused_and_write_nothing() {
    let mut store = MasterStore::open_in_memory().unwrap();
    let accept = |pos, s: EventSummary| WriteOp::Accept {
        from: R3,
        pos,
        item: Item::Summary(s),
        forward: None,
    };
    let sale = |seq, minor, stock| {
        summary(seq, "t1", "b1", EventType::SaleCompleted, usd(minor), at(H, 0), stock)
    };
    let ok = PersistBatch {
        token: 1,
        ops: vec![accept(1, sale(1, i64::MAX - 1, None)), accept(2, sale(2, 1, None))],
    };
    assert_eq!(store.persist(&ok).unwrap(), vec![Outcome::Stored { forwarded: None }; 2]);
    let full = store.sales(None, 0, u64::MAX, 10).unwrap();
    assert_eq!(full[0].amount_minor, i64::MAX);
    let refuse = |store: &mut MasterStore, op: WriteOp, field: &str| {
        let before = (store.sales(None, 0, u64::MAX, 10).unwrap(), store.stock(None, 10).unwrap());
        let count = store.summary_count().unwrap();
        match store.persist(&PersistBatch { token: 3, ops: vec![op] }) {
            Err(StoreError::Invalid { field: f, reason }) => {
                assert_eq!(f, field);
                assert!(reason.contains("64-bit range"), "{reason}");
            }
            other => panic!("{field}: {other:?}"),
        }
        let after = (store.sales(None, 0, u64::MAX, 10).unwrap(), store.stock(None, 10).unwrap());
        assert_eq!(after, before);
        assert_eq!(store.summary_count().unwrap(), count);
    };
    refuse(&mut store, accept(3, sale(3, 1, None)), "amount_minor");
    // A sum that fits (MAX + MIN = -1) with a stock that does not.
    let seed = PersistBatch { token: 2, ops: vec![accept(4, sale(4, 0, Some(("SKU", i64::MAX))))] };
    store.persist(&seed).unwrap();
    refuse(&mut store, accept(3, sale(3, i64::MIN, Some(("SKU", 1)))), "stock.delta");
    // Below the minimum too (SQLite would round the float back to i64::MIN).
    let mut store = MasterStore::open_in_memory().unwrap();
    let low = PersistBatch {
        token: 1,
        ops: vec![accept(1, sale(1, i64::MIN + 1, None)), accept(2, sale(2, -1, None))],
    };
    store.persist(&low).unwrap();
    let err = store.persist(&PersistBatch { token: 2, ops: vec![accept(3, sale(3, -1, None))] });
    assert!(matches!(err, Err(StoreError::Invalid { field: "amount_minor", .. })), "{err:?}");
    assert_eq!(store.sales(None, 0, u64::MAX, 10).unwrap()[0].amount_minor, i64::MIN);
    assert_eq!(store.summary_count().unwrap(), 2);
}

#[test]
fn refusals_are_kept_once_newest_first() {
    let mut store = MasterStore::open_in_memory().unwrap();
    let reject = |from, pos, seq: u64, reason: &str| WriteOp::Reject {
        from,
        pos,
        event_id: id(seq),
        reason: reason.into(),
    };
    let batch = PersistBatch {
        token: 1,
        ops: vec![reject(R3, 1, 1, "bad MAC"), reject(R4, 7, 2, "unknown tenant")],
    };
    assert_eq!(store.persist(&batch).unwrap(), []);
    let again = PersistBatch { token: 2, ops: vec![reject(R3, 1, 1, "bad MAC again")] };
    store.persist(&again).unwrap();
    assert_eq!(
        store.refused(10).unwrap(),
        [(4, 7, id(2), "unknown tenant".to_string()), (3, 1, id(1), "bad MAC".to_string())]
    );
    assert_eq!(store.refused(1).unwrap().len(), 1);
    assert_eq!(store.summary_count().unwrap(), 0);
}

#[test]
fn the_region_registry_keeps_the_latest_times_and_the_last_lag_and_version() {
    let mut store = MasterStore::open_in_memory().unwrap();
    store.record_region(3, 1_000, None, 7, "0.1.0").unwrap();
    let r = &store.regions().unwrap()[0];
    assert_eq!((r.region, r.last_seen_ms, r.last_ack_ms, r.lag), (3, 1_000, None, 7));
    store.record_region(3, 2_000, Some(1_900), 4, "0.1.1").unwrap();
    // An older observation (another connection's, late) moves no time back.
    store.record_region(3, 1_500, Some(1_200), 2, "0.1.2").unwrap();
    store.record_region(3, 1_800, None, 1, "0.1.2").unwrap();
    store.record_region(1, 10, Some(10), 0, "0.0.9").unwrap();
    let rows = store.regions().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].region, rows[0].last_seen_ms, rows[0].last_ack_ms, rows[0].lag),
        (1, 10, Some(10), 0)
    );
    let r = &rows[1];
    assert_eq!((r.region, r.last_seen_ms, r.last_ack_ms), (3, 2_000, Some(1_900)));
    assert_eq!((r.lag, r.version.as_str()), (1, "0.1.2"));
    assert!(matches!(
        store.record_region(3, u64::MAX, None, 0, "x"),
        Err(StoreError::Invalid { field: "seen_at_ms", .. })
    ));
}

#[test]
fn a_file_that_is_not_a_masters_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let not_ours = |path: &std::path::Path| {
        let before = std::fs::read(path).unwrap();
        match MasterStore::open(path) {
            Err(StoreError::NotAStore { .. }) => {}
            other => panic!("{}: {other:?}", path.display()),
        }
        assert_eq!(std::fs::read(path).unwrap(), before, "{}", path.display());
    };
    let local = dir.path().join("local.db");
    drop(SqliteStore::open(&local).unwrap());
    not_ours(&local);
    let replica = dir.path().join("replica.db");
    drop(RegionReplicaStore::open(&replica).unwrap());
    not_ours(&replica);
    let other = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);").unwrap();
    drop(conn);
    not_ours(&other);
    let marked = dir.path().join("marked.db");
    let conn = rusqlite::Connection::open(&marked).unwrap();
    conn.execute_batch(
        "CREATE TABLE master_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
         INSERT INTO master_meta VALUES ('format', 'dcs-master-999');",
    )
    .unwrap();
    drop(conn);
    not_ours(&marked);
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, just some words").unwrap();
    not_ours(&text);
    assert!(matches!(MasterStore::open(dir.path()), Err(StoreError::NotAStore { .. })));
    // And the other way: a master's file is no replica's.
    let master = dir.path().join("master.db");
    drop(MasterStore::open(&master).unwrap());
    assert!(matches!(RegionReplicaStore::open(&master), Err(StoreError::NotAStore { .. })));
    assert!(MasterStore::open(&master).is_ok(), "a master's file reopens");
}

/// One summary of the property's pool: (tenant, branch, type, amount, currency, hour, stock).
type Spec = (u8, u8, u8, i64, u8, u64, Option<(u8, i64)>);

fn from_spec(seq: u64, (t, b, ty, amount, cur, hour, stock): Spec) -> EventSummary {
    let types = [EventType::SaleCompleted, EventType::SaleReversed, EventType::InventorySold];
    let currency = [Currency::USD, Currency::JPY][usize::from(cur)];
    let sku = stock.map(|(k, d)| (format!("SKU-{k}"), d));
    summary(
        seq,
        &format!("t{t}"),
        &format!("b{b}"),
        types[usize::from(ty)],
        Money::from_minor(amount, currency),
        at(H + hour, seq % 60),
        sku.as_ref().map(|(k, d)| (k.as_str(), *d)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Sales and stock equal the sums over distinct event ids (credited to the region that
    /// delivered each first), for random batches full of re-sent summaries.
    #[test]
    fn sales_and_stock_are_the_sums_over_distinct_events(
        pool in prop::collection::vec(
            (0u8..2, 0u8..3, 0u8..3, -1_000_000i64..1_000_000, 0u8..2, 0u64..3,
             prop::option::of((0u8..3, -50i64..50))),
            1..12,
        ),
        sends in prop::collection::vec((any::<prop::sample::Index>(), prop::bool::ANY), 1..80),
        cuts in prop::collection::vec(1usize..10, 1..20),
    ) {
        let pool: Vec<EventSummary> =
            pool.into_iter().enumerate().map(|(i, s)| from_spec(i as u64 + 1, s)).collect();
        let mut store = MasterStore::open_in_memory().unwrap();
        let mut next_pos = BTreeMap::from([(3u32, 1u64), (4u32, 1u64)]);
        let mut ops = Vec::new();
        let mut first: BTreeMap<EventId, u32> = BTreeMap::new();
        let mut expect_outcomes = Vec::new();
        for (ix, r4) in &sends {
            let s = &pool[ix.index(pool.len())];
            let region = if *r4 { 4u32 } else { 3 };
            let pos = next_pos.get_mut(&region).unwrap();
            ops.push(WriteOp::Accept {
                from: NodeId::Region(region as u16),
                pos: *pos,
                item: Item::Summary(s.clone()),
                forward: None,
            });
            *pos += 1;
            let new = !first.contains_key(&s.event_id);
            first.entry(s.event_id).or_insert(region);
            expect_outcomes.push(if new { Outcome::Stored { forwarded: None } } else { Outcome::Duplicate });
        }
        let mut outcomes = Vec::new();
        let mut cut = cuts.iter().cycle();
        let mut rest = &ops[..];
        let mut token = 0;
        while !rest.is_empty() {
            let n = (*cut.next().unwrap()).min(rest.len());
            token += 1;
            let batch = PersistBatch { token, ops: rest[..n].to_vec() };
            outcomes.extend(store.persist(&batch).unwrap());
            rest = &rest[n..];
        }
        prop_assert_eq!(outcomes, expect_outcomes);
        prop_assert_eq!(store.summary_count().unwrap(), first.len() as u64);

        type Key = (String, u32, String, u64, &'static str, String);
        let mut want_sales: BTreeMap<Key, (u64, i64)> = BTreeMap::new();
        let mut want_stock: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        for s in pool.iter().filter(|s| first.contains_key(&s.event_id)) {
            let key = (
                s.tenant.to_string(),
                first[&s.event_id],
                s.branch.to_string(),
                dcs_core::causality::HlcTimestamp { time: s.hlc, node: [1; 16] }.unix_ms() / 3_600_000,
                s.event_type.name(),
                s.amount.currency().code().to_string(),
            );
            let e = want_sales.entry(key).or_default();
            e.0 += 1;
            e.1 += s.amount.minor();
            if let Some(st) = &s.stock {
                *want_stock.entry((s.tenant.to_string(), st.branch.clone(), st.sku.clone())).or_default() += st.delta;
            }
        }
        let got_sales: BTreeMap<Key, (u64, i64)> = store
            .sales(None, 0, u64::MAX, 10_000)
            .unwrap()
            .into_iter()
            .map(|r| ((r.tenant, r.region, r.branch, r.hour, r.event_type.name(), r.currency), (r.count, r.amount_minor)))
            .collect();
        prop_assert_eq!(got_sales, want_sales);
        let got_stock: BTreeMap<(String, String, String), i64> = store
            .stock(None, 10_000)
            .unwrap()
            .into_iter()
            .map(|r| ((r.tenant, r.branch, r.sku), r.on_hand))
            .collect();
        prop_assert_eq!(got_stock, want_stock);
        // The rows come ordered by hour, region, branch.
        let rows = store.sales(None, 0, u64::MAX, 10_000).unwrap();
        prop_assert!(rows.windows(2).all(|w| (w[0].hour, w[0].region, &w[0].branch) <= (w[1].hour, w[1].region, &w[1].branch)));
        let tenants: std::collections::BTreeSet<String> =
            pool.iter().filter(|s| first.contains_key(&s.event_id)).map(|s| s.tenant.to_string()).collect();
        prop_assert_eq!(store.tenants().unwrap(), tenants.into_iter().collect::<Vec<_>>());
    }
}

#[test]
fn region_samples_are_kept_for_their_window_only() {
    let mut store = MasterStore::open_in_memory().unwrap();
    for k in 0..10u64 {
        store.record_samples(k * 1_000, 4_000, &[(3, k, "alive"), (4, 0, "failed")]).unwrap();
    }
    let all = store.samples(0, 100).unwrap();
    assert_eq!(all.len(), 10, "5 samples of each region in the last 4 s: {all:?}");
    assert_eq!(all[0], (3, 5_000, 5, "alive".to_string()));
    assert_eq!(store.samples(9_000, 100).unwrap().len(), 2);
    assert_eq!(store.samples(0, 3).unwrap().len(), 3);
}
