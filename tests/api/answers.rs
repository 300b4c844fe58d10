//! Answers that explain themselves (issue 17), as a client scripting the claim desk meets them:
//! a refund repair refused while its parts are retried says why and until when; a return
//! waiting for its fee does not read as refunded; refund parts name the payment they go back
//! to and fee payments their claim; the refund attempts follow `--refund-max-attempts`.

use std::path::Path;

use oms::config::RefundAttempts;
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::claims::{claim_call, run_refund_job};
use crate::harness::{Backend, TestApp};
use crate::on_both;

/// The app with `--refund-max-attempts n`.
fn with_refund_attempts(mut t: TestApp, n: i32) -> TestApp {
    t.app.jobs.refund_max_attempts = RefundAttempts::new(n).unwrap();
    t.router = oms::http::router(t.app.clone(), Path::new("web/node_modules"));
    t
}

const PART: &str = "query($n: String!) { claim(claimNumber: $n) { status version refund { status parts { method status attempts maxAttempts nextAttemptAt lastError } } } }";

async fn part_of(t: &TestApp, n: &Value) -> Value {
    let d = t.gql(&t.operator(), PART, json!({"n": n})).await;
    let parts = d["claim"]["refund"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "one card part: {d}");
    json!({
        "status": d["claim"]["status"],
        "version": d["claim"]["version"],
        "part": parts[0],
    })
}

/// The message of a refusal that must be CLAIM_ACTION_NOT_ALLOWED.
fn refusal(d: &Value) -> String {
    assert_eq!(
        d["userErrors"][0]["code"], "CLAIM_ACTION_NOT_ALLOWED",
        "{d}"
    );
    d["userErrors"][0]["message"].as_str().unwrap().to_owned()
}

