//! dcs-local throughput: acknowledged sealed appends per second through gRPC with 16
//! concurrent clients (a self-sealing till submits pre-sealed sales with SubmitSealed), beside
//! in-process appends of the same events with the same work (verify MAC and signature, open,
//! append with the facts) in the same run; single-request latency p50/p99; the daemon's RSS
//! as events accumulate.
//!
//! `cargo bench -p dcs-local --bench throughput` (env `DCS_BENCH_EVENTS`, default 20000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use dcs_core::commerce::body::AgentNote;
use dcs_core::commerce::{DomainEvent, EventBody};
use dcs_core::event::SignatureAlgorithm;
use dcs_core::{AgentId, Currency, SovereignFinancialEvent};
use dcs_crypto::{KeyRegistry, MacKey, Signer, Terminal, TerminalConfig};
use dcs_proto::pb;
use dcs_proto::pb::pos_service_client::PosServiceClient;
use dcs_store::ExpectedVersion;
use dcs_store::StreamId;
use sha2::Digest;

const CLIENTS: usize = 16;

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// Registers self-sealing till `till-1` in `dir`; returns its signer and token.
fn add_till(dir: &Path) -> (Signer, String) {
    let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rand_core::OsRng);
    let token = "bench-till-token".to_string();
    let digest: String =
        sha2::Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let entry = format!(
        "\n[[terminal]]\nid = \"till-1\"\ntoken_sha256 = \"{digest}\"\nalgorithm = \"ed25519\"\npublic_key = \"{}\"\nself_sealing = true\n",
        base64::engine::general_purpose::STANDARD.encode(signer.verifier().to_bytes())
    );
    let path = dir.join("terminals.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&entry);
    std::fs::write(path, text).unwrap();
    (signer, token)
}

fn seal_events(dir: &Path, signer: &Signer, n: usize) -> Vec<SovereignFinancialEvent> {
    let keyring = dcs_keys::FileKeyring::open(dir.join("keys/keyring.dcsk")).unwrap();
    let mac = MacKey::from_bytes(&std::fs::read(dir.join("keys/mac.key")).unwrap()).unwrap();
    let mut t = Terminal::new(
        TerminalConfig::new("acme", "store-1", "till-1", Currency::USD).unwrap(),
        [7; 16],
    )
    .unwrap();
    let cashier = AgentId::new("till-1").unwrap();
    (0..n)
        .map(|i| {
            let fact = DomainEvent::new(EventBody::AgentDecisionMade(AgentNote {
                subject: format!("note-{i}"),
                detail: "x".repeat(200),
                amount: None,
            }));
            t.seal(
                &fact,
                &cashier,
                None,
                1_767_225_600_000 + i as u64,
                &mut rand_core::OsRng,
                &keyring,
                &mac,
                signer,
            )
            .unwrap()
        })
        .collect()
}

