//! A self-sealing till against the real binary: `till add` and `cashier add`, ProvisionTill
//! (a leased data key, the signed cashier list), sales sealed with the lease and submitted as
//! canonical bytes, their resend, and refusals: a tampered event, an over-refund, sale events
//! in another stream, a thin terminal asking for a provision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use dcs_core::commerce::{
    Cart, DomainEvent, PosSession, Product, RefundId, Sale, SaleId, SessionId, Sku, TaxEngine,
    TaxPolicy, TaxRate, TaxTable, Tender,
};
use dcs_core::{AgentId, BranchId, Currency, IdempotencyKey, Money};
use dcs_crypto::lease::LeasedKeys;
use dcs_crypto::{
    CashierList, DataKey, KekRef, MacKey, SealingKey, Terminal, TerminalConfig, TillEnrollment,
    WrappedKey,
};
use dcs_proto::pb;
use rand_core::OsRng;
use tonic::Code;

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dcs-local")).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

struct Till {
    terminal: Terminal,
    keys: LeasedKeys,
    mac: MacKey,
    signer: dcs_crypto::Signer,
}

impl Till {
    fn seal(&mut self, key: &str, facts: &[DomainEvent], cashier: &str) -> Vec<Vec<u8>> {
        let cashier = AgentId::new(cashier).unwrap();
        facts
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let k = IdempotencyKey::new(format!("{key}/{i}")).unwrap();
                let e = self
                    .terminal
                    .seal(
                        f,
                        &cashier,
                        Some(k),
                        now(),
                        &mut OsRng,
                        &self.keys,
                        &self.mac,
                        &self.signer,
                    )
                    .unwrap();
                postcard::to_allocvec(&e).unwrap()
            })
            .collect()
    }
}

fn http1_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// `dcs-local till add --id ID` in `dir`: the till's enrollment, read from its code.
fn add_till(dir: &std::path::Path, id: &str) -> TillEnrollment {
    let d = dir.to_str().unwrap();
    let out = cli(&["till", "add", "--data-dir", d, "--id", id]);
    let code = out.lines().find_map(|l| l.strip_prefix("enrollment code (shown once): ")).unwrap();
    TillEnrollment::from_code(code).unwrap()
}

