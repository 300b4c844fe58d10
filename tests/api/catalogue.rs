//! The catalogue through the API (issue 20, part 2): a seller onboarded by an operator lists a
//! product with options, a customer orders it, the seller changes the price and discontinues
//! options; placed orders keep what they copied at checkout; a seller never edits another's
//! catalogue.

use oms::domain::actor::Role;
use serde_json::{json, Value};

use crate::builders::first_code as code;
use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;

const CREATE: &str = "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id name bulky imageUrls discontinued version seller { id } options { id name price instantDiscount stock discontinued version } } userErrors { code field message } replayed } }";
const UPDATE: &str = "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { name bulky imageUrls version } userErrors { code field message } } }";
const OPTION: &str = "mutation($i: UpdateProductOptionInput!) { updateProductOption(input: $i) { product { options { price instantDiscount version } } userErrors { code field message } } }";
const ADD: &str = "mutation($i: AddProductOptionInput!) { addProductOption(input: $i) { product { options { name price } } userErrors { code field message } } }";
const END_OPTION: &str = "mutation($i: DiscontinueProductOptionInput!) { discontinueProductOption(input: $i) { product { options { discontinued } } userErrors { code field message } } }";
const END_PRODUCT: &str = "mutation($i: DiscontinueProductInput!) { discontinueProduct(input: $i) { product { discontinued } userErrors { code field message } } }";

fn shirt(seller: Option<i64>) -> Value {
    let mut input = json!({
        "name": "오가닉 코튼 셔츠", "bulky": false,
        "imageUrls": ["https://cdn.example.com/shirt/1.jpg"],
        "options": [
            {"name": "M / 화이트", "price": 20000, "instantDiscount": 2000, "stock": 5},
            {"name": "L / 화이트", "price": 20000, "stock": 5}
        ],
        "idempotencyKey": "shirt-1"
    });
    if let Some(s) = seller {
        input["sellerId"] = json!(gid("Seller", s));
    }
    input
}

