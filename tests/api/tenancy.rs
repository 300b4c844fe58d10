//! Tenancy, generated from the schema: every query and mutation root field (read from
//! introspection, so a new field is covered without touching this file) is called with tenant
//! A's identifiers — its orders, lines, tenders, shipments, claims, customer, seller, products,
//! plugin, webhook, idempotency keys and outbox messages — by anonymous, customer B and seller B
//! (and, for mutations and operator-only fields, by the analyst and A's own customer and
//! seller). Every call is refused (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, a
//! userError, null, or an empty answer), no answer carries anything of A's that the caller did
//! not send (order and claim numbers, ids, the customer's name, mail and phone, amounts, the
//! webhook's URL, the plugin's hash), and A's orders, claims, plugins and webhooks are the same
//! afterwards. The owners get the same data back from the same calls, so the checks can fail.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use oms::domain::actor::Role;
use serde_json::{json, Map, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, PluginBuilder};
use crate::claims::{claim_call, deliver, run_refund_job};
use crate::harness::{gid, Backend, TestApp};
use crate::hostile::{check_answer, harvest, panics_on, runtime, Api, Arg, Field, Op, Ty};
use crate::orders::PLACE;

const SELLER_A: &str = "테넌트에이상사";
const CUSTOMER_A: &str = "김테넌트";
const CUSTOMER_A_EMAIL: &str = "tenant-a.kim@example.com";
const CUSTOMER_A_PHONE: &str = "010-1357-2468";
const HOOK_A: &str = "https://tenant-a.example/oms-hook";
/// Odd prices, so A's amounts are recognisable in any answer.
const PRICE_1: i64 = 13_579;
const PRICE_2: i64 = 24_681;

/// Fields whose answer is not tenant data: the caller's own identity and the public catalogue.
const PUBLIC: &[&str] = &["viewer", "sellers", "products"];
/// Kinds of id that name catalogue objects (public to every signed-in caller).
const CATALOGUE: &[&str] = &["Seller", "Product", "ProductOption"];

