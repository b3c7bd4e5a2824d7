//! The dashboard in a real browser against real daemons: a `dcs-master` serving the built
//! dashboard (`[web] dir` = `daemons/dcs-master/web/dist`) beside its API, a 3-node region
//! streaming to it over mutual TLS, and store 1 syncing sales through the region. Operators
//! are made with `dcs-master admin create-user`: carol (`*=operator`), alice (`acme=viewer`)
//! and gus (`globex=viewer`); the store's events are tenant acme's.
//!
//! The browser side is `daemons/dcs-master/web/e2e/dashboard.e2e.mjs` (playwright-core and
//! headless Chromium), run as a child process with the URL and the passwords in its
//! environment. The two sides speak in lines: the script prints `WAIT <what> …` and reads
//! stdin; this test does what was asked (syncs the store until a price set in the browser
//! reached it through the region, then sells at the store and syncs the sales up to the
//! master) and answers `OK <events sold> <their amount>`. Every other line of the script is
//! printed here; it exits non-zero when one of its checks fails. It writes the screenshots
//! into docs/.
//!
//! Needs Chromium (`/usr/bin/chromium`, or `DCS_CHROMIUM`), the built dashboard, PostgreSQL
//! (`DCS_PG_URL`) and noida-db, hence ignored: `scripts/test.d/65-dashboard-e2e.sh` runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::client::{StoreClient, wall};
use common::master::MasterProc;
use common::procs::{Cluster, free_port, leader};
use dcs_core::commerce::body::SaleRecord;
use dcs_core::commerce::{EventBody, SaleId, SaleLine, SaleTotals, Sku, TaxPolicy};
use dcs_core::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// What this test asks the master beyond the shared helpers.
trait Sales {
    /// (SALE_COMPLETED events, their amount) the master holds for acme.
    async fn completed_sales(&self) -> (u64, i64);
    async fn wait_for_sales(&self, count: u64) -> (u64, i64);
}

impl Sales for MasterProc {
    async fn completed_sales(&self) -> (u64, i64) {
        let (status, body) = self.api("GET", "/api/v1/sales?tenant=acme", "").await;
        assert_eq!(status, 200, "{body}");
        let rows = body["sales"].as_array().unwrap();
        let sold = rows.iter().filter(|r| r["event_type"] == "SALE_COMPLETED");
        sold.fold((0, 0), |(n, a), r| {
            (n + r["count"].as_u64().unwrap(), a + r["amount_minor"].as_i64().unwrap())
        })
    }

