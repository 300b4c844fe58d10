//! Placing orders and walking them through their lifecycle.

use serde_json::{json, Value};

use crate::builders::{OrderBuilder, ShopBuilder};
use crate::claims::place_case;
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;

pub const PLACE: &str = r#"mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id orderNumber status version totalAmount cashTotal amountDue
      lines { id lineNumber net couponShare pointsShare cashShare status seller { id } }
      shippingGroups { seller { id } shippingFee } tenders { method amount status } }
    userErrors { code field message }
  }
}"#;

pub const STEP_FIELDS: &str = "order { status version lines { id status } shipments { courier trackingNumber } } userErrors { code field message }";

/// Every vector of `tests/vectors/refunds.json` placed through the API comes out to the won:
/// line allocations and shipping fees.
async fn vectors_price_to_the_won(t: TestApp) {
    let cases: Vec<Value> = serde_json::from_str(include_str!("../vectors/refunds.json")).unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let placed = place_case(&t, &case).await;
        let expected = &case["expected"];
        let lines = placed.order["lines"].as_array().unwrap();
        for (line, want) in lines
            .iter()
            .zip(expected["allocations"].as_array().unwrap())
        {
            assert_eq!(line["couponShare"], want["coupon"], "{name} coupon");
            assert_eq!(line["pointsShare"], want["points"], "{name} points");
            assert_eq!(line["cashShare"], want["cash"], "{name} cash");
        }
        for group in placed.order["shippingGroups"].as_array().unwrap() {
            let seller_gid = group["seller"]["id"].as_str().unwrap();
            let (label, _) = placed
                .sellers
                .iter()
                .find(|(_, id)| gid("Seller", **id) == seller_gid)
                .unwrap();
            assert_eq!(
                group["shippingFee"], expected["shippingFees"][label],
                "{name} fee of {label}"
            );
        }
    }
}
on_both!(vectors, vectors_price_to_the_won);

