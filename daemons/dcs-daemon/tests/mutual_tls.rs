//! The development CA issues node certificates; a gRPC server with the node's TlsFiles
//! accepts a client holding a certificate from the same CA and refuses one without, or one
//! from another CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dcs_daemon::tls::DevCa;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

async fn check(endpoint: Endpoint) -> Result<(), String> {
    let channel: Channel = endpoint.connect().await.map_err(|e| format!("connect: {e:?}"))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest { service: String::new() })
        .await
        .map(|_| ())
        .map_err(|e| format!("call: {e}"))
}

#[tokio::test]
async fn only_peers_of_the_same_ca_get_through() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DevCa::open_or_create(&dir.path().join("ca")).unwrap();
    let server_files = ca
        .write_node(&dir.path().join("region-1"), "region-1", &["127.0.0.1", "region-1.local"])
        .unwrap();
    let client_files =
        ca.write_node(&dir.path().join("store-1"), "store-1", &["127.0.0.1"]).unwrap();
    // The same CA, reopened from disk, still issues certificates peers accept.
    let reopened = DevCa::open_or_create(&dir.path().join("ca")).unwrap();
    let late_files =
        reopened.write_node(&dir.path().join("store-2"), "store-2", &["127.0.0.1"]).unwrap();
    let other_ca = DevCa::open_or_create(&dir.path().join("other-ca")).unwrap();
    let stranger =
        other_ca.write_node(&dir.path().join("stranger"), "stranger", &["127.0.0.1"]).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let stop = CancellationToken::new();
    let server = Server::builder()
        .tls_config(server_files.server_config().unwrap())
        .unwrap()
        .add_service(health)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            stop.clone().cancelled_owned(),
        );
    let task = tokio::spawn(server);
    let url = format!("https://127.0.0.1:{}", addr.port());
    let endpoint = |tls| {
        Endpoint::from_shared(url.clone())
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .tls_config(tls)
            .unwrap()
    };

    check(endpoint(client_files.client_config("127.0.0.1").unwrap())).await.unwrap();
    check(endpoint(late_files.client_config("127.0.0.1").unwrap())).await.unwrap();
    // A certificate from another CA is refused by the server.
    assert!(check(endpoint(stranger.client_config("127.0.0.1").unwrap())).await.is_err());
    // No client certificate at all is refused.
    let anonymous = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(
            std::fs::read(&client_files.ca).unwrap(),
        ))
        .domain_name("127.0.0.1");
    assert!(check(endpoint(anonymous)).await.is_err());
    // The client refuses a server whose name does not match.
    assert!(check(endpoint(client_files.client_config("region-2.local").unwrap())).await.is_err());

    // A world-readable key is refused before it is used.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&client_files.key, std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let err = client_files.client_config("127.0.0.1").unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
    stop.cancel();
    task.await.unwrap().unwrap();
}
