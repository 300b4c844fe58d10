//! Claims through the API: the seed's paths, refunds to the won for every vector, and the
//! refund job with a failing gateway.

use std::collections::HashMap;

use oms::domain::actor::Role;
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, PlacedOrder, ShopBuilder};
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;
use crate::orders::PLACE;

pub const CLAIM_FIELDS: &str = "claim { claimNumber type status version fault reason hold { phase reason placedBy } availableActions rejectionCode collection { courier trackingNumber } redelivery { trackingNumber } exchangeFee carriesCollection convertedTo { claimNumber status hold { reason } } refund { cash points shippingRefund clawbackReturned dueReduced feeDue couponRestored status deductions { kind amount } parts { method amount status attempts manual } } timeline { action fromStatus toStatus actor } } orderLines { id status activeQuantity cancelledQuantity returnedQuantity claimedQuantity } userErrors { code field message }";

/// An order of a vector case, placed through the API.
pub struct Placed {
    pub number: String,
    /// Line label (`L1`) → global id.
    pub lines: HashMap<String, String>,
    /// Seller label (`S1`) → seller id.
    pub sellers: HashMap<String, i64>,
    pub customer: i64,
    /// The `placeOrder` payload's order.
    pub order: Value,
}

/// Places the order of a `refunds.json` case as an OPERATOR (line discounts and coupon terms
/// as the case gives them).
pub async fn place_case(t: &TestApp, case: &Value) -> Placed {
    let order = &case["order"];
    let mut sellers = HashMap::new();
    for g in order["groups"].as_array().unwrap() {
        let label = g["seller"].as_str().unwrap().to_owned();
        let id = t
            .seller(
                &label,
                g["baseFee"].as_i64().unwrap(),
                g["freeThreshold"].as_i64().unwrap(),
                g["returnFee"].as_i64().unwrap(),
            )
            .await;
        sellers.insert(label, id);
    }
    let points = order["points"].as_i64().unwrap_or(0);
    let customer = t.customer(points).await;
    let mut lines = Vec::new();
    for l in order["lines"].as_array().unwrap() {
        let seller = sellers[l["seller"].as_str().unwrap()];
        let option = t
            .option(seller, l["unitPrice"].as_i64().unwrap(), 100)
            .await;
        lines.push(json!({"optionId": gid("ProductOption", option), "quantity": l["quantity"], "lineDiscount": l.get("lineDiscount").cloned().unwrap_or(json!(0))}));
    }
    let mut input = json!({"customerId": gid("Customer", customer), "lines": lines, "points": points, "paymentMethod": order["method"]});
    if let Some(c) = order.get("coupon").filter(|c| !c.is_null()) {
        input["couponCode"] = json!("VECTOR");
        input["coupon"] = json!({"amount": c["amount"], "minPurchase": c["minPurchase"]});
    }
    let data = t.gql(&t.operator(), PLACE, json!({ "input": input })).await;
    assert_eq!(
        data["placeOrder"]["userErrors"],
        json!([]),
        "{}",
        case["name"]
    );
    let mut placed = data["placeOrder"]["order"].clone();
    // A card checkout completes with the payment widget's key (refunds cancel that payment).
    if order["method"] == "CARD" && placed["amountDue"].as_i64().unwrap_or(0) > 0 {
        let number = placed["orderNumber"].as_str().unwrap().to_owned();
        let d =
            crate::builders::confirm_payment(t, &t.operator(), &number, &placed["amountDue"]).await;
        assert_eq!(
            d["confirmPayment"]["userErrors"],
            json!([]),
            "{}",
            case["name"]
        );
        placed = d["confirmPayment"]["order"].clone();
    }
    let labels = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned());
    let ids = placed["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned());
    Placed {
        number: placed["orderNumber"].as_str().unwrap().to_owned(),
        lines: labels.zip(ids).collect(),
        sellers,
        customer,
        order: placed,
    }
}

/// Moves lines to DELIVERED (confirm, ship, deliver) as an operator.
pub async fn deliver(t: &TestApp, number: &str, line_ids: &[String]) {
    let ops = t.operator();
    for id in line_ids {
        let d = t.gql(&ops, "mutation($n: String!, $l: [ID!]) { confirmOrder(input: {orderNumber: $n, lineIds: $l}) { userErrors { code message } } }", json!({"n": number, "l": [id]})).await;
        assert_eq!(d["confirmOrder"]["userErrors"], json!([]));
        let d = t.gql(&ops, "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ대한통운\", trackingNumber: \"1\"}) { userErrors { code message } } }", json!({"l": [id]})).await;
        assert_eq!(d["shipLines"]["userErrors"], json!([]));
        let d = t.gql(&ops, "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code message } } }", json!({"l": [id]})).await;
        assert_eq!(d["markDelivered"]["userErrors"], json!([]));
    }
}

/// A return the seller approves, collects and completes, each step accepted.
pub async fn approve_collect_complete(t: &TestApp, seller: &str, claim: &str) {
    for (action, input) in [
        ("approveClaim", json!({"claimNumber": claim})),
        (
            "markCollected",
            json!({"claimNumber": claim, "courier": "CJ대한통운", "trackingNumber": "R1"}),
        ),
        ("completeReturn", json!({"claimNumber": claim})),
    ] {
        let d = claim_call(t, seller, action, input).await;
        assert_eq!(d["userErrors"], json!([]), "{action}: {d}");
    }
}

/// Calls a claim mutation; returns its payload.
pub async fn claim_call(t: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    let input = with_fee_payment_key(mutation, input);
    let doc = format!(
        "mutation($input: {}!) {{ {mutation}(input: $input) {{ {CLAIM_FIELDS} }} }}",
        input_type(mutation)
    );
    t.gql(token, &doc, json!({ "input": input })).await[mutation].clone()
}

/// A card fee payment carries the key of the payment widget the customer paid in: one is made
/// up here when the test gives none (the simulator and the loopback Toss server take a key
/// they have not seen as the widget's).
fn with_fee_payment_key(mutation: &str, mut input: Value) -> Value {
    let card = input.get("method").is_none_or(|m| m == "CARD");
    if mutation == "payClaimFee" && card && input.get("paymentKey").is_none() {
        let number = input["claimNumber"].as_str().unwrap_or_default().to_owned();
        input["paymentKey"] = json!(format!("test-fee-{number}-{}", std::process::id()));
    }
    input
}

