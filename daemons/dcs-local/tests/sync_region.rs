//! dcs-local syncs by itself: over mutual TLS to its region (a real `RegionalMachine` behind
//! the real gRPC service, tests/common/region.rs), following a follower's redirect to the
//! leader, selling on with no region at all, and resuming from its file after a SIGKILL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::region;
use dcs_proto::pb;

fn sale(n: u64) -> pb::SubmitSaleRequest {
    pb::SubmitSaleRequest {
        idempotency_key: format!("k-{n}"),
        session_id: "s-1".into(),
        sale_id: format!("R-{n}"),
        cart: common::cart(&[("MUG", 1 + (n % 3) as u32)]),
        tender: pb::Tender::Card as i32,
        customer_id: None,
    }
}

/// The daemon's sync status, waited for until `done` holds (or 30 s).
async fn status_until(
    d: &common::Daemon,
    done: impl Fn(&pb::SyncStatus) -> bool,
) -> pb::SyncStatus {
    let mut c = d.client().await;
    let mut stream =
        c.watch_sync_status(d.req(pb::WatchSyncStatusRequest {})).await.unwrap().into_inner();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.message()).await {
            Ok(Ok(Some(s))) if done(&s) => return s,
            Ok(Ok(Some(_))) => continue,
            other => panic!("the sync status never got there: {other:?}"),
        }
    }
}

/// A fresh store's daemon syncing with one test region holding its tenant's MAC key: (its
/// data dir, the certificates' dir, the region, the daemon).
async fn store_with_region()
-> (tempfile::TempDir, tempfile::TempDir, region::TestRegion, common::Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (region_tls, store_tls) = region::certs(certs.path());
    let token = common::init(dir.path());
    let r =
        region::start(region::free_addr(), &region_tls, region::mac_key(dir.path()), None).await;
    region::point_at(dir.path(), &[format!("https://{}", r.addr)], &store_tls);
    let d = common::start(dir.path(), &token);
    (dir, certs, r, d)
}