/// A card order from cart to purchase confirmation, each step by the actor who does it; a
/// bank-transfer order waits for its deposit; the SYSTEM confirms purchases after N days.
async fn lifecycle(t: TestApp) {
    let shop = ShopBuilder::new()
        .name("한빛패션")
        .price(20000)
        .points(5000)
        .build(&t)
        .await;
    let (opt, c) = (shop.option, shop.customer().id);
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let ops = t.operator();

    let placed = OrderBuilder::new(&shop)
        .quantity(2)
        .points(1000)
        .place(&t)
        .await;
    let order = &placed.order;
    assert_eq!(order["status"], "PAID");
    assert_eq!(order["totalAmount"], 43000);
    assert_eq!(order["cashTotal"], 42000);
    assert_eq!(
        order["tenders"],
        json!([{"method": "CARD", "amount": 42000, "status": "PAID"}, {"method": "POINTS", "amount": 1000, "status": "PAID"}])
    );
    assert_eq!(t.stock(opt).await, 8);
    assert_eq!(t.points(c).await, 4000);
    let number = order["orderNumber"].as_str().unwrap().to_owned();
    assert!(number.starts_with("20261124-"), "{number}");
    let line = order["lines"][0]["id"].as_str().unwrap().to_owned();

    let confirm = format!(
        "mutation($n: String!) {{ confirmOrder(input: {{orderNumber: $n}}) {{ {STEP_FIELDS} }} }}"
    );
    let d = t.gql(&seller, &confirm, json!({"n": number})).await;
    assert_eq!(d["confirmOrder"]["order"]["status"], "PREPARING");

    let ship = format!("mutation($l: [ID!]!) {{ shipLines(input: {{lineIds: $l, courier: \"CJ대한통운\", trackingNumber: \"512345678901\"}}) {{ {STEP_FIELDS} }} }}");
    let d = t.gql(&seller, &ship, json!({"l": [line]})).await;
    assert_eq!(d["shipLines"]["order"]["status"], "SHIPPED");
    assert_eq!(
        d["shipLines"]["order"]["shipments"][0]["trackingNumber"],
        "512345678901"
    );

    // Shipping again is refused with the status named, and changes nothing.
    let d = t.gql(&seller, &ship, json!({"l": [line]})).await;
    assert_eq!(
        d["shipLines"]["userErrors"][0]["code"],
        "LINE_STATUS_NOT_ALLOWED"
    );
    assert!(d["shipLines"]["userErrors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("SHIPPED"));

    let deliver = format!(
        "mutation($l: [ID!]!) {{ markDelivered(input: {{lineIds: $l}}) {{ {STEP_FIELDS} }} }}"
    );
    let d = t.gql(&seller, &deliver, json!({"l": [line]})).await;
    assert_eq!(d["markDelivered"]["order"]["status"], "DELIVERED");

    let purchase = format!("mutation($n: String!) {{ confirmPurchase(input: {{orderNumber: $n}}) {{ {STEP_FIELDS} }} }}");
    let d = t.gql(&customer, &purchase, json!({"n": number})).await;
    assert_eq!(
        d["confirmPurchase"]["order"]["status"],
        "PURCHASE_CONFIRMED"
    );

    // Bank transfer: waits for the deposit; only staff confirm it.
    let placed = OrderBuilder::new(&shop).bank_transfer().place(&t).await;
    let o = &placed.order;
    assert_eq!(o["status"], "AWAITING_PAYMENT");
    assert_eq!(o["amountDue"], 23000);
    let (number2, line2) = placed.number_and_line();
    let deposit = crate::builders::DEPOSIT;
    let (_, body) = t
        .post(Some(&seller), deposit, json!({"n": number2, "a": 23000}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let d = t
        .gql(&ops, deposit, json!({"n": number2, "a": 23000, "v": 7}))
        .await;
    assert_eq!(
        d["confirmDeposit"]["userErrors"][0]["code"],
        "STALE_VERSION"
    );
    let d = t
        .gql(&ops, deposit, json!({"n": number2, "a": 23000, "v": 1}))
        .await;
    assert_eq!(d["confirmDeposit"]["order"]["status"], "PAID");
    assert_eq!(d["confirmDeposit"]["order"]["amountDue"], 0);
    assert_eq!(d["confirmDeposit"]["order"]["tenders"][0]["status"], "PAID");

    // Automatic purchase confirmation: not before the configured days, then yes.
    t.gql(&ops, &confirm, json!({"n": number2})).await;
    t.gql(&ops, &ship, json!({"l": [line2]})).await;
    t.gql(&ops, &deliver, json!({"l": [line2]})).await;
    let run = "mutation { runSystemJobs(input: {}) { runs { job ran processed } } }";
    let d = t.gql(&ops, run, json!({})).await;
    assert_eq!(d["runSystemJobs"]["runs"][0]["processed"], 0);
    t.clock
        .advance(chrono::Duration::days(8) + chrono::Duration::minutes(1));
    let d = t.gql(&ops, run, json!({})).await;
    assert_eq!(
        d["runSystemJobs"]["runs"][0],
        json!({"job": "AUTO_CONFIRM_PURCHASE", "ran": true, "processed": 1})
    );
    let d = t.gql(&customer, "query($n: String!) { order(orderNumber: $n) { status lines { purchaseConfirmedAt } } }", json!({"n": number2})).await;
    assert_eq!(d["order"]["status"], "PURCHASE_CONFIRMED");
}
on_both!(lifecycle_walk, lifecycle);

/// Every refusal of `placeOrder` names its code and leaves no trace: no order, no stock taken,
/// no points spent.
async fn refusals_leave_no_trace(t: TestApp) {
    let shop = ShopBuilder::new()
        .name("초록식품")
        .fees(2500, 30000, 2500)
        .stock(3)
        .points(1000)
        .build(&t)
        .await;
    let (opt, c) = (shop.option, shop.customer().id);
    let customer = shop.customer().token.clone();
    let ops = t.operator();
    let line = |q: i64| json!([{"optionId": gid("ProductOption", opt), "quantity": q}]);
    let cases: Vec<(&str, Value)> = vec![
        (
            "OUT_OF_STOCK",
            json!({"lines": line(4), "paymentMethod": "CARD"}),
        ),
        (
            "INVALID_QUANTITY",
            json!({"lines": line(0), "paymentMethod": "CARD"}),
        ),
        (
            "UNKNOWN_OPTION",
            json!({"lines": [{"optionId": gid("ProductOption", 999), "quantity": 1}], "paymentMethod": "CARD"}),
        ),
        (
            "POINTS_EXCEED_BALANCE",
            json!({"lines": line(1), "points": 2000, "paymentMethod": "CARD"}),
        ),
        (
            "UNKNOWN_COUPON",
            json!({"lines": line(1), "couponCode": "NOPE", "paymentMethod": "CARD"}),
        ),
        (
            "FIELD_NOT_ALLOWED",
            json!({"lines": [{"optionId": gid("ProductOption", opt), "quantity": 1, "lineDiscount": 500}], "paymentMethod": "CARD"}),
        ),
    ];
    for (code, input) in cases {
        let d = t.gql(&customer, PLACE, json!({"input": input})).await;
        assert_eq!(d["placeOrder"]["userErrors"][0]["code"], code, "{d}");
        assert!(d["placeOrder"]["order"].is_null());
    }
    let staff: Vec<(&str, Value)> = vec![
        (
            "COUPON_MINIMUM_NOT_MET",
            json!({"lines": line(1), "couponCode": "X", "coupon": {"amount": 1000, "minPurchase": 20000}}),
        ),
        (
            "COUPON_EXCEEDS_ORDER",
            json!({"lines": line(1), "couponCode": "X", "coupon": {"amount": 10001, "minPurchase": 0}}),
        ),
        (
            "POINTS_EXCEED_TOTAL",
            json!({"lines": line(1), "couponCode": "X", "coupon": {"amount": 9500, "minPurchase": 0}, "points": 600}),
        ),
    ];
    for (code, mut input) in staff {
        input["customerId"] = json!(gid("Customer", c));
        input["paymentMethod"] = json!("CARD");
        let d = t.gql(&ops, PLACE, json!({"input": input})).await;
        assert_eq!(d["placeOrder"]["userErrors"][0]["code"], code, "{d}");
    }
    // Two lines of the same option: the second takes the stock over the edge, and the first
    // line's reservation is rolled back with it.
    let d = t
        .gql(&customer, PLACE, json!({"input": {"lines": [{"optionId": gid("ProductOption", opt), "quantity": 2}, {"optionId": gid("ProductOption", opt), "quantity": 2}], "paymentMethod": "CARD"}}))
        .await;
    assert_eq!(d["placeOrder"]["userErrors"][0]["code"], "OUT_OF_STOCK");
    assert_eq!(
        d["placeOrder"]["userErrors"][0]["field"],
        json!(["input", "lines", "1", "quantity"])
    );
    assert_eq!(t.order_count().await, 0);
    assert_eq!(t.stock(opt).await, 3);
    assert_eq!(t.points(c).await, 1000);
}
on_both!(refusals, refusals_leave_no_trace);

/// A replay with the same idempotency key returns the first order and takes nothing twice;
/// the same key with another input is refused.
async fn idempotent_place_order(t: TestApp) {
    let shop = ShopBuilder::new().name("한빛패션").stock(5).build(&t).await;
    let customer = shop.customer().token.clone();
    let cart = || OrderBuilder::new(&shop).idempotency_key("cart-42");
    let input = cart().input();
    let first = t.gql(&customer, PLACE, json!({"input": input})).await;
    let again = t.gql(&customer, PLACE, json!({"input": input})).await;
    assert_eq!(
        first["placeOrder"]["order"]["orderNumber"],
        again["placeOrder"]["order"]["orderNumber"]
    );
    assert_eq!(t.stock(shop.option).await, 4);
    assert_eq!(t.order_count().await, 1);
    let other = cart().quantity(2).input();
    let d = t.gql(&customer, PLACE, json!({"input": other})).await;
    assert_eq!(
        d["placeOrder"]["userErrors"][0]["code"],
        "IDEMPOTENCY_KEY_REUSED"
    );
    assert_eq!(t.stock(shop.option).await, 4);
}
on_both!(idempotency, idempotent_place_order);