pub fn input_type(mutation: &str) -> &'static str {
    match mutation {
        "requestCancel" => "RequestCancelInput",
        "sellerCancel" => "SellerCancelInput",
        "requestReturn" => "RequestReturnInput",
        "requestExchange" => "RequestExchangeInput",
        "approveClaim" => "ApproveClaimInput",
        "rejectClaim" | "markCollected" | "reshipExchange" => "CourierInput",
        "holdClaim" => "HoldClaimInput",
        "completeReturn" => "CompleteReturnInput",
        "convertClaim" => "ConvertClaimInput",
        "resolveRefundManually" => "ResolveRefundManuallyInput",
        "setRefundAccount" => "SetRefundAccountInput",
        "payClaimFee" => "PayClaimFeeInput",
        _ => "ClaimActionInput",
    }
}

pub async fn run_refund_job(t: &TestApp) -> Value {
    t.gql(
        &t.operator(),
        "mutation { runSystemJobs(input: {jobs: [PAY_REFUNDS]}) { runs { job ran processed } } }",
        json!({}),
    )
    .await
}

/// Every case of `refunds.json`: the order placed, the lines moved, the claims filed and closed
/// through the API (fees paid, waived or left unpaid as the case says; L's credit from an
/// exchange whose fee was paid, then converted); each refund equals the vector's.
async fn vectors_refund_to_the_won(t: TestApp) {
    refund_vectors_on(&t).await;
}

/// [`vectors_refund_to_the_won`] on `t`, whatever its gateway.
pub(crate) async fn refund_vectors_on(t: &TestApp) {
    let cases: Vec<Value> = serde_json::from_str(include_str!("../vectors/refunds.json")).unwrap();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let p = place_case(t, case).await;
        let claims = case["claims"].as_array().unwrap();
        // Lines that some claim returns are delivered first; cancelled lines stay PAID.
        let mut returned: Vec<String> = Vec::new();
        for c in claims.iter().filter(|c| c["type"] == "RETURN") {
            for it in c["items"].as_array().unwrap() {
                let id = p.lines[it["line"].as_str().unwrap()].clone();
                if !returned.contains(&id) {
                    returned.push(id);
                }
            }
        }
        deliver(t, &p.number, &returned).await;
        let customer = t.token(Role::Customer, &p.customer.to_string());
        for (i, (c, want)) in claims
            .iter()
            .zip(case["expected"]["refunds"].as_array().unwrap())
            .enumerate()
        {
            let items: Vec<Value> = c["items"].as_array().unwrap().iter().map(|it| json!({"lineId": p.lines[it["line"].as_str().unwrap()], "quantity": it["quantity"]})).collect();
            let seller_label = case["order"]["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["id"] == c["items"][0]["line"])
                .unwrap()["seller"]
                .as_str()
                .unwrap();
            let seller = t.token(Role::Seller, &p.sellers[seller_label].to_string());
            let payload = match (c["type"].as_str().unwrap(), c["fault"].as_str().unwrap()) {
                ("CANCEL", "CUSTOMER") => {
                    claim_call(
                        t,
                        &customer,
                        "requestCancel",
                        json!({"orderNumber": p.number, "items": items}),
                    )
                    .await
                }
                ("CANCEL", _) => {
                    claim_call(
                        t,
                        &seller,
                        "sellerCancel",
                        json!({"orderNumber": p.number, "items": items}),
                    )
                    .await
                }
                (_, fault) => {
                    let reason = if fault == "CUSTOMER" {
                        "CHANGE_OF_MIND"
                    } else {
                        "DEFECTIVE"
                    };
                    let n = if let Some(credit) = c.get("credit").and_then(Value::as_i64) {
                        // An exchange whose round trip was paid, converted into this return.
                        exchange_then_convert(t, &customer, &p.number, &items, credit).await
                    } else {
                        let d = claim_call(
                            t,
                            &customer,
                            "requestReturn",
                            json!({"orderNumber": p.number, "items": items, "reason": reason}),
                        )
                        .await;
                        assert_eq!(d["userErrors"], json!([]), "{name} claim {i}");
                        d["claim"]["claimNumber"].clone()
                    };
                    claim_call(t, &seller, "approveClaim", json!({"claimNumber": n})).await;
                    claim_call(
                        t,
                        &seller,
                        "markCollected",
                        json!({"claimNumber": n, "courier": "CJ대한통운", "trackingNumber": "R1"}),
                    )
                    .await;
                    let d =
                        claim_call(t, &seller, "completeReturn", json!({"claimNumber": n})).await;
                    match (
                        d["claim"]["status"].as_str(),
                        c.get("fee").and_then(Value::as_str),
                    ) {
                        (Some("RETURN_AWAITING_FEE"), Some("WAIVED")) => {
                            claim_call(t, &seller, "waiveClaimFee", json!({"claimNumber": n})).await
                        }
                        (Some("RETURN_AWAITING_FEE"), Some("UNPAID")) => d,
                        (Some("RETURN_AWAITING_FEE"), _) => {
                            let due = d["claim"]["refund"]["feeDue"].clone();
                            let paid = claim_call(
                                t,
                                &customer,
                                "payClaimFee",
                                json!({"claimNumber": n, "amount": due}),
                            )
                            .await;
                            assert_eq!(
                                paid["claim"]["status"], "RETURN_COMPLETED",
                                "{name}: {paid}"
                            );
                            // The vector shows the refund as priced, before the payment.
                            d
                        }
                        _ => d,
                    }
                }
            };
            assert_eq!(payload["userErrors"], json!([]), "{name} claim {i}");
            let r = &payload["claim"]["refund"];
            for field in [
                "points",
                "shippingRefund",
                "feeDue",
                "couponRestored",
                "clawbackReturned",
                "dueReduced",
            ] {
                assert_eq!(r[field], want[field], "{name} claim {i}: {field}");
            }
            assert_eq!(r["cash"], want["cash"], "{name} claim {i}: cash");
            assert_eq!(
                r["deductions"], want["deductions"],
                "{name} claim {i}: deductions"
            );
        }
        run_refund_job(t).await;
    }
}
on_both!(refund_vectors, vectors_refund_to_the_won);

