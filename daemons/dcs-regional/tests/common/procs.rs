//! Real `dcs-regional` processes for the fault tests: a 3-node region over mutual TLS on
//! 127.0.0.1 forwarding to a real PostgreSQL database and a real Kafka-protocol broker, its
//! nodes' gauges read from their admin ports, and the checker that compares what a store saw
//! acknowledged with every replica's file, PostgreSQL and Kafka.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dcs_store::sqlite::RegionReplicaStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::client::StoreClient;
use super::sinks::{Broker, kafka_keys, pg_common::TestDb, pg_rows, pg_sink};

/// The region's largest election timeout (the daemon's default).
pub const ELECTION_MAX_MS: u64 = 1_200;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcs-regional")
}

pub fn ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One node process and its files.
pub struct Node {
    pub dir: PathBuf,
    pub grpc: u16,
    pub admin: u16,
    pub child: Option<Child>,
}

impl Node {
    /// Starts `dcs-regional run` (stderr to node.log, appended).
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .unwrap();
        let child = Command::new(bin())
            .args(["run", "--data-dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Its sync URL.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.grpc)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The node's gauges from its admin port (None while it does not answer).
pub async fn gauges(admin: u16) -> Option<BTreeMap<String, f64>> {
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
pub async fn leader_after(nodes: &[Node], term_above: f64, within: Duration) -> (usize, f64) {
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
        if start.elapsed() >= within {
            panic!("no leader within {within:?}: {seen:?}\n{}", log_tails(nodes, 30));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The last `lines` lines of each node's log, for a failure's message.
pub fn log_tails(nodes: &[Node], lines: usize) -> String {
    let mut out = String::new();
    for n in nodes {
        let text = std::fs::read_to_string(n.dir.join("node.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        out.push_str(&format!("--- {} (last {lines} lines)\n{tail}\n", n.dir.display()));
    }
    out
}

pub async fn leader(nodes: &[Node], within: Duration) -> usize {
    leader_after(nodes, 0.0, within).await.0
}

/// Store 1's event ids by position, from a replica's file.
pub fn accepted_ids(dir: &Path) -> BTreeMap<u64, Vec<u8>> {
    let s = RegionReplicaStore::open(dir.join("replica.db")).unwrap();
    let all = s.accepted_after(0, 1_000_000).unwrap();
    all.iter().map(|a| (a.child_pos, a.item.event_id().to_string().into_bytes())).collect()
}

pub fn accepted(dir: &Path) -> Vec<u64> {
    let s = RegionReplicaStore::open(dir.join("replica.db")).unwrap();
    s.accepted_after(0, 1_000_000).unwrap().iter().map(|a| a.child_pos).collect()
}

impl Node {
    /// Rewrites its config file through `edit` (before it runs).
    pub fn edit_config(&self, edit: impl FnOnce(&mut toml::Table)) {
        let path = self.dir.join("dcs-regional.toml");
        let mut t: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        edit(&mut t);
        std::fs::write(&path, toml::to_string(&t).unwrap()).unwrap();
    }

    /// SIGTERM, then waits (at most `within`) for a clean exit.
    pub fn term(&mut self, within: Duration) {
        let Some(mut c) = self.child.take() else { return };
        ok(Command::new("kill").args(["-TERM", &c.id().to_string()]));
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                assert!(status.success(), "node {} exited {status}", self.dir.display());
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not stop on SIGTERM",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A gauge of its admin port.
    pub async fn gauge(&self, name: &str) -> Option<f64> {
        gauges(self.admin).await.and_then(|g| g.get(name).copied())
    }
}

/// A region of three node processes with its sinks and a store's client.
pub struct Cluster {
    pub root: tempfile::TempDir,
    pub nodes: Vec<Node>,
    pub broker: Broker,
    pub db: TestDb,
    /// The forwarders' PostgreSQL settings.
    pub pg: dcs_regional::forward::postgres::PostgresSink,
    /// Store 1, over mutual TLS, its events MACed under the tenant's key.
    pub store: Option<StoreClient>,
    /// The first membership, `ID=host:port`.
    pub peers: Vec<String>,
}

impl Cluster {
    /// Initialises three nodes (node 1 bootstraps), lets `edit` change each node's config
    /// (by index), and starts them.
    pub async fn start(mut edit: impl FnMut(usize, &mut toml::Table)) -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let mac = dcs_crypto::MacKey::random(&mut rand_core::OsRng);
        let mac_path = root.path().join("acme.mac");
        std::fs::write(&mac_path, mac.to_secret_bytes().as_slice()).unwrap();
        let broker = Broker::start();
        let (db, pg) = pg_sink(root.path()).await;
        let mut c = Cluster { root, nodes: vec![], broker, db, pg, store: None, peers: vec![] };
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        c.peers =
            ports.iter().enumerate().map(|(i, p)| format!("{}=127.0.0.1:{}", i + 1, p.0)).collect();
        for (i, (grpc, admin)) in ports.into_iter().enumerate() {
            let n = c.init_node(i as u64 + 1, grpc, admin, i == 0);
            n.edit_config(|t| edit(i, t));
            c.nodes.push(n);
        }
        for n in &mut c.nodes {
            n.spawn();
        }
        let ca = dcs_daemon::tls::DevCa::open_or_create(&c.root.path().join("ca")).unwrap();
        let store_tls =
            ca.write_node(&c.root.path().join("store"), "store-1", &["store-1"]).unwrap();
        let mut s = StoreClient::new(1, Some(store_tls.client_config("dcs-regional").unwrap()));
        s.reseal = Some(Box::new(move |e| e.set_mac(mac.compute(&e.canonical_bytes()).to_vec())));
        c.store = Some(s);
        c
    }

    /// Initialises node `id`'s data directory (its certificate from the cluster's CA, the
    /// tenant's MAC key, both sinks); `bootstrap` makes the first membership of the peers.
    pub fn init_node(&self, id: u64, grpc: u16, admin: u16, bootstrap: bool) -> Node {
        let n = Node { dir: self.root.path().join(format!("n{id}")), grpc, admin, child: None };
        let mut init = Command::new(bin());
        init.args(["init", "--data-dir"]).arg(&n.dir);
        init.args(["--id", &id.to_string(), "--store", "1"]);
        init.args(["--listen", &format!("127.0.0.1:{grpc}")]);
        init.args(["--admin", &format!("127.0.0.1:{admin}")]);
        init.arg(format!("--mac-key=acme={}", self.root.path().join("acme.mac").display()));
        init.arg(format!("--postgres={}", self.pg.url));
        let password = self.pg.password_file.as_ref().unwrap();
        init.arg(format!("--postgres-password-file={}", password.display()));
        init.arg(format!("--kafka={}", self.broker.brokers));
        for p in &self.peers {
            init.arg(format!("--peer={p}"));
        }
        if bootstrap {
            init.arg("--bootstrap");
        }
        ok(&mut init);
        ok(Command::new(bin())
            .args(["dev-certs", "--data-dir"])
            .arg(&n.dir)
            .arg("--ca-dir")
            .arg(self.root.path().join("ca")));
        n
    }

    /// Every node's sync URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    /// Waits until every running node has applied what the leader had applied (read 200 ms
    /// after the last ack, so its 50 ms gauge covers that ack's entry).
    pub async fn caught_up(&self, within: Duration) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let l = leader(&self.nodes, Duration::from_secs(10)).await;
        let target = self.nodes[l].gauge("dcs_regional_last_applied").await;
        let target = target.expect("the leader reports last_applied");
        let start = Instant::now();
        loop {
            let mut applied = vec![];
            for n in &self.nodes {
                applied.push(n.gauge("dcs_regional_last_applied").await);
            }
            if applied.iter().all(|a| a.is_some_and(|a| a >= target)) {
                return;
            }
            assert!(start.elapsed() < within, "replicas did not apply up to {target}: {applied:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The checker: waits until PostgreSQL and Kafka hold everything `s` saw acknowledged,
    /// stops every node with SIGTERM, then compares the acknowledgements with every
    /// replica's file and with each sink: lost, duplicated and unexpected must all be 0.
    pub async fn check(&mut self, s: &StoreClient) {
        // What the store saw acknowledged, less what the region refused (and told it why).
        let refused: BTreeSet<u64> = s.m.rejections().map(|r| r.pos).collect();
        let acked: Vec<u64> = (1..=s.acked).filter(|p| !refused.contains(p)).collect();
        self.caught_up(Duration::from_secs(30)).await;
        let ids: BTreeMap<u64, Vec<u8>> = accepted_ids(&self.nodes[0].dir);
        let start = Instant::now();
        let (rows, keys) = loop {
            let rows = pg_rows(&self.db).await;
            let brokers = self.broker.brokers.clone();
            let keys = tokio::task::spawn_blocking(move || {
                kafka_keys(&brokers, &["dcs.events.acme".to_string()])
            })
            .await
            .unwrap();
            let pg_done = acked.iter().all(|p| rows.contains_key(&("store-1".to_string(), *p)));
            let kafka_done = acked.iter().all(|p| ids.get(p).is_some_and(|k| keys.contains_key(k)));
            if pg_done && kafka_done {
                break (rows, keys);
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "not forwarded within 60 s: PostgreSQL {}, Kafka {} of {}",
                rows.len(),
                keys.len(),
                acked.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        println!("forwarded to both sinks {:?} after the replicas caught up", start.elapsed());
        let stopping = Instant::now();
        for n in &mut self.nodes {
            if let Some(c) = &n.child {
                ok(Command::new("kill").args(["-TERM", &c.id().to_string()]));
            }
        }
        for n in &mut self.nodes {
            n.term(Duration::from_secs(20));
        }
        println!("all stopped on SIGTERM within {:?}", stopping.elapsed());

        let report = |what: String, held: usize, lost: usize, dup: usize, unexpected: usize| {
            println!("{what}: {held} held, lost {lost}, duplicated {dup}, unexpected {unexpected}");
            assert_eq!((lost, dup, unexpected), (0, 0, 0), "{what}");
        };
        for n in &self.nodes {
            let held = accepted(&n.dir);
            let mut counts = BTreeMap::new();
            for p in &held {
                *counts.entry(*p).or_insert(0u32) += 1;
            }
            let lost = acked.iter().filter(|p| !counts.contains_key(p)).count();
            let dup = counts.values().filter(|c| **c > 1).count();
            let unexpected = counts.keys().filter(|p| **p > s.next || refused.contains(p)).count();
            report(n.dir.display().to_string(), held.len(), lost, dup, unexpected);
        }
        let lost =
            acked.iter().filter(|p| !rows.contains_key(&("store-1".to_string(), **p))).count();
        let dup = rows.values().filter(|c| **c > 1).count();
        let unexpected = rows
            .keys()
            .filter(|(st, p)| st != "store-1" || *p > s.next || refused.contains(p))
            .count();
        report("postgres".into(), rows.len(), lost, dup, unexpected);
        let known: BTreeSet<&Vec<u8>> = ids.values().collect();
        let lost = acked.iter().filter(|p| !keys.contains_key(&ids[p])).count();
        let dup = keys.values().filter(|c| **c > 1).count();
        let unexpected = keys.keys().filter(|k| !known.contains(k)).count();
        report("kafka".into(), keys.len(), lost, dup, unexpected);
    }
}
