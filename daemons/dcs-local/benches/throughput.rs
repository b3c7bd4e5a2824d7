//! dcs-local throughput: acknowledged sealed appends per second through gRPC with 16
//! concurrent clients (a self-sealing till submits pre-sealed sales with SubmitSealed), beside
//! in-process appends of the same events with the same work (verify MAC and signature, open,
//! append with the facts) in the same run; single-request latency p50/p99; the daemon's RSS
//! as events accumulate.
//!
//! `cargo bench -p dcs-local --bench throughput` (env `DCS_BENCH_EVENTS`, default 20000;
//! 300 when `cargo test` runs it as a smoke test).
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

/// Any failure of the bench's own setup or of a request: the run stops with its message.
type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

use std::path::Path;
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
fn add_till(dir: &Path) -> R<(Signer, String)> {
    let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rand_core::OsRng);
    let token = "bench-till-token".to_string();
    let digest: String =
        sha2::Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let entry = format!(
        "\n[[terminal]]\nid = \"till-1\"\ntoken_sha256 = \"{digest}\"\nalgorithm = \"ed25519\"\npublic_key = \"{}\"\nself_sealing = true\n",
        base64::engine::general_purpose::STANDARD.encode(signer.verifier().to_bytes())
    );
    let path = dir.join("terminals.toml");
    let mut text = std::fs::read_to_string(&path)?;
    text.push_str(&entry);
    std::fs::write(path, text)?;
    Ok((signer, token))
}

/// The data key the daemon leases the till (`ProvisionTill`), as the till's provider.
async fn lease(pos: &str, token: &str) -> R<(dcs_crypto::SealingKey, u64, u64)> {
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{pos}"))?.connect().await?;
    let mut c = PosServiceClient::new(channel);
    let mut r = tonic::Request::new(pb::ProvisionTillRequest {});
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse()?);
    let l = c.provision_till(r).await?.into_inner().lease.ok_or("no lease")?;
    let key = dcs_crypto::SealingKey {
        id: l.data_key_id.as_slice().try_into()?,
        key: dcs_crypto::DataKey::from_slice(&l.data_key)?,
        wrapped: dcs_crypto::WrappedKey {
            kek: dcs_crypto::KekRef::new(l.kek_id, l.kek_version),
            bytes: l.wrapped,
        },
    };
    Ok((key, l.max_uses, l.expires_unix_ms))
}

/// `n` events sealed as the till seals them: with the data key the daemon leased it.
fn seal_events(
    dir: &Path,
    signer: &Signer,
    n: usize,
    (key, max_uses, expires): (dcs_crypto::SealingKey, u64, u64),
) -> R<Vec<SovereignFinancialEvent>> {
    let keyring = dcs_crypto::lease::LeasedKeys::new(key.wrapped.kek.clone());
    let mac = MacKey::from_bytes(&std::fs::read(dir.join("keys/mac.key"))?)?;
    let mut t =
        Terminal::new(TerminalConfig::new("acme", "store-1", "till-1", Currency::USD)?, [7; 16])?;
    t.lease(key, 1_767_225_600_000, max_uses, expires);
    let cashier = AgentId::new("till-1")?;
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
            .map_err(Into::into)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The same work in process: verify, open, append one event per call, durable.
fn in_process(dir: &Path, events: &[SovereignFinancialEvent], registry: &KeyRegistry) -> R<f64> {
    let keyring = dcs_keys::FileKeyring::open(dir.join("keys/keyring.dcsk"))?;
    let mac = MacKey::from_bytes(&std::fs::read(dir.join("keys/mac.key"))?)?;
    let tmp = tempfile::tempdir()?;
    // Keyed like the daemon's store.
    let store = dcs_store::sqlite::SqliteStore::open_keyed(
        tmp.path().join("peer.db"),
        Default::default(),
        &mac,
    )?;
    let stream = StreamId::new("till-1")?;
    let started = Instant::now();
    for e in events {
        dcs_crypto::verify_event(e, &mac, registry)?;
        let plain = dcs_crypto::open_event(e, &keyring)?;
        let body = EventBody::from_bytes(&plain)?;
        store.append_with_bodies(
            &stream,
            ExpectedVersion::Any,
            std::slice::from_ref(e),
            &[body],
        )?;
    }
    Ok(events.len() as f64 / started.elapsed().as_secs_f64())
}

fn main() -> R<()> {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary as a smoke
    // test without it, with a small count.
    let default = if std::env::args().any(|a| a == "--bench") { 20_000 } else { 300 };
    let n: usize =
        std::env::var("DCS_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let dir = tempfile::tempdir()?;
    common::init(dir.path());
    let (signer, token) = add_till(dir.path())?;
    let mut registry = KeyRegistry::new();
    registry.register(&AgentId::new("till-1")?, signer.verifier());
    let latency_n = 2_000.min(n);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let uses = (n + latency_n).to_string();
    let daemon = common::start_with(dir.path(), &token, &[("DCS_TILL__LEASE_MAX_USES", &uses)]);
    let leased = runtime.block_on(lease(&daemon.pos, &token))?;
    let events = seal_events(dir.path(), &signer, n + latency_n, leased)?;
    let (bulk, probe) = events.split_at(n);

    let (pid, pos) = (daemon.child.id(), daemon.pos.clone());
    let rss_start = rss_kib(pid);
    let (rate, lat, rss_end) = runtime.block_on(async {
        let channel =
            tonic::transport::Channel::from_shared(format!("http://{pos}"))?.connect().await?;
        let auth: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse()?;
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
                        sealed: vec![],
                    });
                    r.metadata_mut().insert("authorization", auth.clone());
                    client.submit_sealed(r).await?;
                }
                R::Ok(())
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
            t.await??;
        }
        let elapsed = started.elapsed();
        let rate = bulk.len() as f64 / elapsed.as_secs_f64();
        STOP.store(true, std::sync::atomic::Ordering::SeqCst);
        let trace = sampler.await?;
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
                sealed: vec![],
            });
            r.metadata_mut().insert("authorization", auth.clone());
            let t0 = Instant::now();
            client.submit_sealed(r).await?;
            lat.push(t0.elapsed());
        }
        lat.sort();
        R::Ok((rate, lat, rss_kib(pid)))
    })?;
    daemon.kill();
    let peer = in_process(dir.path(), bulk, &registry)?;
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
    Ok(())
}
