//! Real processes: three `dcs-regional` nodes over mutual TLS on 127.0.0.1, a store syncing
//! through them, and the leader SIGKILLed under load again and again (3 times in every test
//! run; `DCS_REGION_KILLS=20` for the full count). After each kill a new leader must come
//! within two election timeouts (+ slack for a loaded machine), and the killed node restarts
//! from its files. Then all three are SIGKILLed at once and restarted. At the end a checker compares what the store saw acknowledged with every
//! replica's file, with the regional PostgreSQL store and with Kafka (a real noida-db broker;
//! the leaders forward to both): lost, duplicated and unexpected events must all be 0 in each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::client::StoreClient;
use common::sinks::{Broker, kafka_keys, pg_rows, pg_sink};
use dcs_store::sqlite::RegionReplicaStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ELECTION_MAX_MS: u64 = 1_200;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcs-regional")
}

fn ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

struct Node {
    dir: PathBuf,
    grpc: u16,
    admin: u16,
    child: Option<Child>,
}

impl Node {
    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("node.log")).unwrap();
        let child = Command::new(bin())
            .args(["run", "--data-dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.grpc)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The node's gauges from its admin port (None while it does not answer).
async fn gauges(admin: u16) -> Option<BTreeMap<String, f64>> {
    let mut s = tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(("127.0.0.1", admin)),
    )
    .await
    .ok()?
    .ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n").await.ok()?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_millis(500), s.read_to_string(&mut body))
        .await
        .ok()?
        .ok()?;
    Some(
        body.lines()
            .filter(|l| l.starts_with("dcs_regional_"))
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_string(), v.trim().parse().ok()?))
            })
            .collect(),
    )
}

