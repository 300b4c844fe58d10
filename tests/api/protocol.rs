//! GraphQL over HTTP, limits, statement counts, operations endpoints and the checked-in schema.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use oms::config::LimitArgs;
use oms::domain::actor::Role;
use serde_json::json;

use crate::builders::{OrderBuilder, ShopBuilder};
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;
use crate::orders::PLACE;

#[test]
fn schema_file_is_current() {
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .unwrap_or_default();
    let sdl = oms::graphql::sdl();
    if file != sdl && std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"), &sdl).unwrap();
        return;
    }
    assert!(file == sdl, "schema.graphql is stale: run `cargo run -- schema > schema.graphql` (or UPDATE_SCHEMA=1 cargo test)");
}

/// A page of orders with lines, tenders, shipments, groups and sellers costs at most one
/// statement per batched field, for 5 orders as for 50.
async fn no_n_plus_one(t: TestApp) {
    let s1 = t.seller("A", 3000, 50000, 3000).await;
    let s2 = t.seller("B", 3000, 50000, 3000).await;
    let o1 = t.option(s1, 10000, 1000).await;
    let o2 = t.option(s2, 10000, 1000).await;
    let c = t.customer(100000).await;
    let customer = t.token(Role::Customer, &c.to_string());
    let ops = t.operator();
    for i in 0..55 {
        let d = t
            .gql(&customer, PLACE, json!({"input": {"lines": [{"optionId": gid("ProductOption", o1), "quantity": 1}, {"optionId": gid("ProductOption", o2), "quantity": 2}], "points": 100, "paymentMethod": "CARD"}}))
            .await;
        if i % 2 == 0 {
            let line = d["placeOrder"]["order"]["lines"][0]["id"].clone();
            let n = d["placeOrder"]["order"]["orderNumber"].clone();
            let due = d["placeOrder"]["order"]["amountDue"].clone();
            crate::builders::confirm_payment(&t, &customer, n.as_str().unwrap(), &due).await;
            t.gql(&ops, "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }", json!({"n": n})).await;
            t.gql(&ops, "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ\", trackingNumber: \"9\"}) { userErrors { code } } }", json!({"l": [line]})).await;
        }
    }
    let q = "query($n: Int!) { orders(first: $n) { edges { node { orderNumber customer { name } lines { productName seller { name } } tenders { amount } shipments { trackingNumber seller { name } } shippingGroups { shippingFee } coupon { code } } } } }";
    let mut counts = Vec::new();
    for n in [5, 50] {
        let before = t.app.db.statement_count();
        let d = t.gql(&ops, q, json!({"n": n})).await;
        counts.push(t.app.db.statement_count() - before);
        assert_eq!(d["orders"]["edges"].as_array().unwrap().len(), n as usize);
    }
    eprintln!("statements per orders page (5, 50): {counts:?}");
    // The page, customer, lines, tenders, shipments, groups, coupon, and the sellers of lines
    // and shipments (one batch, or two when their batches do not merge).
    assert!(
        counts.iter().all(|c| *c <= 9),
        "more statements than batched fields: {counts:?}"
    );
}
// Batching is time-based (the loaders gather keys for `loader_delay_us`); a generous window
// keeps the count independent of how busy the test machine is.
mod statement_counts {
    use super::*;
    fn limits() -> LimitArgs {
        LimitArgs {
            loader_delay_us: 50_000,
            ..LimitArgs::default()
        }
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

/// Keyset pagination walks every order once, forwards and backwards.
async fn pagination(t: TestApp) {
    let shop = ShopBuilder::new().price(1000).stock(100).build(&t).await;
    let customer = shop.customer().token.clone();
    for _ in 0..7 {
        OrderBuilder::new(&shop).place(&t).await;
        t.clock.advance(chrono::Duration::seconds(1));
    }
    let q = "query($a: String, $b: String, $f: Int, $l: Int) { orders(first: $f, after: $a, last: $l, before: $b, orderBy: {field: ORDER_NUMBER, direction: ASC}) { totalCount edges { node { orderNumber } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }";
    let mut seen = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let d = t.gql(&customer, q, json!({"f": 3, "a": after})).await;
        let page = &d["orders"];
        assert_eq!(page["totalCount"], 7);
        seen.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["orderNumber"].as_str().unwrap().to_owned()),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 7);
    let d = t.gql(&customer, q, json!({"l": 2})).await;
    let last: Vec<&str> = d["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["orderNumber"].as_str().unwrap())
        .collect();
    assert_eq!(last, vec![seen[5].as_str(), seen[6].as_str()]);
    assert_eq!(d["orders"]["pageInfo"]["hasPreviousPage"], true);
    // Page size over the cap is refused with the limit named.
    let (_, body) = t.post(Some(&customer), q, json!({"f": 101})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("100"));
}
on_both!(pages, pagination);

#[tokio::test]
async fn http_protocol_and_limits() {
    let limits = LimitArgs {
        max_depth: 4,
        max_body_bytes: 2000,
        ..LimitArgs::default()
    };
    let t = TestApp::with_limits(Backend::Sqlite, limits).await.unwrap();
    let ops = t.operator();
    // Too deep: refused before running, naming the limit.
    let (status, body) = t
        .post(
            Some(&ops),
            "{ orders { edges { node { lines { seller { name } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{body}"
    );
    assert!(body.get("data").is_none());
    // Too large a body.
    let big = "x".repeat(3000);
    let (status, body) = t
        .post(
            Some(&ops),
            &format!("{{ viewer {{ role }} }} # {big}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("2000"));
    // A mutation by GET is refused and not run.
    let req = Request::get(
        "/graphql?query=mutation%7BrunSystemJobs(input%3A%7B%7D)%7Bruns%7Bran%7D%7D%7D",
    )
    .header(header::AUTHORIZATION, format!("Bearer {ops}"))
    .body(Body::empty())
    .unwrap();
    let (status, _) = t.send(req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // POST without a JSON content type.
    let req = Request::post("/graphql")
        .body(Body::from("{\"query\":\"{viewer{role}}\"}"))
        .unwrap();
    assert_eq!(t.send(req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A forged token.
    let (status, body) = t
        .post(Some("not.a.token"), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // Batches are refused.
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("[{\"query\":\"{viewer{role}}\"}]"))
        .unwrap();
    assert_eq!(t.send(req).await.0, StatusCode::BAD_REQUEST);
    // Operations endpoints.
    assert_eq!(
        t.send(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = t
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"database": true, "migrations": true, "readReplica": null})
        )
    );
    let (_, metrics) = t
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("oms_graphql_requests_total{operation=\"anonymous\",outcome=\"refused\"}"),
        "{metrics}"
    );
}

/// GraphiQL, code generators and IDE plugins introspect with graphql-js's standard query (15
/// fields deep through `ofType`): it is answered whatever `--max-depth`, to anyone (the schema
/// is public: it is `schema.graphql` in the repository), while introspection that multiplies
/// the schema by itself is refused by its own bound, and data beside it keeps the data's limit.
#[tokio::test]
async fn introspection_for_every_client() {
    let limits = LimitArgs {
        max_depth: 4,
        ..LimitArgs::default()
    };
    let t = TestApp::with_limits(Backend::Sqlite, limits).await.unwrap();
    let standard = include_str!("../fixtures/introspection-graphql-js.graphql");
    for token in [None, Some(t.operator())] {
        // `post` asks for `application/graphql-response+json`, as graphql-js clients do.
        let (status, body) = t.post(token.as_deref(), standard, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        let types = body["data"]["__schema"]["types"].as_array().unwrap();
        let stats = types
            .iter()
            .find(|ty| ty["name"] == "ClaimStatsRow")
            .expect("ClaimStatsRow is introspected");
        assert!(!stats["fields"].as_array().unwrap().is_empty());
        assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    }
    // The data keeps its limit beside introspection.
    let (status, body) = t
        .post(
            Some(&t.operator()),
            "{ __schema { types { name } } orders { edges { node { lines { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("limit of 4 (--max-depth)"));
    // Introspection's own bound: a type's fields' types' fields, and an alias flood.
    for (query, code, says) in [
        (
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
            "INTROSPECTION_TOO_COMPLEX",
            "on one path",
        ),
        (
            &*format!(
                "{{ __schema {{ {} }} }}",
                (0..25)
                    .map(|i| format!("t{i}: types {{ name }}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            "INTROSPECTION_TOO_COMPLEX",
            "own limit of 24",
        ),
        (
            // Aliased copies in fragments: 90 aliases run, 352 selections for every field.
            &*format!(
                "{{ __schema {{ types {{ fields {{ ...A }} }} }} }} \
                 fragment A on __Field {{ name {} }} fragment T on __Type {{ name kind {} }}",
                (0..9)
                    .map(|i| format!("a{i}: type {{ ...T }} "))
                    .collect::<String>(),
                (0..9)
                    .map(|i| format!("b{i}: ofType {{ name kind ofType {{ name }} }} "))
                    .collect::<String>(),
            ),
            "INTROSPECTION_TOO_COMPLEX",
            "own limit of 300",
        ),
        (
            &*format!(
                "{{ __type(name: \"Query\") {{ {}name{} }} }}",
                "ofType { ".repeat(20),
                " }".repeat(20)
            ),
            "QUERY_TOO_DEEP",
            "own limit of 20",
        ),
    ] {
        let (status, body) = t.post(None, query, json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{body}"
        );
    }
}

/// A page of claims with items, lines, orders, refunds, parts, timelines and available actions
/// costs at most one statement per batched field whatever the page size: the page, seller,
/// order, order lines, items, item lines, refund, refund parts, the parts behind
/// availableActions, timeline and convertedTo — 11 (10 when the two levels' parts batches
/// happen to merge). Checked for 6 and for 24 claims of the demo.
async fn claims_no_n_plus_one(t: TestApp) {
    oms::demo::seed_if_empty(&t.app).await.unwrap();
    let ops = t.operator();
    let q = "query($n: Int!) { claims(first: $n) { edges { node { claimNumber status availableActions seller { name } order { orderNumber lines { status } } items { quantity line { productName } } refund { cash status parts { status } } timeline { action } convertedTo { claimNumber } } } } }";
    let mut counts = Vec::new();
    for n in [6, 24] {
        let before = t.app.db.statement_count();
        let d = t.gql(&ops, q, json!({"n": n})).await;
        counts.push(t.app.db.statement_count() - before);
        assert_eq!(d["claims"]["edges"].as_array().unwrap().len(), n as usize);
    }
    eprintln!("statements per claims page (6, 24): {counts:?}");
    assert!(
        counts.iter().all(|c| *c <= 11),
        "more statements than batched fields: {counts:?}"
    );
}

mod claim_statement_counts {
    use super::*;
    fn limits() -> LimitArgs {
        LimitArgs {
            loader_delay_us: 50_000,
            ..LimitArgs::default()
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        claims_no_n_plus_one(
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
        claims_no_n_plus_one(t).await;
    }
}

/// Statements per claim mutation (issue 9: at most 15), on a return flow of a card order and
/// of a bank-transfer order (whose refund account is given on the claim), counted one mutation
/// at a time with a payload of the claim's number and status; the refund job's payout too.
async fn statements_per_claim_mutation(t: TestApp) {
    let shop = ShopBuilder::new().price(12900).stock(100).build(&t).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let ops = t.operator();
    let mut report = Vec::new();
    let mut worst = 0;
    for method in ["CARD", "BANK_TRANSFER"] {
        let (number, line) = OrderBuilder::new(&shop)
            .quantity(2)
            .payment(method)
            .place(&t)
            .await
            .number_and_line();
        if method == "BANK_TRANSFER" {
            crate::builders::deposit_in_full(&t, &ops, &number).await;
        }
        crate::claims::deliver(&t, &number, std::slice::from_ref(&line)).await;
        let mut steps: Vec<(&str, &str, &str, serde_json::Value)> = vec![
            (
                "requestReturn",
                "RequestReturnInput",
                customer.as_str(),
                json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "CHANGE_OF_MIND"}),
            ),
            (
                "approveClaim",
                "ApproveClaimInput",
                seller.as_str(),
                json!({}),
            ),
            (
                "markCollected",
                "CourierInput",
                seller.as_str(),
                json!({"courier": "CJ대한통운", "trackingNumber": "R-1"}),
            ),
            (
                "completeReturn",
                "CompleteReturnInput",
                seller.as_str(),
                json!({}),
            ),
        ];
        if method == "BANK_TRANSFER" {
            // A transfer's refund waits for the account the customer gives after completion.
            steps.insert(
                4,
                (
                    "setRefundAccount",
                    "SetRefundAccountInput",
                    customer.as_str(),
                    json!({"bank": "국민은행", "accountNumber": "123-456-789", "holder": "테스트"}),
                ),
            );
        }
        let mut claim = String::new();
        for (mutation, input_type, token, mut input) in steps {
            if mutation != "requestReturn" {
                input["claimNumber"] = json!(claim);
            }
            let doc = format!("mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ claim {{ claimNumber status }} userErrors {{ code message }} }} }}");
            let before = t.app.db.statement_count();
            let d = t.gql(token, &doc, json!({"i": input})).await;
            let used = t.app.db.statement_count() - before;
            assert_eq!(d[mutation]["userErrors"], json!([]), "{mutation}: {d}");
            if mutation == "requestReturn" {
                claim = d[mutation]["claim"]["claimNumber"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
            report.push(format!("{method} {mutation} {used}"));
            worst = worst.max(used);
        }
        let before = t.app.db.statement_count();
        crate::claims::run_refund_job(&t).await;
        report.push(format!(
            "{method} refund job {}",
            t.app.db.statement_count() - before
        ));
        let d = t
            .gql(
                &ops,
                "query($n: String!) { claim(claimNumber: $n) { status refund { status } } }",
                json!({"n": claim}),
            )
            .await;
        assert_eq!(d["claim"]["refund"]["status"], "SUCCEEDED", "{d}");
    }
    eprintln!("statements per claim mutation: {}", report.join(", "));
    assert!(
        worst <= 15,
        "more than 15 statements: {}",
        report.join(", ")
    );
}
on_both!(claim_mutation_statements, statements_per_claim_mutation);

/// The one rule of `error.rs`: in a mutation, a value the input type accepts but a documented
/// rule refuses is a `userErrors` entry (`INVALID_INPUT` when it has no code of its own) and
/// changes nothing; the same value in a query is a GraphQL error (`BAD_USER_INPUT`).
async fn bad_input_by_channel(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(2)
        .delivered(&t)
        .await
        .number_and_line();
    let ret = |items: serde_json::Value| json!({"orderNumber": number, "items": items, "reason": "CHANGE_OF_MIND"});
    let refused = [
        // Not a global ID, an ID of another kind, the same line twice.
        ret(json!([{"lineId": "line-1", "quantity": 1}])),
        ret(json!([{"lineId": gid("Order", 1), "quantity": 1}])),
        ret(json!([{"lineId": line, "quantity": 1}, {"lineId": line, "quantity": 1}])),
    ];
    for input in refused {
        let d = crate::claims::claim_call(&t, &customer, "requestReturn", input.clone()).await;
        assert_eq!(d["userErrors"][0]["code"], "INVALID_INPUT", "{input}: {d}");
        assert!(
            d["userErrors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{d}"
        );
        assert_eq!(d["claim"], serde_json::Value::Null, "{d}");
    }
    // Remembered under an idempotency key like any refusal: the same request answers it again.
    let mut keyed = ret(json!([{"lineId": line, "quantity": 1}, {"lineId": line, "quantity": 1}]));
    keyed["idempotencyKey"] = json!("twice");
    let replay = "mutation($i: RequestReturnInput!) { requestReturn(input: $i) { replayed userErrors { code } } }";
    for replayed in [false, true] {
        let d = t.gql(&customer, replay, json!({"i": keyed})).await;
        assert_eq!(
            d["requestReturn"],
            json!({"replayed": replayed, "userErrors": [{"code": "INVALID_INPUT"}]})
        );
    }
    let ship = "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \" \", trackingNumber: \"1\"}) { userErrors { code message } } }";
    let d = t.gql(&shop.seller.token, ship, json!({"l": [line]})).await;
    assert_eq!(
        d["shipLines"]["userErrors"][0]["code"], "INVALID_INPUT",
        "{d}"
    );
    let delivered = "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code message } } }";
    let d = t
        .gql(&shop.seller.token, delivered, json!({"l": [line, line]}))
        .await;
    assert_eq!(
        d["markDelivered"]["userErrors"][0]["code"], "INVALID_INPUT",
        "{d}"
    );
    let delete =
        "mutation { deleteWebhook(input: {webhookId: \"webhook-1\"}) { userErrors { code } } }";
    let d = t.gql(&shop.seller.token, delete, json!({})).await;
    assert_eq!(
        d["deleteWebhook"]["userErrors"][0]["code"], "INVALID_INPUT",
        "{d}"
    );
    // Nothing changed: the order has no claim and its line is still delivered.
    let d = t
        .gql(
            &shop.operator,
            "query($n: String!) { order(orderNumber: $n) { lines { status claimedQuantity } } claims(first: 5) { edges { node { claimNumber } } } }",
            json!({"n": number}),
        )
        .await;
    assert_eq!(d["claims"]["edges"], json!([]), "{d}");
    assert_eq!(
        d["order"]["lines"],
        json!([{"status": "DELIVERED", "claimedQuantity": 0}])
    );
    // A query has no userErrors: the same malformed ID is a GraphQL error.
    let (status, body) = t
        .post(
            Some(&shop.operator),
            "query { claims(first: 5, filter: {sellerId: \"seller-1\"}) { edges { node { claimNumber } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    // A refund account of blanks is no account: the refund keeps waiting for one.
    let o = OrderBuilder::new(&shop).bank_transfer().place(&t).await;
    crate::builders::deposit_in_full(&t, &shop.operator, &o.number).await;
    let cancel = json!({"orderNumber": o.number, "items": [{"lineId": o.line(), "quantity": 1}]});
    let d = crate::claims::claim_call(&t, &customer, "requestCancel", cancel).await;
    let claim = d["claim"]["claimNumber"].clone();
    assert_eq!(d["claim"]["refund"]["status"], "ACCOUNT_REQUIRED", "{d}");
    let blank = json!({"claimNumber": claim, "bank": " ", "accountNumber": "", "holder": "홍길동"});
    let d = crate::claims::claim_call(&t, &customer, "setRefundAccount", blank).await;
    assert_eq!(d["userErrors"][0]["code"], "INVALID_INPUT", "{d}");
    let d = t
        .gql(
            &customer,
            "query($n: String!) { claim(claimNumber: $n) { refund { status } } }",
            json!({"n": claim}),
        )
        .await;
    assert_eq!(d["claim"]["refund"]["status"], "ACCOUNT_REQUIRED", "{d}");
}

on_both!(bad_input_channels, bad_input_by_channel);
