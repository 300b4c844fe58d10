//! Nothing goes unheard: the outbox written with each transition (and not when it rolls
//! back), notifications through real SMTP and HTTP servers on loopback, partner webhooks
//! signed the Standard Webhooks way and retried, a crash between delivering and recording,
//! two dispatchers on one PostgreSQL, the NATS stream, and the `claimEvents` subscription over
//! a real WebSocket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oms::app::App;
use oms::clock::Clock;
use oms::domain::actor::Role;
use oms::outbox::dispatch::{dispatch_once, Channels, Report};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::builders::{ClaimBuilder, OrderBuilder, PlacedOrder, ShopBuilder};
use crate::claims::{claim_call, deliver};
use crate::harness::{graphql_socket, webhook_client, Backend, TestApp, LOOPBACK_SINKS};
use crate::on_both;
use crate::orders::PLACE;
use crate::sinks::{HttpSink, SmtpSink};

async fn outbox_count(t: &TestApp) -> u64 {
    entity::outbox_message::Entity::find()
        .count(t.app.db.conn())
        .await
        .unwrap()
}

/// Dispatches until a round finds nothing to do.
pub(crate) async fn drain(app: &App) -> Report {
    let mut total = Report::default();
    for _ in 0..50 {
        let r = dispatch_once(app).await.unwrap();
        total.expanded += r.expanded;
        total.delivered += r.delivered;
        total.retried += r.retried;
        total.dead += r.dead;
        if !r.busy() {
            break;
        }
    }
    total
}

/// Every order step and claim transition writes exactly one message; a transition that fails
/// after writing its message (shipping over a cancel request, refused as a mixed shipment)
/// leaves none.
async fn written_with_the_transition(t: TestApp) {
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let before = outbox_count(&t).await;
    let order = OrderBuilder::new(&s).quantity(2).place(&t).await;
    assert_eq!(outbox_count(&t).await, before + 1, "order.placed");
    deliver(&t, &order.number, &order.lines).await;
    assert_eq!(
        outbox_count(&t).await,
        before + 4,
        "preparing, shipped, delivered"
    );
    let d = ClaimBuilder::return_of(&order.number, order.line())
        .request(&t, &s.customer().token)
        .await;
    assert_eq!(d["userErrors"], json!([]));
    assert_eq!(outbox_count(&t).await, before + 5);
    let last = entity::outbox_message::Entity::find()
        .all(t.app.db.conn())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.event_type, "claim.return_requested");
    assert_eq!(last.seller_id, Some(s.seller.id));
    assert_eq!(last.customer_id, s.customer().id);

    // Rollback: a cancel request on one seller's line, then shipping it together with another
    // seller's line. The cancel request is rejected (and its message written) before the
    // mixed shipment is refused — and all of it rolls back.
    let other_seller = t.seller("B", 3000, 50000, 3000).await;
    let other = t.option(other_seller, 5000, 10).await;
    let PlacedOrder { number, lines, .. } = OrderBuilder::new(&s).line(other, 1).place(&t).await;
    let ops = t.operator();
    for l in &lines {
        t.gql(&ops, "mutation($n: String!, $l: [ID!]) { confirmOrder(input: {orderNumber: $n, lineIds: $l}) { userErrors { code } } }", json!({"n": number, "l": [l]})).await;
    }
    let d = ClaimBuilder::cancel(&number, &lines[0])
        .reason("CHANGE_OF_MIND")
        .request(&t, &s.customer().token)
        .await;
    assert_eq!(d["claim"]["status"], "CANCEL_REQUESTED", "{d}");
    let count = outbox_count(&t).await;
    let d = t.gql(&ops, "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ\", trackingNumber: \"9\"}) { userErrors { code } } }", json!({"l": lines})).await;
    assert_eq!(
        d["shipLines"]["userErrors"][0]["code"], "MIXED_SHIPMENT",
        "{d}"
    );
    assert_eq!(
        outbox_count(&t).await,
        count,
        "nothing of the rolled-back transition"
    );
    let d = t
        .gql(
            &s.customer().token,
            "query($n: String!) { order(orderNumber: $n) { claims { status } } }",
            json!({"n": number}),
        )
        .await;
    assert_eq!(d["order"]["claims"][0]["status"], "CANCEL_REQUESTED");
}
on_both!(outbox_transactional, written_with_the_transition);

