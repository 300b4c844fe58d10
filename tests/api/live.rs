//! Fair sharing from outside (issue 14, findings 6, 7 and 11): `claimEvents` subscriptions are
//! capped per connection and per actor, at the limit and one past it; every subscription reads
//! one shared feed, so many of them cost the database no more than one; a foreign or malformed
//! scope is `NOT_FOUND` on both databases; made-up operation names do not grow `/metrics`.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use futures_util::SinkExt;
use oms::config::LimitArgs;
use oms::domain::actor::Role;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::builders::{ClaimBuilder, OrderBuilder, PlacedOrder, ShopBuilder};
use crate::events::next_json;
use crate::harness::{graphql_socket, Backend, GraphqlSocket, TestApp};
use crate::on_both;

/// `on_both!` with limits of the test's own.
macro_rules! on_both_with_limits {
    ($name:ident, $limits:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = TestApp::with_limits(Backend::Sqlite, $limits)
                    .await
                    .expect("sqlite");
                ($body)(t).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = TestApp::with_limits(Backend::Postgres, $limits).await else {
                    crate::harness::skip_postgres();
                    return;
                };
                ($body)(t).await;
            }
        }
    };
}

type Socket = GraphqlSocket;

const PER_CONNECTION: usize = 3;
const PER_ACTOR: usize = 5;

const EVENTS: &str =
    "subscription($n: String) { claimEvents(orderNumber: $n) { claimNumber status } }";

/// A graphql-transport-ws connection, initialised with `token`.
async fn connect(addr: std::net::SocketAddr, token: &str) -> Socket {
    let mut ws = graphql_socket(addr).await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    ws
}

async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

async fn subscribe(ws: &mut Socket, id: &str, variables: Value) {
    send(
        ws,
        json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS, "variables": variables}}),
    )
    .await;
}

/// Waits until exactly `n` subscriptions are open on the server.
async fn open_feeds(t: &TestApp, n: i64) {
    for _ in 0..200 {
        if t.app.metrics.live_subscriptions() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(t.app.metrics.live_subscriptions(), n, "open subscriptions");
}

/// The refusal of subscription `id`: its error's code and message, then its completion.
async fn refusal(ws: &mut Socket, id: &str) -> (String, String) {
    let m = next_json(ws).await;
    assert_eq!(
        (m["id"].as_str(), m["type"].as_str()),
        (Some(id), Some("next")),
        "{m}"
    );
    assert_eq!(m["payload"]["data"], Value::Null, "{m}");
    let e = &m["payload"]["errors"][0];
    let done = next_json(ws).await;
    assert_eq!(
        (done["id"].as_str(), done["type"].as_str()),
        (Some(id), Some("complete"))
    );
    (
        e["extensions"]["code"].as_str().unwrap_or("-").to_owned(),
        e["message"].as_str().unwrap_or("-").to_owned(),
    )
}

/// Subscribes with `variables` as `id` and expects `NOT_FOUND` with `message`.
async fn assert_not_found(ws: &mut Socket, query: &str, id: &str, variables: Value, message: &str) {
    send(
        ws,
        json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}),
    )
    .await;
    assert_eq!(
        refusal(ws, id).await,
        ("NOT_FOUND".into(), message.into()),
        "{id}"
    );
}

