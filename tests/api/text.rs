//! Text limits. Generated from the schema: every text field of every mutation's input (read
//! from introspection, so a new field is covered without touching this file) documents its
//! limit ("At most N characters", "one line"), and the server holds exactly that: N characters
//! pass the text check, N + 1 are refused with TEXT_TOO_LONG naming the field, a NUL with
//! INVALID_TEXT, a line break in a one-line field and an escape in any field with INVALID_TEXT
//! — the same answer on SQLite and PostgreSQL — and a refused request changes nothing. The
//! values are Korean, so the limits count characters, not bytes. Then real flows store every
//! text at its limit whole; the queries, the courier webhook and the CSV exports refuse bad
//! text without a 5xx or an INTERNAL error.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use oms::domain::actor::Role;
use oms::domain::text::Grouped;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{json, Map, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::claims::{claim_call, courier_post, run_refund_job};
use crate::harness::{gid, Backend, TestApp};
use crate::hostile::{Api, Op, Ty};
use crate::on_both;

/// Text fields whose limits belong elsewhere: idempotency keys (their own module) and a
/// plugin's module (the module size limit, PLUGIN_TOO_LARGE).
const NOT_TEXT_LIMITED: &[&str] = &["idempotencyKey", "wasmBase64"];

const TEXT_CODES: &[&str] = &["TEXT_TOO_LONG", "INVALID_TEXT", "LIST_TOO_LONG"];

// ---------------------------------------------------------------------------------------------
// The schema's text fields and their documented limits.

/// A text field of a mutation's arguments.
#[derive(Debug)]
struct TextField {
    mutation: String,
    /// From the argument down (`input`, `lines`, `0`, `bundleId`).
    path: Vec<String>,
    /// The field's documentation.
    doc: String,
    /// A list of texts (`[String!]`): the path names the list.
    list: bool,
}

fn text_fields(api: &Api) -> Vec<TextField> {
    fn walk(
        api: &Api,
        mutation: &str,
        path: Vec<String>,
        ty: &Ty,
        doc: &str,
        out: &mut Vec<TextField>,
    ) {
        let name = path.last().cloned().unwrap_or_default();
        match ty {
            Ty::NonNull(t) => walk(api, mutation, path, t, doc, out),
            Ty::List(t) if t.named() == "String" => {
                if !NOT_TEXT_LIMITED.contains(&name.as_str()) {
                    out.push(TextField {
                        mutation: mutation.to_owned(),
                        path,
                        doc: doc.split_whitespace().collect::<Vec<_>>().join(" "),
                        list: true,
                    });
                }
            }
            Ty::List(t) => {
                let mut path = path;
                path.push("0".into());
                walk(api, mutation, path, t, doc, out);
            }
            Ty::Named(n) if n == "String" => {
                if !NOT_TEXT_LIMITED.contains(&name.as_str()) {
                    out.push(TextField {
                        mutation: mutation.to_owned(),
                        path,
                        doc: doc.split_whitespace().collect::<Vec<_>>().join(" "),
                        list: false,
                    });
                }
            }
            Ty::Named(n) => {
                let def = api.ty(n);
                if def.kind == "INPUT_OBJECT" {
                    for f in &def.inputs {
                        let mut path = path.clone();
                        path.push(f.name.clone());
                        walk(api, mutation, path, &f.ty, &f.description, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for f in api.roots(Op::Mutation) {
        for a in &f.args {
            walk(
                api,
                &f.name,
                vec![a.name.clone()],
                &a.ty,
                &a.description,
                &mut out,
            );
        }
    }
    out
}

/// The number in "at most N {unit}" in a description.
fn documented(doc: &str, unit: &str) -> Option<usize> {
    let lower = doc.to_lowercase();
    lower.match_indices("at most ").find_map(|(i, m)| {
        let rest = &lower[i + m.len()..];
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .collect();
        let after = rest[digits.len()..].trim_start();
        (!digits.is_empty() && after.starts_with(unit))
            .then(|| digits.replace(',', "").parse().ok())
            .flatten()
    })
}

// ---------------------------------------------------------------------------------------------
// Calls built from the schema.

/// A delivered order with a return on its line, and the catalogue around it.
struct World {
    seller: i64,
    product: i64,
    customer: i64,
    option: i64,
    line: String,
    order_number: String,
    claim_number: String,
}

async fn world(t: &TestApp) -> World {
    let shop = ShopBuilder::new()
        .name("텍스트상사")
        .stock(100)
        .build(t)
        .await;
    let token = &shop.customer().token;
    let (order_number, line) = OrderBuilder::new(&shop)
        .delivered(t)
        .await
        .number_and_line();
    let d = ClaimBuilder::return_of(&order_number, &line)
        .request(t, token)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let product = oms::repo::catalog::option_by_id(t.app.db.conn(), shop.option)
        .await
        .unwrap()
        .unwrap()
        .product_id;
    World {
        seller: shop.seller.id,
        product,
        customer: shop.customer().id,
        option: shop.option,
        line,
        order_number,
        claim_number: d["claim"]["claimNumber"].as_str().unwrap().to_owned(),
    }
}

/// Optional fields filled even when no test names them, so that calls reach their service.
const FILLED: &[&str] = &["customerId", "sellerId"];

/// A value of `ty` for the field `name`: `leaf` at the end of `on_path` (the field under
/// test), a well-formed value from `w` elsewhere.
fn value(
    api: &Api,
    name: &str,
    ty: &Ty,
    on_path: Option<&[String]>,
    leaf: &Value,
    w: &World,
) -> Value {
    if on_path.is_some_and(<[String]>::is_empty) {
        return leaf.clone();
    }
    match ty {
        Ty::NonNull(t) => value(api, name, t, on_path, leaf, w),
        Ty::List(t) => json!([value(api, name, t, on_path.map(|p| &p[1..]), leaf, w)]),
        Ty::Named(n) => {
            let def = api.ty(n);
            if def.kind == "INPUT_OBJECT" {
                let mut m = Map::new();
                for f in &def.inputs {
                    let sub = on_path.filter(|p| p[0] == f.name).map(|p| &p[1..]);
                    if sub.is_some() || f.required() || FILLED.contains(&f.name.as_str()) {
                        m.insert(f.name.clone(), value(api, &f.name, &f.ty, sub, leaf, w));
                    }
                }
                return Value::Object(m);
            }
            if def.kind == "ENUM" {
                return json!(def.enum_values[0]);
            }
            match (n.as_str(), name) {
                ("String", "orderNumber") => json!(w.order_number),
                ("String", "claimNumber") => json!(w.claim_number),
                ("String", "url") => json!("https://partner.example/hook"),
                ("String", "eventTypes") => json!("claim.*"),
                ("String", _) => json!("값"),
                ("ID", "lineId" | "lineIds") => json!(w.line),
                ("ID", "optionId" | "replacementOptionId") => json!(gid("ProductOption", w.option)),
                ("ID", "sellerId") => json!(gid("Seller", w.seller)),
                ("ID", "productId") => json!(gid("Product", w.product)),
                ("ID", "customerId") => json!(gid("Customer", w.customer)),
                ("ID", "pluginId") => json!(gid("Plugin", 1)),
                ("ID", "webhookId") => json!(gid("Webhook", 1)),
                ("Won", "amount") => json!(3000),
                ("Won", _) => json!(0),
                ("Int", _) => json!(1),
                ("Boolean", _) => json!(false),
                ("JSON", _) => json!({}),
                ("DateTime", _) => json!("2026-01-01T00:00:00Z"),
                (other, _) => panic!("no value for {name}: {other}"),
            }
        }
    }
}

/// Calls `field.mutation` as an operator with `leaf` at the field; returns the whole answer.
async fn call(t: &TestApp, api: &Api, w: &World, field: &TextField, leaf: Value) -> Value {
    let root = api
        .roots(Op::Mutation)
        .iter()
        .find(|f| f.name == field.mutation)
        .unwrap();
    let mut defs = Vec::new();
    let mut args = Vec::new();
    let mut vars = Map::new();
    for a in &root.args {
        let on_path = (field.path[0] == a.name).then(|| &field.path[1..]);
        if on_path.is_some() || a.required() {
            defs.push(format!("${}: {}", a.name, a.ty.sdl()));
            args.push(format!("{}: ${}", a.name, a.name));
            vars.insert(
                a.name.clone(),
                value(api, &a.name, &a.ty, on_path, &leaf, w),
            );
        }
    }
    let doc = format!(
        "mutation({}) {{ {}({}) {{ userErrors {{ code field message }} }} }}",
        defs.join(", "),
        field.mutation,
        args.join(", ")
    );
    let (status, body) = t.post(Some(&t.operator()), &doc, Value::Object(vars)).await;
    assert_eq!(status, StatusCode::OK, "{doc}: {body}");
    body
}

/// The one refusal of a call, which must be `code` about `path`.
fn assert_refused(body: &Value, code: &str, path: &[String], context: &str) -> String {
    assert!(body.get("errors").is_none(), "{context}: {body}");
    let errors = body["data"]
        .as_object()
        .and_then(|d| d.values().next())
        .map(|p| p["userErrors"].clone())
        .unwrap_or_default();
    let want: Vec<&str> = path.iter().map(String::as_str).collect();
    assert_eq!(
        errors.as_array().map(Vec::len),
        Some(1),
        "{context}: {body}"
    );
    assert_eq!(errors[0]["code"], code, "{context}: {body}");
    assert_eq!(errors[0]["field"], json!(want), "{context}: {body}");
    errors[0]["message"].as_str().unwrap().to_owned()
}

/// A call the text limits let through: no text refusal, no INTERNAL error.
fn assert_passes_text_check(body: &Value, context: &str) {
    let text = body.to_string();
    for code in TEXT_CODES {
        assert!(!text.contains(code), "{context}: {body}");
    }
    assert!(!text.contains("INTERNAL"), "{context}: {body}");
}

/// Every row a mutation could write, to show that a refused one wrote none.
async fn snapshot(db: &DatabaseConnection) -> Value {
    macro_rules! tables {
        ($($table:ident),+ $(,)?) => {{
            let mut all = Map::new();
            $(
                let mut rows = entity::$table::Entity::find().into_json().all(db).await.unwrap();
                rows.sort_by_key(Value::to_string);
                all.insert(stringify!($table).to_owned(), Value::Array(rows));
            )+
            Value::Object(all)
        }};
    }
    tables!(
        order,
        order_line,
        order_shipping_group,
        order_coupon,
        shipment,
        tender,
        points_ledger,
        product_option,
        customer,
        claim,
        claim_item,
        claim_event,
        refund,
        refund_part,
        outbox_message,
        outbox_delivery,
        webhook_endpoint,
        idempotency_key,
        courier_event,
        policy_activation,
        plugin_failure,
    )
}

/// Every text field of every mutation, from the schema: its limit is documented, N characters
/// pass, N + 1 and a NUL (and a line break where one line is documented, an escape anywhere)
/// are refused naming the field, and the refusals change nothing.
async fn every_text_input_holds_its_documented_limit(t: TestApp) {
    let api = Api::introspect(&t).await;
    let w = world(&t).await;
    let fields = text_fields(&api);
    let covered: Vec<String> = fields
        .iter()
        .map(|f| format!("{}.{}", f.mutation, f.path.join(".")))
        .collect();
    // The walk finds what it must (so that it cannot pass by finding nothing).
    for must in [
        "placeOrder.input.lines.0.bundleId",
        "placeOrder.input.couponCode",
        "shipLines.input.trackingNumber",
        "rejectClaim.input.memo",
        "holdClaim.input.memo",
        "resolveRefundManually.input.reference",
        "setRefundAccount.input.holder",
        "registerWebhook.input.eventTypes",
        "registerWebhook.input.url",
    ] {
        assert!(covered.iter().any(|c| c == must), "{must} not found");
    }
    assert!(fields.len() >= 60, "{} text fields", fields.len());
    for field in &fields {
        let context = format!("{}({})", field.mutation, field.path.join("."));
        let path = &field.path;
        let before = snapshot(t.app.db.conn()).await;
        if field.list {
            let max = documented(&field.doc, "entries")
                .unwrap_or_else(|| panic!("{context}: no documented number of entries"));
            let entry = documented(&field.doc, "characters")
                .unwrap_or_else(|| panic!("{context}: no documented entry length"));
            let ok = json!("claim.*");
            let body = call(&t, &api, &w, field, json!(vec![ok.clone(); max + 1])).await;
            let message = assert_refused(&body, "LIST_TOO_LONG", path, &context);
            assert!(
                message.ends_with(&format!(
                    "has {} entries; the limit is {}",
                    Grouped(max + 1),
                    Grouped(max)
                )),
                "{context}: {message}"
            );
            let mut entry_path = path.clone();
            entry_path.push("1".into());
            for (bad, code) in [
                (json!("가".repeat(entry + 1)), "TEXT_TOO_LONG"),
                (json!("claim.*\u{0}"), "INVALID_TEXT"),
                (json!("claim.*\n"), "INVALID_TEXT"),
            ] {
                let body = call(&t, &api, &w, field, json!([ok.clone(), bad])).await;
                assert_refused(&body, code, &entry_path, &context);
            }
            assert_eq!(snapshot(t.app.db.conn()).await, before, "{context}");
            let body = call(&t, &api, &w, field, json!(vec![ok; max])).await;
            assert_passes_text_check(&body, &context);
            let body = call(&t, &api, &w, field, json!(["가".repeat(entry)])).await;
            assert_passes_text_check(&body, &context);
            continue;
        }
        let max = documented(&field.doc, "characters")
            .unwrap_or_else(|| panic!("{context}: no documented limit in {:?}", field.doc));
        let one_line = field.doc.contains("one line");
        let body = call(&t, &api, &w, field, json!("가".repeat(max + 1))).await;
        let message = assert_refused(&body, "TEXT_TOO_LONG", path, &context);
        assert!(
            message.ends_with(&format!(
                "is {} characters; the limit is {}",
                Grouped(max + 1),
                Grouped(max)
            )),
            "{context}: {message}"
        );
        assert!(
            message.contains(path.last().unwrap().as_str()),
            "{context}: {message}"
        );
        let body = call(&t, &api, &w, field, json!("가\u{0}나")).await;
        let message = assert_refused(&body, "INVALID_TEXT", path, &context);
        assert!(
            message.contains("NUL character (U+0000) at character 2"),
            "{context}: {message}"
        );
        let body = call(&t, &api, &w, field, json!("가\u{1b}[31m")).await;
        assert_refused(&body, "INVALID_TEXT", path, &context);
        if one_line {
            let body = call(&t, &api, &w, field, json!("가\n나")).await;
            assert_refused(&body, "INVALID_TEXT", path, &context);
        }
        assert_eq!(snapshot(t.app.db.conn()).await, before, "{context}");
        let body = call(&t, &api, &w, field, json!("가".repeat(max))).await;
        assert_passes_text_check(&body, &context);
        if !one_line {
            let body = call(&t, &api, &w, field, json!("첫 줄\r\n둘째 줄\t끝")).await;
            assert_passes_text_check(&body, &context);
        }
    }
}
on_both!(
    text_limits_from_the_schema,
    every_text_input_holds_its_documented_limit
);

/// A webhook naming 20,000 event types is refused, and stored nowhere.
async fn twenty_thousand_event_types(t: TestApp) {
    let s = t.seller("웹훅상사", 3000, 50000, 3000).await;
    let seller = t.token(Role::Seller, &s.to_string());
    let doc = "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { webhook { id } secret userErrors { code field message } } }";
    let types = vec!["claim.*"; 20_000];
    let d = t
        .gql(
            &seller,
            doc,
            json!({"input": {"url": "https://partner.example/hook", "eventTypes": types}}),
        )
        .await;
    assert_eq!(
        d["registerWebhook"],
        json!({"webhook": null, "secret": null, "userErrors": [{"code": "LIST_TOO_LONG", "field": ["input", "eventTypes"], "message": "eventTypes has 20,000 entries; the limit is 64"}]})
    );
    let stored = entity::webhook_endpoint::Entity::find()
        .all(t.app.db.conn())
        .await
        .unwrap();
    assert!(stored.is_empty());
    // Every event type there is, with the three patterns, fits.
    let mut all = oms::outbox::event_types();
    all.extend(["*", "order.*", "claim.*"].map(str::to_owned));
    let d = t
        .gql(
            &seller,
            doc,
            json!({"input": {"url": "https://partner.example/hook", "eventTypes": all}}),
        )
        .await;
    assert_eq!(d["registerWebhook"]["userErrors"], json!([]), "{d}");
}
on_both!(event_type_flood, twenty_thousand_event_types);

// ---------------------------------------------------------------------------------------------
// Texts at their limits, stored whole.

const CLAIM: &str = "claim { claimNumber status memo hold { memo } collection { courier trackingNumber } timeline { payload } } userErrors { code field message }";

async fn act(t: &TestApp, token: &str, mutation: &str, input_type: &str, input: Value) -> Value {
    let doc =
        format!("mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {CLAIM} }} }}");
    let d = t.gql(token, &doc, json!({ "input": input })).await[mutation].clone();
    assert_eq!(d["userErrors"], json!([]), "{mutation}: {d}");
    d["claim"].clone()
}

/// Each text at its limit — Korean, so 3 bytes a character — goes through a real flow and
/// comes back whole: a set id and a coupon label at checkout, a shipment's courier and tracking
/// number, the customer's 1,000-character words over two lines, the notes of an approval, a
/// hold, its release, a collection and a completed return, a refund account, a manual refund's
/// reference, a webhook's URL, description and 64 event types.
async fn texts_at_their_limits(t: TestApp) {
    let shop = ShopBuilder::new()
        .name("한계상사")
        .stock(100)
        .build(&t)
        .await;
    let (opt, c) = (shop.option, shop.customer().id);
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let ops = t.operator();

    let bundle = "세".repeat(64);
    let coupon = "쿠".repeat(50);
    let d = t.gql(&ops, "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { orderNumber amountDue coupon { code } lines { id bundleId } } userErrors { code field message } } }",
        json!({"input": {"customerId": gid("Customer", c), "lines": [{"optionId": gid("ProductOption", opt), "quantity": 1, "bundleId": bundle}], "couponCode": coupon, "coupon": {"amount": 1000, "minPurchase": 0}, "paymentMethod": "CARD"}})).await;
    assert_eq!(d["placeOrder"]["userErrors"], json!([]), "{d}");
    let order = &d["placeOrder"]["order"];
    assert_eq!(order["lines"][0]["bundleId"], json!(bundle));
    assert_eq!(order["coupon"]["code"], json!(coupon));
    let number = order["orderNumber"].as_str().unwrap().to_owned();
    let line = order["lines"][0]["id"].as_str().unwrap().to_owned();
    // A payment key at its limit is confirmed and stored whole.
    let key = "k".repeat(200);
    let d =
        crate::builders::confirm_payment_with(&t, &ops, &number, &key, &order["amountDue"]).await;
    assert_eq!(d["confirmPayment"]["userErrors"], json!([]), "{d}");
    let q = "query($n: String!) { order(orderNumber: $n) { tenders { gatewayReference } } }";
    let d = t.gql(&ops, q, json!({"n": number})).await;
    assert_eq!(d["order"]["tenders"][0]["gatewayReference"], json!(key));

    let courier = "대".repeat(50);
    let tracking = "7".repeat(50);
    t.gql(
        &seller,
        "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }",
        json!({"n": number}),
    )
    .await;
    let d = t.gql(&seller, "mutation($l: [ID!]!, $c: String!, $t: String!) { shipLines(input: {lineIds: $l, courier: $c, trackingNumber: $t}) { order { shipments { courier trackingNumber } } userErrors { code field message } } }",
        json!({"l": [line], "c": courier, "t": tracking})).await;
    assert_eq!(d["shipLines"]["userErrors"], json!([]), "{d}");
    assert_eq!(
        d["shipLines"]["order"]["shipments"],
        json!([{"courier": courier, "trackingNumber": tracking}])
    );
    t.gql(
        &seller,
        "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code } } }",
        json!({"l": [line]}),
    )
    .await;

    // 1,000 characters: 999 Korean syllables (2,997 bytes) and a line break.
    let words = format!("{}\n{}", "가".repeat(500), "나".repeat(499));
    assert_eq!(words.chars().count(), 1_000);
    let note = |c: &str| c.repeat(1_000);
    let claim = act(&t, &customer, "requestReturn", "RequestReturnInput", json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "CHANGE_OF_MIND", "memo": words})).await;
    assert_eq!(claim["memo"], json!(words));
    let n = claim["claimNumber"].clone();
    act(
        &t,
        &seller,
        "approveClaim",
        "ApproveClaimInput",
        json!({"claimNumber": n, "memo": note("승")}),
    )
    .await;
    let claim = act(
        &t,
        &seller,
        "holdClaim",
        "HoldClaimInput",
        json!({"claimNumber": n, "reason": "INSPECTION", "memo": note("보")}),
    )
    .await;
    assert_eq!(claim["hold"]["memo"], json!(note("보")));
    act(
        &t,
        &seller,
        "releaseHold",
        "ClaimActionInput",
        json!({"claimNumber": n, "memo": note("해")}),
    )
    .await;
    let claim = act(&t, &seller, "markCollected", "CourierInput", json!({"claimNumber": n, "courier": courier, "trackingNumber": tracking, "memo": note("수")})).await;
    assert_eq!(
        claim["collection"],
        json!({"courier": courier, "trackingNumber": tracking})
    );
    let claim = act(
        &t,
        &seller,
        "completeReturn",
        "CompleteReturnInput",
        json!({"claimNumber": n, "memo": note("완")}),
    )
    .await;
    let timeline = claim["timeline"].to_string();
    for c in ["승", "보", "해", "수", "완"] {
        assert!(
            timeline.contains(&note(c)),
            "the {c} note is not whole in the timeline"
        );
    }

    // A refund account at its limits: a bank transfer cancelled after the deposit.
    let o = OrderBuilder::new(&shop).bank_transfer().place(&t).await;
    crate::builders::deposit_in_full(&t, &ops, &o.number).await;
    let claim = act(
        &t,
        &customer,
        "requestCancel",
        "RequestCancelInput",
        json!({"orderNumber": o.number, "items": [{"lineId": o.line(), "quantity": 1}]}),
    )
    .await;
    let (bank, account, holder) = ("은".repeat(50), "1".repeat(50), "홍".repeat(100));
    act(&t, &customer, "setRefundAccount", "SetRefundAccountInput", json!({"claimNumber": claim["claimNumber"], "bank": bank, "accountNumber": account, "holder": holder})).await;
    let row = entity::customer::Entity::find_by_id(c)
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            row.refund_bank,
            row.refund_account_number,
            row.refund_account_holder
        ),
        (Some(bank), Some(account), Some(holder))
    );

    // A manual refund's reference at its limit.
    let o = OrderBuilder::new(&shop).place(&t).await;
    let claim = act(
        &t,
        &customer,
        "requestCancel",
        "RequestCancelInput",
        json!({"orderNumber": o.number, "items": [{"lineId": o.line(), "quantity": 1}]}),
    )
    .await;
    t.gateway.fail_next(100);
    for _ in 0..8 {
        run_refund_job(&t).await;
        t.clock.advance(chrono::Duration::hours(2));
    }
    let reference = "R".repeat(100);
    let claim = act(
        &t,
        &ops,
        "resolveRefundManually",
        "ResolveRefundManuallyInput",
        json!({"claimNumber": claim["claimNumber"], "reference": reference, "memo": note("환")}),
    )
    .await;
    assert_eq!(claim["status"], "CANCEL_COMPLETED");
    let parts = entity::refund_part::Entity::find()
        .all(t.app.db.conn())
        .await
        .unwrap();
    assert!(parts
        .iter()
        .any(|p| p.gateway_reference.as_deref() == Some(reference.as_str())));

    // A webhook at its limits.
    let url = format!("https://partner.example/{}", "a".repeat(2_000 - 24));
    assert_eq!(url.chars().count(), 2_000);
    let description = format!("{}\n{}", "설".repeat(250), "명".repeat(249));
    let types = vec!["claim.*"; 64];
    let d = t.gql(&seller, "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { webhook { url description eventTypes } userErrors { code field message } } }",
        json!({"input": {"url": url, "description": description, "eventTypes": types}})).await;
    assert_eq!(d["registerWebhook"]["userErrors"], json!([]), "{d}");
    let hook = &d["registerWebhook"]["webhook"];
    assert_eq!(
        (&hook["url"], &hook["description"]),
        (&json!(url), &json!(description))
    );
    assert_eq!(hook["eventTypes"].as_array().unwrap().len(), 64);
}
on_both!(stored_at_the_limit, texts_at_their_limits);

// ---------------------------------------------------------------------------------------------
// Queries, the courier webhook, the exports.

fn cursor(json: Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
}

/// The code and message of a request's one GraphQL error.
async fn graphql_error(t: &TestApp, token: &str, doc: &str, vars: Value) -> (String, String) {
    let (status, body) = t.post(Some(token), doc, vars).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let e = &body["errors"][0];
    (
        e["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        e["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A key with a NUL, a control character or over its limit finds nothing (null, not an
/// INTERNAL error on PostgreSQL); a filter or a cursor with one is BAD_USER_INPUT naming the
/// argument and its limit; a cursor whose key the list cannot use is not a cursor of the list.
async fn query_text(t: TestApp) {
    let w = world(&t).await;
    let ops = t.operator();
    for key in [
        "\u{0}",
        "20261124\u{0}000001",
        "a\nb",
        "1".repeat(41).as_str(),
        "1".repeat(40).as_str(),
    ] {
        let (status, body) = t
            .post(
                Some(&ops),
                "query($n: String!) { order(orderNumber: $n) { orderNumber } }",
                json!({"n": key}),
            )
            .await;
        assert_eq!(
            (status, &body),
            (StatusCode::OK, &json!({"data": {"order": null}})),
            "{key:?}"
        );
    }
    for key in [
        "\u{0}",
        format!("{}\u{0}", w.claim_number).as_str(),
        "1".repeat(51).as_str(),
        "1".repeat(50).as_str(),
    ] {
        let (status, body) = t
            .post(
                Some(&ops),
                "query($n: String!) { claim(claimNumber: $n) { claimNumber } }",
                json!({"n": key}),
            )
            .await;
        assert_eq!(
            (status, &body),
            (StatusCode::OK, &json!({"data": {"claim": null}})),
            "{key:?}"
        );
    }
    // The real ones are still found.
    let d = t.gql(&ops, "query($o: String!, $c: String!) { order(orderNumber: $o) { orderNumber } claim(claimNumber: $c) { claimNumber } }", json!({"o": w.order_number, "c": w.claim_number})).await;
    assert_eq!(d["order"]["orderNumber"], json!(w.order_number));
    assert_eq!(d["claim"]["claimNumber"], json!(w.claim_number));

    let orders = "query($f: OrderFilterInput, $a: String, $b: String, $l: Int, $s: OrderOrderBy) { orders(filter: $f, after: $a, before: $b, last: $l, orderBy: $s) { edges { node { orderNumber } } } }";
    let (code, message) =
        graphql_error(&t, &ops, orders, json!({"f": {"orderNumber": "2026\u{0}"}})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        message.starts_with("filter.orderNumber has a NUL character"),
        "{message}"
    );
    let (code, message) = graphql_error(
        &t,
        &ops,
        orders,
        json!({"f": {"orderNumber": "1".repeat(41)}}),
    )
    .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "BAD_USER_INPUT",
            "filter.orderNumber is 41 characters; the limit is 40"
        )
    );
    let d = t
        .gql(&ops, orders, json!({"f": {"orderNumber": "1".repeat(40)}}))
        .await;
    assert_eq!(d["orders"]["edges"], json!([]));
    let d = t
        .gql(&ops, orders, json!({"f": {"orderNumber": w.order_number}}))
        .await;
    assert_eq!(d["orders"]["edges"].as_array().unwrap().len(), 1);

    let (code, message) = graphql_error(&t, &ops, orders, json!({"a": "x".repeat(201)})).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "BAD_USER_INPUT",
            "after is 201 characters; the limit is 200"
        )
    );
    let (code, message) = graphql_error(&t, &ops, orders, json!({"b": "\u{0}", "l": 1})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        message.starts_with("before has a NUL character"),
        "{message}"
    );
    // Cursors made by hand: a NUL in the key, an order number where the list sorts by time.
    for (after, sort) in [
        (cursor(json!({"key": "\u{0}", "id": 1})), json!(null)),
        (
            cursor(json!({"key": "\u{0}", "id": 1})),
            json!({"field": "ORDER_NUMBER", "direction": "ASC"}),
        ),
        (cursor(json!({"key": w.order_number, "id": 1})), json!(null)),
    ] {
        let (code, message) = graphql_error(&t, &ops, orders, json!({"a": after, "s": sort})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert!(
            message.ends_with("is not a cursor of this list"),
            "{message}"
        );
    }
    let good = cursor(json!({"key": w.order_number, "id": 0}));
    let d = t
        .gql(
            &ops,
            orders,
            json!({"a": good, "s": {"field": "ORDER_NUMBER", "direction": "ASC"}}),
        )
        .await;
    assert_eq!(d["orders"]["edges"].as_array().unwrap().len(), 1);

    let claims = "query($a: String) { claims(after: $a) { edges { node { claimNumber } } } }";
    let (code, message) = graphql_error(&t, &ops, claims, json!({"a": "\u{0}"})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        message.starts_with("after has a NUL character"),
        "{message}"
    );
    let (code, message) = graphql_error(&t, &ops, claims, json!({"a": "가".repeat(201)})).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "BAD_USER_INPUT",
            "after is 201 characters; the limit is 200"
        )
    );
}
on_both!(query_arguments, query_text);

/// The courier webhook: a NUL, a line break or a value over its limit in any field is a 400
/// with a code (never a 5xx, which would make the courier send it again forever) and records
/// nothing; the same event with values at their limits applies.
async fn courier_text(t: TestApp) {
    let shop = ShopBuilder::new().name("택배상사").build(&t).await;
    let seller = shop.seller.token.clone();
    let o = OrderBuilder::new(&shop).place(&t).await;
    let tracking = "9".repeat(50);
    t.gql(
        &seller,
        "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }",
        json!({"n": o.number}),
    )
    .await;
    let d = t.gql(&seller, "mutation($l: [ID!]!, $t: String!) { shipLines(input: {lineIds: $l, courier: \"CJ대한통운\", trackingNumber: $t}) { userErrors { code } } }", json!({"l": [o.line()], "t": tracking})).await;
    assert_eq!(d["shipLines"]["userErrors"], json!([]));
    let event = json!({"eventId": "e".repeat(100), "courier": "대".repeat(50), "trackingNumber": tracking, "event": "DELIVERED"});
    let before = snapshot(t.app.db.conn()).await;
    for (field, bad, code) in [
        (
            "trackingNumber",
            format!("{tracking}\u{0}"),
            "TEXT_TOO_LONG",
        ),
        ("trackingNumber", "99\u{0}".to_owned(), "INVALID_TEXT"),
        ("trackingNumber", "99\n".to_owned(), "INVALID_TEXT"),
        ("courier", "대".repeat(51), "TEXT_TOO_LONG"),
        ("courier", "CJ\u{0}".to_owned(), "INVALID_TEXT"),
        ("eventId", "e".repeat(101), "TEXT_TOO_LONG"),
        ("eventId", "e\u{0}1".to_owned(), "INVALID_TEXT"),
        ("event", "DELIVERED\u{0}".to_owned(), "INVALID_TEXT"),
        ("event", "D".repeat(700_000), "TEXT_TOO_LONG"),
    ] {
        let mut body = event.clone();
        body[field] = json!(bad);
        let (status, answer) = courier_post(&t, "courier-secret", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{field}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(field) && message.len() < 200,
            "{message}"
        );
    }
    assert_eq!(snapshot(t.app.db.conn()).await, before);
    let (status, answer) = courier_post(&t, "courier-secret", event).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["linesDelivered"], 1);
}
on_both!(courier_webhook_text, courier_text);

async fn export(t: &TestApp, token: &str, query: &str) -> (StatusCode, Value) {
    let req = Request::get(format!("/export/claims.csv?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    t.send(req).await
}

/// The CSV exports: a parameter with a NUL, a control character or over 1,000 characters is a
/// 400 naming it, never a 5xx.
async fn export_text(t: TestApp) {
    let analyst = t.token(Role::Analyst, "analyst");
    let long = "x".repeat(1_001);
    for (query, start) in [
        ("type=%00".to_owned(), "`type` has a NUL character"),
        (
            "from=2026-11-01%0A".to_owned(),
            "`from` has the control character U+000A",
        ),
        (
            format!("from={long}"),
            "`from` is 1,001 characters; the limit is 1,000",
        ),
        (
            format!("{long}=1"),
            "a parameter's name is 1,001 characters",
        ),
        (
            "sellerId=gid%3A%2F%2Foms%2FSeller%2F1%00".to_owned(),
            "`sellerId` has a NUL character",
        ),
    ] {
        let (status, body) = export(&t, &analyst, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with(start), "{query}: {message}");
    }
    let (status, _) = export(&t, &analyst, "type=RETURN").await;
    assert_eq!(status, StatusCode::OK);
}
on_both!(export_parameters, export_text);

/// Lists of lines and items hold 500 entries; 501 is `LIST_TOO_LONG` on the list, never the
/// database's "too many SQL variables" as `INTERNAL` (32,767 ids did that on SQLite).
async fn list_lengths(t: TestApp) {
    let shop = ShopBuilder::new().name("L").stock(50).build(&t).await;
    let ct = shop.customer().token.clone();
    let st = shop.seller.token.clone();
    let o = OrderBuilder::new(&shop).place(&t).await;
    let number = o.number.clone();
    let ids = |n: usize| -> Vec<String> { (1..=n).map(|i| gid("OrderLine", i as i64)).collect() };
    let cases: Vec<(&str, String, &str, Value)> = vec![
        ("shipLines", st.clone(), "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ\", trackingNumber: \"1\"}) { userErrors { code field message } } }", json!({})),
        ("markDelivered", st.clone(), "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code field message } } }", json!({})),
        ("confirmOrder", st.clone(), "mutation($l: [ID!]!, $n: String!) { confirmOrder(input: {orderNumber: $n, lineIds: $l}) { userErrors { code field message } } }", json!({"n": number})),
        ("confirmPurchase", ct.clone(), "mutation($l: [ID!]!, $n: String!) { confirmPurchase(input: {orderNumber: $n, lineIds: $l}) { userErrors { code field message } } }", json!({"n": number})),
    ];
    for (mutation, token, doc, extra) in cases {
        for (n, refused) in [(500, false), (501, true), (32_767, true)] {
            let mut vars = extra.clone();
            vars["l"] = json!(ids(n));
            let (status, body) = t.post(Some(&token), doc, vars).await;
            assert_eq!(status, StatusCode::OK, "{mutation} {n}: {body}");
            let errors = &body["data"][mutation]["userErrors"];
            if refused {
                assert_eq!(
                    errors,
                    &json!([{"code": "LIST_TOO_LONG", "field": ["input", "lineIds"], "message": format!("lineIds has {} entries; the limit is 500", Grouped(n))}]),
                    "{mutation} {n}"
                );
            } else {
                assert_ne!(errors[0]["code"], "LIST_TOO_LONG", "{mutation} {n}: {body}");
                assert!(body["errors"].is_null(), "{mutation} {n}: {body}");
            }
        }
    }
    // Claim items: the same limit on `items`.
    let items: Vec<Value> = (1..=501)
        .map(|i| json!({"lineId": gid("OrderLine", i), "quantity": 1}))
        .collect();
    let d = claim_call(
        &t,
        &ct,
        "requestReturn",
        json!({"orderNumber": number, "items": items, "reason": "CHANGE_OF_MIND"}),
    )
    .await;
    assert_eq!(d["userErrors"][0]["code"], "LIST_TOO_LONG", "{d}");
    assert_eq!(
        d["userErrors"][0]["field"],
        json!(["input", "items"]),
        "{d}"
    );
}
on_both!(lists_of_lines_hold_500, list_lengths);
