//! Claim analytics through the API: `claimStats` against figures computed here, independently,
//! from the stored rows (the demo plus generated claims across KST day, week and month
//! boundaries); a seller's scope; the CSV exports; the read replica.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use entity::{claim, claim_item, order, order_line, product, refund, refund_part, seller, tender};
use http_body_util::BodyExt;
use oms::clock::Clock;
use oms::domain::actor::Role;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::builders::{ClaimBuilder, OrderBuilder};
use crate::claims::{claim_call, deliver, run_refund_job};
use crate::harness::{gid, Backend, TestApp};
use crate::on_both;

// ---------------------------------------------------------------------------------------------
// Generated claims.

/// What `generate` made.
struct Generated {
    seller_a: i64,
    seller_b: i64,
    /// A product of seller A in the claim over two products.
    product_1: i64,
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap()
}

fn advance_to(t: &TestApp, at: DateTime<Utc>) {
    let now = t.clock.now();
    assert!(at >= now, "the clock only moves forward");
    t.clock.advance(at - now);
}

/// Calls a claim mutation that must succeed; returns the claim's number.
async fn act(t: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    let d = claim_call(t, token, mutation, input).await;
    assert_eq!(d["userErrors"], json!([]), "{mutation}: {d}");
    d["claim"]["claimNumber"].clone()
}

/// Two sellers' claims at chosen times: either side of KST midnight (14:30 and 15:30 UTC), of
/// a Monday and of the 1st of December; a claim over two products; returns completed at
/// different speeds, with points; a cancel; an exchange with a paid fee, reshipped and
/// completed; a rejection; a conversion; a hold. On 1 December, fees given back (an exchange
/// withdrawn after its fee was paid; a paid exchange converted into a return whose credit
/// also pays the return's fee), a return awaiting its fee and a cancel completed at once.
async fn generate(t: &TestApp) -> Generated {
    // A name that needs quoting in CSV.
    let a = t.seller("분석상사, \"본점\"", 3000, 50000, 3000).await;
    // A name a spreadsheet would run as a formula: the CSV must defuse it.
    let b = t.seller("=수식상점", 0, 0, 5000).await;
    let p1 = t.option(a, 20000, 100).await;
    let p2 = t.option(a, 35000, 100).await;
    let p3 = t.option(b, 50000, 100).await;
    let p3b = t.sibling_option(p3, 50000, 100).await;
    let c = t.customer(20000).await;
    let customer = t.token(Role::Customer, &c.to_string());
    let seller_a = t.token(Role::Seller, &a.to_string());
    let seller_b = t.token(Role::Seller, &b.to_string());
    let ops = t.operator();

    // 2026-11-24 18:00 KST: orders placed and delivered.
    let o1 = OrderBuilder::by(&customer)
        .line(p1, 2)
        .line(p2, 1)
        .place(t)
        .await;
    let o2 = OrderBuilder::by(&customer).line(p1, 1).place(t).await;
    let o3 = OrderBuilder::by(&customer).line(p3, 1).place(t).await;
    let o4 = OrderBuilder::by(&customer).line(p3, 2).place(t).await;
    let o5 = OrderBuilder::by(&customer).line(p2, 1).place(t).await;
    let o6 = OrderBuilder::by(&customer)
        .line(p1, 1)
        .points(5000)
        .place(t)
        .await;
    for o in [&o1, &o2, &o3, &o4, &o6] {
        deliver(t, &o.number, &o.lines).await;
    }

    // 23:30 KST on the 24th, then 00:30 KST on the 25th.
    advance_to(t, utc(2026, 11, 24, 14, 30));
    let r1 = ClaimBuilder::return_of(&o2.number, o2.line())
        .open(t, &customer)
        .await;
    advance_to(t, utc(2026, 11, 24, 15, 30));
    let r2 = ClaimBuilder::return_of(&o1.number, o1.line())
        .quantity(2)
        .line(&o1.lines[1], 1)
        .reason("DEFECTIVE")
        .open(t, &customer)
        .await;
    ClaimBuilder::cancel(&o5.number, o5.line())
        .reason("CHANGE_OF_MIND")
        .open(t, &customer)
        .await;
    let e1 = ClaimBuilder::exchange(&o3.number, o3.line(), p3b)
        .reason("SIZE_OR_OPTION_CHANGE")
        .open(t, &customer)
        .await;

    t.clock.advance(Duration::hours(2));
    act(t, &seller_a, "approveClaim", json!({"claimNumber": r1})).await;
    t.clock.advance(Duration::minutes(50));
    act(t, &seller_a, "approveClaim", json!({"claimNumber": r2})).await;
    act(
        t,
        &customer,
        "payClaimFee",
        json!({"claimNumber": e1, "amount": 10000}),
    )
    .await;
    act(t, &seller_b, "approveClaim", json!({"claimNumber": e1})).await;

    t.clock.advance(Duration::hours(20));
    act(
        t,
        &seller_a,
        "markCollected",
        json!({"claimNumber": r1, "courier": "CJ대한통운", "trackingNumber": "G-1"}),
    )
    .await;
    act(
        t,
        &seller_b,
        "markCollected",
        json!({"claimNumber": e1, "courier": "CJ대한통운", "trackingNumber": "G-3"}),
    )
    .await;
    t.clock.advance(Duration::hours(3));
    act(t, &seller_a, "completeReturn", json!({"claimNumber": r1})).await;
    act(
        t,
        &seller_b,
        "reshipExchange",
        json!({"claimNumber": e1, "courier": "CJ대한통운", "trackingNumber": "G-4"}),
    )
    .await;
    run_refund_job(t).await;
    t.clock.advance(Duration::hours(7));
    act(
        t,
        &seller_a,
        "markCollected",
        json!({"claimNumber": r2, "courier": "CJ대한통운", "trackingNumber": "G-2"}),
    )
    .await;
    act(t, &seller_a, "completeReturn", json!({"claimNumber": r2})).await;
    let r6 = ClaimBuilder::return_of(&o6.number, o6.line())
        .field("collectionMethod", json!("CUSTOMER_SHIPS"))
        .open(t, &customer)
        .await;
    t.clock.advance(Duration::hours(1));
    run_refund_job(t).await;
    act(t, &seller_b, "completeExchange", json!({"claimNumber": e1})).await;
    act(t, &seller_a, "approveClaim", json!({"claimNumber": r6})).await;
    act(
        t,
        &seller_a,
        "markCollected",
        json!({"claimNumber": r6, "courier": "우체국", "trackingNumber": "G-6"}),
    )
    .await;
    t.clock.advance(Duration::minutes(13));
    act(t, &seller_a, "completeReturn", json!({"claimNumber": r6})).await;
    run_refund_job(t).await;

    // 00:30 KST on Monday the 30th: a rejection, and a return converted into an exchange.
    advance_to(t, utc(2026, 11, 29, 15, 30));
    let r3 = ClaimBuilder::return_of(&o4.number, o4.line())
        .reason("DEFECTIVE")
        .open(t, &customer)
        .await;
    let r4 = ClaimBuilder::return_of(&o4.number, o4.line())
        .open(t, &customer)
        .await;
    t.clock.advance(Duration::hours(5));
    act(t, &seller_b, "rejectClaim", json!({"claimNumber": r3})).await;
    act(t, &customer, "convertClaim", json!({"claimNumber": r4, "replacements": [{"lineId": o4.lines[0], "optionId": gid("ProductOption", p3b)}]})).await;

    // 00:30 KST on 1 December: a delivery and a claim held for inspection.
    advance_to(t, utc(2026, 11, 30, 15, 30));
    let o7 = OrderBuilder::by(&customer)
        .line(p2, 1)
        .line(p1, 3)
        .place(t)
        .await;
    deliver(t, &o7.number, &o7.lines).await;
    let r5 = ClaimBuilder::return_of(&o7.number, &o7.lines[1])
        .quantity(2)
        .reason("WRONG_ITEM_DELIVERED")
        .open(t, &customer)
        .await;
    act(
        t,
        &ops,
        "holdClaim",
        json!({"claimNumber": r5, "reason": "INSPECTION"}),
    )
    .await;

    // 01:30 KST on 1 December. Seller A's exchanges cost twice its 3,000 won return fee.
    t.clock.advance(Duration::hours(1));
    let p1b = t.sibling_option(p1, 20000, 100).await;
    // Cheaper than seller A's return fee.
    let p4 = t.option(a, 2000, 100).await;
    let p4b = t.sibling_option(p4, 2000, 100).await;
    let o8 = OrderBuilder::by(&customer).line(p1, 1).place(t).await;
    let o9 = OrderBuilder::by(&customer).line(p4, 1).place(t).await;
    let o10 = OrderBuilder::by(&customer).line(p4, 1).place(t).await;
    for o in [&o8, &o9, &o10] {
        deliver(t, &o.number, &o.lines).await;
    }
    let fee = json!(6000);
    // The fee paid, then the exchange withdrawn: the fee comes back.
    let e2 = ClaimBuilder::exchange(&o8.number, o8.line(), p1b)
        .reason("SIZE_OR_OPTION_CHANGE")
        .open(t, &customer)
        .await;
    act(
        t,
        &customer,
        "payClaimFee",
        json!({"claimNumber": e2, "amount": fee}),
    )
    .await;
    t.clock.advance(Duration::minutes(30));
    act(t, &customer, "withdrawClaim", json!({"claimNumber": e2})).await;
    // The fee paid, then the exchange converted into a return: its 6,000 won credit pays the
    // return's 3,000 won fee beyond the 2,000 won of goods, and 5,000 won come back.
    let e3 = ClaimBuilder::exchange(&o9.number, o9.line(), p4b)
        .reason("SIZE_OR_OPTION_CHANGE")
        .open(t, &customer)
        .await;
    act(
        t,
        &customer,
        "payClaimFee",
        json!({"claimNumber": e3, "amount": fee}),
    )
    .await;
    t.clock.advance(Duration::minutes(30));
    let r7 = act(t, &customer, "convertClaim", json!({"claimNumber": e3})).await;
    // A return of goods worth less than its fee: it awaits the rest.
    let r8 = json!(
        ClaimBuilder::return_of(&o10.number, o10.line())
            .open(t, &customer)
            .await
    );
    t.clock.advance(Duration::hours(1));
    for r in [&r7, &r8] {
        act(t, &seller_a, "approveClaim", json!({"claimNumber": r})).await;
        act(
            t,
            &seller_a,
            "markCollected",
            json!({"claimNumber": r, "courier": "CJ대한통운", "trackingNumber": "G-7"}),
        )
        .await;
    }
    t.clock.advance(Duration::hours(2));
    for r in [&r7, &r8] {
        act(t, &seller_a, "completeReturn", json!({"claimNumber": r})).await;
    }
    run_refund_job(t).await;
    // A bank transfer not deposited yet, cancelled: completed in its request.
    let o11 = OrderBuilder::by(&customer)
        .line(p2, 1)
        .bank_transfer()
        .place(t)
        .await;
    ClaimBuilder::cancel(&o11.number, o11.line())
        .open(t, &customer)
        .await;
    t.clock.advance(Duration::hours(1));
    Generated {
        seller_a: a,
        seller_b: b,
        product_1: product_of(t, p1).await,
    }
}