/// A customer-fault exchange of `items` (each for its own option again), its round-trip fee
/// `fee` paid by card, then converted into a return; returns the return's claim number.
async fn exchange_then_convert(
    t: &TestApp,
    customer: &str,
    number: &str,
    items: &[Value],
    fee: i64,
) -> Value {
    let q = "query($n: String!) { order(orderNumber: $n) { lines { id optionId } } }";
    let lines = t.gql(customer, q, json!({"n": number})).await["order"]["lines"].clone();
    let option_of = |line: &Value| {
        lines
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == *line)
            .unwrap()["optionId"]
            .clone()
    };
    let ex_items: Vec<Value> = items.iter().map(|it| json!({"lineId": it["lineId"], "quantity": it["quantity"], "replacementOptionId": option_of(&it["lineId"])})).collect();
    let d = claim_call(
        t,
        customer,
        "requestExchange",
        json!({"orderNumber": number, "items": ex_items, "reason": "SIZE_OR_OPTION_CHANGE"}),
    )
    .await;
    assert_eq!(d["claim"]["hold"]["reason"], "RETURN_FEE_UNPAID", "{d}");
    assert_eq!(d["claim"]["exchangeFee"], fee);
    let n = d["claim"]["claimNumber"].clone();
    let wrong = claim_call(
        t,
        customer,
        "payClaimFee",
        json!({"claimNumber": n, "amount": fee - 1}),
    )
    .await;
    assert_eq!(wrong["userErrors"][0]["code"], "FEE_AMOUNT_MISMATCH");
    let paid = claim_call(
        t,
        customer,
        "payClaimFee",
        json!({"claimNumber": n, "amount": fee}),
    )
    .await;
    assert!(paid["claim"]["hold"].is_null(), "{paid}");
    let replacements: Vec<Value> = Vec::new();
    let d = claim_call(
        t,
        customer,
        "convertClaim",
        json!({"claimNumber": n, "replacements": replacements}),
    )
    .await;
    assert_eq!(d["claim"]["type"], "RETURN", "{d}");
    d["claim"]["claimNumber"].clone()
}