/// Notifications through a real SMTP server and a real HTTP 알림톡 gateway on loopback: the
/// customer (with a mobile number) gets 알림톡, the seller mail, in Korean.
async fn notifications(t: TestApp) {
    let smtp = SmtpSink::start().await;
    let gateway = HttpSink::start().await;
    let app = App {
        plugin_quota: Default::default(),
        outbox: Arc::new(Channels {
            mailer: oms::notify::channels::Mailer::from_url(
                Some(&format!("smtp://{}", smtp.addr())),
                "OMS <noreply@oms.local>",
                &Default::default(),
            )
            .unwrap(),
            messenger: oms::notify::channels::Messenger::Alimtalk(
                oms::notify::channels::Alimtalk::new(
                    &gateway.url("/alimtalk"),
                    "SENDER-KEY",
                    Duration::from_secs(5),
                    &Default::default(),
                )
                .unwrap(),
            ),
            webhooks: webhook_client(LOOPBACK_SINKS, t.dns.clone()),
            nats: None,
            lease: Duration::from_secs(30),
        }),
        ..t.app.clone()
    };
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let db = t.app.db.conn();
    db.execute_unprepared(&format!(
        "UPDATE customers SET phone = '010-1234-5678' WHERE id = {}",
        s.customer().id
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "UPDATE sellers SET email = 'seller@example.com' WHERE id = {}",
        s.seller.id
    ))
    .await
    .unwrap();
    let other = t.sibling_option(s.option, 10000, 5).await;
    let PlacedOrder { number, lines, .. } = OrderBuilder::new(&s).delivered(&t).await;
    let claim = ClaimBuilder::exchange(&number, &lines[0], other)
        .open(&t, &s.customer().token)
        .await;
    claim_call(
        &t,
        &s.seller.token,
        "approveClaim",
        json!({"claimNumber": claim}),
    )
    .await;
    let d = claim_call(
        &t,
        &s.seller.token,
        "markCollected",
        json!({"claimNumber": claim, "courier": "CJ대한통운", "trackingNumber": "R1"}),
    )
    .await;
    assert_eq!(d["claim"]["status"], "EXCHANGE_COLLECTED", "{d}");
    let report = drain(&app).await;
    assert!(report.delivered > 0 && report.retried == 0, "{report:?}");

    let subject = format!("[주문번호 {number}] 교환 상품이 수거 완료되었습니다");
    let requests = gateway.requests();
    let collected: Vec<Value> = requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|b| b["content"].as_str().unwrap_or_default().contains(&subject))
        .collect();
    assert_eq!(
        collected.len(),
        1,
        "one 알림톡 for the collection: {requests:?}"
    );
    assert_eq!(collected[0]["senderKey"], "SENDER-KEY");
    assert_eq!(collected[0]["recipientNo"], "01012345678", "digits only");
    let mails = smtp.mails();
    assert!(
        mails
            .iter()
            .any(|m| m.to.iter().any(|to| to.contains("seller@example.com"))
                && m.subject().contains(&number)),
        "the seller heard of the exchange request: {:?}",
        mails.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    // Delivered once: another round sends nothing.
    assert_eq!(drain(&app).await, Report::default());
}
on_both!(outbox_notifications, notifications);

const REGISTER: &str = "mutation($url: String!, $types: [String!]!) { registerWebhook(input: {url: $url, eventTypes: $types}) { webhook { id eventTypes } secret userErrors { code message } } }";

