//! Placing orders and moving their lines: deposit, seller confirmation, shipping, delivery and
//! purchase confirmation.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::{customer, order, order_coupon, order_line, order_shipping_group, shipment, tender};
use sea_orm::{DatabaseTransaction, Set};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::checkout::{
    checkout_tenders, price_checkout, CartLine, CouponTerms, Offer, PricedCheckout,
    ShippingSettings,
};
use crate::domain::claim::ClaimAction;
use crate::domain::money::Won;
use crate::domain::order::{
    initial_line_status, order_status, LineStatus, LineStep, OrderNumber, OrderStatus,
    PaymentMethod, PaymentWindows, TenderStatus,
};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::repo::catalog::OptionWithProduct;
use crate::service::access;
use crate::service::claims;
use crate::service::idempotency::{self, Answer, Keyed};

/// One line of a `placeOrder` request.
#[derive(Debug, Clone)]
pub struct PlaceOrderLine {
    /// The product option.
    pub option_id: i64,
    /// Units.
    pub quantity: i64,
    /// An explicit line discount (OPERATOR only); otherwise the option's instant discount.
    pub line_discount: Option<Won>,
    /// The set (세트) the line is sold in, if any: lines with the same id form one set.
    pub bundle_id: Option<String>,
}

/// A `placeOrder` request.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// The customer (OPERATOR only; a customer orders for itself).
    pub customer_id: Option<i64>,
    /// The cart.
    pub lines: Vec<PlaceOrderLine>,
    /// A coupon by code.
    pub coupon_code: Option<String>,
    /// Ad-hoc coupon terms (OPERATOR only, e.g. a goodwill discount on a phone order).
    pub coupon_terms: Option<CouponTerms>,
    /// Points to use.
    pub points: Won,
    /// Card or bank transfer.
    pub payment_method: PaymentMethod,
}

/// What a successful order-side mutation returns: the order it touched.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct OrderChanged {
    /// The order.
    pub order_id: i64,
}

/// Places an order: prices it (`money.md`), reserves stock, spends points, and stores the
/// order with its lines, tenders, coupon and shipping groups — all or nothing.
pub async fn place_order(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    input: PlaceOrder,
) -> Answer<OrderChanged> {
    let customer_id = match orderer(actor, &input) {
        Ok(id) => id,
        Err(e) => return e.into(),
    };
    idempotency::once(app, actor, key, async |txn| {
        place_order_in(app, txn, customer_id, &input).await
    })
    .await
}

/// Phase 1, validate the request: the customer an order is for, and whether the caller may
/// give what it gave (before any transaction: these refusals are not kept under the key).
fn orderer(actor: Actor, input: &PlaceOrder) -> Result<i64, ServiceError> {
    let customer_id = match actor {
        Actor::Customer(id) => {
            if input.customer_id.is_some_and(|c| c != id) {
                return Err(UserError::new(
                    UserErrorCode::FieldNotAllowed,
                    &["customerId"],
                    "customers place orders for themselves; leave customerId out",
                )
                .into());
            }
            id
        }
        Actor::Operator => input.customer_id.ok_or_else(|| {
            ServiceError::BadInput("an OPERATOR placing an order must name the customerId".into())
        })?,
        Actor::Seller(_) | Actor::Analyst | Actor::System => {
            return Err(ServiceError::Forbidden(
                "only a CUSTOMER or an OPERATOR can place orders".into(),
            ))
        }
    };
    if !matches!(actor, Actor::Operator) {
        if let Some(i) = input.lines.iter().position(|l| l.line_discount.is_some()) {
            return Err(UserError::new(
                UserErrorCode::FieldNotAllowed,
                &["lines", &i.to_string(), "lineDiscount"],
                "only an OPERATOR can set a line discount; the seller's instant discount applies by itself",
            )
            .into());
        }
        if input.coupon_terms.is_some() {
            return Err(UserError::new(
                UserErrorCode::FieldNotAllowed,
                &["coupon"],
                "only an OPERATOR can give ad-hoc coupon terms; use couponCode",
            )
            .into());
        }
    }
    Ok(customer_id)
}