/// A test region (with its master) for the store in `dir`, certificates made in `certs`; and
/// the store's TLS files to reach it.
async fn region_for(
    dir: &std::path::Path,
    certs: &std::path::Path,
) -> (common::region::TestRegion, dcs_daemon::tls::TlsFiles) {
    let (region_tls, store_tls) = common::region::certs(certs);
    let mac = common::region::mac_key(dir);
    (common::region::start(common::region::free_addr(), &region_tls, mac, None).await, store_tls)
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

fn sealed(stream: &str, events: Vec<Vec<u8>>) -> pb::SubmitSealedRequest {
    pb::SubmitSealedRequest { stream: stream.into(), events: vec![], sealed: events }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_sells_with_a_leased_key_and_bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let thin_token = common::init(dir.path());
    let d = dir.path().to_str().unwrap();
    let enrollment = add_till(dir.path(), "till-1");
    assert_eq!(enrollment.agent.as_str(), "till-1");
    cli(&[
        "cashier",
        "add",
        "--data-dir",
        d,
        "--id",
        "cashier-1",
        "--name",
        "Ana",
        "--pin",
        "4321",
    ]);
    // A bad PIN or a duplicate id is refused.
    let bad = Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args([
            "cashier",
            "add",
            "--data-dir",
            d,
            "--id",
            "cashier-2",
            "--name",
            "B",
            "--pin",
            "12",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--pin"));

    let web = dir.path().join("web");
    std::fs::create_dir(&web).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>till</title>").unwrap();
    let daemon = common::start_with(
        dir.path(),
        &enrollment.token,
        &[("DCS_WEB__STATIC_DIR", web.to_str().unwrap())],
    );
    let mut c = daemon.client().await;

    // The web app is served over plain HTTP/1.1 on the POS port (gRPC-Web wraps only gRPC).
    let page = http1_get(&daemon.pos, "/index.html");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<title>till</title>"));

    // The thin terminal needs no provision.
    let mut thin = tonic::Request::new(pb::ProvisionTillRequest {});
    thin.metadata_mut().insert("authorization", format!("Bearer {thin_token}").parse().unwrap());
    assert_eq!(c.provision_till(thin).await.unwrap_err().code(), Code::FailedPrecondition);

    let p = c.provision_till(daemon.req(pb::ProvisionTillRequest {})).await.unwrap().into_inner();
    assert_eq!(
        (p.tenant.as_str(), p.agent_id.as_str(), p.currency.as_str()),
        ("acme", "till-1", "USD")
    );
    assert_eq!(p.products.len(), 2);
    let list = CashierList::verify(
        &p.cashiers,
        &p.cashiers_signature,
        &enrollment.store_verifier().unwrap(),
    )
    .unwrap();
    assert_eq!(list.cashiers.len(), 1);
    assert_eq!(list.cashiers[0].name, "Ana");
    assert!(list.cashiers[0].pin_hash.starts_with("$argon2id$"));
    let mut forged = p.cashiers.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert!(
        CashierList::verify(&forged, &p.cashiers_signature, &enrollment.store_verifier().unwrap())
            .is_err()
    );

    let lease = p.lease.clone().unwrap();
    let mut till = leased_till(&p, &enrollment, lease.max_uses, [9; 16]);

    // Open a session and sell two mugs for cash, priced from the provision.
    let usd = |m: i64| Money::from_minor(m, Currency::USD);
    let (mut session, opened) = PosSession::open(
        SessionId::new("s-1").unwrap(),
        AgentId::new("cashier-1").unwrap(),
        usd(5_000),
    )
    .unwrap();
    let open = till.seal("till-1/open", &[opened], "till-1");
    c.submit_sealed(daemon.req(sealed("session-s-1", open))).await.unwrap();
    let mut table = TaxTable::new();
    for t in &p.tax {
        let rates = t.rates.iter().map(|r| TaxRate::new(&r.name, r.ppm).unwrap()).collect();
        table.set(&t.category, rates).unwrap();
    }
    let engine = TaxEngine::new(table, TaxPolicy::default());
    let mug = p.products.iter().find(|x| x.sku == "MUG").unwrap();
    let mut cart = Cart::new(Currency::USD);
    let price = mug.unit_price.as_ref().unwrap().minor_units;
    cart.add(
        Product::new("MUG", &mug.name, &mug.category, usd(price), &mug.tax_category).unwrap(),
        2,
    )
    .unwrap();
    let totals = cart.totals(&engine).unwrap();
    let branch = BranchId::new("store-1").unwrap();
    let (mut sale, started) =
        Sale::initiate(SaleId::new("R-1").unwrap(), branch.clone(), &totals, None).unwrap();
    let mut facts = vec![started];
    facts.extend(sale.pay_and_complete(Tender::Cash).unwrap());
    session.record_cash_sale(totals.totals.total).unwrap();
    let events = till.seal("till-1/sale-1", &facts, "till-1");
    let first =
        c.submit_sealed(daemon.req(sealed("sale-R-1", events.clone()))).await.unwrap().into_inner();
    assert!(!first.deduplicated);
    assert_eq!(first.total.unwrap().minor_units, totals.totals.total.minor());
    // The same bytes again: the first result, nothing stored twice.
    let again =
        c.submit_sealed(daemon.req(sealed("sale-R-1", events.clone()))).await.unwrap().into_inner();
    assert!(again.deduplicated);
    assert_eq!(again.event_ids, first.event_ids);
    let day = c.get_day_summary(daemon.req(pb::GetDaySummaryRequest { day: String::new() })).await;
    assert_eq!(day.unwrap().into_inner().sales_count, 1);

    // A tampered event (one byte of its amount's neighbourhood): UNAUTHENTICATED, nothing stored.
    let mut facts2 = {
        let (mut s2, st) =
            Sale::initiate(SaleId::new("R-2").unwrap(), branch.clone(), &totals, None).unwrap();
        let mut v = vec![st];
        v.extend(s2.pay_and_complete(Tender::Card).unwrap());
        v
    };
    let mut tampered = till.seal("till-1/sale-2", &facts2, "till-1");
    let mut e: dcs_core::SovereignFinancialEvent = postcard::from_bytes(&tampered[0]).unwrap();
    e.set_mac(vec![0; 64]);
    tampered[0] = postcard::to_allocvec(&e).unwrap();
    let err = c.submit_sealed(daemon.req(sealed("sale-R-2", tampered))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    // A data key the store never leased (the same wrapped bytes under another key id, as a
    // till that made its own would): UNAUTHENTICATED, nothing stored.
    let mut rogue = Till {
        terminal: Terminal::new(
            TerminalConfig::new("acme", "store-1", "till-1", Currency::USD).unwrap(),
            [8; 16],
        )
        .unwrap(),
        keys: LeasedKeys::new(KekRef::new(lease.kek_id.clone(), lease.kek_version)),
        mac: MacKey::from_bytes(&p.mac_key).unwrap(),
        signer: enrollment.signer().unwrap(),
    };
    rogue.terminal.lease(
        SealingKey {
            id: [0x5a; 16],
            key: DataKey::from_slice(&lease.data_key).unwrap(),
            wrapped: WrappedKey {
                kek: KekRef::new(lease.kek_id.clone(), lease.kek_version),
                bytes: lease.wrapped.clone(),
            },
        },
        now(),
        10,
        now() + 60_000,
    );
    let unleased = rogue.seal("till-1/sale-3", &facts2[..1], "till-1");
    let err = c.submit_sealed(daemon.req(sealed("sale-R-3", unleased))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.message().contains("not leased to terminal till-1"), "{err}");

    // Sale events in a session's stream: INVALID_ARGUMENT naming the stream.
    facts2.truncate(1);
    let wrong = till.seal("till-1/sale-2b", &facts2, "till-1");
    let err = c.submit_sealed(daemon.req(sealed("session-s-1", wrong))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().starts_with("stream:"), "{err}");

    // An honest refund of one mug goes in; a second refund of two more is an over-refund that a
    // till forged by skipping its own check: FAILED_PRECONDITION, nothing stored.
    let refund = sale
        .refund(
            RefundId::new("F-1").unwrap(),
            &[(Sku::new("MUG").unwrap(), 1)],
            Tender::Cash,
            "chipped",
        )
        .unwrap();
    let events = till.seal("till-1/refund-1", &refund, "till-1");
    c.submit_sealed(daemon.req(sealed("sale-R-1", events))).await.unwrap();
    let mut forged_sale = Sale::replay(branch.clone(), facts.iter().map(|f| &f.body)).unwrap();
    let over = forged_sale
        .refund(RefundId::new("F-2").unwrap(), &[(Sku::new("MUG").unwrap(), 2)], Tender::Cash, "x")
        .unwrap();
    let events = till.seal("till-1/refund-2", &over, "till-1");
    let err = c.submit_sealed(daemon.req(sealed("sale-R-1", events))).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    assert!(err.message().contains("only 1 of 2 sold are left"), "{err}");

    let day = c.get_day_summary(daemon.req(pb::GetDaySummaryRequest { day: String::new() })).await;
    let day = day.unwrap().into_inner();
    assert_eq!((day.sales_count, day.refund_count), (1, 1));
    assert!(daemon.terminate().success());

    // The store counted the lease's uses: exactly the events it stored under the key (a
    // resend, and the submissions refused above, count nothing).
    let store = common::open_store(dir.path());
    let id: [u8; 16] = lease.data_key_id.as_slice().try_into().unwrap();
    let stored = store
        .read_all_sync(1, 1_000)
        .unwrap()
        .iter()
        .filter(|e| {
            dcs_crypto::Envelope::parse(&e.event.payload().envelope).unwrap().data_key_id == id
        })
        .count() as u64;
    let held = store.lease_sync(&id).unwrap().unwrap();
    assert!(stored > 0);
    assert_eq!(held.used, stored, "uses counted = events stored under the lease");
    // And the bound holds: the uses left can be reserved, one more cannot.
    let left = held.max_uses - held.used;
    assert!(store.reserve_lease_uses_sync(&id, "till-1", left).unwrap());
    assert!(!store.reserve_lease_uses_sync(&id, "till-1", 1).unwrap(), "no use beyond max_uses");
    assert!(!store.reserve_lease_uses_sync(&id, "till-2", 0).unwrap(), "another till's key");
}

/// A till holding the lease of provision `p`, which it would use `local_max` times (a forged
/// till ignores the bound it was given: the store's count is what holds).
fn leased_till(
    p: &pb::TillProvision,
    enrollment: &TillEnrollment,
    local_max: u64,
    seed: [u8; 16],
) -> Till {
    let lease = p.lease.clone().unwrap();
    let kek = KekRef::new(lease.kek_id.clone(), lease.kek_version);
    let mut terminal = Terminal::new(
        TerminalConfig::new("acme", "store-1", "till-1", Currency::USD).unwrap(),
        seed,
    )
    .unwrap();
    terminal.lease(
        SealingKey {
            id: lease.data_key_id.as_slice().try_into().unwrap(),
            key: DataKey::from_slice(&lease.data_key).unwrap(),
            wrapped: WrappedKey { kek: kek.clone(), bytes: lease.wrapped.clone() },
        },
        now(),
        local_max,
        lease.expires_unix_ms,
    );
    Till {
        terminal,
        keys: LeasedKeys::new(kek),
        mac: MacKey::from_bytes(&p.mac_key).unwrap(),
        signer: enrollment.signer().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_runs_out_at_the_store_and_a_new_provision_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    common::init(dir.path());
    let enrollment = add_till(dir.path(), "till-1");
    let daemon =
        common::start_with(dir.path(), &enrollment.token, &[("DCS_TILL__LEASE_MAX_USES", "4")]);
    let mut c = daemon.client().await;
    let p = c.provision_till(daemon.req(pb::ProvisionTillRequest {})).await.unwrap().into_inner();
    assert_eq!(p.lease.as_ref().unwrap().max_uses, 4, "the lease carries [till] lease_max_uses");
    let mut till = leased_till(&p, &enrollment, 1_000, [7; 16]);

    let usd = |m: i64| Money::from_minor(m, Currency::USD);
    let (_session, opened) = PosSession::open(
        SessionId::new("s-9").unwrap(),
        AgentId::new("cashier-1").unwrap(),
        usd(1_000),
    )
    .unwrap();
    let open = till.seal("till-1/open-9", &[opened], "till-1");
    c.submit_sealed(daemon.req(sealed("session-s-9", open))).await.unwrap();
    // A card sale is four events, so four uses; three are left: FAILED_PRECONDITION, nothing
    // stored.
    let mut cart = Cart::new(Currency::USD);
    cart.add(Product::new("MUG", "Mug", "kitchen", usd(1_200), "standard").unwrap(), 1).unwrap();
    let mut table = TaxTable::new();
    table.set("standard", vec![]).unwrap();
    let engine = TaxEngine::new(table, TaxPolicy::default());
    let totals = cart.totals(&engine).unwrap();
    let branch = BranchId::new("store-1").unwrap();
    let (mut sale, started) =
        Sale::initiate(SaleId::new("R-9").unwrap(), branch, &totals, None).unwrap();
    let mut facts = vec![started];
    facts.extend(sale.pay_and_complete(Tender::Card).unwrap());
    assert_eq!(facts.len(), 4, "initiated, authorized, captured, completed");
    let events = till.seal("till-1/sale-9", &facts, "till-1");
    let err = c.submit_sealed(daemon.req(sealed("sale-R-9", events))).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    assert!(err.message().contains("lease_max_uses"), "says what bounds it: {err}");
    assert!(err.message().contains("provision the till again"), "and what to do: {err}");
    let day = c.get_day_summary(daemon.req(pb::GetDaySummaryRequest { day: String::new() })).await;
    assert_eq!(day.unwrap().into_inner().sales_count, 0, "nothing of the sale stored");

    // Provisioned again, the till gets a new key and the same sale goes in.
    let again = c.provision_till(daemon.req(pb::ProvisionTillRequest {})).await.unwrap();
    let again = again.into_inner();
    let (old_id, new_id) =
        (&p.lease.as_ref().unwrap().data_key_id, &again.lease.as_ref().unwrap().data_key_id);
    assert_ne!(old_id, new_id, "a new data key");
    let mut till = leased_till(&again, &enrollment, 1_000, [7; 16]);
    let events = till.seal("till-1/sale-9", &facts, "till-1");
    let done = c.submit_sealed(daemon.req(sealed("sale-R-9", events))).await.unwrap().into_inner();
    assert!(!done.deduplicated);
    let day = c.get_day_summary(daemon.req(pb::GetDaySummaryRequest { day: String::new() })).await;
    assert_eq!(day.unwrap().into_inner().sales_count, 1);
    assert!(daemon.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_master_registers_for_a_till_is_the_key_the_store_checks() {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    common::init(dir.path());
    let enrollment = add_till(dir.path(), "till-1");
    // The master registers another key for till-1 (a rotation made there): once it reaches
    // the store, what the till signs with its enrolled key is refused, and the new key's
    // signatures go in.
    let (r, store_tls) = region_for(dir.path(), certs.path()).await;
    let rotated =
        dcs_crypto::Signer::generate(dcs_core::event::SignatureAlgorithm::Ed25519, &mut OsRng);
    let public = rotated.verifier().to_bytes();
    r.state.lock().unwrap().register("acme", "till-1", "ed25519", &public);
    common::region::point_at(dir.path(), &[format!("https://{}", r.addr)], &store_tls);
    let daemon = common::start_with(dir.path(), &enrollment.token, &[]);
    let mut c = daemon.client().await;
    let p = c.provision_till(daemon.req(pb::ProvisionTillRequest {})).await.unwrap().into_inner();
    let mut till = leased_till(&p, &enrollment, 1_000, [7; 16]);
    let usd = |m: i64| Money::from_minor(m, Currency::USD);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut n = 0;
    let refused = loop {
        n += 1;
        let (_s, opened) = PosSession::open(
            SessionId::new(format!("s-{n}")).unwrap(),
            AgentId::new("cashier-1").unwrap(),
            usd(1_000),
        )
        .unwrap();
        let open = till.seal(&format!("till-1/open-{n}"), &[opened], "till-1");
        if let Err(e) = c.submit_sealed(daemon.req(sealed(&format!("session-s-{n}"), open))).await {
            break e;
        }
        assert!(std::time::Instant::now() < deadline, "the registered key never reached the store");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused}");
    assert!(refused.message().contains("signature"), "{refused}");
    till.signer = rotated;
    let (_s, opened) = PosSession::open(
        SessionId::new("s-rotated").unwrap(),
        AgentId::new("cashier-1").unwrap(),
        usd(1_000),
    )
    .unwrap();
    let open = till.seal("till-1/open-rotated", &[opened], "till-1");
    c.submit_sealed(daemon.req(sealed("session-s-rotated", open))).await.unwrap();
    assert!(daemon.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tills_a_store_enrolled_reach_the_masters_registry_with_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    common::init(dir.path());
    let enrollment = add_till(dir.path(), "till-1");
    let till_key = dcs_crypto::Signer::from_key_bytes(&enrollment.signing_key).unwrap();
    let (r, store_tls) = region_for(dir.path(), certs.path()).await;
    common::region::point_at(dir.path(), &[format!("https://{}", r.addr)], &store_tls);
    let daemon = common::start_with(dir.path(), &enrollment.token, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let reported = loop {
        let got: Vec<(String, dcs_sync::Enrollment)> = {
            let s = r.state.lock().unwrap();
            s.master
                .state()
                .enrollments("acme")
                .map(|e| (e.agent.to_string(), e.enrollment.clone()))
                .collect()
        };
        if got.iter().any(|(agent, _)| agent == "till-1") {
            break got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store's tills never reached the master: {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // Every terminal of terminals.toml: the till added above and the thin terminals of `init`.
    let (_, till) = reported.iter().find(|(agent, _)| agent == "till-1").unwrap();
    assert_eq!(till.algorithm, till_key.verifier().registry_algorithm());
    assert_eq!(till.public_key, till_key.verifier().to_bytes());
    let branch = r
        .state
        .lock()
        .unwrap()
        .machine
        .state()
        .enrollment("acme", "till-1")
        .map(|e| e.branch.clone());
    assert_eq!(
        branch.as_deref(),
        Some("store-1"),
        "the region holds it too, under the store's branch"
    );
    assert!(reported.len() >= 2, "the thin terminals are reported too: {reported:?}");
    let s = r.state.lock().unwrap();
    assert!(s.master.state().agent_key("acme", "till-1").is_none(), "a report registers no key");
    drop(s);
    assert!(daemon.terminate().success());
}