fn start(dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["run", "--data-dir"])
        .arg(dir)
        .env("DCS_LISTEN__POS", "127.0.0.1:0")
        .env("DCS_LISTEN__ADMIN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.find_map(|l| l.ok().filter(|l| l.starts_with("dcs-local listening"))).unwrap();
    std::thread::spawn(move || for _ in lines {});
    let pos = line.split_whitespace().find_map(|w| w.strip_prefix("pos=")).unwrap().to_string();
    (child, pos)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The same work in process: verify, open, append one event per call, durable.
fn in_process(dir: &Path, events: &[SovereignFinancialEvent], registry: &KeyRegistry) -> f64 {
    let keyring = dcs_keys::FileKeyring::open(dir.join("keys/keyring.dcsk")).unwrap();
    let mac = MacKey::from_bytes(&std::fs::read(dir.join("keys/mac.key")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Keyed like the daemon's store.
    let store = dcs_store::sqlite::SqliteStore::open_keyed(
        tmp.path().join("peer.db"),
        Default::default(),
        &mac,
    )
    .unwrap();
    let stream = StreamId::new("till-1").unwrap();
    let started = Instant::now();
    for e in events {
        dcs_crypto::verify_event(e, &mac, registry).unwrap();
        let plain = dcs_crypto::open_event(e, &keyring).unwrap();
        let body = EventBody::from_bytes(&plain).unwrap();
        store
            .append_with_bodies(&stream, ExpectedVersion::Any, std::slice::from_ref(e), &[body])
            .unwrap();
    }
    events.len() as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let n: usize =
        std::env::var("DCS_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["init", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let (signer, token) = add_till(dir.path());
    let mut registry = KeyRegistry::new();
    registry.register(&AgentId::new("till-1").unwrap(), signer.verifier());
    let latency_n = 2_000.min(n);
    let events = seal_events(dir.path(), &signer, n + latency_n);
    let (bulk, probe) = events.split_at(n);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (mut child, pos) = start(dir.path());
    let pid = child.id();
    let rss_start = rss_kib(pid);
    let (rate, lat, rss_end) = runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{pos}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let auth: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
        let bulk = Arc::new(bulk.to_vec());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let (bulk, channel, auth) = (Arc::clone(&bulk), channel.clone(), auth.clone());
            tasks.push(tokio::spawn(async move {
                let mut client = PosServiceClient::new(channel);
                for e in bulk.iter().skip(c).step_by(CLIENTS) {
                    let mut r = tonic::Request::new(pb::SubmitSealedRequest {
                        stream: format!("till-{c}"),
                        events: vec![pb::SovereignFinancialEvent::from(e)],
                    });
                    r.metadata_mut().insert("authorization", auth.clone());
                    client.submit_sealed(r).await.unwrap();
                }
            }));
        }
        // The daemon's RSS at each tenth of the run: flat, whatever the history.
        let mut samples = Vec::new();
        let total = bulk.len();
        let sampler = tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                out.push((started.elapsed(), rss_kib(pid)));
                if out.len() > 100_000 {
                    break;
                }
                if STOP.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
            }
            out
        });
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = started.elapsed();
        let rate = bulk.len() as f64 / elapsed.as_secs_f64();
        STOP.store(true, std::sync::atomic::Ordering::SeqCst);
        let trace = sampler.await.unwrap();
        for tenth in 1..=10u32 {
            let at = elapsed * tenth / 10;
            if let Some((_, kib)) = trace.iter().rev().find(|(t, _)| *t <= at) {
                samples.push((total as u64 * u64::from(tenth) / 10, *kib));
            }
        }
        for (events, kib) in &samples {
            println!("  rss after {events:>8} events: {kib} KiB");
        }
        let mut client = PosServiceClient::new(channel);
        let mut lat = Vec::with_capacity(probe.len());
        for e in probe {
            let mut r = tonic::Request::new(pb::SubmitSealedRequest {
                stream: "probe".into(),
                events: vec![pb::SovereignFinancialEvent::from(e)],
            });
            r.metadata_mut().insert("authorization", auth.clone());
            let t0 = Instant::now();
            client.submit_sealed(r).await.unwrap();
            lat.push(t0.elapsed());
        }
        lat.sort();
        (rate, lat, rss_kib(pid))
    });
    let _ = child.kill();
    let _ = child.wait();
    let peer = in_process(dir.path(), bulk, &registry);
    println!("dcs-local throughput: {n} sealed events, {CLIENTS} gRPC clients");
    println!("  daemon:     {rate:>9.0} acknowledged appends/s");
    println!("  in-process: {peer:>9.0} appends/s (verify + open + durable append, one thread)");
    println!("  ratio daemon / in-process: {:.2} (goal >= 0.5)", rate / peer);
    println!(
        "  single request: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 10 ms)",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "  daemon RSS: {rss_start} KiB at start, {rss_end} KiB after {} events",
        n + latency_n
    );
}
