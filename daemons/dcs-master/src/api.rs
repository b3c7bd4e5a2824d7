//! The admin API on the admin port: JSON over HTTP, read from what the master persisted
//! (its SQLite store) and from its machine (through the driver). Every call but sign-in
//! carries `Authorization: Bearer …`: a session token from `POST /api/v1/login`
//! `{"name", "password"}` (expires; `POST /api/v1/logout` ends it), an API token made by
//! `dcs-master admin create-token`, or the admin token (`admin.token`, every tenant,
//! admin). What the caller may see and change follows its grants ([`crate::access`]): a
//! tenant's sales and stock need a grant on that tenant, what spans tenants (summaries,
//! rejections) a grant on `*`, and changing the central prices or catalog (shared by every
//! tenant) the operator role on `*`. Every change lands in the signed, hash-chained audit
//! log (`GET /api/v1/audit`, with the chain's verification).
//!
//! - `GET /api/v1/regions`: the registry (last seen, last successful sync, lag, protocol
//!   version) with the failure detector's verdict;
//! - `GET /api/v1/regions/history?since_ms=T`: each region's lag and health, and its
//!   forwarding backlog per sink (`sinks`), sampled every `registry.sample_every_s`, kept
//!   `registry.keep_hours`;
//! - `GET /api/v1/regions/raft`: each region's Raft cluster as its leader last reported it
//!   (term, leader, committed and applied index, each member's matched index and lag);
//! - `GET /api/v1/summaries`: how many event summaries the master holds, and a page of their
//!   ids (`?after=ROWID&limit=N`);
//! - `GET /api/v1/sales?tenant=T&from_hour=H&to_hour=H`: sales per region, store and hour;
//! - `GET /api/v1/stock?tenant=T`: stock per branch and SKU across the regions;
//! - `GET /api/v1/stores?tenant=T`: the stores (branches) each region reported events of,
//!   with their event count and newest event;
//! - `GET /api/v1/rejected`: events the master refused, newest first;
//! - `GET /api/v1/prices?sku=A&sku=B`: central prices, in minor units of `[prices]
//!   currency`; `PUT /api/v1/prices/{sku}` `{"price_minor": 450, "currency": "USD"}`: sets
//!   one (sent down to every region and store; another currency is refused);
//! - `GET /api/v1/prices/{sku}/arrival`: the SKU's latest price change and when it reached
//!   each store, from the regions' status reports (a grant on `*`);
//! - `PUT /api/v1/catalog/{sku}`: lists a SKU in the global catalog;
//! - `GET /api/v1/keys?tenant=T`, `PUT /api/v1/keys/{tenant}/{agent}`, `POST
//!   /api/v1/keys/{tenant}/{agent}/revoke`: the key registry (module `keys`), sent down to every
//!   region and store; a tenant's admin registers, rotates and revokes its agents' keys.
//!
//! Answers: 200 with JSON; 400 `{"error": …}` naming the field for bad input (nothing
//! changes); 401 without a valid token (expired, signed out, forged); 403 naming the role a
//! grant lacks; 429 for a name locked out after too many wrong passwords; 503 when the driver or the store cannot answer.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use dcs_daemon::admin_token::AdminToken;
use dcs_store::sqlite::MasterStore;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::access::{Action, Grant, Principal, Role, Scope};
use crate::accounts::{AccountError, Accounts};
use crate::audit::AuditLog;
use crate::driver::{Input, Inputs};
use crate::throttle::LoginThrottle;

mod keys;

/// Most rows one answer carries.
const MAX_ROWS: usize = 10_000;

/// What the routes need.
#[derive(Clone)]
pub struct ApiState {
    /// A read connection to the master's store.
    pub store: Arc<Mutex<MasterStore>>,
    /// The driver's queue.
    pub inputs: Inputs,
    /// The admin token.
    pub token: AdminToken,
    /// Operators, sessions and API tokens.
    pub accounts: Arc<Mutex<Accounts>>,
    /// The audit log.
    pub audit: Arc<Mutex<AuditLog>>,
    /// How long a session lasts, ms.
    pub session_ttl_ms: u64,
    /// Failed sign-ins per operator name.
    pub logins: Arc<Mutex<LoginThrottle>>,
    /// The central prices' currency (`[prices] currency`).
    pub currency: dcs_core::Currency,
}

