//! The admin port answers /healthz, /readyz and /metrics over real HTTP, follows the health
//! state, and stops on cancellation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dcs_daemon::admin::{self, Health};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let metrics = dcs_daemon::telemetry::metrics().unwrap();
    let health = Health::new();
    let stop = CancellationToken::new();
    let router = admin::router(health.clone(), metrics, axum::Router::new());
    let (addr, task) =
        admin::serve("127.0.0.1:0".parse().unwrap(), router, stop.clone()).await.unwrap();

    assert_eq!(get(addr, "/healthz").await.0, 200);
    let (code, body) = get(addr, "/readyz").await;
    assert_eq!((code, body.trim()), (503, "not ready: starting"));
    health.set_ready();
    assert_eq!(get(addr, "/readyz").await.0, 200);
    health.set_not_live("store is read-only");
    let (code, body) = get(addr, "/healthz").await;
    assert_eq!(code, 503);
    assert!(body.contains("store is read-only"), "{body}");

    metrics::counter!("dcs_test_appends_total").increment(3);
    metrics::histogram!("dcs_test_append_seconds").record(0.003);
    let (code, body) = get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(body.contains("dcs_test_appends_total 3"), "{body}");
    // Latencies are Prometheus buckets (0.003 s falls in le="0.005").
    assert!(body.contains("dcs_test_append_seconds_bucket{le=\"0.005\"} 1"), "{body}");
    assert_eq!(get(addr, "/nope").await.0, 404);

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port is closed");
}