async fn product_of(t: &TestApp, option: i64) -> i64 {
    entity::product_option::Entity::find_by_id(option)
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap()
        .product_id
}

// ---------------------------------------------------------------------------------------------
// The figures, computed here from the stored rows.

/// The rows every figure is computed from.
struct Data {
    claims: Vec<claim::Model>,
    items: Vec<claim_item::Model>,
    lines: HashMap<i64, order_line::Model>,
    /// When each order was placed.
    placed: HashMap<i64, DateTime<Utc>>,
    refunds: HashMap<i64, refund::Model>,
    parts: Vec<refund_part::Model>,
    tenders: Vec<tender::Model>,
    sellers: HashMap<i64, String>,
    products: HashMap<i64, String>,
}

async fn load(t: &TestApp) -> Data {
    let db = t.app.db.conn();
    Data {
        claims: claim::Entity::find().all(db).await.unwrap(),
        items: claim_item::Entity::find().all(db).await.unwrap(),
        lines: order_line::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.id, l))
            .collect(),
        placed: order::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.id, o.placed_at))
            .collect(),
        refunds: refund::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.claim_id, r))
            .collect(),
        parts: refund_part::Entity::find().all(db).await.unwrap(),
        tenders: tender::Entity::find().all(db).await.unwrap(),
        sellers: seller::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect(),
        products: product::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect(),
    }
}

/// A `claimStats` request.
#[derive(Debug, Clone, Default)]
struct Spec {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    seller: Option<i64>,
    product: Option<i64>,
    claim_type: Option<&'static str>,
    reason: Option<&'static str>,
    status: Option<&'static str>,
    group_by: Vec<&'static str>,
    /// Asks for `orderedUnits` and `cancelRate` (counted only when asked).
    ordered: bool,
}

impl Spec {
    fn by(group_by: &[&'static str]) -> Spec {
        Spec {
            group_by: group_by.to_vec(),
            ..Spec::default()
        }
    }

    fn has(&self, d: &str) -> bool {
        self.group_by.contains(&d)
    }

    fn bucket(&self) -> Option<&'static str> {
        self.group_by
            .iter()
            .copied()
            .find(|d| matches!(*d, "DAY" | "WEEK" | "MONTH"))
    }

    fn filter(&self) -> Value {
        let mut f = serde_json::Map::new();
        if let Some(v) = self.from {
            f.insert("from".into(), json!(v.to_rfc3339()));
        }
        if let Some(v) = self.to {
            f.insert("to".into(), json!(v.to_rfc3339()));
        }
        if let Some(v) = self.seller {
            f.insert("sellerId".into(), json!(gid("Seller", v)));
        }
        if let Some(v) = self.product {
            f.insert("productId".into(), json!(gid("Product", v)));
        }
        for (k, v) in [
            ("type", self.claim_type),
            ("reason", self.reason),
            ("status", self.status),
        ] {
            if let Some(v) = v {
                f.insert(k.into(), json!(v));
            }
        }
        Value::Object(f)
    }
}

/// A row's group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    period: Option<NaiveDate>,
    seller: Option<i64>,
    product: Option<i64>,
    claim_type: Option<String>,
    reason: Option<String>,
    fault: Option<String>,
}

/// A row's measures.
#[derive(Debug, Clone, Default)]
struct Figures {
    claims: i64,
    units: i64,
    /// Units by claim type.
    by_type: BTreeMap<String, i64>,
    delivered: i64,
    ordered: i64,
    cash: i64,
    card: i64,
    transfer: i64,
    pending: i64,
    points: i64,
    fees: i64,
    fees_back: i64,
    completed: i64,
    at_once: i64,
    /// Hours of the completed claims that waited.
    hours: Vec<f64>,
    open: i64,
    held: BTreeMap<String, i64>,
    conversions: i64,
    rejections: i64,
    withdrawals: i64,
}

impl Figures {
    fn units_of(&self, claim_type: &str) -> i64 {
        self.by_type.get(claim_type).copied().unwrap_or(0)
    }
}

const COMPLETED: [&str; 4] = [
    "CANCEL_COMPLETED",
    "RETURN_COMPLETED",
    "EXCHANGE_COMPLETED",
    "EXCHANGE_REFUNDED",
];
const TERMINAL: [&str; 12] = [
    "CANCEL_COMPLETED",
    "CANCEL_REJECTED",
    "CANCEL_WITHDRAWN",
    "RETURN_COMPLETED",
    "RETURN_REJECTED",
    "RETURN_WITHDRAWN",
    "RETURN_CONVERTED",
    "EXCHANGE_COMPLETED",
    "EXCHANGE_REJECTED",
    "EXCHANGE_WITHDRAWN",
    "EXCHANGE_CONVERTED",
    "EXCHANGE_REFUNDED",
];

/// The KST period of `t`: its day, its week's Monday or its month's 1st.
fn kst_period(t: DateTime<Utc>, bucket: &str) -> NaiveDate {
    let day = (t + Duration::hours(9)).date_naive();
    match bucket {
        "DAY" => day,
        "WEEK" => day - Duration::days(day.weekday().num_days_from_monday().into()),
        "MONTH" => day.with_day(1).unwrap(),
        other => panic!("{other}"),
    }
}

/// `percentile_cont(p)`: linear interpolation between the two nearest ranks.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return None;
    }
    let pos = p * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (pos - lo as f64) * (v[hi] - v[lo]))
}

/// A claim's fees, from the parts of the money: (charged, refunded). Refunded is the credit
/// its refund gave back (a fee paid earlier), as far as the refund's cash holds it; charged is
/// the deductions the refund covered plus the claim's paid fee payments, less the part of the
/// credit that paid those deductions.
fn fees_of(data: &Data, c: &claim::Model) -> (i64, i64) {
    let covered: i64 = data.refunds.get(&c.id).map_or(0, |r| {
        let ds: Vec<Value> = serde_json::from_str(&r.deductions).unwrap();
        ds.iter()
            .map(|d| d["from_cash"].as_i64().unwrap() + d["from_points"].as_i64().unwrap())
            .sum()
    });
    let paid: i64 = data
        .tenders
        .iter()
        .filter(|t| t.claim_id == Some(c.id) && t.status == "PAID")
        .map(|t| t.amount)
        .sum();
    let credit = data.refunds.get(&c.id).map_or(0, |r| r.credit);
    let refunded = data.refunds.get(&c.id).map_or(0, |r| credit.min(r.cash));
    (covered + paid - (credit - refunded), refunded)
}

