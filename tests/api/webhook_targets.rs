//! Webhooks cannot be aimed at the marketplace's own network (SSRF): registration refuses
//! internal targets in every notation, every delivery attempt checks the name's addresses
//! again and connects only to a checked one, redirects are not followed, the seller sees a
//! coarse reason, and only `--webhook-allow-networks` lets loopback receivers through. Also:
//! another seller's delivery log is "not found" — an empty list.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use oms::domain::actor::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::builders::{OrderBuilder, Shop, ShopBuilder};
use crate::events::drain;
use crate::harness::{gid, Backend, TestApp, LOOPBACK_SINKS};
use crate::on_both;
use crate::orders::PLACE;
use crate::sinks::HttpSink;

const REGISTER: &str = "mutation($url: String!) { registerWebhook(input: {url: $url, eventTypes: [\"*\"]}) { webhook { id url } secret userErrors { code field message } } }";

const LOG: &str = "query($id: ID!) { webhookDeliveries(webhookId: $id) { webhookId status attempts responseStatus lastError } }";

/// Registers `url` for the seller of `s` through `t`; the payload.
async fn register(t: &TestApp, s: &Shop, url: &str) -> Value {
    t.gql(&s.seller.token, REGISTER, json!({"url": url})).await["registerWebhook"].clone()
}

/// Registers `url`, which must be accepted; the endpoint's id.
async fn registered(t: &TestApp, s: &Shop, url: &str) -> Value {
    let d = register(t, s, url).await;
    assert_eq!(d["userErrors"], json!([]), "{url}: {d}");
    d["webhook"]["id"].clone()
}

/// The newest delivery of an endpoint, as its seller sees it.
async fn newest(t: &TestApp, s: &Shop, hook: &Value) -> Value {
    t.gql(&s.seller.token, LOG, json!({"id": hook})).await["webhookDeliveries"][0].clone()
}

/// Every form of internal target the attacker tried is refused at registration with
/// `INVALID_WEBHOOK` on `url` and a message naming the problem; nothing is stored, and the
/// credentials are not echoed. Without an allow-list (the production default) loopback is
/// refused too; the harness's loopback allow-list lets only loopback through.
async fn registration_refuses_internal_targets(t: TestApp) {
    let s = ShopBuilder::new().stock(50).build(&t).await;
    t.dns.set("private.partner.example", &["10.0.0.5"]);
    t.dns.set("metadata.partner.example", &["169.254.169.254"]);
    t.dns.set("loopback.partner.example", &["127.0.0.1", "::1"]);
    let strict = t.with_webhook_networks("");
    let table: &[(&str, &str)] = &[
        ("http://127.0.0.1:9/hook", "address not allowed: loopback"),
        ("http://[::1]/", "address not allowed: loopback"),
        (
            "http://0.0.0.0/",
            "address not allowed: unspecified address",
        ),
        ("http://0/", "address not allowed: unspecified address"),
        ("http://2130706433/", "address not allowed: loopback"),
        ("http://0x7f000001/", "address not allowed: loopback"),
        ("http://0177.0.0.1/", "address not allowed: loopback"),
        ("http://127.1/", "address not allowed: loopback"),
        (
            "http://[::ffff:127.0.0.1]/",
            "address not allowed: loopback",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "address not allowed: link-local",
        ),
        ("http://[fe80::1]/", "address not allowed: link-local"),
        ("http://10.0.0.5/", "address not allowed: private network"),
        ("http://172.16.0.1/", "address not allowed: private network"),
        (
            "http://192.168.0.1/",
            "address not allowed: private network",
        ),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        (
            "http://[fd00::1]/",
            "address not allowed: unique-local network",
        ),
        (
            "http://[64:ff9b::a00:5]/",
            "address not allowed: private network",
        ),
        (
            "http://[2002:a00:5::]/",
            "address not allowed: private network",
        ),
        ("http://224.0.0.1/", "address not allowed: multicast"),
        ("http://255.255.255.255/", "address not allowed: broadcast"),
        (
            "http://192.0.2.1/",
            "address not allowed: documentation range",
        ),
        ("http://240.0.0.1/", "address not allowed: reserved range"),
        ("http://localhost:8080/hook", "a local name"),
        ("http://hooks.localhost/", "a local name"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "a local name",
        ),
        ("http://printer.local/", "a local name"),
        ("http://webhooks/", "fully qualified"),
        (
            "https://private.partner.example/hook",
            "address not allowed: private network",
        ),
        (
            "https://metadata.partner.example/hook",
            "address not allowed: link-local",
        ),
        (
            "https://loopback.partner.example/hook",
            "address not allowed: loopback",
        ),
        // Plain http: only to development networks, and this server allows none.
        (
            "http://hooks.partner.example/hook",
            "must start with https://",
        ),
        ("http://93.184.216.34/hook", "must start with https://"),
        ("http:///nohost", "must name its host"),
        ("http:nohost.example/x", "must name its host"),
        (
            "http://partner:s3cr3t-pw@hooks.partner.example/",
            "must not contain credentials",
        ),
        (
            "http://partner@hooks.partner.example/",
            "must not contain credentials",
        ),
        ("ftp://hooks.partner.example/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        (
            "hooks.partner.example/oms",
            "absolute http:// or https:// URL",
        ),
    ];
    for (url, says) in table {
        let d = register(&strict, &s, url).await;
        assert_eq!(d["webhook"], Value::Null, "{url}: {d}");
        assert_eq!(d["secret"], Value::Null, "{url}: {d}");
        let error = &d["userErrors"][0];
        assert_eq!(error["code"], "INVALID_WEBHOOK", "{url}: {d}");
        assert_eq!(error["field"], json!(["input", "url"]), "{url}: {d}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(says),
            "{url}: `{message}` should say `{says}`"
        );
        assert!(!d.to_string().contains("s3cr3t-pw"), "{url}: {d}");
    }
    let listed = t
        .gql(&s.seller.token, "{ webhooks { id } }", json!({}))
        .await;
    assert_eq!(listed["webhooks"], json!([]), "nothing was stored");

    // The harness's server lets loopback through, and nothing else.
    registered(&t, &s, "http://127.0.0.1:9/hook").await;
    registered(&t, &s, "http://loopback.partner.example:9/hook").await;
    for (url, says) in [
        ("http://10.0.0.5/", "private network"),
        ("http://localhost:9/hook", "a local name"),
        ("http://private.partner.example/hook", "private network"),
    ] {
        let d = register(&t, &s, url).await;
        let message = d["userErrors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{url}: {d}");
    }
    // A name that does not resolve yet is accepted (every delivery checks it), stored as the
    // URL parser reads it — the form that was checked and that deliveries use.
    let d = register(&strict, &s, "HTTPS://Hooks.Partner.Example:443/oms").await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["webhook"]["url"], "https://hooks.partner.example/oms");
}
on_both!(
    webhook_registration_refuses_internal_targets,
    registration_refuses_internal_targets
);

