//! Orders and claim fees paid, and refunded, through the Toss Payments protocol (issue 19),
//! through the real API on both databases against the loopback Toss server of `toss.rs`:
//! checkout in two steps (the widget's authorization, then `confirmPayment` with the amount
//! checked first), abandoned checkouts, virtual accounts and their deposit callbacks (forged,
//! replayed, unknown), operators' short deposits, partial cancels of the right payment with the
//! refund account for a virtual account, card fee payments, and a crash between the gateway's
//! answer and the commit on confirm and on cancel: never charged or refunded twice.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use oms::domain::actor::Role;
use oms::domain::money::Won;
use oms::gateway::PaymentKind;
use serde_json::{json, Value};

use crate::builders::first_code as code;
use crate::builders::{confirm_payment_with, ClaimBuilder, OrderBuilder, ShopBuilder, DEPOSIT};
use crate::claims::{claim_call, run_refund_job};
use crate::harness::{Backend, TestApp};
use crate::toss::{Endpoint, TossServer};

/// An app whose gateway is the Toss adapter pointed at a fresh loopback Toss server that
/// keeps the app's time.
async fn with_toss(backend: Backend) -> Option<(TestApp, TossServer)> {
    let toss = TossServer::start().await;
    let t = TestApp::with_gateway(backend, Arc::new(toss.gateway())).await?;
    toss.use_clock(Arc::new(t.clock.clone()));
    Some((t, toss))
}

/// A test on SQLite and PostgreSQL against its own loopback Toss server.
macro_rules! with_toss_on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (t, toss) = with_toss(Backend::Sqlite).await.expect("sqlite");
                ($body)(t, toss).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((t, toss)) = with_toss(Backend::Postgres).await else {
                    crate::harness::skip_postgres();
                    return;
                };
                ($body)(t, toss).await;
            }
        }
    };
}

const ORDER: &str = "query($n: String!) { order(orderNumber: $n) { status version paymentMethod amountDue depositDeadline depositedAt placedAt lines { status } tenders { method status amount depositedAmount refundedAmount gatewayReference virtualAccount { bankCode accountNumber customerName dueDate } } } }";

async fn order(t: &TestApp, number: &str) -> Value {
    t.gql(&t.operator(), ORDER, json!({"n": number})).await["order"].clone()
}

async fn run_job(t: &TestApp, job: &str) -> Value {
    let doc = format!(
        "mutation {{ runSystemJobs(input: {{jobs: [{job}]}}) {{ runs {{ job ran processed }} }} }}"
    );
    t.gql(&t.operator(), &doc, json!({})).await["runSystemJobs"]["runs"][0].clone()
}

/// `confirmPayment`; the payload.
async fn confirm(t: &TestApp, token: &str, number: &str, key: &str, amount: i64) -> Value {
    confirm_payment_with(t, token, number, key, &json!(amount)).await["confirmPayment"].clone()
}

/// The gateway's deposit callback, posted as Toss posts it.
async fn callback(t: &TestApp, body: &Value) -> (StatusCode, Value) {
    let req = Request::post("/webhooks/payments")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    t.send(req).await
}

