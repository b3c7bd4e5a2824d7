//! A fresh database per test on the server named by `DCS_PG_URL`, migrated, with an
//! application role (member of `dcs_app`) and a branch role (member of `dcs_branch`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use dcs_core::{BranchId, TenantId};
use dcs_store::postgres::{PgStore, Scope, migrate};
use tokio_postgres::{Client, Config, NoTls};

/// The superuser URL of the test server, or a failure that says how to get one.
pub fn server_url() -> String {
    std::env::var("DCS_PG_URL").unwrap_or_else(|_| {
        panic!(
            "DCS_PG_URL is not set: these tests need a PostgreSQL server. Start a throwaway one with \
             `eval \"$(scripts/pg-dev start)\"` (stop it with `scripts/pg-dev stop`), or run ./scripts/test"
        )
    })
}

/// Connects with `config` and drives the connection in the background.
pub async fn connect(config: &Config) -> Client {
    let (client, conn) = config.connect(NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A migrated database of its own for one test.
pub struct TestDb {
    /// Superuser config on the test database (the owner, for setup and inspection).
    pub admin: Config,
    /// Config of the tenant-wide application role.
    pub app: Config,
    /// Config of the branch-scoped application role.
    pub branch: Config,
}

static N: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// Creates and migrates a fresh database.
    pub async fn new() -> TestDb {
        let server: Config = server_url().parse().expect("DCS_PG_URL is not a valid libpq URL");
        let name = format!("dcs_t_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        let root = connect(&server).await;
        root.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
        root.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        let mut admin = server.clone();
        admin.dbname(&name);
        let mut owner = connect(&admin).await;
        migrate(&mut owner).await.unwrap();
        for (role, group) in [("dcs_t_app", "dcs_app"), ("dcs_t_branch", "dcs_branch")] {
            let _ = root.batch_execute(&format!("CREATE ROLE {role} LOGIN IN ROLE {group}")).await;
        }
        owner
            .batch_execute(&format!("GRANT CONNECT ON DATABASE {name} TO dcs_app, dcs_branch"))
            .await
            .unwrap();
        let mut app = admin.clone();
        app.user("dcs_t_app");
        let mut branch = admin.clone();
        branch.user("dcs_t_branch");
        TestDb { admin, app, branch }
    }

    /// A tenant-wide store handle as the application role.
    pub fn store(&self, tenant: &str) -> PgStore {
        let scope = Scope { tenant: TenantId::new(tenant).unwrap(), branch: None };
        PgStore::connect(self.app.clone(), scope, 8).unwrap()
    }

    /// A branch-scoped store handle as the branch role.
    pub fn branch_store(&self, tenant: &str, branch: &str) -> PgStore {
        let scope = Scope {
            tenant: TenantId::new(tenant).unwrap(),
            branch: Some(BranchId::new(branch).unwrap()),
        };
        PgStore::connect(self.branch.clone(), scope, 4).unwrap()
    }
}