/// Completed at the instant of its request: the claim never waited.
fn at_once(c: &claim::Model) -> bool {
    c.closed_at == Some(c.requested_at)
}

/// The claim's products: (product, units, the share of each amount), by product id, the money
/// split in proportion to the list price of the units, in whole won adding up to the amount.
fn shares(data: &Data, c: &claim::Model, money: [i64; 7]) -> Vec<(i64, i64, [i64; 7])> {
    let mut per: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for it in data.items.iter().filter(|i| i.claim_id == c.id) {
        let line = &data.lines[&it.line_id];
        let e = per.entry(line.product_id).or_default();
        e.0 += i64::from(it.quantity);
        e.1 += i64::from(it.quantity) * line.unit_price;
    }
    let by_value = per.values().map(|(_, v)| v).sum::<i64>() > 0;
    let weight = |(units, value): (i64, i64)| if by_value { value } else { units };
    let total: i64 = per.values().map(|e| weight(*e)).sum();
    let mut cum = 0;
    per.into_iter()
        .map(|(product, e)| {
            let w = weight(e);
            cum += w;
            (
                product,
                e.0,
                money.map(|m| m * cum / total - m * (cum - w) / total),
            )
        })
        .collect()
}

fn expected(data: &Data, spec: &Spec) -> BTreeMap<Key, Figures> {
    let in_period =
        |t: DateTime<Utc>| spec.from.is_none_or(|f| t >= f) && spec.to.is_none_or(|to| t < to);
    let by_product = spec.has("PRODUCT") || spec.product.is_some();
    let mut rows: BTreeMap<Key, Figures> = BTreeMap::new();
    for c in &data.claims {
        if !in_period(c.requested_at)
            || spec.seller.is_some_and(|s| s != c.seller_id)
            || spec.claim_type.is_some_and(|v| v != c.claim_type)
            || spec.reason.is_some_and(|v| v != c.reason)
            || spec.status.is_some_and(|v| v != c.status)
        {
            continue;
        }
        let refund = data.refunds.get(&c.id);
        let parts: Vec<&refund_part::Model> =
            data.parts.iter().filter(|p| p.claim_id == c.id).collect();
        let sum = |f: &dyn Fn(&refund_part::Model) -> bool| {
            parts.iter().filter(|p| f(p)).map(|p| p.amount).sum::<i64>()
        };
        let (fees, fees_back) = fees_of(data, c);
        let money = [
            refund.map_or(0, |r| r.cash) - fees_back,
            sum(&|p| p.method == "CARD"),
            sum(&|p| p.method == "BANK_TRANSFER"),
            sum(&|p| p.method != "POINTS" && p.status != "SUCCEEDED"),
            refund.map_or(0, |r| r.points),
            fees,
            fees_back,
        ];
        let units: i64 = data
            .items
            .iter()
            .filter(|i| i.claim_id == c.id)
            .map(|i| i64::from(i.quantity))
            .sum();
        let split: Vec<(Option<i64>, i64, [i64; 7])> = if by_product {
            shares(data, c, money)
                .into_iter()
                .map(|(p, u, m)| (Some(p), u, m))
                .collect()
        } else {
            vec![(None, units, money)]
        };
        for (product, units, m) in split {
            if spec.product.is_some() && product != spec.product {
                continue;
            }
            let key = Key {
                period: spec.bucket().map(|b| kst_period(c.requested_at, b)),
                seller: spec.has("SELLER").then_some(c.seller_id),
                product: product.filter(|_| spec.has("PRODUCT")),
                claim_type: spec.has("TYPE").then(|| c.claim_type.clone()),
                reason: spec.has("REASON").then(|| c.reason.clone()),
                fault: spec.has("FAULT").then(|| c.fault.clone()),
            };
            let f = rows.entry(key).or_default();
            let counted = c.converted_to_id.is_none();
            f.claims += i64::from(counted);
            f.units += if counted { units } else { 0 };
            if counted {
                *f.by_type.entry(c.claim_type.clone()).or_default() += units;
            }
            f.conversions += i64::from(!counted);
            f.cash += m[0];
            f.card += m[1];
            f.transfer += m[2];
            f.pending += m[3];
            f.points += m[4];
            f.fees += m[5];
            f.fees_back += m[6];
            if COMPLETED.contains(&c.status.as_str()) {
                f.completed += 1;
                if at_once(c) {
                    f.at_once += 1;
                } else {
                    let closed = c.closed_at.unwrap();
                    f.hours
                        .push((closed - c.requested_at).num_milliseconds() as f64 / 3_600_000.0);
                }
            }
            f.open += i64::from(!TERMINAL.contains(&c.status.as_str()));
            if c.hold_phase == "HELD" {
                *f.held.entry(c.hold_reason.clone().unwrap()).or_default() += 1;
            }
            f.rejections += i64::from(c.status.ends_with("_REJECTED"));
            f.withdrawals += i64::from(c.status.ends_with("_WITHDRAWN"));
        }
    }
    // Deliveries of the period, by the keys they have.
    let mut delivered: BTreeMap<Key, i64> = BTreeMap::new();
    for l in data.lines.values() {
        let Some(at) = l.delivered_at else { continue };
        if !in_period(at)
            || spec.seller.is_some_and(|s| s != l.seller_id)
            || spec.product.is_some_and(|p| p != l.product_id)
        {
            continue;
        }
        let key = Key {
            period: spec.bucket().map(|b| kst_period(at, b)),
            seller: spec.has("SELLER").then_some(l.seller_id),
            product: spec.has("PRODUCT").then_some(l.product_id),
            ..Key::default()
        };
        *delivered.entry(key).or_default() += i64::from(l.quantity - l.cancelled_quantity);
    }
    // Units of the orders placed in the period, by the same keys.
    let mut ordered: BTreeMap<Key, i64> = BTreeMap::new();
    for l in data.lines.values() {
        let at = data.placed[&l.order_id];
        if !in_period(at)
            || spec.seller.is_some_and(|s| s != l.seller_id)
            || spec.product.is_some_and(|p| p != l.product_id)
        {
            continue;
        }
        let key = Key {
            period: spec.bucket().map(|b| kst_period(at, b)),
            seller: spec.has("SELLER").then_some(l.seller_id),
            product: spec.has("PRODUCT").then_some(l.product_id),
            ..Key::default()
        };
        *ordered.entry(key).or_default() += i64::from(l.quantity);
    }
    // Groups with deliveries are rows; groups with orders only are not.
    let partitions = !(spec.has("REASON") || spec.has("TYPE") || spec.has("FAULT"));
    if partitions {
        for k in delivered.keys() {
            rows.entry(k.clone()).or_default();
        }
    }
    if spec.group_by.is_empty() {
        rows.entry(Key::default()).or_default();
    }
    for (k, f) in rows.iter_mut() {
        let dk = Key {
            period: k.period,
            seller: k.seller,
            product: k.product,
            ..Key::default()
        };
        f.delivered = delivered.get(&dk).copied().unwrap_or(0);
        f.ordered = ordered.get(&dk).copied().unwrap_or(0);
    }
    rows
}

const ROW_FIELDS: &str = "period periodStart sellerId sellerName productId productName type reason fault claims claimedUnits cancelledUnits returnedUnits exchangedUnits deliveredUnits claimRate returnRate exchangeRate refundedCash refundedToCard refundedToBankTransfer cashRefundPending refundedPoints feesCharged feesRefunded completed completedAtOnce medianHoursToComplete p90HoursToComplete openClaims onHold onHoldByReason { reason claims } conversions rejections withdrawals";

/// The fields that count the ordered units.
const ORDERED_FIELDS: &str = "orderedUnits cancelRate";

fn stats_query() -> String {
    stats_query_with("")
}

/// `claimStats` with every row field and `extra` ones.
fn stats_query_with(extra: &str) -> String {
    format!("query($filter: ClaimStatsFilter, $groupBy: [ClaimStatsDimension!], $orderBy: [ClaimStatsOrder!], $first: Int) {{ claimStats(filter: $filter, groupBy: $groupBy, orderBy: $orderBy, first: $first) {{ truncated groupBy timeZone rows {{ {ROW_FIELDS} {extra} }} }} }}")
}

