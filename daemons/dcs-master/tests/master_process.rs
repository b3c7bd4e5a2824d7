//! dcs-master as a real process over mutual TLS: a region's pushes of summaries are stored
//! once (a re-sent summary at a new position too) and acknowledged; the registry says when
//! each region last synced; the admin API answers from what is persisted, refuses calls
//! without the token and bad prices, and a central price comes back down in the acks; who
//! may speak for a region is its certificate's name; a newer protocol version is refused
//! with the master's own; SIGTERM exits 0 and a restart keeps everything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dcs_core::causality::unix_ms_to_ntp64;
use dcs_core::{BranchId, Currency, EventId, EventType, Money, TenantId};
use dcs_proto::pb;
use dcs_proto::pb::regional_master_sync_client::RegionalMasterSyncClient;
use dcs_sync::{EventSummary, Item, Message, NodeId, Positioned, Push};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::ClientTlsConfig;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

struct Master {
    dir: PathBuf,
    grpc: u16,
    admin: u16,
    child: Option<Child>,
    token: String,
}

impl Master {
    fn init(root: &Path) -> Master {
        let dir = root.join("master");
        let (grpc, admin) = (free_port(), free_port());
        ok(Command::new(env!("CARGO_BIN_EXE_dcs-master"))
            .args(["init", "--data-dir"])
            .arg(&dir)
            .args(["--region", "1", "--region", "2"])
            .args([
                "--listen",
                &format!("127.0.0.1:{grpc}"),
                "--admin",
                &format!("127.0.0.1:{admin}"),
            ]));
        ok(Command::new(env!("CARGO_BIN_EXE_dcs-master"))
            .args(["dev-certs", "--data-dir"])
            .arg(&dir)
            .arg("--ca-dir")
            .arg(root.join("ca")));
        let token = std::fs::read_to_string(dir.join("admin.token")).unwrap().trim().to_string();
        Master { dir, grpc, admin, child: None, token }
    }