/// Card checkout: the widget authorizes, `confirmPayment` confirms with the gateway and the
/// order is paid, with the payment key on its tender. A repeat is answered without a second
/// call; another amount, another customer, a declined card and a gateway that fails for the
/// moment change nothing and are told apart.
async fn card_checkout(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new().customers(2).build(&t).await;
    let customer = shop.customer().token.clone();
    let placed = OrderBuilder::new(&shop).place_unpaid(&t).await;
    let number = placed.number.clone();
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "AWAITING_PAYMENT", "{o}");
    assert_eq!(o["amountDue"], 13000);
    assert_eq!(o["tenders"][0]["status"], "AWAITING_PAYMENT");
    assert_eq!(
        o["depositDeadline"], "2026-11-24T09:30:00+00:00",
        "30 minutes to pay"
    );
    assert_eq!(
        t.stock(shop.option).await,
        9,
        "the stock is taken at placing"
    );
    let key = toss.authorize(&number, 13000, PaymentKind::Card);

    // The amount tampered with in the browser: refused before the gateway is called.
    let d = confirm(&t, &customer, &number, &key, 1000).await;
    assert_eq!(code(&d), "PAYMENT_AMOUNT_MISMATCH", "{d}");
    assert_eq!(d["userErrors"][0]["field"], json!(["input", "amount"]));
    assert!(
        d["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("13000원"),
        "{d}"
    );
    assert_eq!(
        toss.calls(Endpoint::Confirm),
        0,
        "nothing reached the gateway"
    );
    // Someone else's order is not found.
    let d = confirm(&t, &shop.customers[1].token, &number, &key, 13000).await;
    assert_eq!(code(&d), "NOT_FOUND", "{d}");
    // The gateway fails for the moment: nothing recorded, and the same key passes later.
    toss.fail_next(1);
    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(code(&d), "PAYMENT_GATEWAY_UNAVAILABLE", "{d}");
    assert_eq!(order(&t, &number).await["status"], "AWAITING_PAYMENT");

    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "PAID", "{o}");
    assert_eq!(o["amountDue"], 0);
    assert_eq!(o["depositedAt"], "2026-11-24T09:00:00+00:00");
    assert_eq!(
        o["tenders"][0],
        json!({"method": "CARD", "status": "PAID", "amount": 13000, "depositedAmount": 0,
               "refundedAmount": 0, "gatewayReference": key, "virtualAccount": null})
    );
    assert_eq!(toss.charges(&key), vec![Won::new(13000)]);
    let confirms = toss.calls(Endpoint::Confirm);
    // The browser's redirect reloaded: the same answer, no second call.
    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(toss.calls(Endpoint::Confirm), confirms);
    // The same key with another amount is checked like any confirmation.
    let d = confirm(&t, &customer, &number, &key, 1).await;
    assert_eq!(code(&d), "PAYMENT_AMOUNT_MISMATCH", "{d}");
    // A key that paid this order cannot pay another, whoever asks: refused before the gateway.
    let second = OrderBuilder::new(&shop).place_unpaid(&t).await.number;
    let d = confirm(&t, &customer, &second, &key, 13000).await;
    assert_eq!(code(&d), "PAYMENT_DECLINED", "{d}");
    assert_eq!(toss.calls(Endpoint::Confirm), confirms);
    let d = confirm(&t, &customer, &second, "   ", 13000).await;
    assert_eq!(code(&d), "INVALID_INPUT", "{d}");
    assert_eq!(d["userErrors"][0]["field"], json!(["input", "paymentKey"]));
    // Another authorization for a paid order: refused, not charged.
    let other = toss.authorize(&number, 13000, PaymentKind::Card);
    let d = confirm(&t, &customer, &number, &other, 13000).await;
    assert_eq!(code(&d), "NOT_AWAITING_PAYMENT", "{d}");
    assert!(toss.charges(&other).is_empty());

    // A declined card: refused with the gateway's code, and a new authorization pays.
    let number = OrderBuilder::new(&shop).place_unpaid(&t).await.number;
    let key = toss.authorize(&number, 13000, PaymentKind::Card);
    toss.decline_next_confirm("REJECT_CARD_COMPANY");
    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(code(&d), "PAYMENT_DECLINED", "{d}");
    assert!(
        d["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("REJECT_CARD_COMPANY"),
        "{d}"
    );
    assert!(toss.charges(&key).is_empty());
    let again = toss.authorize(&number, 13000, PaymentKind::Card);
    let d = confirm(&t, &customer, &number, &again, 13000).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(order(&t, &number).await["status"], "PAID");
}
with_toss_on_both!(card_checkout_confirmed, card_checkout);

