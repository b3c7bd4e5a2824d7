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

/// `dcs-local keys rotate` in another shell, under a running daemon with the file provider:
/// the sales after it are sealed under version 2 without a restart, the earlier ones stay
/// under version 1, and both open with the keyring file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_made_in_another_shell_moves_new_sales_to_the_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path());
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 100).await;
    c.submit_sale(d.req(common::sale(1))).await.unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["keys", "rotate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("rotated from version 1 to 2"), "{said}");

    // The daemon looks at its keyring file once a second ([keys] file_reload_ms).
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    c.submit_sale(d.req(common::sale(2))).await.unwrap();
    assert!(d.terminate().success());

    let store = common::open_store(dir.path());
    let events = store.read_all_sync(1, 100).unwrap();
    // In log order: the session and sale 1's events before the rotation, sale 2's after it
    // (a sale is several events: the session's one more than a sale's).
    let versions: Vec<u32> = events.iter().map(|e| e.event.payload().kek_version).collect();
    let v1 = versions.iter().take_while(|v| **v == 1).count();
    let v2 = versions.iter().skip(v1).take_while(|v| **v == 2).count();
    assert_eq!(v1 + v2, versions.len(), "1s then 2s: {versions:?}");
    assert_eq!(v1, v2 + 1, "the session and sale 1 under 1, sale 2 under 2: {versions:?}");
    let keyring = dcs_keys::FileKeyring::open(dir.path().join("keys/keyring.dcsk")).unwrap();
    for e in &events {
        dcs_crypto::open_event(&e.event, &keyring).unwrap();
    }
}