/// Waits (up to 30 s) until `region` holds exactly the events of the store file, in order.
async fn until_region_holds_the_store(region: &region::TestRegion, dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (held, stored) = (region.state.lock().unwrap().event_ids(), stored_ids(dir));
        if held == stored {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the region holds {} of {} events",
            held.len(),
            stored.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Event ids in the daemon's store file, in position order.
fn stored_ids(dir: &std::path::Path) -> Vec<[u8; 16]> {
    let store = common::open_store(dir);
    store
        .read_all_sync(1, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| *e.event.event_id().as_bytes())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sales_made_offline_reach_the_region_once_after_a_sigkill_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (region_tls, store_tls) = region::certs(certs.path());
    let token = common::init(dir.path());
    let addr = region::free_addr();
    region::point_at(dir.path(), &[format!("https://{addr}")], &store_tls);

    // No region yet: the store sells on, and says it is offline with a growing outbox.
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    for n in 0..20 {
        c.submit_sale(d.req(sale(n))).await.unwrap();
    }
    let offline = status_until(&d, |s| s.outbox_depth >= 21).await;
    assert!(!offline.online, "{offline:?}");
    assert_eq!(offline.last_successful_sync_unix_ms, 0);
    assert!(offline.oldest_unsynced_age_ms > 0 || offline.outbox_depth > 0);
    let metrics = d.admin_get("/metrics");
    assert!(metrics.contains("dcs_local_sync_errors_total"), "{metrics}");
    assert!(metrics.contains("dcs_local_outbox_depth"), "{metrics}");
    d.kill(); // SIGKILL, offline

    // The region comes up; the restarted store pushes everything from its file.
    let r = region::start(addr, &region_tls, region::mac_key(dir.path()), None).await;
    let d = common::start(dir.path(), &token);
    let synced = status_until(&d, |s| s.online && s.outbox_depth == 0).await;
    assert!(synced.last_successful_sync_unix_ms > 0, "{synced:?}");
    let metrics = d.admin_get("/metrics");
    assert!(metrics.contains("dcs_local_sync_online 1"), "{metrics}");
    assert!(metrics.contains("dcs_local_sync_lag"), "{metrics}");
    assert!(synced.rejected.is_empty(), "{synced:?}");
    let ids = stored_ids(dir.path());
    assert!(ids.len() >= 21, "the session and 20 sales: {}", ids.len());
    let held = r.state.lock().unwrap().event_ids();
    assert_eq!(held, ids, "the region holds every event of the store once, in order");
    // More sales while online go through at once.
    let mut c = d.client().await;
    for n in 20..25 {
        c.submit_sale(d.req(sale(n))).await.unwrap();
    }
    until_region_holds_the_store(&r, dir.path()).await;
    let ids = stored_ids(dir.path());
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(d.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_central_price_set_at_the_master_reaches_the_tills() {
    let (_dir, _certs, r, d) = store_with_region().await;
    let mut c = d.client().await;
    let list = c.get_catalog(d.req(pb::GetCatalogRequest {})).await.unwrap().into_inner();
    let mug = |cat: &pb::Catalog| {
        cat.products.iter().find(|p| p.sku == "MUG").and_then(|p| p.unit_price.clone()).unwrap()
    };
    assert_ne!(mug(&list).minor_units, 1_234);
    r.state.lock().unwrap().set_price("MUG", 1_234);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cat = c.get_catalog(d.req(pb::GetCatalogRequest {})).await.unwrap().into_inner();
        if mug(&cat).minor_units == 1_234 {
            break;
        }
        assert!(Instant::now() < deadline, "the central price never reached the store");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let priced = c
        .price_cart(d.req(pb::PriceCartRequest { cart: common::cart(&[("MUG", 2)]) }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        priced.subtotal.unwrap().minor_units,
        2_468,
        "carts are priced at the central price"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_terminal_the_master_revokes_is_refused_at_the_store_with_the_reason() {
    let (dir, _certs, r, d) = store_with_region().await;
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    c.submit_sale(d.req(sale(1))).await.unwrap();
    until_region_holds_the_store(&r, dir.path()).await;
    let held = r.state.lock().unwrap().event_ids().len();
    let from_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as u64;
    r.state.lock().unwrap().revoke("acme", "pos-1", from_ms, "till stolen");
    // Once the revocation has reached the store, the terminal's sales are refused there.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 2;
    let refused = loop {
        match c.submit_sale(d.req(sale(n))).await {
            Err(e) => break e,
            Ok(_) => n += 1,
        }
        assert!(Instant::now() < deadline, "the revocation never reached the store");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
    assert!(refused.message().contains("till stolen"), "{refused}");
    // A resend of a sale stored before still answers with its first result.
    let again = c.submit_sale(d.req(sale(1))).await.unwrap().into_inner();
    assert!(again.deduplicated);
    // Every event the store took reaches the region, but those the terminal made after the
    // revocation's time and before it reached the store: the region refused them, saying why.
    let stored = stored_ids(dir.path()).len();
    let s = status_until(&d, |s| {
        s.outbox_depth == 0
            && r.state.lock().unwrap().event_ids().len() + s.rejected.len() == stored
    })
    .await;
    assert!(r.state.lock().unwrap().event_ids().len() >= held);
    assert!(s.rejected.iter().all(|x| x.reason.contains("revoked")), "{s:?}");
    assert_eq!(d.terminate().code(), Some(0));
}

/// A leader region and a follower answering with `hint` (None: the leader's own address),
/// both holding the MAC key of the store in `data_dir`; the store's TLS files.
async fn leader_and_follower(
    data_dir: &std::path::Path,
    certs: &std::path::Path,
    hint: Option<String>,
) -> (dcs_daemon::tls::TlsFiles, region::TestRegion, region::TestRegion) {
    let (region_tls, store_tls) = region::certs(certs);
    let mac = region::mac_key(data_dir);
    let leader = region::start(region::free_addr(), &region_tls, mac.clone(), None).await;
    let hint = hint.unwrap_or_else(|| format!("https://{}", leader.addr));
    let follower = region::start(region::free_addr(), &region_tls, mac, Some(hint)).await;
    (store_tls, leader, follower)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_sends_the_store_to_its_leader() {
    let (dir, certs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let token = common::init(dir.path());
    let (store_tls, leader, follower) = leader_and_follower(dir.path(), certs.path(), None).await;
    region::point_at(dir.path(), &[format!("https://{}", follower.addr)], &store_tls);
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    for n in 0..5 {
        c.submit_sale(d.req(sale(n))).await.unwrap();
    }
    until_region_holds_the_store(&leader, dir.path()).await;
    assert!(status_until(&d, |s| s.online).await.online);
    assert!(follower.state.lock().unwrap().event_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_not_following_leaders_tries_its_next_endpoint_instead() {
    let (dir, certs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let token = common::init(dir.path());
    // The follower names an address where a listener counts who connects: a store following
    // the hint would connect there.
    let hinted = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    hinted.set_nonblocking(true).unwrap();
    let nowhere = format!("https://{}", hinted.local_addr().unwrap());
    let (store_tls, leader, follower) =
        leader_and_follower(dir.path(), certs.path(), Some(nowhere)).await;
    let endpoints = [format!("https://{}", follower.addr), format!("https://{}", leader.addr)];
    region::point_at(dir.path(), &endpoints, &store_tls);
    let path = dir.path().join("dcs-local.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("follow_leader = true"), "the default config names the option");
    std::fs::write(&path, text.replace("follow_leader = true", "follow_leader = false")).unwrap();
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    for n in 0..3 {
        c.submit_sale(d.req(sale(n))).await.unwrap();
    }
    until_region_holds_the_store(&leader, dir.path()).await;
    assert!(follower.state.lock().unwrap().event_ids().is_empty());
    assert!(hinted.accept().is_err(), "the store connected to the leader's hinted address");
    assert_eq!(d.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_the_region_refuses_are_shown_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (region_tls, store_tls) = region::certs(certs.path());
    let token = common::init(dir.path());
    // A region holding another tenant key: every MAC fails there.
    let wrong = dcs_crypto::MacKey::from_bytes(&[9u8; 64]).unwrap();
    let r = region::start(region::free_addr(), &region_tls, wrong, None).await;
    region::point_at(dir.path(), &[format!("https://{}", r.addr)], &store_tls);
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    c.submit_sale(d.req(sale(1))).await.unwrap();
    let s = status_until(&d, |s| s.outbox_depth == 0 && s.rejected.len() >= 2).await;
    assert!(s.rejected.iter().all(|r| r.reason.contains("MAC")), "{s:?}");
    assert!(r.state.lock().unwrap().event_ids().is_empty());
}

#[test]
fn a_region_endpoint_without_tls_is_refused_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    common::init(dir.path());
    let path = dir.path().join("dcs-local.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("endpoints = []", "endpoints = [\"http://10.0.0.5:7500\"]"))
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["run", "--check-config", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs [region.tls]"), "{err}");
}

#[test]
fn dev_certs_make_a_store_certificate_and_point_the_config_at_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = tempfile::tempdir().unwrap();
    common::init(dir.path());
    let path = dir.path().join("dcs-local.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("endpoints = []", "endpoints = [\"https://10.0.0.5:7500\"]"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dcs-local"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let ca_dir = ca.path().to_str().unwrap();
    let out = run(&["dev-certs", "--ca-dir", ca_dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("tls/store.pem").exists() && ca.path().join("ca.pem").exists());
    // Twice is harmless: the same CA, one [region.tls] section.
    assert!(run(&["dev-certs", "--ca-dir", ca_dir]).status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().filter(|l| l.trim() == "[region.tls]").count(), 1);
    let out = run(&["run", "--check-config"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