fn id_of(v: &Value) -> Option<i64> {
    v.as_str()
        .map(|s| s.rsplit('/').next().unwrap().parse().unwrap())
}

fn key_of(row: &Value) -> Key {
    let text = |f: &str| row[f].as_str().map(str::to_owned);
    Key {
        period: row["periodStart"]
            .as_str()
            .map(|s| DateTime::parse_from_rfc3339(s).unwrap().date_naive()),
        seller: id_of(&row["sellerId"]),
        product: id_of(&row["productId"]),
        claim_type: text("type"),
        reason: text("reason"),
        fault: text("fault"),
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() < 1e-3,
        _ => false,
    }
}

/// Hours as the API gives them: `want` rounded to the hundredth, with no float noise left.
fn hours_close(got: Option<f64>, want: Option<f64>) -> bool {
    match (got, want) {
        (None, None) => true,
        (Some(got), Some(want)) => {
            let hundredths = got * 100.0;
            (hundredths - hundredths.round()).abs() < 1e-9 && (got - want).abs() <= 0.005 + 1e-9
        }
        _ => false,
    }
}

/// `claimStats` for `spec` as `token` sees it equals the figures computed here.
async fn check(t: &TestApp, token: &str, data: &Data, spec: &Spec) {
    let query = stats_query_with(if spec.ordered { ORDERED_FIELDS } else { "" });
    let d = t
        .gql(
            token,
            &query,
            json!({"filter": spec.filter(), "groupBy": spec.group_by, "first": 10000}),
        )
        .await;
    let stats = &d["claimStats"];
    assert_eq!(stats["truncated"], false);
    assert_eq!(stats["timeZone"], "Asia/Seoul");
    let want = expected(data, spec);
    let rows = stats["rows"].as_array().unwrap();
    let got: BTreeMap<Key, &Value> = rows.iter().map(|r| (key_of(r), r)).collect();
    assert_eq!(got.len(), rows.len(), "{spec:?}: one row per group");
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{spec:?}: the groups"
    );
    for (key, f) in &want {
        let row = got[key];
        let ctx = format!("{spec:?} {key:?}: {row}");
        let int = |name: &str| {
            row[name]
                .as_i64()
                .unwrap_or_else(|| panic!("{name} in {ctx}"))
        };
        assert_eq!(int("claims"), f.claims, "claims {ctx}");
        assert_eq!(int("claimedUnits"), f.units, "claimedUnits {ctx}");
        for (field, claim_type) in [
            ("cancelledUnits", "CANCEL"),
            ("returnedUnits", "RETURN"),
            ("exchangedUnits", "EXCHANGE"),
        ] {
            assert_eq!(int(field), f.units_of(claim_type), "{field} {ctx}");
        }
        assert_eq!(int("deliveredUnits"), f.delivered, "deliveredUnits {ctx}");
        let per = |units: i64, of: i64| (of > 0).then(|| units as f64 / of as f64);
        for (field, units) in [
            ("claimRate", f.units),
            ("returnRate", f.units_of("RETURN")),
            ("exchangeRate", f.units_of("EXCHANGE")),
        ] {
            assert!(
                close(row[field].as_f64(), per(units, f.delivered)),
                "{field} {ctx}"
            );
        }
        if spec.ordered {
            assert_eq!(int("orderedUnits"), f.ordered, "orderedUnits {ctx}");
            assert!(
                close(
                    row["cancelRate"].as_f64(),
                    per(f.units_of("CANCEL"), f.ordered)
                ),
                "cancelRate {ctx}"
            );
        }
        assert_eq!(int("refundedCash"), f.cash, "refundedCash {ctx}");
        assert_eq!(int("refundedToCard"), f.card, "refundedToCard {ctx}");
        assert_eq!(
            int("refundedToBankTransfer"),
            f.transfer,
            "refundedToBankTransfer {ctx}"
        );
        assert_eq!(
            int("cashRefundPending"),
            f.pending,
            "cashRefundPending {ctx}"
        );
        assert_eq!(int("refundedPoints"), f.points, "refundedPoints {ctx}");
        assert_eq!(int("feesCharged"), f.fees, "feesCharged {ctx}");
        assert_eq!(int("feesRefunded"), f.fees_back, "feesRefunded {ctx}");
        assert!(f.fees >= 0 && f.fees_back >= 0 && f.cash >= 0, "{ctx}");
        // Cash by tender holds the goods and the fees given back.
        if key.product.is_none() && spec.product.is_none() {
            assert_eq!(f.card + f.transfer, f.cash + f.fees_back, "tenders {ctx}");
        }
        assert_eq!(int("completed"), f.completed, "completed {ctx}");
        assert_eq!(int("completedAtOnce"), f.at_once, "completedAtOnce {ctx}");
        assert!(
            hours_close(
                row["medianHoursToComplete"].as_f64(),
                percentile(&f.hours, 0.5)
            ),
            "median {ctx} want {:?}",
            percentile(&f.hours, 0.5)
        );
        assert!(
            hours_close(
                row["p90HoursToComplete"].as_f64(),
                percentile(&f.hours, 0.9)
            ),
            "p90 {ctx} want {:?}",
            percentile(&f.hours, 0.9)
        );
        assert_eq!(int("openClaims"), f.open, "openClaims {ctx}");
        assert_eq!(int("onHold"), f.held.values().sum::<i64>(), "onHold {ctx}");
        let held: BTreeMap<String, i64> = row["onHoldByReason"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["reason"].as_str().unwrap().to_owned(),
                    h["claims"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(held, f.held, "onHoldByReason {ctx}");
        assert_eq!(int("conversions"), f.conversions, "conversions {ctx}");
        assert_eq!(int("rejections"), f.rejections, "rejections {ctx}");
        assert_eq!(int("withdrawals"), f.withdrawals, "withdrawals {ctx}");
        if let Some(s) = key.seller {
            assert_eq!(
                row["sellerName"].as_str(),
                Some(data.sellers[&s].as_str()),
                "{ctx}"
            );
        }
        if let Some(p) = key.product {
            assert_eq!(
                row["productName"].as_str(),
                Some(data.products[&p].as_str()),
                "{ctx}"
            );
        }
    }
}

/// `claimStats` equals the figures computed here from the stored rows, for many groupings and
/// filters, on the demo marketplace plus generated claims across KST boundaries.
async fn stats_match_independent_figures(t: TestApp) {
    oms::demo::seed_if_empty(&t.app).await.unwrap();
    let g = generate(&t).await;
    let data = load(&t).await;
    // The data covers what the figures distinguish.
    assert!(data.claims.iter().any(|c| c.converted_to_id.is_some()));
    assert!(data.claims.iter().any(|c| c.hold_phase == "HELD"));
    assert!(
        data.claims
            .iter()
            .filter(|c| COMPLETED.contains(&c.status.as_str()))
            .count()
            >= 8
    );
    assert!(data.refunds.values().any(|r| r.points > 0));
    assert!(data.tenders.iter().any(|t| t.claim_id.is_some()));
    let analyst = t.token(Role::Analyst, "analyst");
    let kst_day =
        |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap() - Duration::hours(9);
    let mut specs: Vec<Spec> = [
        &[][..],
        &["SELLER"],
        &["SELLER", "DAY"],
        &["DAY"],
        &["WEEK", "SELLER"],
        &["MONTH"],
        &["PRODUCT"],
        &["PRODUCT", "REASON"],
        &["REASON"],
        &["TYPE", "FAULT", "MONTH"],
        &["FAULT", "SELLER", "WEEK"],
    ]
    .iter()
    .map(|g| Spec::by(g))
    .collect();
    specs.push(Spec {
        from: Some(kst_day(2026, 11, 25)),
        to: Some(kst_day(2026, 12, 1)),
        ..Spec::by(&["DAY", "SELLER"])
    });
    // Edges inside days: whole days from the daily delivery count, the rest from the lines.
    for group_by in [&["DAY", "SELLER"][..], &["WEEK"], &[], &["REASON", "MONTH"]] {
        specs.push(Spec {
            from: Some(utc(2026, 11, 24, 12, 0)),
            to: Some(utc(2026, 11, 30, 16, 0)),
            ..Spec::by(group_by)
        });
    }
    specs.push(Spec {
        from: Some(utc(2026, 11, 24, 1, 0)),
        to: Some(utc(2026, 11, 24, 14, 50)),
        ..Spec::by(&["SELLER"])
    });
    specs.push(Spec {
        to: Some(utc(2026, 11, 24, 10, 0)),
        seller: Some(g.seller_a),
        ..Spec::by(&["DAY"])
    });
    specs.push(Spec {
        claim_type: Some("RETURN"),
        ..Spec::by(&["SELLER"])
    });
    specs.push(Spec {
        status: Some("RETURN_COMPLETED"),
        ..Spec::by(&[])
    });
    specs.push(Spec {
        product: Some(g.product_1),
        ..Spec::by(&["REASON"])
    });
    specs.push(Spec {
        product: Some(g.product_1),
        ..Spec::by(&["DAY"])
    });
    specs.push(Spec {
        seller: Some(g.seller_a),
        ..Spec::by(&["PRODUCT", "WEEK"])
    });
    specs.push(Spec {
        reason: Some("DEFECTIVE"),
        seller: Some(g.seller_b),
        ..Spec::by(&["FAULT"])
    });
    // Ordered units (and the cancel rate) when asked for: by seller and month (the
    // ClaimRateBySeller tab), by day with edges inside days, per product, a product's, and
    // shared by reasons.
    let asked: Vec<Spec> = [
        Spec::by(&["MONTH", "SELLER"]),
        Spec::by(&[]),
        Spec {
            from: Some(utc(2026, 11, 24, 12, 0)),
            to: Some(utc(2026, 11, 30, 16, 0)),
            ..Spec::by(&["DAY", "SELLER"])
        },
        Spec::by(&["PRODUCT", "WEEK"]),
        Spec {
            product: Some(g.product_1),
            ..Spec::by(&["MONTH"])
        },
        Spec::by(&["SELLER", "REASON"]),
        Spec {
            claim_type: Some("CANCEL"),
            seller: Some(g.seller_a),
            ..Spec::by(&["DAY"])
        },
    ]
    .into_iter()
    .map(|spec| Spec {
        ordered: true,
        ..spec
    })
    .collect();
    specs.extend(asked);
    for spec in &specs {
        check(&t, &analyst, &data, spec).await;
    }

    // What the figures must not mislead about, present in the data: a fee given back by a
    // withdrawn exchange; a return whose credit exceeds its own deductions (a negative fee
    // charged, had the credit been subtracted from it); a claim completed at once and one that
    // waited; a return awaiting its fee, counted open.
    let total = &expected(&data, &Spec::by(&[]))[&Key::default()];
    assert!(total.withdrawals > 0 && total.fees_back > 0, "{total:?}");
    assert!(
        data.claims.iter().any(|c| {
            let (charged, back) = fees_of(&data, c);
            back > 0 && charged < back
        }),
        "a credit larger than the fees it came with"
    );
    assert!(
        total.at_once > 0 && total.completed > total.at_once,
        "{total:?}"
    );
    let awaiting = Spec {
        status: Some("RETURN_AWAITING_FEE"),
        ..Spec::by(&[])
    };
    check(&t, &analyst, &data, &awaiting).await;
    let f = &expected(&data, &awaiting)[&Key::default()];
    assert!(
        f.claims > 0 && f.open == f.claims && f.completed == 0,
        "{f:?}"
    );
    // Sorting by the cancel rate counts the ordered units without selecting them.
    let d = t
        .gql(&analyst, &stats_query(), json!({"groupBy": ["SELLER"], "orderBy": [{"field": "CANCEL_RATE", "direction": "DESC"}, {"field": "SELLER", "direction": "ASC"}]}))
        .await;
    let by_seller = expected(&data, &Spec::by(&["SELLER"]));
    let mut rates: Vec<(Option<f64>, i64)> = by_seller
        .iter()
        .map(|(k, f)| {
            let rate = (f.ordered > 0).then(|| f.units_of("CANCEL") as f64 / f.ordered as f64);
            (rate, k.seller.unwrap())
        })
        .collect();
    // Largest first, rows without orders last (ties go by name: compare the rates alone).
    rates.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => y.partial_cmp(&x).unwrap(),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let got: Vec<Option<f64>> = d["claimStats"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = &by_seller[&key_of(r)];
            (f.ordered > 0).then(|| f.units_of("CANCEL") as f64 / f.ordered as f64)
        })
        .collect();
    let want: Vec<Option<f64>> = rates.iter().map(|r| r.0).collect();
    assert_eq!(got, want, "sorted by cancel rate");

    // The claim over two products splits its money into whole won that add up.
    let by_product = expected(&data, &Spec::by(&["PRODUCT"]));
    let total = &expected(&data, &Spec::by(&[]))[&Key::default()];
    assert_eq!(by_product.values().map(|f| f.cash).sum::<i64>(), total.cash);
    assert_eq!(by_product.values().map(|f| f.fees).sum::<i64>(), total.fees);
    // KST boundaries: 23:30 and 00:30 KST fall on two days; the Monday starts a week.
    let days = expected(&data, &Spec::by(&["DAY"]));
    for day in [
        (2026, 11, 24),
        (2026, 11, 25),
        (2026, 11, 30),
        (2026, 12, 1),
    ] {
        let d = NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap();
        assert!(
            days.keys().any(|k| k.period == Some(d)),
            "a claim or delivery on {d}"
        );
    }

    // Sorting and the row limit.
    let d = t
        .gql(&analyst, &stats_query(), json!({"groupBy": ["SELLER"], "orderBy": [{"field": "CLAIM_RATE", "direction": "DESC"}], "first": 2}))
        .await;
    assert_eq!(d["claimStats"]["truncated"], true);
    let rates: Vec<f64> = d["claimStats"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["claimRate"].as_f64().unwrap_or(-1.0))
        .collect();
    assert_eq!(rates.len(), 2);
    assert!(rates[0] >= rates[1], "{rates:?}");
    let d = t
        .gql(
            &analyst,
            &stats_query(),
            json!({"groupBy": ["DAY"], "orderBy": [{"field": "PERIOD", "direction": "ASC"}]}),
        )
        .await;
    let periods: Vec<&str> = d["claimStats"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["period"].as_str().unwrap())
        .collect();
    assert!(periods.windows(2).all(|w| w[0] < w[1]), "{periods:?}");
    let weeks = t
        .gql(&analyst, &stats_query(), json!({"groupBy": ["WEEK"]}))
        .await;
    assert!(weeks["claimStats"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["period"] == "2026-W49" && r["periodStart"] == "2026-11-30T00:00:00+09:00"));

    // Refusals: two time buckets, too many rows, a malformed id.
    for (vars, needle) in [
        (
            json!({"groupBy": ["DAY", "MONTH"]}),
            "at most one of DAY, WEEK and MONTH",
        ),
        (json!({"first": 10001}), "between 0 and 10000"),
        (
            json!({"filter": {"sellerId": "gid://oms/Product/1"}}),
            "not a Seller id",
        ),
    ] {
        let (status, body) = t.post(Some(&analyst), &stats_query(), vars).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{body}"
        );
    }
}
on_both!(stats_match_figures, stats_match_independent_figures);

