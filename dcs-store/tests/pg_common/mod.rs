//! A fresh database per test on the server named by `DCS_PG_URL`, set up as the module doc
//! tells an operator to: the superuser bootstrap (roles, then the database's guard), the
//! schema migrated by a login that is a member of the NOLOGIN owner `dcs_owner`, and the
//! store used by separate application logins (members of `dcs_app` and `dcs_branch`),
//! none of them superuser. The superuser config is kept for seeding and inspection only.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use dcs_core::{BranchId, TenantId};
use dcs_store::postgres::{PgStore, Scope, bootstrap_database, bootstrap_roles, migrate};
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

/// The login that migrates: a member of `dcs_owner`, nothing more.
pub const MIGRATOR: &str = "dcs_t_migrator";
/// The tenant-wide application login: a member of `dcs_app`.
pub const APP: &str = "dcs_t_app";
/// The branch login of tenant `A`, branch `b1`: a member of `dcs_branch`.
pub const BRANCH: &str = "dcs_t_branch";

/// The password of every test login (scripts/pg-dev asks them for it over SCRAM).
pub const PASSWORD: &str = "dcs-test-only";

/// The logins (cluster-wide, made once): name and group.
const LOGINS: &[(&str, &str)] =
    &[(MIGRATOR, "dcs_owner"), (APP, "dcs_app"), (BRANCH, "dcs_branch")];

/// A bootstrapped and migrated database of its own for one test.
pub struct TestDb {
    /// Superuser config on the test database: seeding and inspection, never the store.
    pub admin: Config,
    /// The migrator login (connect, then `SET ROLE dcs_owner`: see [`TestDb::owner`]).
    pub migrator: Config,
    /// Config of the tenant-wide application login.
    pub app: Config,
    /// Config of the branch login bound to tenant `A`, branch `b1`.
    pub branch: Config,
    /// The database's name.
    pub name: String,
}

static N: AtomicU32 = AtomicU32::new(0);

/// Serialises the cluster-wide part of the setup across the tests of a binary.
const SETUP_LOCK: i64 = 0x6463_735f_7365_7475;

impl TestDb {
    /// Creates a fresh database, bootstraps it as the superuser and migrates it as the owner.
    pub async fn new() -> TestDb {
        let server: Config = server_url().parse().expect("DCS_PG_URL is not a valid libpq URL");
        let name = format!("dcs_t_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        let root = connect(&server).await;
        root.execute("SELECT pg_advisory_lock($1)", &[&SETUP_LOCK]).await.unwrap();
        bootstrap_roles(&root).await.unwrap();
        for (login, group) in LOGINS {
            ensure_login(&root, login, group).await;
        }
        root.execute("SELECT pg_advisory_unlock($1)", &[&SETUP_LOCK]).await.unwrap();
        root.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
        root.batch_execute(&format!("CREATE DATABASE {name} OWNER dcs_owner")).await.unwrap();
        let mut admin = server.clone();
        admin.dbname(&name);
        bootstrap_database(&connect(&admin).await).await.unwrap();
        let with_user = |user: &str| {
            let mut c = admin.clone();
            c.user(user).password(PASSWORD);
            c
        };
        let db = TestDb {
            migrator: with_user(MIGRATOR),
            app: with_user(APP),
            branch: with_user(BRANCH),
            admin,
            name,
        };
        let mut owner = db.owner().await;
        migrate(&mut owner).await.unwrap();
        db.bind_branch(BRANCH, "A", "b1").await;
        db
    }

    /// A connection of the migrator login acting as the owner `dcs_owner`.
    pub async fn owner(&self) -> Client {
        let owner = connect(&self.migrator).await;
        owner.batch_execute("SET ROLE dcs_owner").await.unwrap();
        owner
    }

    /// Binds the branch login `login` to `tenant`/`branch` (as the owner, in `dcs_logins`).
    pub async fn bind_branch(&self, login: &str, tenant: &str, branch: &str) {
        self.owner()
            .await
            .execute(
                "INSERT INTO dcs_logins (login, tenant_id, branch_id) VALUES ($1, $2, $3)
                 ON CONFLICT (login) DO UPDATE SET tenant_id = excluded.tenant_id, branch_id = excluded.branch_id",
                &[&login, &tenant, &branch],
            )
            .await
            .unwrap();
    }

    /// A branch login of its own for `tenant`/`branch` (made if missing), bound to them.
    pub async fn branch_login(&self, tenant: &str, branch: &str) -> Config {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                .collect()
        };
        let login = format!("dcs_t_br_{}_{}", safe(tenant), safe(branch));
        // On the server's own database, like `new`: an advisory lock is per database, and
        // tests that make the same login at once otherwise collide on its catalog row.
        let server: Config = server_url().parse().expect("DCS_PG_URL is not a valid libpq URL");
        let root = connect(&server).await;
        root.execute("SELECT pg_advisory_lock($1)", &[&SETUP_LOCK]).await.unwrap();
        ensure_login(&root, &login, "dcs_branch").await;
        root.execute("SELECT pg_advisory_unlock($1)", &[&SETUP_LOCK]).await.unwrap();
        self.bind_branch(&login, tenant, branch).await;
        let mut c = self.admin.clone();
        c.user(&login).password(PASSWORD);
        c
    }

    /// A tenant-wide store handle as the application login.
    pub fn store(&self, tenant: &str) -> PgStore {
        let scope = Scope { tenant: TenantId::new(tenant).unwrap(), branch: None };
        PgStore::connect(self.app.clone(), scope, 8).unwrap()
    }

    /// A branch-scoped store handle as a branch login bound to `tenant`/`branch`.
    pub async fn branch_store(&self, tenant: &str, branch: &str) -> PgStore {
        let scope = Scope {
            tenant: TenantId::new(tenant).unwrap(),
            branch: Some(BranchId::new(branch).unwrap()),
        };
        PgStore::connect(self.branch_login(tenant, branch).await, scope, 4).unwrap()
    }
}

/// Makes `login` (if missing) a plain login in `group`, with [`PASSWORD`]: no superuser, no
/// bypass of RLS, no role or database creation.
async fn ensure_login(root: &Client, login: &str, group: &str) {
    let exists = root
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&login])
        .await
        .unwrap()
        .is_some();
    if !exists {
        root.batch_execute(&format!(
            "CREATE ROLE {login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB IN ROLE {group}"
        ))
        .await
        .unwrap();
    }
    root.batch_execute(&format!("ALTER ROLE {login} PASSWORD '{PASSWORD}'")).await.unwrap();
}