/// Tenant A's world as the other callers must not see it.
struct TenantA {
    seller: i64,
    customer: i64,
    /// Ids by kind (`Order` → `[gid://oms/Order/1, ...]`).
    ids: BTreeMap<String, Vec<String>>,
    order_numbers: Vec<String>,
    claim_numbers: Vec<String>,
    idempotency_keys: Vec<String>,
    outbox_messages: Vec<i64>,
    /// A's own requests with their idempotency keys, word for word (root field, document,
    /// variables): replayed by another caller they must not return A's stored answer.
    replays: Vec<(&'static str, String, Value)>,
    /// Values that identify A's private data.
    private: BTreeSet<String>,
    /// A's catalogue (seller name, prices): public, but never in another tenant's answers.
    catalogue: BTreeSet<String>,
}

struct Callers {
    seller_b: i64,
    customer_b: i64,
}

/// Two tenants: seller A with two products at odd prices, customer A (name, mail, phone) with
/// four orders — a return refunded, a cancellation refunded, an exchange, a bank transfer
/// awaiting its deposit — seller A's plugin and webhook; seller B and customer B with an order
/// of their own.
async fn build(t: &TestApp, api: &Api) -> (TenantA, Callers) {
    let sa = t.seller(SELLER_A, 3000, 50000, 3000).await;
    let sb = t.seller("판매자B", 2500, 30000, 2500).await;
    let a1 = t.option(sa, PRICE_1, 100).await;
    let a2 = t.option(sa, PRICE_2, 100).await;
    let b1 = t.option(sb, 11_000, 100).await;
    let ca = t
        .customer_named(CUSTOMER_A, CUSTOMER_A_EMAIL, Some(CUSTOMER_A_PHONE), 5_000)
        .await;
    let cb = t.customer(0).await;
    let customer_a = t.token(Role::Customer, &ca.to_string());
    let seller_a = t.token(Role::Seller, &sa.to_string());
    let customer_b = t.token(Role::Customer, &cb.to_string());
    let ops = t.operator();
    let by_a = || OrderBuilder::by(&customer_a);
    let mut keys = Vec::new();
    let mut replays = Vec::new();
    let mut placed = Vec::new();
    for (i, order) in [
        by_a().line(a1, 2).line(a2, 1),
        by_a().line(a2, 1),
        by_a().line(a1, 1),
        by_a().line(a2, 2).bank_transfer(),
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("tenant-a-place-{i}");
        let order = order.idempotency_key(&key);
        replays.push((
            "placeOrder",
            PLACE.to_owned(),
            json!({"input": order.input()}),
        ));
        keys.push(key);
        placed.push(order.place(t).await);
    }
    // A return, collected and refunded.
    deliver(t, &placed[0].number, &placed[0].lines).await;
    let request = ClaimBuilder::return_of(&placed[0].number, placed[0].line())
        .idempotency_key("tenant-a-return");
    let d = request.request(t, &customer_a).await;
    keys.push("tenant-a-return".into());
    replays.push((
        "requestReturn",
        "mutation($input: RequestReturnInput!) { requestReturn(input: $input) { claim { claimNumber status order { orderNumber customer { name email } } } userErrors { code } } }".into(),
        json!({ "input": request.input() }),
    ));
    let returned = d["claim"]["claimNumber"].clone();
    for (action, input) in [
        (
            "approveClaim",
            json!({"claimNumber": returned, "idempotencyKey": "tenant-a-approve"}),
        ),
        (
            "markCollected",
            json!({"claimNumber": returned, "courier": "CJ대한통운", "trackingNumber": "A-1"}),
        ),
        ("completeReturn", json!({"claimNumber": returned})),
    ] {
        let d = claim_call(t, &seller_a, action, input).await;
        assert_eq!(d["userErrors"], json!([]), "{action}: {d}");
    }
    keys.push("tenant-a-approve".into());
    // A cancellation while paid: approved and refunded at once.
    ClaimBuilder::cancel(&placed[1].number, placed[1].line())
        .open(t, &customer_a)
        .await;
    // An exchange of a delivered unit.
    deliver(t, &placed[2].number, &placed[2].lines).await;
    ClaimBuilder::exchange(&placed[2].number, placed[2].line(), a1)
        .open(t, &customer_a)
        .await;
    run_refund_job(t).await;
    // Seller A's policy plugin and webhook.
    let plugin = PluginBuilder::claim_fees(&crate::wasm::flat_fee())
        .activated(t, &seller_a)
        .await;
    let d = t.gql(&seller_a, "mutation($u: String!) { registerWebhook(input: {url: $u, eventTypes: [\"claim.*\", \"order.*\"]}) { webhook { id } userErrors { code } } }", json!({"u": HOOK_A})).await;
    assert_eq!(d["registerWebhook"]["userErrors"], json!([]), "{d}");
    // Tenant B's own order, so B's callers have something of their own.
    OrderBuilder::by(&customer_b)
        .line(b1, 1)
        .idempotency_key("tenant-b-place")
        .place(t)
        .await;

    // What A owns, as its own customer and seller see it.
    let mut pools = harvest(t, api, &customer_a, 3).await;
    let seller_view = harvest(t, api, &seller_a, 3).await;
    for (kind, ids) in seller_view.ids {
        for id in ids {
            if !pools.ids.get(&kind).is_some_and(|v| v.contains(&id)) {
                pools.ids.entry(kind.clone()).or_default().push(id);
            }
        }
    }
    let products = t
        .gql(
            &customer_a,
            "query($s: ID) { products(sellerId: $s) { id options { id } } }",
            json!({"s": gid("Seller", sa)}),
        )
        .await;
    let mut catalogue_ids = crate::hostile::Pools::default();
    catalogue_ids.harvest("", &products);
    let mut ids: BTreeMap<String, Vec<String>> = pools
        .ids
        .into_iter()
        .filter(|(k, _)| !CATALOGUE.contains(&k.as_str()) && k != "Customer")
        .collect();
    ids.extend(catalogue_ids.ids);
    ids.insert("Seller".into(), vec![gid("Seller", sa)]);
    ids.insert("Customer".into(), vec![gid("Customer", ca)]);
    for kind in [
        "Order",
        "OrderLine",
        "Tender",
        "Shipment",
        "Plugin",
        "Webhook",
        "Product",
        "ProductOption",
    ] {
        assert!(ids.contains_key(kind), "tenant A has no {kind}: {ids:?}");
    }
    assert_eq!(pools.order_numbers.len(), 4, "{:?}", pools.order_numbers);
    assert_eq!(pools.claim_numbers.len(), 3, "{:?}", pools.claim_numbers);

    // A's amounts and the outbox messages, as the operator sees them.
    let d = t.gql(&ops, "query($c: ID) { orders(first: 50, filter: {customerId: $c}) { edges { node { totalAmount cashTotal } } } claims(first: 50) { edges { node { refund { cash } } } } outboxMessages(first: 200) { id } }", json!({"c": gid("Customer", ca)})).await;
    let mut private: BTreeSet<String> = BTreeSet::new();
    for v in ["totalAmount", "cashTotal", "cash"] {
        collect_numbers(&d, v, &mut private);
    }
    private.retain(|n| n.len() >= 5 && *n != PRICE_1.to_string() && *n != PRICE_2.to_string());
    let outbox_messages: Vec<i64> = d["outboxMessages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_i64())
        .collect();
    private.extend(pools.order_numbers.iter().cloned());
    private.extend(pools.claim_numbers.iter().cloned());
    private.extend([CUSTOMER_A, CUSTOMER_A_EMAIL, CUSTOMER_A_PHONE, HOOK_A].map(str::to_owned));
    private.insert(plugin["sha256"].as_str().unwrap().to_owned());
    for (kind, v) in &ids {
        if !CATALOGUE.contains(&kind.as_str()) {
            private.extend(v.iter().cloned());
        }
    }
    let mut catalogue: BTreeSet<String> = [
        SELLER_A.to_owned(),
        PRICE_1.to_string(),
        PRICE_2.to_string(),
    ]
    .into();
    for kind in CATALOGUE {
        catalogue.extend(ids[*kind].iter().cloned());
    }
    (
        TenantA {
            seller: sa,
            customer: ca,
            ids,
            order_numbers: pools.order_numbers,
            claim_numbers: pools.claim_numbers,
            idempotency_keys: keys,
            outbox_messages,
            replays,
            private,
            catalogue,
        },
        Callers {
            seller_b: sb,
            customer_b: cb,
        },
    )
}

fn collect_numbers(v: &Value, key: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key && x.is_number() {
                    out.insert(x.to_string());
                } else {
                    collect_numbers(x, key, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_numbers(x, key, out)),
        _ => {}
    }
}

/// Every string and number a request sent (an answer may echo those back).
fn sent(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Number(n) => {
            out.insert(n.to_string());
        }
        Value::Array(a) => a.iter().for_each(|x| sent(x, out)),
        Value::Object(m) => m.values().for_each(|x| sent(x, out)),
        _ => {}
    }
}

/// The values of `markers` an answer carries that its request did not send.
fn leaks<'m>(
    body: &Value,
    variables: &Value,
    markers: impl Iterator<Item = &'m String>,
) -> Vec<String> {
    let mut echo = BTreeSet::new();
    sent(variables, &mut echo);
    let text = body.to_string();
    markers
        .filter(|m| {
            // An id is a whole JSON string (`.../OrderLine/1` is not in `.../OrderLine/10`).
            let needle = if m.starts_with("gid://") {
                format!("\"{m}\"")
            } else {
                m.to_string()
            };
            !echo.iter().any(|e| e.contains(m.as_str())) && text.contains(&needle)
        })
        .cloned()
        .collect()
}