/// A card checkout nobody confirms is cancelled by the SYSTEM after its 30 minutes (after the
/// gateway is asked whether it was paid after all), and its stock comes back; a confirmation
/// after that is refused and never reaches the gateway.
async fn abandoned_checkout(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let number = OrderBuilder::new(&shop)
        .quantity(3)
        .place_unpaid(&t)
        .await
        .number;
    assert_eq!(t.stock(shop.option).await, 7);
    t.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(run_job(&t, "CANCEL_UNPAID_ORDERS").await["processed"], 0);
    t.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(run_job(&t, "CANCEL_UNPAID_ORDERS").await["processed"], 1);
    assert_eq!(
        toss.calls(Endpoint::PaymentForOrder),
        1,
        "the gateway was asked first"
    );
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "CANCELLED", "{o}");
    assert_eq!(o["amountDue"], 0);
    assert_eq!(t.stock(shop.option).await, 10, "the stock came back");
    let key = toss.authorize(&number, 33000, PaymentKind::Card);
    let d = confirm(&t, &customer, &number, &key, 33000).await;
    assert_eq!(code(&d), "NOT_AWAITING_PAYMENT", "{d}");
    assert_eq!(toss.calls(Endpoint::Confirm), 0);
    assert!(toss.all_charges().is_empty());
}
with_toss_on_both!(abandoned_card_checkout_cancelled, abandoned_checkout);

/// A crash between the gateway's confirmation and the commit: the gateway charged, the OMS
/// recorded nothing. The customer's retry (ALREADY_PROCESSED, then a look-up) records it; a
/// customer who never comes back has it recorded by the SYSTEM's look-up at the deadline
/// instead of a cancellation. Charged once either way.
async fn crash_on_confirm(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();

    let number = OrderBuilder::new(&shop).place_unpaid(&t).await.number;
    let key = toss.authorize(&number, 13000, PaymentKind::Card);
    toss.lose_next();
    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(code(&d), "PAYMENT_GATEWAY_UNAVAILABLE", "{d}");
    assert_eq!(order(&t, &number).await["status"], "AWAITING_PAYMENT");
    assert_eq!(
        toss.charges(&key),
        vec![Won::new(13000)],
        "charged at the gateway"
    );
    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "PAID", "{o}");
    assert_eq!(o["tenders"][0]["gatewayReference"], json!(key));
    assert_eq!(toss.charges(&key), vec![Won::new(13000)], "charged once");

    let number = OrderBuilder::new(&shop).place_unpaid(&t).await.number;
    let key = toss.authorize(&number, 13000, PaymentKind::Card);
    toss.lose_next();
    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(code(&d), "PAYMENT_GATEWAY_UNAVAILABLE", "{d}");
    t.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(run_job(&t, "CANCEL_UNPAID_ORDERS").await["processed"], 0);
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "PAID", "paid, not cancelled: {o}");
    assert_eq!(o["tenders"][0]["gatewayReference"], json!(key));
    assert_eq!(toss.charges(&key), vec![Won::new(13000)], "charged once");
}
with_toss_on_both!(crash_between_confirmation_and_commit, crash_on_confirm);