type Reply = (StatusCode, Json<Value>);

fn error(status: StatusCode, why: impl Into<String>) -> Reply {
    (status, Json(json!({ "error": why.into() })))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// Who the caller is.
async fn principal(s: &ApiState, headers: &HeaderMap) -> Result<Principal, Reply> {
    let unauthorized = |why: &str| error(StatusCode::UNAUTHORIZED, why);
    let Some(token) = bearer(headers) else {
        return Err(unauthorized("sign in: send `Authorization: Bearer <session or API token>`"));
    };
    if s.token.allows(Some(&format!("Bearer {token}"))) {
        return Ok(Principal {
            name: "admin-token".into(),
            grants: vec![Grant { tenant: "*".into(), role: Role::Admin }],
        });
    }
    let accounts = Arc::clone(&s.accounts);
    let now = crate::driver::now().wall_ms;
    let found = tokio::task::spawn_blocking(move || {
        let a = accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        a.resolve(&token, now)
    })
    .await
    .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, format!("the check failed: {e}")))?;
    match found {
        Ok(p) => Ok(p),
        Err(AccountError::BadToken) => Err(unauthorized(&AccountError::BadToken.to_string())),
        Err(e) => Err(error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    }
}

/// The caller, allowed `action` on `scope`.
async fn allowed(
    s: &ApiState,
    headers: &HeaderMap,
    action: Action,
    scope: Scope<'_>,
) -> Result<Principal, Reply> {
    let p = principal(s, headers).await?;
    p.authorize(action, scope).map_err(|e| error(StatusCode::FORBIDDEN, e.to_string()))?;
    Ok(p)
}

/// Spanning every tenant: a grant on `*`.
const ALL: Scope<'static> = Scope::Tenant("*");

/// The tenant a per-tenant read is about: the one asked for (which must be granted), or the
/// caller's only one.
fn tenant_for(p: &Principal, asked: Option<String>) -> Result<Option<String>, Reply> {
    match (asked, p.readable_tenants()) {
        (Some(t), _) => {
            p.authorize(Action::Read, Scope::Tenant(&t))
                .map_err(|e| error(StatusCode::FORBIDDEN, e.to_string()))?;
            Ok(Some(t))
        }
        (None, None) => Ok(None),
        (None, Some(mine)) if mine.len() == 1 => Ok(mine.into_iter().next()),
        (None, Some(mine)) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("tenant: name one of yours: {}", mine.join(", ")),
        )),
    }
}

/// Appends to the audit log (a failure is logged: the change itself is already durable).
async fn audit(s: &ApiState, actor: &str, action: &str, tenant: &str, detail: Value) {
    let log = Arc::clone(&s.audit);
    let what = action.to_string();
    let (actor, action, tenant) = (actor.to_string(), action.to_string(), tenant.to_string());
    let now = crate::driver::now().wall_ms;
    let done = tokio::task::spawn_blocking(move || {
        let mut l = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        l.append(now, &actor, &action, &tenant, &detail.to_string())
    })
    .await;
    if !matches!(done, Ok(Ok(_))) {
        tracing::error!(action = %what, "cannot append to the audit log");
        metrics::counter!("dcs_master_audit_errors_total").increment(1);
    }
}

/// The query, or a 400 saying how to write it.
fn query<T>(q: Result<Query<T>, QueryRejection>, usage: &str) -> Result<T, Reply> {
    q.map(|Query(q)| q).map_err(|e| {
        error(StatusCode::BAD_REQUEST, format!("the query: {}: use {usage}", e.body_text()))
    })
}