/// True for an answer with nothing in it: nulls, empty lists, zeros, `false`, type names.
fn vacuous(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Bool(true) | Value::String(_) => false,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.iter().all(vacuous),
        Value::Object(m) => m
            .iter()
            .all(|(k, v)| k == "__typename" || k == "timeZone" || vacuous(v)),
    }
}

/// How a call was refused, or why it was not.
fn refusal(root: &str, body: &Value) -> Result<String, String> {
    if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
        return match code {
            "UNAUTHENTICATED" | "FORBIDDEN" | "NOT_FOUND" | "BAD_USER_INPUT" => Ok(code.to_owned()),
            other => Err(format!("refused with {other}")),
        };
    }
    let data = &body["data"][root];
    if let Some(code) = data["userErrors"][0]["code"].as_str() {
        return Ok(code.to_owned());
    }
    if vacuous(data) {
        return Ok(if data.is_null() { "null" } else { "empty" }.to_owned());
    }
    Err("answered".into())
}

impl TenantA {
    /// A's identifiers (or a plausible value) for an argument or input field; `None` leaves an
    /// optional one out. `variant` picks among several identifiers of a kind; `variants` grows
    /// to the number of identifiers available.
    fn fill(
        &self,
        api: &Api,
        path: &str,
        arg: &Arg,
        variant: usize,
        variants: &mut usize,
    ) -> Option<Value> {
        if !arg.required() && !self.identifies(api, &arg.ty, &arg.name, 0) {
            return None;
        }
        Some(self.value(
            api,
            &format!("{path}.{}", arg.name),
            &arg.name,
            &arg.ty,
            variant,
            variants,
        ))
    }