/// With `--refund-max-attempts 3`: a card refund that keeps failing is tried exactly three
/// times, each after its backoff, then FAILED. While it is retried, `resolveRefundManually`
/// and `retryRefund` are refused with the attempt, the next attempt's time and the earliest
/// time the last one can fail, which is when the part does fail; and after an operator's
/// `retryRefund` fails again (the parts PENDING again: issue 17's "allowed now: none"), the
/// same explanation. Nothing is paid twice.
async fn retried_parts_explain_the_wait(t: TestApp) {
    let t = with_refund_attempts(t, 3);
    let ops = t.operator();
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let o = OrderBuilder::new(&shop).place(&t).await;
    let n = json!(
        ClaimBuilder::cancel(&o.number, o.line())
            .open(&t, &customer)
            .await
    );
    t.gateway.fail_next(100);

    // Attempt 1 at 09:00:00 fails: attempt 2 is due 2 s later, attempt 3 (the last) 4 s after.
    run_refund_job(&t).await;
    let before = part_of(&t, &n).await;
    assert_eq!(
        before["part"],
        json!({"method": "CARD", "status": "PENDING", "attempts": 1, "maxAttempts": 3,
               "nextAttemptAt": "2026-11-24T09:00:02+00:00",
               "lastError": "PROVIDER_ERROR: simulated failure"}),
        "{before}"
    );
    let manual = json!({"claimNumber": n, "reference": "BANK-OUT-1"});
    let message = refusal(&claim_call(&t, &ops, "resolveRefundManually", manual.clone()).await);
    for expected in [
        "resolveRefundManually is not allowed in CANCEL_REFUNDING for OPERATOR",
        "No part of the refund has FAILED: its CARD part of 13000원 is being paid by the SYSTEM \
         (attempt 1 of 3 failed: PROVIDER_ERROR: simulated failure; attempt 2 is due at \
         2026-11-24T09:00:02Z)",
        "Only a FAILED part is resolved by hand",
        "resolveRefundManually becomes allowed if a part fails its last attempt (3 of 3), due at \
         the earliest at 2026-11-24T09:00:06Z",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing in {message:?}"
        );
    }
    let retry = json!({"claimNumber": n});
    let message = refusal(&claim_call(&t, &ops, "retryRefund", retry.clone()).await);
    assert!(
        message.contains("Only a FAILED part is retried by hand")
            && message.contains("retryRefund becomes allowed if a part fails its last attempt"),
        "{message}"
    );
    assert_eq!(
        part_of(&t, &n).await,
        before,
        "the refusals changed nothing"
    );

    // Attempt 2, at its time, fails.
    t.clock.advance(chrono::Duration::seconds(2));
    run_refund_job(&t).await;
    let d = part_of(&t, &n).await;
    assert_eq!(d["part"]["attempts"], 2, "{d}");
    assert_eq!(d["part"]["nextAttemptAt"], "2026-11-24T09:00:06+00:00");
    // Not before its backoff.
    t.clock.advance(chrono::Duration::seconds(3));
    run_refund_job(&t).await;
    assert_eq!(part_of(&t, &n).await["part"]["attempts"], 2);
    // Attempt 3 at the earliest time the refusal named: the last, FAILED.
    t.clock.advance(chrono::Duration::seconds(1));
    run_refund_job(&t).await;
    let d = part_of(&t, &n).await;
    assert_eq!(
        (
            &d["part"]["status"],
            &d["part"]["attempts"],
            &d["part"]["nextAttemptAt"]
        ),
        (&json!("FAILED"), &json!(3), &Value::Null),
        "{d}"
    );
    t.clock.advance(chrono::Duration::hours(3));
    run_refund_job(&t).await;
    assert_eq!(
        part_of(&t, &n).await["part"]["attempts"],
        3,
        "no fourth attempt"
    );

    // The operator retries; the gateway fails again: PENDING, attempt 1 of 3 of a fresh run.
    let d = claim_call(&t, &ops, "retryRefund", retry).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    run_refund_job(&t).await;
    let message = refusal(&claim_call(&t, &ops, "resolveRefundManually", manual).await);
    assert!(
        message.contains("attempt 1 of 3 failed")
            && message.contains("attempt 2 is due at 2026-11-24T12:00:08Z"),
        "{message}"
    );

    // The gateway recovers: paid once, the claim completes.
    t.gateway.fail_next(0);
    t.clock.advance(chrono::Duration::seconds(2));
    run_refund_job(&t).await;
    let d = part_of(&t, &n).await;
    assert_eq!(d["status"], "CANCEL_COMPLETED", "{d}");
    assert_eq!(d["part"]["status"], "SUCCEEDED");
    assert_eq!(t.gateway.executed().len(), 1);
}
on_both!(refund_wait_explained, retried_parts_explain_the_wait);

const RETURN_STATE: &str = "query($n: String!) { claim(claimNumber: $n) { status refund { status cash feeDue parts { method } } } }";

/// A return whose deductions exceed its refund waits for its fee: its refund reads
/// AWAITING_FEE (no money moved), then SUCCEEDED once the fee is paid, or waived.
async fn a_fee_due_is_not_a_refund(t: TestApp) {
    let shop = ShopBuilder::new()
        .price(2000)
        .fees(3000, 20000, 3000)
        .customers(1)
        .build(&t)
        .await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    for settle in ["payClaimFee", "waiveClaimFee"] {
        // 2,000 won of goods, 3,000 of return shipping: 1,000 due from the customer.
        let o = OrderBuilder::new(&shop).delivered(&t).await;
        let n = json!(
            ClaimBuilder::return_of(&o.number, o.line())
                .open(&t, &customer)
                .await
        );
        let d = collect_and_complete(&t, &seller, &n).await;
        assert_eq!(d["claim"]["status"], "RETURN_AWAITING_FEE", "{d}");
        let q = t.gql(&customer, RETURN_STATE, json!({"n": n})).await;
        assert_eq!(
            q["claim"]["refund"],
            json!({"status": "AWAITING_FEE", "cash": 0, "feeDue": 1000, "parts": []}),
            "{settle}: {q}"
        );
        let d = match settle {
            "payClaimFee" => {
                let pay = json!({"claimNumber": n, "amount": 1000});
                claim_call(&t, &customer, settle, pay).await
            }
            _ => claim_call(&t, &seller, settle, json!({"claimNumber": n})).await,
        };
        assert_eq!(d["userErrors"], json!([]), "{settle}: {d}");
        let q = t.gql(&customer, RETURN_STATE, json!({"n": n})).await;
        assert_eq!(q["claim"]["status"], "RETURN_COMPLETED", "{settle}: {q}");
        assert_eq!(
            (
                &q["claim"]["refund"]["status"],
                &q["claim"]["refund"]["feeDue"]
            ),
            (&json!("SUCCEEDED"), &json!(0)),
            "{settle}: {q}"
        );
    }
}
on_both!(awaiting_fee_refund, a_fee_due_is_not_a_refund);

