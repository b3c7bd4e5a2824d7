//! The POS workload: one client per store over the store's gRPC API (as a thin terminal, with
//! its `pos-1` token), a session and a steady stream of sales; a refused or unanswered sale is
//! retried with the same idempotency key until the store answers, so each sale is stored once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dcs_proto::pb;
use dcs_proto::pb::pos_service_client::PosServiceClient;
use tokio::sync::Mutex;
use tonic::transport::Channel;

/// Most acknowledgement times kept for the latency figures (the oldest are dropped).
const MAX_ACK_TIMES: usize = 200_000;

/// What the workload has done so far, shared with the summary.
#[derive(Debug, Default)]
pub struct Progress {
    /// Sales the stores acknowledged.
    pub acked: AtomicU64,
    /// Sales sent again after no or a failed answer.
    pub retries: AtomicU64,
    /// Acknowledgement latencies at the store, in µs (bounded).
    pub store_latency_us: Mutex<Vec<u64>>,
    /// When each sale was acknowledged, in order (bounded), for the latency to the master.
    pub acked_at: Mutex<Vec<Instant>>,
    /// Set when every store finished its share.
    pub done: AtomicBool,
}

/// One store's client.
struct Till {
    client: PosServiceClient<Channel>,
    token: String,
}

impl Till {
    fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        if let Ok(v) = format!("Bearer {}", self.token).parse() {
            r.metadata_mut().insert("authorization", v);
        }
        r.set_timeout(Duration::from_secs(5));
        r
    }
}

fn usd(minor: i64) -> Option<pb::Money> {
    Some(pb::Money { minor_units: minor, currency_code: "USD".into(), exponent: 2 })
}

/// Sells `share` sales (None: until `stop`) at store `k` (1-based) through `pos`, one every
/// `every`, in run `run`.
#[allow(clippy::too_many_arguments)]
pub async fn store_loop(
    k: usize,
    pos: u16,
    token: String,
    run: u32,
    share: Option<u64>,
    every: Duration,
    progress: Arc<Progress>,
    stop: tokio_util::sync::CancellationToken,
) {
    let channel = match Channel::from_shared(format!("http://127.0.0.1:{pos}")) {
        Ok(c) => c.connect_timeout(Duration::from_secs(2)).connect_lazy(),
        Err(_) => return,
    };
    let mut till = Till { client: PosServiceClient::new(channel), token };
    let session = format!("run{run}-s{k}");
    let open = pb::OpenSessionRequest {
        idempotency_key: format!("demo/{session}/open"),
        session_id: session.clone(),
        cashier: "cashier-1".into(),
        opening_float: usd(20_000),
    };
    while !stop.is_cancelled() {
        let r = till.req(open.clone());
        if till.client.open_session(r).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut next = Instant::now();
    let mut i = 0u64;
    while !stop.is_cancelled() && share.is_none_or(|s| i < s) {
        i += 1;
        let lines = match i % 3 {
            0 => vec![("MUG", 1), ("COFFEE-250G", 2)],
            1 => vec![("COFFEE-250G", 1)],
            _ => vec![("MUG", 2)],
        };
        let sale = pb::SubmitSaleRequest {
            idempotency_key: format!("demo/{session}/sale-{i}"),
            session_id: session.clone(),
            sale_id: format!("R{run}-{k}-{i}"),
            cart: Some(pb::Cart {
                lines: lines
                    .into_iter()
                    .map(|(sku, quantity)| pb::CartLine {
                        sku: sku.into(),
                        quantity,
                        discount: None,
                    })
                    .collect(),
                discount: None,
            }),
            tender: if i.is_multiple_of(4) { pb::Tender::Cash } else { pb::Tender::Card } as i32,
            customer_id: None,
        };
        loop {
            let started = Instant::now();
            let r = till.req(sale.clone());
            match till.client.submit_sale(r).await {
                Ok(_) => {
                    progress.acked.fetch_add(1, Ordering::SeqCst);
                    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let mut l = progress.store_latency_us.lock().await;
                    if l.len() < MAX_ACK_TIMES {
                        l.push(us);
                    }
                    drop(l);
                    let mut a = progress.acked_at.lock().await;
                    if a.len() < MAX_ACK_TIMES {
                        a.push(Instant::now());
                    }
                    break;
                }
                Err(_) if stop.is_cancelled() => return,
                Err(_) => {
                    progress.retries.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        next += every;
        let now = Instant::now();
        if next > now {
            tokio::time::sleep(next - now).await;
        } else {
            next = now;
        }
    }
}
