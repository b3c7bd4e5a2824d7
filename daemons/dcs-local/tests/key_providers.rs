//! The key provider comes from `[keys]`: with OpenBao Transit (started by the test script,
//! found through DCS_VAULT_ADDR / DCS_VAULT_TOKEN) the daemon creates the tenant's KEK there,
//! seals under it, and the keyring file is not used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::cart;
use dcs_proto::pb;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start OpenBao with `source scripts/crypto-services.sh`")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_are_sealed_under_a_vault_transit_kek() {
    let (addr, token_value) = (env("DCS_VAULT_ADDR"), env("DCS_VAULT_TOKEN"));
    let dir = tempfile::tempdir().unwrap();
    // A tenant of its own per run: Transit keys outlive the test.
    let tenant = format!("t{}", std::process::id());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["init", "--tenant", &tenant, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.rsplit_once("): ").map(|(_, t)| t.to_string()))
        .unwrap();
    let token_file = dir.path().join("vault.token");
    std::fs::write(&token_file, format!("{token_value}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let config = dir.path().join("dcs-local.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "provider = \"file\"",
        &format!(
            "provider = \"vault\"\nvault_addr = \"{addr}\"\nvault_token_file = \"vault.token\""
        ),
    );
    std::fs::write(&config, text).unwrap();
    // The file keyring is not what seals any more: take it away.
    std::fs::remove_file(dir.path().join("keys/keyring.dcsk")).unwrap();

    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 100).await;
    c.submit_sale(d.req(pb::SubmitSaleRequest {
        idempotency_key: "k".into(),
        session_id: "s-1".into(),
        sale_id: "R-1".into(),
        cart: cart(&[("MUG", 1)]),
        tender: pb::Tender::Cash as i32,
        customer_id: None,
    }))
    .await
    .unwrap();
    // A refund reads the sale back: its envelopes open through Transit.
    c.submit_refund(d.req(pb::SubmitRefundRequest {
        idempotency_key: "f".into(),
        session_id: "s-1".into(),
        sale_id: "R-1".into(),
        refund_id: "F-1".into(),
        lines: vec![pb::RefundLine { sku: "MUG".into(), quantity: 1 }],
        tender: pb::Tender::Cash as i32,
        reason: "x".into(),
    }))
    .await
    .unwrap();
    assert!(d.terminate().success());

    let store = common::open_store(dir.path());
    let events = store.read_all_sync(1, 100).unwrap();
    assert!(events.iter().all(|e| e.event.payload().kek_id == format!("{tenant}/kek")));
    let vault = dcs_keys::VaultTransitProvider::new(&addr, &token_value).unwrap();
    for e in &events {
        dcs_crypto::open_event(&e.event, &vault).unwrap();
    }
}