/// Cancel after payment: refunding until the gateway confirms; cancel before the deposit:
/// done at once, the amount due lowered; a cancel request overtaken by shipping.
async fn cancels(t: TestApp) {
    let shop = ShopBuilder::new()
        .name("한빛패션")
        .price(20000)
        .points(2000)
        .build(&t)
        .await;
    let (opt, c) = (shop.option, shop.customer().id);
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let order = |method: &str, points: i64| {
        OrderBuilder::new(&shop)
            .quantity(2)
            .payment(method)
            .points(points)
    };

    let o = order("CARD", 1000).place(&t).await;
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .quantity(2)
        .request(&t, &customer)
        .await;
    assert_eq!(d["claim"]["status"], "CANCEL_REFUNDING", "{d}");
    let refund = &d["claim"]["refund"];
    assert_eq!(
        (
            refund["cash"].clone(),
            refund["points"].clone(),
            refund["shippingRefund"].clone()
        ),
        (json!(39000 + 3000), json!(1000), json!(3000))
    );
    assert_eq!(refund["status"], "PENDING");
    assert_eq!(d["orderLines"][0]["status"], "CANCELLED");
    assert_eq!(t.stock(opt).await, 10);
    assert_eq!(t.points(c).await, 2000);
    run_refund_job(&t).await;
    let n = d["claim"]["claimNumber"].as_str().unwrap();
    let q = "query($n: String!) { claim(claimNumber: $n) { status refund { status parts { method status } } timeline { action fromStatus toStatus } } }";
    let after = t.gql(&customer, q, json!({"n": n})).await;
    assert_eq!(after["claim"]["status"], "CANCEL_COMPLETED");
    assert_eq!(after["claim"]["refund"]["status"], "SUCCEEDED");
    assert_eq!(after["claim"]["timeline"].as_array().unwrap().len(), 2);
    assert_eq!(t.gateway.executed().len(), 1);
    // Each tender counts what went back to it: never more than it paid.
    let tenders = t.gql(&customer, "query($n: String!) { order(orderNumber: $n) { tenders { method amount refundedAmount } } }", json!({"n": o.number})).await;
    assert_eq!(
        tenders["order"]["tenders"],
        json!([{"method": "CARD", "amount": 42000, "refundedAmount": 42000}, {"method": "POINTS", "amount": 1000, "refundedAmount": 1000}])
    );
    // Running the job again pays nothing twice.
    run_refund_job(&t).await;
    assert_eq!(t.gateway.executed().len(), 1);

    // Before the deposit: no cash moves; the amount due shrinks; points come back.
    let o = order("BANK_TRANSFER", 500).place(&t).await;
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .request(&t, &customer)
        .await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");
    assert_eq!(d["claim"]["refund"]["cash"], 0);
    assert!(d["claim"]["refund"]["dueReduced"].as_i64().unwrap() > 0);
    let due = t
        .gql(
            &customer,
            "query($n: String!) { order(orderNumber: $n) { amountDue } }",
            json!({"n": o.number}),
        )
        .await;
    assert_eq!(
        due["order"]["amountDue"].as_i64().unwrap(),
        o.order["amountDue"].as_i64().unwrap()
            - d["claim"]["refund"]["dueReduced"].as_i64().unwrap()
    );

    // PREPARING: the customer asks, the seller decides; shipping overtakes a request.
    let PlacedOrder { number, lines, .. } = order("CARD", 0).place(&t).await;
    t.gql(
        &seller,
        "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }",
        json!({"n": number}),
    )
    .await;
    let line = &lines[0];
    let cancel = ClaimBuilder::cancel(&number, line);
    let d = cancel.request(&t, &customer).await;
    assert_eq!(d["claim"]["status"], "CANCEL_REQUESTED");
    assert_eq!(d["orderLines"][0]["claimedQuantity"], 1);
    assert_eq!(d["claim"]["availableActions"], json!(["WITHDRAW"]));
    // The same unit cannot be claimed twice.
    let again = ClaimBuilder::cancel(&number, line)
        .quantity(2)
        .request(&t, &customer)
        .await;
    assert_eq!(again["userErrors"][0]["code"], "NOT_ENOUGH_UNITS");
    let d = t.gql(&seller, "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ\", trackingNumber: \"9\"}) { order { status claims { status rejectionCode timeline { action } } } userErrors { code } } }", json!({"l": [line]})).await;
    let claim = &d["shipLines"]["order"]["claims"][0];
    assert_eq!(claim["status"], "CANCEL_REJECTED");
    assert_eq!(claim["rejectionCode"], "SHIPPED");
    // Once shipped, a cancel is refused with the suggestion of a return.
    let d = cancel.request(&t, &customer).await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_NOT_ALLOWED");
    assert!(
        d["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("requestReturn"),
        "{d}"
    );
}
on_both!(cancel_paths, cancels);

/// A return collected and completed; another rejected after collection with an operator's
/// approval; a third converted into an exchange that is held for its fee, waived, reshipped and
/// completed.
async fn returns_and_exchanges(t: TestApp) {
    let shop = ShopBuilder::new()
        .name("한빛패션")
        .price(30000)
        .build(&t)
        .await;
    let (s, m) = (shop.seller.id, shop.option);
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let ops = t.operator();
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(3)
        .delivered(&t)
        .await
        .number_and_line();

    // Return 1 unit, customer's fault: collected, completed, the return fee deducted.
    let d = ClaimBuilder::return_of(&number, &line)
        .request(&t, &customer)
        .await;
    let n1 = d["claim"]["claimNumber"].clone();
    assert_eq!(d["claim"]["status"], "RETURN_REQUESTED");
    let d = claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n1})).await;
    assert_eq!(d["claim"]["status"], "RETURN_COLLECTING");
    assert!(
        d["claim"]["collection"]["trackingNumber"].is_string(),
        "pickup booked: {d}"
    );
    let d = claim_call(&t, &seller, "completeReturn", json!({"claimNumber": n1})).await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_ACTION_NOT_ALLOWED");
    assert!(d["userErrors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("RETURN_COLLECTING"));
    claim_call(
        &t,
        &seller,
        "markCollected",
        json!({"claimNumber": n1, "courier": "CJ대한통운", "trackingNumber": "R-1"}),
    )
    .await;
    let d = claim_call(&t, &seller, "completeReturn", json!({"claimNumber": n1})).await;
    assert_eq!(d["claim"]["status"], "RETURN_REFUNDING", "{d}");
    // 90000 → 60000 stays above the free-shipping threshold: only the return fee comes off.
    assert_eq!(
        d["claim"]["refund"]["deductions"],
        json!([{"kind": "RETURN_SHIPPING", "amount": 3000}])
    );
    assert_eq!(d["claim"]["refund"]["cash"], 27000);
    assert_eq!(d["orderLines"][0]["returnedQuantity"], 1);
    assert_eq!(t.stock(m).await, 8);
    run_refund_job(&t).await;

    // Return rejected after collection by the seller: waits for an operator.
    let d = ClaimBuilder::return_of(&number, &line)
        .reason("DEFECTIVE")
        .field("collectionMethod", json!("CUSTOMER_SHIPS"))
        .request(&t, &customer)
        .await;
    let n2 = d["claim"]["claimNumber"].clone();
    assert_eq!(d["claim"]["fault"], "SELLER");
    claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n2})).await;
    claim_call(
        &t,
        &seller,
        "markCollected",
        json!({"claimNumber": n2, "courier": "우체국", "trackingNumber": "R-2"}),
    )
    .await;
    let d = claim_call(&t, &seller, "rejectClaim", json!({"claimNumber": n2, "courier": "CJ대한통운", "trackingNumber": "BACK-2", "memo": "고객 과실 파손"})).await;
    assert_eq!(d["claim"]["status"], "RETURN_REJECT_PENDING");
    let d = claim_call(&t, &seller, "approveRejection", json!({"claimNumber": n2})).await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_ACTION_NOT_ALLOWED");
    let d = claim_call(&t, &ops, "approveRejection", json!({"claimNumber": n2})).await;
    assert_eq!(d["claim"]["status"], "RETURN_REJECTED");
    assert_eq!(d["orderLines"][0]["claimedQuantity"], 0);

    // Return converted into an exchange (another option, same price): held for its fee.
    let l = t.option(s, 30000, 0).await; // another product: refused
    let d = ClaimBuilder::return_of(&number, &line)
        .reason("SIZE_OR_OPTION_CHANGE")
        .request(&t, &customer)
        .await;
    let n3 = d["claim"]["claimNumber"].clone();
    let d = claim_call(&t, &customer, "convertClaim", json!({"claimNumber": n3, "replacements": [{"lineId": line, "optionId": gid("ProductOption", l)}]})).await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_NOT_ALLOWED", "{d}");
    let product = t
        .gql(
            &ops,
            "query($id: ID!) { node(id: $id) { ... on ProductOption { id } } }",
            json!({"id": gid("ProductOption", m)}),
        )
        .await;
    assert!(product["node"].is_object());
    let other = t.sibling_option(m, 30000, 5).await;
    let d = claim_call(&t, &customer, "convertClaim", json!({"claimNumber": n3, "replacements": [{"lineId": line, "optionId": gid("ProductOption", other)}]})).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["claim"]["type"], "EXCHANGE");
    assert_eq!(d["claim"]["status"], "EXCHANGE_REQUESTED");
    assert_eq!(d["claim"]["exchangeFee"], 6000);
    assert_eq!(d["claim"]["hold"]["reason"], "RETURN_FEE_UNPAID");
    assert_eq!(t.stock(other).await, 4);
    let n4 = d["claim"]["claimNumber"].clone();
    let d = claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n4})).await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_ACTION_NOT_ALLOWED");
    let d = claim_call(&t, &seller, "waiveClaimFee", json!({"claimNumber": n4})).await;
    assert!(d["claim"]["hold"].is_null(), "{d}");
    claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n4})).await;
    claim_call(
        &t,
        &seller,
        "markCollected",
        json!({"claimNumber": n4, "courier": "CJ대한통운", "trackingNumber": "X-1"}),
    )
    .await;
    let d = claim_call(
        &t,
        &seller,
        "reshipExchange",
        json!({"claimNumber": n4, "courier": "CJ대한통운", "trackingNumber": "X-2"}),
    )
    .await;
    assert_eq!(d["claim"]["status"], "EXCHANGE_RESHIPPING");
    let d = claim_call(&t, &seller, "completeExchange", json!({"claimNumber": n4})).await;
    assert_eq!(d["claim"]["status"], "EXCHANGE_COMPLETED");
    assert_eq!(d["orderLines"][0]["claimedQuantity"], 0);
    assert_eq!(d["orderLines"][0]["activeQuantity"], 2);
    let statuses: Vec<Value> = d["claim"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["toStatus"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![
            json!("EXCHANGE_REQUESTED"),
            json!("EXCHANGE_REQUESTED"),
            json!("EXCHANGE_COLLECTING"),
            json!("EXCHANGE_COLLECTED"),
            json!("EXCHANGE_RESHIPPING"),
            json!("EXCHANGE_COMPLETED")
        ]
    );
}
on_both!(return_exchange_paths, returns_and_exchanges);

/// A card refund that keeps failing: retried with backoff, FAILED after its attempts, retried
/// by an operator, then resolved by hand; nothing paid twice.
async fn failing_refund(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let ops = t.operator();
    let o = OrderBuilder::new(&shop).place(&t).await;
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    t.gateway.fail_next(100);
    for _ in 0..8 {
        run_refund_job(&t).await;
        t.clock.advance(chrono::Duration::hours(2));
    }
    let q = "query($n: String!) { claim(claimNumber: $n) { status availableActions refund { status parts { status attempts } } } }";
    let d = t.gql(&ops, q, json!({"n": n})).await;
    assert_eq!(
        d["claim"]["refund"]["parts"][0],
        json!({"status": "FAILED", "attempts": 8})
    );
    assert_eq!(d["claim"]["status"], "CANCEL_REFUNDING");
    assert!(d["claim"]["availableActions"]
        .as_array()
        .unwrap()
        .contains(&json!("RETRY_REFUND")));
    let d = claim_call(&t, &ops, "retryRefund", json!({"claimNumber": n})).await;
    assert_eq!(d["claim"]["refund"]["parts"][0]["status"], "PENDING");
    run_refund_job(&t).await;
    t.clock.advance(chrono::Duration::hours(2));
    for _ in 0..7 {
        run_refund_job(&t).await;
        t.clock.advance(chrono::Duration::hours(2));
    }
    let d = claim_call(
        &t,
        &ops,
        "resolveRefundManually",
        json!({"claimNumber": n, "reference": "BANK-OUT-1", "memo": "계좌 송금"}),
    )
    .await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");
    assert_eq!(d["claim"]["refund"]["parts"][0]["manual"], true);
    assert!(t.gateway.executed().is_empty());
}
on_both!(refund_failures, failing_refund);

