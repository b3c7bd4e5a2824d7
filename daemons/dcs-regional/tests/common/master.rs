//! A `dcs-master` process for the tests that run every tier: initialised in the region's
//! test directory with a certificate from the region's development CA, serving region 0.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::procs::{free_port, ok};

/// The `dcs-master` binary beside this package's binary (built on demand when a run of this
/// package alone did not build it).
pub fn master_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_dcs-regional")).with_file_name("dcs-master");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        ok(Command::new(cargo).args(["build", "-p", "dcs-master"]));
    }
    assert!(bin.exists(), "{} is not built", bin.display());
    bin
}

/// The running master.
pub struct MasterProc {
    pub child: Child,
    pub dir: PathBuf,
    pub admin: u16,
    pub token: String,
}

impl Drop for MasterProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MasterProc {
    /// Initialises `root/master` (gRPC on `grpc`, its certificate from `root/ca`, the
    /// dashboard from `web` when given) and starts it.
    pub fn start(root: &Path, grpc: u16, web: Option<&Path>) -> MasterProc {
        let dir = root.join("master");
        let admin = free_port();
        ok(Command::new(master_bin())
            .args(["init", "--data-dir"])
            .arg(&dir)
            .args(["--region", "0"])
            .args(["--listen", &format!("127.0.0.1:{grpc}")])
            .args(["--admin", &format!("127.0.0.1:{admin}")]));
        ok(Command::new(master_bin())
            .args(["dev-certs", "--data-dir"])
            .arg(&dir)
            .arg("--ca-dir")
            .arg(root.join("ca")));
        if let Some(web) = web {
            let cfg = dir.join("dcs-master.toml");
            let mut t: toml::Table = std::fs::read_to_string(&cfg).unwrap().parse().unwrap();
            let mut w = toml::Table::new();
            w.insert("dir".into(), web.display().to_string().into());
            t.insert("web".into(), w.into());
            // The dashboard's lag chart has samples within the test's seconds.
            let registry = t.entry("registry").or_insert_with(|| toml::Table::new().into());
            if let Some(r) = registry.as_table_mut() {
                r.insert("sample_every_s".into(), 1.into());
            }
            std::fs::write(&cfg, toml::to_string(&t).unwrap()).unwrap();
        }
        let token = std::fs::read_to_string(dir.join("admin.token")).unwrap().trim().to_string();
        let log = std::fs::File::create(dir.join("master.log")).unwrap();
        let child = Command::new(master_bin())
            .args(["run", "--data-dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        MasterProc { child, dir, admin, token }
    }

    /// An API call with the admin token: (status, JSON).
    pub async fn api(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let addr = format!("127.0.0.1:{}", self.admin);
        let (status, text) =
            dcs_daemon::admin_client::request(&addr, method, path, &self.token, body.to_string())
                .await
                .unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// `dcs-master admin create-user` (the password through a file removed afterwards).
    pub fn create_user(&self, name: &str, grant: &str, password: &str) {
        let file = self.dir.join(format!("{name}.password"));
        std::fs::write(&file, password).unwrap();
        ok(Command::new(master_bin())
            .args(["admin", "--data-dir"])
            .arg(&self.dir)
            .args(["create-user", "--name", name, "--grant", grant, "--password-file"])
            .arg(&file));
        std::fs::remove_file(&file).unwrap();
    }

    /// Every summary's event id, paging through the API.
    pub async fn summary_ids(&self) -> Vec<String> {
        let (mut out, mut after) = (vec![], 0u64);
        loop {
            let path = format!("/api/v1/summaries?after={after}&limit=500");
            let (status, body) = self.api("GET", &path, "").await;
            assert_eq!(status, 200, "{body}");
            let page = body["page"].as_array().unwrap().clone();
            if page.is_empty() {
                return out;
            }
            for row in &page {
                out.push(row["event_id"].as_str().unwrap().to_string());
                after = row["rowid"].as_u64().unwrap();
            }
        }
    }
}