/// A name is resolved and checked for every new connection, and the connection goes to a
/// checked address: registered while it pointed at the (allowed) loopback sink, it is refused
/// once it points at a private or metadata address — nothing reaches the sink, the seller
/// reads a coarse reason; when it resolves to a refused and an allowed address, only the
/// allowed one is used. (A kept-alive connection to a checked address may be reused: the sink
/// closes each one, so every attempt resolves again.)
async fn names_are_checked_at_every_attempt(t: TestApp) {
    let sink = HttpSink::start().await;
    sink.close_connections();
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let name = "hooks.partner.example";
    t.dns.set(name, &["127.0.0.1"]);
    let url = format!("http://{name}:{}/hook", sink.port());
    let hook = registered(&t, &s, &url).await;

    OrderBuilder::new(&s).place(&t).await;
    drain(&t.app).await;
    assert_eq!(sink.requests().len(), 1, "delivered through the name");
    assert_eq!(newest(&t, &s, &hook).await["status"], "DELIVERED");

    for (addrs, reason) in [
        (&["10.0.0.5"][..], "address not allowed: private network"),
        (&["169.254.169.254"][..], "address not allowed: link-local"),
        (
            &["::ffff:10.0.0.5"][..],
            "address not allowed: private network",
        ),
        (&[][..], "could not resolve the host name"),
    ] {
        t.dns.set(name, addrs);
        OrderBuilder::new(&s).place(&t).await;
        let report = drain(&t.app).await;
        assert_eq!(report.retried, 1, "{addrs:?}: {report:?}");
        assert_eq!(sink.requests().len(), 1, "{addrs:?}: nothing sent");
        let log = newest(&t, &s, &hook).await;
        assert_eq!(log["status"], "PENDING", "{log}");
        assert_eq!(log["lastError"], reason, "{addrs:?}: {log}");
        assert_eq!(log["responseStatus"], Value::Null, "{log}");
    }

    // A refused and an allowed address: only the allowed one is connected to.
    t.dns.set(name, &["10.0.0.5", "127.0.0.1"]);
    OrderBuilder::new(&s).place(&t).await;
    let started = Instant::now();
    drain(&t.app).await;
    assert_eq!(newest(&t, &s, &hook).await["status"], "DELIVERED");
    assert_eq!(sink.requests().len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no attempt on 10.0.0.5 (it would hang until the timeout)"
    );
}
on_both!(
    webhook_names_are_checked_at_every_attempt,
    names_are_checked_at_every_attempt
);