/// The leader as the live nodes see it: the node that says it leads in the highest term any
/// live node is in (a deposed leader's gauges may lag a moment); with that term.
async fn leader_after(nodes: &[Node], term_above: f64, within: Duration) -> (usize, f64) {
    let start = Instant::now();
    loop {
        let mut seen = vec![];
        for (i, n) in nodes.iter().enumerate() {
            if n.child.is_some()
                && let Some(g) = gauges(n.admin).await
            {
                seen.push((
                    i,
                    g.get("dcs_regional_term").copied().unwrap_or(0.0),
                    g.get("dcs_regional_is_leader") == Some(&1.0),
                ));
            }
        }
        let top = seen.iter().map(|s| s.1).fold(0.0, f64::max);
        if let Some((i, t, _)) = seen.iter().find(|(_, t, l)| *l && *t == top && *t > term_above) {
            return (*i, *t);
        }
        assert!(start.elapsed() < within, "no leader within {within:?}: {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn leader(nodes: &[Node], within: Duration) -> usize {
    leader_after(nodes, 0.0, within).await.0
}

/// Store 1's event ids by position, from a replica's file.
fn accepted_ids(dir: &Path) -> BTreeMap<u64, Vec<u8>> {
    let s = RegionReplicaStore::open(dir.join("replica.db")).unwrap();
    let all = s.accepted_after(0, 1_000_000).unwrap();
    all.iter().map(|a| (a.child_pos, a.item.event_id().to_string().into_bytes())).collect()
}

fn accepted(dir: &Path) -> Vec<u64> {
    let s = RegionReplicaStore::open(dir.join("replica.db")).unwrap();
    s.accepted_after(0, 1_000_000).unwrap().iter().map(|a| a.child_pos).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_under_load_loses_and_doubles_nothing() {
    let kills: u32 =
        std::env::var("DCS_REGION_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let root = tempfile::tempdir().unwrap();
    let ca_dir = root.path().join("ca");
    let mac = dcs_crypto::MacKey::random(&mut rand_core::OsRng);
    let mac_path = root.path().join("acme.mac");
    std::fs::write(&mac_path, mac.to_secret_bytes().as_slice()).unwrap();
    let broker = Broker::start();
    let (db, pg) = pg_sink(root.path()).await;
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| Node {
            dir: root.path().join(format!("n{i}")),
            grpc: free_port(),
            admin: free_port(),
            child: None,
        })
        .collect();
    let peers: Vec<String> =
        nodes.iter().enumerate().map(|(i, n)| format!("{}=127.0.0.1:{}", i + 1, n.grpc)).collect();
    for (i, n) in nodes.iter().enumerate() {
        let mut init = Command::new(bin());
        init.args(["init", "--data-dir"]).arg(&n.dir);
        init.args(["--id", &(i + 1).to_string(), "--store", "1"]);
        init.args([
            "--listen",
            &format!("127.0.0.1:{}", n.grpc),
            "--admin",
            &format!("127.0.0.1:{}", n.admin),
        ]);
        init.arg(format!("--mac-key=acme={}", mac_path.display()));
        init.arg(format!("--postgres={}", pg.url));
        init.arg(format!(
            "--postgres-password-file={}",
            pg.password_file.as_ref().unwrap().display()
        ));
        init.arg(format!("--kafka={}", broker.brokers));
        for p in &peers {
            init.arg(format!("--peer={p}"));
        }
        if i == 0 {
            init.arg("--bootstrap");
        }
        ok(&mut init);
        ok(Command::new(bin())
            .args(["dev-certs", "--data-dir"])
            .arg(&n.dir)
            .arg("--ca-dir")
            .arg(&ca_dir));
    }
    for n in &mut nodes {
        n.spawn();
    }
    let ca = dcs_daemon::tls::DevCa::open_or_create(&ca_dir).unwrap();
    let store_tls = ca.write_node(&root.path().join("store"), "store-1", &["store-1"]).unwrap();
    let mut s: StoreClient =
        StoreClient::new(1, Some(store_tls.client_config("dcs-regional").unwrap()));
    s.reseal = Some(Box::new(move |e| e.set_mac(mac.compute(&e.canonical_bytes()).to_vec())));
    let urls: Vec<String> = nodes.iter().map(Node::url).collect();

    let mut elections = vec![];
    leader(&nodes, Duration::from_secs(20)).await;
    for k in 0..kills {
        s.append(20);
        s.sync_any(&urls).await;
        let (l, term) = leader_after(&nodes, 0.0, Duration::from_secs(10)).await;
        // More events, being pushed while the leader dies (0-40 ms into the push).
        s.append(20);
        let u = urls.clone();
        let pushing = tokio::spawn(async move {
            s.sync_any(&u).await;
            s
        });
        tokio::time::sleep(Duration::from_millis(u64::from(k * 13 % 41))).await;
        nodes[l].kill();
        let died = Instant::now();
        let (next, _) =
            leader_after(&nodes, term, Duration::from_millis(2 * ELECTION_MAX_MS + 1_500)).await;
        let took = died.elapsed();
        elections.push(took);
        assert_ne!(next, l);
        s = pushing.await.unwrap();
        nodes[l].spawn();
        println!("kill {}: node {} → leader {} after {took:?}", k + 1, l + 1, next + 1);
    }
    s.append(10);
    s.sync_any(&urls).await;
    // All three at once: SIGKILL every node, restart them, and go on.
    for n in &mut nodes {
        n.kill();
    }
    for n in &mut nodes {
        n.spawn();
    }
    leader(&nodes, Duration::from_secs(20)).await;
    s.append(10);
    s.sync_any(&urls).await;
    assert_eq!(s.acked, s.next, "the store saw every event acknowledged");

    // Every replica catches up, then all stop gracefully. The leader applied the last
    // acknowledged entry before it answered; its gauge refreshes every 50 ms, so its
    // last_applied read 200 ms later covers that entry, and every node must reach it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let l = leader(&nodes, Duration::from_secs(10)).await;
    let target =
        gauges(nodes[l].admin).await.and_then(|g| g.get("dcs_regional_last_applied").copied());
    let target = target.expect("the leader reports last_applied");
    let start = Instant::now();
    loop {
        let mut applied = vec![];
        for n in &nodes {
            applied.push(
                gauges(n.admin).await.and_then(|g| g.get("dcs_regional_last_applied").copied()),
            );
        }
        if applied.iter().all(|a| a.is_some_and(|a| a >= target)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "replicas did not apply up to {target}: {applied:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The leader's forwarders deliver everything acknowledged to PostgreSQL and Kafka.
    let ids: BTreeMap<u64, Vec<u8>> = accepted_ids(&nodes[0].dir);
    let start = Instant::now();
    let (rows, keys) = loop {
        let rows = pg_rows(&db).await;
        let brokers = broker.brokers.clone();
        let keys = tokio::task::spawn_blocking(move || {
            kafka_keys(&brokers, &["dcs.events.acme".to_string()])
        })
        .await
        .unwrap();
        let pg_done = (1..=s.acked).all(|p| rows.contains_key(&("store-1".to_string(), p)));
        let kafka_done = (1..=s.acked).all(|p| ids.get(&p).is_some_and(|k| keys.contains_key(k)));
        if pg_done && kafka_done {
            break (rows, keys);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not forwarded within 60 s: PostgreSQL {}, Kafka {} of {}",
            rows.len(),
            keys.len(),
            s.acked
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("forwarded to both sinks {:?} after the last ack", start.elapsed());
    let stopping = Instant::now();
    for n in &mut nodes {
        let pid = n.child.as_ref().unwrap().id();
        ok(Command::new("kill").args(["-TERM", &pid.to_string()]));
    }
    for n in &mut nodes {
        let mut c = n.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                assert!(status.success(), "node {} exited {status}", n.dir.display());
                break;
            }
            assert!(Instant::now() < deadline, "node {} did not stop on SIGTERM", n.dir.display());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    println!("all three stopped on SIGTERM within {:?}", stopping.elapsed());
    // The checker: what the store saw acknowledged against every replica's file.
    let acked: Vec<u64> = (1..=s.acked).collect();
    for n in &nodes {
        let held = accepted(&n.dir);
        let mut counts = BTreeMap::new();
        for p in &held {
            *counts.entry(*p).or_insert(0u32) += 1;
        }
        let lost = acked.iter().filter(|p| !counts.contains_key(p)).count();
        let duplicated = counts.values().filter(|c| **c > 1).count();
        let unexpected = counts.keys().filter(|p| **p > s.next).count();
        println!(
            "{}: {} held, lost {lost}, duplicated {duplicated}, unexpected {unexpected}",
            n.dir.display(),
            held.len()
        );
        assert_eq!((lost, duplicated, unexpected), (0, 0, 0));
    }
    // The same checker over each sink.
    let pg_lost =
        acked.iter().filter(|p| !rows.contains_key(&("store-1".to_string(), **p))).count();
    let pg_dup = rows.values().filter(|c| **c > 1).count();
    let pg_unexpected = rows.keys().filter(|(st, p)| st != "store-1" || *p > s.next).count();
    println!(
        "postgres: {} held, lost {pg_lost}, duplicated {pg_dup}, unexpected {pg_unexpected}",
        rows.len()
    );
    assert_eq!((pg_lost, pg_dup, pg_unexpected), (0, 0, 0));
    let known: std::collections::BTreeSet<&Vec<u8>> = ids.values().collect();
    let k_lost = acked.iter().filter(|p| !keys.contains_key(&ids[p])).count();
    let k_dup = keys.values().filter(|c| **c > 1).count();
    let k_unexpected = keys.keys().filter(|k| !known.contains(k)).count();
    println!(
        "kafka: {} held, lost {k_lost}, duplicated {k_dup}, unexpected {k_unexpected}",
        keys.len()
    );
    assert_eq!((k_lost, k_dup, k_unexpected), (0, 0, 0));
    let worst = elections.iter().max().unwrap();
    println!("{kills} leader kills; {} events; slowest new leader after {worst:?}", s.acked);
}