/// At the caps and one past them: a connection takes `PER_CONNECTION`, an actor `PER_ACTOR`
/// over all its connections; a completed subscription frees its place; another actor is not
/// affected; every open subscription receives the events its scope admits.
async fn caps(t: TestApp) {
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let PlacedOrder { number, lines, .. } = OrderBuilder::new(&s).delivered(&t).await;
    let addr = t.serve_on_loopback().await;

    let mut first = connect(addr, &s.customer().token).await;
    for i in 0..PER_CONNECTION {
        subscribe(&mut first, &format!("a{i}"), json!({"n": number})).await;
    }
    open_feeds(&t, PER_CONNECTION as i64).await;
    subscribe(&mut first, "over", json!({"n": number})).await;
    let (code, message) = refusal(&mut first, "over").await;
    assert_eq!(code, "TOO_MANY_SUBSCRIPTIONS", "{message}");
    assert!(
        message.contains("3 subscriptions")
            && message.contains("--max-subscriptions-per-connection"),
        "{message}"
    );
    // Completing one frees its place on the connection.
    send(&mut first, json!({"id": "a0", "type": "complete"})).await;
    open_feeds(&t, PER_CONNECTION as i64 - 1).await;
    subscribe(&mut first, "a3", json!({"n": number})).await;
    open_feeds(&t, PER_CONNECTION as i64).await;

    // The same customer on a second connection: two more reach the actor's cap.
    let mut second = connect(addr, &s.customer().token).await;
    for i in 0..PER_ACTOR - PER_CONNECTION {
        subscribe(&mut second, &format!("b{i}"), json!({"n": number})).await;
    }
    open_feeds(&t, PER_ACTOR as i64).await;
    subscribe(&mut second, "over", json!({})).await;
    let (code, message) = refusal(&mut second, "over").await;
    assert_eq!(code, "TOO_MANY_SUBSCRIPTIONS", "{message}");
    assert!(
        message.contains("--max-subscriptions-per-actor"),
        "{message}"
    );

    // Another actor (the seller) is not held back by the customer's subscriptions.
    let mut seller = connect(addr, &s.seller.token).await;
    subscribe(&mut seller, "s", json!({})).await;
    open_feeds(&t, PER_ACTOR as i64 + 1).await;

    // Every open subscription receives the claim's first event, once.
    let claim = ClaimBuilder::return_of(&number, &lines[0])
        .open(&t, &s.customer().token)
        .await;
    for (ws, n) in [
        (&mut first, PER_CONNECTION),
        (&mut second, PER_ACTOR - PER_CONNECTION),
        (&mut seller, 1),
    ] {
        let mut ids = Vec::new();
        while ids.len() < n {
            let m = next_json(ws).await;
            // The server may confirm the client's own `complete` of `a0`.
            if m == json!({"id": "a0", "type": "complete"}) {
                continue;
            }
            assert_eq!(m["type"], "next", "{m}");
            assert_eq!(
                m["payload"]["data"]["claimEvents"]["claimNumber"],
                claim.as_str()
            );
            ids.push(m["id"].as_str().unwrap().to_owned());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "each subscription once: {ids:?}");
    }

    // A closed connection gives its places back to its actor.
    first.close(None).await.unwrap();
    open_feeds(&t, (PER_ACTOR - PER_CONNECTION) as i64 + 1).await;
    let mut third = connect(addr, &s.customer().token).await;
    for i in 0..PER_CONNECTION {
        subscribe(&mut third, &format!("c{i}"), json!({"n": number})).await;
        open_feeds(&t, (PER_ACTOR - PER_CONNECTION + i) as i64 + 2).await;
    }
    // The actor is at its cap again: the next is refused on any connection.
    subscribe(&mut third, "over", json!({})).await;
    let (code, message) = refusal(&mut third, "over").await;
    assert_eq!(code, "TOO_MANY_SUBSCRIPTIONS");
    assert!(
        message.contains("--max-subscriptions-per-actor"),
        "{message}"
    );
    subscribe(&mut second, "over", json!({})).await;
    let (code, message) = refusal(&mut second, "over").await;
    assert_eq!(code, "TOO_MANY_SUBSCRIPTIONS");
    assert!(
        message.contains("--max-subscriptions-per-actor"),
        "{message}"
    );
}
on_both_with_limits!(
    capped_per_connection_and_per_actor,
    LimitArgs {
        max_subscriptions_per_connection: PER_CONNECTION,
        max_subscriptions_per_actor: PER_ACTOR,
        ..LimitArgs::default()
    },
    caps
);

/// Many subscriptions read one feed: sixty open subscriptions on a quiet server cost the
/// database a poll every 100 ms, not sixty (a poller per subscriber ran 600 statements a
/// second and slowed everyone else's queries).
async fn one_feed(t: TestApp) {
    let addr = t.serve_on_loopback().await;
    let operator = t.token(Role::Operator, "ops");
    let mut sockets = Vec::new();
    for c in 0..2 {
        let mut ws = connect(addr, &operator).await;
        for i in 0..30 {
            subscribe(&mut ws, &format!("{c}-{i}"), json!({})).await;
        }
        sockets.push(ws);
    }
    open_feeds(&t, 60).await;
    let before = t.app.db.statement_count();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let statements = t.app.db.statement_count() - before;
    assert!(
        statements <= 30,
        "{statements} statements in one second for 60 subscriptions"
    );
    drop(sockets);
    open_feeds(&t, 0).await;
}
on_both_with_limits!(
    subscriptions_share_one_feed,
    LimitArgs {
        max_subscriptions_per_actor: 60,
        ..LimitArgs::default()
    },
    one_feed
);

