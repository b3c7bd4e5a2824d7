//! A benchmark database on the server of `DCS_PG_URL`: migrated, with an application login
//! and the store handle of tenant `bench`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use dcs_core::{BranchId, TenantId};
use dcs_store::postgres::{PgStore, Scope, migrate};
use tokio_postgres::{Client, Config, NoTls};

/// The runtime, the store (application role, tenant `bench`), the owner's connection and an
/// application-role connection for the peers.
pub struct PgBench {
    pub rt: tokio::runtime::Runtime,
    pub store: PgStore,
    pub owner: Client,
    pub app: Client,
}

/// A connection whose driver runs on the current runtime.
pub async fn connect(config: &Config) -> Client {
    let (client, conn) = config.connect(NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A fresh database `name` with the schema and an application login; `peers` (SQL run as
/// the owner) makes the peers' tables.
pub fn fresh(name: &str, peers: &str) -> PgBench {
    let url = std::env::var("DCS_PG_URL")
        .expect("DCS_PG_URL is not set: run `eval \"$(scripts/pg-dev start)\"` first");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server: Config = url.parse().unwrap();
    let (store, owner, app) = rt.block_on(async {
        let root = connect(&server).await;
        root.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
        root.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        let mut admin = server.clone();
        admin.dbname(name);
        let mut owner = connect(&admin).await;
        migrate(&mut owner).await.unwrap();
        let _ = root.batch_execute("CREATE ROLE dcs_bench_app LOGIN IN ROLE dcs_app").await;
        owner.batch_execute(peers).await.unwrap();
        let mut app = admin.clone();
        app.user("dcs_bench_app");
        let scope = Scope { tenant: TenantId::new("bench").unwrap(), branch: None::<BranchId> };
        let app_client = connect(&app).await;
        (PgStore::connect(app, scope, 2).unwrap(), owner, app_client)
    });
    PgBench { rt, store, owner, app }
}