    async fn wait_for_sales(&self, count: u64) -> (u64, i64) {
        let start = Instant::now();
        loop {
            let held = self.completed_sales().await;
            if held.0 >= count {
                return held;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the master holds {held:?} completed sales after 60 s, {count} expected"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A completed sale at store `s` of `quantity` × `sku` at `unit_minor` USD cents (no tax),
/// built and sealed like the harness's stock events.
fn sale(
    s: &mut StoreClient,
    k: u64,
    sku: &str,
    unit_minor: i64,
    quantity: u32,
) -> (SovereignFinancialEvent, EventBody) {
    let n = s.n;
    let usd = |m: i64| Money::from_minor(m, Currency::USD);
    let gross = usd(unit_minor * i64::from(quantity));
    let line = SaleLine {
        sku: Sku::new(sku).unwrap(),
        name: sku.to_lowercase(),
        quantity,
        unit_price: usd(unit_minor),
        line_discount: usd(0),
        cart_discount: usd(0),
        net: gross,
        tax: usd(0),
        gross,
    };
    let totals =
        SaleTotals { subtotal: gross, discount: usd(0), net: gross, tax: usd(0), total: gross };
    let body = EventBody::SaleCompleted(SaleRecord {
        sale_id: SaleId::new(format!("S{n}-{k}")).unwrap(),
        policy: TaxPolicy::default(),
        lines: vec![line],
        totals,
        customer: None,
    });
    let at = wall();
    let hlc = s.m.next_hlc(at);
    let agent = AgentId::new(format!("pos-{n}")).unwrap();
    let mut vc = VectorClock::new();
    vc.set(agent.clone(), k);
    let d = DomainEvent::new(body.clone());
    let mut id = [0u8; 10];
    id[0] = n as u8;
    id[1..9].copy_from_slice(&k.to_be_bytes());
    let mut e = d
        .fill(EventBuilder::new(), Currency::USD)
        .event_id(EventId::new_v7(hlc.unix_ms(), id))
        .idempotency_key(IdempotencyKey::new(format!("s{n}/{k}")).unwrap())
        .tenant_id(TenantId::new("acme").unwrap())
        .branch_id(BranchId::new(format!("s{n}")).unwrap())
        .agent_id(agent.clone())
        .kek("acme/kek", 1)
        .envelope(d.plaintext().unwrap())
        .causality(CausalContext { hlc, vector_clock: vc })
        .created_by(agent)
        .build()
        .unwrap();
    if let Some(r) = &s.reseal {
        r(&mut e);
    }
    (e, body)
}

/// Appends completed sales (SKU, unit price, quantity) at the store.
fn sell(s: &mut StoreClient, sales: &[(&str, i64, u32)]) {
    let events: Vec<_> = sales
        .iter()
        .enumerate()
        .map(|(i, (sku, unit, q))| {
            let k = s.next + 1 + i as u64;
            sale(s, k, sku, *unit, *q)
        })
        .collect();
    s.append_prepared(events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and the built dashboard: scripts/test.d/65-dashboard-e2e.sh runs it"]
async fn operators_use_the_dashboard_against_a_real_master_region_and_store() {
    let web = repo().join("daemons/dcs-master/web");
    let dist = web.join("dist");
    assert!(
        dist.join("index.html").exists(),
        "{} is not built: cd daemons/dcs-master/web && npm ci && npm run build",
        dist.display()
    );
    let chromium = std::env::var("DCS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "no Chromium at {chromium}: apt-get install chromium");

    let master_grpc = free_port();
    let master_url = format!("https://127.0.0.1:{master_grpc}");
    let mut c = Cluster::start(|_, t| {
        let mut m = toml::Table::new();
        m.insert("url".into(), master_url.clone().into());
        m.insert("retry_max_ms".into(), 1_000.into());
        t.insert("master".into(), m.into());
    })
    .await;

    // The master, its certificate from the region's CA, the dashboard on its admin port.
    let master = MasterProc::start(c.root.path(), master_grpc, Some(&dist));
    let admin = master.admin;
    let passwords = [
        ("carol", "*=operator", "carol: correct horse battery"),
        ("alice", "acme=viewer", "alice: staple of the ledger"),
        ("gus", "globex=viewer", "gus: a globex-only viewer"),
        ("ada", "acme=admin", "ada: keeper of acme's keys"),
    ];

    for (name, grant, password) in passwords {
        master.create_user(name, grant, password);
    }
    // Two of acme's tills in the central key registry (not the store's own terminal, whose
    // events would then need signatures); ada revokes one in the browser.
    for (till, key) in [
        ("till-7", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
        ("till-8", "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="),
    ] {
        let body = format!(r#"{{"algorithm": "ed25519", "public_key": "{key}"}}"#);
        let (status, body) = master.api("PUT", &format!("/api/v1/keys/acme/{till}"), &body).await;
        assert_eq!(status, 200, "{body}");
    }

    // Stock and sales of acme through the region, until the master holds them all.
    let mut s = c.store.take().unwrap();
    // The store reports a till it enrolled itself: the Keys view lists it under its branch.
    s.m.enroll_terminal(wall(), "acme", "s1-till-1", "ed25519", &[7; 32]).unwrap();
    let urls = c.urls();
    leader(&c.nodes, Duration::from_secs(20)).await;
    s.append(3);
    sell(
        &mut s,
        &[
            ("COFFEE-250G", 399, 2),
            ("TEA-GREEN-100G", 250, 1),
            ("MUG", 1_200, 1),
            ("COFFEE-250G", 399, 1),
            ("TEA-GREEN-100G", 250, 4),
        ],
    );
    s.sync_any(&urls).await;
    let before = master.wait_for_sales(5).await;
    println!("the master holds acme's first sales: {before:?} (events, USD cents)");
    let start = Instant::now();
    loop {
        let (_, body) = master.api("GET", "/api/v1/regions", "").await;
        let r = &body["regions"][0];
        if r["health"] == "alive" && r["last_successful_sync_ms"].as_u64().is_some() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the region is not alive: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The browser.
    let docs = repo().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let mut node = Command::new(std::env::var("DCS_NODE").unwrap_or_else(|_| "node".into()))
        .arg(web.join("e2e/dashboard.e2e.mjs"))
        .current_dir(&web)
        .env("DCS_DASHBOARD_URL", format!("http://127.0.0.1:{admin}/"))
        .env("DCS_CHROMIUM", &chromium)
        .env("DCS_SCREENSHOTS", &docs)
        .env("DCS_DIST", &dist)
        .env("DCS_E2E_PROFILE", c.root.path().join("chromium-profile"))
        .env("CAROL_PASSWORD", passwords[0].2)
        .env("ALICE_PASSWORD", passwords[1].2)
        .env("GUS_PASSWORD", passwords[2].2)
        .env("ADA_PASSWORD", passwords[3].2)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run node");
    let mut stdin = node.stdin.take().unwrap();
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = node.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut answered = 0;
    loop {
        let line = match tokio::time::timeout(Duration::from_secs(240), lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(_) => {
                let _ = node.kill();
                panic!("the browser script said nothing for 240 s");
            }
        };
        let Some(ask) = line.strip_prefix("WAIT ") else {
            println!("[browser] {line}");
            continue;
        };
        println!("[browser asks] {ask}");
        let words: Vec<&str> = ask.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["price-set", sku, price] => {
                let price: i64 = price.parse().unwrap();
                // The price set in the browser reaches the store through the region.
                let what = format!("the price {price} of {sku}");
                let took =
                    s.sync_until(&urls, &what, |s| s.m.state().price(sku) == Some(price)).await;
                println!("{sku} at {price} reached the store {took:?} after it was set");
                // The store sells at that price; the sales reach the master.
                let (count, amount) = master.completed_sales().await;
                sell(&mut s, &[(*sku, price, 2), (*sku, price, 1), ("MUG", 1_200, 1)]);
                s.sync_any(&urls).await;
                let after = master.wait_for_sales(count + 3).await;
                assert_eq!(after, (count + 3, amount + 3 * price + 1_200), "the new sales");
                println!("the master holds the new sales: {after:?}");
                format!("OK 3 {}", 3 * price + 1_200)
            }
            ["revoked", tenant, agent] => {
                // The revocation made in the browser reaches the store through the region.
                let what = format!("the revocation of {agent}");
                let took = s
                    .sync_until(&urls, &what, |s| {
                        s.m.state().agent_key(tenant, agent).is_some_and(|k| k.revoked.is_some())
                    })
                    .await;
                println!("{what} reached the store {took:?} after it was made");
                "OK".to_string()
            }
            other => panic!("the browser script asked for {other:?}"),
        };
        writeln!(stdin, "{reply}").unwrap();
        stdin.flush().unwrap();
        answered += 1;
    }
    let status = node.wait().unwrap();
    assert!(status.success(), "the browser script failed ({status}): see its lines above");
    assert_eq!(answered, 2, "the script asked for the price and the revocation to reach the store");
    for shot in ["signin", "fleet", "fleet-tablet", "sales", "prices", "audit", "keys"] {
        let f = docs.join(format!("dashboard-{shot}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{} is missing or empty ({len} bytes)", f.display());
    }
}
