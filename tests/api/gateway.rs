//! The partners' HTTP adapters against small servers on loopback: Toss Payments (refunds
//! through the API retried with the same idempotency key and never executed twice — not even
//! when the process loses the gateway's answer, as a crash between that answer and the commit
//! would) and the courier's pickup booking.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use oms::domain::money::Won;
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::claims::{claim_call, run_refund_job};
use crate::harness::{Backend, TestApp};
use crate::toss::{Endpoint, TossServer};

const PARTS: &str = "query($n: String!) { claim(claimNumber: $n) { status refund { parts { status attempts amount gatewayReference lastError } } } }";

/// A card refund through Toss: refused twice with a 500, then paid once; and a refund whose
/// answer is lost (the gateway refunds, the answer never arrives in time: to the OMS the same
/// as a crash between the gateway's answer and the commit): the next run sends the same key,
/// gets the first answer, and no money moves twice.
async fn refunds_through_toss(backend: Backend) {
    let toss = TossServer::start().await;
    let Some(t) = TestApp::with_gateway(backend, Arc::new(toss.gateway())).await else {
        crate::harness::skip_postgres();
        return;
    };
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();

    let o = OrderBuilder::new(&shop).place(&t).await;
    let key = toss
        .payment_key_of(&o.number)
        .expect("the order was paid through Toss");
    assert_eq!(toss.charges(&key).len(), 1, "charged once");
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    toss.fail_next(2);
    run_refund_job(&t).await;
    t.clock.advance(chrono::Duration::hours(1));
    run_refund_job(&t).await;
    t.clock.advance(chrono::Duration::hours(1));
    run_refund_job(&t).await;
    let d = t.gql(&customer, PARTS, json!({"n": n})).await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");
    let part = &d["claim"]["refund"]["parts"][0];
    assert_eq!(part["attempts"], 3, "{d}");
    assert_eq!(toss.calls(Endpoint::Cancel), 3);
    let amount = part["amount"].as_i64().unwrap();
    assert_eq!(toss.refunds(&key), [Won::new(amount)], "refunded once");
    let cancels = &toss.payment(&key).unwrap()["cancels"];
    assert_eq!(
        part["gatewayReference"], cancels[0]["transactionKey"],
        "{d}"
    );

    // The answer lost: refunded at Toss, the part still pending.
    let o = OrderBuilder::new(&shop).place(&t).await;
    let key = toss.payment_key_of(&o.number).unwrap();
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    toss.lose_next();
    run_refund_job(&t).await;
    let d = t.gql(&customer, PARTS, json!({"n": n})).await;
    assert_ne!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");
    let part = &d["claim"]["refund"]["parts"][0];
    assert!(
        part["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("TIMEOUT"),
        "{d}"
    );
    let amount = part["amount"].as_i64().unwrap();
    assert_eq!(toss.refunds(&key).len(), 1, "Toss refunded");
    let calls_before = toss.calls(Endpoint::Cancel);
    t.clock.advance(chrono::Duration::hours(1));
    run_refund_job(&t).await;
    let d = t.gql(&customer, PARTS, json!({"n": n})).await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");
    assert_eq!(d["claim"]["refund"]["parts"][0]["attempts"], 2, "{d}");
    assert_eq!(toss.calls(Endpoint::Cancel), calls_before + 1);
    assert_eq!(
        toss.refunds(&key),
        [Won::new(amount)],
        "no money moved twice"
    );
    let cancels = &toss.payment(&key).unwrap()["cancels"];
    assert_eq!(cancels.as_array().map(Vec::len), Some(1));
    assert_eq!(
        d["claim"]["refund"]["parts"][0]["gatewayReference"],
        cancels[0]["transactionKey"]
    );
    assert_eq!(toss.all_refunds().len(), 2, "each refund executed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_through_toss_sqlite() {
    refunds_through_toss(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_through_toss_postgres() {
    refunds_through_toss(Backend::Postgres).await;
}

/// A loopback courier: books pickups, remembering idempotency keys; refuses while `down`;
/// answers a tracking number with a NUL while `garbled`.
#[derive(Default)]
struct FakeCourier {
    bookings: Mutex<Vec<String>>,
    down: AtomicU32,
    garbled: AtomicU32,
}

async fn pickups(
    State(c): State<Arc<FakeCourier>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if c.down.load(Ordering::SeqCst) > 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"message": "maintenance"})),
        );
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|k| k.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(body["claimNumber"].is_string());
    if c.garbled.load(Ordering::SeqCst) > 0 {
        return (
            StatusCode::OK,
            Json(json!({"courier": "CJ대한통운", "trackingNumber": "CJ-\u{0}"})),
        );
    }
    c.bookings.lock().unwrap().push(key.clone());
    (
        StatusCode::OK,
        Json(json!({"courier": "CJ대한통운", "trackingNumber": format!("CJ-{key}")})),
    )
}

/// Approving a pickup return books it with the HTTP courier; while the courier is down, or
/// answers a tracking number the database cannot store, the approval is refused with
/// COURIER_UNAVAILABLE and changes nothing.
async fn pickups_through_http(backend: Backend) {
    let fake = Arc::new(FakeCourier::default());
    let app = Router::new()
        .route("/pickups", post(pickups))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let courier = Arc::new(
        oms::courier::HttpCourier::new(&url, Duration::from_secs(2), &Default::default()).unwrap(),
    );
    let Some(t) = TestApp::with_courier(backend, courier).await else {
        return;
    };
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let o = OrderBuilder::new(&shop).delivered(&t).await;
    let line = o.line().to_owned();
    let d = ClaimBuilder::return_of(&o.number, &line)
        .reason("DEFECTIVE")
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    fake.down.store(1, Ordering::SeqCst);
    let d = claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    assert_eq!(d["userErrors"][0]["code"], "COURIER_UNAVAILABLE", "{d}");
    fake.down.store(0, Ordering::SeqCst);
    fake.garbled.store(1, Ordering::SeqCst);
    let d = claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    assert_eq!(d["userErrors"][0]["code"], "COURIER_UNAVAILABLE", "{d}");
    assert!(
        d["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the answer's trackingNumber has a NUL character"),
        "{d}"
    );
    fake.garbled.store(0, Ordering::SeqCst);
    let d = claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    assert_eq!(d["claim"]["status"], "RETURN_COLLECTING", "{d}");
    let key = format!("{}-v1", n.as_str().unwrap());
    assert_eq!(
        d["claim"]["collection"],
        json!({"courier": "CJ대한통운", "trackingNumber": format!("CJ-{key}")})
    );
    assert_eq!(*fake.bookings.lock().unwrap(), vec![key]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickups_through_http_sqlite() {
    pickups_through_http(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickups_through_http_postgres() {
    pickups_through_http(Backend::Postgres).await;
}
