//! `dcs.v1.PosService` over tonic: authenticate the terminal, validate the request with
//! dcs-proto, hand the command to the [`Desk`], map the outcome to a gRPC answer.

use std::pin::Pin;
use std::sync::Arc;

use dcs_core::commerce::{BusinessDay, Sku};
use dcs_proto::pb;
use dcs_proto::pb::pos_service_server::PosService;
use dcs_proto::pos;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::catalog::priced_to_pb;
use crate::desk::{Desk, Stored};
use crate::error::LocalError;
use crate::identity::{Identity, TerminalIdentity};
use crate::sync_status::SyncStatusFeed;

/// The service: a desk, the identities to authenticate against, the sync status feed.
pub struct Pos {
    desk: Arc<Desk>,
    identity: Arc<Identity>,
    status: SyncStatusFeed,
    till: TillProvisioning,
}

/// What `ProvisionTill` needs beyond the desk.
#[derive(Debug, Clone)]
pub struct TillProvisioning {
    /// The lease bounds.
    pub section: crate::config::TillSection,
    /// The tenant.
    pub tenant: String,
    /// The store's UTC offset.
    pub utc_offset_minutes: i32,
}

impl Pos {
    /// The service over `desk`.
    pub fn new(
        desk: Arc<Desk>,
        identity: Arc<Identity>,
        status: SyncStatusFeed,
        till: TillProvisioning,
    ) -> Self {
        Self { desk, identity, status, till }
    }

    /// The terminal of `request`: by its verified client certificate (on a POS port with
    /// TLS and a client CA), else by its bearer token (`Credentials::authenticate`).
    fn terminal<T>(&self, request: &Request<T>) -> Result<TerminalIdentity, Status> {
        let certs = request.peer_certs();
        let leaf = certs.as_ref().and_then(|c| c.first()).map(|c| c.as_ref());
        let header = request.metadata().get("authorization").map(|h| h.as_bytes());
        match self.identity.credentials.authenticate(leaf, header) {
            Ok(t) => Ok(t.clone()),
            Err(e) => {
                metrics::counter!("dcs_local_auth_refused_total", "reason" => e.reason())
                    .increment(1);
                Err(Status::unauthenticated(e.to_string()))
            }
        }
    }
}

fn stored_pb(s: &Stored) -> pb::SubmitResponse {
    pb::SubmitResponse {
        first_position: s.result.first_position,
        last_position: s.result.last_position,
        deduplicated: s.result.deduplicated,
        event_ids: s.event_ids.iter().map(|id| id.to_vec()).collect(),
        total: s.total.map(pb::Money::from),
    }
}

fn status(e: LocalError) -> Status {
    let s: Status = e.into();
    if s.code() != tonic::Code::Ok {
        metrics::counter!("dcs_local_refused_total", "code" => format!("{:?}", s.code()))
            .increment(1);
    }
    s
}

fn day(text: &str) -> Result<Option<BusinessDay>, Status> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || Status::invalid_argument(format!("day: {text:?} is not YYYY-MM-DD"));
    let mut parts = text.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) else {
        return Err(bad());
    };
    BusinessDay::from_ymd(y, m, d)
        .map(Some)
        .map_err(|e| Status::invalid_argument(format!("day: {e}")))
}