/// An allowed receiver that answers with a redirect to an address that is not allowed: the
/// redirect is not followed (nothing reaches the second address, not even as a GET), and the
/// attempt fails with the status.
async fn redirects_are_not_followed(t: TestApp) {
    // Only 127.0.0.1 is allowed; 127.0.0.2 is loopback, and refused.
    let only = t.with_webhook_networks("127.0.0.1/32");
    let elsewhere = HttpSink::start_on("127.0.0.2").await;
    let sink = HttpSink::start().await;
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let hook = registered(&only, &s, &sink.url("/hook")).await;
    for status in [StatusCode::FOUND, StatusCode::TEMPORARY_REDIRECT] {
        sink.redirect_to(status, &elsewhere.url("/stolen"));
        let before = sink.requests().len();
        OrderBuilder::new(&s).place(&t).await;
        let report = drain(&only.app).await;
        assert_eq!(report.retried, 1, "{report:?}");
        assert_eq!(sink.requests().len(), before + 1);
        assert!(elsewhere.requests().is_empty(), "the redirect was followed");
        let log = newest(&t, &s, &hook).await;
        assert_eq!(
            log["lastError"],
            format!("answered {} (redirects are not followed)", status.as_u16()),
            "{log}"
        );
        assert_eq!(log["responseStatus"], status.as_u16(), "{log}");
    }
}
on_both!(
    webhook_redirects_are_not_followed,
    redirects_are_not_followed
);

/// Without an allow-list a real loopback receiver gets nothing — not even an endpoint stored
/// before (or by a server with the allow-list): each attempt checks again. With it, the same
/// delivery arrives.
async fn the_allow_list_decides_loopback(t: TestApp) {
    let sink = HttpSink::start().await;
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let strict = t.with_webhook_networks("");
    let d = register(&strict, &s, &sink.url("/hook")).await;
    assert_eq!(
        d["userErrors"][0]["message"], "address not allowed: loopback",
        "{d}"
    );
    let hook = registered(&t, &s, &sink.url("/hook")).await;

    OrderBuilder::new(&s).place(&t).await;
    let report = drain(&strict.app).await;
    assert_eq!(report.retried, 1, "{report:?}");
    assert!(sink.requests().is_empty(), "the loopback sink got nothing");
    let log = newest(&t, &s, &hook).await;
    assert_eq!(log["lastError"], "address not allowed: loopback", "{log}");

    t.clock.advance(chrono::Duration::seconds(5));
    let report = drain(&t.app).await;
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(sink.requests().len(), 1);
    let log = newest(&t, &s, &hook).await;
    assert_eq!(log["status"], "DELIVERED", "{log}");
    assert_eq!(log["attempts"], 2, "{log}");
}
on_both!(
    webhook_allow_list_decides_loopback,
    the_allow_list_decides_loopback
);

/// The flag itself, on the real binary: without `--webhook-allow-networks` the server refuses
/// a loopback endpoint and delivers nothing to one stored before; with
/// `OMS_WEBHOOK_ALLOW_NETWORKS` it delivers; a malformed network stops it at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allow_list_flag() {
    let t = TestApp::new(Backend::Sqlite).await.unwrap();
    let sink = HttpSink::start().await;
    let s = ShopBuilder::new().stock(50).build(&t).await;
    registered(&t, &s, &sink.url("/hook")).await;
    let client = crate::harness::http_client();
    let gql = |base: String, token: String, query: &'static str, variables: Value| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/graphql"))
                .bearer_auth(token)
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // A bank-transfer order: placing it announces it (a card order waits for its payment).
    let order = json!({"input": OrderBuilder::new(&s).bank_transfer().input()});
    let fast = ["--outbox-poll-ms", "20"];

    let (server, base) = crate::replicas::start_with(&t.url, &fast, &[]).await;
    let d = gql(
        base.clone(),
        s.seller.token.clone(),
        REGISTER,
        json!({"url": sink.url("/other")}),
    )
    .await;
    assert_eq!(
        d["data"]["registerWebhook"]["userErrors"][0]["message"], "address not allowed: loopback",
        "{d}"
    );
    let d = gql(base, s.customer().token.clone(), PLACE, order.clone()).await;
    assert_eq!(d["data"]["placeOrder"]["userErrors"], json!([]), "{d}");
    let error = webhook_error(&t, Duration::from_secs(30)).await;
    assert_eq!(error.as_deref(), Some("address not allowed: loopback"));
    assert!(sink.requests().is_empty(), "the loopback sink got nothing");
    drop(server);

    let (_server, base) = crate::replicas::start_with(
        &t.url,
        &fast,
        &[("OMS_WEBHOOK_ALLOW_NETWORKS", LOOPBACK_SINKS)],
    )
    .await;
    gql(base, s.customer().token.clone(), PLACE, order).await;
    let arrived = sink.wait_for(1, Duration::from_secs(30)).await;
    assert!(!arrived.is_empty(), "delivered with the allow-list");

    let out = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(["serve", "--webhook-allow-networks", "127.0.0.1/8"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("write 127.0.0.0/8"), "{stderr}");
}

