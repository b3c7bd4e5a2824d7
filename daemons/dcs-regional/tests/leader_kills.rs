//! Real processes: three `dcs-regional` nodes over mutual TLS on 127.0.0.1, a store syncing
//! through them, and the leader SIGKILLed under load again and again (3 times in every test
//! run; `DCS_REGION_KILLS=20` for the full count). After each kill a new leader must come
//! within two election timeouts (+ slack for a loaded machine), and the killed node restarts
//! from its files. Then all three are SIGKILLed at once and restarted. At the end the checker
//! (tests/common/procs.rs) compares what the store saw acknowledged with every replica's file,
//! with the regional PostgreSQL store and with Kafka (the leaders forward to both): lost,
//! duplicated and unexpected events must all be 0 in each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::procs::{Cluster, ELECTION_MAX_MS, leader, leader_after};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_under_load_loses_and_doubles_nothing() {
    let kills: u32 =
        std::env::var("DCS_REGION_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let mut c = Cluster::start(|_, _| {}).await;
    let mut s = c.store.take().unwrap();
    let urls = c.urls();
    let mut elections = vec![];
    leader(&c.nodes, Duration::from_secs(20)).await;
    for k in 0..kills {
        s.append(20);
        s.sync_any(&urls).await;
        let (l, term) = leader_after(&c.nodes, 0.0, Duration::from_secs(10)).await;
        // More events, being pushed while the leader dies (0-40 ms into the push).
        s.append(20);
        let u = urls.clone();
        let pushing = tokio::spawn(async move {
            s.sync_any(&u).await;
            s
        });
        tokio::time::sleep(Duration::from_millis(u64::from(k * 13 % 41))).await;
        c.nodes[l].kill();
        let died = Instant::now();
        let (next, _) =
            leader_after(&c.nodes, term, Duration::from_millis(2 * ELECTION_MAX_MS + 1_500)).await;
        let took = died.elapsed();
        elections.push(took);
        assert_ne!(next, l);
        s = pushing.await.unwrap();
        c.nodes[l].spawn();
        println!("kill {}: node {} → leader {} after {took:?}", k + 1, l + 1, next + 1);
    }
    s.append(10);
    s.sync_any(&urls).await;
    // All three at once: SIGKILL every node, restart them, and go on.
    for n in &mut c.nodes {
        n.kill();
    }
    for n in &mut c.nodes {
        n.spawn();
    }
    leader(&c.nodes, Duration::from_secs(20)).await;
    s.append(10);
    s.sync_any(&urls).await;
    assert_eq!(s.acked, s.next, "the store saw every event acknowledged");

    c.check(&s).await;
    let worst = elections.iter().max().unwrap();
    println!("{kills} leader kills; {} events; slowest new leader after {worst:?}", s.acked);
}
