//! A benchmark database on the server of `DCS_PG_URL`, set up as in production: the
//! superuser bootstrap, the schema migrated by a member of the NOLOGIN owner, and the store
//! handle of tenant `bench` on a plain application login.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use dcs_core::{BranchId, TenantId};
use dcs_store::postgres::{PgStore, Scope, bootstrap_database, bootstrap_roles, migrate};
use tokio_postgres::{Client, Config, NoTls};

/// The runtime, the store (application login, tenant `bench`), the superuser's connection
/// (for the peers' tables and COPY) and an application-login connection for the peers.
pub struct PgBench {
    pub rt: tokio::runtime::Runtime,
    pub store: PgStore,
    pub owner: Client,
    pub app: Client,
}

/// The benchmark logins' password (scripts/pg-dev asks for it over SCRAM).
const PASSWORD: &str = "dcs-bench-only";

/// A connection whose driver runs on the current runtime.
pub async fn connect(config: &Config) -> Client {
    let (client, conn) = config.connect(NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A fresh database `name` with the schema and an application login; `peers` (SQL run as
/// the superuser) makes the peers' tables.
pub fn fresh(name: &str, peers: &str) -> PgBench {
    let url = std::env::var("DCS_PG_URL")
        .expect("DCS_PG_URL is not set: run `eval \"$(scripts/pg-dev start)\"` first");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server: Config = url.parse().unwrap();
    let (store, owner, app) = rt.block_on(async {
        let root = connect(&server).await;
        bootstrap_roles(&root).await.unwrap();
        for (login, group) in [("dcs_bench_migrator", "dcs_owner"), ("dcs_bench_app", "dcs_app")] {
            let _ = root
                .batch_execute(&format!(
                    "CREATE ROLE {login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE IN ROLE {group}"
                ))
                .await;
            root.batch_execute(&format!("ALTER ROLE {login} PASSWORD '{PASSWORD}'")).await.unwrap();
        }
        root.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
        root.batch_execute(&format!("CREATE DATABASE {name} OWNER dcs_owner")).await.unwrap();
        let mut admin = server.clone();
        admin.dbname(name);
        let owner = connect(&admin).await;
        bootstrap_database(&owner).await.unwrap();
        let mut migrator = admin.clone();
        migrator.user("dcs_bench_migrator").password(PASSWORD);
        let mut as_owner = connect(&migrator).await;
        as_owner.batch_execute("SET ROLE dcs_owner").await.unwrap();
        migrate(&mut as_owner).await.unwrap();
        owner.batch_execute(peers).await.unwrap();
        let mut app = admin.clone();
        app.user("dcs_bench_app").password(PASSWORD);
        let scope = Scope { tenant: TenantId::new("bench").unwrap(), branch: None::<BranchId> };
        let app_client = connect(&app).await;
        (PgStore::connect(app, scope, 2).unwrap(), owner, app_client)
    });
    PgBench { rt, store, owner, app }
}
