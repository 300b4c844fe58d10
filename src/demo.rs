//! The demo marketplace `oms serve --demo` seeds into an empty database: three sellers with
//! Korean names and their shipping settings, products with options and stock, customers with
//! points, coupons, and a few dozen orders in every line status and both payment methods —
//! all placed and moved through the same services the API uses.
//!
//! The demo's history spans the last two days and a bit: orders placed minutes apart, their
//! steps hours apart, then claims whose actions take hours, so that claim analytics show real
//! durations and periods. It ends before now and within every SYSTEM deadline (deposits,
//! purchase confirmation, unpaid fees), so the job runner leaves every status in place.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::{coupon, customer, product, product_option, seller};
use sea_orm::Set;

use crate::app::App;
use crate::clock::ManualClock;
use crate::domain::actor::Scope;
use crate::domain::actor::{Actor, Role};
use crate::domain::claim::{ClaimAction, HoldReason, Reason};
use crate::domain::money::Won;
use crate::domain::order::{LineStatus, LineStep, PaymentMethod};
use crate::error::ServiceError;
use crate::gateway::{SimulatedGateway, VIRTUAL_ACCOUNT_KEY_PREFIX};
use crate::repo;
use crate::service::claims::{self, fee_order_id};
use crate::service::orders::{self, LineSelection, PlaceOrder, PlaceOrderLine, StepRequest};
use crate::service::payments;