/// The `lastError` of the first webhook delivery once it was attempted (waiting up to
/// `timeout`).
async fn webhook_error(t: &TestApp, timeout: Duration) -> Option<String> {
    let db = t.app.db.conn();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let row = db
            .query_one(Statement::from_string(
                db.get_database_backend(),
                "SELECT last_error FROM outbox_deliveries WHERE destination = 'WEBHOOK' AND attempts > 0 ORDER BY id LIMIT 1",
            ))
            .await
            .unwrap();
        if let Some(row) = row {
            return row.try_get::<Option<String>>("", "last_error").unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// `webhookDeliveries` of another seller's endpoint, or of one that does not exist, is an
/// empty list (not found, as a list) — never an error; staff read every log; a customer may
/// never (FORBIDDEN); a malformed id is bad input.
async fn foreign_delivery_logs(t: TestApp) {
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let hook = registered(&t, &s, "http://hooks.partner.example/a").await;
    OrderBuilder::new(&s).place(&t).await;
    drain(&t.app).await;
    let own = t.gql(&s.seller.token, LOG, json!({"id": hook})).await;
    assert_eq!(
        own["webhookDeliveries"][0]["lastError"], "could not resolve the host name",
        "{own}"
    );
    let other = t.token(Role::Seller, &t.seller("B", 0, 0, 0).await.to_string());
    let unknown = json!(gid("Webhook", 999_999));
    for (token, id) in [
        (&other, &hook),
        (&other, &unknown),
        (&s.seller.token, &unknown),
    ] {
        let (status, body) = t.post(Some(token), LOG, json!({"id": id})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"data": {"webhookDeliveries": []}}), "{id}");
    }
    for token in [t.operator(), t.token(Role::Analyst, "analyst")] {
        let d = t.gql(&token, LOG, json!({"id": hook})).await;
        assert_eq!(d, own, "staff read every log");
    }
    let customer = &s.customer().token;
    for (token, id, code) in [
        (customer, hook.clone(), "FORBIDDEN"),
        (&other, json!("webhook-1"), "BAD_USER_INPUT"),
        (&other, json!(gid("Order", 1)), "BAD_USER_INPUT"),
    ] {
        let (_, body) = t.post(Some(token), LOG, json!({"id": id})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{body}");
    }
}
on_both!(webhook_foreign_delivery_logs, foreign_delivery_logs);

/// A seller may register 20 endpoints; the 21st is refused (every event fans out to each), and
/// deleting one makes room again.
async fn endpoints_per_seller(t: TestApp) {
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(registered(&t, &s, &format!("http://127.0.0.1:9/hook{i}")).await);
    }
    let d = register(&t, &s, "http://127.0.0.1:9/one-too-many").await;
    assert_eq!(d["webhook"], Value::Null, "{d}");
    assert_eq!(d["userErrors"][0]["code"], "INVALID_WEBHOOK", "{d}");
    assert!(
        d["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 20 webhook endpoints"),
        "{d}"
    );
    let d = t
        .gql(
            &s.seller.token,
            "mutation($id: ID!) { deleteWebhook(input: {webhookId: $id}) { userErrors { code } } }",
            json!({"id": ids[0]}),
        )
        .await;
    assert_eq!(d["deleteWebhook"]["userErrors"], json!([]), "{d}");
    registered(&t, &s, "http://127.0.0.1:9/room-again").await;
}
on_both!(webhook_endpoints_per_seller, endpoints_per_seller);