/// A seller onboarded by an operator lists a product; a customer orders it; a price change and
/// a new discount after the order leave the order and its return at the checkout's figures.
async fn from_onboarding_to_an_order(t: TestApp) {
    let ops = t.operator();
    let onboard = json!({"i": {"name": "한결상회", "businessRegistrationNumber": "104-81-08128",
        "returnAddress": "부산시 해운대구 센텀중앙로 79", "baseShippingFee": 3000,
        "freeShippingThreshold": 50000, "returnFee": 3000}});
    let d = t
        .gql(&ops, "mutation($i: OnboardSellerInput!) { onboardSeller(input: $i) { seller { id } userErrors { code } } }", onboard)
        .await;
    let seller_gid = d["onboardSeller"]["seller"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seller_id: i64 = seller_gid.rsplit('/').next().unwrap().parse().unwrap();
    let seller = t.token(Role::Seller, &seller_id.to_string());

    let d = t.gql(&seller, CREATE, json!({"i": shirt(None)})).await["createProduct"].clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let product = &d["product"];
    assert_eq!(product["seller"]["id"], json!(seller_gid));
    assert_eq!(
        product["imageUrls"],
        json!(["https://cdn.example.com/shirt/1.jpg"])
    );
    assert_eq!(product["options"][0]["instantDiscount"], 2000);
    let product_id = product["id"].as_str().unwrap().to_owned();
    let option = product["options"][0]["id"].as_str().unwrap().to_owned();
    let again = t.gql(&seller, CREATE, json!({"i": shirt(None)})).await["createProduct"].clone();
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(
        again["product"]["id"],
        json!(product_id),
        "one product for one key"
    );

    let customer_id = t.customer(0).await;
    let customer = t.token(Role::Customer, &customer_id.to_string());
    let option_id: i64 = option.rsplit('/').next().unwrap().parse().unwrap();
    let order = OrderBuilder::by(&customer)
        .line(option_id, 1)
        .delivered(&t)
        .await;
    assert_eq!(t.stock(option_id).await, 4);

    // The price goes up and the discount away after the order.
    let change = json!({"i": {"optionId": option, "price": 30000, "instantDiscount": 0, "expectedVersion": 1}});
    let d = t.gql(&seller, OPTION, change.clone()).await["updateProductOption"].clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    assert_eq!(d["product"]["options"][0]["price"], 30000);
    let d = t.gql(&seller, OPTION, change).await["updateProductOption"].clone();
    assert_eq!(code(&d), "STALE_VERSION", "{d}");
    let q =
        "query($n: String!) { order(orderNumber: $n) { lines { unitPrice lineDiscount net } } }";
    let o = t.gql(&customer, q, json!({"n": order.number})).await;
    assert_eq!(
        o["order"]["lines"][0],
        json!({"unitPrice": 20000, "lineDiscount": 2000, "net": 18000})
    );
    // A seller-fault return gives back what was paid then: 18,000 and the 3,000 shipping.
    let n = ClaimBuilder::return_of(&order.number, order.line())
        .reason("DEFECTIVE")
        .open(&t, &customer)
        .await;
    crate::claims::approve_collect_complete(&t, &seller, &n).await;
    let q = "query($n: String!) { claim(claimNumber: $n) { refund { cash } } }";
    let c = t.gql(&customer, q, json!({"n": n})).await;
    assert_eq!(c["claim"]["refund"]["cash"], 21000, "{c}");
}
on_both!(
    onboarding_to_a_first_order_and_a_price_change,
    from_onboarding_to_an_order
);

/// Whose catalogue: a seller edits only its own (another's is not found), an operator any; a
/// customer none. Bounds at their limits pass and past them refuse, changing nothing.
async fn whose_catalogue(t: TestApp) {
    let a = ShopBuilder::new().build(&t).await;
    let b = ShopBuilder::new().name("B").build(&t).await;
    let ops = t.operator();
    let d = t
        .gql(&ops, CREATE, json!({"i": shirt(Some(a.seller.id))}))
        .await["createProduct"]
        .clone();
    assert_eq!(d["userErrors"], json!([]), "{d}");
    let product = d["product"]["id"].as_str().unwrap().to_owned();
    let option = d["product"]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rename = json!({"i": {"productId": product, "name": "새 이름"}});
    let d = t.gql(&b.seller.token, UPDATE, rename.clone()).await["updateProduct"].clone();
    assert_eq!(code(&d), "NOT_FOUND", "{d}");
    let d = t
        .gql(
            &b.seller.token,
            OPTION,
            json!({"i": {"optionId": option, "name": "x"}}),
        )
        .await["updateProductOption"]
        .clone();
    assert_eq!(code(&d), "NOT_FOUND", "{d}");
    let d = t
        .gql(
            &b.seller.token,
            CREATE,
            json!({"i": shirt(Some(a.seller.id))}),
        )
        .await["createProduct"]
        .clone();
    assert_eq!(code(&d), "NOT_FOUND", "{d}");
    let (_, body) = t
        .post(Some(&a.customer().token), UPDATE, rename.clone())
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let d = t.gql(&a.seller.token, UPDATE, rename).await["updateProduct"].clone();
    assert_eq!(d["product"]["name"], "새 이름", "{d}");

    let products = || async {
        t.gql(&ops, "{ products { id } }", json!({})).await["products"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = products().await;
    for (change, field, want) in [
        (
            json!({"price": 0}),
            ["input", "options", "0", "price"],
            "INVALID_AMOUNT",
        ),
        (
            json!({"price": 100_000_001}),
            ["input", "options", "0", "price"],
            "INVALID_AMOUNT",
        ),
        (
            json!({"price": 1000, "instantDiscount": 1000}),
            ["input", "options", "0", "instantDiscount"],
            "INVALID_AMOUNT",
        ),
        (
            json!({"stock": 1_000_001}),
            ["input", "options", "0", "stock"],
            "INVALID_AMOUNT",
        ),
        (
            json!({"name": " "}),
            ["input", "options", "0", "name"],
            "INVALID_INPUT",
        ),
    ] {
        let mut input = shirt(None);
        input["idempotencyKey"] = json!(format!("bad-{change}"));
        for (k, v) in change.as_object().unwrap() {
            input["options"][0][k] = v.clone();
        }
        let d = t.gql(&a.seller.token, CREATE, json!({"i": input})).await["createProduct"].clone();
        assert_eq!(code(&d), want, "{change}: {d}");
        assert_eq!(d["userErrors"][0]["field"], json!(field), "{d}");
    }
    let mut at_limits = shirt(None);
    at_limits["idempotencyKey"] = json!("limits");
    at_limits["options"] = json!([{"name": "한정판", "price": 100_000_000, "instantDiscount": 99_999_999, "stock": 1_000_000}]);
    let d = t
        .gql(&a.seller.token, CREATE, json!({"i": at_limits}))
        .await["createProduct"]
        .clone();
    assert_eq!(d["userErrors"], json!([]), "at the limits: {d}");
    for (images, why) in [
        (json!(["http://cdn.example.com/a.jpg"]), "https"),
        (
            json!(vec!["https://cdn.example.com/a.jpg"; 11]),
            "11 images",
        ),
    ] {
        let mut input = shirt(None);
        input["idempotencyKey"] = json!(format!("img-{why}"));
        input["imageUrls"] = images;
        let d = t.gql(&a.seller.token, CREATE, json!({"i": input})).await["createProduct"].clone();
        assert!(
            matches!(code(&d), "INVALID_INPUT" | "LIST_TOO_LONG"),
            "{why}: {d}"
        );
    }
    let mut no_options = shirt(None);
    no_options["idempotencyKey"] = json!("none");
    no_options["options"] = json!([]);
    let d = t
        .gql(&a.seller.token, CREATE, json!({"i": no_options}))
        .await["createProduct"]
        .clone();
    assert_eq!(code(&d), "INVALID_INPUT", "{d}");
    assert_eq!(
        products().await,
        before + 1,
        "only the product at the limits was made"
    );
}
on_both!(a_seller_edits_only_its_own_catalogue, whose_catalogue);

/// Discontinued options and products take no new orders; placed ones go on.
async fn discontinued(t: TestApp) {
    let shop = ShopBuilder::new().build(&t).await;
    let seller = shop.seller.token.clone();
    let d = t.gql(&seller, CREATE, json!({"i": shirt(None)})).await["createProduct"].clone();
    let product = d["product"]["id"].as_str().unwrap().to_owned();
    let ids: Vec<i64> = d["product"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o["id"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let customer = shop.customer().token.clone();
    let placed = OrderBuilder::by(&customer).line(ids[0], 1).place(&t).await;
    let d = t
        .gql(
            &seller,
            END_OPTION,
            json!({"i": {"optionId": gid("ProductOption", ids[0])}}),
        )
        .await["discontinueProductOption"]
        .clone();
    assert_eq!(d["product"]["options"][0]["discontinued"], true, "{d}");
    let order = |option: i64| OrderBuilder::by(&customer).line(option, 1).input();
    let d = t
        .gql(
            &customer,
            crate::orders::PLACE,
            json!({"input": order(ids[0])}),
        )
        .await["placeOrder"]
        .clone();
    assert_eq!(code(&d), "OPTION_DISCONTINUED", "{d}");
    assert_eq!(
        d["userErrors"][0]["field"],
        json!(["input", "lines", "0", "optionId"])
    );
    OrderBuilder::by(&customer).line(ids[1], 1).place(&t).await;
    let d = t.gql(&seller, ADD, json!({"i": {"productId": product, "option": {"name": "XL / 화이트", "price": 21000, "stock": 3}}})).await["addProductOption"].clone();
    assert_eq!(d["product"]["options"].as_array().unwrap().len(), 3, "{d}");
    let d = t
        .gql(&seller, END_PRODUCT, json!({"i": {"productId": product}}))
        .await["discontinueProduct"]
        .clone();
    assert_eq!(d["product"]["discontinued"], true, "{d}");
    let d = t
        .gql(
            &customer,
            crate::orders::PLACE,
            json!({"input": order(ids[1])}),
        )
        .await["placeOrder"]
        .clone();
    assert_eq!(code(&d), "OPTION_DISCONTINUED", "the whole product: {d}");
    // The order placed before goes on: a cancel is refunded.
    let d = ClaimBuilder::cancel(&placed.number, placed.line())
        .request(&t, &customer)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
}
on_both!(discontinued_options_take_no_new_orders, discontinued);