    async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("master.log"))
            .unwrap();
        self.child = Some(
            Command::new(env!("CARGO_BIN_EXE_dcs-master"))
                .args(["run", "--data-dir"])
                .arg(&self.dir)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.get_raw("/readyz", "").await.map(|(s, _)| s) != Some(200) {
            assert!(Instant::now() < deadline, "dcs-master did not get ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM; the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        ok(Command::new("kill").args(["-TERM", &c.id().to_string()]));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "dcs-master did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GET `path` over a bare HTTP/1.1 connection, with `Accept-Encoding: encoding` if
    /// given: (lower-cased response head, body bytes).
    async fn raw_get(&self, path: &str, encoding: Option<&str>) -> (String, usize) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", self.admin)).await.unwrap();
        let accept = encoding.map(|e| format!("accept-encoding: {e}\r\n")).unwrap_or_default();
        let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\n{accept}connection: close\r\n\r\n");
        c.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).await.unwrap();
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        (String::from_utf8_lossy(&out[..split]).to_lowercase(), out.len() - split - 4)
    }

    async fn get_raw(&self, path: &str, token: &str) -> Option<(u16, String)> {
        self.call("GET", path, token, String::new()).await
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: String,
    ) -> Option<(u16, String)> {
        dcs_daemon::admin_client::request(
            &format!("127.0.0.1:{}", self.admin),
            method,
            path,
            token,
            body,
        )
        .await
        .ok()
    }

    /// An authorized API call: (status, JSON).
    async fn api(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        self.api_as(&self.token, method, path, body).await
    }

    /// An API call with `token`: (status, JSON).
    async fn api_as(&self, token: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = self.call(method, path, token, body.to_string()).await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// `dcs-master admin …`; its stdout.
    fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_dcs-master"))
            .args(["admin", "--data-dir"])
            .arg(&self.dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Signs `name` in; the session token.
    async fn login(&self, name: &str, password: &str) -> (u16, Value) {
        let body = serde_json::json!({ "name": name, "password": password }).to_string();
        self.api_as("", "POST", "/api/v1/login", &body).await
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.grpc)
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A client certificate named `name` from the test's development CA.
fn client_tls(root: &Path, name: &str) -> ClientTlsConfig {
    let ca = dcs_daemon::tls::DevCa::open_or_create(&root.join("ca")).unwrap();
    let files = ca.write_node(&root.join(format!("client-{name}")), name, &[name]).unwrap();
    files.client_config("dcs-master").unwrap()
}

/// One exchange stream: what goes up, what comes down.
struct Stream {
    up: mpsc::Sender<pb::SyncEnvelope>,
    down: tonic::Streaming<pb::SyncEnvelope>,
}

/// A `RegionalMasterSync` client of `master` over mutual TLS as `tls`'s certificate.
async fn client(
    url: String,
    tls: ClientTlsConfig,
) -> RegionalMasterSyncClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    RegionalMasterSyncClient::new(channel)
}

async fn open(master: &Master, tls: ClientTlsConfig) -> Stream {
    let (up, rx) = mpsc::channel(16);
    let down = client(master.url(), tls)
        .await
        .exchange(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    Stream { up, down }
}

impl Stream {
    async fn send(&self, from: NodeId, msg: &Message) {
        self.up.send(dcs_proto::sync_to_pb(from, msg).unwrap()).await.unwrap();
    }

    /// The next answer (Ok message or the stream's error status).
    async fn next(&mut self) -> Result<Message, tonic::Status> {
        match tokio::time::timeout(Duration::from_secs(10), self.down.message()).await {
            Ok(Ok(Some(env))) => Ok(dcs_proto::sync_from_pb(env).unwrap().1),
            Ok(Ok(None)) => Err(tonic::Status::cancelled("the stream ended")),
            Ok(Err(s)) => Err(s),
            Err(_) => panic!("no answer from the master within 10 s"),
        }
    }

    /// The next ack (skipping heartbeats).
    async fn ack(&mut self) -> dcs_sync::Ack {
        loop {
            match self.next().await {
                Ok(Message::Ack(a)) => return a,
                Ok(_) => continue,
                Err(s) => panic!("the stream failed: {s}"),
            }
        }
    }
}

fn summary(seq: u64, amount_minor: i64) -> EventSummary {
    summary_of("acme", seq, amount_minor)
}

fn summary_of(tenant: &str, seq: u64, amount_minor: i64) -> EventSummary {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&seq.to_be_bytes());
    let ms = wall_ms();
    EventSummary {
        event_id: EventId::new_v7(ms, random),
        tenant: TenantId::new(tenant).unwrap(),
        branch: BranchId::new("store-1").unwrap(),
        event_type: EventType::SaleCompleted,
        amount: Money::from_minor(amount_minor, Currency::EUR),
        hlc: unix_ms_to_ntp64(ms),
        stock: None,
    }
}

fn push(batch: u64, items: Vec<(u64, EventSummary)>) -> Message {
    Message::Push(Push {
        batch,
        items: items
            .into_iter()
            .map(|(pos, s)| Positioned { pos, item: Item::Summary(s) })
            .collect(),
        crdt: None,
        have: 0,
        hlc: unix_ms_to_ntp64(wall_ms()),
        lag: 0,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_syncs_with_the_master_and_a_restart_keeps_everything() {
    let root = tempfile::tempdir().unwrap();
    let mut master = Master::init(root.path());
    let cfg = master.dir.join("dcs-master.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("sample_every_s = 60", "sample_every_s = 1")).unwrap();
    master.start().await;
    let region1 = NodeId::Region(1);

    // Five summaries, acknowledged once durable.
    let sums: Vec<EventSummary> = (1..=5).map(|k| summary(k, 100 * k as i64)).collect();
    let mut s = open(&master, client_tls(root.path(), "region-1")).await;
    s.send(
        region1,
        &push(1, sums.iter().cloned().enumerate().map(|(i, x)| (i as u64 + 1, x)).collect()),
    )
    .await;
    let ack = s.ack().await;
    assert_eq!((ack.batch, ack.durable_pos), (1, 5));
    // A retransmission, and the first summary again at a new position: stored once.
    s.send(region1, &push(2, vec![(1, sums[0].clone()), (6, sums[0].clone())])).await;
    let ack = s.ack().await;
    assert_eq!(ack.durable_pos, 6);

    // The admin API, from what is persisted.
    let (status, _) = master.get_raw("/api/v1/summaries", "").await.unwrap();
    assert_eq!(status, 401, "no token, no answer");
    let (status, _) = master.get_raw("/api/v1/summaries", "not-the-token").await.unwrap();
    assert_eq!(status, 401, "a forged token is refused");
    let (status, body) = master.api("GET", "/api/v1/summaries?after=0&limit=10", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 5, "{body}");
    let (_, body) = master.api("GET", "/api/v1/sales?tenant=acme", "").await;
    let total: i64 =
        body["sales"].as_array().unwrap().iter().map(|r| r["amount_minor"].as_i64().unwrap()).sum();
    let count: u64 =
        body["sales"].as_array().unwrap().iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!((count, total), (5, 1_500), "{body}");
    let (_, body) = master.api("GET", "/api/v1/regions", "").await;
    let r1 = body["regions"].as_array().unwrap().iter().find(|r| r["region"] == 1).unwrap().clone();
    assert_eq!(r1["health"], "alive", "{body}");
    assert!(r1["last_successful_sync_ms"].as_u64().is_some(), "{body}");
    let r2 = body["regions"].as_array().unwrap().iter().find(|r| r["region"] == 2).unwrap().clone();
    assert!(r2["last_successful_sync_ms"].is_null(), "region 2 never synced: {body}");
    // Lag over time: sampled every second here.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (status, body) = master.api("GET", "/api/v1/regions/history?since_ms=0", "").await;
    assert_eq!(status, 200, "{body}");
    let samples = body["samples"].as_array().unwrap();
    assert!(samples.iter().any(|x| x["region"] == 1 && x["health"] == "alive"), "{body}");
    assert!(samples.iter().any(|x| x["region"] == 2), "every configured region is sampled: {body}");
    // Gzip for clients that ask, plain for the others.
    let (plain, zipped) = (
        master.raw_get("/api/v1/openapi.json", None).await,
        master.raw_get("/api/v1/openapi.json", Some("gzip")).await,
    );
    assert!(plain.0.contains("200 ok") && !plain.0.contains("content-encoding"), "{}", plain.0);
    assert!(zipped.0.contains("content-encoding: gzip"), "{}", zipped.0);
    assert!(zipped.1 * 3 < plain.1, "gzip: {} bytes of {}", zipped.1, plain.1);

    // Bad prices change nothing; a good one comes down in the next ack.
    let (status, body) = master.api("PUT", "/api/v1/prices/COFFEE", r#"{"price_minor": -5}"#).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("price_minor"), "{body}");
    let (status, body) =
        master.api("PUT", "/api/v1/prices/has%20space", r#"{"price_minor": 5}"#).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("sku"), "{body}");
    let (status, body) = master.api("PUT", "/api/v1/prices/COFFEE", r#"{"price": 5}"#).await;
    assert_eq!(status, 400, "{body}");
    let (_, body) = master.api("GET", "/api/v1/prices?sku=COFFEE", "").await;
    assert!(body["prices"][0]["price_minor"].is_null(), "nothing changed: {body}");
    let (status, body) =
        master.api("PUT", "/api/v1/prices/COFFEE", r#"{"price_minor": 450}"#).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = master.api("GET", "/api/v1/prices?sku=COFFEE", "").await;
    assert_eq!(body["prices"][0]["price_minor"], 450, "{body}");
    s.send(region1, &push(3, vec![])).await;
    let ack = s.ack().await;
    assert!(
        matches!(&ack.crdt, Some(dcs_sync::CrdtPayload::Delta { upto, .. }) if *upto >= 1)
            || matches!(&ack.crdt, Some(dcs_sync::CrdtPayload::Full { .. })),
        "the price comes down in the ack: {:?}",
        ack.crdt
    );

    // SIGTERM exits 0; a restart keeps the summaries, the aggregates, the price and the
    // registry.
    drop(s);
    assert!(master.stop().success(), "SIGTERM exits 0");
    master.start().await;
    let (_, body) = master.api("GET", "/api/v1/summaries?after=0&limit=10", "").await;
    assert_eq!(body["count"], 5, "{body}");
    let (_, body) = master.api("GET", "/api/v1/prices?sku=COFFEE", "").await;
    assert_eq!(body["prices"][0]["price_minor"], 450, "{body}");
    let (_, body) = master.api("GET", "/api/v1/regions", "").await;
    let r1 = body["regions"].as_array().unwrap().iter().find(|r| r["region"] == 1).unwrap().clone();
    assert!(r1["last_successful_sync_ms"].as_u64().is_some(), "{body}");
    // The region resends what it did not see acknowledged: still once.
    let mut s = open(&master, client_tls(root.path(), "region-1")).await;
    s.send(region1, &push(4, vec![(6, sums[0].clone())])).await;
    assert_eq!(s.ack().await.durable_pos, 6);
    let (_, body) = master.api("GET", "/api/v1/summaries?after=0&limit=10", "").await;
    assert_eq!(body["count"], 5, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_regions_own_certificate_speaks_for_it_and_bad_input_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let mut master = Master::init(root.path());
    master.start().await;
    let one = || push(1, vec![(1, summary(1, 100))]);

    // Region 2's certificate cannot speak for region 1; a store's cannot speak for a region.
    for name in ["region-2", "store-1"] {
        let mut s = open(&master, client_tls(root.path(), name)).await;
        s.send(NodeId::Region(1), &one()).await;
        let e = s.next().await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{name}: {e}");
        assert!(e.message().contains("region-1"), "{e}");
    }
    // A region the master does not serve.
    let mut s = open(&master, client_tls(root.path(), "region-9")).await;
    s.send(NodeId::Region(9), &one()).await;
    let e = s.next().await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert!(e.message().contains("not a region of this master"), "{e}");
    // A stream speaks for one region.
    let mut s = open(&master, client_tls(root.path(), "region-1")).await;
    s.send(NodeId::Region(1), &push(1, vec![])).await;
    s.ack().await;
    s.send(NodeId::Region(2), &push(1, vec![])).await;
    let e = loop {
        match s.next().await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e}");
    // A newer protocol version gets the master's version back.
    let mut s = open(&master, client_tls(root.path(), "region-1")).await;
    let mut env = dcs_proto::sync_to_pb(NodeId::Region(1), &one()).unwrap();
    env.version = 200;
    s.up.send(env).await.unwrap();
    match s.next().await {
        Ok(Message::Refuse(r)) => assert_eq!(r.supported_version, dcs_sync::PROTOCOL_VERSION),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A push over the master's limit.
    let mut s = open(&master, client_tls(root.path(), "region-1")).await;
    let big: Vec<(u64, EventSummary)> = (1..=2_000).map(|k| (k, summary(k, 1))).collect();
    s.send(NodeId::Region(1), &push(2, big)).await;
    let e = s.next().await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
    assert!(e.message().starts_with("items"), "{e}");
    // Nothing of the refused messages was stored.
    let (_, body) = master.api("GET", "/api/v1/summaries?after=0&limit=10", "").await;
    assert_eq!(body["count"], 0, "{body}");
    let (status, body) = master.api("GET", "/api/v1/sales?from_hour=9&to_hour=1", "").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("from_hour"), "{body}");
    let (status, _) = master.api("GET", "/api/v1/sales?colour=blue", "").await;
    assert_eq!(status, 400, "an unknown query parameter is refused");
    // Every route the OpenAPI document names is served (a wrong method is 405, not 404).
    for route in dcs_master::api::ROUTES {
        let path = route.replace("{sku}", "MUG");
        let (status, body) = master.api("GET", &path, "").await;
        assert_ne!(status, 404, "{path}: {body}");
    }
    let (status, body) = master.api("GET", "/api/v1/nothing-here", "").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_and_change_only_what_their_grants_allow_and_every_change_is_audited() {
    let root = tempfile::tempdir().unwrap();
    let mut master = Master::init(root.path());
    let cfg = master.dir.join("dcs-master.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replace("session_ttl_s = 28800", "session_ttl_s = 3");
    std::fs::write(&cfg, text.replace("lockout_s = 60", "lockout_s = 2")).unwrap();
    let pw = root.path().join("pw");
    std::fs::write(&pw, "a long enough password\n").unwrap();
    let pw = pw.to_str().unwrap();
    master.admin(&[
        "create-user",
        "--name",
        "alice",
        "--grant",
        "acme=operator",
        "--password-file",
        pw,
    ]);
    master.admin(&[
        "create-user",
        "--name",
        "gus",
        "--grant",
        "globex=viewer",
        "--password-file",
        pw,
    ]);
    master.admin(&[
        "create-user",
        "--name",
        "carol",
        "--grant",
        "*=operator",
        "--password-file",
        pw,
    ]);
    let ci = master
        .admin(&["create-token", "--name", "ci", "--grant", "acme=viewer"])
        .trim()
        .to_string();
    assert!(ci.starts_with("dcs_t_"), "{ci}");
    master.start().await;

    // Sales of two tenants.
    let mut s = open(&master, client_tls(root.path(), "region-1")).await;
    let items = vec![
        (1, summary_of("acme", 1, 100)),
        (2, summary_of("globex", 2, 7)),
        (3, summary_of("acme", 3, 50)),
    ];
    s.send(NodeId::Region(1), &push(1, items)).await;
    assert_eq!(s.ack().await.durable_pos, 3);

    // Sign-in.
    let (status, body) = master.login("alice", "not the password").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = master.login("nobody", "a long enough password").await;
    assert_eq!(status, 401, "an unknown name gets the same answer: {body}");
    let (status, body) = master.api_as("", "POST", "/api/v1/login", "{\"name\": 1}").await;
    assert_eq!(status, 400, "{body}");
    // Guessing: five wrong passwords lock the name out, even for the right one, for 2 s.
    for _ in 0..5 {
        assert_eq!(master.login("gus", "a guess, wrong").await.0, 401);
    }
    let (status, body) = master.login("gus", "a long enough password").await;
    assert_eq!(status, 429, "locked out after 5 failures: {body}");
    assert!(body["error"].as_str().unwrap().contains("retry in"), "{body}");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let sign_in = |name: &'static str| {
        let m = &master;
        async move {
            let (status, body) = m.login(name, "a long enough password").await;
            assert_eq!(status, 200, "{body}");
            body["token"].as_str().unwrap().to_string()
        }
    };
    let alice = sign_in("alice").await;
    let gus = sign_in("gus").await;
    let carol = sign_in("carol").await;
    let (_, me) = master.api_as(&alice, "GET", "/api/v1/me", "").await;
    assert_eq!(me["name"], "alice");

    // Each reads its own tenant's sales, and nothing of another's.
    let total = |body: &Value| -> (u64, i64) {
        let rows = body["sales"].as_array().unwrap();
        assert!(rows.iter().all(|r| r["tenant"] == rows[0]["tenant"]), "one tenant: {body}");
        (
            rows.iter().map(|r| r["count"].as_u64().unwrap()).sum(),
            rows.iter().map(|r| r["amount_minor"].as_i64().unwrap()).sum(),
        )
    };
    let (status, body) = master.api_as(&alice, "GET", "/api/v1/sales", "").await;
    assert_eq!((status, total(&body)), (200, (2, 150)), "{body}");
    let (status, body) = master.api_as(&gus, "GET", "/api/v1/sales", "").await;
    assert_eq!((status, total(&body)), (200, (1, 7)), "{body}");
    for (who, path) in [
        (&alice, "/api/v1/sales?tenant=globex"),
        (&alice, "/api/v1/stock?tenant=globex"),
        (&gus, "/api/v1/sales?tenant=acme"),
        (&ci, "/api/v1/sales?tenant=globex"),
        (&alice, "/api/v1/summaries"),
        (&alice, "/api/v1/rejected"),
    ] {
        let (status, body) = master.api_as(who, "GET", path, "").await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body["error"].as_str().unwrap().contains("role"), "{body}");
    }
    let (status, body) = master.api_as(&alice, "GET", "/api/v1/stores", "").await;
    assert_eq!(status, 200, "{body}");
    let stores = body["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 1, "alice sees acme's store only: {body}");
    assert_eq!(
        (stores[0]["branch"].as_str(), stores[0]["events"].as_u64()),
        (Some("store-1"), Some(2))
    );
    let (status, body) = master.api_as(&ci, "GET", "/api/v1/stock?tenant=acme", "").await;
    assert_eq!(status, 200, "the API token reads its tenant: {body}");
    let (status, _) = master.api_as(&carol, "GET", "/api/v1/sales?tenant=globex", "").await;
    assert_eq!(status, 200, "a grant on every tenant reads any");

    // The central price list is every tenant's: only an operator of every tenant changes it.
    let (status, body) =
        master.api_as(&alice, "PUT", "/api/v1/prices/MUG", r#"{"price_minor": 300}"#).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = master.api_as(&ci, "PUT", "/api/v1/catalog/MUG", "").await;
    assert_eq!(status, 403, "{body}");
    let (_, body) = master.api_as(&alice, "GET", "/api/v1/prices?sku=MUG", "").await;
    assert!(body["prices"][0]["price_minor"].is_null(), "nothing changed: {body}");
    // A price in another currency than the master's is refused, naming the field.
    let eur = r#"{"price_minor": 300, "currency": "EUR"}"#;
    let (status, body) = master.api_as(&carol, "PUT", "/api/v1/prices/MUG", eur).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("currency: "), "{body}");
    assert!(body["error"].as_str().unwrap().contains("USD"), "says which: {body}");
    let (_, body) = master.api_as(&alice, "GET", "/api/v1/prices?sku=MUG", "").await;
    assert!(body["prices"][0]["price_minor"].is_null(), "nothing changed: {body}");
    assert_eq!(body["currency"], "USD", "the prices say their currency: {body}");
    let usd = r#"{"price_minor": 300, "currency": "USD"}"#;
    let (status, body) = master.api_as(&carol, "PUT", "/api/v1/prices/MUG", usd).await;
    assert_eq!((status, body["currency"].as_str()), (200, Some("USD")), "{body}");
    // Its arrival lists every region's stores: a grant on one tenant does not read it.
    let (status, body) = master.api_as(&alice, "GET", "/api/v1/prices/MUG/arrival", "").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = master.api_as(&carol, "GET", "/api/v1/prices/MUG/arrival", "").await;
    assert_eq!((status, body["price_minor"].as_i64()), (200, Some(300)), "{body}");

    // The audit log names every change's author and its chain verifies.
    let (status, body) = master.api_as(&carol, "GET", "/api/v1/audit", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verification"]["intact"], true, "{body}");
    let entries = body["entries"].as_array().unwrap();
    let price = entries.iter().find(|e| e["action"] == "set_price").unwrap();
    assert_eq!(price["actor"], "carol");
    assert!(price["detail"].as_str().unwrap().contains("300"));
    assert!(entries.iter().any(|e| e["action"] == "create_token" && e["actor"] == "cli"));
    assert_eq!(entries.iter().filter(|e| e["action"] == "login").count(), 3);

    // Signing out ends the session; a session ends by itself after session_ttl_s.
    let (status, _) = master.api_as(&alice, "POST", "/api/v1/logout", "").await;
    assert_eq!(status, 200);
    let (status, body) = master.api_as(&alice, "GET", "/api/v1/sales", "").await;
    assert_eq!(status, 401, "signed out: {body}");
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let (status, body) = master.api_as(&carol, "GET", "/api/v1/regions", "").await;
    assert_eq!(status, 401, "expired: {body}");
    let (status, _) = master.api_as(&ci, "GET", "/api/v1/regions", "").await;
    assert_eq!(status, 200, "the API token lives on");
}

/// A region's status report as its leader sends it.
fn status(region: u32, term: u64, members: usize) -> pb::RegionStatus {
    pb::RegionStatus {
        region,
        term,
        leader: 2,
        committed: 40,
        applied: 40,
        nodes: (1..=members as u64)
            .map(|id| pb::RaftNodeStatus {
                id,
                addr: format!("127.0.0.1:{}", 7000 + id),
                voter: true,
                matched: (id != 3).then_some(40 - id),
            })
            .collect(),
        at_unix_ms: wall_ms(),
        version: "0.1.0".into(),
        sinks: vec![
            pb::SinkStatus { sink: "postgres".into(), backlog: 0, problem: String::new() },
            pb::SinkStatus { sink: "kafka".into(), backlog: 12, problem: "x".repeat(1_000) },
        ],
        stores: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regions_raft_report_is_kept_and_shown_and_bad_reports_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let mut master = Master::init(root.path());
    master.start().await;
    let client = |name: &str| client(master.url(), client_tls(root.path(), name));
    let (status_code, body) = master.api("GET", "/api/v1/regions/raft", "").await;
    assert_eq!((status_code, &body["regions"]), (200, &serde_json::json!([])), "{body}");

    // Only region 1's certificate reports for region 1; bounds name their field.
    let e = client("region-2").await.report_status(status(1, 3, 3)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e}");
    let mut one = client("region-1").await;
    let e = one.report_status(status(1, 3, 17)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
    assert!(e.message().starts_with("nodes"), "{e}");
    let mut no_leader = status(1, 3, 3);
    no_leader.leader = 9;
    let e = one.report_status(no_leader).await.unwrap_err();
    assert!(e.message().starts_with("leader"), "{e}");
    let e = one.report_status(status(9, 3, 3)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e}");

    one.report_status(status(1, 3, 3)).await.unwrap();
    one.report_status(status(1, 4, 3)).await.unwrap();
    let shown = || async {
        for _ in 0..50 {
            let (_, body) = master.api("GET", "/api/v1/regions/raft", "").await;
            if body["regions"][0]["term"] == 4 {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the report never showed");
    };
    let body = shown().await;
    let r = &body["regions"][0];
    assert_eq!(body["regions"].as_array().unwrap().len(), 1, "the latest report per region");
    assert_eq!((r["region"].as_u64(), r["leader"].as_u64()), (Some(1), Some(2)), "{body}");
    let lags: Vec<Value> =
        r["members"].as_array().unwrap().iter().map(|m| m["lag"].clone()).collect();
    assert_eq!(lags, vec![serde_json::json!(1), serde_json::json!(2), Value::Null], "{body}");
    let sinks = r["sinks"].as_array().unwrap();
    assert_eq!(
        (sinks[0]["sink"].as_str(), sinks[0]["problem"].is_null()),
        (Some("postgres"), true)
    );
    assert_eq!(sinks[1]["backlog"], 12, "{body}");
    assert!(sinks[1]["problem"].as_str().unwrap().len() < 300, "a long error is cut: {body}");
    // Each report's backlogs are also samples over time, per region and sink.
    let (_, body) = master.api("GET", "/api/v1/regions/history?since_ms=0", "").await;
    let kafka: Vec<u64> = body["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["region"] == 1 && k["sink"] == "kafka")
        .map(|k| k["backlog"].as_u64().unwrap())
        .collect();
    // One sample per report (two reports in the same millisecond make one).
    assert!(!kafka.is_empty() && kafka.len() <= 2 && kafka.iter().all(|&b| b == 12), "{body}");

    // Kept across a restart: it is read from the master's file.
    assert!(master.stop().success());
    master.start().await;
    let (_, body) = master.api("GET", "/api/v1/regions/raft", "").await;
    assert_eq!(body["regions"][0]["term"], 4, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_change_is_shown_arriving_store_by_store() {
    let root = tempfile::tempdir().unwrap();
    let mut master = Master::init(root.path());
    master.start().await;
    let mut one = client(master.url(), client_tls(root.path(), "region-1")).await;
    let reach = |stores: &[(u32, u64)]| {
        let mut s = status(1, 3, 3);
        s.stores = stores
            .iter()
            .map(|&(store, master_position)| {
                // The region names store 1 by its events' branch; store 2 has sent none yet.
                let branch = if store == 1 { "lisbon-1".into() } else { String::new() };
                pb::StoreReach { store, master_position, branch }
            })
            .collect();
        s
    };
    let (code, body) = master.api("GET", "/api/v1/prices/MUG/arrival", "").await;
    assert_eq!((code, &body["price_minor"]), (200, &Value::Null), "no change yet: {body}");
    one.report_status(reach(&[(1, 0), (2, 0)])).await.unwrap();
    let (code, body) = master.api("PUT", "/api/v1/prices/MUG", r#"{"price_minor": 450}"#).await;
    assert_eq!(code, 200, "{body}");
    let position = body["position"].as_u64().unwrap();
    assert!(position > 0, "{body}");
    // Reports come in: store 1 has merged the change, store 2 not yet.
    one.report_status(reach(&[(1, position), (2, position - 1)])).await.unwrap();
    let body = arrival_of(&master, 1).await;
    let stores = body["stores"].as_array().unwrap();
    assert_eq!((stores[0]["store"].as_u64(), stores[0]["arrived_ms"].is_u64()), (Some(1), true));
    assert!(stores[0]["after_ms"].as_u64().unwrap() < 60_000, "{body}");
    assert!(stores[1]["arrived_ms"].is_null(), "store 2 is not said to have it: {body}");
    assert_eq!(
        (&stores[0]["branch"], &stores[1]["branch"]),
        (&serde_json::json!("lisbon-1"), &Value::Null)
    );
    assert_eq!(body["price_minor"], 450);
    // A branch that is no branch id is refused, naming the field.
    let mut bad = reach(&[(1, position)]);
    bad.stores[0].branch = "no spaces allowed".into();
    let e = one.report_status(bad).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
    assert!(e.message().starts_with("stores[0].branch"), "{e}");
    // A report naming a store twice or too many stores changes nothing.
    let e = one.report_status(reach(&[(2, position), (2, position)])).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
    assert!(e.message().starts_with("stores[1].store"), "{e}");
    let many: Vec<(u32, u64)> = (0..5_000).map(|s| (s, position)).collect();
    let e = one.report_status(reach(&many)).await.unwrap_err();
    assert!(e.message().starts_with("stores:"), "{e}");
    assert_eq!(arrival(&master).await["arrived"], 1, "nothing of the refused reports was kept");
    // Store 2 catches up; kept across a restart.
    one.report_status(reach(&[(1, position), (2, position + 3)])).await.unwrap();
    arrival_of(&master, 2).await;
    assert!(master.stop().success());
    master.start().await;
    let body = arrival(&master).await;
    assert_eq!(body["arrived"], 2, "{body}");
    let (code, body) = master.api("GET", "/api/v1/prices/bad%20sku/arrival", "").await;
    assert_eq!(code, 400, "{body}");
}

/// The MUG price change's arrival, as the API shows it.
async fn arrival(master: &Master) -> Value {
    let (code, body) = master.api("GET", "/api/v1/prices/MUG/arrival", "").await;
    assert_eq!(code, 200, "{body}");
    body
}

/// Waits until the arrival lists two stores, `want` of them reached.
async fn arrival_of(master: &Master, want: usize) -> Value {
    for _ in 0..50 {
        let body = arrival(master).await;
        if body["stores"].as_array().unwrap().len() == 2 && body["arrived"] == want {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the arrival of {want} stores never showed: {}", arrival(master).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_admin_registers_rotates_and_revokes_keys_which_are_audited_and_sent_down() {
    let root = tempfile::tempdir().unwrap();
    let mut master = Master::init(root.path());
    let pw = root.path().join("pw");
    std::fs::write(&pw, "a long enough password\n").unwrap();
    let pw = pw.to_str().unwrap();
    for (name, grant) in
        [("ada", "acme=admin"), ("alice", "acme=operator"), ("gus", "globex=admin")]
    {
        master.admin(&["create-user", "--name", name, "--grant", grant, "--password-file", pw]);
    }
    master.start().await;
    let mut tokens = Vec::new();
    for name in ["ada", "alice", "gus"] {
        let (status, body) = master.login(name, "a long enough password").await;
        assert_eq!(status, 200, "{body}");
        tokens.push(body["token"].as_str().unwrap().to_string());
    }
    let (ada, alice, gus) = (&tokens[0], &tokens[1], &tokens[2]);
    let key = |b: u8| {
        use base64::Engine as _;
        let k = base64::engine::general_purpose::STANDARD.encode([b; 32]);
        format!(r#"{{"algorithm": "ed25519", "public_key": "{k}"}}"#)
    };
    let till = "/api/v1/keys/acme/till-1";

    // Only acme's admin changes acme's keys; nobody else reads them.
    for who in [alice, gus] {
        let (status, body) = master.api_as(who, "PUT", till, &key(1)).await;
        assert_eq!(status, 403, "{body}");
    }
    let (status, body) = master.api_as(gus, "GET", "/api/v1/keys?tenant=acme", "").await;
    assert_eq!(status, 403, "{body}");
    // Bad input is refused naming the field, and changes nothing.
    for (path, body, field) in [
        (till, r#"{"algorithm": "rsa", "public_key": "AAAA"}"#.to_string(), "algorithm"),
        (till, r#"{"algorithm": "ed25519", "public_key": "not base64!"}"#.into(), "public_key"),
        (till, r#"{"algorithm": "ed25519"}"#.into(), "the body"),
        ("/api/v1/keys/acme/bad%20id", key(1), "agent"),
        ("/api/v1/keys/acme/till-1/revoke", r#"{"reason": " "}"#.into(), "reason"),
    ] {
        let method = if path.ends_with("revoke") { "POST" } else { "PUT" };
        let (status, answer) = master.api_as(ada, method, path, &body).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert!(answer["error"].as_str().unwrap().starts_with(field), "{answer}");
    }
    let (status, body) = master.api_as(alice, "GET", "/api/v1/keys", "").await;
    assert_eq!((status, body["keys"].as_array().map(Vec::len)), (200, Some(0)), "{body}");

    // Register, rotate, revoke.
    let (status, body) = master.api_as(ada, "PUT", till, &key(1)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = master.api_as(ada, "PUT", till, &key(2)).await;
    assert_eq!(status, 200, "{body}");
    let revoke = r#"{"reason": "till stolen", "from_ms": 1000}"#;
    let (status, body) = master.api_as(ada, "POST", &format!("{till}/revoke"), revoke).await;
    assert_eq!((status, body["from_ms"].as_u64()), (200, Some(1000)), "{body}");
    let position = body["position"].as_u64().unwrap();
    let (status, body) = master.api_as(ada, "PUT", till, &key(3)).await;
    assert_eq!(status, 400, "a revoked agent is not registered again: {body}");
    assert!(body["error"].as_str().unwrap().contains("new id"), "{body}");
    let (status, body) = master.api_as(alice, "GET", "/api/v1/keys?tenant=acme", "").await;
    assert_eq!(status, 200, "a viewer of the tenant reads them: {body}");
    let entry = &body["keys"][0];
    assert_eq!((entry["agent"].as_str(), entry["rotations"].as_u64()), (Some("till-1"), Some(1)));
    assert_eq!(entry["revoked"]["reason"], "till stolen", "{body}");
    // The rotation kept the key it replaced, for the events made before it.
    assert!(entry["previous"]["until_ms"].as_u64().is_some_and(|t| t > 0), "{body}");
    assert_eq!(entry["previous"]["algorithm"], "ed25519", "{body}");

    // The changes are audited under their author and tenant.
    let (_, body) = master.api("GET", "/api/v1/audit", "").await;
    let entries = body["entries"].as_array().unwrap();
    let of = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    assert_eq!((of("register_key"), of("revoke_key")), (2, 1), "{body}");
    let revoked = entries.iter().find(|e| e["action"] == "revoke_key").unwrap();
    assert_eq!(
        (revoked["actor"].as_str(), revoked["tenant"].as_str()),
        (Some("ada"), Some("acme"))
    );
    assert_eq!(body["verification"]["intact"], true, "{body}");

    // A region that syncs gets the registry with the revocation, and so after a restart.
    assert!(master.stop().success());
    master.start().await;
    let mut s = open(&master, client_tls(root.path(), "region-1")).await;
    s.send(NodeId::Region(1), &push(1, vec![])).await;
    let ack = s.ack().await;
    let mut state = dcs_sync::ReplicatedState::default();
    match ack.crdt {
        Some(dcs_sync::CrdtPayload::Delta { delta, upto, .. }) => {
            assert!(upto >= position);
            dcs_crdt::Crdt::apply_delta(&mut state, &delta);
        }
        Some(dcs_sync::CrdtPayload::Full { state: full, .. }) => state = *full,
        None => panic!("the master sent the region no state"),
    }
    let k = state.agent_key("acme", "till-1").expect("the registry was sent down");
    assert_eq!(k.revoked.as_ref().map(|r| r.from_ms), Some(1000));
    assert_eq!(k.key.as_ref().map(|(_, b)| b.clone()), Some(vec![2; 32]), "the rotated key");

    // The region brings up a terminal a store enrolled, beside a forged write that would lift
    // the revocation: the registry lists the terminal, and the revocation stands.
    let store = dcs_crdt::ReplicaId(1001);
    let late = unix_ms_to_ntp64(wall_ms() + 60_000);
    let mut delta = state
        .enroll(store, late, "acme", "store-1", "till-2", "ed25519", &[5; 32])
        .unwrap()
        .unwrap();
    let lifted = dcs_sync::AgentKey { key: None, rotations: 0, revoked: None, previous: None };
    delta.keys = state
        .keys
        .update(store, dcs_sync::KeyName::from("acme/till-1"), |r| {
            Ok(r.set(lifted, dcs_crdt::Hlc::new(late, store)))
        })
        .unwrap();
    let Message::Push(mut up) = push(2, vec![]) else { unreachable!() };
    up.crdt = Some(dcs_sync::CrdtPayload::Delta { from: 0, upto: 1, delta });
    s.send(NodeId::Region(1), &Message::Push(up)).await;
    s.ack().await;
    let (status, body) = master.api_as(alice, "GET", "/api/v1/keys?tenant=acme", "").await;
    assert_eq!(status, 200, "{body}");
    let rows = body["keys"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(rows[0]["revoked"]["reason"], "till stolen", "a store cannot lift it: {body}");
    let t2 = &rows[1];
    assert_eq!((t2["agent"].as_str(), t2["public_key"].as_str()), (Some("till-2"), None), "{body}");
    assert_eq!(t2["enrolled"]["branch"], "store-1", "{body}");
    assert_eq!(t2["enrolled"]["store_replica"], 1001, "{body}");
    assert_eq!(t2["enrolled"]["algorithm"], "ed25519", "{body}");
    assert!(rows[0]["enrolled"].is_null(), "{body}");
}