/// What placing an order found in the database (the tracker of the request): the customer,
/// the options of the cart with their products, their sellers' shipping settings and the
/// coupon.
struct Checkout {
    /// The customer ordering.
    customer: customer::Model,
    /// The cart's options by id, with their products.
    options: HashMap<i64, OptionWithProduct>,
    /// Shipping settings by seller.
    sellers: HashMap<i64, ShippingSettings>,
    /// The coupon's code (`MANUAL` for ad-hoc terms without one) and terms.
    coupon: Option<(String, CouponTerms)>,
}

/// What placing an order decided: the cart as priced and how it is paid.
struct Placement<'a> {
    /// The request.
    input: &'a PlaceOrder,
    /// What was loaded for it.
    checkout: Checkout,
    /// One line per requested line, in request order.
    cart: Vec<CartLine>,
    /// The prices and allocations of the cart.
    priced: PricedCheckout,
    /// The time of placing.
    now: DateTime<Utc>,
}

/// Places the order in `txn`: loads what the request names, prices it, and writes it.
async fn place_order_in(
    app: &App,
    txn: &DatabaseTransaction,
    customer_id: i64,
    input: &PlaceOrder,
) -> Result<OrderChanged, ServiceError> {
    let checkout = load_checkout(txn, customer_id, input).await?;
    let placement = decide_checkout(checkout, input, app.clock.now())?;
    write_order(app, txn, &placement).await
}