/// Approves a return, records its collection and completes it as the seller.
async fn collect_and_complete(t: &TestApp, seller: &str, n: &Value) -> Value {
    let d = claim_call(t, seller, "approveClaim", json!({"claimNumber": n})).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let collected = json!({"claimNumber": n, "courier": "CJ대한통운", "trackingNumber": "R1"});
    let d = claim_call(t, seller, "markCollected", collected).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    claim_call(t, seller, "completeReturn", json!({"claimNumber": n})).await
}

const LINKS: &str = "query($n: String!) { claim(claimNumber: $n) { refund { parts { method amount paymentRole tender { id method amount role claim { claimNumber } } } } order { tenders { id method amount refundedAmount role claim { claimNumber } } } } }";

/// `money.md`'s routing made visible: a return's fee paid by card is a payment of its own
/// (`Order.tenders`, role FEE, naming its claim), and a later seller-fault return refunds
/// the order's card up to what it paid and the rest to that fee payment: two CARD parts,
/// each naming its payment and role. A SELLER sees the roles but no payment.
async fn parts_name_their_payments(t: TestApp) {
    let shop = ShopBuilder::new()
        .price(2000)
        .fees(3000, 20000, 3000)
        .build(&t)
        .await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let big = t.option(shop.seller.id, 18000, 10).await;
    // 20,000 won of goods ship free; the card pays 20,000.
    let o = OrderBuilder::new(&shop).line(big, 1).delivered(&t).await;
    // The 2,000 line back for a change of mind: 3,000 initial shipping and 3,000 return
    // shipping against 2,000 of refund, 4,000 paid as a fee by card.
    let first = json!(
        ClaimBuilder::return_of(&o.number, &o.lines[0])
            .open(&t, &customer)
            .await
    );
    let d = collect_and_complete(&t, &seller, &first).await;
    assert_eq!(d["claim"]["refund"]["feeDue"], 4000, "{d}");
    let pay = json!({"claimNumber": first, "amount": 4000});
    let d = claim_call(&t, &customer, "payClaimFee", pay).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    // The 18,000 line back as defective: its goods and the 3,000 of shipping paid, 21,000.
    let second = json!(
        ClaimBuilder::return_of(&o.number, &o.lines[1])
            .reason("DEFECTIVE")
            .open(&t, &customer)
            .await
    );
    let d = collect_and_complete(&t, &seller, &second).await;
    assert_eq!(d["claim"]["refund"]["cash"], 21000, "{d}");

    let d = t.gql(&customer, LINKS, json!({"n": second})).await;
    let tenders = d["claim"]["order"]["tenders"].as_array().unwrap().clone();
    let order_card = tenders.iter().find(|t| t["role"] == "ORDER").unwrap();
    let fee_card = tenders.iter().find(|t| t["role"] == "FEE").unwrap();
    assert_eq!(
        (
            &order_card["method"],
            &order_card["amount"],
            &order_card["claim"]
        ),
        (&json!("CARD"), &json!(20000), &Value::Null),
        "{d}"
    );
    assert_eq!(
        (
            &fee_card["method"],
            &fee_card["amount"],
            &fee_card["claim"]["claimNumber"]
        ),
        (&json!("CARD"), &json!(4000), &first),
        "{d}"
    );
    assert_eq!(tenders.len(), 2, "{d}");
    let parts = d["claim"]["refund"]["parts"].as_array().unwrap();
    let expected = [
        json!({"method": "CARD", "amount": 20000, "paymentRole": "ORDER",
               "tender": {"id": order_card["id"], "method": "CARD", "amount": 20000,
                          "role": "ORDER", "claim": null}}),
        json!({"method": "CARD", "amount": 1000, "paymentRole": "FEE",
               "tender": {"id": fee_card["id"], "method": "CARD", "amount": 4000,
                          "role": "FEE", "claim": {"claimNumber": first}}}),
    ];
    assert_eq!(parts.len(), 2, "{d}");
    for part in &expected {
        assert!(parts.contains(part), "{part} missing in {d}");
    }

    // The seller sees which kind of payment each part goes to, but no payment.
    let d = t.gql(&seller, LINKS, json!({"n": second})).await;
    let roles: Vec<(Value, Value)> = d["claim"]["refund"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["paymentRole"].clone(), p["tender"].clone()))
        .collect();
    assert_eq!(roles.len(), 2, "{d}");
    assert!(roles.contains(&(json!("ORDER"), Value::Null)), "{d}");
    assert!(roles.contains(&(json!("FEE"), Value::Null)), "{d}");

    // Paid: each payment refunded exactly what its part says.
    run_refund_job(&t).await;
    let d = t.gql(&customer, LINKS, json!({"n": second})).await;
    let refunded: Vec<(Value, Value)> = d["claim"]["order"]["tenders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["role"].clone(), t["refundedAmount"].clone()))
        .collect();
    assert!(refunded.contains(&(json!("ORDER"), json!(20000))), "{d}");
    assert!(refunded.contains(&(json!("FEE"), json!(1000))), "{d}");
}
on_both!(refund_parts_name_payments, parts_name_their_payments);

