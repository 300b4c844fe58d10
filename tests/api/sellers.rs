//! Sellers through the API (issue 20, part 1): an operator onboards a seller, the seller sets
//! its shipping terms, an operator suspends and reinstates it; terms changed after an order
//! leave that order (and its claims) on the terms of its checkout.

use oms::domain::actor::Role;
use serde_json::{json, Value};

use crate::builders::first_code as code;
use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;

const ONBOARD: &str = "mutation($i: OnboardSellerInput!) { onboardSeller(input: $i) { seller { id name version suspended businessRegistrationNumber returnAddress defaultCourier baseShippingFee freeShippingThreshold returnFee } userErrors { code field message } replayed } }";
const TERMS: &str = "mutation($i: UpdateShippingTermsInput!) { updateShippingTerms(input: $i) { seller { id version baseShippingFee freeShippingThreshold returnFee } userErrors { code field message } } }";
const SUSPEND: &str = "mutation($i: SellerStandingInput!) { suspendSeller(input: $i) { seller { suspended suspension { reason } version } userErrors { code field message } } }";
const REINSTATE: &str = "mutation($i: SellerStandingInput!) { reinstateSeller(input: $i) { seller { suspended suspension { reason } } userErrors { code field message } } }";

fn onboarding(number: &str) -> Value {
    json!({"name": "온누리상회", "businessRegistrationNumber": number, "email": "shop@example.com",
           "phone": "010-1234-5678", "returnAddress": "서울시 중구 세종대로 110, 반품센터",
           "defaultCourier": "CJ대한통운", "baseShippingFee": 3000,
           "freeShippingThreshold": 50000, "returnFee": 3500, "idempotencyKey": "onboard-1"})
}