/// An option: name, unit price, instant discount per unit.
type DemoOption = (&'static str, i64, i64);

struct DemoSeller {
    name: &'static str,
    base_fee: i64,
    free_threshold: i64,
    return_fee: i64,
    products: &'static [(&'static str, &'static [DemoOption])],
}

const SELLERS: [DemoSeller; 3] = [
    DemoSeller {
        name: "한빛패션",
        base_fee: 3000,
        free_threshold: 50000,
        return_fee: 3000,
        products: &[
            (
                "오버핏 코튼 셔츠",
                &[
                    ("S / 화이트", 29900, 0),
                    ("M / 화이트", 29900, 0),
                    ("L / 블랙", 29900, 0),
                ],
            ),
            (
                "와이드 데님 팬츠",
                &[
                    ("28", 45000, 5000),
                    ("30", 45000, 5000),
                    ("32", 45000, 5000),
                ],
            ),
            ("린넨 셋업 (상의)", &[("M", 39000, 0), ("L", 39000, 0)]),
            // Cheaper than its return fee: a change-of-mind return leaves a fee due.
            ("양말 (샘플)", &[("FREE", 2000, 0)]),
        ],
    },
    DemoSeller {
        name: "바른생활가전",
        base_fee: 0,
        free_threshold: 0,
        return_fee: 5000,
        products: &[
            (
                "무선 핸디 청소기",
                &[("그레이", 129000, 10000), ("화이트", 129000, 10000)],
            ),
            ("전기 주전자 1.7L", &[("기본", 32000, 0)]),
        ],
    },
    DemoSeller {
        name: "초록식품",
        base_fee: 2500,
        free_threshold: 30000,
        return_fee: 2500,
        products: &[
            (
                "제주 감귤 5kg",
                &[("로얄과", 27900, 0), ("가정용", 19900, 0)],
            ),
            ("유기농 현미 4kg", &[("기본", 18000, 1000)]),
        ],
    },
];

/// How long ago the first demo order was placed (bank transfers wait 72 hours for a deposit).
const HISTORY_HOURS: i64 = 52;
/// Minutes between two demo orders.
const ORDER_SPACING_MINUTES: i64 = 7;
/// Hours between two steps of a demo order (paid, preparing, shipped, delivered, confirmed).
const STEP_HOURS: i64 = 3;
/// Hours after the first order when the first demo claim opens (every order is delivered).
const CLAIMS_AFTER_HOURS: i64 = 26;
/// Minutes between the openings of two demo claims.
const CLAIM_SPACING_MINUTES: i64 = 20;

/// The time an action takes after the previous one, in minutes: a demo claim's pace.
const fn minutes_before(action: ClaimAction) -> i64 {
    match action {
        ClaimAction::Approve => 90,
        ClaimAction::MarkCollected => 8 * 60,
        ClaimAction::CompleteReturn => 2 * 60,
        ClaimAction::ReshipExchange => 3 * 60,
        ClaimAction::CompleteExchange => 9 * 60,
        ClaimAction::RefundExchange => 5 * 60,
        ClaimAction::Reject => 4 * 60,
        ClaimAction::ConvertToExchange | ClaimAction::ConvertToReturn => 6 * 60,
        ClaimAction::HoldClaim => 2 * 60,
        ClaimAction::Withdraw | ClaimAction::PayClaimFee => 45,
        // Not among the demo's actions; an hour if one is added.
        ClaimAction::RequestCancel
        | ClaimAction::SellerCancel
        | ClaimAction::RequestReturn
        | ClaimAction::RequestExchange
        | ClaimAction::ApproveRejection
        | ClaimAction::DeclineRejection
        | ClaimAction::ApproveHold
        | ClaimAction::DeclineHold
        | ClaimAction::ReleaseHold
        | ClaimAction::WaiveClaimFee
        | ClaimAction::RetryRefund
        | ClaimAction::ResolveRefundManually
        | ClaimAction::SetRefundAccount
        | ClaimAction::RefundSucceeded
        | ClaimAction::ShippedOverCancel
        | ClaimAction::FeeUnpaidTimeout => 60,
    }
}

const CUSTOMERS: [(&str, &str, i64); 4] = [
    ("김민지", "minji@example.com", 12000),
    ("이서준", "seojun@example.com", 3000),
    ("박지우", "jiwoo@example.com", 0),
    ("최예린", "yerin@example.com", 50000),
];

/// Seeds the demo when there are no orders yet. Returns whether it seeded.
pub async fn seed_if_empty(app: &App) -> Result<bool, ServiceError> {
    if !repo::catalog::no_orders(app.db.conn()).await? {
        tracing::info!("database already has orders; demo data not seeded");
        return Ok(false);
    }
    let now = Utc::now();
    let start = app.clock.now() - Duration::hours(HISTORY_HOURS);
    let db = app.db.conn();
    let mut options: Vec<i64> = Vec::new();
    for (n, s) in SELLERS.iter().enumerate() {
        let seller_id = repo::catalog::insert_seller(
            db,
            seller::ActiveModel {
                name: Set(s.name.to_owned()),
                base_shipping_fee: Set(s.base_fee),
                free_shipping_threshold: Set(s.free_threshold),
                return_fee: Set(s.return_fee),
                // Notifications to sellers go to these (to the log unless --smtp-url is set).
                email: Set(Some(format!("seller{}@example.com", n + 1))),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        for (product_name, opts) in s.products {
            let product_id = repo::catalog::insert_product(
                db,
                product::ActiveModel {
                    seller_id: Set(seller_id),
                    name: Set((*product_name).to_owned()),
                    created_at: Set(now),
                    ..Default::default()
                },
            )
            .await?;
            for (name, price, discount) in *opts {
                options.push(
                    repo::catalog::insert_option(
                        db,
                        product_option::ActiveModel {
                            product_id: Set(product_id),
                            name: Set((*name).to_owned()),
                            price: Set(*price),
                            stock: Set(500),
                            instant_discount: Set(*discount),
                            ..Default::default()
                        },
                    )
                    .await?,
                );
            }
        }
    }
    let mut customers = Vec::new();
    for (i, (name, email, points)) in CUSTOMERS.iter().enumerate() {
        customers.push(
            repo::catalog::insert_customer(
                db,
                customer::ActiveModel {
                    name: Set((*name).to_owned()),
                    email: Set((*email).to_owned()),
                    // With an 알림톡 gateway (--alimtalk-url) these customers get 알림톡.
                    phone: Set((i % 2 == 1).then(|| format!("010-5555-000{i}"))),
                    points_balance: Set(*points),
                    refund_bank: Set((i % 2 == 0).then(|| "국민은행".to_owned())),
                    refund_account_number: Set((i % 2 == 0).then(|| format!("123-45-67890{i}"))),
                    refund_account_holder: Set((i % 2 == 0).then(|| (*name).to_owned())),
                    created_at: Set(now),
                    ..Default::default()
                },
            )
            .await?,
        );
    }
    for (code, name, amount, min) in [
        ("WELCOME5000", "신규가입 5,000원 할인", 5000, 30000),
        ("SALE10000", "주말 특가 10,000원 할인", 10000, 80000),
    ] {
        repo::catalog::insert_coupon(
            db,
            coupon::ActiveModel {
                code: Set(code.to_owned()),
                name: Set(name.to_owned()),
                amount: Set(amount),
                min_purchase: Set(min),
            },
        )
        .await?;
    }

    // 90 orders: each walks as far along the lifecycle as its index says, so every line status
    // appears, with both payment methods, coupons and points mixed in.
    let stops = [
        LineStep::ConfirmOrder,
        LineStep::Ship,
        LineStep::MarkDelivered,
        LineStep::ConfirmPurchase,
    ];
    let mut placed_count = 0;
    let gateway = Arc::new(SimulatedGateway::default());
    for n in 0..90usize {
        let method = if n % 3 == 0 {
            PaymentMethod::BankTransfer
        } else {
            PaymentMethod::Card
        };
        // Transfers cycle through the customers on their own, so every customer (with and
        // without a refund account) has transfer orders in every status.
        let customer = match method {
            PaymentMethod::BankTransfer => customers[(n / 3) % customers.len()],
            PaymentMethod::Card => customers[n % customers.len()],
        };
        let first = options[n % options.len()];
        let second = options[(n * 7 + 3) % options.len()];
        let mut lines = vec![PlaceOrderLine {
            option_id: first,
            quantity: 1 + (n % 3) as i64,
            line_discount: None,
            bundle_id: None,
        }];
        if n % 2 == 0 && second != first {
            lines.push(PlaceOrderLine {
                option_id: second,
                quantity: 1,
                line_discount: None,
                bundle_id: None,
            });
        }
        let request = PlaceOrder {
            customer_id: Some(customer),
            lines,
            coupon_code: (n % 5 == 0).then(|| "WELCOME5000".to_owned()),
            coupon_terms: None,
            points: Won::new(if n % 4 == 1 { 1000 } else { 0 }),
            payment_method: method,
        };
        // This order's own clock: placed in turn, each step some hours after the last. Its
        // payments go through a simulator the demo holds, so it can make deposits arrive.
        let clock = ManualClock::new(start + Duration::minutes(ORDER_SPACING_MINUTES * n as i64));
        let app = &App {
            clock: Arc::new(clock.clone()),
            gateway: gateway.clone(),
            ..app.clone()
        };
        let placed = match orders::place_order(app, Actor::Operator, None, request)
            .await
            .result
        {
            Ok(p) => p,
            // A cart below a coupon's minimum, say: skip it, the demo needs no particular order.
            Err(ServiceError::User(e)) => {
                tracing::debug!(error = %e.message, "demo order skipped");
                continue;
            }
            Err(e) => return Err(e),
        };
        placed_count += 1;
        let Some(order) = repo::orders::order_by_id(db, placed.order_id, false).await? else {
            continue;
        };
        // The status this order is left in, independent of its payment method so every status
        // appears with both (0 awaiting payment … 5 purchase confirmed), delivered ones weighted
        // up so the demo claims find lines to claim.
        let target: usize = [0, 1, 2, 3, 4, 4, 4, 4, 5][(n / 3) % 9];
        pay(app, &gateway, &order, n, target > 0).await?;
        for step in stops.iter().copied().take(target.saturating_sub(1)) {
            clock.advance(Duration::hours(STEP_HOURS));
            let lines = repo::orders::lines_of_orders(db, &[order.id], None).await?;
            let (from, _) = step.transition();
            // Each seller ships its own parcel.
            let mut sellers: Vec<i64> = lines.iter().map(|l| l.seller_id).collect();
            sellers.dedup();
            for seller in sellers {
                let ids: Vec<i64> = lines
                    .iter()
                    .filter(|l| l.seller_id == seller && l.status == from.as_str())
                    .map(|l| l.id)
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                orders::step_lines(
                    app,
                    Actor::Operator,
                    step,
                    None,
                    StepRequest {
                        selection: LineSelection::Lines(ids),
                        tracking: (step == LineStep::Ship).then(|| {
                            (
                                "CJ대한통운".to_owned(),
                                format!("5{:011}", order.id * 10 + seller),
                            )
                        }),
                        expected_version: None,
                    },
                )
                .await
                .result?;
            }
        }
    }
    tracing::info!(
        orders = placed_count,
        "demo marketplace seeded: 3 sellers, 4 customers"
    );
    seed_claims(app, start + Duration::hours(CLAIMS_AFTER_HOURS)).await?;
    Ok(true)
}

/// Pays a demo order as a shop's checkout would (`README.md` "Payments"): a card by
/// `confirmPayment` with the widget's payment key; a bank transfer through a virtual account
/// (every other one) whose deposit arrives by the gateway's callback, or by an operator's
/// `confirmDeposit`. Orders left unpaid show each way of waiting: a card checkout not yet
/// confirmed, a virtual account issued, a partial deposit.
async fn pay(
    app: &App,
    gateway: &SimulatedGateway,
    order: &entity::order::Model,
    n: usize,
    paid: bool,
) -> Result<(), ServiceError> {
    let number = &order.order_number;
    let due = Won::new(order.amount_due);
    if !due.is_positive() {
        // Points paid it all at placing.
        return Ok(());
    }
    let confirm = |payment_key: String| payments::ConfirmPayment {
        order_number: number.clone(),
        payment_key,
        amount: due,
    };
    let deposit = |amount: Won| payments::DepositRequest {
        order_number: number.clone(),
        amount,
        expected_version: None,
    };
    match order.payment_method.parse::<PaymentMethod>()? {
        // Unpaid: a checkout the customer has not completed.
        PaymentMethod::Card if !paid => {}
        PaymentMethod::Card => {
            let req = confirm(format!("sim-card-{number}"));
            payments::confirm_payment(app, Actor::Operator, None, req)
                .await
                .result?;
        }
        // A virtual account, deposited into (the gateway's callback) or still waiting.
        PaymentMethod::BankTransfer if n % 2 == 0 => {
            let req = confirm(format!("{VIRTUAL_ACCOUNT_KEY_PREFIX}{number}"));
            payments::confirm_payment(app, Actor::Operator, None, req)
                .await
                .result?;
            if paid {
                let body = gateway.deposit(number).ok_or_else(|| {
                    ServiceError::Corrupt(format!(
                        "the demo's virtual account of {number} is unknown"
                    ))
                })?;
                let callback = serde_json::from_value(body)
                    .map_err(|e| ServiceError::Corrupt(format!("demo deposit callback: {e}")))?;
                payments::deposit_callback(app, callback).await?;
            }
        }
        // 무통장입금 to the marketplace's account, recorded by an operator: in full, or short
        // (the order still waits for the rest).
        PaymentMethod::BankTransfer => {
            let amount = if paid {
                due
            } else {
                Won::new(due.amount() / 2 / 1000 * 1000)
            };
            if amount.is_positive() {
                payments::confirm_deposit(app, Actor::Operator, None, deposit(amount))
                    .await
                    .result?;
            }
        }
    }
    Ok(())
}

/// One demo claim: which line it takes (status, optionally a product), how it opens, the
/// actions after, and whether it must stay refunding: then it takes a bank-transfer order of a
/// customer with no refund account, so its refund waits (ACCOUNT_REQUIRED) until one is given.
struct DemoClaim {
    line: LineStatus,
    product: Option<&'static str>,
    open: ClaimAction,
    reason: Reason,
    then: &'static [ClaimAction],
    late: bool,
}

const fn claim(
    line: LineStatus,
    open: ClaimAction,
    reason: Reason,
    then: &'static [ClaimAction],
) -> DemoClaim {
    DemoClaim {
        line,
        product: None,
        open,
        reason,
        then,
        late: false,
    }
}

impl DemoClaim {
    const fn late(mut self) -> DemoClaim {
        self.late = true;
        self
    }

    const fn on(mut self, product: &'static str) -> DemoClaim {
        self.product = Some(product);
        self
    }
}

use ClaimAction as A;
use LineStatus as L;
use Reason as R;

/// Claims in every status of `claims.md`, filed and moved through the claim service like any
/// client's.
#[rustfmt::skip]
const DEMO_CLAIMS: &[DemoClaim] = &[
    claim(L::AwaitingPayment, A::RequestCancel, R::OrderedByMistake, &[]),
    claim(L::Paid, A::RequestCancel, R::ChangeOfMind, &[]),
    claim(L::Paid, A::SellerCancel, R::OutOfStock, &[]),
    claim(L::Paid, A::RequestCancel, R::ChangeOfMind, &[]).late(),
    claim(L::Preparing, A::RequestCancel, R::ChangeOfMind, &[]),
    claim(L::Preparing, A::RequestCancel, R::ChangeOfMind, &[A::Reject]),
    claim(L::Preparing, A::RequestCancel, R::OrderedByMistake, &[A::Withdraw]),
    claim(L::Delivered, A::RequestReturn, R::ChangeOfMind, &[]),
    claim(L::Delivered, A::RequestReturn, R::Defective, &[A::Approve]),
    claim(L::Delivered, A::RequestReturn, R::SizeOrOptionChange, &[A::Approve, A::MarkCollected]),
    claim(L::Delivered, A::RequestReturn, R::ChangeOfMind, &[A::Approve, A::MarkCollected, A::CompleteReturn]),
    claim(L::Delivered, A::RequestReturn, R::ChangeOfMind, &[A::Approve, A::MarkCollected, A::CompleteReturn]).late(),
    claim(L::Delivered, A::RequestReturn, R::ChangeOfMind, &[A::Approve, A::MarkCollected, A::CompleteReturn]).on("양말 (샘플)"),
    claim(L::Delivered, A::RequestReturn, R::WrongItemDelivered, &[A::Approve, A::MarkCollected, A::Reject]),
    claim(L::Delivered, A::RequestReturn, R::ChangeOfMind, &[A::Approve, A::Reject]),
    claim(L::Delivered, A::RequestReturn, R::ChangeOfMind, &[A::Withdraw]),
    claim(L::Delivered, A::RequestReturn, R::Defective, &[A::Approve, A::MarkCollected, A::HoldClaim]),
    claim(L::Delivered, A::RequestReturn, R::ChangeOfMind, &[A::ConvertToExchange]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Approve]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Approve, A::MarkCollected]),
    claim(L::Delivered, A::RequestExchange, R::WrongItemDelivered, &[A::Approve, A::MarkCollected, A::ReshipExchange]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Approve, A::MarkCollected, A::ReshipExchange, A::CompleteExchange]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Approve, A::MarkCollected, A::Reject]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Approve, A::Reject]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Withdraw]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::ConvertToReturn]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Approve, A::MarkCollected, A::RefundExchange]),
    claim(L::Delivered, A::RequestExchange, R::Defective, &[A::Approve, A::MarkCollected, A::RefundExchange]).late(),
    claim(L::Delivered, A::RequestExchange, R::SizeOrOptionChange, &[A::PayClaimFee, A::Approve]),
    claim(L::Delivered, A::RequestExchange, R::SizeOrOptionChange, &[A::PayClaimFee, A::Withdraw]),
    claim(L::Delivered, A::RequestExchange, R::SizeOrOptionChange, &[]),
];