/// A virtual account: issued at `confirmPayment` (the order waits, showing where to deposit
/// and until when), paid by the gateway's deposit callback. A replay changes nothing; a forged
/// secret, an unknown order, a callback the gateway does not confirm and a body of another
/// shape are refused, logged, and change nothing.
async fn virtual_account(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let number = OrderBuilder::new(&shop).place_unpaid(&t).await.number;
    let key = toss.authorize(&number, 13000, PaymentKind::VirtualAccount);
    let d = confirm(&t, &customer, &number, &key, 13000).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "AWAITING_PAYMENT", "{o}");
    assert_eq!(
        o["paymentMethod"], "BANK_TRANSFER",
        "the customer chose a virtual account"
    );
    let tender = &o["tenders"][0];
    assert_eq!(tender["status"], "AWAITING_DEPOSIT");
    assert_eq!(tender["gatewayReference"], json!(key));
    let account = &tender["virtualAccount"];
    assert!(
        account["accountNumber"]
            .as_str()
            .is_some_and(|a| !a.is_empty()),
        "{o}"
    );
    assert!(
        account["bankCode"].as_str().is_some_and(|a| !a.is_empty()),
        "{o}"
    );
    assert_eq!(
        o["depositDeadline"], account["dueDate"],
        "the account's due date rules"
    );
    assert!(
        toss.charges(&key).is_empty(),
        "nothing is paid before the deposit"
    );
    let version = o["version"].clone();

    // A genuine secret before any deposit: the gateway does not confirm it.
    let secret = toss.payment(&key).unwrap()["secret"].clone();
    let early = json!({"createdAt": "2026-11-24T18:00:00.000000", "secret": secret, "status": "DONE",
                       "transactionKey": "early", "orderId": number});
    let (status, body) = callback(&t, &early).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "DEPOSIT_NOT_CONFIRMED");

    let paid = toss.deposit(&number).expect("a virtual account waits");
    let mut forged = paid.clone();
    forged["secret"] = json!("guessed-secret");
    let (status, body) = callback(&t, &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let mut unknown = paid.clone();
    unknown["orderId"] = json!("20991231-999999");
    let (status, body) = callback(&t, &unknown).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the same answer as a wrong secret: {body}"
    );
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let (status, body) = callback(&t, &json!({"orderId": number})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let huge = json!({"orderId": number, "secret": "x".repeat(20_000), "status": "DONE"});
    let (status, body) = callback(&t, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE", "{body}");
    // An operator cannot record a deposit into a virtual account by hand.
    let d = t
        .gql(&t.operator(), DEPOSIT, json!({"n": number, "a": 1000}))
        .await["confirmDeposit"]
        .clone();
    assert_eq!(code(&d), "NOT_AWAITING_DEPOSIT", "{d}");
    let o = order(&t, &number).await;
    assert_eq!(
        o["status"], "AWAITING_PAYMENT",
        "refusals change nothing: {o}"
    );
    assert_eq!(o["version"], version);

    let (status, body) = callback(&t, &paid).await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!("RECORDED"))
    );
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "PAID", "{o}");
    assert_eq!(o["tenders"][0]["status"], "PAID");
    assert_eq!(o["tenders"][0]["depositedAmount"], 13000);
    let version = o["version"].clone();
    let (status, body) = callback(&t, &paid).await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!("ALREADY_RECORDED"))
    );
    assert_eq!(
        order(&t, &number).await["version"],
        version,
        "a replay changes nothing"
    );
    assert_eq!(toss.charges(&key), vec![Won::new(13000)]);
}
with_toss_on_both!(virtual_account_paid_by_callback, virtual_account);