/// Ten concurrent requests over the same units: exactly one claim wins, the others are clean
/// refusals (NOT_ENOUGH_UNITS or CLAIM_CONFLICT), never a database error; ten concurrent
/// approvals with the same expected version: one moves the claim, the rest get STALE_VERSION
/// or CLAIM_ACTION_NOT_ALLOWED. A replay with the same idempotency key returns the first claim.
async fn concurrent_requests(t: TestApp) {
    let shop = ShopBuilder::new().stock(100).build(&t).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(2)
        .delivered(&t)
        .await
        .number_and_line();
    let input = json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 2}], "reason": "CHANGE_OF_MIND"});
    let calls = (0..10).map(|_| claim_call(&t, &customer, "requestReturn", input.clone()));
    let results = futures_util::future::join_all(calls).await;
    let wins = results
        .iter()
        .filter(|r| r["userErrors"] == json!([]))
        .count();
    assert_eq!(wins, 1, "{results:?}");
    for r in results.iter().filter(|r| r["userErrors"] != json!([])) {
        let code = r["userErrors"][0]["code"].as_str().unwrap();
        assert!(
            code == "NOT_ENOUGH_UNITS" || code == "CLAIM_CONFLICT",
            "{r}"
        );
    }
    let winner = results
        .iter()
        .find(|r| r["userErrors"] == json!([]))
        .unwrap();
    let n = winner["claim"]["claimNumber"].clone();
    assert_eq!(winner["orderLines"][0]["claimedQuantity"], 2);

    let approve = json!({"claimNumber": n, "expectedVersion": 1});
    let results = futures_util::future::join_all(
        (0..10).map(|_| claim_call(&t, &seller, "approveClaim", approve.clone())),
    )
    .await;
    assert_eq!(
        results
            .iter()
            .filter(|r| r["userErrors"] == json!([]))
            .count(),
        1,
        "{results:?}"
    );
    for r in results.iter().filter(|r| r["userErrors"] != json!([])) {
        let code = r["userErrors"][0]["code"].as_str().unwrap();
        assert!(
            code == "STALE_VERSION" || code == "CLAIM_ACTION_NOT_ALLOWED",
            "{r}"
        );
    }

    // Idempotency: a replay returns the first result and changes nothing.
    let keyed = json!({"claimNumber": n, "courier": "CJ", "trackingNumber": "K1", "idempotencyKey": "collect-1"});
    let first = claim_call(&t, &seller, "markCollected", keyed.clone()).await;
    let again = claim_call(&t, &seller, "markCollected", keyed.clone()).await;
    assert_eq!(first["claim"]["status"], "RETURN_COLLECTED");
    assert_eq!(again["claim"]["version"], first["claim"]["version"]);
    assert_eq!(again["claim"]["timeline"].as_array().unwrap().len(), 3);
    let mut other = keyed.clone();
    other["trackingNumber"] = json!("K2");
    let d = claim_call(&t, &seller, "markCollected", other).await;
    assert_eq!(d["userErrors"][0]["code"], "IDEMPOTENCY_KEY_REUSED");
}
on_both!(concurrency, concurrent_requests);

/// The SYSTEM's timers: an unpaid bank transfer is cancelled after its deadline (stock and
/// points back), and an exchange whose fee stays unpaid is withdrawn after 14 days (its
/// replacement released).
async fn system_timers(t: TestApp) {
    let shop = ShopBuilder::new().points(1000).build(&t).await;
    let (opt, c) = (shop.option, shop.customer().id);
    let customer = shop.customer().token.clone();
    let ops = t.operator();
    let run = |job: &'static str| {
        let ops = ops.clone();
        let t = &t;
        async move {
            let doc = format!(
                "mutation {{ runSystemJobs(input: {{jobs: [{job}]}}) {{ runs {{ processed }} }} }}"
            );
            t.gql(&ops, &doc, json!({})).await["runSystemJobs"]["runs"][0]["processed"].clone()
        }
    };
    let o = OrderBuilder::new(&shop)
        .quantity(2)
        .points(1000)
        .bank_transfer()
        .place(&t)
        .await;
    assert_eq!(run("CANCEL_UNPAID_ORDERS").await, 0);
    t.clock.advance(chrono::Duration::hours(73));
    assert_eq!(run("CANCEL_UNPAID_ORDERS").await, 1);
    let d = t.gql(&customer, "query($n: String!) { order(orderNumber: $n) { status amountDue claims { status timeline { actor action } } } }", json!({"n": o.number})).await;
    assert_eq!(d["order"]["status"], "CANCELLED");
    assert_eq!(d["order"]["amountDue"], 0);
    assert_eq!(d["order"]["claims"][0]["status"], "CANCEL_COMPLETED");
    assert_eq!(
        d["order"]["claims"][0]["timeline"][0],
        json!({"actor": "SYSTEM", "action": "REQUEST_CANCEL"})
    );
    assert_eq!(t.stock(opt).await, 10);
    assert_eq!(t.points(c).await, 1000);

    let o = OrderBuilder::new(&shop).delivered(&t).await;
    let line = o.line().to_owned();
    let other = t.sibling_option(opt, 10000, 3).await;
    let d = ClaimBuilder::exchange(&o.number, &line, other)
        .reason("SIZE_OR_OPTION_CHANGE")
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    assert_eq!(t.stock(other).await, 2);
    t.clock.advance(chrono::Duration::days(13));
    assert_eq!(run("WITHDRAW_UNPAID_EXCHANGES").await, 0);
    t.clock.advance(chrono::Duration::days(2));
    assert_eq!(run("WITHDRAW_UNPAID_EXCHANGES").await, 1);
    let d = t
        .gql(
            &customer,
            "query($n: String!) { claim(claimNumber: $n) { status hold { reason } } }",
            json!({"n": n}),
        )
        .await;
    assert_eq!(
        d["claim"],
        json!({"status": "EXCHANGE_WITHDRAWN", "hold": null})
    );
    assert_eq!(t.stock(other).await, 3);
}
on_both!(timers, system_timers);