async fn seed_claims(app: &App, start: DateTime<Utc>) -> Result<(), ServiceError> {
    let db = app.db.conn();
    let mut used: Vec<i64> = Vec::new();
    let customers =
        repo::catalog::customers_by_ids(db, &(1..=CUSTOMERS.len() as i64).collect::<Vec<_>>())
            .await?;
    let without_account: Vec<i64> = customers
        .iter()
        .filter(|c| c.refund_account_number.is_none())
        .map(|c| c.id)
        .collect();
    // The claims that need a particular kind of order pick first.
    let ordered = DEMO_CLAIMS
        .iter()
        .filter(|d| d.late)
        .chain(DEMO_CLAIMS.iter().filter(|d| !d.late));
    for (i, demo) in ordered.enumerate() {
        // This claim's own clock: opened in turn (but early enough to finish before now),
        // each action some time after the last.
        let took = demo.then.iter().fold(Duration::zero(), |t, a| {
            t + Duration::minutes(minutes_before(*a))
        });
        let opens = (start + Duration::minutes(CLAIM_SPACING_MINUTES * i as i64))
            .min(app.clock.now() - took - Duration::minutes(30));
        let clock = ManualClock::new(opens);
        let timed = App {
            clock: Arc::new(clock.clone()),
            ..app.clone()
        };
        // The first unused order with a line in the wanted status.
        let oldest = repo::orders::OrderPage {
            sort: repo::orders::OrderSort::PlacedAt,
            descending: false,
            after: None,
            limit: 200,
        };
        let orders = repo::orders::page_orders(
            db,
            Scope::All,
            &repo::orders::OrderFilter::default(),
            oldest,
        )
        .await?;
        let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
        let lines = repo::orders::lines_of_orders(db, &ids, None).await?;
        let awaits_account = |order_id: i64| {
            orders.iter().any(|o| {
                o.id == order_id
                    && o.payment_method == PaymentMethod::BankTransfer.as_str()
                    && without_account.contains(&o.customer_id)
            })
        };
        let Some(line) = lines.iter().find(|l| {
            (!demo.late || awaits_account(l.order_id))
                && l.status == demo.line.as_str()
                && l.claimed_quantity == 0
                && !used.contains(&l.order_id)
                && demo.product.is_none_or(|p| l.product_name == p)
        }) else {
            tracing::warn!(
                line = demo.line.as_str(),
                action = demo.open.as_str(),
                "no order left for a demo claim"
            );
            continue;
        };
        used.push(line.order_id);
        let Some(order) = orders.iter().find(|o| o.id == line.order_id) else {
            continue;
        };
        let actor = match demo.open {
            ClaimAction::SellerCancel => Actor::Seller(line.seller_id),
            _ => Actor::Customer(order.customer_id),
        };
        let opened = claims::open_claim(
            &timed,
            actor,
            None,
            claims::OpenRequest {
                action: demo.open,
                order_number: order.order_number.clone(),
                items: vec![claims::OpenItem {
                    line_id: line.id,
                    quantity: 1,
                    // The demo's exchanges ask for the same option again (a fresh unit).
                    replacement_option_id: (demo.open == ClaimAction::RequestExchange)
                        .then_some(line.option_id),
                }],
                reason: demo.reason,
                memo: Some("데모 클레임".into()),
                collection_method: claims::CollectionMethod::Pickup,
            },
        )
        .await
        .result?;
        let Some(claim) = repo::claims::claims_by_ids(db, &[opened.claim_id])
            .await?
            .into_iter()
            .next()
        else {
            continue;
        };
        for &action in demo.then {
            let (actor, mut req) = match action {
                ClaimAction::Withdraw => (
                    Actor::Customer(order.customer_id),
                    claims::ActRequest::default(),
                ),
                ClaimAction::ConvertToExchange => (
                    Actor::Customer(order.customer_id),
                    claims::ActRequest {
                        replacements: vec![(line.id, line.option_id)],
                        ..Default::default()
                    },
                ),
                ClaimAction::PayClaimFee => (
                    Actor::Customer(order.customer_id),
                    claims::ActRequest {
                        fee: Some(crate::domain::money::Won::new(claim.exchange_fee)),
                        // The key the payment widget gave for the fee.
                        paid_by: claims::FeePaidBy::Card(Some(format!(
                            "sim-card-{}",
                            fee_order_id(&claim.claim_number)
                        ))),
                        ..Default::default()
                    },
                ),
                ClaimAction::HoldClaim => (
                    Actor::Operator,
                    claims::ActRequest {
                        hold_reason: Some(HoldReason::Inspection),
                        ..Default::default()
                    },
                ),
                _ => (
                    Actor::Seller(line.seller_id),
                    claims::ActRequest {
                        tracking: Some(("CJ대한통운".into(), format!("R{}", claim.id))),
                        ..Default::default()
                    },
                ),
            };
            req.claim_number = claim.claim_number.clone();
            req.memo = Some("데모".into());
            clock.advance(Duration::minutes(minutes_before(action)));
            claims::act(&timed, actor, action, None, req).await.result?;
        }
    }
    // Pay the refunds that can be paid; those waiting for a refund account stay refunding.
    crate::service::refunds::pay_due(app).await?;
    tracing::info!(claims = used.len(), "demo claims seeded");
    Ok(())
}

