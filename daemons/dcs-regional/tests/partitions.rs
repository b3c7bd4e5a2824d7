//! Partitions on real processes: three `dcs-regional` nodes whose every Raft link (node i
//! dialing node j) goes through its own cuttable TCP proxy (`[cluster] dial`), forwarding to
//! real PostgreSQL and Kafka, a store pushing to them directly. Snapshots are taken every 30
//! entries and 5 are kept, so a node cut off for long catches up by snapshot.
//! 1. A follower is cut off while the store keeps pushing: the others acknowledge; healed,
//!    the follower catches up.
//! 2. The leader is cut off from the majority: a push to it is not acknowledged, the majority
//!    elects a new leader within two election timeouts (+ slack) and acknowledges; healed,
//!    the old leader rejoins as a follower and drops what it could not commit.
//!
//! Then the checker: lost, duplicated and unexpected events are 0 on every replica, in
//! PostgreSQL and in Kafka.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::procs::{Cluster, ELECTION_MAX_MS, leader_after};
use common::proxy::Proxy;

/// Cuts (or heals) every link into and out of node `n`.
fn isolate(links: &BTreeMap<(usize, usize), Proxy>, n: usize, cut: bool) {
    for ((from, to), p) in links {
        if *from == n || *to == n {
            if cut { p.cut() } else { p.heal() }
        }
    }
}

async fn applied(c: &Cluster, n: usize) -> f64 {
    c.nodes[n].gauge("dcs_regional_last_applied").await.unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_follower_catches_up_and_a_cut_leader_acknowledges_nothing() {
    let mut links = BTreeMap::new();
    let mut c = Cluster::start(|i, t| {
        let raft = t.entry("raft").or_insert(toml::Table::new().into()).as_table_mut().unwrap();
        raft.insert("snapshot_logs".into(), 30.into());
        raft.insert("keep_logs".into(), 5.into());
        let cluster = t["cluster"].as_table_mut().unwrap();
        let peers: Vec<(String, String)> = cluster["peers"]
            .as_table()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let mut dial = toml::Table::new();
        for (id, addr) in peers {
            let j: usize = id.parse::<usize>().unwrap() - 1;
            if j != i {
                let p = Proxy::start(addr);
                dial.insert(id, p.addr.clone().into());
                links.insert((i, j), p);
            }
        }
        cluster.insert("dial".into(), dial.into());
    })
    .await;
    let mut s = c.store.take().unwrap();
    let urls = c.urls();
    s.append(20);
    s.sync_any(&urls).await;

    // 1. A follower cut off.
    let (l, _) = leader_after(&c.nodes, 0.0, Duration::from_secs(20)).await;
    let f = (0..3).find(|i| *i != l).unwrap();
    isolate(&links, f, true);
    let before = applied(&c, f).await;
    for _ in 0..40 {
        s.append(3);
        s.sync_any(&urls).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (l_now, _) = leader_after(&c.nodes, 0.0, Duration::from_secs(10)).await;
    let (cut_at, leader_at) = (applied(&c, f).await, applied(&c, l_now).await);
    println!("follower {} cut at applied {before}; now {cut_at}, the leader {leader_at}", f + 1);
    assert!(cut_at < leader_at, "the cut follower applied nothing new");
    let installs_before =
        c.nodes[f].gauge("dcs_regional_snapshots_installed_total").await.unwrap_or(0.0);
    isolate(&links, f, false);
    let healed = Instant::now();
    while applied(&c, f).await < leader_at {
        assert!(healed.elapsed() < Duration::from_secs(30), "the healed follower did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let installs = c.nodes[f].gauge("dcs_regional_snapshots_installed_total").await.unwrap_or(0.0);
    println!(
        "healed follower caught up in {:?} ({} snapshot(s) installed)",
        healed.elapsed(),
        installs - installs_before
    );

    // 2. The leader cut off from the majority.
    let (l, term) = leader_after(&c.nodes, 0.0, Duration::from_secs(10)).await;
    isolate(&links, l, true);
    let cut = Instant::now();
    let majority: Vec<_> = (0..3).filter(|i| *i != l).collect();
    let others: Vec<String> = majority.iter().map(|i| c.nodes[*i].url()).collect();
    // The majority's leader, by its own gauges (the isolated node may still think it leads).
    let start = Instant::now();
    let next = loop {
        let mut found = None;
        for i in &majority {
            let n = &c.nodes[*i];
            if n.gauge("dcs_regional_is_leader").await == Some(1.0)
                && n.gauge("dcs_regional_term").await.is_some_and(|t| t > term)
            {
                found = Some(*i);
            }
        }
        if let Some(i) = found {
            break i;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the majority elected no leader");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!(
        "leader {} cut off; node {} leads the majority after {:?}",
        l + 1,
        next + 1,
        cut.elapsed()
    );
    assert!(
        cut.elapsed() < Duration::from_millis(2 * ELECTION_MAX_MS + 1_500),
        "a new leader within two election timeouts"
    );
    // The old leader, cut off, may still think it leads: a push to it is not acknowledged.
    let acked = s.acked;
    s.append(5);
    s.push_deadline = Duration::from_secs(3);
    let pushed = s.sync(&c.nodes[l].url()).await;
    assert!(pushed.is_err(), "the isolated leader acknowledged a push");
    assert_eq!(s.acked, acked, "nothing acknowledged by the minority");
    s.push_deadline = Duration::from_secs(10);
    s.sync_any(&others).await;
    assert_eq!(s.acked, s.next, "the majority acknowledged everything");
    isolate(&links, l, false);
    s.append(10);
    s.sync_any(&urls).await;
    assert_eq!(s.acked, s.next);

    c.check(&s).await;
    drop(links);
}