pub async fn courier_post(
    t: &TestApp,
    token: &str,
    body: Value,
) -> (axum::http::StatusCode, Value) {
    let req = axum::http::Request::post("/webhooks/courier")
        .header("content-type", "application/json")
        .header("x-courier-token", token)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    t.send(req).await
}

/// The courier's tracking events drive the SYSTEM rows: a parcel delivered marks its lines
/// DELIVERED, a pickup marks the exchange collected, the replacement's delivery completes it;
/// a repeated event changes nothing and a wrong secret is refused.
async fn courier_events(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let o = OrderBuilder::new(&shop).place(&t).await;
    let number = o.number.clone();
    let line = o.line().to_owned();
    t.gql(
        &seller,
        "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }",
        json!({"n": number}),
    )
    .await;
    t.gql(&seller, "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ대한통운\", trackingNumber: \"SHIP-1\"}) { userErrors { code } } }", json!({"l": [line]})).await;

    let (status, _) = courier_post(&t, "wrong", json!({"eventId": "e0", "courier": "CJ대한통운", "trackingNumber": "SHIP-1", "event": "DELIVERED"})).await;
    assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
    let (status, body) = courier_post(&t, "courier-secret", json!({"eventId": "e1", "courier": "CJ대한통운", "trackingNumber": "SHIP-1", "event": "DELIVERED"})).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    assert_eq!(body["linesDelivered"], 1);

    let other = t.sibling_option(shop.option, 10000, 5).await;
    let d = ClaimBuilder::exchange(&number, &line, other)
        .request(&t, &customer)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let n = d["claim"]["claimNumber"].clone();
    let d = claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    let pickup = d["claim"]["collection"]["trackingNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    let picked = json!({"eventId": "e2", "courier": "SIM택배", "trackingNumber": pickup, "event": "PICKED_UP"});
    let (_, body) = courier_post(&t, "courier-secret", picked.clone()).await;
    assert_eq!(body["claims"][0]["status"], "EXCHANGE_COLLECTED", "{body}");
    let (_, body) = courier_post(&t, "courier-secret", picked).await;
    assert_eq!(body["duplicate"], true);
    claim_call(
        &t,
        &seller,
        "reshipExchange",
        json!({"claimNumber": n, "courier": "CJ대한통운", "trackingNumber": "RESHIP-1"}),
    )
    .await;
    let (_, body) = courier_post(&t, "courier-secret", json!({"eventId": "e3", "courier": "CJ대한통운", "trackingNumber": "RESHIP-1", "event": "DELIVERED"})).await;
    assert_eq!(body["claims"][0]["status"], "EXCHANGE_COMPLETED", "{body}");
    let d = t
        .gql(
            &customer,
            "query($n: String!) { claim(claimNumber: $n) { timeline { action actor } } }",
            json!({"n": n}),
        )
        .await;
    let system: Vec<&Value> = d["claim"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "SYSTEM")
        .collect();
    assert_eq!(system.len(), 2, "{d}");
}
on_both!(courier, courier_events);

/// The rest of the seed's paths: a cancel request approved and another rejected; a seller's
/// hold on collected goods approved by an operator and another declined; an exchange rejected
/// after collection; an exchange refunded for a stock-out; a collection that never arrives;
/// withdrawals; a bank-transfer refund waiting for its refund account.
async fn more_paths(t: TestApp) {
    let shop = ShopBuilder::new().stock(50).build(&t).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let ops = t.operator();
    let order = |qty: i64, method: &'static str| {
        let t = &t;
        let order = OrderBuilder::new(&shop).quantity(qty).payment(method);
        async move { order.place(t).await.number_and_line() }
    };
    let status = |d: &Value| {
        d["claim"]["status"]
            .as_str()
            .unwrap_or("refused")
            .to_owned()
    };

    // Cancel requests on PREPARING: one approved (refund), one rejected (line stays).
    let (number, line) = order(2, "CARD").await;
    t.gql(
        &seller,
        "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }",
        json!({"n": number}),
    )
    .await;
    let a = claim_call(
        &t,
        &customer,
        "requestCancel",
        json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}]}),
    )
    .await;
    let d = claim_call(
        &t,
        &seller,
        "approveClaim",
        json!({"claimNumber": a["claim"]["claimNumber"]}),
    )
    .await;
    assert_eq!(status(&d), "CANCEL_REFUNDING", "{d}");
    let b = claim_call(
        &t,
        &customer,
        "requestCancel",
        json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}]}),
    )
    .await;
    let d = claim_call(
        &t,
        &seller,
        "rejectClaim",
        json!({"claimNumber": b["claim"]["claimNumber"], "memo": "이미 포장 완료"}),
    )
    .await;
    assert_eq!(status(&d), "CANCEL_REJECTED");
    assert_eq!(d["orderLines"][0]["status"], "PREPARING");
    assert_eq!(d["orderLines"][0]["activeQuantity"], 1);

    // Returns on a delivered order of 6 units.
    let (number, line) = order(6, "CARD").await;
    deliver(&t, &number, std::slice::from_ref(&line)).await;
    let open = |reason: &'static str| {
        let customer = customer.clone();
        let (t, number, line) = (&t, number.clone(), line.clone());
        async move {
            claim_call(t, &customer, "requestReturn", json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": reason})).await["claim"]["claimNumber"].clone()
        }
    };
    // A seller's hold on collected goods waits for an operator: approved once, declined once.
    for (decision, held) in [("approveHold", true), ("declineHold", false)] {
        let n = open("DEFECTIVE").await;
        claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
        claim_call(
            &t,
            &seller,
            "markCollected",
            json!({"claimNumber": n, "courier": "CJ", "trackingNumber": "H"}),
        )
        .await;
        let d = claim_call(
            &t,
            &seller,
            "holdClaim",
            json!({"claimNumber": n, "reason": "INSPECTION", "memo": "검수 중"}),
        )
        .await;
        assert_eq!(d["claim"]["hold"]["phase"], "HOLD_PENDING", "{d}");
        // A pending hold blocks nothing: the seller could still complete; the operator decides.
        let d = claim_call(&t, &ops, decision, json!({"claimNumber": n})).await;
        assert_eq!(d["claim"]["hold"].is_object(), held, "{decision}: {d}");
        if held {
            let d = claim_call(&t, &seller, "completeReturn", json!({"claimNumber": n})).await;
            assert_eq!(d["userErrors"][0]["code"], "CLAIM_ACTION_NOT_ALLOWED");
            assert!(
                d["userErrors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("held"),
                "{d}"
            );
            let d = claim_call(&t, &ops, "releaseHold", json!({"claimNumber": n})).await;
            assert!(d["claim"]["hold"].is_null());
        }
        let d = claim_call(
            &t,
            &seller,
            "completeReturn",
            json!({"claimNumber": n, "restock": false}),
        )
        .await;
        assert_eq!(status(&d), "RETURN_REFUNDING", "{d}");
    }
    // A collection that never arrives: rejected (NOT_RECEIVED), the units free again.
    let n = open("CHANGE_OF_MIND").await;
    claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    let d = claim_call(&t, &seller, "rejectClaim", json!({"claimNumber": n})).await;
    assert_eq!(status(&d), "RETURN_REJECTED");
    assert_eq!(d["claim"]["rejectionCode"], "NOT_RECEIVED");
    // Withdrawn before collection.
    let n = open("CHANGE_OF_MIND").await;
    let d = claim_call(&t, &customer, "withdrawClaim", json!({"claimNumber": n})).await;
    assert_eq!(status(&d), "RETURN_WITHDRAWN");
    assert_eq!(d["orderLines"][0]["claimedQuantity"], 0);

    // Exchanges (seller's fault: no fee): one rejected after collection by an operator, one
    // refunded because the replacement ran out.
    let other = t.sibling_option(shop.option, 10000, 5).await;
    let exchange = || {
        let customer = customer.clone();
        let (t, number, line) = (&t, number.clone(), line.clone());
        async move {
            ClaimBuilder::exchange(&number, &line, other)
                .reason("WRONG_ITEM_DELIVERED")
                .request(t, &customer)
                .await["claim"]["claimNumber"]
                .clone()
        }
    };
    let n = exchange().await;
    claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    claim_call(
        &t,
        &seller,
        "markCollected",
        json!({"claimNumber": n, "courier": "CJ", "trackingNumber": "E"}),
    )
    .await;
    let d = claim_call(
        &t,
        &ops,
        "rejectClaim",
        json!({"claimNumber": n, "courier": "CJ", "trackingNumber": "BACK"}),
    )
    .await;
    assert_eq!(status(&d), "EXCHANGE_REJECTED");
    assert_eq!(
        d["claim"]["redelivery"],
        json!({"trackingNumber": "BACK"}),
        "the original goes back"
    );
    assert_eq!(t.stock(other).await, 5, "reservation released");
    let n = exchange().await;
    claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    claim_call(
        &t,
        &seller,
        "markCollected",
        json!({"claimNumber": n, "courier": "CJ", "trackingNumber": "F"}),
    )
    .await;
    let d = claim_call(&t, &seller, "refundExchange", json!({"claimNumber": n})).await;
    assert_eq!(status(&d), "EXCHANGE_REFUNDING", "{d}");
    assert_eq!(d["claim"]["refund"]["cash"], 10000);
    assert_eq!(d["claim"]["refund"]["deductions"], json!([]));
    assert_eq!(t.stock(other).await, 5);
    let n = exchange().await;
    let d = claim_call(&t, &customer, "withdrawClaim", json!({"claimNumber": n})).await;
    assert_eq!(status(&d), "EXCHANGE_WITHDRAWN");

    // A bank transfer refunded after the deposit waits for the refund account.
    let (number, line) = order(1, "BANK_TRANSFER").await;
    crate::builders::deposit_in_full(&t, &ops, &number).await;
    let d = claim_call(
        &t,
        &customer,
        "requestCancel",
        json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}]}),
    )
    .await;
    assert_eq!(status(&d), "CANCEL_REFUNDING");
    assert_eq!(d["claim"]["refund"]["status"], "ACCOUNT_REQUIRED");
    assert!(d["claim"]["availableActions"]
        .as_array()
        .unwrap()
        .contains(&json!("SET_REFUND_ACCOUNT")));
    let n = d["claim"]["claimNumber"].clone();
    run_refund_job(&t).await;
    let d = claim_call(&t, &customer, "setRefundAccount", json!({"claimNumber": n, "bank": "국민은행", "accountNumber": "123-45-678", "holder": "테스트 고객"})).await;
    assert_eq!(d["claim"]["refund"]["status"], "PENDING", "{d}");
    run_refund_job(&t).await;
    let d = t
        .gql(
            &customer,
            "query($n: String!) { claim(claimNumber: $n) { status } }",
            json!({"n": n}),
        )
        .await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED");
}
on_both!(other_paths, more_paths);