/// A partner's webhook: deliveries signed (a receiver verifies them with the secret), retried
/// with backoff and the same id when the endpoint fails, dead-lettered after the last attempt,
/// sent again by an operator; secret rotation signs with both secrets for a day; the seller
/// sees its delivery log.
async fn webhooks(t: TestApp) {
    let sink = HttpSink::start().await;
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let d = t
        .gql(
            &s.seller.token,
            REGISTER,
            json!({"url": sink.url("/hook"), "types": ["order.*"]}),
        )
        .await["registerWebhook"]
        .clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let secret = d["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let hook_id = d["webhook"]["id"].clone();
    let bad = t
        .gql(
            &s.seller.token,
            REGISTER,
            json!({"url": "ftp://x", "types": ["order.*"]}),
        )
        .await["registerWebhook"]
        .clone();
    assert_eq!(bad["userErrors"][0]["code"], "INVALID_WEBHOOK");
    let bad = t
        .gql(
            &s.seller.token,
            REGISTER,
            json!({"url": "http://x.example", "types": ["claim.nope"]}),
        )
        .await["registerWebhook"]
        .clone();
    assert_eq!(bad["userErrors"][0]["code"], "INVALID_WEBHOOK");

    // The endpoint fails twice, then answers.
    sink.fail_next(2);
    let number = OrderBuilder::new(&s).place(&t).await.number;
    let r = drain(&t.app).await;
    assert_eq!(
        (r.delivered, r.retried),
        (1, 1),
        "the customer's mail (log) and one failed webhook: {r:?}"
    );
    t.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(drain(&t.app).await.retried, 1);
    t.clock.advance(chrono::Duration::seconds(9));
    assert_eq!(
        drain(&t.app).await.delivered,
        0,
        "backoff: 10 s after the second failure"
    );
    t.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(drain(&t.app).await.delivered, 1);
    let requests = sink.requests();
    assert_eq!(requests.len(), 3);
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "the same id on every attempt: {ids:?}"
    );
    let body: Value = serde_json::from_slice(&requests[2].body).unwrap();
    // A card order is announced when its payment is confirmed.
    assert_eq!(body["type"], "order.paid");
    assert_eq!(body["data"]["orderNumber"], number);

    // The receiver's side: verify, and refuse tampering, old timestamps and replays.
    let now = t.clock.now();
    let mut verifier = oms::webhook::Verifier::new(Duration::from_secs(300), 1000);
    let last = &requests[2];
    let headers = |r: &crate::sinks::Recorded| {
        (
            r.header("webhook-id").unwrap().to_owned(),
            r.header("webhook-timestamp").unwrap().to_owned(),
            r.header("webhook-signature").unwrap().to_owned(),
        )
    };
    let (id, ts, sig) = headers(last);
    let mut changed = last.body.clone();
    changed[2] ^= 1;
    assert!(
        verifier
            .verify(&secret, (&id, &ts, &sig), &changed, now)
            .is_err(),
        "changed body"
    );
    assert!(
        verifier
            .verify(
                &secret,
                (&id, &ts, &sig),
                &last.body,
                now + chrono::Duration::minutes(10)
            )
            .is_err(),
        "old timestamp"
    );
    verifier
        .verify(&secret, (&id, &ts, &sig), &last.body, now)
        .unwrap();
    assert!(
        verifier
            .verify(&secret, (&id, &ts, &sig), &last.body, now)
            .is_err(),
        "replayed id"
    );

    // The seller's delivery log.
    let log = t.gql(&s.seller.token, "query($id: ID!) { webhookDeliveries(webhookId: $id) { webhookId status attempts responseStatus } }", json!({"id": hook_id})).await["webhookDeliveries"].clone();
    assert_eq!(log[0]["status"], "DELIVERED", "{log}");
    assert_eq!(log[0]["attempts"], 3);
    assert_eq!(log[0]["responseStatus"], 200);
    assert_eq!(log[0]["webhookId"], ids[0]);
    // Another seller sees neither the endpoint nor its log.
    let other = t.token(Role::Seller, &t.seller("B", 0, 0, 0).await.to_string());
    assert_eq!(
        t.gql(&other, "{ webhooks { id } }", json!({})).await["webhooks"],
        json!([])
    );
    let (_, body) = t
        .post(
            Some(&other),
            "query($id: ID!) { webhookDeliveries(webhookId: $id) { status } }",
            json!({"id": hook_id}),
        )
        .await;
    assert_eq!(
        body,
        json!({"data": {"webhookDeliveries": []}}),
        "not found, as a list"
    );

    // Dead after the last attempt; an operator sends it again.
    sink.fail_next(100);
    OrderBuilder::new(&s).place(&t).await;
    for _ in 0..oms::outbox::dispatch::MAX_ATTEMPTS {
        drain(&t.app).await;
        t.clock.advance(chrono::Duration::hours(2));
    }
    let ops = t.operator();
    let dead = t.gql(&ops, "{ outboxMessages(status: DEAD) { id eventType deliveries { destination status attempts lastError } } }", json!({})).await["outboxMessages"].clone();
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    let webhook = dead[0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "WEBHOOK")
        .unwrap()
        .clone();
    assert_eq!(webhook["status"], "DEAD");
    assert_eq!(webhook["attempts"], oms::outbox::dispatch::MAX_ATTEMPTS);
    assert!(
        webhook["lastError"].as_str().unwrap().contains("500"),
        "{webhook}"
    );
    sink.fail_next(0);
    let r = t.gql(&ops, "mutation($id: Int!) { retryOutboxMessage(input: {messageId: $id}) { retried userErrors { code } } }", json!({"id": dead[0]["id"]})).await;
    assert_eq!(r["retryOutboxMessage"]["retried"], 1, "{r}");
    assert_eq!(drain(&t.app).await.delivered, 1);
    let (_, body) = t
        .post(
            Some(&s.seller.token),
            "{ outboxMessages { id } }",
            json!({}),
        )
        .await;
    assert!(
        body["errors"].is_array(),
        "only operators see the outbox: {body}"
    );

    // Rotation: the new secret is shown once; for a day both secrets sign.
    let rotated = t.gql(&s.seller.token, "mutation($id: ID!) { rotateWebhookSecret(input: {webhookId: $id}) { secret webhook { previousSecretValidUntil } } }", json!({"id": hook_id})).await["rotateWebhookSecret"].clone();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    OrderBuilder::new(&s).place(&t).await;
    drain(&t.app).await;
    let last = sink.requests().pop().unwrap();
    let (id, ts, sig) = headers(&last);
    let now = t.clock.now();
    oms::webhook::Verifier::new(Duration::from_secs(300), 1000)
        .verify(&new_secret, (&id, &ts, &sig), &last.body, now)
        .unwrap();
    oms::webhook::Verifier::new(Duration::from_secs(300), 1000)
        .verify(&secret, (&id, &ts, &sig), &last.body, now)
        .unwrap();
    let d = t.gql(&s.seller.token, "mutation($id: ID!) { deleteWebhook(input: {webhookId: $id}) { deletedWebhookId userErrors { code } } }", json!({"id": hook_id})).await;
    assert_eq!(d["deleteWebhook"]["deletedWebhookId"], hook_id);
    assert_eq!(
        t.gql(&s.seller.token, "{ webhooks { id } }", json!({}))
            .await["webhooks"],
        json!([])
    );
}
on_both!(outbox_webhooks, webhooks);