/// `{key: [f(row), …]}` for rows read from the store (or the read's error).
fn listed<T>(key: &str, rows: Result<Vec<T>, Reply>, f: impl Fn(&T) -> Value) -> Reply {
    match rows {
        Ok(rows) => {
            let out: Vec<Value> = rows.iter().map(f).collect();
            (StatusCode::OK, Json(json!({ key: out })))
        }
        Err(r) => r,
    }
}

/// Runs a handler body written with `?` on [`Reply`]s.
async fn answer(body: impl std::future::Future<Output = Result<Reply, Reply>>) -> Reply {
    body.await.unwrap_or_else(|r| r)
}

/// The API's routes.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit", get(audit_log))
        .route("/api/v1/regions", get(regions))
        .route("/api/v1/regions/history", get(history))
        .route("/api/v1/regions/raft", get(raft))
        .route("/api/v1/summaries", get(summaries))
        .route("/api/v1/sales", get(sales))
        .route("/api/v1/stock", get(stock))
        .route("/api/v1/stores", get(stores))
        .route("/api/v1/rejected", get(rejected))
        .route("/api/v1/prices", get(prices))
        .route("/api/v1/prices/{sku}", put(set_price))
        .route("/api/v1/prices/{sku}/arrival", get(price_arrival))
        .route("/api/v1/catalog/{sku}", put(list_sku))
        .route("/api/v1/keys", get(keys::keys))
        .route("/api/v1/keys/{tenant}/{agent}", put(keys::register))
        .route("/api/v1/keys/{tenant}/{agent}/revoke", post(keys::revoke))
        .with_state(state)
}

/// Runs a read of the store on the blocking pool.
async fn read<T: Send + 'static>(
    s: &ApiState,
    f: impl FnOnce(&MasterStore) -> Result<T, dcs_store::StoreError> + Send + 'static,
) -> Result<T, Reply> {
    let store = Arc::clone(&s.store);
    tokio::task::spawn_blocking(move || {
        let store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&store)
    })
    .await
    .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, format!("the read failed: {e}")))?
    .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, format!("the master store: {e}")))
}

/// Asks the driver.
async fn ask<T>(s: &ApiState, make: impl FnOnce(oneshot::Sender<T>) -> Input) -> Result<T, Reply> {
    let (tx, rx) = oneshot::channel();
    let busy = || error(StatusCode::SERVICE_UNAVAILABLE, "the master is busy or stopping: retry");
    if !s.inputs.offer(make(tx)) {
        return Err(busy());
    }
    rx.await.map_err(|_| busy())
}