/// Phase 2, get tracker: the customer, the cart's options and their sellers, the coupon. The
/// quantities are checked here, after the customer, as they always were (a refusal inside the
/// transaction is kept under the idempotency key).
async fn load_checkout(
    txn: &DatabaseTransaction,
    customer_id: i64,
    input: &PlaceOrder,
) -> Result<Checkout, ServiceError> {
    let customer = repo::catalog::customers_by_ids(txn, &[customer_id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| UserError::not_found(&["customerId"], "customer"))?;
    check_quantities(&input.lines)?;
    let option_ids: Vec<i64> = input.lines.iter().map(|l| l.option_id).collect();
    let options = repo::catalog::options_with_products(txn, &option_ids).await?;
    let mut seller_ids = Vec::with_capacity(input.lines.len());
    for (i, l) in input.lines.iter().enumerate() {
        let o = options.get(&l.option_id).ok_or_else(|| {
            UserError::new(
                UserErrorCode::UnknownOption,
                &["lines", &i.to_string(), "optionId"],
                format!("product option {} does not exist", l.option_id),
            )
        })?;
        if o.option.discontinued_at.is_some() || o.product.discontinued_at.is_some() {
            return Err(UserError::new(
                UserErrorCode::OptionDiscontinued,
                &["lines", &i.to_string(), "optionId"],
                format!(
                    "{} ({}) is discontinued and takes no new orders",
                    o.product.name, o.option.name
                ),
            )
            .into());
        }
        seller_ids.push(o.product.seller_id);
    }
    seller_ids.dedup();
    let sellers = repo::catalog::sellers_by_ids(txn, &seller_ids).await?;
    if let Some(s) = sellers.iter().find(|s| s.suspended_at.is_some()) {
        // The first line of the suspended seller's products.
        let i = input
            .lines
            .iter()
            .position(|l| {
                options
                    .get(&l.option_id)
                    .is_some_and(|o| o.product.seller_id == s.id)
            })
            .unwrap_or_default();
        return Err(UserError::new(
            UserErrorCode::SellerSuspended,
            &["lines", &i.to_string(), "optionId"],
            format!(
                "seller {} is suspended and takes no new orders: order its products later, \
                 or another seller's",
                s.name
            ),
        )
        .into());
    }
    Ok(Checkout {
        customer,
        sellers: shipping_settings(sellers),
        coupon: coupon_of(txn, input).await?,
        options,
    })
}

/// Every line's quantity is a whole number of units a line can hold.
fn check_quantities(lines: &[PlaceOrderLine]) -> Result<(), ServiceError> {
    match lines
        .iter()
        .position(|l| l.quantity < 1 || l.quantity > i64::from(u32::MAX))
    {
        Some(i) => Err(UserError::new(
            UserErrorCode::InvalidQuantity,
            &["lines", &i.to_string(), "quantity"],
            format!("quantity must be at least 1, got {}", lines[i].quantity),
        )
        .into()),
        None => Ok(()),
    }
}

/// The shipping settings of some sellers, by seller.
fn shipping_settings(sellers: Vec<entity::seller::Model>) -> HashMap<i64, ShippingSettings> {
    sellers
        .into_iter()
        .map(|s| {
            let settings = ShippingSettings {
                base_fee: Won::new(s.base_shipping_fee),
                free_threshold: Won::new(s.free_shipping_threshold),
                return_fee: Won::new(s.return_fee),
            };
            (s.id, settings)
        })
        .collect()
}

/// The coupon of the request: one by code from the catalogue, or an OPERATOR's ad-hoc terms
/// (under its code, or `MANUAL`).
async fn coupon_of(
    txn: &DatabaseTransaction,
    input: &PlaceOrder,
) -> Result<Option<(String, CouponTerms)>, ServiceError> {
    Ok(match (&input.coupon_code, input.coupon_terms) {
        (Some(code), None) => {
            let c = repo::catalog::coupon(txn, code).await?.ok_or_else(|| {
                UserError::new(
                    UserErrorCode::UnknownCoupon,
                    &["couponCode"],
                    format!("coupon `{code}` does not exist"),
                )
            })?;
            let terms = CouponTerms {
                amount: Won::new(c.amount),
                min_purchase: Won::new(c.min_purchase),
            };
            Some((c.code, terms))
        }
        (code, Some(terms)) => Some((code.clone().unwrap_or_else(|| "MANUAL".into()), terms)),
        (None, None) => None,
    })
}

/// Phase 3, the domain's decision: each line at its option's price and discount
/// ([`CartLine::of`]), the whole priced by [`price_checkout`] against the customer's points.
fn decide_checkout(
    checkout: Checkout,
    input: &PlaceOrder,
    now: DateTime<Utc>,
) -> Result<Placement<'_>, ServiceError> {
    let cart: Vec<CartLine> = input
        .lines
        .iter()
        .filter_map(|l| {
            let o = checkout.options.get(&l.option_id)?;
            let offer = Offer {
                seller_id: o.product.seller_id,
                unit_price: Won::new(o.option.price),
                instant_discount: Won::new(o.option.instant_discount),
            };
            let quantity = u32::try_from(l.quantity).unwrap_or(u32::MAX);
            Some(CartLine::of(offer, quantity, l.line_discount))
        })
        .collect();
    let priced = price_checkout(
        &cart,
        |s| checkout.sellers.get(&s).copied(),
        checkout.coupon.as_ref().map(|(_, terms)| *terms),
        input.points,
        Won::new(checkout.customer.points_balance),
    )
    .map_err(UserError::from)?;
    Ok(Placement {
        input,
        checkout,
        cart,
        priced,
        now,
    })
}

