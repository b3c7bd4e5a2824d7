//! A port served through `ServerTlsFiles` and `tls_incoming` (the POS port's TLS): gRPC over
//! h2 with or without a client certificate of the client CA, HTTP/1.1 for clients that offer
//! only that (gRPC-Web, files), a certificate of another CA refused in the handshake, and bad
//! files refused at load with the file named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use dcs_daemon::tls::{DevCa, ServerTlsFiles};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A rustls client offering `alpn`, trusting `ca`, presenting `cert` (PEM cert, PEM key).
fn raw_client(ca: &[u8], cert: Option<(&str, &str)>, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn client_certificates_are_optional_but_checked_and_http1_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DevCa::open_or_create(&dir.path().join("ca")).unwrap();
    let node = ca.write_node(&dir.path().join("pos"), "pos", &["localhost"]).unwrap();
    let files =
        ServerTlsFiles { cert: node.cert.clone(), key: node.key.clone(), client_ca: Some(node.ca) };
    let tls = files.load().unwrap();
    assert!(tls.verifies_client_certs());
    let ca_pem = ca.cert_pem().as_bytes().to_vec();
    let (cert, key) = ca.issue_client("terminal-1").unwrap();
    let other = DevCa::generate().unwrap();
    let (foreign_cert, foreign_key) = other.issue_client("terminal-1").unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let incoming = dcs_daemon::tls::tls_incoming(listener, &tls, stop.clone());
    let server = Server::builder()
        .accept_http1(true)
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    let task = tokio::spawn(server);

    let check = |identity: Option<Identity>| {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&ca_pem))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        async move {
            let channel = Endpoint::from_shared(format!("https://{addr}"))
                .unwrap()
                .connect_timeout(Duration::from_secs(5))
                .tls_config(tls)
                .unwrap()
                .connect()
                .await
                .map_err(|e| format!("connect: {e:?}"))?;
            HealthClient::new(channel)
                .check(HealthCheckRequest { service: String::new() })
                .await
                .map(|_| ())
                .map_err(|e| format!("call: {e}"))
        }
    };
    // gRPC over h2, with no certificate and with one of the client CA.
    check(None).await.unwrap();
    check(Some(Identity::from_pem(&cert, key.as_bytes()))).await.unwrap();
    // Another CA's certificate: refused (at connect or at the first call, as the alert
    // arrives).
    let foreign = Identity::from_pem(&foreign_cert, foreign_key.as_bytes());
    assert!(check(Some(foreign)).await.is_err());

    // A client that offers only HTTP/1.1 gets it, and an HTTP/1.1 answer.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut stream =
        raw_client(&ca_pem, None, &[b"http/1.1"]).connect(name.clone(), tcp).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap_or_default();
    assert!(answer.starts_with(b"HTTP/1.1 "), "{}", String::from_utf8_lossy(&answer));
    // With a certificate of the client CA, the handshake completes on HTTP/1.1 too.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let client = raw_client(&ca_pem, Some((&cert, key.as_str())), &[b"http/1.1"]);
    let stream = client.connect(name, tcp).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn bad_files_are_refused_at_load_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DevCa::open_or_create(&dir.path().join("ca")).unwrap();
    let node = ca.write_node(&dir.path().join("pos"), "pos", &["localhost"]).unwrap();
    let ok = ServerTlsFiles { cert: node.cert.clone(), key: node.key.clone(), client_ca: None };
    let tls = ok.load().unwrap();
    assert!(!tls.verifies_client_certs());

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let err = ServerTlsFiles { client_ca: Some(empty.clone()), ..ok.clone() }.load().unwrap_err();
    assert!(err.to_string().contains("empty.pem") && err.to_string().contains("no PEM"), "{err}");
    let err = ServerTlsFiles { cert: empty, ..ok.clone() }.load().unwrap_err();
    assert!(err.to_string().contains("empty.pem"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = ServerTlsFiles { client_ca: Some(missing), ..ok.clone() }.load().unwrap_err();
    assert!(err.to_string().contains("missing.pem: it does not exist"), "{err}");

    // The key of another certificate.
    let other = ca.write_node(&dir.path().join("other"), "other", &["localhost"]).unwrap();
    let err = ServerTlsFiles { key: other.key, ..ok.clone() }.load().unwrap_err();
    assert!(err.to_string().contains("does not fit the certificate"), "{err}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&node.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ok.load().unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    // The digest of a PEM file's leaf is the digest of its DER.
    let der = CertificateDer::from_pem_slice(&std::fs::read(&node.cert).unwrap()).unwrap();
    let from_file = dcs_daemon::tls::pem_cert_sha256(&node.cert).unwrap();
    assert_eq!(from_file, dcs_daemon::tls::cert_sha256(&der));
}
