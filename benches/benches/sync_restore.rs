//! Restore time of a store's sync machine from its SQLite file, at 10 k and 1 M events of
//! history: `load_sync` (checkpoint row + its bounded log, the ack and the head) and
//! `LocalMachine::restore`, then its first outbox page. Beside it, in the same run, the
//! time a restore that loaded the history would take (reading every event once).
//!
//! `cargo bench -p dcs-benches --bench sync_restore` (env `DCS_RESTORE_EVENTS`, default
//! 1000000); under `cargo test --all-targets` it runs as a smoke test with 20,000 events.

use std::time::{Duration, Instant};

use dcs_core::commerce::body::StockMovement;
use dcs_core::commerce::{EventBody, Sku};
use dcs_core::{BranchId, SovereignFinancialEvent};
use dcs_crdt::ReplicaId;
use dcs_store::conformance::test_event;
use dcs_store::sqlite::{AppendRequest, SqliteStore};
use dcs_store::{ExpectedVersion, StoreError, StreamId};
use dcs_sync::{LocalConfig, LocalMachine, NodeId, Now, PersistBatch, SyncConfig, WriteOp, pump};

/// Any failure of the bench's setup: the run stops with its message.
struct Failed(String);

impl std::fmt::Debug for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::fmt::Display> From<E> for Failed {
    fn from(e: E) -> Self {
        Failed(e.to_string())
    }
}

const BRANCH: &str = "store-1";
/// Events the region has not acknowledged at the restart (read back in pages).
const UNACKED: u64 = 5_000;

fn now(ms: u64) -> Now {
    Now { mono_ms: ms, wall_ms: 1_795_600_000_000 + ms }
}

fn config() -> Result<LocalConfig, Failed> {
    Ok(LocalConfig {
        node: NodeId::Store(1),
        region: NodeId::Region(0),
        branch: BranchId::new(BRANCH)?,
        replica: ReplicaId(1001),
        sync: SyncConfig::default(),
    })
}

/// 40 SKUs, 1 to 7 units each: the CRDT the checkpoint carries is realistic in size.
fn body(seq: u64) -> Result<EventBody, Failed> {
    Ok(EventBody::InventoryReceived(StockMovement {
        branch: BranchId::new(BRANCH)?,
        sku: Sku::new(format!("SKU-{}", seq % 40))?,
        quantity: (seq % 7 + 1) as u32,
    }))
}

/// A store file with `n` events appended through the machine, all but `UNACKED` acknowledged.
fn build(path: &std::path::Path, n: u64) -> Result<(), Failed> {
    let store = SqliteStore::open(path)?;
    let mut m = LocalMachine::new(config()?, now(0), 1)?;
    let stream = StreamId::new("sales")?;
    let mut seq = 0;
    while seq < n {
        let events: Vec<SovereignFinancialEvent> =
            (seq..(seq + 1_000).min(n)).map(|s| test_event("t", s, &format!("ev-{s}"))).collect();
        let bodies = (seq..seq + events.len() as u64).map(body).collect::<Result<Vec<_>, _>>()?;
        let req = AppendRequest {
            stream: &stream,
            expected: ExpectedVersion::Any,
            events: &events,
            bodies: &[],
        };
        let at = now(seq);
        let (_, batches) = store.append_group_synced(&[req], |results| {
            let first = match results.first() {
                Some(Ok(r)) => r.first_position,
                Some(Err(e)) => return Err(StoreError::Database(e.to_string())),
                None => return Err(StoreError::Database("no result".into())),
            };
            for (i, (e, b)) in events.iter().zip(&bodies).enumerate() {
                m.append_at(at, first + i as u64, e.clone(), Some(b))
                    .map_err(|e| StoreError::Database(e.to_string()))?;
            }
            Ok(std::iter::from_fn(|| m.poll_persist()).collect())
        })?;
        for b in batches {
            m.handle_persisted(at, b.token, &[])?;
        }
        seq += events.len() as u64;
    }
    let upto = n.saturating_sub(UNACKED);
    store.persist_sync(&PersistBatch {
        token: 0,
        ops: vec![WriteOp::Acked { upto, rejected: vec![] }],
    })?;
    Ok(())
}

/// Median time of `runs` restores: open, load, restore, first page.
fn restore(path: &std::path::Path, runs: usize) -> Result<(Duration, usize), Failed> {
    let mut times = Vec::new();
    let mut held = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let mut store = SqliteStore::open(path)?;
        let restored = store.load_sync()?;
        let mut m = LocalMachine::restore(config()?, restored, now(0), 2)?;
        pump(now(0), &mut m, &mut store).map_err(|e| Failed(e.to_string()))?;
        times.push(t.elapsed());
        held = m.outbox_held();
    }
    times.sort();
    Ok((times[times.len() / 2], held))
}

/// Reading every event once, in pages (what a restore that loaded the history would cost).
fn read_history(path: &std::path::Path) -> Result<(Duration, u64), Failed> {
    let t = Instant::now();
    let store = SqliteStore::open(path)?;
    let (mut from, mut n) = (1, 0u64);
    loop {
        let page = store.read_all_sync(from, 10_000)?;
        let Some(last) = page.last() else { break };
        from = last.position + 1;
        n += page.len() as u64;
    }
    Ok((t.elapsed(), n))
}

fn main() -> Result<(), Failed> {
    let bench = std::env::args().any(|a| a == "--bench");
    let large: u64 = match std::env::var("DCS_RESTORE_EVENTS") {
        Ok(v) => v.parse()?,
        Err(_) if bench => 1_000_000,
        Err(_) => 20_000,
    };
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();
    for n in [10_000.min(large), large] {
        let path = dir.path().join(format!("store-{n}.db"));
        let t = Instant::now();
        build(&path, n)?;
        let built = t.elapsed();
        let (median, held) = restore(&path, 21)?;
        let (history, read) = read_history(&path)?;
        assert_eq!(read, n, "the history holds every event");
        println!(
            "{n:>9} events (built in {:.1} s): restore median {:.2} ms ({held} unacknowledged events \
             held after the first page), reading the history {:.0} ms ({:.0}x the restore)",
            built.as_secs_f64(),
            median.as_secs_f64() * 1e3,
            history.as_secs_f64() * 1e3,
            history.as_secs_f64() / median.as_secs_f64().max(1e-9)
        );
        rows.push(median);
    }
    if let [small, big] = rows[..] {
        println!(
            "restore at {large} events / at 10000: {:.2} (independent of the history: about 1)",
            big.as_secs_f64() / small.as_secs_f64().max(1e-9)
        );
        if bench && big > Duration::from_millis(100) {
            return Err(Failed(format!("restore took {big:?}, over the 100 ms goal")));
        }
    }
    Ok(())
}
