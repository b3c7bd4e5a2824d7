//! The key registry's routes: each tenant's agents (terminals, cashiers) with their public
//! key, rotations and revocation, as the master sends them down to every region and store.
//!
//! - `GET /api/v1/keys?tenant=T`: the entries (a grant on T): every agent the master
//!   registered or a store reported (the terminals a store enrolled itself, under `enrolled`);
//! - `PUT /api/v1/keys/{tenant}/{agent}` `{"algorithm": "ed25519", "public_key": base64}`:
//!   registers or rotates the agent's key (admin on the tenant);
//! - `POST /api/v1/keys/{tenant}/{agent}/revoke` `{"reason": …, "from_ms": T}`: refuses,
//!   everywhere the revocation reaches, the agent's events made at or after `from_ms`
//!   (default: now) (admin on the tenant).
//!
//! Each change is written to the audit log with its author and tenant.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiState, Reply, allowed, answer, ask, audit, error, principal, query, tenant_for};
use crate::access::{Action, Scope};
use crate::driver::{AgentRow, Input, KeyChange, KeyRefusal};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeysQuery {
    tenant: Option<String>,
}

/// One agent as the API shows it: the registry's entry (its key fields are null for an agent
/// the master never registered) and, under `enrolled`, what its store reported.
fn entry(row: &AgentRow) -> Value {
    let k = row.key.as_ref();
    let key = k.and_then(|k| k.key.as_ref());
    json!({
        "agent": row.agent,
        "algorithm": key.map(|(a, _)| a),
        "public_key": key.map(|(_, b)| B64.encode(b)),
        "rotations": k.map_or(0, |k| k.rotations),
        "revoked": k.and_then(|k| k.revoked.as_ref()).map(|r| json!({ "from_ms": r.from_ms, "reason": r.reason })),
        "previous": k.and_then(|k| k.previous.as_ref()).map(|p| json!({
            "algorithm": p.key.0,
            "public_key": B64.encode(&p.key.1),
            "until_ms": p.until_ms,
        })),
        "enrolled": row.enrolled.as_ref().map(|(e, replica)| json!({
            "branch": e.branch,
            "algorithm": e.algorithm,
            "public_key": B64.encode(&e.public_key),
            "store_replica": replica,
        })),
    })
}

pub(super) async fn keys(
    State(s): State<ApiState>,
    headers: HeaderMap,
    q: Result<Query<KeysQuery>, QueryRejection>,
) -> Reply {
    answer(async {
        let q = query(q, "?tenant=T")?;
        let p = principal(&s, &headers).await?;
        let Some(tenant) = tenant_for(&p, q.tenant)? else {
            return Err(error(StatusCode::BAD_REQUEST, "tenant: name the tenant (?tenant=T)"));
        };
        let rows = ask(&s, |reply| Input::Keys { tenant: tenant.clone(), reply }).await?;
        let out: Vec<Value> = rows.iter().map(entry).collect();
        Ok((StatusCode::OK, Json(json!({ "tenant": tenant, "keys": out }))))
    })
    .await
}

/// The tenant and agent of a path, checked as the events' ids are.
fn ids(tenant: &str, agent: &str) -> Result<(String, String), Reply> {
    let t = dcs_core::TenantId::new(tenant)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("tenant: {e}")))?;
    let a = dcs_core::AgentId::new(agent)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("agent: {e}")))?;
    Ok((t.as_str().to_string(), a.as_str().to_string()))
}

/// Sends `change` to the driver, audits it as `action` and answers with the entry's change.
async fn change(
    s: &ApiState,
    headers: &HeaderMap,
    (tenant, agent): (String, String),
    action: &str,
    change: KeyChange,
    detail: Value,
) -> Result<Reply, Reply> {
    let p = allowed(s, headers, Action::Administer, Scope::Tenant(&tenant)).await?;
    let (t, a) = (tenant.clone(), agent.clone());
    match ask(s, |reply| Input::Key { tenant: t, agent: a, change, reply }).await? {
        Ok(position) => {
            let mut detail = detail;
            detail["agent"] = json!(agent);
            detail["position"] = json!(position);
            audit(s, &p.name, action, &tenant, detail.clone()).await;
            Ok((StatusCode::OK, Json(detail)))
        }
        Err(KeyRefusal::Invalid(why)) => Err(error(StatusCode::BAD_REQUEST, why)),
        Err(KeyRefusal::Unavailable(why)) => Err(error(StatusCode::SERVICE_UNAVAILABLE, why)),
    }
}

/// The JSON body, or a 400 saying what to send (`usage`).
fn json_body<T>(body: Result<Json<T>, JsonRejection>, usage: &str) -> Result<T, Reply> {
    body.map(|Json(b)| b).map_err(|e| {
        error(StatusCode::BAD_REQUEST, format!("the body: {}: send {usage}", e.body_text()))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewKey {
    algorithm: String,
    public_key: String,
}

pub(super) async fn register(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path((tenant, agent)): Path<(String, String)>,
    body: Result<Json<NewKey>, JsonRejection>,
) -> Reply {
    answer(async {
        let who = ids(&tenant, &agent)?;
        let k = json_body(body, r#"{"algorithm": "ed25519", "public_key": base64}"#)?;
        let public_key = B64
            .decode(k.public_key.trim())
            .map_err(|e| error(StatusCode::BAD_REQUEST, format!("public_key: not base64 ({e})")))?;
        let detail = json!({ "algorithm": k.algorithm, "public_key": B64.encode(&public_key) });
        let c = KeyChange::Register { algorithm: k.algorithm, public_key };
        change(&s, &headers, who, "register_key", c, detail).await
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Revoke {
    reason: String,
    from_ms: Option<u64>,
}

pub(super) async fn revoke(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path((tenant, agent)): Path<(String, String)>,
    body: Result<Json<Revoke>, JsonRejection>,
) -> Reply {
    answer(async {
        let who = ids(&tenant, &agent)?;
        let r = json_body(body, r#"{"reason": "…", "from_ms": T}"#)?;
        let from_ms = r.from_ms.unwrap_or_else(|| crate::driver::now().wall_ms);
        let detail = json!({ "reason": r.reason.trim(), "from_ms": from_ms });
        let c = KeyChange::Revoke { from_ms, reason: r.reason };
        change(&s, &headers, who, "revoke_key", c, detail).await
    })
    .await
}