/// The default policy through the API: windows (CLAIM_WINDOW_CLOSED), replacements at another
/// price or without stock, and the decision recorded on the claim.
async fn policy_refusals(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let pricier = t.sibling_option(shop.option, 12000, 5).await;
    let empty = t.sibling_option(shop.option, 10000, 0).await;
    let customer = shop.customer().token.clone();
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(2)
        .delivered(&t)
        .await
        .number_and_line();
    let exchange = |option: i64| json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1, "replacementOptionId": gid("ProductOption", option)}], "reason": "SIZE_OR_OPTION_CHANGE"});
    let d = claim_call(&t, &customer, "requestExchange", exchange(pricier)).await;
    assert_eq!(
        d["userErrors"][0]["code"], "PRICE_DIFFERENCE_NOT_SUPPORTED",
        "{d}"
    );
    let d = claim_call(&t, &customer, "requestExchange", exchange(empty)).await;
    assert_eq!(d["userErrors"][0]["code"], "OUT_OF_STOCK", "{d}");
    let d = ClaimBuilder::return_of(&number, &line)
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    let q = "query($n: String!) { claim(claimNumber: $n) { policyDecision { claimFees { policy plugin { id } output fallback { reason } } claimWindow { policy output } exchangeRules { policy } } } }";
    let decision = t.gql(&customer, q, json!({"n": n})).await["claim"]["policyDecision"].clone();
    assert_eq!(decision["claimFees"]["policy"], "DEFAULT", "{decision}");
    assert_eq!(decision["claimFees"]["plugin"], Value::Null);
    assert_eq!(decision["claimFees"]["fallback"], Value::Null);
    assert_eq!(decision["claimFees"]["output"]["fault"], "CUSTOMER");
    assert_eq!(decision["claimFees"]["output"]["returnFee"], 3000);
    assert_eq!(decision["claimWindow"]["output"]["allowed"], true);
    assert_eq!(decision["exchangeRules"], Value::Null);
    claim_call(&t, &customer, "withdrawClaim", json!({"claimNumber": n})).await;
    t.clock.advance(chrono::Duration::days(8));
    let d = ClaimBuilder::return_of(&number, &line)
        .request(&t, &customer)
        .await;
    assert_eq!(d["userErrors"][0]["code"], "CLAIM_WINDOW_CLOSED", "{d}");
    let d = ClaimBuilder::return_of(&number, &line)
        .reason("DEFECTIVE")
        .request(&t, &customer)
        .await;
    assert_eq!(d["claim"]["status"], "RETURN_REQUESTED", "{d}");
    assert_eq!(t.stock(empty).await, 0);
    assert_eq!(t.stock(pricier).await, 5);
}
on_both!(policy_paths, policy_refusals);