/// A foreign claim or seller, an unknown order, and numbers PostgreSQL cannot compare (a NUL)
/// or over their limit: each `NOT_FOUND` on the subscription, never `INTERNAL`.
async fn foreign_scopes(t: TestApp) {
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let PlacedOrder { number, lines, .. } = OrderBuilder::new(&s).delivered(&t).await;
    let claim = ClaimBuilder::return_of(&number, &lines[0])
        .open(&t, &s.customer().token)
        .await;
    let addr = t.serve_on_loopback().await;
    let stranger = t.token(Role::Customer, &t.customer(0).await.to_string());
    let other_seller = t.seller("B", 3000, 50000, 3000).await;
    let mut ws = connect(addr, &stranger).await;
    let other_seller_token = t.token(Role::Seller, &other_seller.to_string());
    let mut seller_ws = connect(addr, &other_seller_token).await;
    let query = "subscription($o: String, $c: String, $s: ID) { claimEvents(orderNumber: $o, claimNumber: $c, sellerId: $s) { claimNumber } }";
    let cases = [
        ("order", json!({"o": number}), "order not found"),
        ("claim", json!({"c": claim}), "claim not found"),
        ("unknown", json!({"o": "NO-SUCH-ORDER"}), "order not found"),
        (
            "nul-order",
            json!({"o": format!("{number}\u{0}")}),
            "order not found",
        ),
        ("nul-claim", json!({"c": "C\u{0}1"}), "claim not found"),
        ("long", json!({"o": "9".repeat(41)}), "order not found"),
    ];
    for (id, variables, message) in cases {
        assert_not_found(&mut ws, query, id, variables, message).await;
    }
    // A seller naming another seller, or another seller's claim.
    for (id, variables, message) in [
        (
            "seller",
            json!({"s": crate::harness::gid("Seller", s.seller.id)}),
            "seller not found",
        ),
        ("their-claim", json!({"c": claim}), "claim not found"),
    ] {
        assert_not_found(&mut seller_ws, query, id, variables, message).await;
    }
    // Staff may follow any seller, but not one that does not exist; a claim named with
    // another order than its own matches nothing, which is said, not silently accepted.
    let other_order = OrderBuilder::new(&s).place(&t).await.number;
    let operator = t.token(Role::Operator, "ops");
    let mut ops = connect(addr, &operator).await;
    for (id, variables, message) in [
        (
            "no-such-seller",
            json!({"s": crate::harness::gid("Seller", 999_999)}),
            "seller not found",
        ),
        (
            "mismatch",
            json!({"o": other_order, "c": claim}),
            "claim not found",
        ),
    ] {
        assert_not_found(&mut ops, query, id, variables, message).await;
    }
    assert_eq!(
        t.app.metrics.live_subscriptions(),
        0,
        "no refused scope opened a feed"
    );
}
on_both!(foreign_scopes_are_not_found, foreign_scopes);

/// Two thousand made-up operation names from an anonymous caller add no series: they are
/// all `other`.
async fn operation_names(t: TestApp) {
    for i in 0..2_000 {
        let (status, _) = t
            .send(
                Request::post("/graphql")
                    .header("content-type", "application/json")
                    .body(Body::from(
                        json!({"query": format!("query Probe{i} {{ __typename }}"), "operationName": format!("Probe{i}")})
                            .to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert!(status.is_success(), "{status}");
    }
    let (_, metrics) = t
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(!metrics.contains("Probe"), "made-up names became labels");
    assert!(
        metrics.contains(r#"oms_graphql_requests_total{operation="other",outcome="ok"} 2000"#),
        "{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("oms_graphql_requests_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
on_both!(made_up_operation_names_add_no_series, operation_names);