/// Deposits that do not match the order any more: the original amount after part of the order
/// was cancelled pays the order and gives the difference back; a deposit after the whole order
/// was cancelled is recorded and given back in full. Both through a cancel of the virtual
/// account's payment into the customer's refund account.
async fn changed_deposits(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new().refund_account().build(&t).await;
    let customer = shop.customer().token.clone();
    // Two units, 23,000 with shipping; one cancelled before the deposit.
    let placed = OrderBuilder::new(&shop).quantity(2).place_unpaid(&t).await;
    let number = placed.number.clone();
    let key = toss.authorize(&number, 23000, PaymentKind::VirtualAccount);
    confirm(&t, &customer, &number, &key, 23000).await;
    let d = ClaimBuilder::cancel(&number, placed.line())
        .request(&t, &customer)
        .await;
    assert_eq!(d["claim"]["refund"]["dueReduced"], 10000, "{d}");
    let claim = d["claim"]["claimNumber"].clone();
    assert_eq!(order(&t, &number).await["amountDue"], 13000);
    let (status, body) = callback(&t, &toss.deposit(&number).unwrap()).await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!("RECORDED"))
    );
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "PAID", "{o}");
    assert_eq!(o["tenders"][0]["depositedAmount"], 23000);
    assert_eq!(
        o["tenders"][0]["refundedAmount"], 10000,
        "the cancelled unit's money"
    );
    let q = "query($n: String!) { claim(claimNumber: $n) { refund { cash dueReduced parts { status amount } } } }";
    let c = t.gql(&customer, q, json!({"n": claim})).await["claim"].clone();
    assert_eq!(c["refund"]["cash"], 10000, "{c}");
    assert_eq!(c["refund"]["dueReduced"], 0, "{c}");
    run_refund_job(&t).await;
    assert_eq!(toss.refunds(&key), vec![Won::new(10000)]);

    // The whole order cancelled; the customer deposits anyway.
    let placed = OrderBuilder::new(&shop).place_unpaid(&t).await;
    let number = placed.number.clone();
    let key = toss.authorize(&number, 13000, PaymentKind::VirtualAccount);
    confirm(&t, &customer, &number, &key, 13000).await;
    ClaimBuilder::cancel(&number, placed.line())
        .open(&t, &customer)
        .await;
    assert_eq!(order(&t, &number).await["status"], "CANCELLED");
    let paid = toss.deposit(&number).unwrap();
    let (status, body) = callback(&t, &paid).await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!("RECORDED")),
        "{body}"
    );
    let (status, body) = callback(&t, &paid).await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!("ALREADY_RECORDED"))
    );
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "CANCELLED", "{o}");
    assert_eq!(o["tenders"][0]["refundedAmount"], 13000, "{o}");
    run_refund_job(&t).await;
    assert_eq!(toss.refunds(&key), vec![Won::new(13000)], "given back once");
}
with_toss_on_both!(deposits_that_no_longer_match_the_order, changed_deposits);