/// Prints ready-made tokens and GraphiQL links for the demo's people.
pub fn print_tokens(app: &App, listen: std::net::SocketAddr) {
    // Beside an identity provider, these HS256 tokens work only with the explicit opt-in.
    if app
        .keys
        .oidc()
        .is_some_and(|oidc| !oidc.config().allow_hs256)
    {
        println!(
            "\nDemo tokens are not printed: with --oidc-issuer this server accepts only the \
             identity provider's tokens (add --oidc-allow-hs256 and a --jwt-secret of your own \
             to use `oms token` tokens as well)."
        );
        return;
    }
    let ttl = Duration::days(30);
    let people = [
        (Role::Operator, "ops", "운영자 (operator)"),
        (Role::Analyst, "analyst", "분석가 (analyst)"),
        (Role::Seller, "1", "한빛패션 (seller 1)"),
        (Role::Customer, "1", "김민지 (customer 1)"),
    ];
    println!("\nDemo tokens (paste into GraphiQL's Headers tab as {{\"Authorization\": \"Bearer <token>\"}}, or open the link):");
    for (role, subject, who) in people {
        if let Ok(token) = app.keys.issue(role, subject, ttl) {
            println!("  {who}:\n    http://{listen}/graphiql?token={token}");
        }
    }
    println!();
}
