//! `oms seed`: a few hundred orders generated from the demo templates are valid for the API —
//! every claim status, several sellers, both tenders, the invariants by SQL, nested reads as an
//! operator and as a customer, and new orders and claims after it without id collisions.

use oms::clock::Clock;
use oms::domain::actor::Role;
use oms::domain::claim::ClaimStatus;
use oms::domain::order::PaymentMethod;
use oms::seed::{SeedError, SeedOptions};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::builders::{ClaimBuilder, OrderBuilder};
use crate::claims::deliver;
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;

const ORDERS: usize = 400;

async fn rows(t: &TestApp, sql: &str) -> Vec<sea_orm::QueryResult> {
    let db = t.app.db.conn();
    db.query_all(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn number(t: &TestApp, sql: &str) -> i64 {
    rows(t, sql).await[0].try_get_by_index::<i64>(0).unwrap()
}

async fn strings(t: &TestApp, sql: &str) -> Vec<String> {
    rows(t, sql)
        .await
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

const ORDERS_PAGE: &str = "{ orders(first: 50) { totalCount edges { node { id orderNumber status paymentMethod placedAt customer { id } lines { id status quantity claimedQuantity seller { id name } } tenders { method amount status } shippingGroups { shippingFee } shipments { trackingNumber } claims { claimNumber status } } } pageInfo { hasNextPage endCursor } } }";

const CLAIMS_PAGE: &str = "query($f: ClaimFilterInput) { claims(first: 50, filter: $f) { edges { node { claimNumber type status requestedAt order { orderNumber customer { id } } seller { id } items { quantity } refund { cash points status parts { method amount status } } timeline { action fromStatus toStatus actor payload at } availableActions convertedTo { claimNumber } } } pageInfo { hasNextPage } } }";

async fn seeded_database_is_valid(t: TestApp) {
    let now = t.clock.now();
    let opts = SeedOptions {
        orders: ORDERS,
        sellers: 9,
        now,
    };
    let report = oms::seed::run(&t.app.db, &opts, |_| {}).await.unwrap();
    assert_eq!(report.orders, ORDERS);
    assert_eq!(t.order_count().await, ORDERS as u64);
    assert!(report.rows > ORDERS as u64 * 5, "{report:?}");

    // A second run refuses the database.
    let again = oms::seed::run(&t.app.db, &opts, |_| {}).await;
    assert!(matches!(again, Err(SeedError::Refused(_))), "{again:?}");

    // Every claim status, several sellers, both tenders; nothing waiting in the outbox.
    let statuses = strings(&t, "SELECT DISTINCT status FROM claims").await;
    for s in ClaimStatus::ALL {
        assert!(
            statuses.iter().any(|x| x == s.as_str()),
            "no seeded claim is {}",
            s.as_str()
        );
    }
    assert!(number(&t, "SELECT COUNT(DISTINCT seller_id) FROM order_lines").await >= 6);
    assert!(number(&t, "SELECT COUNT(DISTINCT customer_id) FROM orders").await >= 12);
    let methods = strings(&t, "SELECT DISTINCT payment_method FROM orders").await;
    for m in [PaymentMethod::Card, PaymentMethod::BankTransfer] {
        assert!(
            methods.iter().any(|x| x == m.as_str()),
            "no {} order",
            m.as_str()
        );
    }
    assert_eq!(number(&t, "SELECT COUNT(*) FROM outbox_messages").await, 0);
    assert_eq!(number(&t, "SELECT COUNT(*) FROM idempotency_keys").await, 0);

    // Invariants, by SQL.
    for (what, sql) in [
        (
            "units claimed by live claims beyond the line's quantity",
            "SELECT COUNT(*) FROM order_lines l WHERE l.quantity < (SELECT COALESCE(SUM(ci.quantity), 0) \
             FROM claim_items ci JOIN claims c ON c.id = ci.claim_id WHERE ci.line_id = l.id \
             AND c.status NOT LIKE '%_REJECTED' AND c.status NOT LIKE '%_WITHDRAWN' \
             AND c.status NOT LIKE '%_CONVERTED')",
        ),
        (
            "lines whose closed and claimed units exceed the quantity",
            "SELECT COUNT(*) FROM order_lines \
             WHERE cancelled_quantity + returned_quantity + claimed_quantity > quantity",
        ),
        (
            "tenders refunded beyond what they paid",
            "SELECT COUNT(*) FROM tenders t WHERE t.refunded_amount > t.amount OR t.amount < \
             (SELECT COALESCE(SUM(p.amount), 0) FROM refund_parts p WHERE p.tender_id = t.id)",
        ),
        (
            "refund parts paid from another order's tender",
            "SELECT COUNT(*) FROM refund_parts p JOIN tenders t ON t.id = p.tender_id \
             JOIN refunds r ON r.id = p.refund_id WHERE t.order_id <> r.order_id",
        ),
        (
            "claims of another customer's order",
            "SELECT COUNT(*) FROM claims c JOIN orders o ON o.id = c.order_id \
             WHERE o.customer_id <> c.customer_id",
        ),
        (
            "claim items on another order's or seller's line",
            "SELECT COUNT(*) FROM claim_items ci JOIN claims c ON c.id = ci.claim_id \
             JOIN order_lines l ON l.id = ci.line_id \
             WHERE l.order_id <> c.order_id OR l.seller_id <> c.seller_id",
        ),
        (
            "claim numbers not made from their order's number",
            "SELECT COUNT(*) FROM claims c JOIN orders o ON o.id = c.order_id \
             WHERE substr(c.claim_number, 1, length(o.order_number) + 2) <> o.order_number || '-C'",
        ),
        (
            "lines shipped in another order's parcel",
            "SELECT COUNT(*) FROM order_lines l JOIN shipments s ON s.id = l.shipment_id \
             WHERE s.order_id <> l.order_id OR s.seller_id <> l.seller_id",
        ),
        (
            "customers whose points differ from their ledger",
            "SELECT COUNT(*) FROM customers cu WHERE cu.points_balance <> COALESCE((SELECT \
             p.balance_after FROM points_ledger p WHERE p.customer_id = cu.id \
             ORDER BY p.id DESC LIMIT 1), cu.points_balance)",
        ),
        (
            "conversions pointing at another order's claim",
            "SELECT COUNT(*) FROM claims c JOIN claims d ON d.id = c.converted_to_id \
             WHERE d.order_id <> c.order_id OR d.converted_from_id <> c.id",
        ),
        (
            "orders placed after the anchor",
            &format!(
                "SELECT COUNT(*) FROM orders WHERE placed_at > {}",
                match t.app.db.backend() {
                    sea_orm::DatabaseBackend::Postgres =>
                        format!("TIMESTAMPTZ '{}'", now.to_rfc3339()),
                    _ => format!("'{}'", now.format("%Y-%m-%dT%H:%M:%S%.f+00:00")),
                }
            ),
        ),
    ] {
        assert_eq!(number(&t, sql).await, 0, "{what}");
    }
    assert_eq!(
        number(
            &t,
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM analytics_delivered_units"
        )
        .await,
        number(
            &t,
            "SELECT CAST(COALESCE(SUM(quantity - cancelled_quantity), 0) AS BIGINT) \
             FROM order_lines WHERE delivered_at IS NOT NULL"
        )
        .await,
        "delivered units per day"
    );
    // Spread over most of a year.
    let months = match t.app.db.backend() {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT COUNT(DISTINCT to_char(placed_at, 'YYYY-MM')) FROM orders"
        }
        _ => "SELECT COUNT(DISTINCT substr(placed_at, 1, 7)) FROM orders",
    };
    assert!(number(&t, months).await >= 3);

    // Reads through the API, as an operator and as a seeded customer.
    let ops = t.operator();
    let d = t.gql(&ops, ORDERS_PAGE, json!({})).await;
    assert_eq!(d["orders"]["totalCount"], json!(ORDERS));
    assert_eq!(d["orders"]["edges"].as_array().unwrap().len(), 50);
    let d = t.gql(&ops, CLAIMS_PAGE, json!({})).await;
    assert_eq!(d["claims"]["edges"].as_array().unwrap().len(), 50);
    let d = t
        .gql(
            &ops,
            CLAIMS_PAGE,
            json!({"f": {"status": "RETURN_COMPLETED"}}),
        )
        .await;
    let edges = d["claims"]["edges"].as_array().unwrap();
    assert!(!edges.is_empty());
    assert!(edges
        .iter()
        .all(|e| e["node"]["status"] == json!("RETURN_COMPLETED")));

    let customer = number(
        &t,
        "SELECT customer_id FROM claims GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id DESC LIMIT 1",
    )
    .await;
    let own_orders = number(
        &t,
        &format!("SELECT COUNT(*) FROM orders WHERE customer_id = {customer}"),
    )
    .await;
    let mine = t.token(Role::Customer, &customer.to_string());
    let d = t.gql(&mine, ORDERS_PAGE, json!({})).await;
    assert_eq!(d["orders"]["totalCount"], json!(own_orders));
    let me = json!(gid("Customer", customer));
    for e in d["orders"]["edges"].as_array().unwrap() {
        assert_eq!(e["node"]["customer"]["id"], me);
    }
    let d = t.gql(&mine, CLAIMS_PAGE, json!({})).await;
    let edges = d["claims"]["edges"].as_array().unwrap();
    assert!(!edges.is_empty());
    for e in edges {
        assert_eq!(e["node"]["order"]["customer"]["id"], me);
    }

    // New orders and claims after the seed take fresh ids and numbers.
    let option = number(&t, "SELECT MAX(id) FROM product_options").await;
    let max_order = number(&t, "SELECT MAX(id) FROM orders").await;
    let max_claim = number(&t, "SELECT MAX(id) FROM claims").await;
    let placed = OrderBuilder::by(&ops)
        .customer(customer)
        .line(option, 1)
        .points(0)
        .place(&t)
        .await;
    assert_eq!(placed.order["id"], json!(gid("Order", max_order + 1)));
    let (order_number, line) = placed.number_and_line();
    deliver(&t, &order_number, std::slice::from_ref(&line)).await;
    let d = ClaimBuilder::return_of(&order_number, &line)
        .request(&t, &mine)
        .await;
    assert_eq!(d["userErrors"], json!([]));
    assert_eq!(d["claim"]["status"], json!("RETURN_REQUESTED"));
    assert_eq!(
        d["claim"]["claimNumber"],
        json!(format!("{order_number}-C1"))
    );
    assert_eq!(
        number(&t, "SELECT MAX(id) FROM claims").await,
        max_claim + 1
    );
}
on_both!(seeded, seeded_database_is_valid);