/// A virtual account's refund is a cancel with the customer's refund account: without one the
/// part waits (ACCOUNT_REQUIRED) and nothing reaches the gateway; `setRefundAccount` lets it
/// go, and the account travels with the cancel. With an account on file it goes at once.
async fn virtual_account_refunds(t: TestApp, toss: TossServer) {
    for with_account in [false, true] {
        let mut builder = ShopBuilder::new();
        if with_account {
            builder = builder.refund_account();
        }
        let shop = builder.build(&t).await;
        let customer = shop.customer().token.clone();
        let placed = OrderBuilder::new(&shop).place_unpaid(&t).await;
        let number = placed.number.clone();
        let key = toss.authorize(&number, 13000, PaymentKind::VirtualAccount);
        confirm(&t, &customer, &number, &key, 13000).await;
        let (status, _) = callback(&t, &toss.deposit(&number).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let d = ClaimBuilder::cancel(&number, placed.line())
            .request(&t, &customer)
            .await;
        assert_eq!(d["userErrors"], json!([]), "{d}");
        let claim = d["claim"]["claimNumber"].clone();
        let want = if with_account {
            "PENDING"
        } else {
            "ACCOUNT_REQUIRED"
        };
        assert_eq!(d["claim"]["refund"]["parts"][0]["status"], want, "{d}");
        run_refund_job(&t).await;
        if !with_account {
            assert!(
                toss.refunds(&key).is_empty(),
                "nothing sent without an account"
            );
            let account = json!({"claimNumber": claim, "bank": "20", "accountNumber": "1002-333-444555", "holder": "홍길동"});
            let d = claim_call(&t, &customer, "setRefundAccount", account).await;
            assert_eq!(d["userErrors"], json!([]), "{d}");
            run_refund_job(&t).await;
        }
        assert_eq!(
            toss.refunds(&key),
            vec![Won::new(13000)],
            "with_account {with_account}"
        );
        let cancel = toss
            .requests()
            .into_iter()
            .rfind(|r| r.endpoint == Endpoint::Cancel && r.path.contains(&key))
            .unwrap();
        assert!(
            cancel.body["refundReceiveAccount"]["accountNumber"].is_string(),
            "{:?}",
            cancel.body
        );
        let q = "query($n: String!) { claim(claimNumber: $n) { status refund { parts { status gatewayReference } } } }";
        let c = t.gql(&customer, q, json!({"n": claim})).await;
        assert_eq!(c["claim"]["status"], "CANCEL_COMPLETED", "{c}");
        assert!(
            c["claim"]["refund"]["parts"][0]["gatewayReference"].is_string(),
            "the cancel's transactionKey: {c}"
        );
    }
}
with_toss_on_both!(
    virtual_account_refund_with_and_without_account,
    virtual_account_refunds
);

/// 무통장입금 recorded by an operator: a short deposit is partial, not paid; more than is left
/// is refused; a cancel of part of the order that the deposit then covers pays the order and
/// gives the excess back; a cancel of the rest of a partly deposited order gives the deposit
/// back. That money never went through the gateway: its refund parts are left FAILED for an
/// operator to pay back by hand, saying so.
async fn short_deposit(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new()
        .price(20_000)
        .refund_account()
        .build(&t)
        .await;
    let (customer, ops) = (shop.customer().token.clone(), shop.operator.clone());
    // Two units: 40,000 and 3,000 shipping.
    let placed = OrderBuilder::new(&shop)
        .quantity(2)
        .bank_transfer()
        .place(&t)
        .await;
    let number = placed.number.clone();
    assert_eq!(order(&t, &number).await["amountDue"], 43000);
    let d = t.gql(&ops, DEPOSIT, json!({"n": number, "a": 30000})).await["confirmDeposit"].clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(
        d["order"]["status"], "AWAITING_PAYMENT",
        "a short deposit: {d}"
    );
    assert_eq!(d["order"]["tenders"][0]["depositedAmount"], 30000);
    assert_eq!(d["order"]["tenders"][0]["status"], "AWAITING_DEPOSIT");
    for too_much in [13001, 0, -5] {
        let d = t
            .gql(&ops, DEPOSIT, json!({"n": number, "a": too_much}))
            .await["confirmDeposit"]
            .clone();
        assert_eq!(code(&d), "DEPOSIT_EXCEEDS_DUE", "{too_much}: {d}");
    }
    let d = ClaimBuilder::cancel(&number, placed.line())
        .quantity(1)
        .request(&t, &customer)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let o = order(&t, &number).await;
    assert_eq!(
        o["status"], "PAID",
        "30,000 deposited covers the 23,000 left: {o}"
    );
    assert_eq!(o["amountDue"], 0);
    assert_eq!(o["tenders"][0]["status"], "PAID");
    assert_eq!(
        o["tenders"][0]["refundedAmount"], 7000,
        "the excess goes back"
    );
    let claim = d["claim"]["claimNumber"].clone();
    assert_eq!(d["claim"]["refund"]["cash"], 7000, "{d}");

    run_refund_job(&t).await;
    let q =
        "query($n: String!) { claim(claimNumber: $n) { refund { parts { status lastError } } } }";
    let c = t.gql(&ops, q, json!({"n": claim})).await;
    let part = &c["claim"]["refund"]["parts"][0];
    assert_eq!(part["status"], "FAILED", "no gateway can pay it back: {c}");
    assert!(
        part["lastError"]
            .as_str()
            .unwrap()
            .contains("resolveRefundManually"),
        "{c}"
    );
    let d = claim_call(
        &t,
        &ops,
        "resolveRefundManually",
        json!({"claimNumber": claim, "reference": "이체 2026-11-24", "memo": "환불 계좌로 이체"}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert!(toss.all_refunds().is_empty(), "nothing went to the gateway");

    // The whole order cancelled after a short deposit: the deposit goes back.
    let placed = OrderBuilder::new(&shop).bank_transfer().place(&t).await;
    let number = placed.number.clone();
    t.gql(&ops, DEPOSIT, json!({"n": number, "a": 10000})).await;
    let d = ClaimBuilder::cancel(&number, placed.line())
        .request(&t, &customer)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["claim"]["refund"]["cash"], 10000, "{d}");
    let o = order(&t, &number).await;
    assert_eq!(o["status"], "CANCELLED", "{o}");
    assert_eq!(o["tenders"][0]["refundedAmount"], 10000);
}
with_toss_on_both!(short_deposit_then_cancellation_refunds_it, short_deposit);

/// Every public refund vector through the Toss protocol: each refund is a partial cancel of the
/// order's payment (or of a fee payment), and what the gateway gave back is to the won what
/// `refcalc.py` computed, payment by payment never more than it took.
async fn vectors_through_toss(t: TestApp, toss: TossServer) {
    crate::claims::refund_vectors_on(&t).await;
    let cases: Vec<Value> = serde_json::from_str(include_str!("../vectors/refunds.json")).unwrap();
    let expected: i64 = cases
        .iter()
        .flat_map(|c| c["expected"]["refunds"].as_array().unwrap().iter())
        .map(|r| r["cash"].as_i64().unwrap())
        .sum();
    let refunded: i64 = toss.all_refunds().iter().map(|(_, w)| w.amount()).sum();
    assert_eq!(
        refunded, expected,
        "refunded at the gateway against refcalc.py"
    );
    for (key, _) in toss.all_refunds() {
        let taken: i64 = toss.charges(&key).iter().map(|w| w.amount()).sum();
        let given: i64 = toss.refunds(&key).iter().map(|w| w.amount()).sum();
        assert!(given <= taken, "{key}: {given} refunded of {taken}");
    }
}
with_toss_on_both!(refund_vectors_as_partial_cancels, vectors_through_toss);

/// A card fee: the widget opened with the claim's `feePaymentOrderId` and the fee, confirmed by
/// `payClaimFee` with the amount checked; a declined card says so (not a fee mismatch). The
/// fee comes back by a cancel of that payment when the exchange is withdrawn.
async fn card_fee(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new().with_sibling().build(&t).await;
    let customer = shop.customer().token.clone();
    let q = "query($n: String!) { claim(claimNumber: $n) { exchangeFee feePaid feePaymentOrderId status } }";
    let exchange = || async {
        let placed = OrderBuilder::new(&shop).delivered(&t).await;
        let d = ClaimBuilder::exchange(&placed.number, placed.line(), shop.sibling())
            .reason("SIZE_OR_OPTION_CHANGE")
            .request(&t, &customer)
            .await;
        assert_eq!(d["userErrors"], json!([]), "{d}");
        d["claim"]["claimNumber"].as_str().unwrap().to_owned()
    };

    // A transfer announced for the fee: a card payment now would pay it twice.
    let claim = exchange().await;
    let c = t.gql(&customer, q, json!({"n": claim})).await["claim"].clone();
    let fee = c["exchangeFee"].as_i64().unwrap();
    assert!(fee > 0, "{c}");
    let transfer = json!({"claimNumber": claim, "amount": fee, "method": "BANK_TRANSFER"});
    let d = claim_call(&t, &customer, "payClaimFee", transfer).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let key = toss.authorize(&format!("{claim}-FEE"), fee, PaymentKind::Card);
    let card = json!({"claimNumber": claim, "amount": fee, "paymentKey": key});
    let d = claim_call(&t, &customer, "payClaimFee", card).await;
    assert_eq!(code(&d), "FEE_AMOUNT_MISMATCH", "{d}");
    let message = d["userErrors"][0]["message"].as_str().unwrap();
    assert!(message.contains("confirmClaimFeeTransfer"), "{d}");
    let confirmed = json!({"claimNumber": claim});
    let d = claim_call(&t, &shop.operator, "confirmClaimFeeTransfer", confirmed).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let c = t.gql(&customer, q, json!({"n": claim})).await["claim"].clone();
    assert_eq!(c["feePaid"], fee, "paid once, by the transfer: {c}");
    assert!(toss.all_charges().iter().all(|(k, _)| *k != key));

    // By card: the widget opened with the claim's fee order id and the fee.
    let claim = exchange().await;
    let c = t.gql(&customer, q, json!({"n": claim})).await["claim"].clone();
    let fee_order = c["feePaymentOrderId"].as_str().unwrap().to_owned();
    assert_eq!(fee_order, format!("{claim}-FEE"));
    let key = toss.authorize(&fee_order, fee, PaymentKind::Card);
    let pay =
        |amount: i64, key: &str| json!({"claimNumber": claim, "amount": amount, "paymentKey": key});
    let confirms = toss.calls(Endpoint::Confirm);
    let d = claim_call(&t, &customer, "payClaimFee", pay(fee - 1, &key)).await;
    assert_eq!(code(&d), "FEE_AMOUNT_MISMATCH", "{d}");
    assert_eq!(
        toss.calls(Endpoint::Confirm),
        confirms,
        "nothing reached the gateway"
    );
    toss.decline_next_confirm("INVALID_STOPPED_CARD");
    let d = claim_call(&t, &customer, "payClaimFee", pay(fee, &key)).await;
    assert_eq!(code(&d), "PAYMENT_DECLINED", "{d}");
    let key = toss.authorize(&fee_order, fee, PaymentKind::Card);
    let d = claim_call(&t, &customer, "payClaimFee", pay(fee, &key)).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let c = t.gql(&customer, q, json!({"n": claim})).await["claim"].clone();
    assert_eq!(c["feePaid"], fee, "{c}");
    assert_eq!(toss.charges(&key), vec![Won::new(fee)]);

    let d = claim_call(
        &t,
        &customer,
        "withdrawClaim",
        json!({"claimNumber": claim}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    run_refund_job(&t).await;
    assert_eq!(
        toss.refunds(&key),
        vec![Won::new(fee)],
        "the fee comes back from its payment"
    );
}
with_toss_on_both!(card_fee_payment, card_fee);

/// A crash between the gateway's cancel and the commit: the money went back, the part stays
/// pending; the next run sends the same Idempotency-Key, gets the first answer, and nothing is
/// refunded twice.
async fn crash_on_cancel(t: TestApp, toss: TossServer) {
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let placed = OrderBuilder::new(&shop).quantity(2).place(&t).await;
    let key = toss.payment_key_of(&placed.number).unwrap();
    let claim = ClaimBuilder::cancel(&placed.number, placed.line())
        .open(&t, &customer)
        .await;
    toss.lose_next();
    run_refund_job(&t).await;
    assert_eq!(
        toss.refunds(&key),
        vec![Won::new(10000)],
        "refunded at the gateway"
    );
    let q = "query($n: String!) { claim(claimNumber: $n) { status refund { parts { status attempts } } } }";
    let c = t.gql(&customer, q, json!({"n": claim})).await["claim"].clone();
    assert_eq!(c["status"], "CANCEL_REFUNDING", "not recorded yet: {c}");
    t.clock.advance(chrono::Duration::minutes(5));
    run_refund_job(&t).await;
    let c = t.gql(&customer, q, json!({"n": claim})).await["claim"].clone();
    assert_eq!(c["status"], "CANCEL_COMPLETED", "{c}");
    assert_eq!(c["refund"]["parts"][0]["attempts"], 2);
    assert_eq!(toss.refunds(&key), vec![Won::new(10000)], "refunded once");
    let seller = t.token(Role::Seller, &shop.seller.id.to_string());
    let o = t
        .gql(
            &seller,
            "query($n: String!) { order(orderNumber: $n) { status } }",
            json!({"n": placed.number}),
        )
        .await;
    assert_eq!(o["order"]["status"], "PAID", "one unit left");
}
with_toss_on_both!(crash_between_cancel_and_commit, crash_on_cancel);
