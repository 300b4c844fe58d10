//! Idempotency keys through the API (`service::idempotency`): concurrent duplicates wait for
//! the first attempt and replay its outcome, on one server and across replicas; refusals are
//! replayed too, transient ones are not remembered; the fingerprint is the canonical input
//! (field order, literals or variables, nulls do not matter) and rows of the old fingerprint
//! still replay; keys have a length limit; every mutation with a key goes through it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use entity::{claim, idempotency_key, product_option};
use futures_util::future::BoxFuture;
use oms::courier::{Booking, CourierAdapter, CourierError, PickupRequest};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{json, Value};

use crate::builders::{OrderBuilder, PlacedOrder, ShopBuilder};
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;

const RETURN: &str = "mutation($i: RequestReturnInput!) { requestReturn(input: $i) { claim { claimNumber version } userErrors { code field message } replayed } }";
const APPROVE: &str = "mutation($i: ApproveClaimInput!) { approveClaim(input: $i) { claim { claimNumber status version timeline { action } } userErrors { code field message } replayed } }";
const PLACE_KEYED: &str = "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { orderNumber } userErrors { code field message } replayed } }";

async fn claims(t: &TestApp) -> u64 {
    claim::Entity::find().count(t.app.db.conn()).await.unwrap()
}

/// `field`'s payload of a mutation that must not fail at the GraphQL level.
async fn call(t: &TestApp, token: &str, doc: &str, field: &str, input: Value) -> Value {
    t.gql(token, doc, json!({ "i": input })).await[field].clone()
}

/// Sends `input` `n` times at once under one key, from spawned tasks, each through the server
/// `servers[i % servers.len()]`; returns the payloads.
async fn at_once(servers: &[Arc<TestApp>], token: &str, input: &Value, n: usize) -> Vec<Value> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let server = servers[i % servers.len()].clone();
            let (token, input) = (token.to_owned(), input.clone());
            tokio::spawn(async move { call(&server, &token, RETURN, "requestReturn", input).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// Rounds of concurrent identical `requestReturn`s with one key: every caller gets the one claim
/// (never NOT_ENOUGH_UNITS), and all but the one that ran are marked as replays.
async fn duplicates_in_rounds(servers: &[Arc<TestApp>]) {
    let t = &servers[0];
    let shop = ShopBuilder::new().stock(1000).build(t).await;
    for round in 0..6 {
        let PlacedOrder { number, lines, .. } =
            OrderBuilder::new(&shop).quantity(2).delivered(t).await;
        let line = &lines[0];
        let before = claims(t).await;
        let input = json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 2}], "reason": "CHANGE_OF_MIND", "idempotencyKey": format!("return-{round}")});
        let answers = at_once(servers, &shop.customer().token, &input, 8).await;
        let first = &answers[0]["claim"]["claimNumber"];
        for a in &answers {
            assert_eq!(a["userErrors"], json!([]), "round {round}: {answers:?}");
            assert_eq!(
                &a["claim"]["claimNumber"], first,
                "round {round}: {answers:?}"
            );
            assert_eq!(a["claim"]["version"], 1, "round {round}: {a}");
        }
        let ran = answers.iter().filter(|a| a["replayed"] == false).count();
        assert_eq!(ran, 1, "round {round}: {answers:?}");
        assert_eq!(claims(t).await, before + 1, "round {round}");
    }
}

async fn concurrent_duplicates(t: TestApp) {
    duplicates_in_rounds(&[Arc::new(t)]).await;
}
on_both!(concurrent_duplicates_replay, concurrent_duplicates);

/// The same across two replicas of one PostgreSQL database, each with its own pool: the lock
/// is the database's, not a process's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_across_replicas() {
    let Some(t) = TestApp::new(Backend::Postgres).await else {
        crate::harness::skip_postgres();
        return;
    };
    let replica = t.replica_with_own_pool().await;
    duplicates_in_rounds(&[Arc::new(t), Arc::new(replica)]).await;
}

