//! A store day through the real binary over gRPC: a session, a sale and its retry, a refund,
//! refused requests with the right codes, the day summary, and SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cart, usd};
use dcs_proto::pb;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_day_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path());
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;

    // No token, or a wrong one: UNAUTHENTICATED, nothing stored.
    let err = c.get_catalog(pb::GetCatalogRequest {}).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    let mut bad = tonic::Request::new(pb::GetCatalogRequest {});
    bad.metadata_mut().insert("authorization", "Bearer nope".parse().unwrap());
    assert_eq!(c.get_catalog(bad).await.unwrap_err().code(), Code::Unauthenticated);

    let catalog = c.get_catalog(d.req(pb::GetCatalogRequest {})).await.unwrap().into_inner();
    assert_eq!(catalog.products.len(), 2);

    let open = pb::OpenSessionRequest {
        idempotency_key: "open-s1".into(),
        session_id: "s-1".into(),
        cashier: "cashier-1".into(),
        opening_float: usd(10_000),
    };
    let opened = c.open_session(d.req(open.clone())).await.unwrap().into_inner().stored.unwrap();
    assert_eq!(opened.first_position, 1);

    // Pricing: 2 mugs at 12.99 + 8.75 % tax (6.25 % + 2.5 %).
    let priced = c
        .price_cart(d.req(pb::PriceCartRequest { cart: cart(&[("MUG", 2), ("COFFEE-250G", 1)]) }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(priced.subtotal.unwrap().minor_units, 2 * 1299 + 899);
    assert_eq!(priced.tax.unwrap().minor_units, 227, "8.75 % of 25.98 is 2.27; food is exempt");
    let total = priced.total.unwrap().minor_units;

    let sale = pb::SubmitSaleRequest {
        idempotency_key: "sale-R1".into(),
        session_id: "s-1".into(),
        sale_id: "R-1".into(),
        cart: cart(&[("MUG", 2), ("COFFEE-250G", 1)]),
        tender: pb::Tender::Cash as i32,
        customer_id: Some("C-7".into()),
    };
    let sold = c.submit_sale(d.req(sale.clone())).await.unwrap().into_inner();
    assert!(!sold.deduplicated);
    assert_eq!(sold.total.unwrap().minor_units, total);
    assert_eq!(sold.event_ids.len() as u64, sold.last_position - sold.first_position + 1);
    // The retry with the same key returns the first result and stores nothing.
    let again = c.submit_sale(d.req(sale.clone())).await.unwrap().into_inner();
    assert!(again.deduplicated);
    assert_eq!(
        (again.first_position, again.last_position),
        (sold.first_position, sold.last_position)
    );
    assert_eq!(again.event_ids, sold.event_ids);

    // Bad input: INVALID_ARGUMENT naming the field, nothing stored.
    let mut zero = sale.clone();
    zero.idempotency_key = "sale-R2".into();
    zero.sale_id = "R-2".into();
    zero.cart = cart(&[("MUG", 0)]);
    let err = c.submit_sale(d.req(zero)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("cart.lines[0].quantity"), "{}", err.message());
    let mut unknown = sale.clone();
    unknown.idempotency_key = "sale-R3".into();
    unknown.sale_id = "R-3".into();
    unknown.cart = cart(&[("NOPE", 1)]);
    let err = c.submit_sale(d.req(unknown)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("not in the catalog"), "{}", err.message());
    let mut no_session = sale.clone();
    no_session.idempotency_key = "sale-R4".into();
    no_session.sale_id = "R-4".into();
    no_session.session_id = "s-9".into();
    assert_eq!(
        c.submit_sale(d.req(no_session)).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    // A refund of one mug; then more than was sold is refused.
    let refund = pb::SubmitRefundRequest {
        idempotency_key: "refund-F1".into(),
        session_id: "s-1".into(),
        sale_id: "R-1".into(),
        refund_id: "F-1".into(),
        lines: vec![pb::RefundLine { sku: "MUG".into(), quantity: 1 }],
        tender: pb::Tender::Cash as i32,
        reason: "chipped".into(),
    };
    let refunded = c.submit_refund(d.req(refund.clone())).await.unwrap().into_inner();
    let refund_total = refunded.total.unwrap().minor_units;
    assert_eq!(refund_total, 1299 + 114, "one mug with its tax");
    let mut over = refund.clone();
    over.idempotency_key = "refund-F2".into();
    over.refund_id = "F-2".into();
    over.lines[0].quantity = 2;
    let err = c.submit_refund(d.req(over)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");

    let day = c
        .get_day_summary(d.req(pb::GetDaySummaryRequest { day: String::new() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((day.sales_count, day.refund_count), (1, 1));
    assert_eq!(day.gross.unwrap().minor_units, total);
    assert_eq!(day.refunds.unwrap().minor_units, refund_total);

    // Close with the exact cash: variance 0; the expected cash is float + sale − refund.
    let expected = 10_000 + total - refund_total;
    let closed = c
        .close_session(d.req(pb::CloseSessionRequest {
            idempotency_key: "close-s1".into(),
            session_id: "s-1".into(),
            counted: usd(expected - 50),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.expected.unwrap().minor_units, expected);
    assert_eq!(closed.variance.unwrap().minor_units, -50, "50 cents short");
    let mut late = sale.clone();
    late.idempotency_key = "sale-R5".into();
    late.sale_id = "R-5".into();
    let err = c.submit_sale(d.req(late)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("closed"), "{}", err.message());

    // Admin port.
    let status = d.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}");

    // Everything stored survives, and the chain verifies.
    let store = common::open_store(dir.path());
    store.verify_chain().unwrap();
    assert_eq!(store.head_position_sync().unwrap(), refunded.last_position + 1);
}
