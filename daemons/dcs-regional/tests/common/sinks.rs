//! The real sinks the forwarding tests need: a Kafka-protocol broker (noida-db, installed by
//! `scripts/kafka-dev install`) started as a process on a free port, a fresh PostgreSQL
//! database (the server of `DCS_PG_URL`, as dcs-store's tests use it), and the checkers that
//! read back what each sink holds.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dcs_regional::forward::kafka::KafkaSinkConfig;
use dcs_regional::forward::postgres::PostgresSink;

#[path = "kafka_read.rs"]
mod kafka_read;
pub use kafka_read::kafka_keys;

#[path = "../../../../dcs-store/tests/pg_common/mod.rs"]
pub mod pg_common;

/// A throwaway Kafka-protocol broker (stopped and deleted on drop).
pub struct Broker {
    child: Child,
    /// `127.0.0.1:port`.
    pub brokers: String,
    _dir: tempfile::TempDir,
}

impl Broker {
    /// Starts noida-db on a free port (`DCS_NOIDA` names the binary, else `noida-db`).
    pub fn start() -> Broker {
        let bin = std::env::var("DCS_NOIDA").unwrap_or_else(|_| "noida-db".into());
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["start", "--only", "kafka", "--kafka-port", &port.to_string(), "--data-dir"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: `noida-db` on PATH may be a wrapper whose child is the
            // broker, and the whole group is stopped at the end.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin}: {e}; install it with `scripts/kafka-dev install` (or run ./scripts/test)")
            });
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "the broker did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker { child, brokers: format!("127.0.0.1:{port}"), _dir: dir }
    }

    /// A sink config for this broker.
    pub fn sink(&self, prefix: &str) -> KafkaSinkConfig {
        KafkaSinkConfig {
            brokers: self.brokers.clone(),
            topic_prefix: prefix.into(),
            partitions: 3,
            request_timeout_ms: 10_000,
            ..KafkaSinkConfig::default()
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A fresh migrated database and the forwarder's sink config on it (the `dcs_app` login,
/// its password in a file).
pub async fn pg_sink(dir: &std::path::Path) -> (pg_common::TestDb, PostgresSink) {
    let db = pg_common::TestDb::new().await;
    let password = dir.join("pg.password");
    std::fs::write(&password, pg_common::PASSWORD).unwrap();
    let host = db.admin.get_hosts().first().cloned().unwrap();
    let host = match host {
        tokio_postgres::config::Host::Tcp(h) => h,
        #[allow(unreachable_patterns)]
        other => panic!("a TCP host was expected, got {other:?}"),
    };
    let port = db.admin.get_ports().first().copied().unwrap_or(5432);
    let sink = PostgresSink {
        url: format!("host={host} port={port} user={} dbname={}", pg_common::APP, db.name),
        password_file: Some(password),
        max_connections: 2,
    };
    (db, sink)
}

/// Every (stream, stream version) PostgreSQL holds, counted (as the superuser).
pub async fn pg_rows(db: &pg_common::TestDb) -> BTreeMap<(String, u64), u32> {
    let c = pg_common::connect(&db.admin).await;
    let rows = c.query("SELECT stream_id, stream_version FROM event_store", &[]).await.unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        let s: String = r.get(0);
        let v: i64 = r.get(1);
        *out.entry((s, v as u64)).or_insert(0) += 1;
    }
    out
}
