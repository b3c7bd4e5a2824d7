//! Starts the real `dcs-local` binary on ephemeral 127.0.0.1 ports in a fresh data directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod region;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dcs_proto::pb;
use dcs_proto::pb::pos_service_client::PosServiceClient;
use tonic::transport::Channel;

/// A running daemon.
pub struct Daemon {
    pub child: Child,
    pub pos: String,
    pub admin: String,
    pub token: String,
    pub dir: PathBuf,
}

/// `dcs-local init` in `dir`; returns pos-1's token.
pub fn init(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["init", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.rsplit_once("): ").map(|(_, t)| t.to_string()))
        .expect("init prints the token")
}

/// Starts `dcs-local run` on `dir` with ports 0; waits for its "listening" line.
pub fn start(dir: &Path, token: &str) -> Daemon {
    start_with(dir, token, &[])
}

/// [`start`] with extra environment variables (config overrides).
pub fn start_with(dir: &Path, token: &str, env: &[(&str, &str)]) -> Daemon {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcs-local"))
        .args(["run", "--data-dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .env("DCS_LISTEN__POS", "127.0.0.1:0")
        .env("DCS_LISTEN__ADMIN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("dcs-local listening") => break l,
            Some(Ok(_)) => continue,
            _ => panic!("dcs-local exited before listening"),
        }
    };
    // Keep draining stdout so the daemon never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")).map(str::to_string))
            .unwrap()
    };
    Daemon {
        pos: field("pos"),
        admin: field("admin"),
        child,
        token: token.to_string(),
        dir: dir.to_path_buf(),
    }
}

impl Daemon {
    pub async fn client(&self) -> PosServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.pos))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap();
        PosServiceClient::new(channel)
    }

    /// Opens cashier session `s-1` (float `float` cents) with key `open`.
    pub async fn open_session(&self, c: &mut PosServiceClient<Channel>, float: i64) {
        c.open_session(self.req(pb::OpenSessionRequest {
            idempotency_key: "open".into(),
            session_id: "s-1".into(),
            cashier: "cashier-1".into(),
            opening_float: usd(float),
        }))
        .await
        .unwrap();
    }

    /// GET `path` on the admin port (HTTP/1.0, no client library): status line and body.
    pub fn admin_get(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&self.admin).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    /// `msg` with this daemon's terminal token.
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("authorization", format!("Bearer {}", self.token).parse().unwrap());
        r
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.terminate_in_place()
    }

    fn terminate_in_place(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().unwrap();
        panic!("dcs-local did not stop within 10 s of SIGTERM");
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    /// A test that fails must not leave its daemon running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The daemon's store, opened with its chain key (the tenant MAC key in `keys/mac.key`).
pub fn open_store(dir: &Path) -> dcs_store::sqlite::SqliteStore {
    let mac =
        dcs_crypto::MacKey::from_bytes(&std::fs::read(dir.join("keys/mac.key")).unwrap()).unwrap();
    dcs_store::sqlite::SqliteStore::open_keyed(dir.join("events.db"), Default::default(), &mac)
        .unwrap()
}

pub fn usd(minor: i64) -> Option<pb::Money> {
    Some(pb::Money { minor_units: minor, currency_code: "USD".into(), exponent: 2 })
}

pub fn cart(lines: &[(&str, u32)]) -> Option<pb::Cart> {
    Some(pb::Cart {
        lines: lines
            .iter()
            .map(|(s, q)| pb::CartLine { sku: (*s).into(), quantity: *q, discount: None })
            .collect(),
        discount: None,
    })
}

/// Sale `n` of one mug by card in session `s-1`, with key `k-{n}`.
pub fn sale(n: u32) -> pb::SubmitSaleRequest {
    pb::SubmitSaleRequest {
        idempotency_key: format!("k-{n}"),
        session_id: "s-1".into(),
        sale_id: format!("R-{n}"),
        cart: cart(&[("MUG", 1)]),
        tender: pb::Tender::Card as i32,
        customer_id: None,
    }
}
