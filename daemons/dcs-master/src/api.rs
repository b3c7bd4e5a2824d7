//! The admin API on the admin port: JSON over HTTP, read from what the master persisted
//! (its SQLite store) and from its machine (through the driver), behind the admin token
//! (`admin.token` in the data directory, sent as `Authorization: Bearer …`).
//!
//! - `GET /api/v1/regions`: the registry (last seen, last successful sync, lag, protocol
//!   version) with the failure detector's verdict;
//! - `GET /api/v1/summaries`: how many event summaries the master holds, and a page of their
//!   ids (`?after=ROWID&limit=N`);
//! - `GET /api/v1/sales?tenant=T&from_hour=H&to_hour=H`: sales per region, store and hour;
//! - `GET /api/v1/stock?tenant=T`: stock per branch and SKU across the regions;
//! - `GET /api/v1/rejected`: events the master refused, newest first;
//! - `GET /api/v1/prices?sku=A&sku=B`: central prices; `PUT /api/v1/prices/{sku}`
//!   `{"price_minor": 450}`: sets one (sent down to every region and store);
//! - `PUT /api/v1/catalog/{sku}`: lists a SKU in the global catalog.
//!
//! Answers: 200 with JSON; 400 `{"error": …}` naming the field for bad input (nothing
//! changes); 401 without the token; 503 when the driver or the store cannot answer.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use dcs_daemon::admin_token::AdminToken;
use dcs_store::sqlite::MasterStore;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::driver::{Input, Inputs};

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
}

type Reply = (StatusCode, Json<Value>);

fn error(status: StatusCode, why: impl Into<String>) -> Reply {
    (status, Json(json!({ "error": why.into() })))
}

fn authorized(s: &ApiState, headers: &HeaderMap) -> Result<(), Reply> {
    let h = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if s.token.allows(h) {
        Ok(())
    } else {
        Err(error(StatusCode::UNAUTHORIZED, "send the admin token as `Authorization: Bearer …`"))
    }
}

/// The API's routes.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/regions", get(regions))
        .route("/api/v1/summaries", get(summaries))
        .route("/api/v1/sales", get(sales))
        .route("/api/v1/stock", get(stock))
        .route("/api/v1/rejected", get(rejected))
        .route("/api/v1/prices", get(prices))
        .route("/api/v1/prices/{sku}", put(set_price))
        .route("/api/v1/catalog/{sku}", put(list_sku))
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
    if let Err(r) = authorized(&s, &headers) {
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
    if let Err(r) = authorized(&s, &headers) {
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
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the query: {}: use ?tenant=T&from_hour=H&to_hour=H", e.body_text()),
            );
        }
    };
    let (from, to) = (q.from_hour.unwrap_or(0), q.to_hour.unwrap_or(u64::MAX));
    if from > to {
        return error(StatusCode::BAD_REQUEST, "from_hour: must not be after to_hour");
    }
    match read(&s, move |st| st.sales(q.tenant.as_deref(), from, to, MAX_ROWS)).await {
        Ok(rows) => {
            let out: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "tenant": r.tenant, "region": r.region, "branch": r.branch,
                        "hour": r.hour, "event_type": r.event_type.name(),
                        "currency": r.currency, "count": r.count, "amount_minor": r.amount_minor,
                    })
                })
                .collect();
            (StatusCode::OK, Json(json!({ "sales": out })))
        }
        Err(r) => r,
    }
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
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the query: {}: use ?tenant=T", e.body_text()),
            );
        }
    };
    match read(&s, move |st| st.stock(q.tenant.as_deref(), MAX_ROWS)).await {
        Ok(rows) => {
            let out: Vec<Value> = rows
                .iter()
                .map(|r| json!({ "tenant": r.tenant, "branch": r.branch, "sku": r.sku, "on_hand": r.on_hand }))
                .collect();
            (StatusCode::OK, Json(json!({ "stock": out })))
        }
        Err(r) => r,
    }
}

async fn rejected(State(s): State<ApiState>, headers: HeaderMap) -> Reply {
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    match read(&s, |st| st.refused(1_000)).await {
        Ok(rows) => {
            let out: Vec<Value> = rows
                .iter()
                .map(|(region, pos, id, reason)| {
                    json!({ "region": region, "position": pos, "event_id": id.to_string(), "reason": reason })
                })
                .collect();
            (StatusCode::OK, Json(json!({ "rejected": out })))
        }
        Err(r) => r,
    }
}

fn sku(text: &str) -> Result<String, Reply> {
    dcs_core::commerce::Sku::new(text)
        .map(|s| s.as_str().to_string())
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("sku: {e}")))
}

async fn prices(State(s): State<ApiState>, headers: HeaderMap, uri: axum::http::Uri) -> Reply {
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    let mut skus = vec![];
    for pair in uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sku", v)) => match sku(v) {
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
            (StatusCode::OK, Json(json!({ "prices": out })))
        }
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPrice {
    price_minor: i64,
}

async fn set_price(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Result<Json<NewPrice>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    let sku = match sku(&raw) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let price_minor = match body {
        Ok(Json(p)) => p.price_minor,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body: {}: send {{\"price_minor\": N}}", e.body_text()),
            );
        }
    };
    if price_minor < 0 {
        return error(StatusCode::BAD_REQUEST, "price_minor: a price is not below zero");
    }
    match ask(&s, |reply| Input::SetPrice { sku: sku.clone(), price_minor, reply }).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "sku": sku, "price_minor": price_minor }))),
        Ok(Err(why)) => error(StatusCode::SERVICE_UNAVAILABLE, why),
        Err(r) => r,
    }
}

async fn list_sku(State(s): State<ApiState>, headers: HeaderMap, Path(raw): Path<String>) -> Reply {
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    let sku = match sku(&raw) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match ask(&s, |reply| Input::ListInCatalog { sku: sku.clone(), reply }).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "sku": sku, "listed": true }))),
        Ok(Err(why)) => error(StatusCode::SERVICE_UNAVAILABLE, why),
        Err(r) => r,
    }
}
