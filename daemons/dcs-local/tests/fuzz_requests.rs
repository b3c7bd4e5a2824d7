//! Every PosService method fed random, mutated and structurally random requests over real
//! gRPC: the daemon never crashes, every refusal carries a proper code, and no event is
//! stored except by a request that was answered OK.
//!
//! `DCS_FUZZ_PER_METHOD` sets the requests per method (default 10000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use bytes::{Buf, BufMut};
use common::{cart, usd};
use dcs_proto::pb;
use prost::Message;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Sends and receives raw bytes, so the fuzzer can send what no generated client would.
#[derive(Default, Clone)]
struct RawCodec;
struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}
impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}
impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn text(&mut self) -> String {
        match self.below(8) {
            0 => String::new(),
            1 => "x".repeat(self.below(5000) as usize),
            2 => "s-1".into(),
            3 => "MUG".into(),
            4 => "a\nb\u{0}".into(),
            5 => "é日本".into(),
            6 => format!("k-{}", self.next()),
            _ => "R-1".into(),
        }
    }
    fn int(&mut self) -> i64 {
        match self.below(5) {
            0 => 0,
            1 => -1,
            2 => i64::MAX,
            3 => i64::MIN,
            _ => self.below(100) as i64,
        }
    }
    fn money(&mut self) -> Option<pb::Money> {
        match self.below(4) {
            0 => None,
            1 => usd(self.int()),
            _ => Some(pb::Money {
                minor_units: self.int(),
                currency_code: self.text(),
                exponent: self.below(9) as u32,
            }),
        }
    }
    fn cart(&mut self) -> Option<pb::Cart> {
        if self.below(5) == 0 {
            return None;
        }
        let n = self.below(4) as usize;
        Some(pb::Cart {
            lines: (0..n)
                .map(|_| pb::CartLine {
                    sku: self.text(),
                    quantity: self.below(4) as u32,
                    discount: (self.below(3) == 0).then(|| pb::Discount {
                        kind: Some(pb::discount::Kind::PercentBps(self.below(20_000) as u32)),
                    }),
                })
                .collect(),
            discount: None,
        })
    }
}

const METHODS: &[&str] = &[
    "OpenSession",
    "CloseSession",
    "PriceCart",
    "SubmitSale",
    "SubmitRefund",
    "SubmitInventory",
    "SubmitSealed",
    "GetDaySummary",
    "GetStock",
    "GetLoyalty",
    "GetCatalog",
    "WatchSyncStatus",
    "ProvisionTill",
];

/// A structurally random request of `method`, encoded.
fn random_request(method: &str, r: &mut Rng) -> Vec<u8> {
    match method {
        "OpenSession" => pb::OpenSessionRequest {
            idempotency_key: r.text(),
            session_id: r.text(),
            cashier: r.text(),
            opening_float: r.money(),
        }
        .encode_to_vec(),
        "CloseSession" => pb::CloseSessionRequest {
            idempotency_key: r.text(),
            session_id: r.text(),
            counted: r.money(),
        }
        .encode_to_vec(),
        "PriceCart" => pb::PriceCartRequest { cart: r.cart() }.encode_to_vec(),
        "SubmitSale" => pb::SubmitSaleRequest {
            idempotency_key: r.text(),
            session_id: r.text(),
            sale_id: r.text(),
            cart: r.cart(),
            tender: r.below(7) as i32 - 1,
            customer_id: (r.below(2) == 0).then(|| r.text()),
        }
        .encode_to_vec(),
        "SubmitRefund" => pb::SubmitRefundRequest {
            idempotency_key: r.text(),
            session_id: r.text(),
            sale_id: r.text(),
            refund_id: r.text(),
            lines: (0..r.below(3))
                .map(|_| pb::RefundLine { sku: r.text(), quantity: r.below(3) as u32 })
                .collect(),
            tender: r.below(6) as i32,
            reason: r.text(),
        }
        .encode_to_vec(),
        "SubmitInventory" => pb::SubmitInventoryRequest {
            idempotency_key: r.text(),
            movement: r.below(4) as i32,
            sku: r.text(),
            quantity: r.int(),
            reference: r.text(),
        }
        .encode_to_vec(),
        "SubmitSealed" => pb::SubmitSealedRequest {
            stream: r.text(),
            events: (0..r.below(3))
                .map(|_| pb::SovereignFinancialEvent {
                    event_id: vec![r.below(256) as u8; r.below(20) as usize],
                    idempotency_key: r.text(),
                    tenant_id: r.text(),
                    ..Default::default()
                })
                .collect(),
            sealed: (0..r.below(3))
                .map(|_| (0..r.below(300)).map(|_| r.below(256) as u8).collect())
                .collect(),
        }
        .encode_to_vec(),
        "GetDaySummary" => pb::GetDaySummaryRequest { day: r.text() }.encode_to_vec(),
        "GetStock" => pb::GetStockRequest { skus: (0..r.below(3)).map(|_| r.text()).collect() }
            .encode_to_vec(),
        "GetLoyalty" => pb::GetLoyaltyRequest { customer_id: r.text() }.encode_to_vec(),
        _ => Vec::new(),
    }
}

