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
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::claims::{claim_call, run_refund_job};
use crate::harness::{Backend, TestApp};

// TODO(helper h-toss): the Toss adapter against the loopback Toss server.

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
