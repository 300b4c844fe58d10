//! Fixture builders, in the manner of crates.io's `src/tests/builders/`: each thing a test
//! sets up — a shop (seller, option, customers), an order, a claim request, a plugin — is built
//! here and only here, with defaults a test overrides only where they matter to it. A test then
//! reads as what it varies (`OrderBuilder::new(&shop).quantity(2).bank_transfer()`), and a
//! change to how the thing is made (an input field, a selection) is made once.

use entity::customer;
use oms::domain::actor::Role;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{json, Map, Value};

use crate::claims::claim_call;
use crate::harness::{gid, TestApp};
use crate::orders::PLACE;

// ---------------------------------------------------------------------------------------------
// Shops

/// Someone who acts through the API: their id and a bearer token for them.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub token: String,
}

/// A seller with one product option, its customers and an operator: what most tests need
/// before they place an order.
pub struct Shop {
    pub seller: Account,
    /// The product's option (`ShopBuilder::price`, `ShopBuilder::stock`).
    pub option: i64,
    /// A second option of the same product at the same price and stock: what exchanges swap
    /// to (`ShopBuilder::with_sibling`).
    sibling: Option<i64>,
    /// Every customer; the first is `customer()`.
    pub customers: Vec<Account>,
    pub operator: String,
}

impl Shop {
    /// The shop's (first) customer.
    pub fn customer(&self) -> &Account {
        &self.customers[0]
    }

    /// The sibling option (the shop must have been built `with_sibling`).
    pub fn sibling(&self) -> i64 {
        self.sibling
            .expect("a shop built without ShopBuilder::with_sibling")
    }
}

/// Builds a [`Shop`]. Defaults: seller "A" with a base shipping fee of 3,000, free shipping
/// from 50,000 and a return fee of 3,000; an option at 10,000 with 10 in stock; one customer
/// without points or refund account.
pub struct ShopBuilder {
    name: String,
    fees: (i64, i64, i64),
    price: i64,
    stock: i64,
    sibling: bool,
    customers: usize,
    points: i64,
    refund_account: bool,
}

impl Default for ShopBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ShopBuilder {
    pub fn new() -> ShopBuilder {
        ShopBuilder {
            name: "A".into(),
            fees: (3000, 50000, 3000),
            price: 10_000,
            stock: 10,
            sibling: false,
            customers: 1,
            points: 0,
            refund_account: false,
        }
    }

    /// The seller's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// The seller's base shipping fee, free-shipping threshold and return fee.
    pub fn fees(mut self, base: i64, free_from: i64, return_fee: i64) -> Self {
        self.fees = (base, free_from, return_fee);
        self
    }

    /// The option's unit price.
    pub fn price(mut self, price: i64) -> Self {
        self.price = price;
        self
    }

    /// The option's stock (and the sibling's).
    pub fn stock(mut self, stock: i64) -> Self {
        self.stock = stock;
        self
    }

    /// Adds a sibling option ([`Shop::sibling`]).
    pub fn with_sibling(mut self) -> Self {
        self.sibling = true;
        self
    }

    /// How many customers the shop has.
    pub fn customers(mut self, n: usize) -> Self {
        assert!(n >= 1, "a shop has a customer");
        self.customers = n;
        self
    }

    /// Each customer's points balance.
    pub fn points(mut self, points: i64) -> Self {
        self.points = points;
        self
    }

    /// Gives each customer a refund account (bank-transfer refunds need one).
    pub fn refund_account(mut self) -> Self {
        self.refund_account = true;
        self
    }