/// Phase 4, update tracker: reserves the stock, numbers the order, stores it with its lines,
/// tenders, coupon and shipping groups, spends the points, and announces it.
async fn write_order(
    app: &App,
    txn: &DatabaseTransaction,
    p: &Placement<'_>,
) -> Result<OrderChanged, ServiceError> {
    reserve_stock(txn, p).await?;
    let day = OrderNumber::day_key(p.now);
    let number = OrderNumber::new(p.now, repo::orders::next_order_sequence(txn, &day).await?);
    // One status for all the new lines, so the order's is theirs.
    let status = order_status(std::iter::once(initial_line_status(p.priced.cash_total)));
    let windows = PaymentWindows {
        card_minutes: app.jobs.card_payment_minutes,
        deposit_hours: app.jobs.deposit_deadline_hours,
    };
    let row = order_row(p, &number, status, windows);
    let order_id = repo::orders::insert_order(txn, row).await?;
    spend_points(txn, p, order_id).await?;
    let groups = shipping_group_rows(p, order_id);
    let coupon = coupon_row(p, order_id);
    let (lines, tenders) = (line_rows(p, order_id), tender_rows(p, order_id));
    repo::orders::insert_order_parts(txn, groups, lines, tenders, coupon).await?;
    let seller_ids: Vec<i64> = p.cart.iter().map(|l| l.seller_id).collect();
    let customer_id = p.checkout.customer.id;
    let order = crate::outbox::OrderRef {
        id: order_id,
        customer_id,
        status: status.as_str(),
    };
    // A card order is placed for everyone else once its payment is confirmed (`order.paid`):
    // until then it is an open checkout, and telling the seller would start the goods moving.
    let awaiting_card =
        p.input.payment_method == PaymentMethod::Card && p.priced.cash_total.is_positive();
    if !awaiting_card {
        crate::outbox::record_order(txn, order, "order.placed", &[], &seller_ids, p.now).await?;
    }
    tracing::info!(order = %number, customer = customer_id, "order placed");
    Ok(OrderChanged { order_id })
}