    /// Whether an optional argument carries an identifier (then it is given).
    fn identifies(&self, api: &Api, ty: &Ty, name: &str, depth: usize) -> bool {
        let def = api.ty(ty.named());
        match def.kind.as_str() {
            "INPUT_OBJECT" => {
                depth < 3
                    && def
                        .inputs
                        .iter()
                        .any(|f| self.identifies(api, &f.ty, &f.name, depth + 1))
            }
            _ => {
                ty.named() == "ID"
                    || matches!(name, "orderNumber" | "claimNumber" | "idempotencyKey")
            }
        }
    }

    fn value(
        &self,
        api: &Api,
        path: &str,
        name: &str,
        ty: &Ty,
        variant: usize,
        variants: &mut usize,
    ) -> Value {
        let mut pick = |pool: &[String]| -> Value {
            assert!(!pool.is_empty(), "tenant A has no value for {path}");
            *variants = (*variants).max(pool.len());
            json!(pool[variant % pool.len()])
        };
        match ty {
            Ty::NonNull(t) => self.value(api, path, name, t, variant, variants),
            Ty::List(t) => json!([self.value(api, path, name, t, variant, variants)]),
            Ty::Named(n) => {
                let def = api.ty(n);
                match (def.kind.as_str(), n.as_str()) {
                    ("INPUT_OBJECT", _) => {
                        let mut m = Map::new();
                        for f in &def.inputs {
                            if let Some(v) = self.fill(api, path, f, variant, variants) {
                                m.insert(f.name.clone(), v);
                            }
                        }
                        Value::Object(m)
                    }
                    ("ENUM", _) => match name {
                        "hook" => json!("CLAIM_FEES"),
                        _ => json!(def.enum_values[0]),
                    },
                    (_, "ID") => {
                        let kind = match name {
                            "lineId" | "lineIds" => "OrderLine",
                            "optionId" | "replacementOptionId" => "ProductOption",
                            "productId" => "Product",
                            "sellerId" => "Seller",
                            "customerId" => "Customer",
                            "pluginId" => "Plugin",
                            "webhookId" => "Webhook",
                            "id" => {
                                let all: Vec<String> =
                                    self.ids.values().flatten().cloned().collect();
                                return pick(&all);
                            }
                            _ => panic!("no generator for the ID argument {path}: add its kind"),
                        };
                        pick(&self.ids[kind])
                    }
                    (_, "String") => match name {
                        "orderNumber" => pick(&self.order_numbers),
                        "claimNumber" => pick(&self.claim_numbers),
                        "idempotencyKey" => pick(&self.idempotency_keys),
                        "wasmBase64" => json!(base64::engine::general_purpose::STANDARD
                            .encode(crate::wasm::flat_fee())),
                        "url" => json!("https://tenant-b.example/hook"),
                        "eventTypes" => json!("claim.*"),
                        "courier" => json!("CJ대한통운"),
                        "trackingNumber" => json!("B-1"),
                        "reference" => json!("REF-B"),
                        "bank" => json!("국민은행"),
                        "accountNumber" => json!("123-456-789"),
                        "holder" => json!("홍길동"),
                        "couponCode" => json!("WELCOME"),
                        "memo" | "description" | "bundleId" => json!("probe"),
                        "externalId" => json!("tenant-b|probe"),
                        // A key the payment widget gave tenant B; A's order numbers come
                        // with it, so the probe is B paying for A's order.
                        "paymentKey" => json!("test-pk-tenant-b"),
                        // A valid number no seller of the probe holds.
                        "businessRegistrationNumber" => json!("104-81-08128"),
                        other
                            if other.ends_with("Number")
                                || other.ends_with("Id")
                                || other.ends_with("Key") =>
                        {
                            panic!("no generator for the identifier {path}")
                        }
                        _ => json!("probe"),
                    },
                    (_, "Int") => match name {
                        "messageId" => {
                            let ids: Vec<String> =
                                self.outbox_messages.iter().map(i64::to_string).collect();
                            let v = pick(&ids);
                            json!(v.as_str().unwrap().parse::<i64>().unwrap())
                        }
                        "first" | "last" => json!(10),
                        _ => json!(1),
                    },
                    (_, "Won") => json!(if name == "amount" { 3000 } else { 0 }),
                    (_, "Boolean") => json!(false),
                    (_, "DateTime") => json!(if name.ends_with("To") || name == "to" {
                        "2027-01-01T00:00:00Z"
                    } else {
                        "2026-01-01T00:00:00Z"
                    }),
                    (_, "JSON") => json!({}),
                    (kind, other) => panic!("no generator for {path}: {kind} {other}"),
                }
            }
        }
    }

