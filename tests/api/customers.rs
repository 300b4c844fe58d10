//! Customers through the API (issue 20, part 5): an operator creates and edits customers and
//! grants or takes back points with a reason; and a marketplace's first order with no SQL at
//! all — a seller onboarded, a product listed, a customer created and given points, the order
//! placed, paid and shipped through the API.

use oms::domain::actor::Role;
use serde_json::{json, Value};

use crate::builders::confirm_payment;
use crate::builders::first_code as code;
use crate::harness::{Backend, TestApp};
use crate::on_both;

const CREATE: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id name email pointsBalance } userErrors { code field message } replayed } }";
const UPDATE: &str = "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { name email } userErrors { code field message } } }";
const ADJUST: &str = "mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) { customer { pointsBalance } userErrors { code field message } } }";
const HISTORY: &str = "query($id: ID!) { node(id: $id) { ... on Customer { pointsBalance pointsHistory { kind delta balanceAfter reason } } } }";

fn number(gid: &Value) -> i64 {
    gid.as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Customers and their points, with every refusal changing nothing.
async fn customers_and_points(t: TestApp) {
    let ops = t.operator();
    let input = json!({"name": "정하늘", "email": "haneul@example.com", "phone": "010-2222-3333", "externalId": "idp|haneul", "idempotencyKey": "c1"});
    let d = t.gql(&ops, CREATE, json!({"i": input})).await["createCustomer"].clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let id = d["customer"]["id"].clone();
    for (change, field, want) in [
        (
            json!({"email": "not-an-address", "idempotencyKey": "c2"}),
            "email",
            "INVALID_INPUT",
        ),
        (
            json!({"name": " ", "idempotencyKey": "c3"}),
            "name",
            "INVALID_INPUT",
        ),
        (
            json!({"email": "other@example.com", "idempotencyKey": "c4"}),
            "externalId",
            "IDENTITY_ALREADY_LINKED",
        ),
    ] {
        let mut other =
            json!({"name": "다른 고객", "email": "x@example.com", "externalId": "idp|haneul"});
        for (k, v) in change.as_object().unwrap() {
            other[k] = v.clone();
        }
        let d = t.gql(&ops, CREATE, json!({"i": other})).await["createCustomer"].clone();
        assert_eq!(code(&d), want, "{change}: {d}");
        assert_eq!(d["userErrors"][0]["field"], json!(["input", field]), "{d}");
    }
    let (_, body) = t
        .post(
            Some(&t.token(Role::Seller, "1")),
            CREATE,
            json!({"i": {"name": "a", "email": "a@b.kr"}}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let nothing = json!({"i": {"customerId": id}});
    let d = t.gql(&ops, UPDATE, nothing).await["updateCustomer"].clone();
    assert_eq!(code(&d), "INVALID_INPUT", "nothing to change: {d}");
    let d = t
        .gql(
            &ops,
            UPDATE,
            json!({"i": {"customerId": id, "name": "정하늘(수정)"}}),
        )
        .await["updateCustomer"]
        .clone();
    assert_eq!(
        d["customer"],
        json!({"name": "정하늘(수정)", "email": "haneul@example.com"}),
        "{d}"
    );

    let adjust = |points: i64, reason: &str| json!({"i": {"customerId": id, "points": points, "reason": reason}});
    let d = t.gql(&ops, ADJUST, adjust(5000, "가입 축하 적립금")).await["adjustPoints"].clone();
    assert_eq!(d["customer"]["pointsBalance"], 5000, "{d}");
    let d = t.gql(&ops, ADJUST, adjust(-2000, "중복 지급 회수")).await["adjustPoints"].clone();
    assert_eq!(d["customer"]["pointsBalance"], 3000, "{d}");
    for (points, reason, want) in [
        (-3001, "회수", "POINTS_EXCEED_BALANCE"),
        (0, "없음", "INVALID_AMOUNT"),
        (10_000_001, "너무 많음", "INVALID_AMOUNT"),
        (100, "  ", "INVALID_INPUT"),
    ] {
        let d = t.gql(&ops, ADJUST, adjust(points, reason)).await["adjustPoints"].clone();
        assert_eq!(code(&d), want, "{points}: {d}");
    }
    let d = t.gql(&ops, ADJUST, adjust(10_000_000, "최대 지급")).await["adjustPoints"].clone();
    assert_eq!(
        d["customer"]["pointsBalance"], 10_003_000,
        "at the limit: {d}"
    );

    let customer = t.token(Role::Customer, &number(&id).to_string());
    let d = t.gql(&customer, HISTORY, json!({"id": id})).await["node"].clone();
    assert_eq!(
        d["pointsHistory"][0],
        json!({"kind": "GRANTED", "delta": 10_000_000, "balanceAfter": 10_003_000, "reason": "최대 지급"})
    );
    assert_eq!(d["pointsHistory"][1]["kind"], "TAKEN_BACK");
    assert_eq!(
        d["pointsHistory"].as_array().unwrap().len(),
        3,
        "refusals left no trace: {d}"
    );
}
on_both!(operators_manage_customers_and_points, customers_and_points);

/// A marketplace's first order without SQL: seller, product, customer and points through the
/// API; the order placed with points, paid by card, shipped and delivered.
async fn first_order_without_sql(t: TestApp) {
    let ops = t.operator();
    let d = t.gql(&ops, "mutation($i: OnboardSellerInput!) { onboardSeller(input: $i) { seller { id } } }",
        json!({"i": {"name": "첫가게", "businessRegistrationNumber": "220-81-62517", "returnAddress": "서울시 강남구 테헤란로 1",
                     "baseShippingFee": 3000, "freeShippingThreshold": 30000, "returnFee": 3000}})).await;
    let seller_id = number(&d["onboardSeller"]["seller"]["id"]);
    let seller = t.token(Role::Seller, &seller_id.to_string());
    let d = t.gql(&seller, "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { options { id } } } }",
        json!({"i": {"name": "머그컵", "options": [{"name": "기본", "price": 12000, "stock": 10}]}})).await;
    let option = d["createProduct"]["product"]["options"][0]["id"].clone();
    let d = t
        .gql(
            &ops,
            CREATE,
            json!({"i": {"name": "첫손님", "email": "first@example.com"}}),
        )
        .await;
    let customer_gid = d["createCustomer"]["customer"]["id"].clone();
    t.gql(
        &ops,
        ADJUST,
        json!({"i": {"customerId": customer_gid, "points": 2000, "reason": "첫 구매 혜택"}}),
    )
    .await;
    let customer = t.token(Role::Customer, &number(&customer_gid).to_string());

    let input = json!({"lines": [{"optionId": option, "quantity": 2}], "points": 2000, "paymentMethod": "CARD"});
    let d = t
        .gql(&customer, crate::orders::PLACE, json!({"input": input}))
        .await["placeOrder"]
        .clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    // 24,000 of items ship free from 30,000: 3,000 shipping; 2,000 in points.
    assert_eq!(d["order"]["amountDue"], 25000, "{d}");
    let n = d["order"]["orderNumber"].as_str().unwrap().to_owned();
    let d = confirm_payment(&t, &customer, &n, &json!(25000)).await;
    assert_eq!(d["confirmPayment"]["order"]["status"], "PAID", "{d}");
    crate::claims::deliver(
        &t,
        &n,
        &[d["confirmPayment"]["order"]["lines"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()],
    )
    .await;
    let d = t.gql(&customer, HISTORY, json!({"id": customer_gid})).await["node"].clone();
    assert_eq!(d["pointsBalance"], 0, "{d}");
    assert_eq!(d["pointsHistory"][0]["kind"], "ORDER_PAYMENT");
    let o = t
        .gql(
            &seller,
            "query($n: String!) { order(orderNumber: $n) { status } }",
            json!({"n": n}),
        )
        .await;
    assert_eq!(o["order"]["status"], "DELIVERED", "{o}");
}
on_both!(a_first_order_without_sql, first_order_without_sql);
