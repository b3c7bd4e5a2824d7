//! The master under the load of 10,000 stores: a load generator plays `REGIONS` regions over
//! mutual TLS, which between them carry the summaries of `STORES` stores each selling once
//! every `SALE_EVERY_S` seconds (pushed every 250 ms per region, as a region's sync round)
//! and a heartbeat per region each second. It measures the CPU the dcs-master process used
//! (utime + stime from /proc, in cores: the physical limit is the machine's 2) and the ack
//! latency, then pushes as fast as the regions can for the master's ceiling.
//!
//! `cargo bench -p dcs-master --bench load` (`DCS_BENCH_STORES`, default 10,000;
//! `DCS_BENCH_SECONDS`, default 20; 100 stores for 2 s when `cargo test` runs it).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dcs_core::causality::unix_ms_to_ntp64;
use dcs_core::{BranchId, Currency, EventId, EventType, Money, TenantId};
use dcs_proto::pb::regional_master_sync_client::RegionalMasterSyncClient;
use dcs_sync::{EventSummary, Heartbeat, Item, Message, NodeId, Positioned, Push};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const REGIONS: u16 = 20;
const SALE_EVERY_S: u64 = 10;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// CPU seconds (user + system) the process has used.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn summary(region: u16, seq: u64) -> EventSummary {
    let mut random = [0u8; 10];
    random[..2].copy_from_slice(&region.to_be_bytes());
    random[2..10].copy_from_slice(&seq.to_be_bytes());
    let ms = wall_ms();
    EventSummary {
        event_id: EventId::new_v7(ms, random),
        tenant: TenantId::new("acme").unwrap(),
        branch: BranchId::new(format!("store-{}", seq % 500)).unwrap(),
        event_type: EventType::SaleCompleted,
        amount: Money::from_minor(1_250, Currency::EUR),
        hlc: unix_ms_to_ntp64(ms),
        stock: None,
    }
}

struct Region {
    up: mpsc::Sender<dcs_proto::pb::SyncEnvelope>,
    down: tonic::Streaming<dcs_proto::pb::SyncEnvelope>,
    id: NodeId,
    next: u64,
    batch: u64,
}

impl Region {
    async fn open(url: &str, root: &Path, n: u16) -> Region {
        let ca = dcs_daemon::tls::DevCa::open_or_create(&root.join("ca")).unwrap();
        let name = format!("region-{n}");
        let files = ca.write_node(&root.join(&name), &name, &[&name]).unwrap();
        let channel = tonic::transport::Endpoint::from_shared(url.to_string())
            .unwrap()
            .tls_config(files.client_config("dcs-master").unwrap())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let (up, rx) = mpsc::channel(64);
        let down = RegionalMasterSyncClient::new(channel)
            .exchange(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        Region { up, down, id: NodeId::Region(n), next: 0, batch: 0 }
    }

    /// Pushes `count` new summaries and waits for their ack; the latency.
    async fn push(&mut self, count: u64) -> Duration {
        self.batch += 1;
        let items = (0..count)
            .map(|_| {
                self.next += 1;
                Positioned { pos: self.next, item: Item::Summary(summary(self.id_n(), self.next)) }
            })
            .collect();
        let msg = Message::Push(Push {
            batch: self.batch,
            items,
            crdt: None,
            have: 0,
            hlc: unix_ms_to_ntp64(wall_ms()),
            lag: 0,
        });
        let t = Instant::now();
        self.up.send(dcs_proto::sync_to_pb(self.id, &msg).unwrap()).await.unwrap();
        loop {
            let env = self.down.message().await.unwrap().unwrap();
            if let (_, Message::Ack(a)) = dcs_proto::sync_from_pb(env).unwrap()
                && a.durable_pos >= self.next
            {
                return t.elapsed();
            }
        }
    }

    async fn heartbeat(&self) {
        let msg = Message::Heartbeat(Heartbeat { hlc: unix_ms_to_ntp64(wall_ms()), lag: 0 });
        self.up.send(dcs_proto::sync_to_pb(self.id, &msg).unwrap()).await.unwrap();
    }

    fn id_n(&self) -> u16 {
        match self.id {
            NodeId::Region(n) => n,
            _ => 0,
        }
    }
}

fn main() {
    let quick = cfg!(debug_assertions);
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let stores = env("DCS_BENCH_STORES", if quick { 100 } else { 10_000 });
    let seconds = env("DCS_BENCH_SECONDS", if quick { 2 } else { 20 });
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(stores, seconds));
}