/// A refused request replayed answers the same `userErrors`, even after the state changed so
/// that running it again would succeed, and changes nothing; on the order side too.
async fn refusals_replay(t: TestApp) {
    let shop = ShopBuilder::new().stock(3).build(&t).await;
    let ops = t.operator();
    // CHANGE_OF_MIND on shipped, undelivered lines is not allowed.
    let PlacedOrder { number, lines, .. } = OrderBuilder::new(&shop).quantity(2).place(&t).await;
    let line = &lines[0];
    t.gql(
        &ops,
        "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }",
        json!({"n": number}),
    )
    .await;
    t.gql(&ops, "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ\", trackingNumber: \"1\"}) { userErrors { code } } }", json!({"l": [line]})).await;
    let input = json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "CHANGE_OF_MIND", "idempotencyKey": "early"});
    let first = call(
        &t,
        &shop.customer().token,
        RETURN,
        "requestReturn",
        input.clone(),
    )
    .await;
    assert_eq!(
        first["userErrors"][0]["code"], "CLAIM_NOT_ALLOWED",
        "{first}"
    );
    assert_eq!(first["replayed"], false);
    t.gql(
        &ops,
        "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code } } }",
        json!({"l": [line]}),
    )
    .await;
    let again = call(
        &t,
        &shop.customer().token,
        RETURN,
        "requestReturn",
        input.clone(),
    )
    .await;
    assert_eq!(again["userErrors"], first["userErrors"]);
    assert_eq!(again["claim"], Value::Null);
    assert_eq!(again["replayed"], true);
    assert_eq!(claims(&t).await, 0);
    // Run anew (another key), the same request succeeds now.
    let mut fresh = input.clone();
    fresh["idempotencyKey"] = json!("late");
    let d = call(&t, &shop.customer().token, RETURN, "requestReturn", fresh).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["replayed"], false);

    // placeOrder: OUT_OF_STOCK stays the answer of its key after a restock.
    let order = json!({"lines": [{"optionId": gid("ProductOption", shop.option), "quantity": 5}], "paymentMethod": "CARD", "idempotencyKey": "big-cart"});
    let orders = t.order_count().await;
    let first = call(
        &t,
        &shop.customer().token,
        PLACE_KEYED,
        "placeOrder",
        order.clone(),
    )
    .await;
    assert_eq!(first["userErrors"][0]["code"], "OUT_OF_STOCK", "{first}");
    product_option::ActiveModel {
        id: Set(shop.option),
        stock: Set(100),
        ..Default::default()
    }
    .update(t.app.db.conn())
    .await
    .unwrap();
    let again = call(
        &t,
        &shop.customer().token,
        PLACE_KEYED,
        "placeOrder",
        order.clone(),
    )
    .await;
    assert_eq!(again["userErrors"], first["userErrors"]);
    assert_eq!(again["replayed"], true);
    assert_eq!(t.order_count().await, orders);
    assert_eq!(t.stock(shop.option).await, 100);
}
on_both!(refused_requests_replay, refusals_replay);

/// A courier that fails while `down` is above zero (counting down) and takes `delay_ms` to
/// answer; counts its bookings.
#[derive(Default)]
struct TestCourier {
    down: AtomicU32,
    delay_ms: AtomicU32,
    booked: AtomicU32,
}

impl CourierAdapter for TestCourier {
    fn book_pickup(&self, request: PickupRequest) -> BoxFuture<'_, Result<Booking, CourierError>> {
        Box::pin(async move {
            let delay = self.delay_ms.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(u64::from(delay))).await;
            let down = self
                .down
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if down {
                return Err(CourierError("maintenance".into()));
            }
            self.booked.fetch_add(1, Ordering::SeqCst);
            Ok(Booking {
                courier: "CJ대한통운".into(),
                tracking_number: format!("CJ-{}", request.idempotency_key),
            })
        })
    }
}

