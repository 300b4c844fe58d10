//! The partners' HTTP adapters against small servers on loopback: the payment gateway
//! (idempotency keys, declines, timeouts, and refunds never executed twice — not even when the
//! process dies between the gateway's answer and the commit) and the courier's pickup booking.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use oms::domain::money::Won;
use oms::gateway::{GatewayError, HttpGateway, PaymentGateway, RefundCall};
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::claims::{claim_call, run_refund_job};
use crate::harness::{Backend, TestApp};

/// A loopback gateway: remembers each idempotency key's answer, moves money once per key,
/// fails the first `fail` calls and sleeps on `slow` calls.
#[derive(Default)]
pub(crate) struct FakeGateway {
    pub(crate) executed: Mutex<HashMap<String, i64>>,
    calls: AtomicU32,
    fail: AtomicU32,
    slow: AtomicU32,
}

async fn handle(
    State(g): State<Arc<FakeGateway>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    g.calls.fetch_add(1, Ordering::SeqCst);
    if g.slow
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    if g.fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::BAD_GATEWAY,
            Json(json!({"message": "card issuer unavailable"})),
        );
    }
    let Some(key) = headers.get("idempotency-key").and_then(|k| k.to_str().ok()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Idempotency-Key required"})),
        );
    };
    g.executed
        .lock()
        .unwrap()
        .entry(key.to_owned())
        .or_insert(body["amount"].as_i64().unwrap_or(0));
    (
        StatusCode::OK,
        Json(json!({"reference": format!("pg-{key}")})),
    )
}

/// The fake gateway's routes, for a plain or a TLS listener.
pub(crate) fn fake_gateway() -> (Arc<FakeGateway>, Router) {
    let state = Arc::new(FakeGateway::default());
    let app = Router::new()
        .route("/refunds", post(handle))
        .route("/charges", post(handle))
        .with_state(state.clone());
    (state, app)
}

async fn start() -> (Arc<FakeGateway>, String) {
    let (state, app) = fake_gateway();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, format!("http://{addr}"))
}

#[tokio::test]
async fn adapter_sends_keys_and_maps_failures() {
    let (fake, url) = start().await;
    let gw = HttpGateway::new(&url, Duration::from_millis(200), &Default::default(), None).unwrap();
    let call = RefundCall {
        idempotency_key: "C1-pay1".into(),
        payment_reference: "charge-1".into(),
        amount: Won::new(1000),
    };
    fake.fail.store(1, Ordering::SeqCst);
    assert!(
        matches!(gw.refund(call.clone()).await, Err(GatewayError::Declined(m)) if m.contains("502"))
    );
    fake.slow.store(1, Ordering::SeqCst);
    assert!(matches!(
        gw.refund(call.clone()).await,
        Err(GatewayError::Timeout)
    ));
    let first = gw.refund(call.clone()).await.unwrap();
    let again = gw.refund(call).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.executed.lock().unwrap().len(), 1);
    assert_eq!(
        gw.charge("C1-fee-v2".into(), Won::new(6000)).await.unwrap(),
        "pg-C1-fee-v2"
    );
}

/// A card refund through the HTTP gateway: declined twice, then paid once; and a "crash"
/// between the gateway's answer and the commit (the gateway is called with the part's key, the
/// result never recorded): the next run gets the same answer and no money moves twice.
async fn refunds_through_http(backend: Backend) {
    let (fake, url) = start().await;
    let gw = Arc::new(
        HttpGateway::new(&url, Duration::from_secs(2), &Default::default(), None).unwrap(),
    );
    let Some(t) = TestApp::with_gateway(backend, gw.clone()).await else {
        return;
    };
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();

    let o = OrderBuilder::new(&shop).place(&t).await;
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    fake.fail.store(2, Ordering::SeqCst);
    run_refund_job(&t).await;
    t.clock.advance(chrono::Duration::hours(1));
    run_refund_job(&t).await;
    t.clock.advance(chrono::Duration::hours(1));
    run_refund_job(&t).await;
    let q = "query($n: String!) { claim(claimNumber: $n) { status refund { parts { status attempts idempotencyKey } } } }";
    let d = t.gql(&customer, q, json!({"n": n})).await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");
    assert_eq!(d["claim"]["refund"]["parts"][0]["attempts"], 3);
    assert_eq!(fake.executed.lock().unwrap().len(), 1);

    // The crash: the gateway refunds, the process dies before recording it.
    let o = OrderBuilder::new(&shop).place(&t).await;
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    let d = t.gql(&customer, q, json!({"n": n})).await;
    let key = d["claim"]["refund"]["parts"][0]["idempotencyKey"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.refund(RefundCall {
        idempotency_key: key.clone(),
        payment_reference: "x".into(),
        amount: Won::new(13000),
    })
    .await
    .unwrap();
    let calls_before = fake.calls.load(Ordering::SeqCst);
    run_refund_job(&t).await;
    let d = t.gql(&customer, q, json!({"n": n})).await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED");
    assert_eq!(fake.calls.load(Ordering::SeqCst), calls_before + 1);
    let executed = fake.executed.lock().unwrap();
    assert_eq!(executed.len(), 2, "each refund executed once: {executed:?}");
    assert_eq!(executed[&key], 13000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_through_http_sqlite() {
    refunds_through_http(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_through_http_postgres() {
    refunds_through_http(Backend::Postgres).await;
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