/// Two dispatchers on one PostgreSQL database: every message delivered, none by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_share_the_work() {
    let Some(t) = TestApp::new(Backend::Postgres).await else {
        crate::harness::skip_postgres();
        return;
    };
    let sink = HttpSink::start().await;
    let s = ShopBuilder::new().stock(50).build(&t).await;
    t.gql(
        &s.seller.token,
        REGISTER,
        json!({"url": sink.url("/"), "types": ["*"]}),
    )
    .await;
    for _ in 0..30 {
        OrderBuilder::new(&s).place(&t).await;
    }
    let replica = t.replica();
    let (a, b) = tokio::join!(drain(&t.app), drain(&replica.app));
    // 30 webhooks + 30 (logged) customer mails.
    assert_eq!(a.delivered + b.delivered, 60, "{a:?} {b:?}");
    let mut ids: Vec<String> = sink
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 30);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "no message delivered twice");
}

/// The server is killed between delivering a webhook and recording it: after a restart the
/// same message is delivered again with the same id, and nothing is lost.
async fn crash(t: TestApp) {
    let sink = HttpSink::start().await;
    let s = ShopBuilder::new().stock(50).build(&t).await;
    // Only the webhook: no mail to the customer, none to the seller.
    t.app
        .db
        .conn()
        .execute_unprepared(&format!(
            "UPDATE customers SET email = '' WHERE id = {}",
            s.customer().id
        ))
        .await
        .unwrap();
    t.gql(
        &s.seller.token,
        REGISTER,
        json!({"url": sink.url("/"), "types": ["*"]}),
    )
    .await;
    let fast = [
        "--outbox-poll-ms",
        "20",
        "--outbox-lease-secs",
        "1",
        "--webhook-allow-networks",
        LOOPBACK_SINKS,
    ];
    let (mut server, base) =
        crate::replicas::start_with(&t.url, &fast, &[("OMS_FAULT_ABORT_AFTER_DELIVERY", "1")])
            .await;
    let client = crate::harness::http_client();
    // A bank-transfer order: placing it announces it (a card order waits for its payment).
    let body = json!({"query": PLACE, "variables": {"input": OrderBuilder::new(&s).bank_transfer().input()}});
    // The order commits; the dispatcher may deliver its event and abort the process before
    // the response is written, so the response itself is not awaited for success.
    let _ = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&s.customer().token)
        .json(&body)
        .send()
        .await;
    // The dispatcher delivers, then the process dies before recording it.
    for _ in 0..100 {
        if server.0.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.0.try_wait().unwrap().is_some(),
        "the server aborted after delivering"
    );
    let first = sink.requests();
    assert_eq!(first.len(), 1);
    let id = first[0].header("webhook-id").unwrap().to_owned();

    // Restart: the lease runs out and the message goes again, with the same id.
    let (_server, base) = crate::replicas::start_with(&t.url, &fast, &[]).await;
    for _ in 0..3 {
        client
            .post(format!("{base}/graphql"))
            .bearer_auth(&s.customer().token)
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    // The sink sees a request before the dispatcher records its answer, so wait for both.
    let undelivered = || async {
        t.app
            .db
            .conn()
            .query_one(sea_orm::Statement::from_string(
                t.app.db.conn().get_database_backend(),
                "SELECT COUNT(*) AS n FROM outbox_deliveries WHERE status <> 'DELIVERED'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
    };
    let mut delivered: HashMap<String, usize> = HashMap::new();
    let mut pending = -1;
    for _ in 0..100 {
        delivered = HashMap::new();
        for r in sink.requests() {
            *delivered
                .entry(r.header("webhook-id").unwrap().to_owned())
                .or_default() += 1;
        }
        if delivered.len() == 4 && delivered[&id] == 2 {
            pending = undelivered().await;
            if pending == 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered.get(&id),
        Some(&2),
        "redelivered once, same id: {delivered:?}"
    );
    assert_eq!(
        delivered.len(),
        4,
        "all four orders reached the partner: {delivered:?}"
    );
    assert_eq!(pending, 0, "every delivery recorded as delivered");
}
on_both!(outbox_crash, crash);

/// The event stream: with NATS configured every event is published to JetStream on a subject
/// per seller and type, with the event id as `Nats-Msg-Id` (a duplicate is recognised).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_nats() {
    let Ok(url) = std::env::var("OMS_TEST_NATS_URL") else {
        eprintln!("OMS_TEST_NATS_URL not set: NATS test skipped");
        return;
    };
    let t = TestApp::new(Backend::Sqlite).await.unwrap();
    let nats = oms::outbox::stream::NatsStream::connect(&url, &Default::default(), None)
        .await
        .unwrap();
    let app = App {
        plugin_quota: Default::default(),
        outbox: Arc::new(Channels {
            nats: Some(nats.clone()),
            ..Channels::log_only(webhook_client(LOOPBACK_SINKS, t.dns.clone()))
        }),
        ..t.app.clone()
    };
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let client = async_nats::connect(&url).await.unwrap();
    let mut sub = client
        .subscribe(format!("oms.seller.{}.>", s.seller.id))
        .await
        .unwrap();
    let number = OrderBuilder::new(&s).place(&t).await.number;
    drain(&app).await;
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        msg.subject.as_str(),
        format!("oms.seller.{}.order.paid", s.seller.id)
    );
    let id = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .unwrap()
        .to_string();
    assert!(id.starts_with("evt_"));
    let body: Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(body["orderNumber"], number);
    // Publishing the same event again is a duplicate for JetStream.
    let message = entity::outbox_message::Entity::find()
        .all(t.app.db.conn())
        .await
        .unwrap();
    let event = oms::outbox::events(t.app.db.conn(), &message[..1])
        .await
        .unwrap()
        .remove(0);
    let again = nats
        .publish(&oms::outbox::stream::NatsStream::subject(&event), &event)
        .await
        .unwrap();
    assert!(again.starts_with("duplicate"), "{again}");
}

/// `claimEvents` over a real WebSocket (graphql-transport-ws): the events of a claim flow
/// arrive in order, and only the caller's.
async fn subscription(t: TestApp) {
    let s = ShopBuilder::new().stock(50).build(&t).await;
    let PlacedOrder { number, lines, .. } = OrderBuilder::new(&s).delivered(&t).await;
    let addr = t.serve_on_loopback().await;
    let mut ws = graphql_socket(addr).await;
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", s.customer().token)}})))
        .await
        .unwrap();
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws.send(send(json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription($n: String!) { claimEvents(orderNumber: $n) { eventId claimNumber status action version } }",
        "variables": {"n": number}}})))
        .await
        .unwrap();
    // Events committed before the server opened the feed are history: act once it is open.
    for _ in 0..200 {
        if t.app.metrics.live_subscriptions() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.app.metrics.live_subscriptions(), 1, "the feed opened");

    let claim = ClaimBuilder::return_of(&number, &lines[0])
        .open(&t, &s.customer().token)
        .await;
    claim_call(
        &t,
        &s.seller.token,
        "approveClaim",
        json!({"claimNumber": claim}),
    )
    .await;
    claim_call(
        &t,
        &s.seller.token,
        "markCollected",
        json!({"claimNumber": claim, "courier": "CJ대한통운", "trackingNumber": "R1"}),
    )
    .await;
    let d = claim_call(
        &t,
        &s.seller.token,
        "completeReturn",
        json!({"claimNumber": claim}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let timeline = t
        .gql(
            &s.customer().token,
            "query($n: String!) { claim(claimNumber: $n) { timeline { toStatus } } }",
            json!({"n": claim}),
        )
        .await["claim"]["timeline"]
        .clone();
    let expected: Vec<Value> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["toStatus"].clone())
        .collect();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let m = next_json(&mut ws).await;
        assert_eq!(m["type"], "next", "{m}");
        let e = &m["payload"]["data"]["claimEvents"];
        assert_eq!(e["claimNumber"], claim.as_str());
        assert_eq!(e["version"], got.len() as i64 + 1, "in order: {e}");
        got.push(e["status"].clone());
    }
    assert_eq!(got, expected);

    // Another customer may not follow this order.
    let stranger = t.token(Role::Customer, &t.customer(0).await.to_string());
    let mut ws2 = graphql_socket(addr).await;
    ws2.send(send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {stranger}")}})))
        .await
        .unwrap();
    next_json(&mut ws2).await;
    ws2.send(send(json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription($n: String!) { claimEvents(orderNumber: $n) { eventId } }",
        "variables": {"n": number}}})))
        .await
        .unwrap();
    let refused = next_json(&mut ws2).await;
    assert_eq!(refused["payload"]["data"], Value::Null, "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["message"], "order not found",
        "{refused}"
    );
    assert_eq!(next_json(&mut ws2).await["type"], "complete");
    // Alias floods are refused over the socket as over HTTP; the limit itself is fine.
    let flood = |n: usize| -> String {
        let fields: String = (0..n)
            .map(|i| format!("a{i}: viewer {{ role }} "))
            .collect();
        format!("{{ {fields} }}")
    };
    for (id, n, code) in [
        ("2", 101, json!("TOO_MANY_ALIASES")),
        ("3", 100, Value::Null),
    ] {
        ws2.send(send(
            json!({"id": id, "type": "subscribe", "payload": {"query": flood(n)}}),
        ))
        .await
        .unwrap();
        let m = next_json(&mut ws2).await;
        assert_eq!(m["id"], id, "{m}");
        assert_eq!(m["payload"]["errors"][0]["extensions"]["code"], code, "{m}");
        if code.is_null() {
            assert_eq!(m["payload"]["data"]["a99"]["role"], "CUSTOMER", "{m}");
        }
        assert_eq!(next_json(&mut ws2).await["type"], "complete");
    }
    // The refused one never opened a feed; the first closes when its client goes.
    assert_eq!(t.app.metrics.live_subscriptions(), 1);
    ws.close(None).await.unwrap();
    for _ in 0..200 {
        if t.app.metrics.live_subscriptions() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.app.metrics.live_subscriptions(), 0, "the feed closed");
}
on_both!(claim_events_subscription, subscription);

/// The next text message of a WebSocket as JSON (at most 10 s away).
pub(crate) async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = m {
            return serde_json::from_str(&text).unwrap();
        }
    }
}