/// COURIER_UNAVAILABLE is transient: not remembered, so a retry with the same key runs again
/// (and its success is then replayed). A duplicate sent while the first approval still waits
/// for the courier waits for it and replays it: one booking, one timeline event.
async fn transient_and_in_flight(backend: Backend) {
    let courier = Arc::new(TestCourier::default());
    let Some(t) = TestApp::with_courier(backend, courier.clone()).await else {
        return;
    };
    let shop = ShopBuilder::new().stock(100).build(&t).await;
    let open = |number: &str, line: &str| json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "DEFECTIVE"});

    let PlacedOrder { number, lines, .. } =
        OrderBuilder::new(&shop).quantity(2).delivered(&t).await;
    let line = &lines[0];
    let d = call(
        &t,
        &shop.customer().token,
        RETURN,
        "requestReturn",
        open(&number, line),
    )
    .await;
    let approve = json!({"claimNumber": d["claim"]["claimNumber"], "idempotencyKey": "approve-1"});
    courier.down.store(1, Ordering::SeqCst);
    let first = call(
        &t,
        &shop.seller.token,
        APPROVE,
        "approveClaim",
        approve.clone(),
    )
    .await;
    assert_eq!(
        first["userErrors"][0]["code"], "COURIER_UNAVAILABLE",
        "{first}"
    );
    let retry = call(
        &t,
        &shop.seller.token,
        APPROVE,
        "approveClaim",
        approve.clone(),
    )
    .await;
    assert_eq!(retry["userErrors"], json!([]), "{retry}");
    assert_eq!(retry["replayed"], false);
    assert_eq!(retry["claim"]["status"], "RETURN_COLLECTING");
    let again = call(&t, &shop.seller.token, APPROVE, "approveClaim", approve).await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["claim"]["version"], retry["claim"]["version"]);
    assert_eq!(courier.booked.load(Ordering::SeqCst), 1);

    // In flight: the duplicate arrives while the first waits 400 ms for the courier.
    let PlacedOrder { number, lines, .. } =
        OrderBuilder::new(&shop).quantity(2).delivered(&t).await;
    let line = &lines[0];
    let d = call(
        &t,
        &shop.customer().token,
        RETURN,
        "requestReturn",
        open(&number, line),
    )
    .await;
    let approve = json!({"claimNumber": d["claim"]["claimNumber"], "idempotencyKey": "approve-2"});
    courier.delay_ms.store(400, Ordering::SeqCst);
    let t = Arc::new(t);
    let first = {
        let (t, seller, approve) = (t.clone(), shop.seller.token.clone(), approve.clone());
        tokio::spawn(async move { call(&t, &seller, APPROVE, "approveClaim", approve).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let duplicate = call(&t, &shop.seller.token, APPROVE, "approveClaim", approve).await;
    let first = first.await.unwrap();
    assert_eq!(first["userErrors"], json!([]), "{first}");
    assert_eq!(first["replayed"], false);
    assert_eq!(duplicate["replayed"], true, "{duplicate}");
    assert_eq!(duplicate["claim"], first["claim"]);
    let approvals = first["claim"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "APPROVE")
        .count();
    assert_eq!(approvals, 1, "{first}");
    assert_eq!(courier.booked.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_refusals_and_in_flight_duplicates_sqlite() {
    transient_and_in_flight(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_refusals_and_in_flight_duplicates_postgres() {
    transient_and_in_flight(Backend::Postgres).await;
}

/// The fingerprint is the canonical input: the same request with its fields in another order,
/// written inline (under an alias) instead of in variables, or with a null instead of an absent
/// field replays;
/// another input under the key is IDEMPOTENCY_KEY_REUSED.
async fn canonical_fingerprint(t: TestApp) {
    let shop = ShopBuilder::new().stock(100).build(&t).await;
    let PlacedOrder { number, lines, .. } =
        OrderBuilder::new(&shop).quantity(2).delivered(&t).await;
    let line = &lines[0];
    let body = |input: &str| {
        json!({"query": "mutation($i: RequestReturnInput!) { requestReturn(input: $i) { claim { claimNumber } userErrors { code } replayed } }", "variables": "VARS"})
            .to_string()
            .replace("\"VARS\"", &format!("{{\"i\": {input}}}"))
    };
    let forward = format!(
        r#"{{"orderNumber": "{number}", "items": [{{"lineId": "{line}", "quantity": 1}}], "reason": "DEFECTIVE", "idempotencyKey": "fp"}}"#
    );
    let backward = format!(
        r#"{{"idempotencyKey": "fp", "memo": null, "reason": "DEFECTIVE", "items": [{{"quantity": 1, "lineId": "{line}"}}], "orderNumber": "{number}"}}"#
    );
    let (_, first) = t
        .post_body(Some(&shop.customer().token), body(&forward))
        .await;
    let first = &first["data"]["requestReturn"];
    assert_eq!(first["userErrors"], json!([]), "{first}");
    assert_eq!(first["replayed"], false);
    let (_, again) = t
        .post_body(Some(&shop.customer().token), body(&backward))
        .await;
    assert_eq!(again["data"]["requestReturn"]["replayed"], true, "{again}");
    assert_eq!(again["data"]["requestReturn"]["claim"], first["claim"]);
    let inline = format!(
        r#"mutation {{ retry: requestReturn(input: {{reason: DEFECTIVE, idempotencyKey: "fp", orderNumber: "{number}", items: [{{quantity: 1, lineId: "{line}"}}]}}) {{ claim {{ claimNumber }} replayed }} }}"#
    );
    let d = t.gql(&shop.customer().token, &inline, json!({})).await;
    assert_eq!(d["retry"]["replayed"], true, "{d}");
    assert_eq!(d["retry"]["claim"], first["claim"]);
    let other = json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "DEFECTIVE", "memo": "다른 요청", "idempotencyKey": "fp"});
    let d = call(&t, &shop.customer().token, RETURN, "requestReturn", other).await;
    assert_eq!(d["userErrors"][0]["code"], "IDEMPOTENCY_KEY_REUSED", "{d}");
    assert_eq!(
        d["userErrors"][0]["field"],
        json!(["input", "idempotencyKey"])
    );
    assert_eq!(claims(&t).await, 1);
}
on_both!(fingerprint_is_canonical, canonical_fingerprint);

/// A key stored before the canonical fingerprint (version 1, a hash of Rust's `Debug` text)
/// still replays its request after the deploy, matched by caller, key and operation; another
/// operation under it is refused.
async fn keys_of_the_old_fingerprint(t: TestApp) {
    let shop = ShopBuilder::new().stock(100).build(&t).await;
    let PlacedOrder { number, lines, .. } =
        OrderBuilder::new(&shop).quantity(2).delivered(&t).await;
    let line = &lines[0];
    let input = json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "DEFECTIVE"});
    let d = call(
        &t,
        &shop.customer().token,
        RETURN,
        "requestReturn",
        input.clone(),
    )
    .await;
    let claim_number = d["claim"]["claimNumber"].clone();
    let claim_id = claim::Entity::find()
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    idempotency_key::ActiveModel {
        // As releases before the canonical fingerprint spelled the caller.
        caller: Set(format!("Customer({})", shop.customer().id)),
        key: Set("before-the-deploy".into()),
        operation: Set("requestReturn".into()),
        request_hash: Set("0f1e".repeat(16)),
        fingerprint_version: Set(1),
        response: Set(json!({ "claim_id": claim_id }).to_string()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    let mut keyed = input.clone();
    keyed["idempotencyKey"] = json!("before-the-deploy");
    let d = call(&t, &shop.customer().token, RETURN, "requestReturn", keyed).await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["replayed"], true);
    assert_eq!(d["claim"]["claimNumber"], claim_number);
    assert_eq!(claims(&t).await, 1);
    let d = t.gql(&shop.customer().token, "mutation($n: String!) { withdrawClaim(input: {claimNumber: $n, idempotencyKey: \"before-the-deploy\"}) { userErrors { code } replayed } }", json!({"n": claim_number})).await;
    assert_eq!(
        d["withdrawClaim"]["userErrors"][0]["code"], "IDEMPOTENCY_KEY_REUSED",
        "{d}"
    );
}
on_both!(old_fingerprints_replay, keys_of_the_old_fingerprint);

/// Keys are 1 to 255 printable ASCII characters: 255 accepted; 256, empty, non-ASCII and
/// control characters refused as a `userErrors` entry naming `idempotencyKey`, changing
/// nothing.
async fn key_limits(t: TestApp) {
    let shop = ShopBuilder::new().stock(100).build(&t).await;
    let PlacedOrder { number, lines, .. } =
        OrderBuilder::new(&shop).quantity(2).delivered(&t).await;
    let line = &lines[0];
    let input = |key: &str| json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "DEFECTIVE", "idempotencyKey": key});
    for bad in [
        "k".repeat(256),
        String::new(),
        "반품-1".into(),
        "tab\tkey".into(),
    ] {
        let d = call(
            &t,
            &shop.customer().token,
            RETURN,
            "requestReturn",
            input(&bad),
        )
        .await;
        assert_eq!(
            d["userErrors"][0]["code"], "IDEMPOTENCY_KEY_INVALID",
            "{bad:?}: {d}"
        );
        assert_eq!(
            d["userErrors"][0]["field"],
            json!(["input", "idempotencyKey"])
        );
        assert!(
            d["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("1 to 255 printable ASCII"),
            "{d}"
        );
        assert_eq!(claims(&t).await, 0);
    }
    let at_limit = "k".repeat(255);
    let d = call(
        &t,
        &shop.customer().token,
        RETURN,
        "requestReturn",
        input(&at_limit),
    )
    .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let d = call(
        &t,
        &shop.customer().token,
        RETURN,
        "requestReturn",
        input(&at_limit),
    )
    .await;
    assert_eq!(d["replayed"], true, "{d}");
    assert_eq!(claims(&t).await, 1);
    // The order side reads its key the same way.
    let order = json!({"lines": [{"optionId": gid("ProductOption", shop.option), "quantity": 1}], "paymentMethod": "CARD", "idempotencyKey": "k".repeat(256)});
    let orders = t.order_count().await;
    let d = call(&t, &shop.customer().token, PLACE_KEYED, "placeOrder", order).await;
    assert_eq!(d["userErrors"][0]["code"], "IDEMPOTENCY_KEY_INVALID", "{d}");
    assert_eq!(t.order_count().await, orders);
}
on_both!(key_length_limit, key_limits);

/// Every mutation whose input has an `idempotencyKey` (found by introspection) reads it through
/// the one mechanism: each refuses a 256-character key before doing anything.
async fn every_keyed_mutation(t: TestApp) {
    let shop = ShopBuilder::new().stock(100).build(&t).await;
    let ops = t.operator();
    let PlacedOrder { number, lines, .. } =
        OrderBuilder::new(&shop).quantity(2).delivered(&t).await;
    let line = &lines[0];
    let d = call(&t, &shop.customer().token, RETURN, "requestReturn", json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "DEFECTIVE"})).await;
    let claim_number = d["claim"]["claimNumber"].as_str().unwrap().to_owned();
    let schema = t.gql(&ops, "{ __schema { mutationType { fields { name args { name type { ...T } } } } types { kind name inputFields { name type { ...T } } enumValues { name } } } } fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }", json!({})).await;
    let types = schema["__schema"]["types"].as_array().unwrap();
    let find = |name: &str| types.iter().find(|t| t["name"] == name).unwrap().clone();
    let fixture = Fixture {
        order: number,
        claim: claim_number,
        line: line.clone(),
        option: gid("ProductOption", shop.option),
    };
    let mut checked = Vec::new();
    for field in schema["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
    {
        let Some(arg) = field["args"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "input")
        else {
            continue;
        };
        let input_type = named(&arg["type"]);
        let ty = find(&input_type);
        let fields = ty["inputFields"].as_array().unwrap();
        if !fields.iter().any(|f| f["name"] == "idempotencyKey") {
            continue;
        }
        let mut input = dummy_object(&ty, &find, &fixture);
        input["idempotencyKey"] = json!("k".repeat(256));
        let name = field["name"].as_str().unwrap();
        let doc = format!("mutation($i: {input_type}!) {{ {name}(input: $i) {{ userErrors {{ code field }} replayed }} }}");
        let d = t.gql(&ops, &doc, json!({ "i": input })).await;
        assert_eq!(
            d[name]["userErrors"],
            json!([{"code": "IDEMPOTENCY_KEY_INVALID", "field": ["input", "idempotencyKey"]}]),
            "{name}({input}): {d}"
        );
        checked.push(name.to_owned());
    }
    // The 25 claim mutations and the 6 order-side ones, at least.
    assert!(checked.len() >= 31, "{checked:?}");
}
on_both!(every_keyed_mutation_reads_its_key, every_keyed_mutation);

/// Real objects for the dummy inputs (the key is refused before they matter, but convertClaim
/// looks its claim up first).
struct Fixture {
    order: String,
    claim: String,
    line: String,
    option: String,
}

/// The named type under NON_NULL and LIST wrappers.
fn named(ty: &Value) -> String {
    match ty["name"].as_str() {
        Some(name) => name.to_owned(),
        None => named(&ty["ofType"]),
    }
}

/// An input object with its required fields filled in.
fn dummy_object(ty: &Value, find: &dyn Fn(&str) -> Value, fixture: &Fixture) -> Value {
    let mut object = serde_json::Map::new();
    for f in ty["inputFields"].as_array().unwrap() {
        if f["type"]["kind"] == "NON_NULL" {
            let name = f["name"].as_str().unwrap();
            object.insert(
                name.to_owned(),
                dummy(&f["type"]["ofType"], name, find, fixture),
            );
        }
    }
    Value::Object(object)
}

fn dummy(ty: &Value, field: &str, find: &dyn Fn(&str) -> Value, fixture: &Fixture) -> Value {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => dummy(&ty["ofType"], field, find, fixture),
        "LIST" => json!([dummy(&ty["ofType"], field, find, fixture)]),
        "ENUM" => find(ty["name"].as_str().unwrap())["enumValues"][0]["name"].clone(),
        "INPUT_OBJECT" => dummy_object(&find(ty["name"].as_str().unwrap()), find, fixture),
        _ => match (ty["name"].as_str().unwrap(), field) {
            (_, "orderNumber") => json!(fixture.order),
            (_, "claimNumber") => json!(fixture.claim),
            ("ID", "optionId" | "replacementOptionId") => json!(fixture.option),
            ("ID", _) => json!(fixture.line),
            ("Int" | "Won", _) => json!(1),
            ("Boolean", _) => json!(false),
            _ => json!("X"),
        },
    }
}