    /// The document and variables of a call of `field` with A's identifiers, and how many
    /// variants there are.
    fn call(&self, api: &Api, op: Op, field: &Field, variant: usize) -> (String, Value, usize) {
        let mut variants = 1;
        let mut defs = Vec::new();
        let mut args = Vec::new();
        let mut vars = Map::new();
        for a in &field.args {
            if let Some(v) = self.fill(api, &field.name, a, variant, &mut variants) {
                defs.push(format!("${}: {}", a.name, a.ty.sdl()));
                args.push(format!("{}: ${}", a.name, a.name));
                vars.insert(a.name.clone(), v);
            }
        }
        let wrap = |items: &[String]| {
            if items.is_empty() {
                String::new()
            } else {
                format!("({})", items.join(", "))
            }
        };
        let ret = field.ty.named();
        let selection = if api.is_leaf(ret) {
            String::new()
        } else {
            format!(" {{ {} }}", api.full_selection(ret, 3))
        };
        let doc = format!(
            "{}{} {{ {}{}{selection} }}",
            op.keyword(),
            wrap(&defs),
            field.name,
            wrap(&args)
        );
        (doc, Value::Object(vars), variants)
    }
}

/// A's orders, claims, plugins and webhooks, as the operator sees them (not the catalogue's
/// stock: other customers may buy A's products).
async fn snapshot(t: &TestApp, api: &Api, a: &TenantA) -> Value {
    let order = api.full_selection("Order", 2);
    let claim = api.full_selection("Claim", 2);
    let doc = format!(
        "query($c: ID, $s: ID) {{ orders(first: 50, filter: {{customerId: $c}}) {{ edges {{ node {{ {order} }} }} }} claims(first: 50, filter: {{sellerId: $s}}) {{ edges {{ node {{ {claim} }} }} }} plugins(sellerId: $s) {{ {} }} webhooks(sellerId: $s) {{ {} }} }}",
        api.full_selection("Plugin", 1),
        api.full_selection("Webhook", 1),
    );
    t.gql(
        &t.operator(),
        &doc,
        json!({"c": gid("Customer", a.customer), "s": gid("Seller", a.seller)}),
    )
    .await
}