/// Takes the stock of every line; the first shortfall refuses the order (and rolls back what
/// was taken).
async fn reserve_stock(txn: &DatabaseTransaction, p: &Placement<'_>) -> Result<(), ServiceError> {
    for (i, l) in p.input.lines.iter().enumerate() {
        if !repo::catalog::take_stock(txn, l.option_id, l.quantity).await? {
            let on_hand = p
                .checkout
                .options
                .get(&l.option_id)
                .map(|o| o.option.stock)
                .unwrap_or(0);
            return Err(UserError::new(
                UserErrorCode::OutOfStock,
                &["lines", &i.to_string(), "quantity"],
                format!(
                    "not enough stock of option {}: {} asked, {} on hand",
                    l.option_id, l.quantity, on_hand
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// Spends the points the order uses; a balance that changed since it was read refuses it.
async fn spend_points(
    txn: &DatabaseTransaction,
    p: &Placement<'_>,
    order_id: i64,
) -> Result<(), ServiceError> {
    let points = p.priced.points;
    let customer_id = p.checkout.customer.id;
    if points.is_positive()
        && !repo::catalog::spend_points(txn, customer_id, order_id, points.amount(), p.now).await?
    {
        return Err(UserError::new(
            UserErrorCode::PointsExceedBalance,
            &["points"],
            "the points balance changed while ordering; try again",
        )
        .into());
    }
    Ok(())
}

/// The new order's row: its prices, what it still owes (all of its cash) and until when.
fn order_row(
    p: &Placement<'_>,
    number: &OrderNumber,
    status: OrderStatus,
    windows: PaymentWindows,
) -> order::ActiveModel {
    let method = p.input.payment_method;
    let priced = &p.priced;
    order::ActiveModel {
        order_number: Set(number.as_str().to_owned()),
        customer_id: Set(p.checkout.customer.id),
        status: Set(status.as_str().to_owned()),
        payment_method: Set(method.as_str().to_owned()),
        items_net: Set(priced.items_net.amount()),
        coupon_amount: Set(priced.coupon.amount()),
        points_used: Set(priced.points.amount()),
        shipping_total: Set(priced.shipping_total.amount()),
        cash_total: Set(priced.cash_total.amount()),
        amount_due: Set(priced.cash_total.amount()),
        deposit_deadline: Set(method.payment_deadline(p.now, priced.cash_total, windows)),
        // Points alone paid it: paid now.
        deposited_at: Set((!priced.cash_total.is_positive()).then_some(p.now)),
        placed_at: Set(p.now),
        updated_at: Set(p.now),
        version: Set(1),
        ..Default::default()
    }
}

/// One shipping group per seller with its settings and the fee priced.
fn shipping_group_rows(p: &Placement<'_>, order_id: i64) -> Vec<order_shipping_group::ActiveModel> {
    p.priced
        .shipping_fees
        .iter()
        .filter_map(|(seller, fee)| {
            let s = p.checkout.sellers.get(seller)?;
            Some(order_shipping_group::ActiveModel {
                order_id: Set(order_id),
                seller_id: Set(*seller),
                base_fee: Set(s.base_fee.amount()),
                free_threshold: Set(s.free_threshold.amount()),
                return_fee: Set(s.return_fee.amount()),
                shipping_fee: Set(fee.amount()),
                ship_paid_cash: Set(fee.amount()),
                ship_paid_points: Set(0),
                free_broken_charged: Set(false),
                ..Default::default()
            })
        })
        .collect()
}

/// The order lines, numbered from 1 in request order, with the names at checkout and what each
/// paid.
fn line_rows(p: &Placement<'_>, order_id: i64) -> Vec<order_line::ActiveModel> {
    let status = initial_line_status(p.priced.cash_total);
    let lines = p.input.lines.iter().zip(&p.cart).zip(&p.priced.lines);
    lines
        .enumerate()
        .filter_map(|(i, ((req, cart_line), alloc))| {
            let o = p.checkout.options.get(&req.option_id)?;
            Some(order_line::ActiveModel {
                order_id: Set(order_id),
                line_no: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                seller_id: Set(cart_line.seller_id),
                product_id: Set(o.product.id),
                option_id: Set(o.option.id),
                product_name: Set(o.product.name.clone()),
                option_name: Set(o.option.name.clone()),
                unit_price: Set(cart_line.unit_price.amount()),
                quantity: Set(i32::try_from(cart_line.quantity).unwrap_or(i32::MAX)),
                line_discount: Set(cart_line.line_discount.amount()),
                bundle_id: Set(req.bundle_id.clone()),
                net: Set(alloc.net.amount()),
                coupon_share: Set(alloc.coupon.amount()),
                points_share: Set(alloc.points.amount()),
                cash_share: Set(alloc.cash.amount()),
                status: Set(status.as_str().to_owned()),
                cancelled_quantity: Set(0),
                returned_quantity: Set(0),
                claimed_quantity: Set(0),
                shipment_id: Set(None),
                shipped_at: Set(None),
                delivered_at: Set(None),
                confirmed_at: Set(None),
                ..Default::default()
            })
        })
        .collect()
}

/// The tenders [`checkout_tenders`] decided, as rows. The cash tender gets the gateway's
/// payment key when `confirmPayment` confirms it.
fn tender_rows(p: &Placement<'_>, order_id: i64) -> Vec<tender::ActiveModel> {
    checkout_tenders(p.input.payment_method, &p.priced)
        .into_iter()
        .map(|t| tender::ActiveModel {
            order_id: Set(order_id),
            method: Set(t.method.as_str().to_owned()),
            amount: Set(t.amount.amount()),
            status: Set(t.status.as_str().to_owned()),
            refunded_amount: Set(0),
            gateway_reference: Set(None),
            paid_at: Set(match t.status {
                TenderStatus::Paid => Some(p.now),
                TenderStatus::AwaitingDeposit | TenderStatus::AwaitingPayment => None,
            }),
            deposited_amount: Set(0),
            created_at: Set(p.now),
            ..Default::default()
        })
        .collect()
}

/// The coupon applied, with what it took off.
fn coupon_row(p: &Placement<'_>, order_id: i64) -> Option<order_coupon::ActiveModel> {
    let (code, terms) = p.checkout.coupon.as_ref()?;
    Some(order_coupon::ActiveModel {
        order_id: Set(order_id),
        code: Set(code.clone()),
        amount: Set(p.priced.coupon.amount()),
        min_purchase: Set(terms.min_purchase.amount()),
        restored: Set(false),
        clawed: Set(false),
        claw_pool_cash: Set(0),
        claw_pool_points: Set(0),
        ..Default::default()
    })
}

/// Which lines a lifecycle step applies to.
#[derive(Debug, Clone)]
pub enum LineSelection {
    /// Every line of the order the caller may act on (for a seller: its own) that is in the
    /// step's starting status.
    WholeOrder(String),
    /// These lines (all of one order).
    Lines(Vec<i64>),
}

/// The parameters of a lifecycle step.
#[derive(Debug, Clone)]
pub struct StepRequest {
    /// The lines.
    pub selection: LineSelection,
    /// Courier and tracking number, for `shipLines`.
    pub tracking: Option<(String, String)>,
    /// The order's version the caller saw.
    pub expected_version: Option<i32>,
}

/// Who may perform a step: the actors of `domain.md` ("Actors").
fn may_perform(step: LineStep, actor: Actor) -> bool {
    match step {
        LineStep::ConfirmDeposit => matches!(actor, Actor::Operator | Actor::System),
        // The payment service confirms with the gateway first, then takes this step.
        LineStep::ConfirmPayment => matches!(actor, Actor::System),
        LineStep::ConfirmOrder | LineStep::Ship | LineStep::MarkDelivered => {
            matches!(actor, Actor::Seller(_) | Actor::Operator | Actor::System)
        }
        LineStep::ConfirmPurchase => {
            matches!(actor, Actor::Customer(_) | Actor::Operator | Actor::System)
        }
    }
}

/// Performs one lifecycle step on some lines of one order, in one transaction.
pub async fn step_lines(
    app: &App,
    actor: Actor,
    step: LineStep,
    key: Option<Keyed>,
    req: StepRequest,
) -> Answer<OrderChanged> {
    if !may_perform(step, actor) {
        return ServiceError::Forbidden(format!(
            "{} cannot be done by a {:?}",
            step.mutation_name(),
            actor.role()
        ))
        .into();
    }
    idempotency::once(app, actor, key, async |txn| {
        step_lines_in(app, txn, actor, step, &req).await
    })
    .await
}

/// [`step_lines`] in the caller's transaction, for a service that has authorized the step.
pub(crate) async fn step_lines_in(
    app: &App,
    txn: &DatabaseTransaction,
    actor: Actor,
    step: LineStep,
    req: &StepRequest,
) -> Result<OrderChanged, ServiceError> {
    let now = app.clock.now();
    let (from, to) = step.transition();

    // Find and lock the order, whichever way the lines were named.
    let (order, selected) = match &req.selection {
        LineSelection::WholeOrder(number) => {
            let o = repo::orders::order_by_number(txn, number, true)
                .await?
                .ok_or_else(|| UserError::not_found(&["orderNumber"], "order"))?;
            (o, None)
        }
        LineSelection::Lines(ids) => {
            if ids.is_empty() {
                return Err(ServiceError::BadInput(
                    "lineIds must name at least one line".into(),
                ));
            }
            let lines = repo::orders::lines_by_ids(txn, ids).await?;
            let orders: HashSet<i64> = lines.iter().map(|l| l.order_id).collect();
            if lines.len() != ids.iter().collect::<HashSet<_>>().len() || orders.len() != 1 {
                return Err(if orders.len() > 1 {
                    UserError::new(
                        UserErrorCode::MixedShipment,
                        &["lineIds"],
                        "the lines must all belong to one order",
                    )
                } else {
                    UserError::not_found(&["lineIds"], "order line")
                }
                .into());
            }
            let order_id = lines.first().map(|l| l.order_id).unwrap_or_default();
            let o = repo::orders::order_by_id(txn, order_id, true)
                .await?
                .ok_or_else(|| UserError::not_found(&["lineIds"], "order line"))?;
            (o, Some(ids.clone()))
        }
    };
    if !access::can_see_order(txn, actor, &order).await? {
        return Err(UserError::not_found(&[], "order").into());
    }
    check_version(&order, req.expected_version)?;
    let scope = actor.scope().seller();
    let all_lines = repo::orders::lines_of_orders(txn, &[order.id], None).await?;
    let visible: Vec<&order_line::Model> = all_lines
        .iter()
        .filter(|l| scope.is_none_or(|s| l.seller_id == s))
        .collect();
    let targets: Vec<&order_line::Model> = match &selected {
        Some(ids) => {
            let found: Vec<&order_line::Model> = visible
                .iter()
                .copied()
                .filter(|l| ids.contains(&l.id))
                .collect();
            if found.len() != ids.len() {
                return Err(UserError::not_found(&["lineIds"], "order line").into());
            }
            if let Some(bad) = found.iter().find(|l| l.status != from.as_str()) {
                return Err(step_refusal(step, bad, from).into());
            }
            found
        }
        None => visible
            .iter()
            .copied()
            .filter(|l| l.status == from.as_str())
            .collect(),
    };
    if targets.is_empty() {
        return Err(UserError::new(
            UserErrorCode::LineStatusNotAllowed,
            &[],
            format!(
                "{}: no line of order {} is {}; it applies to {} lines only",
                step.mutation_name(),
                order.order_number,
                from,
                from
            ),
        )
        .into());
    }
    if let Some(busy) = targets
        .iter()
        .find(|l| l.claimed_quantity > 0 && matches!(step, LineStep::ConfirmPurchase))
    {
        return Err(UserError::new(
            UserErrorCode::LineStatusNotAllowed,
            &["lineIds"],
            format!(
                "line {} has units in an open claim; its purchase is confirmed when the claim closes",
                busy.line_no
            ),
        )
        .into());
    }
    let target_ids: Vec<i64> = targets.iter().map(|l| l.id).collect();

    let mut set = order_line::ActiveModel {
        status: Set(to.as_str().to_owned()),
        ..Default::default()
    };
    let mut order_set = order::ActiveModel::default();
    match step {
        // The payment service recorded the money on the tender before taking the step.
        LineStep::ConfirmDeposit | LineStep::ConfirmPayment => {
            order_set.amount_due = Set(0);
            order_set.deposited_at = Set(Some(now));
        }
        LineStep::ConfirmOrder => {}
        LineStep::Ship => {
            // Shipping wins over an open cancel request: the request is rejected (SHIPPED).
            let seller = targets.first().map(|l| l.seller_id).unwrap_or_default();
            for number in
                repo::claims::claims_on_lines_in_status(txn, &target_ids, "CANCEL_REQUESTED")
                    .await?
            {
                let request = claims::ActRequest {
                    claim_number: number,
                    ..Default::default()
                };
                claims::act_in(
                    app,
                    txn,
                    Actor::Seller(seller),
                    ClaimAction::ShippedOverCancel,
                    &request,
                    now,
                )
                .await?;
            }
            let sellers: HashSet<i64> = targets.iter().map(|l| l.seller_id).collect();
            if sellers.len() != 1 {
                return Err(UserError::new(
                    UserErrorCode::MixedShipment,
                    &["lineIds"],
                    "one shipment carries the lines of one seller; ship each seller's lines separately",
                )
                .into());
            }
            let (courier, tracking) = req.tracking.clone().ok_or_else(|| {
                ServiceError::BadInput("shipLines needs a courier and a tracking number".into())
            })?;
            let shipment_id = repo::orders::insert_shipment(
                txn,
                shipment::ActiveModel {
                    order_id: Set(order.id),
                    seller_id: Set(targets.first().map(|l| l.seller_id).unwrap_or_default()),
                    courier: Set(courier),
                    tracking_number: Set(tracking),
                    shipped_at: Set(now),
                    delivered_at: Set(None),
                    ..Default::default()
                },
            )
            .await?;
            set.shipment_id = Set(Some(shipment_id));
            set.shipped_at = Set(Some(now));
        }
        LineStep::MarkDelivered => {
            set.delivered_at = Set(Some(now));
            // The claim rate's denominator: units delivered per KST day and seller.
            let units = targets
                .iter()
                .map(|l| (l.seller_id, i64::from(l.quantity - l.cancelled_quantity)));
            let counts = crate::domain::analytics::deliveries(units, now);
            repo::analytics::record_deliveries(txn, &counts).await?;
            let shipments: Vec<i64> = targets.iter().filter_map(|l| l.shipment_id).collect();
            repo::orders::mark_shipments_delivered(txn, &shipments, now).await?;
        }
        LineStep::ConfirmPurchase => {
            set.confirmed_at = Set(Some(now));
        }
    }
    repo::orders::update_lines(txn, &target_ids, set).await?;
    let statuses = all_lines.iter().map(|l| {
        if target_ids.contains(&l.id) {
            to
        } else {
            l.status.parse().unwrap_or(LineStatus::Cancelled)
        }
    });
    let new_status = order_status(statuses);
    order_set.status = Set(new_status.as_str().to_owned());
    repo::orders::update_order(txn, order.id, order_set, now).await?;
    let seller_ids: Vec<i64> = targets.iter().map(|l| l.seller_id).collect();
    crate::outbox::record_order(
        txn,
        crate::outbox::OrderRef {
            id: order.id,
            customer_id: order.customer_id,
            status: new_status.as_str(),
        },
        step.event_type(),
        &target_ids,
        &seller_ids,
        now,
    )
    .await?;

    Ok(OrderChanged { order_id: order.id })
}

/// `expectedVersion`: refuse with STALE_VERSION unless the order is at the version the caller
/// saw.
pub(crate) fn check_version(order: &order::Model, expected: Option<i32>) -> Result<(), UserError> {
    match expected {
        Some(v) if v != order.version => Err(UserError::new(
            UserErrorCode::StaleVersion,
            &["expectedVersion"],
            format!(
                "order {} is at version {}, not {v}; reload it and try again",
                order.order_number, order.version
            ),
        )),
        _ => Ok(()),
    }
}

fn step_refusal(step: LineStep, line: &order_line::Model, from: LineStatus) -> UserError {
    UserError::new(
        UserErrorCode::LineStatusNotAllowed,
        &["lineIds"],
        format!(
            "{}: line {} is {}; this step applies to {} lines only",
            step.mutation_name(),
            line.line_no,
            line.status,
            from
        ),
    )
}

/// Confirms the purchase of every delivered line whose confirmation is due (SYSTEM job).
/// Returns how many lines were confirmed.
pub async fn auto_confirm_purchases(app: &App) -> Result<u64, ServiceError> {
    let now = app.clock.now();
    let cutoff: DateTime<Utc> = now - Duration::days(app.jobs.auto_confirm_days);
    let mut confirmed = 0;
    loop {
        let due = repo::orders::lines_due_for_confirmation(app.db.conn(), cutoff, 200).await?;
        if due.is_empty() {
            return Ok(confirmed);
        }
        let mut by_order: HashMap<i64, Vec<i64>> = HashMap::new();
        for l in &due {
            by_order.entry(l.order_id).or_default().push(l.id);
        }
        for (_order_id, line_ids) in by_order {
            match step_lines(
                app,
                Actor::System,
                LineStep::ConfirmPurchase,
                None,
                StepRequest {
                    selection: LineSelection::Lines(line_ids.clone()),
                    tracking: None,
                    expected_version: None,
                },
            )
            .await
            .result
            {
                Ok(_) => confirmed += line_ids.len() as u64,
                // Another replica or a customer got there first: nothing to do.
                Err(ServiceError::User(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