// ---------------------------------------------------------------------------------------------
// Scoping.

/// A seller gets its own figures and claims only, whatever it asks; a customer is refused; no
/// token, no figures.
async fn seller_scope(t: TestApp) {
    let g = generate(&t).await;
    let data = load(&t).await;
    let seller = t.token(Role::Seller, &g.seller_a.to_string());
    let own = Spec {
        seller: Some(g.seller_a),
        ..Spec::by(&["SELLER", "REASON"])
    };
    // Its own figures, asked for or not, equal an analyst's for that seller.
    check(&t, &seller, &data, &own).await;
    let d = t
        .gql(&seller, &stats_query(), json!({"groupBy": ["SELLER"]}))
        .await;
    let rows = d["claimStats"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{d}");
    assert_eq!(rows[0]["sellerId"], gid("Seller", g.seller_a));
    let d = t.gql(&seller, &stats_query(), json!({"groupBy": []})).await;
    let mine = &expected(
        &data,
        &Spec {
            seller: Some(g.seller_a),
            ..Spec::by(&[])
        },
    )[&Key::default()];
    assert_eq!(d["claimStats"]["rows"][0]["claims"], mine.claims);
    // Another seller's id: nothing, as if that seller had no claims.
    let d = t
        .gql(
            &seller,
            &stats_query(),
            json!({"filter": {"sellerId": gid("Seller", g.seller_b)}, "groupBy": ["SELLER"]}),
        )
        .await;
    assert_eq!(d["claimStats"]["rows"], json!([]));
    let d = t
        .gql(
            &seller,
            &stats_query(),
            json!({"filter": {"sellerId": gid("Seller", g.seller_b)}}),
        )
        .await;
    assert_eq!(d["claimStats"]["rows"][0]["claims"], 0);
    assert_eq!(d["claimStats"]["rows"][0]["deliveredUnits"], 0);
    // The slowest open claims: its own only.
    let d = t
        .gql(
            &seller,
            "{ slowestOpenClaims(first: 100) { hoursOpen claim { claimNumber seller { id } } } }",
            json!({}),
        )
        .await;
    let open = d["slowestOpenClaims"].as_array().unwrap();
    assert!(!open.is_empty());
    assert!(
        open.iter()
            .all(|c| c["claim"]["seller"]["id"] == gid("Seller", g.seller_a)),
        "{d}"
    );
    let ops = t
        .gql(
            &t.operator(),
            "{ slowestOpenClaims(first: 100) { hoursOpen claim { seller { id } } } }",
            json!({}),
        )
        .await;
    let all = ops["slowestOpenClaims"].as_array().unwrap();
    assert!(all.len() > open.len());
    let hours: Vec<f64> = all
        .iter()
        .map(|c| c["hoursOpen"].as_f64().unwrap())
        .collect();
    assert!(
        hours.windows(2).all(|w| w[0] >= w[1]),
        "oldest first: {hours:?}"
    );
    // The CSV: its own claims only.
    let (status, csv) = get_csv(&t, Some(&seller), "/export/claims.csv").await;
    assert_eq!(status, StatusCode::OK);
    let records = parse_csv(&csv);
    let seller_col = records[0].iter().position(|c| c == "seller_id").unwrap();
    let own_claims = data
        .claims
        .iter()
        .filter(|c| c.seller_id == g.seller_a)
        .count();
    assert_eq!(records.len() - 1, own_claims);
    assert!(records[1..]
        .iter()
        .all(|r| r[seller_col] == g.seller_a.to_string()));
    let (_, csv) = get_csv(
        &t,
        Some(&seller),
        &format!(
            "/export/claim-stats.csv?groupBy=SELLER&sellerId={}",
            g.seller_b
        ),
    )
    .await;
    assert_eq!(parse_csv(&csv).len(), 1, "the header only");

    // A customer: refused. No token: refused.
    let customer = t.token(Role::Customer, "1");
    for q in [
        stats_query(),
        "{ slowestOpenClaims { hoursOpen } }".to_owned(),
    ] {
        let (_, body) = t.post(Some(&customer), &q, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
        let (_, body) = t.post(None, &q, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
    }
    for path in ["/export/claims.csv", "/export/claim-stats.csv"] {
        assert_eq!(
            get_csv(&t, Some(&customer), path).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(get_csv(&t, None, path).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            get_csv(&t, Some("not-a-token"), path).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}
on_both!(seller_scoping, seller_scope);

// ---------------------------------------------------------------------------------------------
// CSV.

async fn get_csv(t: &TestApp, token: Option<&str>, path: &str) -> (StatusCode, String) {
    let mut req = Request::get(path);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let resp = t
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    if status == StatusCode::OK {
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8; header=present"
        );
        assert!(resp.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename="));
    }
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Parses RFC 4180 text (after its byte-order mark): records of fields, CRLF line ends, quoted
/// fields with doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let body = text
        .strip_prefix('\u{feff}')
        .expect("a UTF-8 byte-order mark");
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = body.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF line ends");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => {
                assert_ne!(c, '\n', "a bare LF");
                field.push(c);
            }
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the file ends with CRLF"
    );
    let width = records[0].len();
    assert!(
        records.iter().all(|r| r.len() == width),
        "every record has the header's width"
    );
    records
}

/// Bulk claims straight into the tables (no claim logic): enough to span several pages of the
/// claims export.
async fn bulk_claims(t: &TestApp, n: usize) {
    let db = t.app.db.conn();
    let line = order_line::Entity::find()
        .one(db)
        .await
        .unwrap()
        .expect("a line");
    let at = t.clock.now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut values = Vec::new();
        for i in chunk {
            values.push(format!(
                "('BULK-{i:05}', {order}, {seller}, 1, 'RETURN', 'RETURN_REQUESTED', 'OTHER', '메모, \"따옴표\"', 'CUSTOMER', 'NONE', FALSE, 'PICKUP', '{{}}', 0, FALSE, FALSE, 0, 0, 0, 'CUSTOMER', '{at}', '{at}', 1)",
                order = line.order_id,
                seller = line.seller_id,
                at = at.to_rfc3339(),
            ));
        }
        let sql = format!(
            "INSERT INTO claims (claim_number, order_id, seller_id, customer_id, claim_type, status, reason, memo, fault, hold_phase, carries_collection, collection_method, policy_decision, return_fee, initial_shipping_applies, coupon_clawback_applies, exchange_fee, fee_paid, fee_credit, requested_by, requested_at, updated_at, version) VALUES {}",
            values.join(", ")
        );
        db.execute_unprepared(&sql).await.unwrap();
    }
    db.execute_unprepared(&format!(
        "INSERT INTO claim_items (claim_id, line_id, quantity) SELECT id, {}, 1 FROM claims WHERE claim_number LIKE 'BULK-%'",
        line.id
    ))
    .await
    .unwrap();
}

/// The exports: a byte-order mark, RFC 4180, every claim once across pages, newest first, the
/// formula defence, and the statistics file equal to `claimStats`.
async fn csv_exports(t: TestApp) {
    let g = generate(&t).await;
    bulk_claims(&t, 1_234).await;
    let data = load(&t).await;
    let analyst = t.token(Role::Analyst, "analyst");

    let (status, text) = get_csv(&t, Some(&analyst), "/export/claims.csv").await;
    assert_eq!(status, StatusCode::OK);
    let records = parse_csv(&text);
    let header = &records[0];
    assert_eq!(header[0], "claim_number");
    let col = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let rows = &records[1..];
    assert_eq!(
        rows.len(),
        data.claims.len(),
        "every claim, across pages of 500"
    );
    let mut numbers: Vec<&str> = rows
        .iter()
        .map(|r| r[col("claim_number")].as_str())
        .collect();
    let mut by_id: Vec<&claim::Model> = data.claims.iter().collect();
    by_id.sort_by_key(|c| std::cmp::Reverse(c.id));
    assert_eq!(
        numbers,
        by_id
            .iter()
            .map(|c| c.claim_number.as_str())
            .collect::<Vec<_>>(),
        "newest first"
    );
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), rows.len(), "each claim once");
    // Korean text, quoting, the formula defence, KST times.
    let b_row = rows
        .iter()
        .find(|r| r[col("seller_id")] == g.seller_b.to_string())
        .unwrap();
    assert_eq!(b_row[col("seller_name")], "'=수식상점");
    let a_row = rows
        .iter()
        .find(|r| r[col("seller_id")] == g.seller_a.to_string())
        .unwrap();
    assert_eq!(a_row[col("seller_name")], "분석상사, \"본점\"");
    assert!(
        text.contains("\"분석상사, \"\"본점\"\"\""),
        "quoted, quotes doubled"
    );
    let r1 = rows
        .iter()
        .find(|r| r[col("requested_at_kst")] == "2026-11-24 23:30:00")
        .expect("the claim at 23:30 KST");
    assert_eq!(r1[col("type_ko")], "반품");
    assert_eq!(r1[col("reason_ko")], "단순 변심");
    assert!(r1[col("items")].contains(" × 1"), "{r1:?}");
    let completed = rows
        .iter()
        .filter(|r| !r[col("hours_to_complete")].is_empty())
        .count();
    assert_eq!(
        completed,
        data.claims
            .iter()
            .filter(|c| COMPLETED.contains(&c.status.as_str()))
            .count()
    );
    // Money per claim equals the same figures as claimStats.
    let sum = |rows: &[Vec<String>], name: &str| -> i64 {
        rows.iter()
            .map(|r| r[col(name)].parse::<i64>().unwrap())
            .sum()
    };
    let total = &expected(&data, &Spec::by(&[]))[&Key::default()];
    assert_eq!(
        [
            sum(rows, "fees_charged"),
            sum(rows, "fees_refunded"),
            sum(rows, "refunded_cash"),
            sum(rows, "refunded_points"),
        ],
        [total.fees, total.fees_back, total.cash, total.points]
    );
    assert!(total.fees_back > 0);
    assert!(
        !header.iter().any(|c| c.starts_with("product_")),
        "{header:?}"
    );
    // Hours to the hundredth, and 0.00 for a claim completed at once.
    assert!(rows.iter().all(|r| r[col("hours_to_complete")].is_empty()
        || r[col("hours_to_complete")].split('.').nth(1).map(str::len) == Some(2)));
    let at_once = data.claims.iter().find(|c| at_once(c)).unwrap();
    let line = rows
        .iter()
        .find(|r| r[col("claim_number")] == at_once.claim_number)
        .unwrap();
    assert_eq!(line[col("hours_to_complete")], "0.00");

    // With a product: the claims covering it, each with the product's part, adding up to
    // claimStats(productId).
    let (status, text) = get_csv(
        &t,
        Some(&analyst),
        &format!("/export/claims.csv?productId={}", g.product_1),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let records = parse_csv(&text);
    let header = &records[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let lines = &records[1..];
    let covering = data
        .claims
        .iter()
        .filter(|c| {
            data.items
                .iter()
                .any(|i| i.claim_id == c.id && data.lines[&i.line_id].product_id == g.product_1)
        })
        .count();
    assert_eq!(lines.len(), covering);
    let product = Spec {
        product: Some(g.product_1),
        ..Spec::by(&[])
    };
    let f = &expected(&data, &product)[&Key::default()];
    let counted_units: i64 = lines
        .iter()
        .filter(|r| r[col("converted_to")].is_empty())
        .map(|r| r[col("product_units")].parse::<i64>().unwrap())
        .sum();
    let sum = |name: &str| -> i64 {
        lines
            .iter()
            .map(|r| r[col(name)].parse::<i64>().unwrap())
            .sum()
    };
    assert_eq!(
        [
            counted_units,
            sum("product_refunded_cash"),
            sum("product_refunded_points"),
            sum("product_fees_charged"),
            sum("product_fees_refunded"),
        ],
        [f.units, f.cash, f.points, f.fees, f.fees_back]
    );
    // The claim over two products: its whole figures, and the product's part of them.
    let both = lines
        .iter()
        .find(|r| r[col("items")].contains("; "))
        .expect("the claim over two products");
    assert!(
        both[col("product_units")].parse::<i64>().unwrap()
            < both[col("units")].parse::<i64>().unwrap()
    );
    assert!(
        both[col("product_refunded_cash")].parse::<i64>().unwrap()
            < both[col("refunded_cash")].parse::<i64>().unwrap()
    );
    // claimStats agrees.
    let d = t
        .gql(
            &analyst,
            &stats_query(),
            json!({"filter": {"productId": gid("Product", g.product_1)}}),
        )
        .await;
    let row = &d["claimStats"]["rows"][0];
    assert_eq!(
        (row["claimedUnits"].as_i64(), row["refundedCash"].as_i64()),
        (Some(f.units), Some(f.cash))
    );

    // Times: the RFC 3339 text GraphQL takes, its `+` left unencoded (a query string decodes
    // it to a space) or encoded, and a date, all mean the same instant.
    let mut counts = Vec::new();
    for from in [
        "2026-11-25T00:00:00+09:00",
        "2026-11-25T00:00:00%2B09:00",
        "2026-11-24T15:00:00Z",
        "2026-11-25",
    ] {
        let (status, text) = get_csv(
            &t,
            Some(&analyst),
            &format!("/export/claims.csv?from={from}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{from}: {text}");
        counts.push(parse_csv(&text).len() - 1);
    }
    let d = t
        .gql(
            &analyst,
            &stats_query(),
            json!({"filter": {"from": "2026-11-25T00:00:00+09:00"}}),
        )
        .await;
    let requested = data
        .claims
        .iter()
        .filter(|c| c.requested_at >= utc(2026, 11, 24, 15, 0))
        .count();
    assert_eq!(counts, [requested; 4]);
    let row = &d["claimStats"]["rows"][0];
    let counted = data
        .claims
        .iter()
        .filter(|c| c.requested_at >= utc(2026, 11, 24, 15, 0) && c.converted_to_id.is_none())
        .count();
    assert_eq!(row["claims"].as_u64(), Some(counted as u64));
    // A filter narrows the file like the GraphQL filter.
    let (_, text) = get_csv(
        &t,
        Some(&analyst),
        &format!(
            "/export/claims.csv?type=RETURN&sellerId={}&from=2026-11-25",
            gid("Seller", g.seller_a)
        ),
    )
    .await;
    let want = data
        .claims
        .iter()
        .filter(|c| {
            c.claim_type == "RETURN"
                && c.seller_id == g.seller_a
                && c.requested_at >= utc(2026, 11, 24, 15, 0)
        })
        .count();
    assert_eq!(parse_csv(&text).len() - 1, want);
    assert!(want > 0);
    let (status, text) = get_csv(&t, Some(&analyst), "/export/claims.csv?type=NOPE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");

    // The statistics file: the same rows and numbers as claimStats.
    let (status, text) = get_csv(
        &t,
        Some(&analyst),
        "/export/claim-stats.csv?groupBy=SELLER,DAY&orderBy=PERIOD:ASC",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let records = parse_csv(&text);
    let header = &records[0];
    assert_eq!(
        &header[..4],
        ["period", "period_start", "seller_id", "seller_name"]
    );
    let want = expected(
        &data,
        &Spec {
            ordered: true,
            ..Spec::by(&["SELLER", "DAY"])
        },
    );
    // period_start is the text GraphQL's periodStart is.
    let d = t
        .gql(
            &analyst,
            &stats_query(),
            json!({"groupBy": ["SELLER", "DAY"], "first": 10000}),
        )
        .await;
    let starts: BTreeMap<(String, String), String> = d["claimStats"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r["period"].as_str().unwrap().to_owned(),
                    id_of(&r["sellerId"]).unwrap().to_string(),
                ),
                r["periodStart"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(records.len() - 1, want.len());
    let col = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    for r in &records[1..] {
        assert_eq!(
            r[col("period_start")],
            starts[&(r[col("period")].clone(), r[col("seller_id")].clone())],
            "{r:?}"
        );
        let key = Key {
            period: Some(
                DateTime::parse_from_rfc3339(&r[col("period_start")])
                    .unwrap()
                    .date_naive(),
            ),
            seller: Some(r[col("seller_id")].parse().unwrap()),
            ..Key::default()
        };
        let f = &want[&key];
        assert_eq!(r[col("claims")], f.claims.to_string(), "{r:?}");
        assert_eq!(r[col("delivered_units")], f.delivered.to_string(), "{r:?}");
        assert_eq!(r[col("ordered_units")], f.ordered.to_string(), "{r:?}");
        assert_eq!(
            r[col("cancelled_units")],
            f.units_of("CANCEL").to_string(),
            "{r:?}"
        );
        assert_eq!(r[col("fees_charged")], f.fees.to_string(), "{r:?}");
        assert_eq!(r[col("fees_refunded")], f.fees_back.to_string(), "{r:?}");
        assert_eq!(r[col("withdrawals")], f.withdrawals.to_string(), "{r:?}");
        assert_eq!(r[col("completed_at_once")], f.at_once.to_string(), "{r:?}");
        assert_eq!(
            r[col("on_hold")],
            f.held.values().sum::<i64>().to_string(),
            "{r:?}"
        );
        let median = r[col("median_hours_to_complete")].parse::<f64>().ok();
        match (median, percentile(&f.hours, 0.5)) {
            (Some(got), Some(want)) => assert!((got - want).abs() <= 0.0051, "{r:?}"),
            (got, want) => assert_eq!(got, want, "{r:?}"),
        }
    }
    let periods: Vec<&str> = records[1..].iter().map(|r| r[0].as_str()).collect();
    assert!(periods.windows(2).all(|w| w[0] <= w[1]), "{periods:?}");
    let (status, _) = get_csv(
        &t,
        Some(&analyst),
        "/export/claim-stats.csv?groupBy=DAY,WEEK",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
on_both!(csv_export, csv_exports);

// ---------------------------------------------------------------------------------------------
// The read replica.

/// With `--read-database-url`, analytics, the exports and every ANALYST request read the
/// replica, while the claim desk (an operator's lists, every write) keeps the primary. The
/// "replica" here is another, empty database, so where each read went shows.
async fn read_replica(t: TestApp) {
    generate(&t).await;
    let replica_url = match t.url.starts_with("sqlite") {
        true => format!(
            "sqlite://{}?mode=rwc",
            std::env::temp_dir()
                .join(format!(
                    "oms_replica_{}_{}.db",
                    std::process::id(),
                    Utc::now().timestamp_micros()
                ))
                .display()
        ),
        false => {
            let admin = std::env::var("OMS_TEST_POSTGRES_URL").unwrap();
            let name = format!(
                "oms_test_replica_{}_{}",
                std::process::id(),
                Utc::now().timestamp_micros()
            );
            sea_orm::Database::connect(&admin)
                .await
                .unwrap()
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
        }
    };
    oms::db::Db::connect(&replica_url, 2)
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    let db = t
        .app
        .db
        .clone()
        .with_read_replica(&replica_url, 4)
        .await
        .unwrap();
    let app = oms::app::App {
        live: oms::outbox::live::LiveHub::new(db.clone()),
        db,
        ..t.app.clone()
    };
    let t = TestApp {
        router: oms::http::router(app.clone(), std::path::Path::new("web/node_modules")),
        app,
        url: t.url.clone(),
        gateway: t.gateway.clone(),
        clock: t.clock.clone(),
        dns: t.dns.clone(),
    };
    let analyst = t.token(Role::Analyst, "analyst");
    let ops = t.operator();
    let count =
        "{ claims(first: 100) { edges { node { claimNumber } } } claimStats { rows { claims } } }";
    let as_ops = t.gql(&ops, count, json!({})).await;
    let as_analyst = t.gql(&analyst, count, json!({})).await;
    // The operator's claim desk reads the primary; analytics read the replica for everyone.
    assert!(!as_ops["claims"]["edges"].as_array().unwrap().is_empty());
    assert_eq!(as_ops["claimStats"]["rows"][0]["claims"], 0);
    // Every ANALYST request reads the replica.
    assert_eq!(as_analyst["claims"]["edges"], json!([]));
    assert_eq!(as_analyst["claimStats"]["rows"][0]["claims"], 0);
    let (status, text) = get_csv(&t, Some(&ops), "/export/claims.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        parse_csv(&text).len(),
        1,
        "the header only: the replica has no claims"
    );
    let ready = || async {
        t.send(
            axum::http::Request::get("/readyz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
    };
    assert_eq!(
        ready().await,
        (
            StatusCode::OK,
            json!({"database": true, "migrations": true, "readReplica": true})
        )
    );
    // A replica that went away is reported, and the server stays ready for the claim desk.
    if let Some(name) = replica_url
        .strip_prefix("postgres")
        .and_then(|_| replica_url.rsplit_once('/'))
    {
        let admin = std::env::var("OMS_TEST_POSTGRES_URL").unwrap();
        sea_orm::Database::connect(&admin)
            .await
            .unwrap()
            .execute_unprepared(&format!("DROP DATABASE {} WITH (FORCE)", name.1))
            .await
            .unwrap();
        assert_eq!(
            ready().await,
            (
                StatusCode::OK,
                json!({"database": true, "migrations": true, "readReplica": false})
            )
        );
        let desk = "{ claims(first: 100) { edges { node { claimNumber } } } }";
        assert!(!t.gql(&ops, desk, json!({})).await["claims"]["edges"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}
on_both!(replica_reads, read_replica);

/// `orderBy` holds 20 sort keys; more is `BAD_USER_INPUT` naming the limit (2,000 were an SQL
/// error answered as INTERNAL), for a seller as for an analyst.
async fn order_keys(t: TestApp) {
    let analyst = t.token(Role::Analyst, "a");
    let keys = |n: usize| -> Value {
        json!((0..n)
            .map(|_| json!({"field": "CLAIMS", "direction": "DESC"}))
            .collect::<Vec<_>>())
    };
    for (n, refused) in [(20, false), (21, true), (2_000, true)] {
        let (status, body) = t
            .post(
                Some(&analyst),
                &stats_query(),
                json!({"groupBy": ["SELLER"], "orderBy": keys(n)}),
            )
            .await;
        assert_eq!(status, axum::http::StatusCode::OK, "{n}: {body}");
        if refused {
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{n}: {body}"
            );
            assert_eq!(
                body["errors"][0]["message"],
                format!("orderBy has {n} keys; the limit is 20")
            );
        } else {
            assert!(body["errors"].is_null(), "{n}: {body}");
        }
    }
}
on_both!(claim_stats_order_keys_are_bounded, order_keys);

// ---------------------------------------------------------------------------------------------
// GraphiQL's analytics tabs.

/// The titles of the analytics tabs in `web/graphiql.html` (their `// Tab "..."` comments).
const ANALYTICS_TABS: [&str; 4] = [
    "Claim rate by seller",
    "Top reasons for a product",
    "Refunds by tender",
    "Slowest open claims",
];

/// A JavaScript single-quoted string on a line of its own (`'...',` or `'...'`), unquoted.
fn js_string(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line.strip_prefix('\'')?;
    let inner = inner
        .strip_suffix("',")
        .or_else(|| inner.strip_suffix('\''))?;
    Some(inner.replace("\\'", "'").replace("\\\\", "\\"))
}

/// Each analytics tab's query text and variables, as GraphiQL opens them.
fn analytics_tabs() -> Vec<(&'static str, String, Value)> {
    let html =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web/graphiql.html")).unwrap();
    ANALYTICS_TABS
        .iter()
        .map(|title| {
            let start = html
                .find(&format!("// Tab \"{title}\""))
                .unwrap_or_else(|| panic!("tab {title}"));
            let tab = &html[start..];
            let tab = &tab[..tab[1..].find("// Tab \"").map_or(tab.len(), |n| n + 1)];
            let end = tab.find("].join('\\n')").expect("the query's end");
            let query: Vec<String> = tab[..end].lines().filter_map(js_string).collect();
            let variables = tab[end..]
                .lines()
                .find_map(|l| l.trim().strip_prefix("variables: "))
                .and_then(js_string)
                .map_or(json!({}), |v| serde_json::from_str(&v).unwrap());
            (*title, query.join("\n"), variables)
        })
        .collect()
}

/// The analytics tabs run as they are, for an analyst, on the demo marketplace: data and no
/// errors, the rates by claim type what they say, and the hours those of the claims that
/// waited.
async fn graphiql_analytics_tabs(t: TestApp) {
    oms::demo::seed_if_empty(&t.app).await.unwrap();
    let analyst = t.token(Role::Analyst, "analyst");
    let tabs = analytics_tabs();
    assert_eq!(tabs.len(), ANALYTICS_TABS.len());
    for (title, query, variables) in tabs {
        let (status, body) = t.post(Some(&analyst), &query, variables).await;
        assert_eq!(status, StatusCode::OK, "{title}: {body}");
        assert!(body["errors"].is_null(), "{title}: {body}");
        let rows = body["data"]["claimStats"]["rows"]
            .as_array()
            .unwrap_or_else(|| panic!("{title}: {body}"));
        assert!(!rows.is_empty(), "{title}: {body}");
        for row in rows {
            let int = |f: &str| row[f].as_i64();
            let per = |units: &str, of: &str| match (int(units), int(of)) {
                (Some(u), Some(o)) if o > 0 => Some(u as f64 / o as f64),
                _ => None,
            };
            for (rate, units, of) in [
                ("cancelRate", "cancelledUnits", "orderedUnits"),
                ("returnRate", "returnedUnits", "deliveredUnits"),
                ("exchangeRate", "exchangedUnits", "deliveredUnits"),
            ] {
                if row.get(rate).is_some() && row.get(of).is_some() {
                    assert!(
                        close(row[rate].as_f64(), per(units, of)),
                        "{title} {rate}: {row}"
                    );
                }
            }
            // Hours are to the hundredth.
            for f in ["medianHoursToComplete", "p90HoursToComplete"] {
                if let Some(h) = row.get(f).and_then(Value::as_f64) {
                    assert!(hours_close(Some(h), Some(h)), "{title} {f}: {row}");
                }
            }
        }
        match title {
            "Claim rate by seller" => {
                // Cancels are rated against orders: they never reach a delivery.
                assert!(
                    rows.iter().any(|r| int_of(r, "cancelledUnits") > 0),
                    "{body}"
                );
                assert!(rows.iter().all(|r| r.get("claimRate").is_none()), "{body}");
            }
            "Refunds by tender" => {
                for r in rows {
                    assert_eq!(
                        int_of(r, "refundedToCard") + int_of(r, "refundedToBankTransfer"),
                        int_of(r, "refundedCash") + int_of(r, "feesRefunded"),
                        "{r}"
                    );
                }
            }
            "Slowest open claims" => {
                assert!(
                    !body["data"]["slowestOpenClaims"]
                        .as_array()
                        .unwrap()
                        .is_empty(),
                    "{body}"
                );
                // The demo's cancels approved at once are completed but not timed.
                assert!(
                    rows.iter().any(|r| int_of(r, "completedAtOnce") > 0),
                    "{body}"
                );
            }
            _ => {}
        }
    }
}
on_both!(graphiql_tabs_run_for_an_analyst, graphiql_analytics_tabs);

fn int_of(row: &Value, field: &str) -> i64 {
    row[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {row}"))
}