// Batching is time-based: a generous loader window keeps the counts independent of how busy
// the test machine is (as `protocol::claim_statement_counts`).
mod link_statement_counts {
    use super::*;
    use oms::config::LimitArgs;

    fn limits() -> LimitArgs {
        LimitArgs {
            loader_delay_us: 50_000,
            ..LimitArgs::default()
        }
    }

    /// A page of the demo's claims with their refund parts' payments, the payments' claims and
    /// the orders' payments with theirs costs the same few statements for 6 claims as for 24:
    /// the page, refunds, parts, orders, tenders (one batch for both uses), the claims the
    /// payments name, and the parts behind `status`.
    async fn no_n_plus_one(t: TestApp) {
        oms::demo::seed_if_empty(&t.app).await.unwrap();
        let ops = t.operator();
        let q = "query($n: Int!) { claims(first: $n) { edges { node { claimNumber refund { status parts { paymentRole tender { id role claim { claimNumber } } } } order { tenders { role claim { claimNumber status } } } } } } }";
        let mut counts = Vec::new();
        let mut fee_parts = 0;
        for n in [6, 24] {
            let before = t.app.db.statement_count();
            let d = t.gql(&ops, q, json!({"n": n})).await;
            counts.push(t.app.db.statement_count() - before);
            let edges = d["claims"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), n as usize);
            for e in edges {
                let parts = e["node"]["refund"]["parts"].as_array().cloned();
                for p in parts.unwrap_or_default() {
                    if p["paymentRole"] == "FEE" {
                        assert!(p["tender"]["claim"]["claimNumber"].is_string(), "{p}");
                        fee_parts += 1;
                    }
                }
            }
        }
        assert!(fee_parts > 0, "the page refunds no fee payment");
        eprintln!("statements per claims page with payments (6, 24): {counts:?}");
        assert!(
            counts.iter().all(|c| *c <= 8),
            "more statements than batched fields: {counts:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        no_n_plus_one(
            TestApp::with_limits(Backend::Sqlite, limits())
                .await
                .unwrap(),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(t) = TestApp::with_limits(Backend::Postgres, limits()).await else {
            crate::harness::skip_postgres();
            return;
        };
        no_n_plus_one(t).await;
    }
}
