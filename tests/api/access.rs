//! Who sees and does what: every query and mutation against every role, and the two halves of
//! a two-seller order.

use oms::domain::actor::Role;
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder};
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;
use crate::orders::PLACE;

/// What a call came to, in one word.
fn outcome(root: &str, body: &Value) -> String {
    if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
        return code.to_owned();
    }
    let data = &body["data"][root];
    if data.is_null() {
        return "null".into();
    }
    if let Some(code) = data["userErrors"][0]["code"].as_str() {
        return code.to_owned();
    }
    if data.get("edges").is_some() && data["edges"].as_array().is_some_and(|e| e.is_empty()) {
        return "empty".into();
    }
    "ok".into()
}

/// Every operation of the schema, called by every role on an order of customer A and seller A.
async fn role_matrix(t: TestApp) {
    let sa = t.seller("판매자A", 3000, 50000, 3000).await;
    let sb = t.seller("판매자B", 3000, 50000, 3000).await;
    let opt = t.option(sa, 10000, 100).await;
    let ca = t.customer(0).await;
    let cb = t.customer(0).await;
    let ops = t.operator();
    let order = || {
        OrderBuilder::by(&ops)
            .customer(ca)
            .line(opt, 1)
            .bank_transfer()
    };
    let placed = order().place(&t).await;
    let (number, line) = placed.number_and_line();
    let order_id = placed.order["id"].as_str().unwrap().to_owned();

    let roles: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("customer A", Some(t.token(Role::Customer, &ca.to_string()))),
        ("customer B", Some(t.token(Role::Customer, &cb.to_string()))),
        ("seller A", Some(t.token(Role::Seller, &sa.to_string()))),
        ("seller B", Some(t.token(Role::Seller, &sb.to_string()))),
        ("operator", Some(ops.clone())),
        ("analyst", Some(t.token(Role::Analyst, "analyst"))),
    ];
    // (root field, document, variables, expected outcome per role in the order above)
    let u = "UNAUTHENTICATED";
    let f = "FORBIDDEN";
    let matrix: Vec<(&str, String, Value, [&str; 7])> = vec![
        ("viewer", "{ viewer { role } }".into(), json!({}), ["null", "ok", "ok", "ok", "ok", "ok", "ok"]),
        ("order", "query($n: String!) { order(orderNumber: $n) { orderNumber } }".into(), json!({"n": number}), [u, "ok", "null", "ok", "null", "ok", "ok"]),
        ("orders", "{ orders(first: 5) { edges { node { orderNumber } } } }".into(), json!({}), [u, "ok", "empty", "ok", "empty", "ok", "ok"]),
        ("node", "query($id: ID!) { node(id: $id) { id } }".into(), json!({"id": order_id}), [u, "ok", "null", "ok", "null", "ok", "ok"]),
        ("sellers", "{ sellers { name } }".into(), json!({}), [u, "ok", "ok", "ok", "ok", "ok", "ok"]),
        ("products", "{ products { name } }".into(), json!({}), [u, "ok", "ok", "ok", "ok", "ok", "ok"]),
        ("placeOrder", PLACE.into(), json!({"input": order().input()}), [u, "ok", "FIELD_NOT_ALLOWED", f, f, "ok", f]),
        ("confirmOrder", "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } order { id } } }".into(), json!({"n": number}), [u, f, f, "LINE_STATUS_NOT_ALLOWED", "NOT_FOUND", "LINE_STATUS_NOT_ALLOWED", f]),
        ("shipLines", "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ\", trackingNumber: \"1\"}) { userErrors { code } order { id } } }".into(), json!({"l": [line]}), [u, f, f, "LINE_STATUS_NOT_ALLOWED", "NOT_FOUND", "LINE_STATUS_NOT_ALLOWED", f]),
        ("markDelivered", "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code } order { id } } }".into(), json!({"l": [line]}), [u, f, f, "LINE_STATUS_NOT_ALLOWED", "NOT_FOUND", "LINE_STATUS_NOT_ALLOWED", f]),
        ("confirmPurchase", "mutation($n: String!) { confirmPurchase(input: {orderNumber: $n}) { userErrors { code } order { id } } }".into(), json!({"n": number}), [u, "LINE_STATUS_NOT_ALLOWED", "NOT_FOUND", f, f, "LINE_STATUS_NOT_ALLOWED", f]),
        ("runSystemJobs", "mutation { runSystemJobs(input: {}) { runs { ran } } }".into(), json!({}), [u, f, f, f, f, "ok", f]),
        ("confirmDeposit", "mutation($n: String!) { confirmDeposit(input: {orderNumber: $n, amount: 13000}) { userErrors { code } order { status } } }".into(), json!({"n": number}), [u, f, f, f, f, "ok", f]),
        // Paid by then: its customer and an operator hear that it waits for no payment.
        ("confirmPayment", "mutation($n: String!) { confirmPayment(input: {orderNumber: $n, paymentKey: \"pk-1\", amount: 13000}) { userErrors { code } order { status } } }".into(), json!({"n": number}), [u, "NOT_AWAITING_PAYMENT", "NOT_FOUND", f, f, "NOT_AWAITING_PAYMENT", f]),
    ];
    for (root, doc, vars, expected) in &matrix {
        for ((who, token), want) in roles.iter().zip(expected.iter()) {
            let (_, body) = t.post(token.as_deref(), doc, vars.clone()).await;
            assert_eq!(&outcome(root, &body), want, "{root} as {who}: {body}");
        }
    }
}
on_both!(matrix, role_matrix);

