//! The node's operator routes on its admin port, behind the admin token (`admin.token` in
//! the data directory, made by `init`):
//! - `GET /admin/members`: leader, voters, nodes and retired ids (JSON);
//! - `POST /admin/members` `{"id": 4, "addr": "host:port"}`: adds a node (learner, caught up,
//!   then voter);
//! - `DELETE /admin/members/{id}`: removes a node; its id is never reused.
//!
//! A follower forwards a change to the leader (the `ChangeMembers` Raft RPC, between node
//! certificates only), so the operator may ask any node with that node's token.
//!
//! Answers: 200 with the new membership, 401 without the token, 409 when no leader is known
//! (the body names the leader if one is), 400 for a refused change, 503 when Raft fails.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use dcs_daemon::admin_token::AdminToken;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::node::members::{self, MemberChange, MemberError};
use crate::node::sync_url;
use crate::raft::{NodeAddr, Raft, RegionStateMachine};

/// What the routes need.
#[derive(Clone)]
pub struct AdminState {
    /// The node's Raft.
    pub raft: Raft,
    /// Its state machine (the retired ids).
    pub sm: RegionStateMachine,
    /// Its client of the other nodes (a change asked of a follower goes to the leader).
    pub network: crate::raft::Network,
    /// The admin token.
    pub token: AdminToken,
    /// Whether the region's gRPC runs over TLS (the sync URLs of added nodes).
    pub tls: bool,
}

/// A node to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddNode {
    /// Its Raft id (new: never a removed node's).
    pub id: u64,
    /// Its gRPC `host:port`.
    pub addr: String,
}

type Reply = (StatusCode, Json<serde_json::Value>);

fn reply(r: Result<members::Members, MemberError>) -> Reply {
    match r {
        Ok(m) => (StatusCode::OK, Json(json!(m))),
        Err(e) => {
            let status = match &e {
                MemberError::NotLeader { .. } => StatusCode::CONFLICT,
                MemberError::Retired(_) | MemberError::Membership(_) => StatusCode::BAD_REQUEST,
                MemberError::Raft(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            let leader = match &e {
                MemberError::NotLeader { leader, .. } => *leader,
                _ => None,
            };
            (status, Json(json!({ "error": e.to_string(), "leader": leader })))
        }
    }
}

fn unauthorized() -> Reply {
    let msg = "send the node's admin token: Authorization: Bearer <DATA_DIR/admin.token>";
    (StatusCode::UNAUTHORIZED, Json(json!({ "error": msg })))
}

fn allowed(s: &AdminState, headers: &HeaderMap) -> bool {
    s.token.allows(headers.get("authorization").and_then(|v| v.to_str().ok()))
}

async fn list(State(s): State<AdminState>, headers: HeaderMap) -> Reply {
    if !allowed(&s, &headers) {
        return unauthorized();
    }
    reply(members::list(&s.raft, &s.sm))
}

async fn add(State(s): State<AdminState>, headers: HeaderMap, Json(n): Json<AddNode>) -> Reply {
    if !allowed(&s, &headers) {
        return unauthorized();
    }
    let Ok(sock) = n.addr.parse::<SocketAddr>() else {
        let msg = format!("addr {:?} is not host:port", n.addr);
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": msg })));
    };
    let addr = NodeAddr { raft: n.addr.clone(), sync: sync_url(sock, s.tls) };
    reply(members::change(&s.raft, &s.sm, &s.network, MemberChange::Add { id: n.id, addr }).await)
}

async fn remove(State(s): State<AdminState>, headers: HeaderMap, Path(id): Path<u64>) -> Reply {
    if !allowed(&s, &headers) {
        return unauthorized();
    }
    reply(members::change(&s.raft, &s.sm, &s.network, MemberChange::Remove { id }).await)
}

/// The routes, to merge into the admin router.
pub fn routes(state: AdminState) -> Router {
    Router::new()
        .route("/admin/members", get(list).post(add))
        .route("/admin/members/{id}", delete(remove))
        .with_state(state)
}