/// A claim fee paid by bank transfer: announced by the customer, counted only when an operator
/// confirms the deposit.
async fn fee_by_transfer(t: TestApp) {
    let shop = ShopBuilder::new().fees(3000, 50000, 2500).build(&t).await;
    let other = t.sibling_option(shop.option, 10000, 5).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let ops = t.operator();
    let o = OrderBuilder::new(&shop).delivered(&t).await;
    let line = o.line().to_owned();
    let d = ClaimBuilder::exchange(&o.number, &line, other)
        .reason("CHANGE_OF_MIND")
        .request(&t, &customer)
        .await;
    let n = d["claim"]["claimNumber"].clone();
    assert_eq!(d["claim"]["exchangeFee"], 5000);
    let d = claim_call(
        &t,
        &customer,
        "payClaimFee",
        json!({"claimNumber": n, "amount": 5000, "method": "BANK_TRANSFER"}),
    )
    .await;
    assert_eq!(
        d["claim"]["hold"]["reason"], "RETURN_FEE_UNPAID",
        "still held until the deposit: {d}"
    );
    let (_, body) = t.post(Some(&seller), "mutation($n: String!) { confirmClaimFeeTransfer(input: {claimNumber: $n}) { userErrors { code } } }", json!({"n": n})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let d = claim_call(
        &t,
        &ops,
        "confirmClaimFeeTransfer",
        json!({"claimNumber": n}),
    )
    .await;
    assert!(d["claim"]["hold"].is_null(), "{d}");
    let d = t.gql(&customer, "query($n: String!) { claim(claimNumber: $n) { feePaid } order: claim(claimNumber: $n) { order { tenders { method amount status } } } }", json!({"n": n})).await;
    assert_eq!(d["claim"]["feePaid"], 5000);
    assert!(
        d["order"]["order"]["tenders"]
            .as_array()
            .unwrap()
            .contains(&json!({"method": "BANK_TRANSFER", "amount": 5000, "status": "PAID"})),
        "{d}"
    );
}
on_both!(fee_transfer, fee_by_transfer);

/// A paid exchange fee comes back in full when the exchange is withdrawn before collection;
/// an exchange converted after collection carries the collection, so the new return's approval
/// goes straight to RETURN_COLLECTED.
async fn fee_refund_and_carried_collection(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let other = t.sibling_option(shop.option, 10000, 5).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(2)
        .delivered(&t)
        .await
        .number_and_line();
    let exchange = |reason: &'static str| json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1, "replacementOptionId": gid("ProductOption", other)}], "reason": reason});

    let d = claim_call(&t, &customer, "requestExchange", exchange("CHANGE_OF_MIND")).await;
    let n = d["claim"]["claimNumber"].clone();
    claim_call(
        &t,
        &customer,
        "payClaimFee",
        json!({"claimNumber": n, "amount": 6000}),
    )
    .await;
    let d = claim_call(&t, &customer, "withdrawClaim", json!({"claimNumber": n})).await;
    assert_eq!(d["claim"]["status"], "EXCHANGE_WITHDRAWN");
    assert_eq!(d["claim"]["refund"]["cash"], 6000, "{d}");
    run_refund_job(&t).await;
    let q = "query($n: String!) { claim(claimNumber: $n) { refund { status parts { method amount status } } order { tenders { method amount refundedAmount } } } }";
    let d = t.gql(&customer, q, json!({"n": n})).await;
    assert_eq!(d["claim"]["refund"]["status"], "SUCCEEDED");
    assert_eq!(
        d["claim"]["refund"]["parts"],
        json!([{"method": "CARD", "amount": 6000, "status": "SUCCEEDED"}])
    );
    let fee_tender = d["claim"]["order"]["tenders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["amount"] == 6000)
        .cloned()
        .unwrap();
    assert_eq!(fee_tender["refundedAmount"], 6000);

    let d = claim_call(&t, &customer, "requestExchange", exchange("DEFECTIVE")).await;
    let n = d["claim"]["claimNumber"].clone();
    claim_call(&t, &seller, "approveClaim", json!({"claimNumber": n})).await;
    claim_call(
        &t,
        &seller,
        "markCollected",
        json!({"claimNumber": n, "courier": "CJ", "trackingNumber": "C-1"}),
    )
    .await;
    let d = claim_call(&t, &seller, "convertClaim", json!({"claimNumber": n})).await;
    assert_eq!(d["claim"]["type"], "RETURN", "{d}");
    assert_eq!(d["claim"]["status"], "RETURN_REQUESTED");
    assert_eq!(d["claim"]["carriesCollection"], true);
    assert_eq!(d["claim"]["collection"]["trackingNumber"], "C-1");
    // Carrying a collection, it counts as collected: no withdrawal, approval skips the pickup.
    let w = claim_call(
        &t,
        &customer,
        "withdrawClaim",
        json!({"claimNumber": d["claim"]["claimNumber"]}),
    )
    .await;
    assert_eq!(w["userErrors"][0]["code"], "CLAIM_ACTION_NOT_ALLOWED");
    let d = claim_call(
        &t,
        &seller,
        "approveClaim",
        json!({"claimNumber": d["claim"]["claimNumber"]}),
    )
    .await;
    assert_eq!(d["claim"]["status"], "RETURN_COLLECTED", "{d}");
    assert_eq!(
        t.stock(other).await,
        5,
        "the exchange's reservation was released"
    );
}
on_both!(fee_refund_and_conversion, fee_refund_and_carried_collection);

/// The demo marketplace has lines in every line status and claims in every claim status, so a
/// CS agent can try every action in GraphiQL.
async fn demo_covers_every_status(t: TestApp) {
    oms::demo::seed_if_empty(&t.app).await.unwrap();
    let ops = t.operator();
    let d = t.gql(&ops, "{ claims(first: 100) { edges { node { status } } } orders(first: 100) { nodes { lines { status } } } }", json!({})).await;
    let claims: Vec<&str> = d["claims"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["status"].as_str().unwrap())
        .collect();
    for status in oms::domain::claim::ClaimStatus::ALL {
        assert!(
            claims.contains(&status.as_str()),
            "no demo claim is {}",
            status.as_str()
        );
    }
    let lines: Vec<&str> = d["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["lines"].as_array().unwrap())
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    for status in oms::domain::order::LineStatus::ALL {
        assert!(lines.contains(&status.as_str()), "no demo line is {status}");
    }
}
on_both!(demo_statuses, demo_covers_every_status);