/// A two-seller order shows each seller its half and no order-wide money; a customer's token
/// cannot reach another customer's objects by id.
async fn two_seller_order_halves(t: TestApp) {
    let sa = t.seller("판매자A", 3000, 50000, 3000).await;
    let sb = t.seller("판매자B", 2500, 30000, 2500).await;
    let oa = t.option(sa, 10000, 10).await;
    let ob = t.option(sb, 20000, 10).await;
    let c = t.customer(0).await;
    let customer = t.token(Role::Customer, &c.to_string());
    let number = OrderBuilder::by(&customer)
        .line(oa, 1)
        .line(ob, 1)
        .place(&t)
        .await
        .number;
    let q = "query($n: String!) { order(orderNumber: $n) { totalAmount tenders { amount } lines { productName seller { id } } shippingGroups { shippingFee } customer { name email } } }";
    let seller_a = t.token(Role::Seller, &sa.to_string());
    let d = t.gql(&seller_a, q, json!({"n": number})).await;
    let o = &d["order"];
    assert_eq!(o["lines"].as_array().unwrap().len(), 1);
    assert_eq!(o["lines"][0]["seller"]["id"], gid("Seller", sa));
    assert_eq!(o["shippingGroups"], json!([{"shippingFee": 3000}]));
    assert!(o["totalAmount"].is_null());
    assert_eq!(o["tenders"], json!([]));
    assert!(o["customer"]["email"].is_null());
    let d = t.gql(&customer, q, json!({"n": number})).await;
    assert_eq!(d["order"]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(d["order"]["totalAmount"], 10000 + 3000 + 20000 + 2500);
    assert_eq!(d["order"]["customer"]["email"], "c@example.com");
    // The other seller's line by global id: not found, not forbidden.
    let line_b = t
        .gql(
            &customer,
            "query($n: String!) { order(orderNumber: $n) { lines { id } } }",
            json!({"n": number}),
        )
        .await["order"]["lines"][1]["id"]
        .clone();
    let d = t
        .gql(
            &seller_a,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": line_b}),
        )
        .await;
    assert!(d["node"].is_null());
}
on_both!(halves, two_seller_order_halves);

/// Every claim query and mutation, called by anonymous, analyst and other-tenant callers on a
/// claim of customer A and seller A: refused or not found, and the claim unchanged.
async fn claim_tenancy(t: TestApp) {
    let sa = t.seller("판매자A", 3000, 50000, 3000).await;
    let sb = t.seller("판매자B", 3000, 50000, 3000).await;
    let opt = t.option(sa, 10000, 100).await;
    let ca = t.customer(0).await;
    let cb = t.customer(0).await;
    let customer_a = t.token(Role::Customer, &ca.to_string());
    let (number, line) = OrderBuilder::by(&customer_a)
        .line(opt, 2)
        .delivered(&t)
        .await
        .number_and_line();
    let d = ClaimBuilder::return_of(&number, &line)
        .request(&t, &customer_a)
        .await;
    let claim = d["claim"]["claimNumber"].as_str().unwrap().to_owned();

    let outsiders: Vec<(&str, Option<String>, &str)> = vec![
        ("anonymous", None, "UNAUTHENTICATED"),
        ("analyst", Some(t.token(Role::Analyst, "a")), "FORBIDDEN"),
        (
            "customer B",
            Some(t.token(Role::Customer, &cb.to_string())),
            "NOT_FOUND",
        ),
        (
            "seller B",
            Some(t.token(Role::Seller, &sb.to_string())),
            "NOT_FOUND",
        ),
    ];
    let items = json!([{"lineId": line, "quantity": 1}]);
    let on_claim = json!({"claimNumber": claim});
    let mutations: Vec<(&str, &str, Value)> = vec![
        (
            "requestCancel",
            "RequestCancelInput",
            json!({"orderNumber": number, "items": items}),
        ),
        (
            "sellerCancel",
            "SellerCancelInput",
            json!({"orderNumber": number, "items": items}),
        ),
        (
            "requestReturn",
            "RequestReturnInput",
            json!({"orderNumber": number, "items": items, "reason": "DEFECTIVE"}),
        ),
        (
            "requestExchange",
            "RequestExchangeInput",
            json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1, "replacementOptionId": gid("ProductOption", opt)}], "reason": "DEFECTIVE"}),
        ),
        ("approveClaim", "ApproveClaimInput", on_claim.clone()),
        ("rejectClaim", "CourierInput", on_claim.clone()),
        ("approveRejection", "ClaimActionInput", on_claim.clone()),
        ("declineRejection", "ClaimActionInput", on_claim.clone()),
        ("withdrawClaim", "ClaimActionInput", on_claim.clone()),
        (
            "markCollected",
            "CourierInput",
            json!({"claimNumber": claim, "courier": "CJ", "trackingNumber": "1"}),
        ),
        (
            "holdClaim",
            "HoldClaimInput",
            json!({"claimNumber": claim, "reason": "INSPECTION"}),
        ),
        ("approveHold", "ClaimActionInput", on_claim.clone()),
        ("declineHold", "ClaimActionInput", on_claim.clone()),
        ("releaseHold", "ClaimActionInput", on_claim.clone()),
        (
            "reshipExchange",
            "CourierInput",
            json!({"claimNumber": claim, "courier": "CJ", "trackingNumber": "1"}),
        ),
        ("completeReturn", "CompleteReturnInput", on_claim.clone()),
        ("completeExchange", "ClaimActionInput", on_claim.clone()),
        ("refundExchange", "ClaimActionInput", on_claim.clone()),
        (
            "convertClaim",
            "ConvertClaimInput",
            json!({"claimNumber": claim, "replacements": [{"lineId": line, "optionId": gid("ProductOption", opt)}]}),
        ),
        ("waiveClaimFee", "ClaimActionInput", on_claim.clone()),
        ("retryRefund", "ClaimActionInput", on_claim.clone()),
        (
            "resolveRefundManually",
            "ResolveRefundManuallyInput",
            json!({"claimNumber": claim, "reference": "X"}),
        ),
        (
            "setRefundAccount",
            "SetRefundAccountInput",
            json!({"claimNumber": claim, "bank": "B", "accountNumber": "1", "holder": "H"}),
        ),
    ];
    for (name, input_type, input) in &mutations {
        let doc = format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ claim {{ claimNumber }} userErrors {{ code }} }} }}");
        for (who, token, want) in &outsiders {
            let (_, body) = t
                .post(token.as_deref(), &doc, json!({"input": input}))
                .await;
            assert_eq!(outcome(name, &body), *want, "{name} as {who}: {body}");
        }
    }
    let q = "query($n: String!) { claim(claimNumber: $n) { status version } }";
    let claim_id = t
        .gql(
            &customer_a,
            "query($n: String!) { claim(claimNumber: $n) { id } }",
            json!({"n": claim}),
        )
        .await["claim"]["id"]
        .clone();
    let node = "query($id: ID!) { node(id: $id) { id ... on Claim { claimNumber } } }";
    let d = t.gql(&customer_a, node, json!({"id": claim_id})).await;
    assert_eq!(d["node"]["claimNumber"], claim.as_str(), "{d}");
    for (who, token, want) in &outsiders {
        let (_, body) = t.post(token.as_deref(), q, json!({"n": claim})).await;
        let expected = if *want == "UNAUTHENTICATED" {
            "UNAUTHENTICATED"
        } else if *who == "analyst" {
            "ok"
        } else {
            "null"
        };
        assert_eq!(outcome("claim", &body), expected, "claim as {who}: {body}");
        let (_, body) = t
            .post(token.as_deref(), node, json!({"id": claim_id}))
            .await;
        assert_eq!(outcome("node", &body), expected, "node as {who}: {body}");
        let (_, body) = t
            .post(
                token.as_deref(),
                "{ claims(first: 5) { edges { node { claimNumber } } } }",
                json!({}),
            )
            .await;
        let expected = if *want == "UNAUTHENTICATED" {
            "UNAUTHENTICATED"
        } else if *who == "analyst" {
            "ok"
        } else {
            "empty"
        };
        assert_eq!(
            outcome("claims", &body),
            expected,
            "claims as {who}: {body}"
        );
    }
    let d = t.gql(&customer_a, q, json!({"n": claim})).await;
    assert_eq!(
        d["claim"],
        json!({"status": "RETURN_REQUESTED", "version": 1})
    );
}
on_both!(claims_tenancy, claim_tenancy);