async fn regions(State(s): State<ApiState>, headers: HeaderMap) -> Reply {
    if let Err(r) = allowed(&s, &headers, Action::Read, Scope::Shared).await {
        return r;
    }
    let rows = match read(&s, |st| st.regions()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let health = match ask(&s, |reply| Input::Health { reply }).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let out: Vec<Value> = health
        .iter()
        .map(|h| {
            let row = rows.iter().find(|r| r.region == u32::from(h.region));
            json!({
                "region": h.region,
                "health": h.health,
                "last_seen_ms": row.map(|r| r.last_seen_ms),
                "last_successful_sync_ms": row.and_then(|r| r.last_ack_ms),
                "lag": row.map_or(0, |r| r.lag),
                "protocol": row.map(|r| r.version.clone()),
            })
        })
        .collect();
    (StatusCode::OK, Json(json!({ "regions": out })))
}

/// `GET /api/v1/regions/raft`: the latest Raft report of each region, with each member's lag
/// behind the committed index.
async fn raft(State(s): State<ApiState>, headers: HeaderMap) -> Reply {
    if let Err(r) = allowed(&s, &headers, Action::Read, Scope::Shared).await {
        return r;
    }
    let reports = match read(&s, |st| st.raft_reports()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let out: Vec<Value> = reports
        .into_iter()
        .map(|(region, received_ms, r)| {
            let members: Vec<Value> = r
                .members
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id,
                        "addr": m.addr,
                        "voter": m.voter,
                        "matched": m.matched,
                        "lag": m.matched.map(|x| r.committed.saturating_sub(x)),
                    })
                })
                .collect();
            json!({
                "region": region,
                "received_ms": received_ms,
                "reported_ms": r.at_ms,
                "term": r.term,
                "leader": r.leader,
                "committed": r.committed,
                "applied": r.applied,
                "version": r.version,
                "members": members,
                "sinks": r.sinks.iter().map(|k| json!({
                    "sink": k.sink,
                    "backlog": k.backlog,
                    "problem": k.problem,
                })).collect::<Vec<Value>>(),
            })
        })
        .collect();
    (StatusCode::OK, Json(json!({ "regions": out })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Since {
    since_ms: Option<u64>,
}

async fn history(
    State(s): State<ApiState>,
    headers: HeaderMap,
    q: Result<Query<Since>, QueryRejection>,
) -> Reply {
    answer(async {
        allowed(&s, &headers, Action::Read, Scope::Shared).await?;
        let since = query(q, "?since_ms=T")?.since_ms.unwrap_or(0);
        let (rows, sinks) = read(&s, move |st| {
            Ok((st.samples(since, MAX_ROWS)?, st.sink_samples(since, MAX_ROWS)?))
        })
        .await?;
        let samples: Vec<Value> = rows
            .iter()
            .map(|(region, at, lag, health)| {
                json!({ "region": region, "at_ms": at, "lag": lag, "health": health })
            })
            .collect();
        let sinks: Vec<Value> = sinks
            .iter()
            .map(|k| json!({ "region": k.region, "sink": k.sink, "at_ms": k.at_ms, "backlog": k.backlog }))
            .collect();
        Ok((StatusCode::OK, Json(json!({ "samples": samples, "sinks": sinks }))))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    after: Option<u64>,
    limit: Option<usize>,
}

async fn summaries(
    State(s): State<ApiState>,
    headers: HeaderMap,
    q: Result<Query<Page>, QueryRejection>,
) -> Reply {
    if let Err(r) = allowed(&s, &headers, Action::Read, ALL).await {
        return r;
    }
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the query: {}: use ?after=ROWID&limit=N", e.body_text()),
            );
        }
    };
    let (after, limit) = (q.after.unwrap_or(0), q.limit.unwrap_or(1_000).min(MAX_ROWS));
    match read(&s, move |st| Ok((st.summary_count()?, st.summary_ids(after, limit)?))).await {
        Ok((count, ids)) => {
            let page: Vec<Value> = ids
                .iter()
                .map(|(rowid, id, region)| json!({ "rowid": rowid, "event_id": id.to_string(), "region": region }))
                .collect();
            (StatusCode::OK, Json(json!({ "count": count, "page": page })))
        }
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SalesQuery {
    tenant: Option<String>,
    from_hour: Option<u64>,
    to_hour: Option<u64>,
}

async fn sales(
    State(s): State<ApiState>,
    headers: HeaderMap,
    q: Result<Query<SalesQuery>, QueryRejection>,
) -> Reply {
    answer(async {
        let p = allowed(&s, &headers, Action::Read, Scope::Shared).await?;
        let q = query(q, "?tenant=T&from_hour=H&to_hour=H")?;
        let tenant = tenant_for(&p, q.tenant)?;
        let (from, to) = (q.from_hour.unwrap_or(0), q.to_hour.unwrap_or(u64::MAX));
        if from > to {
            return Err(error(StatusCode::BAD_REQUEST, "from_hour: must not be after to_hour"));
        }
        let rows = read(&s, move |st| st.sales(tenant.as_deref(), from, to, MAX_ROWS)).await;
        Ok(listed("sales", rows, |r| {
            json!({
                "tenant": r.tenant, "region": r.region, "branch": r.branch,
                "hour": r.hour, "event_type": r.event_type.name(),
                "currency": r.currency, "count": r.count, "amount_minor": r.amount_minor,
            })
        }))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantQuery {
    tenant: Option<String>,
}

async fn stock(
    State(s): State<ApiState>,
    headers: HeaderMap,
    q: Result<Query<TenantQuery>, QueryRejection>,
) -> Reply {
    answer(async {
        let p = allowed(&s, &headers, Action::Read, Scope::Shared).await?;
        let tenant = tenant_for(&p, query(q, "?tenant=T")?.tenant)?;
        let rows = read(&s, move |st| st.stock(tenant.as_deref(), MAX_ROWS)).await;
        Ok(listed("stock", rows, |r| {
            json!({ "tenant": r.tenant, "branch": r.branch, "sku": r.sku, "on_hand": r.on_hand })
        }))
    })
    .await
}

async fn stores(
    State(s): State<ApiState>,
    headers: HeaderMap,
    q: Result<Query<TenantQuery>, QueryRejection>,
) -> Reply {
    answer(async {
        let p = allowed(&s, &headers, Action::Read, Scope::Shared).await?;
        let tenant = tenant_for(&p, query(q, "?tenant=T")?.tenant)?;
        let rows = read(&s, move |st| st.branches(tenant.as_deref(), MAX_ROWS)).await;
        Ok(listed("stores", rows, |r| {
            json!({
                "tenant": r.tenant, "region": r.region, "branch": r.branch,
                "events": r.events, "last_event_ms": r.last_event_ms,
            })
        }))
    })
    .await
}

async fn rejected(State(s): State<ApiState>, headers: HeaderMap) -> Reply {
    answer(async {
        allowed(&s, &headers, Action::Read, ALL).await?;
        let rows = read(&s, |st| st.refused(1_000)).await;
        Ok(listed("rejected", rows, |(region, pos, id, reason)| {
            json!({ "region": region, "position": pos, "event_id": id.to_string(), "reason": reason })
        }))
    })
    .await
}

fn sku(text: &str) -> Result<String, Reply> {
    dcs_core::commerce::Sku::new(text)
        .map(|s| s.as_str().to_string())
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("sku: {e}")))
}

async fn prices(State(s): State<ApiState>, headers: HeaderMap, uri: axum::http::Uri) -> Reply {
    if let Err(r) = allowed(&s, &headers, Action::Read, Scope::Shared).await {
        return r;
    }
    let mut skus = vec![];
    for pair in uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sku", v)) => match sku(&percent_decode(v)) {
                Ok(v) => skus.push(v),
                Err(r) => return r,
            },
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("{pair:?}: only sku=… is asked for"),
                );
            }
        }
    }
    if skus.len() > MAX_ROWS {
        return error(StatusCode::BAD_REQUEST, format!("sku: at most {MAX_ROWS} at once"));
    }
    match ask(&s, |reply| Input::Prices { skus, reply }).await {
        Ok(rows) => {
            let out: Vec<Value> =
                rows.iter().map(|(s, p)| json!({ "sku": s, "price_minor": p })).collect();
            (StatusCode::OK, Json(json!({ "currency": s.currency.code(), "prices": out })))
        }
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPrice {
    price_minor: i64,
    /// When given, must be the master's `[prices] currency`.
    currency: Option<String>,
}

async fn set_price(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Result<Json<NewPrice>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let p = match allowed(&s, &headers, Action::ChangePrices, Scope::Shared).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let sku = match sku(&raw) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (price_minor, currency) = match body {
        Ok(Json(p)) => (p.price_minor, p.currency),
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body: {}: send {{\"price_minor\": N}}", e.body_text()),
            );
        }
    };
    let ours = s.currency.code();
    if let Some(c) = currency.filter(|c| c.as_str() != ours) {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "currency: this master's central prices are in {ours} minor units, not {c}: \
                 convert the price to {ours}"
            ),
        );
    }
    if price_minor < 0 {
        return error(StatusCode::BAD_REQUEST, "price_minor: a price is not below zero");
    }
    match ask(&s, |reply| Input::SetPrice { sku: sku.clone(), price_minor, reply }).await {
        Ok(Ok(position)) => {
            let change = json!({
                "sku": sku, "price_minor": price_minor, "currency": ours, "position": position,
            });
            audit(&s, &p.name, "set_price", "*", change.clone()).await;
            (StatusCode::OK, Json(change))
        }
        Ok(Err(why)) => error(StatusCode::SERVICE_UNAVAILABLE, why),
        Err(r) => r,
    }
}