/// Operator-only per the field's documentation: it names OPERATOR and no other role.
fn operator_only(f: &Field) -> bool {
    let d = &f.description;
    d.contains("OPERATOR")
        && !["CUSTOMER", "SELLER", "ANALYST"]
            .iter()
            .any(|r| d.contains(r))
}

async fn matrix(t: TestApp, prefix: &str) {
    let started = std::time::Instant::now();
    let api = Api::introspect(&t).await;
    let (a, callers) = build(&t, &api).await;
    let before = snapshot(&t, &api, &a).await;
    let user_codes = api.enum_values("UserErrorCode");
    let anonymous = None;
    let customer_b = Some(t.token(Role::Customer, &callers.customer_b.to_string()));
    let seller_b = Some(t.token(Role::Seller, &callers.seller_b.to_string()));
    let analyst = Some(t.token(Role::Analyst, "analyst"));
    let customer_a = Some(t.token(Role::Customer, &a.customer.to_string()));
    let seller_a = Some(t.token(Role::Seller, &a.seller.to_string()));

    let mut calls = 0usize;
    let mut outcomes: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut failures = Vec::new();
    for op in [Op::Query, Op::Mutation] {
        for field in api.roots(op) {
            let mut callers: Vec<(&str, &Option<String>, bool)> = vec![
                ("anonymous", &anonymous, true),
                ("customer B", &customer_b, true),
                ("seller B", &seller_b, true),
            ];
            if op == Op::Mutation || operator_only(field) {
                callers.push(("analyst", &analyst, true));
            }
            if operator_only(field) {
                // A's own callers: refused, and their own data is no leak.
                callers.push(("customer A", &customer_a, false));
                callers.push(("seller A", &seller_a, false));
            }
            let mut variant = 0;
            loop {
                let (doc, vars, variants) = a.call(&api, op, field, variant);
                let node_kind = vars["id"]
                    .as_str()
                    .and_then(|id| id.split('/').nth(3))
                    .map(str::to_owned);
                let public = PUBLIC.contains(&field.name.as_str())
                    || node_kind.as_deref().is_some_and(|k| CATALOGUE.contains(&k));
                for (who, token, outsider) in &callers {
                    let (status, body) = t.post(token.as_deref(), &doc, vars.clone()).await;
                    calls += 1;
                    let context =
                        || format!("{} as {who} with {vars}: {status} {body}", field.name);
                    if let Err(why) = check_answer(status, &body, &user_codes, &mut Vec::new()) {
                        failures.push(format!("{why}: {}", context()));
                        continue;
                    }
                    let outcome = if public {
                        "public".to_owned()
                    } else {
                        match refusal(&field.name, &body) {
                            Ok(o) => o,
                            Err(why) => {
                                failures.push(format!("not refused ({why}): {}", context()));
                                continue;
                            }
                        }
                    };
                    let kind = node_kind
                        .as_deref()
                        .map(|k| format!(" {k}"))
                        .unwrap_or_default();
                    *outcomes
                        .entry(field.name.clone())
                        .or_default()
                        .entry(format!("{who}:{kind} {outcome}"))
                        .or_default() += 1;
                    if *outsider {
                        let mut markers: Vec<&String> = a.private.iter().collect();
                        if !public {
                            markers.extend(a.catalogue.iter());
                        }
                        let leaked = leaks(&body, &vars, markers.into_iter());
                        if !leaked.is_empty() {
                            failures.push(format!("leaked {leaked:?}: {}", context()));
                        }
                    }
                }
                variant += 1;
                if variant >= variants {
                    break;
                }
            }
        }
    }
    // A's own requests, word for word with its idempotency keys, from other callers.
    for (root, doc, vars) in &a.replays {
        for (who, token) in [
            ("customer B", &customer_b),
            ("seller B", &seller_b),
            ("analyst", &analyst),
        ] {
            let (status, body) = t.post(token.as_deref(), doc, vars.clone()).await;
            calls += 1;
            let context = format!("replay of {root} as {who}: {status} {body}");
            // Customer B may buy A's products: its replay of A's order is an order of its own
            // (of the same amounts), never A's stored answer.
            let own_order = *root == "placeOrder" && who == "customer B";
            if own_order {
                // B's refused calls above sent A's keys too, and refusals are remembered under
                // their key (B's own): B may meet its own earlier request there. The same order
                // under a key B never used must then be an order of its own.
                let mut body = body.clone();
                if body["data"][root]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED" {
                    let mut fresh = vars.clone();
                    let key = vars["input"]["idempotencyKey"].as_str().unwrap_or_default();
                    fresh["input"]["idempotencyKey"] = json!(format!("{key}-b"));
                    body = t.post(token.as_deref(), doc, fresh).await.1;
                    calls += 1;
                }
                let n = body["data"][root]["order"]["orderNumber"].as_str();
                if n.is_none_or(|n| a.order_numbers.iter().any(|a| a == n)) {
                    failures.push(format!("not a new order: {context}"));
                }
            } else if let Err(why) = refusal(root, &body) {
                failures.push(format!("not refused ({why}): {context}"));
            }
            let markers = a
                .private
                .iter()
                .filter(|m| !own_order || m.parse::<i64>().is_err());
            let leaked = leaks(&body, vars, markers);
            if !leaked.is_empty() {
                failures.push(format!("leaked {leaked:?}: {context}"));
            }
        }
    }
    let after = snapshot(&t, &api, &a).await;
    for (field, o) in &outcomes {
        eprintln!("  {field}: {o:?}");
    }
    eprintln!(
        "{prefix}: {calls} calls of {} root fields in {:.1?}",
        outcomes.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(before, after, "tenant A's data changed");
    let panicked = panics_on(prefix);
    assert!(panicked.is_empty(), "{panicked:?}");
    let roots = api.roots(Op::Query).len() + api.roots(Op::Mutation).len();
    assert_eq!(outcomes.len(), roots, "every root field was called");

    // The owners get the same data from the same calls: the leak check sees it.
    let owners = [
        ("order", &customer_a, Op::Query),
        ("claim", &seller_a, Op::Query),
        ("webhooks", &seller_a, Op::Query),
        ("plugins", &seller_a, Op::Query),
        ("orders", &Some(t.operator()), Op::Query),
    ];
    for (name, token, op) in owners {
        let field = api.roots(op).iter().find(|f| f.name == name).unwrap();
        let (doc, vars, _) = a.call(&api, op, field, 0);
        let (status, body) = t.post(token.as_deref(), &doc, vars.clone()).await;
        assert!(status.is_success(), "{name}: {body}");
        assert!(
            refusal(name, &body).is_err(),
            "{name}: the owner was refused: {body}"
        );
        let leaked = leaks(&body, &vars, a.private.iter().chain(a.catalogue.iter()));
        assert!(
            !leaked.is_empty(),
            "{name}: the owner's answer shows nothing of A's: {body}"
        );
    }
}

#[test]
fn other_tenants_ids_sqlite() {
    let rt = runtime("tenancy-sqlite");
    rt.block_on(async {
        let t = TestApp::new(Backend::Sqlite).await.expect("sqlite");
        matrix(t, "tenancy-sqlite").await;
    });
}

#[test]
fn other_tenants_ids_postgres() {
    let rt = runtime("tenancy-postgres");
    rt.block_on(async {
        let Some(t) = TestApp::new(Backend::Postgres).await else {
            crate::harness::skip_postgres();
            return;
        };
        matrix(t, "tenancy-postgres").await;
    });
}