    pub async fn build(self, t: &TestApp) -> Shop {
        let (base, free_from, return_fee) = self.fees;
        let seller = t.seller(&self.name, base, free_from, return_fee).await;
        let option = t.option(seller, self.price, self.stock).await;
        let sibling = if self.sibling {
            Some(t.sibling_option(option, self.price, self.stock).await)
        } else {
            None
        };
        let mut customers = Vec::new();
        for _ in 0..self.customers {
            let id = t.customer(self.points).await;
            if self.refund_account {
                customer::ActiveModel {
                    id: Set(id),
                    refund_bank: Set(Some("국민은행".into())),
                    refund_account_number: Set(Some("123-456-789".into())),
                    refund_account_holder: Set(Some("홍길동".into())),
                    ..Default::default()
                }
                .update(t.app.db.conn())
                .await
                .expect("refund account");
            }
            customers.push(Account {
                id,
                token: t.token(Role::Customer, &id.to_string()),
            });
        }
        Shop {
            seller: Account {
                id: seller,
                token: t.token(Role::Seller, &seller.to_string()),
            },
            option,
            sibling,
            customers,
            operator: t.operator(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Orders

/// An order placed through `placeOrder`.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    pub number: String,
    /// The lines' global ids, in the order's line order.
    pub lines: Vec<String>,
    /// The payload's order as `orders::PLACE` selects it (amounts, tenders, ...).
    pub order: Value,
}

impl PlacedOrder {
    /// The first line's id (most orders have one).
    pub fn line(&self) -> &str {
        &self.lines[0]
    }

    /// The order's number and its first line's id, owned.
    pub fn number_and_line(&self) -> (String, String) {
        (self.number.clone(), self.lines[0].clone())
    }
}

/// Builds a `placeOrder` input. Defaults: paid by card, no points, no idempotency key.
pub struct OrderBuilder {
    token: String,
    lines: Vec<Value>,
    input: Map<String, Value>,
}

impl OrderBuilder {
    /// One unit of the shop's option, ordered by its customer.
    pub fn new(shop: &Shop) -> OrderBuilder {
        OrderBuilder::by(&shop.customer().token).line(shop.option, 1)
    }

    /// An order by the caller of `token` (a customer, or an operator naming `customer`), with
    /// no lines yet.
    pub fn by(token: &str) -> OrderBuilder {
        let mut input = Map::new();
        input.insert("paymentMethod".into(), json!("CARD"));
        OrderBuilder {
            token: token.to_owned(),
            lines: Vec::new(),
            input,
        }
    }

    /// The quantity of the last line.
    pub fn quantity(mut self, quantity: i64) -> Self {
        let line = self.lines.last_mut().expect("an order line");
        line["quantity"] = json!(quantity);
        self
    }

    /// Adds a line of `quantity` units of `option`.
    pub fn line(mut self, option: i64, quantity: i64) -> Self {
        self.lines
            .push(json!({"optionId": gid("ProductOption", option), "quantity": quantity}));
        self
    }

    /// Puts the last line into the bundle (set) `bundle`.
    pub fn bundle(mut self, bundle: &str) -> Self {
        let line = self.lines.last_mut().expect("an order line");
        line["bundleId"] = json!(bundle);
        self
    }

    /// `CARD` or `BANK_TRANSFER`.
    pub fn payment(self, method: &str) -> Self {
        self.field("paymentMethod", json!(method))
    }

    pub fn bank_transfer(self) -> Self {
        self.payment("BANK_TRANSFER")
    }

    /// Points spent on the order.
    pub fn points(self, points: i64) -> Self {
        self.field("points", json!(points))
    }

    pub fn idempotency_key(self, key: &str) -> Self {
        self.field("idempotencyKey", json!(key))
    }

    /// For an operator's order: the customer it is placed for.
    pub fn customer(self, customer: i64) -> Self {
        self.field("customerId", json!(gid("Customer", customer)))
    }

    /// Any other input field.
    pub fn field(mut self, name: &str, value: Value) -> Self {
        self.input.insert(name.into(), value);
        self
    }

    /// The token the order is placed with.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The `PlaceOrderInput`.
    pub fn input(&self) -> Value {
        let mut input = self.input.clone();
        input.insert("lines".into(), json!(self.lines));
        Value::Object(input)
    }

    /// Places the order, which must be accepted, and completes a card checkout as a shop's
    /// frontend does: `confirmPayment` with a payment key for the amount due (the simulator,
    /// and the loopback Toss server, take any key they have not seen as the widget's). A bank
    /// transfer stays waiting for its deposit.
    pub async fn place(self, t: &TestApp) -> PlacedOrder {
        let order = self.place_unpaid(t).await;
        let card = order.order["tenders"]
            .as_array()
            .is_some_and(|ts| ts.iter().any(|t| t["method"] == "CARD"));
        if !card {
            return order;
        }
        let d = confirm_payment(t, &self.token, &order.number, &order.order["amountDue"]).await;
        assert_eq!(d["confirmPayment"]["userErrors"], json!([]), "{d}");
        placed(&d["confirmPayment"]["order"])
    }

    /// Places the order, which must be accepted, and leaves its payment for the caller.
    pub async fn place_unpaid(&self, t: &TestApp) -> PlacedOrder {
        let d = t
            .gql(&self.token, PLACE, json!({ "input": self.input() }))
            .await;
        assert_eq!(d["placeOrder"]["userErrors"], json!([]), "{d}");
        placed(&d["placeOrder"]["order"])
    }

    /// Places the order and delivers every line (confirm, ship, deliver as an operator).
    pub async fn delivered(self, t: &TestApp) -> PlacedOrder {
        let order = self.place(t).await;
        crate::claims::deliver(t, &order.number, &order.lines).await;
        order
    }
}

/// The code of a payload's first `userErrors` entry, or `none`.
pub fn first_code(payload: &Value) -> &str {
    payload["userErrors"][0]["code"].as_str().unwrap_or("none")
}

/// `confirmDeposit` by an OPERATOR (`ops`) of everything order `number` still owes; the
/// answer's data.
pub async fn deposit_in_full(t: &TestApp, ops: &str, number: &str) -> Value {
    let q = "query($n: String!) { order(orderNumber: $n) { amountDue } }";
    let due = t.gql(ops, q, json!({"n": number})).await["order"]["amountDue"].clone();
    t.gql(ops, DEPOSIT, json!({"n": number, "a": due})).await
}

/// `confirmDeposit` of `$a` won for order `$n`.
pub const DEPOSIT: &str = "mutation($n: String!, $a: Won!, $v: Int) { confirmDeposit(input: {orderNumber: $n, amount: $a, expectedVersion: $v}) { order { status version amountDue tenders { status amount depositedAmount } } userErrors { code field message } } }";

/// `confirmPayment` of `amount` for order `number` with a fresh payment key, as the payment
/// widget's success redirect hands it over; the answer's data.
pub async fn confirm_payment(t: &TestApp, token: &str, number: &str, amount: &Value) -> Value {
    let key = format!("test-pk-{number}-{}", uuid_like());
    confirm_payment_with(t, token, number, &key, amount).await
}

/// `confirmPayment` with the given payment key.
pub async fn confirm_payment_with(
    t: &TestApp,
    token: &str,
    number: &str,
    key: &str,
    amount: &Value,
) -> Value {
    let input = json!({"orderNumber": number, "paymentKey": key, "amount": amount});
    t.gql(
        token,
        &confirm_payment_document(),
        json!({ "input": input }),
    )
    .await
}

/// `confirmPayment`, selecting what `PLACE` selects.
pub fn confirm_payment_document() -> String {
    PLACE
        .replace(
            "Place($input: PlaceOrderInput!)",
            "Confirm($input: ConfirmPaymentInput!)",
        )
        .replace("placeOrder(input", "confirmPayment(input")
}

/// A short random suffix: payment keys of one test never repeat.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The number and line ids of a `placeOrder` payload's `order`.
pub fn placed(order: &Value) -> PlacedOrder {
    PlacedOrder {
        number: order["orderNumber"].as_str().expect("an order").to_owned(),
        lines: order["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| l["id"].as_str().expect("a line id").to_owned())
            .collect(),
        order: order.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Claims

/// Builds a claim request: `requestCancel`, `requestReturn` or `requestExchange` of units of
/// an order's lines. Defaults: one unit of the line named; a return's reason is
/// CHANGE_OF_MIND, an exchange's DEFECTIVE, a cancel has none.
pub struct ClaimBuilder {
    mutation: &'static str,
    items: Vec<Map<String, Value>>,
    input: Map<String, Value>,
}

impl ClaimBuilder {
    fn new(mutation: &'static str, order: &str, line: &str, reason: Option<&str>) -> Self {
        let mut item = Map::new();
        item.insert("lineId".into(), json!(line));
        item.insert("quantity".into(), json!(1));
        let mut input = Map::new();
        input.insert("orderNumber".into(), json!(order));
        if let Some(reason) = reason {
            input.insert("reason".into(), json!(reason));
        }
        ClaimBuilder {
            mutation,
            items: vec![item],
            input,
        }
    }

    /// A cancel of `line` of the order numbered `order`.
    pub fn cancel(order: &str, line: &str) -> Self {
        Self::new("requestCancel", order, line, None)
    }

    /// A return of `line` of the order numbered `order`.
    pub fn return_of(order: &str, line: &str) -> Self {
        Self::new("requestReturn", order, line, Some("CHANGE_OF_MIND"))
    }

    /// An exchange of `line` of the order numbered `order` for the option `replacement`.
    pub fn exchange(order: &str, line: &str, replacement: i64) -> Self {
        let mut claim = Self::new("requestExchange", order, line, Some("DEFECTIVE"));
        claim.items[0].insert(
            "replacementOptionId".into(),
            json!(gid("ProductOption", replacement)),
        );
        claim
    }

    /// How many units of the (last) line.
    pub fn quantity(mut self, quantity: i64) -> Self {
        let item = self.items.last_mut().expect("a claimed line");
        item.insert("quantity".into(), json!(quantity));
        self
    }

    /// Claims `quantity` units of another line of the order too.
    pub fn line(mut self, line: &str, quantity: i64) -> Self {
        let mut item = Map::new();
        item.insert("lineId".into(), json!(line));
        item.insert("quantity".into(), json!(quantity));
        self.items.push(item);
        self
    }

    pub fn reason(self, reason: &str) -> Self {
        self.field("reason", json!(reason))
    }

    pub fn idempotency_key(self, key: &str) -> Self {
        self.field("idempotencyKey", json!(key))
    }

    /// Any other input field (`collectionMethod`, `memo`).
    pub fn field(mut self, name: &str, value: Value) -> Self {
        self.input.insert(name.into(), value);
        self
    }

    /// The mutation's root field (`requestReturn`).
    pub fn mutation(&self) -> &'static str {
        self.mutation
    }

    /// The mutation's input type (`RequestReturnInput`).
    pub fn input_type(&self) -> &'static str {
        crate::claims::input_type(self.mutation)
    }

    /// The mutation's input.
    pub fn input(&self) -> Value {
        let mut input = self.input.clone();
        input.insert("items".into(), json!(self.items));
        Value::Object(input)
    }

    /// Sends the request as the caller of `token`; the payload (`claims::CLAIM_FIELDS`),
    /// accepted or not.
    pub async fn request(&self, t: &TestApp, token: &str) -> Value {
        claim_call(t, token, self.mutation, self.input()).await
    }

    /// Sends the request, which must be accepted; the claim's number.
    pub async fn open(&self, t: &TestApp, token: &str) -> String {
        let d = self.request(t, token).await;
        assert_eq!(d["userErrors"], json!([]), "{}: {d}", self.mutation);
        d["claim"]["claimNumber"]
            .as_str()
            .expect("a claim")
            .to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Plugins

/// What `uploadPlugin` selects.
pub const UPLOAD: &str = "mutation($input: UploadPluginInput!) { uploadPlugin(input: $input) { plugin { id hook version sha256 sizeBytes state uploadedBy fuelUsedAtUpload consecutiveFailures } userErrors { code field message } } }";

/// Builds a policy plugin upload: a module for a hook, for the caller's own seller unless
/// `seller` names one (operators upload for any seller).
pub struct PluginBuilder {
    hook: &'static str,
    wasm: Vec<u8>,
    seller: Option<i64>,
}

impl PluginBuilder {
    /// `wasm` for `hook` (`CLAIM_FEES`, `EXCHANGE_RULES`).
    pub fn new(hook: &'static str, wasm: &[u8]) -> Self {
        PluginBuilder {
            hook,
            wasm: wasm.to_vec(),
            seller: None,
        }
    }

    pub fn claim_fees(wasm: &[u8]) -> Self {
        Self::new("CLAIM_FEES", wasm)
    }

    pub fn exchange_rules(wasm: &[u8]) -> Self {
        Self::new("EXCHANGE_RULES", wasm)
    }

    /// Uploads for `seller` rather than the caller's own seller.
    pub fn seller(mut self, seller: i64) -> Self {
        self.seller = Some(seller);
        self
    }

    /// The `UploadPluginInput`.
    pub fn input(&self) -> Value {
        use base64::Engine;
        json!({
            "sellerId": self.seller.map(|s| gid("Seller", s)),
            "hook": self.hook,
            "wasmBase64": base64::engine::general_purpose::STANDARD.encode(&self.wasm),
        })
    }

    /// Uploads as the caller of `token`; the payload ([`UPLOAD`]), accepted or not.
    pub async fn upload(&self, t: &TestApp, token: &str) -> Value {
        t.gql(token, UPLOAD, json!({ "input": self.input() })).await["uploadPlugin"].clone()
    }

    /// Uploads and activates, both of which must be accepted; the plugin as uploaded.
    pub async fn activated(&self, t: &TestApp, token: &str) -> Value {
        let d = self.upload(t, token).await;
        assert_eq!(d["userErrors"], json!([]), "{d}");
        let a = activate_plugin(t, token, &d["plugin"]["id"]).await;
        assert_eq!(a["userErrors"], json!([]), "{a}");
        d["plugin"].clone()
    }
}

/// `activatePlugin` of the plugin `id` as the caller of `token`; the payload.
pub async fn activate_plugin(t: &TestApp, token: &str, id: &Value) -> Value {
    t.gql(token, "mutation($id: ID!) { activatePlugin(input: {pluginId: $id}) { plugin { id version state } userErrors { code message } } }", json!({"id": id})).await["activatePlugin"].clone()
}