/// The latest central change of a SKU's price and, store by store, when it arrived there
/// (`price_minor` null: no change of it is kept). Every region's stores are listed, so it
/// needs a grant on every tenant (`*`).
async fn price_arrival(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Reply {
    answer(async {
        allowed(&s, &headers, Action::Read, ALL).await?;
        let sku = sku(&raw)?;
        let asked = sku.clone();
        let Some((change, stores)) = read(&s, move |st| st.price_arrival(&asked)).await? else {
            // No change of this SKU is kept: an answer, not a missing resource.
            return Ok((
                StatusCode::OK,
                Json(json!({
                    "sku": sku, "price_minor": null, "currency": s.currency.code(),
                    "position": null, "set_ms": null, "arrived": 0, "stores": [],
                })),
            ));
        };
        let arrived = stores.iter().filter(|a| a.arrived_ms.is_some()).count();
        let stores: Vec<Value> = stores
            .iter()
            .map(|a| {
                json!({
                    "region": a.region,
                    "store": a.store,
                    "branch": a.branch,
                    "arrived_ms": a.arrived_ms,
                    "after_ms": a.arrived_ms.map(|t| t.saturating_sub(change.at_ms)),
                })
            })
            .collect();
        Ok((
            StatusCode::OK,
            Json(json!({
                "sku": change.sku,
                "price_minor": change.price_minor,
                "currency": s.currency.code(),
                "position": change.position,
                "set_ms": change.at_ms,
                "arrived": arrived,
                "stores": stores,
            })),
        ))
    })
    .await
}

async fn list_sku(State(s): State<ApiState>, headers: HeaderMap, Path(raw): Path<String>) -> Reply {
    let p = match allowed(&s, &headers, Action::ChangePrices, Scope::Shared).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let sku = match sku(&raw) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match ask(&s, |reply| Input::ListInCatalog { sku: sku.clone(), reply }).await {
        Ok(Ok(())) => {
            let change = json!({ "sku": sku, "listed": true });
            audit(&s, &p.name, "list_in_catalog", "*", change.clone()).await;
            (StatusCode::OK, Json(change))
        }
        Ok(Err(why)) => error(StatusCode::SERVICE_UNAVAILABLE, why),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    name: String,
    password: String,
}

async fn login(
    State(s): State<ApiState>,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Login { name, password } = match body {
        Ok(Json(l)) => l,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body: {}: send {{\"name\": …, \"password\": …}}", e.body_text()),
            );
        }
    };
    let password = zeroize::Zeroizing::new(password);
    let accounts = Arc::clone(&s.accounts);
    let ttl = s.session_ttl_ms;
    let now = crate::driver::now().wall_ms;
    let throttled = {
        let t = s.logins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        t.check(&name, now)
    };
    if let Err(wait_ms) = throttled {
        metrics::counter!("dcs_master_throttled_logins_total").increment(1);
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many wrong passwords for {name:?}: retry in {} s",
                wait_ms.div_ceil(1_000)
            ),
        );
    }
    let who = name.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut a = accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (token, expires) = a.login(&name, &password, now, ttl)?;
        let p = a.resolve(&token, now)?;
        Ok::<_, AccountError>((token, expires, p))
    })
    .await;
    match outcome {
        Ok(Ok((token, expires, p))) => {
            s.logins.lock().unwrap_or_else(std::sync::PoisonError::into_inner).succeeded(&who);
            audit(&s, &p.name, "login", "*", json!({})).await;
            let body = json!({
                "token": token.as_str(), "expires_ms": expires, "name": p.name, "grants": p.grants,
            });
            (StatusCode::OK, Json(body))
        }
        Ok(Err(AccountError::BadLogin)) => {
            s.logins.lock().unwrap_or_else(std::sync::PoisonError::into_inner).failed(&who, now);
            metrics::counter!("dcs_master_failed_logins_total").increment(1);
            error(StatusCode::UNAUTHORIZED, AccountError::BadLogin.to_string())
        }
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("the sign-in failed: {e}")),
    }
}

