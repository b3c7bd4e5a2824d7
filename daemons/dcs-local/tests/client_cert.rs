//! Terminals authenticated by client certificates on the real binary: `pos-tls` puts the POS
//! port on TLS with a client CA, `terminal cert` issues pos-1 and till-1 their certificates.
//! A registered certificate alone opens a session and sells (the events are pos-1's); a
//! CA-valid certificate registered to no terminal (a stranger's, or pos-1's retired one) is
//! refused even with a good token; a token alone still works over TLS; a certificate from
//! another CA fails the handshake; one terminal's certificate with another's token is refused.
//! Nothing refused is stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dcs_proto::pb;
use dcs_proto::pb::pos_service_client::PosServiceClient;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dcs-local")).args(args).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{args:?}: {said} {}", String::from_utf8_lossy(&out.stderr));
    said
}

/// (cert PEM, key PEM) of a client.
type ClientCert = (String, String);

fn read_pair(cert: &Path, key: &Path) -> ClientCert {
    (std::fs::read_to_string(cert).unwrap(), std::fs::read_to_string(key).unwrap())
}

/// A TLS channel to the daemon's POS port that trusts `tls/pos-ca.pem` and presents `cert`.
async fn connect(
    d: &common::Daemon,
    cert: Option<&ClientCert>,
) -> Result<PosServiceClient<Channel>, tonic::transport::Error> {
    let ca = std::fs::read(d.dir.join("tls/pos-ca.pem")).unwrap();
    let mut tls =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).domain_name("localhost");
    if let Some((cert, key)) = cert {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://{}", d.pos))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .tls_config(tls)
        .unwrap()
        .connect()
        .await?;
    Ok(PosServiceClient::new(channel))
}

/// A sale request with no token.
fn bare<T>(msg: T) -> tonic::Request<T> {
    tonic::Request::new(msg)
}

