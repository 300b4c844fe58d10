//! Answers that explain themselves (issue 17): every error code a client can receive is in one
//! catalogue (`oms::codes`, `docs/error-codes.md`) and the server's source sends no other; a
//! transition that moves a claim's fault or fees says so on its timeline event, over GraphQL
//! and on the `claimEvents` subscription.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::StatusCode;
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::builders::{ClaimBuilder, OrderBuilder, PlacedOrder, Shop, ShopBuilder};
use crate::claims::claim_call;
use crate::events::next_json;
use crate::harness::{graphql_socket, Backend, TestApp};
use crate::on_both;

// ---------------------------------------------------------------------------------------------
// The catalogue

#[test]
fn error_codes_file_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/error-codes.md");
    let file = std::fs::read_to_string(path).unwrap_or_default();
    let md = oms::codes::render_markdown();
    if file != md && std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &md).unwrap();
        return;
    }
    assert!(
        file == md,
        "docs/error-codes.md is stale: run `cargo run -- codes > docs/error-codes.md` (or \
         UPDATE_DOCS=1 cargo test --test api codes)"
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The server's source files with their text.
fn sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// True for a literal that reads like a code: `SCREAMING_SNAKE_CASE`.
fn code_like(s: &str) -> bool {
    s.len() >= 2
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The string literal starting at `text[at]` (a `"`), and where it ends.
fn literal_at(text: &str, at: usize) -> Option<(&str, usize)> {
    let rest = text.get(at..)?.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some((&rest[..end], at + 1 + end + 1))
}

/// The code-like literals in the brackets that open at `text[open]` (`(` or `{`), with the
/// offsets where they start.
fn literals_within(text: &str, open: usize) -> Vec<(usize, String)> {
    let (up, down) = match text.as_bytes()[open] {
        b'(' => (b'(', b')'),
        _ => (b'{', b'}'),
    };
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut i = open;
    while i < text.len() {
        match text.as_bytes()[i] {
            b if b == up => depth += 1,
            b if b == down => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            b'"' => {
                let Some((lit, end)) = literal_at(text, i) else {
                    break;
                };
                if code_like(lit) {
                    found.push((i, lit.to_owned()));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The code-like literals `text` writes where a code goes, with their lines: the value after
/// a `"code"` key (`ext.set("code", "X")`, `json!({"code": "X"})`), any argument of the
/// functions that build coded answers (`error_body`, `refuse`, `coded`), and, with
/// `code_fns`, what a `fn code` returns (`Refusal::code` of the document guard). The
/// emitters take the catalogue's enums, so none should remain; one that does must at least
/// be catalogued.
fn coded_literals(text: &str, code_fns: bool) -> Vec<(usize, String)> {
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    for (at, _) in text.match_indices("\"code\"") {
        let after = &text[at + "\"code\"".len()..];
        let trimmed = after.trim_start();
        let Some(sep) = trimmed.strip_prefix([',', ':']) else {
            continue;
        };
        let value = sep.trim_start();
        let start = text.len() - value.len();
        if let Some((lit, _)) = literal_at(text, start).filter(|(l, _)| code_like(l)) {
            found.push((line_of(start), lit.to_owned()));
        }
    }
    for emitter in ["error_body(", "refuse(", "coded("] {
        for (at, _) in text.match_indices(emitter) {
            // A definition (`fn refuse(`) is not a call.
            if text[..at].trim_end().ends_with("fn") {
                continue;
            }
            let args = literals_within(text, at + emitter.len() - 1);
            found.extend(args.into_iter().map(|(i, lit)| (line_of(i), lit)));
        }
    }
    if code_fns {
        for (at, _) in text.match_indices("fn code(") {
            let Some(body) = text[at..].find('{') else {
                continue;
            };
            let returned = literals_within(text, at + body);
            found.extend(returned.into_iter().map(|(i, lit)| (line_of(i), lit)));
        }
    }
    found
}

/// The scan finds a code written as a literal in each position it looks at (so the test below
/// can fail), and nothing in prose or in other literals.
#[test]
fn the_source_scan_finds_literal_codes() {
    let sample = r#"
        fn refuse(status: StatusCode, code: &str) {}
        let e = Error::new("x").extend_with(|_, ext| ext.set("code", "MADE_UP_ONE"));
        let body = json!({"errors": [{"extensions": {"code": "MADE_UP_TWO"}}]});
        return refuse(
            StatusCode::BAD_REQUEST,
            "MADE_UP_THREE",
            &format!("unknown event `{other}`: PICKED_UP"),
        );
        let status = "PAID";
        impl Refusal {
            pub fn code(&self) -> &'static str {
                match self {
                    Refusal::New => "MADE_UP_FOUR",
                }
            }
        }
    "#;
    let found: Vec<String> = coded_literals(sample, true)
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(
        found,
        [
            "MADE_UP_ONE",
            "MADE_UP_TWO",
            "MADE_UP_THREE",
            "MADE_UP_FOUR"
        ]
    );
    assert_eq!(coded_literals(sample, false).len(), 3);
}

/// No code reaches a client without being in the catalogue: the source writes no
/// uncatalogued code where a code goes, and every code of `ErrorCode` is sent from somewhere
/// (a catalogued code no answer carries would send clients looking for it).
#[test]
fn the_server_sends_only_catalogued_codes() {
    let files = sources();
    let mut unknown = Vec::new();
    let domain = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    for (path, text) in &files {
        // The domain's refusals start their messages with a code of their own, which the
        // service layer maps to a `userErrors` code and strips (`service::claims`); none is
        // sent as such.
        let code_fns = !path.starts_with(&domain);
        for (line, code) in coded_literals(text, code_fns) {
            if !oms::codes::is_known(&code) {
                unknown.push(format!("{}:{line}: {code}", path.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "codes sent without a catalogue entry (add them to src/codes.rs, or send a catalogued \
         one): {unknown:#?}"
    );
    for code in oms::codes::ErrorCode::ALL {
        let used = format!("ErrorCode::{code:?}");
        assert!(
            files
                .iter()
                .any(|(p, text)| !p.ends_with("codes.rs") && text.contains(&used)),
            "{} is catalogued but nothing sends it",
            code.as_str()
        );
    }
}

/// An unknown enum value is a validation error, with the catalogue's code for it.
async fn an_unknown_enum_value_is_a_validation_failure(t: TestApp) {
    let (status, body) = t
        .post(
            Some(&t.operator()),
            "{ claims(first: 5, filter: {status: NOT_A_STATUS}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body.get("data"), None, "nothing ran: {body}");
    let code = body["errors"][0]["extensions"]["code"].as_str().unwrap();
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(oms::codes::is_known(code));
    assert_eq!(
        oms::codes::ErrorCode::parse(code),
        Some(oms::codes::ErrorCode::GraphqlValidationFailed)
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("NOT_A_STATUS"), "names the value: {body}");
}
on_both!(
    an_unknown_enum_value_is_a_validation_failure,
    an_unknown_enum_value_is_a_validation_failure
);

// ---------------------------------------------------------------------------------------------
// Fault and fee changes on the timeline

const TIMELINE: &str = "query($n: String!) { claim(claimNumber: $n) { fault reason status refund { cash credit deductions { kind amount } parts { method amount } } timeline { version action toStatus payload faultChange { from to because } feeChange { before after because } } } }";

async fn claim_of(t: &TestApp, n: &str) -> Value {
    t.gql(&t.operator(), TIMELINE, json!({ "n": n })).await["claim"].clone()
}

/// The last event of a claim's timeline.
fn last_event(claim: &Value) -> Value {
    claim["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone()
}

/// A shop whose option costs 30,000 with shipping free from 50,000 (base fee 3,000), and an
/// order of two units paid by card (free shipping), confirmed: PREPARING, so the customer's
/// cancel waits for the seller.
async fn preparing_order(t: &TestApp) -> (Shop, PlacedOrder) {
    let shop = ShopBuilder::new()
        .fees(3000, 50_000, 3000)
        .price(30_000)
        .stock(10)
        .build(t)
        .await;
    let order = OrderBuilder::new(&shop).quantity(2).place(t).await;
    let d = t
        .gql(
            &shop.operator,
            "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code message } } }",
            json!({"n": order.number}),
        )
        .await;
    assert_eq!(d["confirmOrder"]["userErrors"], json!([]), "{d}");
    (shop, order)
}

/// A customer's change-of-mind cancel of one of the two units, waiting for the seller.
async fn cancel_request(t: &TestApp, shop: &Shop, order: &PlacedOrder) -> String {
    let d = ClaimBuilder::cancel(&order.number, order.line())
        .reason("CHANGE_OF_MIND")
        .request(t, &shop.customer().token)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["claim"]["status"], "CANCEL_REQUESTED", "{d}");
    assert_eq!(d["claim"]["fault"], "CUSTOMER", "{d}");
    d["claim"]["claimNumber"].as_str().unwrap().to_owned()
}

/// A seller approving a change-of-mind cancel for want of stock: the claim keeps the
/// customer's reason, becomes the seller's fault, and the approval's timeline event says so —
/// the stock-out, the fault moving from the customer to the seller, and the initial-shipping
/// charge (the cancel breaks free shipping) that the customer no longer bears. Without the
/// stock-out the same approval charges it and explains nothing, since nothing moved.
async fn an_out_of_stock_approval_explains_itself(t: TestApp) {
    // The control: the same cancel approved with stock is the customer's, and pays the base
    // fee for breaking free shipping.
    let (shop, order) = preparing_order(&t).await;
    let n = cancel_request(&t, &shop, &order).await;
    let d = claim_call(
        &t,
        &shop.seller.token,
        "approveClaim",
        json!({"claimNumber": n}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let claim = claim_of(&t, &n).await;
    assert_eq!(claim["fault"], "CUSTOMER");
    assert_eq!(
        claim["refund"]["deductions"],
        json!([{"kind": "INITIAL_SHIPPING", "amount": 3000}]),
        "{claim}"
    );
    assert_eq!(claim["refund"]["cash"], 27_000);
    let approval = last_event(&claim);
    assert_eq!(approval["action"], "APPROVE");
    assert_eq!(approval["faultChange"], Value::Null, "{approval}");
    assert_eq!(approval["feeChange"], Value::Null, "{approval}");
    let stock_after_restock = t.stock(shop.option).await;

    // The same cancel approved for want of stock.
    let (shop, order) = preparing_order(&t).await;
    let n = cancel_request(&t, &shop, &order).await;
    let stock = t.stock(shop.option).await;
    let d = claim_call(
        &t,
        &shop.seller.token,
        "approveClaim",
        json!({"claimNumber": n, "outOfStock": true}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let claim = claim_of(&t, &n).await;
    assert_eq!(claim["fault"], "SELLER", "{claim}");
    assert_eq!(
        claim["reason"], "CHANGE_OF_MIND",
        "the customer's reason stays"
    );
    assert_eq!(claim["refund"]["deductions"], json!([]), "{claim}");
    assert_eq!(claim["refund"]["cash"], 30_000);
    assert_eq!(
        t.stock(shop.option).await,
        stock,
        "no restock: the stock is not there"
    );
    assert_eq!(stock_after_restock, 9, "the control restocked its unit");

    let events = claim["timeline"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{claim}");
    assert_eq!(events[0]["action"], "REQUEST_CANCEL");
    assert_eq!(
        events[0]["faultChange"],
        Value::Null,
        "the request moved nothing"
    );
    let approval = &events[1];
    assert_eq!(approval["action"], "APPROVE");
    assert_eq!(
        approval["faultChange"],
        json!({"from": "CUSTOMER", "to": "SELLER", "because": "OUT_OF_STOCK"}),
        "{approval}"
    );
    assert_eq!(
        approval["feeChange"],
        json!({"before": 3000, "after": 0, "because": "OUT_OF_STOCK"}),
        "{approval}"
    );
    // The stored payload carries the same, for webhooks and the audit trail.
    let payload: Value = serde_json::from_str(approval["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["faultChange"], approval["faultChange"]);
    assert_eq!(payload["feeChange"], approval["feeChange"]);
    assert_eq!(payload["reason"], "CHANGE_OF_MIND");
}
on_both!(
    an_out_of_stock_approval_explains_itself,
    an_out_of_stock_approval_explains_itself
);

/// `outOfStock` means something only for a cancel request: on a return or an exchange an
/// approval used to ignore it silently; now it is refused, naming the field and what to do
/// instead, and changes nothing.
async fn out_of_stock_applies_to_cancels_only(t: TestApp) {
    let shop = ShopBuilder::new().with_sibling().build(&t).await;
    let order = OrderBuilder::new(&shop).delivered(&t).await;
    let n = ClaimBuilder::exchange(&order.number, order.line(), shop.sibling())
        .reason("SIZE_OR_OPTION_CHANGE")
        .open(&t, &shop.customer().token)
        .await;
    let before = claim_of(&t, &n).await;
    let d = claim_call(
        &t,
        &shop.seller.token,
        "approveClaim",
        json!({"claimNumber": n, "outOfStock": true}),
    )
    .await;
    assert_eq!(d["userErrors"][0]["code"], "INVALID_INPUT", "{d}");
    assert_eq!(d["userErrors"][0]["field"], json!(["input", "outOfStock"]));
    let message = d["userErrors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("cancel request only") && message.contains("refundExchange"),
        "{message}"
    );
    assert_eq!(claim_of(&t, &n).await, before, "nothing changed");
}
on_both!(
    out_of_stock_applies_to_cancels_only,
    out_of_stock_applies_to_cancels_only
);

/// `refundExchange` refunds a customer-fault exchange as a seller-fault return: the claim's
/// fault follows the money, and the event says why and that the exchange fee the customer
/// paid is no longer theirs to bear. The fee comes back once (it used to be refunded twice,
/// which the database refused: an INTERNAL error for every paid exchange fee).
async fn a_refunded_exchange_becomes_the_sellers_fault(t: TestApp) {
    let shop = ShopBuilder::new().with_sibling().build(&t).await;
    let order = OrderBuilder::new(&shop).delivered(&t).await;
    let customer = shop.customer().token.clone();
    let n = ClaimBuilder::exchange(&order.number, order.line(), shop.sibling())
        .reason("SIZE_OR_OPTION_CHANGE")
        .open(&t, &customer)
        .await;
    let claim = claim_of(&t, &n).await;
    assert_eq!(claim["fault"], "CUSTOMER");
    // Twice the return fee, held until paid.
    let d = claim_call(
        &t,
        &customer,
        "payClaimFee",
        json!({"claimNumber": n, "amount": 6000}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let seller = shop.seller.token.clone();
    for (mutation, input) in [
        ("approveClaim", json!({"claimNumber": n})),
        (
            "markCollected",
            json!({"claimNumber": n, "courier": "CJ", "trackingNumber": "X1"}),
        ),
        ("refundExchange", json!({"claimNumber": n})),
    ] {
        let d = claim_call(&t, &seller, mutation, input).await;
        assert_eq!(d["userErrors"], json!([]), "{mutation}: {d}");
    }
    let claim = claim_of(&t, &n).await;
    assert_eq!(claim["fault"], "SELLER", "{claim}");
    assert_eq!(claim["reason"], "SIZE_OR_OPTION_CHANGE");
    let refund = last_event(&claim);
    assert_eq!(refund["action"], "REFUND_EXCHANGE");
    assert_eq!(
        refund["faultChange"],
        json!({"from": "CUSTOMER", "to": "SELLER", "because": "REPLACEMENT_UNDELIVERABLE"}),
        "{refund}"
    );
    assert_eq!(
        refund["feeChange"],
        json!({"before": 6000, "after": 0, "because": "REPLACEMENT_UNDELIVERABLE"}),
        "{refund}"
    );
    // The goods, the shipping paid (no unit of the group is left) and the fee paid come back,
    // the fee once, to the payment that paid it.
    assert_eq!(claim["refund"]["credit"], 6000, "{claim}");
    assert_eq!(claim["refund"]["cash"], 10_000 + 3000 + 6000, "{claim}");
    assert_eq!(claim["refund"]["deductions"], json!([]));
    let mut parts: Vec<i64> = claim["refund"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .collect();
    parts.sort_unstable();
    assert_eq!(parts, [6000, 13_000], "{claim}");
}
on_both!(
    a_refunded_exchange_becomes_the_sellers_fault,
    a_refunded_exchange_becomes_the_sellers_fault
);

/// A conversion opens a claim decided afresh by the policy: with the built-in default the
/// fault follows the reason, so it does not move and the new claim's first event records no
/// fault change; the exchange fee already paid is said to be carried over as the return's
/// credit.
async fn a_conversion_says_what_it_carries_over(t: TestApp) {
    let shop = ShopBuilder::new().with_sibling().build(&t).await;
    let order = OrderBuilder::new(&shop).delivered(&t).await;
    let customer = shop.customer().token.clone();
    let n = ClaimBuilder::exchange(&order.number, order.line(), shop.sibling())
        .reason("SIZE_OR_OPTION_CHANGE")
        .open(&t, &customer)
        .await;
    let d = claim_call(
        &t,
        &customer,
        "payClaimFee",
        json!({"claimNumber": n, "amount": 6000}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let d = claim_call(&t, &customer, "convertClaim", json!({"claimNumber": n})).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let new = d["claim"]["claimNumber"].as_str().unwrap().to_owned();
    let claim = claim_of(&t, &new).await;
    assert_eq!(claim["fault"], "CUSTOMER");
    let opened = &claim["timeline"][0];
    assert_eq!(opened["action"], "CONVERT_TO_RETURN", "{opened}");
    assert_eq!(opened["faultChange"], Value::Null, "{opened}");
    let payload: Value = serde_json::from_str(opened["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["feeCredit"], 6000, "{payload}");
    assert_eq!(
        payload["policyDecision"]["claimFees"]["output"]["fault"], "CUSTOMER",
        "{payload}"
    );
}
on_both!(
    a_conversion_says_what_it_carries_over,
    a_conversion_says_what_it_carries_over
);

/// The `claimEvents` subscription carries the same explanation as the timeline.
async fn subscribers_see_the_fault_change(t: TestApp) {
    let (shop, order) = preparing_order(&t).await;
    let n = cancel_request(&t, &shop, &order).await;
    let addr = t.serve_on_loopback().await;
    let mut ws = graphql_socket(addr).await;
    let text = |v: Value| Message::Text(v.to_string().into());
    ws.send(text(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", shop.seller.token)}})))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    ws.send(text(json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription($n: String!) { claimEvents(claimNumber: $n) { action status faultChange { from to because } feeChange { before after because } } }",
        "variables": {"n": n}}})))
        .await
        .unwrap();
    for _ in 0..200 {
        if t.app.metrics.live_subscriptions() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.app.metrics.live_subscriptions(), 1, "the feed opened");
    let d = claim_call(
        &t,
        &shop.seller.token,
        "approveClaim",
        json!({"claimNumber": n, "outOfStock": true}),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let m = next_json(&mut ws).await;
    assert_eq!(m["type"], "next", "{m}");
    let e = &m["payload"]["data"]["claimEvents"];
    assert_eq!(e["action"], "APPROVE", "{e}");
    assert_eq!(
        e["faultChange"],
        json!({"from": "CUSTOMER", "to": "SELLER", "because": "OUT_OF_STOCK"}),
        "{e}"
    );
    assert_eq!(
        e["feeChange"],
        json!({"before": 3000, "after": 0, "because": "OUT_OF_STOCK"}),
        "{e}"
    );
}
on_both!(
    subscribers_see_the_fault_change,
    subscribers_see_the_fault_change
);