async fn logout(State(s): State<ApiState>, headers: HeaderMap) -> Reply {
    let p = match principal(&s, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(token) = bearer(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no session");
    };
    let accounts = Arc::clone(&s.accounts);
    let done = tokio::task::spawn_blocking(move || {
        accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).logout(&token)
    })
    .await;
    match done {
        Ok(Ok(())) => {
            audit(&s, &p.name, "logout", "*", json!({})).await;
            (StatusCode::OK, Json(json!({ "signed_out": true })))
        }
        _ => error(StatusCode::SERVICE_UNAVAILABLE, "cannot end the session: retry"),
    }
}

async fn me(State(s): State<ApiState>, headers: HeaderMap) -> Reply {
    match principal(&s, &headers).await {
        Ok(p) => (StatusCode::OK, Json(json!({ "name": p.name, "grants": p.grants }))),
        Err(r) => r,
    }
}

async fn audit_log(State(s): State<ApiState>, headers: HeaderMap) -> Reply {
    let p = match allowed(&s, &headers, Action::Read, Scope::Shared).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let log = Arc::clone(&s.audit);
    let tenants = p.readable_tenants();
    let done = tokio::task::spawn_blocking(move || {
        let l = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok::<_, crate::audit::AuditError>((l.recent(500, tenants.as_deref())?, l.verify()?))
    })
    .await;
    match done {
        Ok(Ok((entries, v))) => (
            StatusCode::OK,
            Json(json!({
                "entries": entries,
                "verification": {
                    "entries": v.entries,
                    "intact": v.broken_at.is_none(),
                    "broken_at": v.broken_at.as_ref().map(|b| b.0),
                    "reason": v.broken_at.map(|b| b.1),
                },
            })),
        ),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("the read failed: {e}")),
    }
}