async fn run(stores: u64, seconds: u64) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("master");
    let (grpc, admin) = (free_port(), free_port());
    let bin = env!("CARGO_BIN_EXE_dcs-master");
    let mut init = Command::new(bin);
    init.args(["init", "--data-dir"]).arg(&dir);
    for r in 1..=REGIONS {
        init.args(["--region", &r.to_string()]);
    }
    init.args(["--listen", &format!("127.0.0.1:{grpc}"), "--admin", &format!("127.0.0.1:{admin}")]);
    ok(&mut init);
    ok(Command::new(bin)
        .args(["dev-certs", "--data-dir"])
        .arg(&dir)
        .arg("--ca-dir")
        .arg(root.path().join("ca")));
    let mut child: Child = Command::new(bin)
        .args(["run", "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{grpc}");
    let started = Instant::now();
    let admin_addr = format!("127.0.0.1:{admin}");
    while !matches!(
        dcs_daemon::admin_client::request(&admin_addr, "GET", "/readyz", "", String::new()).await,
        Ok((200, _))
    ) {
        assert!(started.elapsed() < Duration::from_secs(20), "the master did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut regions = vec![];
    for r in 1..=REGIONS {
        regions.push(Region::open(&url, root.path(), r).await);
    }
    let pid = child.id();

    // Steady: every region's stores sell once per SALE_EVERY_S on average; a push per 250 ms.
    let per_region_per_s = stores as f64 / f64::from(REGIONS) / SALE_EVERY_S as f64;
    let per_push = (per_region_per_s / 4.0).ceil().max(1.0) as u64;
    let cpu0 = cpu_s(pid);
    let t0 = Instant::now();
    let mut tasks = vec![];
    for mut r in regions {
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            let mut sent = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let end = Instant::now() + Duration::from_secs(seconds);
            let mut beats = 0u32;
            while Instant::now() < end {
                tick.tick().await;
                lat.push(r.push(per_push).await);
                sent += per_push;
                beats += 1;
                if beats.is_multiple_of(4) {
                    r.heartbeat().await;
                }
            }
            (r, sent, lat)
        }));
    }
    let mut regions = vec![];
    let (mut sent, mut lat) = (0u64, vec![]);
    for t in tasks {
        let (r, s, l) = t.await.unwrap();
        regions.push(r);
        sent += s;
        lat.extend(l);
    }
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_s(pid) - cpu0);
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    println!(
        "steady: {stores} stores (one sale each per {SALE_EVERY_S} s) through {REGIONS} regions: {sent} summaries in {wall:.1} s ({:.0}/s), {} pushes and {} heartbeats",
        sent as f64 / wall,
        lat.len(),
        lat.len() / 4
    );
    println!(
        "master CPU: {:.3} cores (goal < 1; the machine has 2); ack p50 {:?} p99 {:?}",
        cpu / wall,
        pct(0.5),
        pct(0.99)
    );

    // Ceiling: every region pushes batches of 256 back to back.
    let cpu0 = cpu_s(pid);
    let t0 = Instant::now();
    let mut tasks = vec![];
    for mut r in regions {
        tasks.push(tokio::spawn(async move {
            let end = Instant::now() + Duration::from_secs(seconds.min(10));
            let mut sent = 0u64;
            while Instant::now() < end {
                r.push(256).await;
                sent += 256;
            }
            sent
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_s(pid) - cpu0);
    println!(
        "ceiling: {total} summaries in {wall:.1} s: {:.0}/s at {:.2} cores of the master ({:.0} summaries per master CPU-second); {:.0} stores at one sale per {SALE_EVERY_S} s",
        total as f64 / wall,
        cpu / wall,
        total as f64 / cpu.max(1e-9),
        total as f64 / wall * SALE_EVERY_S as f64
    );
    let _ = child.kill();
    let _ = child.wait();
}