/// Onboarding: the number's check digit, one seller per number, terms in range, staff only;
/// the seller sets its own terms (not another's), with `expectedVersion`.
async fn onboarding_and_terms(t: TestApp) {
    let ops = t.operator();
    let d = t
        .gql(&ops, ONBOARD, json!({"i": onboarding("220 81 62517")}))
        .await["onboardSeller"]
        .clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let seller = &d["seller"];
    assert_eq!(seller["businessRegistrationNumber"], "220-81-62517");
    assert_eq!(seller["returnFee"], 3500);
    assert_eq!(seller["suspended"], false);
    let id = seller["id"].as_str().unwrap().to_owned();
    // The same key again: the same seller, replayed.
    let again = t
        .gql(&ops, ONBOARD, json!({"i": onboarding("220 81 62517")}))
        .await["onboardSeller"]
        .clone();
    assert_eq!(
        (again["seller"]["id"].clone(), again["replayed"].clone()),
        (json!(id), json!(true))
    );

    for (change, field, want) in [
        (
            json!({"businessRegistrationNumber": "220-81-62518", "idempotencyKey": "b1"}),
            "businessRegistrationNumber",
            "INVALID_INPUT",
        ),
        (
            json!({"businessRegistrationNumber": "12-34", "idempotencyKey": "b2"}),
            "businessRegistrationNumber",
            "INVALID_INPUT",
        ),
        (
            json!({"idempotencyKey": "b3"}),
            "businessRegistrationNumber",
            "INVALID_INPUT",
        ),
        (
            json!({"businessRegistrationNumber": "104-81-08128", "returnFee": 1_000_001, "idempotencyKey": "b4"}),
            "returnFee",
            "INVALID_AMOUNT",
        ),
        (
            json!({"businessRegistrationNumber": "104-81-08128", "name": "  ", "idempotencyKey": "b5"}),
            "name",
            "INVALID_INPUT",
        ),
    ] {
        let mut input = onboarding("220-81-62517");
        for (k, v) in change.as_object().unwrap() {
            input[k] = v.clone();
        }
        let d = t.gql(&ops, ONBOARD, json!({"i": input})).await["onboardSeller"].clone();
        assert_eq!(code(&d), want, "{change}: {d}");
        assert_eq!(d["userErrors"][0]["field"], json!(["input", field]), "{d}");
        assert!(d["seller"].is_null());
    }
    let (_, body) = t
        .post(
            Some(&t.token(Role::Seller, "1")),
            ONBOARD,
            json!({"i": onboarding("104-81-08128")}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let sellers = t.gql(&ops, "{ sellers { name } }", json!({})).await;
    assert_eq!(
        sellers["sellers"].as_array().unwrap().len(),
        1,
        "nothing half-made: {sellers}"
    );

    // The seller edits its own terms; limits at the edge pass, past it refuse.
    let seller_id: i64 = id.rsplit('/').next().unwrap().parse().unwrap();
    let own = t.token(Role::Seller, &seller_id.to_string());
    let terms = |base: i64, free: i64, ret: i64, v: i64| json!({"i": {"baseShippingFee": base, "freeShippingThreshold": free, "returnFee": ret, "expectedVersion": v}});
    let d = t
        .gql(&own, TERMS, terms(1_000_000, 100_000_000, 0, 1))
        .await["updateShippingTerms"]
        .clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["seller"]["version"], 2);
    let d = t.gql(&own, TERMS, terms(2500, 30000, 3000, 1)).await["updateShippingTerms"].clone();
    assert_eq!(code(&d), "STALE_VERSION", "{d}");
    let d =
        t.gql(&own, TERMS, terms(2500, 100_000_001, 3000, 2)).await["updateShippingTerms"].clone();
    assert_eq!(code(&d), "INVALID_AMOUNT", "{d}");
    assert_eq!(
        d["userErrors"][0]["field"],
        json!(["input", "freeShippingThreshold"])
    );
    // Another seller's terms are not found to a seller; a customer may not.
    let other = ShopBuilder::new().build(&t).await;
    let mut theirs = terms(0, 0, 0, 1);
    theirs["i"]["sellerId"] = json!(gid("Seller", other.seller.id));
    let d = t.gql(&own, TERMS, theirs.clone()).await["updateShippingTerms"].clone();
    assert_eq!(code(&d), "NOT_FOUND", "{d}");
    let (_, body) = t
        .post(Some(&other.customer().token), TERMS, theirs.clone())
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let d = t.gql(&ops, TERMS, theirs).await["updateShippingTerms"].clone();
    assert_eq!(
        d["userErrors"],
        json!([]),
        "an operator sets any seller's: {d}"
    );
}
on_both!(onboarding_a_seller_and_its_terms, onboarding_and_terms);

/// Terms changed after an order: the order, and a return of it, keep the terms of checkout
/// (shipping 3,000 kept, return fee 3,000 charged), not the new ones.
async fn terms_change_after_an_order(t: TestApp) {
    let shop = ShopBuilder::new().price(10_000).build(&t).await;
    let customer = shop.customer().token.clone();
    let order = OrderBuilder::new(&shop).delivered(&t).await;
    let seller = shop.seller.token.clone();
    let d = t
        .gql(
            &seller,
            TERMS,
            json!({"i": {"baseShippingFee": 9000, "freeShippingThreshold": 0, "returnFee": 9000}}),
        )
        .await;
    assert_eq!(d["updateShippingTerms"]["userErrors"], json!([]), "{d}");
    let n = ClaimBuilder::return_of(&order.number, order.line())
        .open(&t, &customer)
        .await;
    crate::claims::approve_collect_complete(&t, &seller, &n).await;
    let q = "query($n: String!) { claim(claimNumber: $n) { refund { cash deductions { kind amount } } order { shippingGroups { shippingFee returnFee baseFee } } } }";
    let d = t.gql(&customer, q, json!({"n": n})).await["claim"].clone();
    // 10,000 paid + 3,000 shipping; a change of mind keeps the 3,000 and pays 3,000 back.
    let group = &d["order"]["shippingGroups"][0];
    assert_eq!(
        (group["baseFee"].clone(), group["returnFee"].clone()),
        (json!(3000), json!(3000)),
        "{d}"
    );
    assert_eq!(
        d["refund"]["cash"], 7000,
        "priced by the checkout's terms: {d}"
    );
}
on_both!(
    terms_changed_after_an_order_do_not_reach_it,
    terms_change_after_an_order
);

/// A suspended seller takes no new orders; its existing orders and claims go on; reinstated,
/// it sells again.
async fn suspension(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let ops = t.operator();
    let customer = shop.customer().token.clone();
    let order = OrderBuilder::new(&shop).quantity(2).place(&t).await;
    let standing =
        json!({"i": {"sellerId": gid("Seller", shop.seller.id), "reason": "서류 보완 필요"}});
    let d = t.gql(&ops, SUSPEND, standing.clone()).await["suspendSeller"].clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["seller"]["suspended"], true);
    assert_eq!(d["seller"]["suspension"]["reason"], "서류 보완 필요");
    let d = t.gql(&ops, SUSPEND, standing.clone()).await["suspendSeller"].clone();
    assert_eq!(code(&d), "INVALID_INPUT", "suspended already: {d}");
    // The seller's own token sees its standing but not the staff's note.
    let q = "{ sellers { suspended suspension { reason } } }";
    let d = t.gql(&shop.seller.token, q, json!({})).await;
    assert_eq!(
        d["sellers"][0],
        json!({"suspended": true, "suspension": null}),
        "{d}"
    );

    let stock = t.stock(shop.option).await;
    let d = t
        .gql(
            &customer,
            crate::orders::PLACE,
            json!({"input": OrderBuilder::new(&shop).input()}),
        )
        .await["placeOrder"]
        .clone();
    assert_eq!(code(&d), "SELLER_SUSPENDED", "{d}");
    assert_eq!(
        d["userErrors"][0]["field"],
        json!(["input", "lines", "0", "optionId"])
    );
    assert_eq!(t.stock(shop.option).await, stock, "nothing taken");
    // In a cart of two sellers' goods the refusal names the suspended seller's line.
    let other = ShopBuilder::new().name("B").build(&t).await;
    let cart = OrderBuilder::by(&customer)
        .line(other.option, 1)
        .line(other.option, 1)
        .line(shop.option, 1)
        .input();
    let d = t
        .gql(&customer, crate::orders::PLACE, json!({"input": cart}))
        .await["placeOrder"]
        .clone();
    let field = json!(["input", "lines", "2", "optionId"]);
    assert_eq!(d["userErrors"][0]["field"], field, "{d}");
    // Existing business goes on: a cancel of the paid order.
    let d = ClaimBuilder::cancel(&order.number, order.line())
        .request(&t, &customer)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");

    let d = t.gql(&ops, REINSTATE, standing).await["reinstateSeller"].clone();
    assert_eq!(d["seller"]["suspended"], false, "{d}");
    OrderBuilder::new(&shop).place(&t).await;
    let (_, body) = t
        .post(
            Some(&shop.seller.token),
            SUSPEND,
            json!({"i": {"sellerId": gid("Seller", shop.seller.id)}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}
on_both!(a_suspended_seller_takes_no_new_orders, suspension);
