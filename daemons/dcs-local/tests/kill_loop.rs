//! Never loses a sale: 16 clients submit sales while the daemon is SIGKILLed again and again.
//! Afterwards every acknowledged sale is in the store exactly once, the chain verifies, and
//! retrying each unacknowledged request with its key makes no second sale.
//!
//! `DCS_KILL_CYCLES` sets the number of kills (default 50).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cart;
use dcs_proto::pb;

const CLIENTS: usize = 16;

#[derive(Default)]
struct Ledger {
    /// Sale id → the event ids the daemon acknowledged for it.
    acked: BTreeMap<String, Vec<Vec<u8>>>,
    /// Requests sent whose answer never came (to retry after the restart).
    pending: BTreeMap<usize, pb::SubmitSaleRequest>,
}

fn sale(client: usize, n: u64) -> pb::SubmitSaleRequest {
    pb::SubmitSaleRequest {
        idempotency_key: format!("k-{client}-{n}"),
        session_id: "s-1".into(),
        sale_id: format!("R-{client}-{n}"),
        cart: cart(&[("MUG", 1 + (n % 3) as u32)]),
        tender: pb::Tender::Card as i32,
        customer_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loop_loses_and_duplicates_nothing() {
    let cycles: usize =
        std::env::var("DCS_KILL_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path());
    let mut daemon = common::start(dir.path(), &token);
    let mut c = daemon.client().await;
    daemon.open_session(&mut c, 0).await;

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let next: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..CLIENTS).map(|_| std::sync::atomic::AtomicU64::new(0)).collect());
    let mut rng: u64 = 0x5eed_1234;
    for cycle in 0..cycles {
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let (ledger, next) = (Arc::clone(&ledger), Arc::clone(&next));
            let mut c = daemon.client().await;
            let auth = format!("Bearer {token}");
            tasks.push(tokio::spawn(async move {
                loop {
                    // A request left over from the last kill goes first, with its key.
                    let retry = ledger.lock().unwrap().pending.remove(&client);
                    let req = retry.unwrap_or_else(|| {
                        sale(client, next[client].fetch_add(1, std::sync::atomic::Ordering::SeqCst))
                    });
                    let mut r = tonic::Request::new(req.clone());
                    r.metadata_mut().insert("authorization", auth.parse().unwrap());
                    match c.submit_sale(r).await {
                        Ok(resp) => {
                            let ids = resp.into_inner().event_ids;
                            let mut l = ledger.lock().unwrap();
                            if let Some(before) = l.acked.insert(req.sale_id.clone(), ids.clone()) {
                                assert_eq!(before, ids, "a retry returned other events");
                            }
                        }
                        Err(status) => {
                            assert!(
                                matches!(
                                    status.code(),
                                    tonic::Code::Unavailable
                                        | tonic::Code::Unknown
                                        | tonic::Code::Cancelled
                                ),
                                "only the kill may fail a request, got {status}"
                            );
                            ledger.lock().unwrap().pending.insert(client, req);
                            return;
                        }
                    }
                }
            }));
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        tokio::time::sleep(Duration::from_millis(50 + rng % 250)).await;
        daemon.kill();
        for t in tasks {
            t.await.unwrap();
        }
        daemon = common::start(dir.path(), &token);
        let _ = cycle;
    }
    // Drain the last pending requests.
    let pending: Vec<_> =
        std::mem::take(&mut ledger.lock().unwrap().pending).into_values().collect();
    let mut c = daemon.client().await;
    for req in pending {
        let ids = c.submit_sale(daemon.req(req.clone())).await.unwrap().into_inner().event_ids;
        let mut l = ledger.lock().unwrap();
        if let Some(before) = l.acked.insert(req.sale_id.clone(), ids.clone()) {
            assert_eq!(before, ids);
        }
    }
    assert!(daemon.terminate().success());

    let store = common::open_store(dir.path());
    store.verify_chain().unwrap();
    let all = store.read_all_sync(1, dcs_store::sqlite::MAX_READ).unwrap();
    let stored: BTreeSet<Vec<u8>> =
        all.iter().map(|e| e.event.event_id().as_bytes().to_vec()).collect();
    assert_eq!(stored.len(), all.len(), "an event id stored twice");
    let l = ledger.lock().unwrap();
    let mut lost = 0;
    for ids in l.acked.values() {
        lost += ids.iter().filter(|id| !stored.contains(*id)).count();
    }
    assert_eq!(lost, 0, "acknowledged events missing from the store");
    // Exactly one SALE_COMPLETED per sale: no retry made a second sale.
    let mut completed: BTreeMap<String, usize> = BTreeMap::new();
    for e in &all {
        if e.event.event_type() == dcs_core::EventType::SaleCompleted {
            *completed.entry(e.stream_id.as_str().to_string()).or_default() += 1;
        }
    }
    assert!(completed.values().all(|n| *n == 1), "a sale completed twice");
    for sale_id in l.acked.keys() {
        assert_eq!(completed.get(&format!("sale-{sale_id}")), Some(&1), "{sale_id}");
    }
    eprintln!(
        "kill loop: {cycles} kills, {} acknowledged sales, {} events stored, 0 lost, 0 duplicated",
        l.acked.len(),
        all.len()
    );
}