type StatusStream = Pin<Box<dyn Stream<Item = Result<pb::SyncStatus, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl PosService for Pos {
    async fn open_session(
        &self,
        request: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::OpenSessionResponse>, Status> {
        let t = self.terminal(&request)?;
        let c = pos::OpenSession::try_from(request.into_inner()).map_err(|e| status(e.into()))?;
        let stored = self.desk.open_session(&t, c).await.map_err(status)?;
        Ok(Response::new(pb::OpenSessionResponse { stored: Some(stored_pb(&stored)) }))
    }

    async fn close_session(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        let t = self.terminal(&request)?;
        let c = pos::CloseSession::try_from(request.into_inner()).map_err(|e| status(e.into()))?;
        let closed = self.desk.close_session(&t, c).await.map_err(status)?;
        Ok(Response::new(pb::CloseSessionResponse {
            stored: Some(stored_pb(&closed.stored)),
            expected: Some(closed.expected.into()),
            variance: Some(closed.variance.into()),
        }))
    }

    async fn price_cart(
        &self,
        request: Request<pb::PriceCartRequest>,
    ) -> Result<Response<pb::PricedCart>, Status> {
        self.terminal(&request)?;
        let spec = pos::cart("cart", request.into_inner().cart).map_err(|e| status(e.into()))?;
        let totals = self.desk.catalog().price(&spec).map_err(status)?;
        Ok(Response::new(priced_to_pb(&totals)))
    }

    async fn submit_sale(
        &self,
        request: Request<pb::SubmitSaleRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let t = self.terminal(&request)?;
        let c = pos::SubmitSale::try_from(request.into_inner()).map_err(|e| status(e.into()))?;
        let stored = self.desk.sell(&t, c).await.map_err(status)?;
        Ok(Response::new(stored_pb(&stored)))
    }

    async fn submit_refund(
        &self,
        request: Request<pb::SubmitRefundRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let t = self.terminal(&request)?;
        let c = pos::SubmitRefund::try_from(request.into_inner()).map_err(|e| status(e.into()))?;
        let stored = self.desk.refund(&t, c).await.map_err(status)?;
        Ok(Response::new(stored_pb(&stored)))
    }

    async fn submit_inventory(
        &self,
        request: Request<pb::SubmitInventoryRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let t = self.terminal(&request)?;
        let c =
            pos::SubmitInventory::try_from(request.into_inner()).map_err(|e| status(e.into()))?;
        let stored = self.desk.inventory(&t, c).await.map_err(status)?;
        Ok(Response::new(stored_pb(&stored)))
    }

    async fn submit_sealed(
        &self,
        request: Request<pb::SubmitSealedRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let t = self.terminal(&request)?;
        let r = request.into_inner();
        let (field, n) = match (r.events.len(), r.sealed.len()) {
            (0, n) => ("sealed", n),
            (n, 0) => ("events", n),
            _ => return Err(Status::invalid_argument("sealed: send events or sealed, not both")),
        };
        if n == 0 || n > pos::MAX_SEALED_EVENTS {
            return Err(Status::invalid_argument(format!(
                "{field}: {n} events; send 1 to {}",
                pos::MAX_SEALED_EVENTS
            )));
        }
        let mut events = Vec::with_capacity(n);
        for (i, e) in r.events.into_iter().enumerate() {
            let event = dcs_core::SovereignFinancialEvent::try_from(e).map_err(|err| {
                Status::invalid_argument(err.at(&format!("events[{i}]")).to_string())
            })?;
            events.push(event);
        }
        for (i, bytes) in r.sealed.iter().enumerate() {
            let event = dcs_core::SovereignFinancialEvent::from_bytes(bytes)
                .map_err(|err| Status::invalid_argument(format!("sealed[{i}]: {err}")))?;
            events.push(event);
        }
        let stored = self.desk.store_sealed(&t, r.stream, events).await.map_err(status)?;
        Ok(Response::new(stored_pb(&stored)))
    }

    async fn provision_till(
        &self,
        request: Request<pb::ProvisionTillRequest>,
    ) -> Result<Response<pb::TillProvision>, Status> {
        let t = self.terminal(&request)?;
        let p = &self.till;
        let out = crate::provision::provision(
            &self.desk,
            &self.identity,
            &p.section,
            &p.tenant,
            p.utc_offset_minutes,
            &t,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(out))
    }

    async fn get_day_summary(
        &self,
        request: Request<pb::GetDaySummaryRequest>,
    ) -> Result<Response<pb::DaySummary>, Status> {
        self.terminal(&request)?;
        let wanted = day(&request.into_inner().day)?;
        let (day, row) = self.desk.day_summary(wanted).await.map_err(status)?;
        Ok(Response::new(pb::DaySummary {
            day: day.to_string(),
            sales_count: row.sales_count,
            refund_count: row.refund_count,
            gross: Some(row.gross.into()),
            refunds: Some(row.refunds.into()),
            net: Some(row.net.into()),
            tax: Some(row.tax.into()),
        }))
    }

    async fn get_stock(
        &self,
        request: Request<pb::GetStockRequest>,
    ) -> Result<Response<pb::StockLevels>, Status> {
        self.terminal(&request)?;
        let wanted = request
            .into_inner()
            .skus
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                Sku::new(s).map_err(|e| Status::invalid_argument(format!("skus[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rows = self.desk.projections().await.map_err(status)?;
        let mut levels = Vec::new();
        for (key, level) in rows.inventory {
            if key.branch != *self.desk.branch()
                || (!wanted.is_empty() && !wanted.contains(&key.sku))
            {
                continue;
            }
            let on_hand = level.on_hand().map_err(|e| status(e.into()))?;
            levels.push(pb::StockLevel { sku: key.sku.to_string(), on_hand });
        }
        Ok(Response::new(pb::StockLevels { levels }))
    }

    async fn get_loyalty(
        &self,
        request: Request<pb::GetLoyaltyRequest>,
    ) -> Result<Response<pb::LoyaltyBalance>, Status> {
        self.terminal(&request)?;
        let customer = request.into_inner().customer_id;
        let rows = self.desk.projections().await.map_err(status)?;
        let currency = self.desk.catalog().currency();
        let found = rows.loyalty.iter().find(|((_, c), _)| c.as_str() == customer);
        let (spend, points) = found
            .map_or((0, 0), |(_, l)| (l.net_spend, i64::try_from(l.purchases).unwrap_or(i64::MAX)));
        Ok(Response::new(pb::LoyaltyBalance {
            customer_id: customer,
            points,
            tier: String::new(),
            lifetime_spend: Some(dcs_core::Money::from_minor(spend, currency).into()),
        }))
    }

    async fn get_catalog(
        &self,
        request: Request<pb::GetCatalogRequest>,
    ) -> Result<Response<pb::Catalog>, Status> {
        self.terminal(&request)?;
        Ok(Response::new(self.desk.catalog().to_pb()))
    }

    type WatchSyncStatusStream = StatusStream;

    async fn watch_sync_status(
        &self,
        request: Request<pb::WatchSyncStatusRequest>,
    ) -> Result<Response<Self::WatchSyncStatusStream>, Status> {
        self.terminal(&request)?;
        Ok(Response::new(Box::pin(self.status.stream())))
    }
}