/// `msg` with `token`.
fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn open_request() -> pb::OpenSessionRequest {
    pb::OpenSessionRequest {
        idempotency_key: "open".into(),
        session_id: "s-1".into(),
        cashier: "cashier-1".into(),
        opening_float: common::usd(5_000),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_authenticate_by_client_certificate_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let ca_dir = tmp.path().join("ca");
    let token = common::init(&dir);
    let (d, c) = (dir.to_str().unwrap(), ca_dir.to_str().unwrap());
    cli(&["till", "add", "--data-dir", d, "--id", "till-1"]);
    let said = cli(&["pos-tls", "--data-dir", d, "--ca-dir", c]);
    assert!(said.contains("[listen.pos_tls] written"), "{said}");

    // pos-1's first certificate, then a second one: the first is retired.
    cli(&["terminal", "cert", "--data-dir", d, "--id", "pos-1", "--ca-dir", c]);
    let retired =
        read_pair(&dir.join("tls/terminal-pos-1.crt"), &dir.join("tls/terminal-pos-1.key"));
    let said = cli(&["terminal", "cert", "--data-dir", d, "--id", "pos-1", "--ca-dir", c]);
    assert!(said.contains("replaces its earlier certificate"), "{said}");
    let pos1 = read_pair(&dir.join("tls/terminal-pos-1.crt"), &dir.join("tls/terminal-pos-1.key"));
    cli(&["terminal", "cert", "--data-dir", d, "--id", "till-1", "--ca-dir", c]);
    let till1 =
        read_pair(&dir.join("tls/terminal-till-1.crt"), &dir.join("tls/terminal-till-1.key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in ["tls/terminal-pos-1.key", "tls/terminal-till-1.key", "tls/pos.key"] {
            let mode = std::fs::metadata(dir.join(key)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    let terminals = std::fs::read_to_string(dir.join("terminals.toml")).unwrap();
    assert_eq!(terminals.matches("cert_sha256 = ").count(), 2, "{terminals}");

    // A stranger: a certificate from the same CA that no terminal is registered with.
    let ca = dcs_daemon::tls::DevCa::open_or_create(&ca_dir).unwrap();
    let (cert, key) = ca.issue_client("pos-9").unwrap();
    let stranger = (cert, key.to_string());
    std::fs::write(tmp.path().join("stranger.crt"), &stranger.0).unwrap();
    let stranger_digest =
        hex(&dcs_daemon::tls::pem_cert_sha256(&tmp.path().join("stranger.crt")).unwrap());
    // Another CA's certificate for pos-1's name.
    let other = dcs_daemon::tls::DevCa::generate().unwrap();
    let (cert, key) = other.issue_client("pos-1").unwrap();
    let foreign = (cert, key.to_string());

    let daemon = common::start(&dir, &token);

    // Plaintext to the TLS port gets nowhere.
    let plain = Channel::from_shared(format!("http://{}", daemon.pos)).unwrap();
    if let Ok(channel) = plain.connect_timeout(Duration::from_secs(5)).connect().await {
        let err = PosServiceClient::new(channel)
            .get_catalog(with_token(pb::GetCatalogRequest {}, &token))
            .await
            .unwrap_err();
        assert_ne!(err.code(), Code::Ok);
    }

    // (a) pos-1's certificate and no token: a session and a sale.
    let mut by_cert = connect(&daemon, Some(&pos1)).await.unwrap();
    let opened =
        by_cert.open_session(bare(open_request())).await.unwrap().into_inner().stored.unwrap();
    let sold = by_cert.submit_sale(bare(common::sale(1))).await.unwrap().into_inner();
    assert!(!sold.deduplicated);
    assert_eq!(sold.first_position, opened.last_position + 1);
    // The same terminal's token beside its certificate is fine.
    let again = by_cert.submit_sale(with_token(common::sale(1), &token)).await.unwrap();
    assert!(again.into_inner().deduplicated);

    // (b) A CA-valid certificate registered to no terminal: refused, with or without a token.
    let mut by_stranger = connect(&daemon, Some(&stranger)).await.unwrap();
    for request in [bare(common::sale(2)), with_token(common::sale(2), &token)] {
        let err = by_stranger.submit_sale(request).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err}");
        assert!(err.message().contains("is not registered to any terminal"), "{}", err.message());
        assert!(err.message().contains(&stranger_digest[..16]), "{}", err.message());
    }
    // pos-1's retired certificate is a stranger's now.
    let mut by_retired = connect(&daemon, Some(&retired)).await.unwrap();
    let err = by_retired.submit_sale(bare(common::sale(3))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.message().contains("is not registered to any terminal"), "{}", err.message());

    // (c) No certificate, pos-1's token: sells over TLS as before; no token at all: refused.
    let mut by_token = connect(&daemon, None).await.unwrap();
    let by_token_sale =
        by_token.submit_sale(with_token(common::sale(4), &token)).await.unwrap().into_inner();
    assert!(!by_token_sale.deduplicated);
    let err = by_token.submit_sale(bare(common::sale(5))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.message().contains("no terminal token"), "{}", err.message());

    // (d) A certificate another CA issued: the handshake is refused, nothing is answered.
    let failed_before = metric(&daemon, "dcs_tls_handshake_failures_total");
    match connect(&daemon, Some(&foreign)).await {
        // TLS 1.3 finishes the client's side before the server checks its certificate: the
        // refusal comes with the first call, as a transport error, never an answer.
        Ok(mut c) => {
            let err = c.submit_sale(bare(common::sale(6))).await.unwrap_err();
            // Which code depends on when the alert arrives; the cause is the transport.
            assert!(
                matches!(err.code(), Code::Unavailable | Code::Unknown | Code::Cancelled),
                "a transport failure, not an answer of the daemon: {err}"
            );
            let source = std::error::Error::source(&err);
            assert!(
                source.is_some_and(|s| s.downcast_ref::<tonic::transport::Error>().is_some()),
                "the connection failed, the daemon answered nothing: {err:?}"
            );
        }
        Err(e) => assert!(format!("{e:?}").contains("Transport"), "{e:?}"),
    }
    let mut failed = failed_before;
    for _ in 0..100 {
        failed = metric(&daemon, "dcs_tls_handshake_failures_total");
        if failed > failed_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failed > failed_before, "the daemon refused the handshake");

    // (e) till-1's certificate with pos-1's token: refused, naming both.
    let mut mixed = connect(&daemon, Some(&till1)).await.unwrap();
    let err = mixed.submit_sale(with_token(common::sale(7), &token)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(
        err.message().contains("terminal till-1's") && err.message().contains("terminal pos-1's"),
        "{}",
        err.message()
    );

    // Still serving the good certificate after all the refusals.
    let summary = by_cert
        .get_day_summary(bare(pb::GetDaySummaryRequest { day: String::new() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.sales_count, 2, "sales 1 and 4; every refused one stored nothing");

    let unregistered = r#"dcs_local_auth_refused_total{reason="unregistered_certificate"}"#;
    assert_eq!(metric(&daemon, unregistered), 3, "the stranger twice, the retired one once");
    assert_eq!(metric(&daemon, r#"dcs_local_auth_refused_total{reason="mismatch"}"#), 1);
    assert!(daemon.terminate().success());
    let store = common::open_store(&dir);
    store.verify_chain().unwrap();
    assert_eq!(store.head_position_sync().unwrap(), by_token_sale.last_position);
    let events = store.read_all_sync(1, 1_000).unwrap();
    assert_eq!(events.len() as u64, by_token_sale.last_position);
    assert!(
        events.iter().all(|e| e.event.agent_id().as_str() == "pos-1"
            && e.event.audit().created_by.as_str() == "pos-1"),
        "every stored event is pos-1's"
    );
    let by_cert_events: Vec<_> =
        events.iter().filter(|e| e.position <= sold.last_position).collect();
    assert_eq!(by_cert_events.len() as u64, sold.last_position, "the session and sale 1");
}

/// The value of the metric line starting `name` on the admin port (0 when absent).
fn metric(d: &common::Daemon, name: &str) -> u64 {
    let text = d.admin_get("/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok()))
        .map_or(0, |v| v as u64)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `[listen.pos_tls]` from the environment, without a client CA: TLS with tokens only; a
/// client certificate is not asked for, so it names nobody. A missing file is refused at
/// start, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_from_the_environment_without_a_client_ca_takes_tokens_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let ca_dir = tmp.path().join("ca");
    let token = common::init(&dir);
    let (d, c) = (dir.to_str().unwrap(), ca_dir.to_str().unwrap());
    cli(&["pos-tls", "--data-dir", d, "--ca-dir", c]);
    cli(&["terminal", "cert", "--data-dir", d, "--id", "pos-1", "--ca-dir", c]);
    let pos1 = read_pair(&dir.join("tls/terminal-pos-1.crt"), &dir.join("tls/terminal-pos-1.key"));
    // `--pem` registers a certificate issued elsewhere, and one terminal's certificate is
    // refused for another.
    let pem = tmp.path().join("issued-elsewhere.crt");
    let issued = dcs_daemon::tls::DevCa::open_or_create(&ca_dir).unwrap();
    std::fs::write(&pem, issued.issue_client("till-1").unwrap().0).unwrap();
    cli(&["till", "add", "--data-dir", d, "--id", "till-1"]);
    let p = pem.to_str().unwrap();
    let said = cli(&["terminal", "cert", "--data-dir", d, "--id", "till-1", "--pem", p]);
    let digest = hex(&dcs_daemon::tls::pem_cert_sha256(&pem).unwrap());
    assert!(said.contains(&digest), "{said}");
    let terminals = std::fs::read_to_string(dir.join("terminals.toml")).unwrap();
    assert!(terminals.contains(&format!("cert_sha256 = \"{digest}\"")), "{terminals}");
    let out = Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["terminal", "cert", "--data-dir", d, "--id", "till-1", "--pem"])
        .arg(dir.join("tls/terminal-pos-1.crt"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("is terminal pos-1's already"), "{err}");
    // Take the section pos-tls wrote out of the file again: the environment sets it.
    let config = dir.join("dcs-local.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let cut = text.find("\n[listen.pos_tls]").unwrap();
    std::fs::write(&config, &text[..cut]).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["run", "--check-config", "--data-dir", d])
        .env("DCS_LISTEN__POS_TLS__CERT", "tls/pos.crt")
        .env("DCS_LISTEN__POS_TLS__KEY", "tls/nope.key")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("nope.key") && err.contains("does not exist"), "{err}");

    let daemon = common::start_with(
        &dir,
        &token,
        &[
            ("DCS_LISTEN__POS_TLS__CERT", "tls/pos.crt"),
            ("DCS_LISTEN__POS_TLS__KEY", "tls/pos.key"),
        ],
    );
    let mut with_token = connect(&daemon, None).await.unwrap();
    let catalog = with_token
        .get_catalog(self::with_token(pb::GetCatalogRequest {}, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(catalog.products.len(), 2);
    let mut with_cert = connect(&daemon, Some(&pos1)).await.unwrap();
    let err = with_cert.get_catalog(bare(pb::GetCatalogRequest {})).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.message().contains("no terminal token"), "{}", err.message());
    assert!(daemon.terminate().success());
}