/// A valid request of `method` (for mutation).
fn valid_request(method: &str, n: u64) -> Vec<u8> {
    match method {
        "SubmitSale" => pb::SubmitSaleRequest {
            idempotency_key: format!("fz-{n}"),
            session_id: "s-1".into(),
            sale_id: format!("FZ-{n}"),
            cart: cart(&[("MUG", 1)]),
            tender: pb::Tender::Card as i32,
            customer_id: None,
        }
        .encode_to_vec(),
        "SubmitInventory" => pb::SubmitInventoryRequest {
            idempotency_key: format!("inv-{n}"),
            movement: 1,
            sku: "MUG".into(),
            quantity: 5,
            reference: "delivery".into(),
        }
        .encode_to_vec(),
        "PriceCart" => pb::PriceCartRequest { cart: cart(&[("MUG", 2)]) }.encode_to_vec(),
        other => random_request(other, &mut Rng(n | 1)),
    }
}

fn mutate(mut bytes: Vec<u8>, r: &mut Rng) -> Vec<u8> {
    match r.below(4) {
        0 if !bytes.is_empty() => {
            let i = r.below(bytes.len() as u64) as usize;
            bytes[i] ^= 1 << r.below(8);
        }
        1 => bytes.truncate(r.below(bytes.len() as u64 + 1) as usize),
        2 => {
            let i = r.below(bytes.len() as u64 + 1) as usize;
            bytes.insert(i, r.below(256) as u8);
        }
        _ => bytes = (0..r.below(64)).map(|_| r.below(256) as u8).collect(),
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_and_mutated_requests_store_nothing_unacknowledged() {
    let per_method: u64 =
        std::env::var("DCS_FUZZ_PER_METHOD").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path());
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    let channel =
        Channel::from_shared(format!("http://{}", d.pos)).unwrap().connect().await.unwrap();
    let auth: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();

    let mut tasks = Vec::new();
    for (m, method) in METHODS.iter().enumerate() {
        let (channel, auth) = (channel.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            let path: tonic::codegen::http::uri::PathAndQuery =
                format!("/dcs.v1.PosService/{method}").parse().unwrap();
            let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ (m as u64 + 1));
            let (mut stored, mut ok, mut refused) = (0u64, 0u64, 0u64);
            for n in 0..per_method {
                let body = match n % 3 {
                    0 => random_request(method, &mut r),
                    1 => mutate(valid_request(method, n), &mut r),
                    _ => (0..r.below(128)).map(|_| r.below(256) as u8).collect(),
                };
                let mut req = tonic::Request::new(body);
                if r.below(20) != 0 {
                    req.metadata_mut().insert("authorization", auth.clone());
                }
                grpc.ready().await.unwrap();
                let answer = if *method == "WatchSyncStatus" {
                    match grpc.server_streaming(req, path.clone(), RawCodec).await {
                        Ok(resp) => {
                            let mut s = resp.into_inner();
                            tokio::time::timeout(Duration::from_secs(5), s.message())
                                .await
                                .unwrap()
                                .map(|_| Vec::new())
                        }
                        Err(e) => Err(e),
                    }
                } else {
                    grpc.unary(req, path.clone(), RawCodec).await.map(tonic::Response::into_inner)
                };
                match answer {
                    Ok(bytes) => {
                        ok += 1;
                        if method.starts_with("Submit") {
                            let resp = pb::SubmitResponse::decode(bytes.as_slice()).unwrap();
                            if !resp.deduplicated {
                                stored += resp.last_position - resp.first_position + 1;
                            }
                        } else if matches!(*method, "OpenSession" | "CloseSession")
                            && let Ok(resp) = pb::OpenSessionResponse::decode(bytes.as_slice())
                            && let Some(s) = resp.stored.filter(|s| !s.deduplicated)
                        {
                            stored += s.last_position - s.first_position + 1;
                        }
                    }
                    Err(status) => {
                        refused += 1;
                        assert!(
                            matches!(
                                status.code(),
                                Code::InvalidArgument
                                    | Code::FailedPrecondition
                                    | Code::Unauthenticated
                                    | Code::AlreadyExists
                                    | Code::Aborted
                                    | Code::OutOfRange
                            ),
                            "{method}: unexpected {:?}: {}",
                            status.code(),
                            status.message()
                        );
                    }
                }
            }
            (method.to_string(), ok, refused, stored)
        }));
    }
    let mut total_stored = 0;
    for t in tasks {
        let (method, ok, refused, stored) = t.await.unwrap();
        eprintln!("fuzz {method}: {ok} ok, {refused} refused, {stored} events stored");
        total_stored += stored;
    }
    // Still alive and answering.
    c.get_catalog(d.req(pb::GetCatalogRequest {})).await.unwrap();
    assert!(d.terminate().success());
    let store = common::open_store(dir.path());
    store.verify_chain().unwrap();
    assert_eq!(
        store.head_position_sync().unwrap(),
        1 + total_stored,
        "every stored event belongs to a request answered OK"
    );
}