/// A query value with `%XX` and `+` decoded (a malformed escape stays as written; the SKU
/// check then refuses it).
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The API's OpenAPI 3.1 document (kept beside the code; a test checks it names every route).
pub const OPENAPI: &str = include_str!("../api/openapi.json");

async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Every route of [`routes`] (the OpenAPI test compares the two).
pub const ROUTES: &[&str] = &[
    "/api/v1/openapi.json",
    "/api/v1/login",
    "/api/v1/logout",
    "/api/v1/me",
    "/api/v1/audit",
    "/api/v1/regions",
    "/api/v1/regions/history",
    "/api/v1/regions/raft",
    "/api/v1/summaries",
    "/api/v1/sales",
    "/api/v1/stock",
    "/api/v1/stores",
    "/api/v1/rejected",
    "/api/v1/prices",
    "/api/v1/prices/{sku}",
    "/api/v1/prices/{sku}/arrival",
    "/api/v1/catalog/{sku}",
    "/api/v1/keys",
    "/api/v1/keys/{tenant}/{agent}",
    "/api/v1/keys/{tenant}/{agent}/revoke",
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_names_every_route_and_only_those() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap_or_default();
        let mut documented: Vec<&str> = doc["paths"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut served = super::ROUTES.to_vec();
        documented.sort_unstable();
        served.sort_unstable();
        assert_eq!(documented, served);
        assert_eq!(doc["openapi"], "3.1.0");
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(super::percent_decode("A%2FB+C"), "A/B C");
        assert_eq!(super::percent_decode("100%"), "100%");
        assert_eq!(super::percent_decode("%zz"), "%zz");
    }
}
