//! Claims (취소·교환·반품): opening them on order lines and acting on them, exactly as the
//! transition table of `domain::claim` decides, with the refund priced by `domain::refund` in
//! the same transaction, under the order's lock.
//!
//! Every transition writes the claim, its units' effects and one timeline event in one
//! transaction; a refusal changes nothing.

use chrono::{DateTime, Duration, Utc};
use entity::{claim, claim_event, claim_item, order, order_line, refund, refund_part};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::App;
use crate::courier::PickupRequest;
use crate::domain::actor::{Actor, Role};
use crate::domain::claim::{
    decide, open, role_code, ClaimAction, ClaimFacts, ClaimStatus, ClaimType, Effect, Fault,
    HoldReason, HoldState, OpeningFacts, Reason, RefundFacts, Refusal, Settlement, ROLES,
};
use crate::domain::money::Won;
use crate::domain::order::{order_status, LineStatus, PaymentMethod};
use crate::domain::refund::{
    self as money, price_refund, route_cash, waive_fee, ClaimItem, ClaimKind, ClaimToPrice,
    CouponMoney, Deduction, DeductionKind, FeeDecision, GroupMoney, LineMoney, OrderLedger,
    Payment, PaymentBalance, PaymentRole, PricedRefund, Tenders,
};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::service::idempotency::{self, Answer, Keyed};
use crate::service::orders::{can_see_order, seller_scope};
use crate::service::policy::{self, PickedLine, PolicyFees, PolicyRequest};

/// How the goods come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionMethod {
    /// The seller's courier picks them up (방문 수거).
    Pickup,
    /// The customer ships them (직접 발송).
    CustomerShips,
}

impl CollectionMethod {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CollectionMethod::Pickup => "PICKUP",
            CollectionMethod::CustomerShips => "CUSTOMER_SHIPS",
        }
    }
}

/// Units of one line to claim.
#[derive(Debug, Clone)]
pub struct OpenItem {
    /// The line.
    pub line_id: i64,
    /// Units.
    pub quantity: i64,
    /// Exchanges: the option to send instead.
    pub replacement_option_id: Option<i64>,
}

/// A request to open a claim.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// `RequestCancel`, `SellerCancel`, `RequestReturn` or `RequestExchange`.
    pub action: ClaimAction,
    /// The order.
    pub order_number: String,
    /// The units.
    pub items: Vec<OpenItem>,
    /// Why.
    pub reason: Reason,
    /// The customer's words.
    pub memo: Option<String>,
    /// How the goods come back (returns and exchanges).
    pub collection_method: CollectionMethod,
}

/// The parameters an action on a claim may carry.
#[derive(Debug, Clone, Default)]
pub struct ActRequest {
    /// The claim.
    pub claim_number: String,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// `holdClaim`: why.
    pub hold_reason: Option<HoldReason>,
    /// A note for the timeline (and the hold).
    pub memo: Option<String>,
    /// Courier and tracking number (collection, reshipment, re-delivery).
    pub tracking: Option<(String, String)>,
    /// `completeReturn`: put the goods back in stock (default: not for DEFECTIVE).
    pub restock: Option<bool>,
    /// `approveClaim` of a cancel request: the seller has no stock (seller fault, no restock).
    pub out_of_stock: bool,
    /// `convertClaim` into an exchange: replacement option per line.
    pub replacements: Vec<(i64, i64)>,
    /// `resolveRefundManually`: the outside payment's reference.
    pub reference: Option<String>,
    /// `setRefundAccount`: bank, account number, holder.
    pub refund_account: Option<(String, String, String)>,
    /// `payClaimFee`: the amount paid (exactly the fee due).
    pub fee: Option<Won>,
}

/// What a claim mutation returns: the claim it touched (for a conversion, the new one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimChanged {
    /// The claim.
    pub claim_id: i64,
    /// The claim's row as the transaction left it, when the service has it (saves the
    /// payload a read); never stored with an idempotency key, so a replay reads it afresh.
    #[serde(skip)]
    pub claim: Option<claim::Model>,
}

impl ClaimChanged {
    /// The claim `claim_id`, its row not at hand.
    fn id(claim_id: i64) -> ClaimChanged {
        ClaimChanged {
            claim_id,
            claim: None,
        }
    }
}

fn refusal(r: Refusal) -> ServiceError {
    match r {
        Refusal::InconsistentFacts { .. } => ServiceError::Corrupt(r.to_string()),
        Refusal::NotAllowed { .. } => UserError::general(
            UserErrorCode::ClaimActionNotAllowed,
            strip_code(&r.to_string()),
        )
        .into(),
        Refusal::AlreadyHeld { .. } => {
            UserError::general(UserErrorCode::ClaimAlreadyHeld, strip_code(&r.to_string())).into()
        }
    }
}

/// The domain's messages start with their code; the payload carries the code separately.
fn strip_code(message: &str) -> String {
    message
        .split_once(": ")
        .map_or(message, |(_, rest)| rest)
        .to_owned()
}

fn parse<T>(value: &str, kind: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, ServiceError> {
    f(value).ok_or_else(|| ServiceError::Corrupt(format!("unknown {kind} `{value}`")))
}

/// The claim's hold as stored (also read by the GraphQL layer for `availableActions`).
pub fn stored_hold(c: &claim::Model) -> Result<HoldState, ServiceError> {
    let reason = || -> Result<HoldReason, ServiceError> {
        parse(
            c.hold_reason.as_deref().unwrap_or("OTHER"),
            "hold reason",
            HoldReason::parse,
        )
    };
    let by = || -> Result<Role, ServiceError> {
        parse(
            c.hold_by.as_deref().unwrap_or("SYSTEM"),
            "role",
            role_from_code,
        )
    };
    Ok(match c.hold_phase.as_str() {
        "HELD" => HoldState::Held {
            reason: reason()?,
            by: by()?,
        },
        "HOLD_PENDING" => HoldState::Pending {
            reason: reason()?,
            by: by()?,
        },
        _ => HoldState::None,
    })
}

/// The role stored under its code (`role_code`'s inverse).
pub fn role_from_code(code: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| role_code(*r) == code)
}

fn set_hold(set: &mut claim::ActiveModel, hold: HoldState, memo: Option<String>) {
    set.hold_phase = Set(hold.phase_str().to_owned());
    set.hold_reason = Set(hold.reason().map(|r| r.as_str().to_owned()));
    set.hold_by = Set(hold.placed_by().map(|r| role_code(r).to_owned()));
    if hold.is_some() {
        if memo.is_some() {
            set.hold_memo = Set(memo);
        }
    } else {
        set.hold_memo = Set(None);
    }
}

/// The order's refund ledger as stored (`money.md`), read under the order lock.
async fn load_ledger(
    db: &impl ConnectionTrait,
    o: &order::Model,
    lines: &[order_line::Model],
) -> Result<OrderLedger, ServiceError> {
    let groups = repo::orders::groups_of_orders(db, &[o.id], None).await?;
    // Only an order that took a coupon discount has a coupon row.
    let coupon = if o.coupon_amount > 0 {
        repo::orders::coupons_of_orders(db, &[o.id])
            .await?
            .into_iter()
            .next()
    } else {
        None
    };
    let method: PaymentMethod = o.payment_method.parse()?;
    Ok(OrderLedger {
        payment: match method {
            PaymentMethod::Card => Payment::Card,
            PaymentMethod::BankTransfer => Payment::BankTransfer {
                deposited: o.deposited_at.is_some(),
            },
        },
        lines: lines
            .iter()
            .map(|l| LineMoney {
                id: l.id,
                seller: l.seller_id,
                quantity: u32::try_from(l.quantity).unwrap_or(0),
                closed: u32::try_from(l.cancelled_quantity + l.returned_quantity).unwrap_or(0),
                net: Won::new(l.net),
                coupon: Won::new(l.coupon_share),
                points: Won::new(l.points_share),
                cash: Won::new(l.cash_share),
            })
            .collect(),
        groups: groups
            .iter()
            .map(|g| GroupMoney {
                seller: g.seller_id,
                base_fee: Won::new(g.base_fee),
                free_threshold: Won::new(g.free_threshold),
                return_fee: Won::new(g.return_fee),
                fee_at_checkout: Won::new(g.shipping_fee),
                ship_paid: Tenders {
                    cash: Won::new(g.ship_paid_cash),
                    points: Won::new(g.ship_paid_points),
                },
                free_broken_charged: g.free_broken_charged,
            })
            .collect(),
        coupon: coupon.map(|c| CouponMoney {
            amount: Won::new(c.amount),
            min_purchase: Won::new(c.min_purchase),
            clawed: c.clawed,
            claw_pool: Tenders {
                cash: Won::new(c.claw_pool_cash),
                points: Won::new(c.claw_pool_points),
            },
        }),
    })
}

/// The pricing input of a claim about to close its units.
fn to_price(c: &claim::Model, items: &[claim_item::Model], kind: ClaimKind) -> ClaimToPrice {
    ClaimToPrice {
        kind,
        items: items
            .iter()
            .map(|i| ClaimItem {
                line: i.line_id,
                quantity: u32::try_from(i.quantity).unwrap_or(0),
            })
            .collect(),
        credit: Won::new(c.fee_credit),
    }
}

fn fee_decision(c: &claim::Model, fault: Fault) -> FeeDecision {
    FeeDecision {
        fault,
        return_fee: Won::new(c.return_fee),
        initial_shipping: c.initial_shipping_applies,
        coupon_clawback: c.coupon_clawback_applies,
    }
}

fn settlement_of(p: &PricedRefund) -> Settlement {
    if p.fee_due.is_positive() {
        Settlement::FeeDue
    } else if p.cash.is_positive() {
        Settlement::Gateway
    } else {
        Settlement::InPlace
    }
}

#[derive(Serialize, Deserialize)]
struct StoredDeduction {
    kind: DeductionKind,
    amount: i64,
    from_cash: i64,
    from_points: i64,
    as_fee: i64,
}

fn store_deductions(ds: &[Deduction]) -> String {
    let stored: Vec<StoredDeduction> = ds
        .iter()
        .map(|d| StoredDeduction {
            kind: d.kind,
            amount: d.amount.amount(),
            from_cash: d.from_cash.amount(),
            from_points: d.from_points.amount(),
            as_fee: d.as_fee.amount(),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

/// The deductions of a stored refund.
pub fn stored_deductions(r: &refund::Model) -> Vec<(DeductionKind, Won)> {
    serde_json::from_str::<Vec<StoredDeduction>>(&r.deductions)
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.kind, Won::new(d.amount)))
        .collect()
}

/// Everything a transition needs, loaded under the order lock.
struct Loaded {
    order: order::Model,
    claim: claim::Model,
    items: Vec<claim_item::Model>,
    lines: Vec<order_line::Model>,
    parts: Vec<refund_part::Model>,
}

async fn load_claim_for(
    db: &impl ConnectionTrait,
    actor: Actor,
    number: &str,
) -> Result<Loaded, ServiceError> {
    let not_found = || UserError::not_found(&["claimNumber"], "claim");
    // Lock the order first, then read the claim: no other transaction moves it meanwhile.
    let (order, lines) = repo::orders::order_of_claim_with_lines(db, number)
        .await?
        .ok_or_else(not_found)?;
    let (c, items) = repo::claims::claim_with_items(db, number)
        .await?
        .ok_or_else(not_found)?;
    let visible = match actor {
        Actor::Customer(id) => c.customer_id == id,
        Actor::Seller(id) => c.seller_id == id,
        Actor::Operator | Actor::Analyst | Actor::System => true,
    };
    if !visible {
        return Err(not_found().into());
    }
    // Refund parts exist once a claim is priced (refunding, awaiting its fee, closed) or a fee
    // was paid on it; before that there is nothing to read.
    let priced = ClaimStatus::parse(&c.status)
        .is_none_or(|s| s.is_refunding() || s.awaits_fee() || s.is_terminal());
    let parts = if priced || c.fee_paid > 0 {
        repo::claims::parts_of_claims(db, &[c.id]).await?
    } else {
        Vec::new()
    };
    Ok(Loaded {
        order,
        claim: c,
        items,
        lines,
        parts,
    })
}

/// What the transition table asks about a stored claim: `decide` and `availableActions` read
/// the same facts. The settlement is the in-place one; a completing action prices its own.
pub fn facts_of(
    c: &claim::Model,
    parts: &[refund_part::Model],
) -> Result<ClaimFacts, ServiceError> {
    Ok(ClaimFacts {
        status: parse(&c.status, "claim status", ClaimStatus::parse)?,
        hold: stored_hold(c)?,
        carries_collection: c.carries_collection,
        rejected_from: c.rejected_from.as_deref().and_then(ClaimStatus::parse),
        refund: refund_facts(parts),
        settlement: Settlement::InPlace,
    })
}

/// What the table asks about a claim's refund parts (cash parts only; points never wait).
pub fn refund_facts(parts: &[refund_part::Model]) -> RefundFacts {
    let has = |s: &str| parts.iter().any(|p| p.method != "POINTS" && p.status == s);
    RefundFacts {
        failed: has("FAILED"),
        account_required: has("ACCOUNT_REQUIRED"),
        pending: has("PENDING"),
    }
}

/// Opens a claim on order lines (`requestCancel`, `sellerCancel`, `requestReturn`,
/// `requestExchange`).
pub async fn open_claim(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    req: OpenRequest,
) -> Answer<ClaimChanged> {
    idempotency::once(app, actor, key, async |txn| {
        open_claim_in(app, txn, actor, &req).await
    })
    .await
}

async fn open_claim_in(
    app: &App,
    txn: &DatabaseTransaction,
    actor: Actor,
    req: &OpenRequest,
) -> Result<ClaimChanged, ServiceError> {
    let role = actor.role();
    let now = app.clock.now();
    let order = repo::orders::order_by_number(txn, &req.order_number, true)
        .await?
        .ok_or_else(|| UserError::not_found(&["orderNumber"], "order"))?;
    if !can_see_order(txn, actor, &order).await? {
        return Err(UserError::not_found(&["orderNumber"], "order").into());
    }
    if req.items.is_empty() {
        return Err(ServiceError::BadInput(
            "a claim needs at least one item".into(),
        ));
    }
    let scope = seller_scope(actor);
    let lines = repo::orders::lines_of_orders(txn, &[order.id], None).await?;
    let mut chosen: Vec<(&order_line::Model, &OpenItem)> = Vec::new();
    for (i, item) in req.items.iter().enumerate() {
        let idx = i.to_string();
        let line = lines
            .iter()
            .find(|l| l.id == item.line_id && scope.is_none_or(|s| s == l.seller_id))
            .ok_or_else(|| UserError::not_found(&["items", &idx, "lineId"], "order line"))?;
        if chosen.iter().any(|(l, _)| l.id == line.id) {
            return Err(ServiceError::BadInput(format!(
                "line {} is named twice; give each line once with its quantity",
                line.line_no
            )));
        }
        if item.quantity < 1 {
            return Err(UserError::new(
                UserErrorCode::InvalidQuantity,
                &["items", &idx, "quantity"],
                "quantity must be at least 1",
            )
            .into());
        }
        let claimable = i64::from(
            line.quantity
                - line.cancelled_quantity
                - line.returned_quantity
                - line.claimed_quantity,
        );
        if item.quantity > claimable {
            return Err(UserError::new(
                UserErrorCode::NotEnoughUnits,
                &["items", &idx, "quantity"],
                format!(
                    "line {} has {claimable} claimable units ({} in open claims); {} asked",
                    line.line_no, line.claimed_quantity, item.quantity
                ),
            )
            .into());
        }
        chosen.push((line, item));
    }
    let seller_id = chosen[0].0.seller_id;
    if chosen.iter().any(|(l, _)| l.seller_id != seller_id) {
        return Err(UserError::new(
            UserErrorCode::ClaimNotAllowed,
            &["items"],
            "one claim covers one seller's lines: make one claim per seller",
        )
        .into());
    }
    let line_status: LineStatus = chosen[0].0.status.parse()?;
    if chosen.iter().any(|(l, _)| l.status != chosen[0].0.status) {
        return Err(UserError::new(
            UserErrorCode::ClaimNotAllowed,
            &["items"],
            "the lines of one claim must be in the same status; claim them separately",
        )
        .into());
    }
    let claim_type = match req.action {
        ClaimAction::RequestCancel | ClaimAction::SellerCancel => ClaimType::Cancel,
        ClaimAction::RequestReturn => ClaimType::Return,
        _ => ClaimType::Exchange,
    };
    let picked: Vec<PickedLine<'_>> = chosen
        .iter()
        .map(|(l, i)| PickedLine {
            line: l,
            quantity: u32::try_from(i.quantity).unwrap_or(0),
            replacement_option_id: i.replacement_option_id,
        })
        .collect();
    // A cancel's fault is fixed (money.md); returns and exchanges ask the seller's policy.
    let fees = match req.action {
        ClaimAction::RequestCancel => PolicyFees::cancel(Fault::Customer),
        ClaimAction::SellerCancel => PolicyFees::cancel(Fault::Seller),
        _ => {
            policy::decide(
                app,
                txn,
                PolicyRequest {
                    order: &order,
                    seller_id,
                    claim_type,
                    reason: req.reason,
                    memo: req.memo.as_deref(),
                    method: req.collection_method,
                    picked: &picked,
                    lines: &lines,
                    now,
                    check_window: true,
                },
            )
            .await?
        }
    };
    let fault = fees.fault();
    let return_fee = fees.decision.return_fee;
    let exchange_fee = fees.decision.exchange_fee;
    let decision = fees.recorded.clone();
    let existing = repo::claims::claims_of_orders(txn, &[order.id], None)
        .await?
        .len();
    let mut row = claim::Model {
        id: 0,
        claim_number: format!("{}-C{}", order.order_number, existing + 1),
        order_id: order.id,
        seller_id,
        customer_id: order.customer_id,
        claim_type: claim_type.as_str().to_owned(),
        status: String::new(),
        reason: req.reason.as_str().to_owned(),
        memo: req.memo.clone(),
        fault: fault.as_str().to_owned(),
        hold_phase: "NONE".into(),
        hold_reason: None,
        hold_by: None,
        hold_memo: None,
        carries_collection: false,
        rejected_from: None,
        rejection_code: None,
        collection_method: req.collection_method.as_str().to_owned(),
        collection_courier: None,
        collection_tracking: None,
        reship_courier: None,
        reship_tracking: None,
        redelivery_courier: None,
        redelivery_tracking: None,
        converted_from_id: None,
        converted_to_id: None,
        policy_decision: decision.to_string(),
        return_fee,
        initial_shipping_applies: fees.decision.initial_shipping,
        coupon_clawback_applies: fees.decision.coupon_clawback,
        exchange_fee,
        fee_paid: 0,
        fee_credit: 0,
        restock: None,
        requested_by: role_code(role).to_owned(),
        requested_at: now,
        updated_at: now,
        closed_at: None,
        version: 1,
    };
    let items: Vec<claim_item::Model> = chosen
        .iter()
        .map(|(l, i)| claim_item::Model {
            id: 0,
            claim_id: 0,
            line_id: l.id,
            quantity: i32::try_from(i.quantity).unwrap_or(i32::MAX),
            replacement_option_id: i.replacement_option_id,
        })
        .collect();
    // Only a cancel is priced when it opens.
    let priced = if claim_type == ClaimType::Cancel {
        let ledger = load_ledger(txn, &order, &lines).await?;
        let mut p = price_refund(
            &ledger,
            &to_price(&row, &items, ClaimKind::Cancel { fault }),
        )
        .map_err(|e| ServiceError::Corrupt(e.to_string()))?;
        p.effect = ledger.changes_of(p.effect);
        Some(p)
    } else {
        None
    };
    let opening = open(
        &OpeningFacts {
            line: line_status,
            reason: req.reason,
            fault,
            settlement: priced.as_ref().map_or(Settlement::InPlace, settlement_of),
            fee_above_zero: exchange_fee > 0,
        },
        req.action,
        role,
    )
    .map_err(|e| {
        ServiceError::User(UserError::general(
            UserErrorCode::ClaimNotAllowed,
            strip_code(&e.to_string()),
        ))
    })?;

    if claim_type == ClaimType::Exchange {
        reserve_replacements(txn, &chosen).await?;
    }
    row.status = opening.status.as_str().to_owned();
    row.closed_at = opening.status.is_terminal().then_some(now);
    let mut active = claim::ActiveModel::from(row.clone());
    active.id = sea_orm::ActiveValue::NotSet;
    set_hold(&mut active, opening.hold, None);
    let claim_id = repo::claims::insert_claim(txn, active.clone()).await?;
    active.id = Set(claim_id);
    let row = sea_orm::TryIntoModel::try_into_model(active)
        .map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    fees.record(app, txn, claim_id, now).await?;
    let item_rows: Vec<claim_item::ActiveModel> = items
        .iter()
        .map(|i| claim_item::ActiveModel {
            claim_id: Set(claim_id),
            line_id: Set(i.line_id),
            quantity: Set(i.quantity),
            replacement_option_id: Set(i.replacement_option_id),
            ..Default::default()
        })
        .collect();
    repo::claims::insert_items(txn, item_rows).await?;
    // The items as inserted (their ids are not needed below).
    let items: Vec<claim_item::Model> = items
        .into_iter()
        .map(|i| claim_item::Model { claim_id, ..i })
        .collect();

    let closes = opening.effects.contains(&Effect::Refund);
    let mut line_changes = Vec::new();
    for item in &items {
        if !closes {
            repo::claims::adjust_line(txn, item.line_id, item.quantity, 0, 0, None).await?;
        }
    }
    let mut payload = json!({ "reason": req.reason.as_str(), "fault": fault.as_str() });
    for effect in opening.effects {
        match effect {
            Effect::Refund => {
                if let Some(p) = &priced {
                    line_changes =
                        persist_refund(txn, &order, &row, &items, &lines, p, false, now).await?;
                }
            }
            Effect::Restock => restock(txn, &items, &lines).await?,
            Effect::DecidePolicy => payload["policyDecision"] = decision.clone(),
            Effect::ReserveReplacement | Effect::HoldWhileFeeUnpaid => {}
            other => {
                return Err(ServiceError::Corrupt(format!(
                    "opening effect {} not expected",
                    other.as_str()
                )))
            }
        }
    }
    payload["hold"] = json!(opening.hold.phase_str());
    payload["holdReason"] = json!(opening.hold.reason().map(|r| r.as_str()));
    if let Some(m) = &req.memo {
        payload["memo"] = json!(m);
    }
    write_event(
        txn,
        claim_id,
        1,
        actor,
        req.action,
        None,
        opening.status,
        payload,
        now,
    )
    .await?;
    set_order_status(txn, order.id, &lines, &line_changes, now).await?;
    tracing::info!(claim = %row.claim_number, status = opening.status.as_str(), "claim opened");
    Ok(ClaimChanged {
        claim_id,
        claim: Some(row),
    })
}

async fn reserve_replacements(
    db: &impl ConnectionTrait,
    chosen: &[(&order_line::Model, &OpenItem)],
) -> Result<(), ServiceError> {
    for (i, (line, item)) in chosen.iter().enumerate() {
        let idx = i.to_string();
        let option_id = item.replacement_option_id.ok_or_else(|| {
            UserError::new(
                UserErrorCode::InvalidQuantity,
                &["items", &idx, "replacementOptionId"],
                "an exchange names the replacement option of every line",
            )
        })?;
        let found = repo::catalog::options_with_products(db, &[option_id]).await?;
        let replacement = found.get(&option_id).ok_or_else(|| {
            UserError::new(
                UserErrorCode::UnknownOption,
                &["items", &idx, "replacementOptionId"],
                format!("product option {option_id} does not exist"),
            )
        })?;
        if replacement.product.id != line.product_id {
            return Err(UserError::new(UserErrorCode::ClaimNotAllowed, &["items", &idx, "replacementOptionId"], "the replacement must be another option of the same product; return it and order anew").into());
        }
        if replacement.option.price != line.unit_price {
            return Err(UserError::new(
                UserErrorCode::PriceDifferenceNotSupported,
                &["items", &idx, "replacementOptionId"],
                format!(
                    "the replacement costs {} and the original {}; return it and order anew",
                    Won::new(replacement.option.price),
                    Won::new(line.unit_price)
                ),
            )
            .into());
        }
        if !repo::catalog::take_stock(db, option_id, item.quantity).await? {
            return Err(UserError::new(
                UserErrorCode::OutOfStock,
                &["items", &idx, "replacementOptionId"],
                format!("option {option_id} has not enough stock for the replacement"),
            )
            .into());
        }
    }
    Ok(())
}

async fn restock(
    db: &impl ConnectionTrait,
    items: &[claim_item::Model],
    lines: &[order_line::Model],
) -> Result<(), ServiceError> {
    for item in items {
        if let Some(line) = lines.iter().find(|l| l.id == item.line_id) {
            repo::claims::add_stock(db, line.option_id, i64::from(item.quantity)).await?;
        }
    }
    Ok(())
}

async fn release_replacements(
    db: &impl ConnectionTrait,
    items: &[claim_item::Model],
) -> Result<(), ServiceError> {
    for item in items {
        if let Some(option) = item.replacement_option_id {
            repo::claims::add_stock(db, option, i64::from(item.quantity)).await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn write_event(
    db: &impl ConnectionTrait,
    claim_id: i64,
    version: i32,
    actor: Actor,
    action: ClaimAction,
    from: Option<ClaimStatus>,
    to: ClaimStatus,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let actor_id = match actor {
        Actor::Customer(id) | Actor::Seller(id) => Some(id),
        Actor::Operator | Actor::Analyst | Actor::System => None,
    };
    repo::claims::insert_event(
        db,
        claim_event::ActiveModel {
            claim_id: Set(claim_id),
            version: Set(version),
            actor_role: Set(role_code(actor.role()).to_owned()),
            actor_id: Set(actor_id),
            action: Set(action.as_str().to_owned()),
            from_status: Set(from.map(|s| s.as_str().to_owned())),
            to_status: Set(to.as_str().to_owned()),
            payload: Set(payload.to_string()),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    // The outbox message commits (or rolls back) with the transition.
    crate::outbox::record_claim(
        db,
        &crate::outbox::ClaimTransition {
            claim_id,
            version,
            action,
            actor: role_code(actor.role()),
            from,
            to,
            details: &payload,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Sets the order's status from its lines' statuses: `lines` as this transaction read them,
/// with the statuses it has changed since (`changes`, by line id) applied.
async fn set_order_status(
    db: &impl ConnectionTrait,
    order_id: i64,
    lines: &[order_line::Model],
    changes: &[(i64, LineStatus)],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let statuses = lines
        .iter()
        .map(|l| match changes.iter().rev().find(|(id, _)| *id == l.id) {
            Some((_, s)) => Ok(*s),
            None => l.status.parse::<LineStatus>(),
        })
        .collect::<Result<Vec<_>, _>>()?;
    repo::orders::update_order(
        db,
        order_id,
        order::ActiveModel {
            status: Set(order_status(statuses).as_str().to_owned()),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(())
}

/// Stores a priced refund with the claim's units closed: the refund row, the ledger, points
/// restored, cash parts routed to payments (PENDING, or ACCOUNT_REQUIRED for a bank transfer
/// without a refund account), or the amount due lowered before a deposit.
#[allow(clippy::too_many_arguments)]
async fn persist_refund(
    db: &impl ConnectionTrait,
    order: &order::Model,
    c: &claim::Model,
    items: &[claim_item::Model],
    lines: &[order_line::Model],
    p: &PricedRefund,
    were_claimed: bool,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, LineStatus)>, ServiceError> {
    let mut line_changes = Vec::new();
    let refund_id = repo::claims::insert_refund(
        db,
        refund::ActiveModel {
            claim_id: Set(c.id),
            order_id: Set(order.id),
            items_cash: Set(p.items.cash.amount()),
            items_points: Set(p.items.points.amount()),
            shipping_refund_cash: Set(p.shipping_refund.cash.amount()),
            shipping_refund_points: Set(p.shipping_refund.points.amount()),
            clawback_returned_cash: Set(p.clawback_returned.cash.amount()),
            clawback_returned_points: Set(p.clawback_returned.points.amount()),
            credit: Set(p.credit.amount()),
            deductions: Set(store_deductions(&p.deductions)),
            fee_due: Set(p.fee_due.amount()),
            cash: Set(p.cash.amount()),
            points: Set(p.points.amount()),
            due_reduced: Set(p.due_reduced.amount()),
            coupon_restored: Set(p.coupon_restored),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    // Close the units.
    let cancel = c.claim_type == ClaimType::Cancel.as_str();
    for item in items {
        let Some(line) = lines.iter().find(|l| l.id == item.line_id) else {
            continue;
        };
        let k = item.quantity;
        let (cancelled, returned) = if cancel { (k, 0) } else { (0, k) };
        let active_after = line.quantity - line.cancelled_quantity - line.returned_quantity - k;
        let status = (active_after == 0).then(|| {
            if line.returned_quantity + returned > 0 {
                LineStatus::Returned
            } else {
                LineStatus::Cancelled
            }
        });
        repo::claims::adjust_line(
            db,
            line.id,
            if were_claimed { -k } else { 0 },
            cancelled,
            returned,
            status.map(|s| s.as_str()),
        )
        .await?;
        line_changes.extend(status.map(|s| (line.id, s)));
    }
    store_ledger(db, order.id, &p.effect).await?;
    if p.coupon_restored {
        repo::claims::mark_coupon_restored(db, order.id).await?;
    }
    let part = |method: &str, tender: Option<i64>, amount: Won, status: &str, suffix: &str| {
        refund_part::ActiveModel {
            refund_id: Set(refund_id),
            claim_id: Set(c.id),
            tender_id: Set(tender),
            method: Set(method.to_owned()),
            amount: Set(amount.amount()),
            status: Set(status.to_owned()),
            idempotency_key: Set(format!("{}-{suffix}", c.claim_number)),
            gateway_reference: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(Some(now)),
            manual: Set(false),
            memo: Set(None),
            updated_at: Set(now),
            ..Default::default()
        }
    };
    if p.points.is_positive() {
        repo::claims::restore_points(db, order.customer_id, order.id, p.points.amount(), now)
            .await?;
        // Counted on the order's points tender: its CHECK keeps restored ≤ used.
        let tenders = repo::orders::tenders_of_orders(db, &[order.id]).await?;
        let points_tender = tenders.iter().find(|t| t.method == "POINTS").map(|t| t.id);
        let Some(points_tender) = points_tender else {
            return Err(ServiceError::Corrupt(format!(
                "order {} restores points it never used",
                order.order_number
            )));
        };
        repo::claims::add_refunded(db, points_tender, p.points.amount()).await?;
        repo::claims::insert_part(
            db,
            part(
                "POINTS",
                Some(points_tender),
                p.points,
                "SUCCEEDED",
                "points",
            ),
        )
        .await?;
    }
    if p.due_reduced.is_positive() {
        repo::claims::reduce_amount_due(db, order.id, p.due_reduced.amount()).await?;
    }
    if p.cash.is_positive() {
        let tenders = repo::orders::tenders_of_orders(db, &[order.id]).await?;
        let balances: Vec<PaymentBalance> = tenders
            .iter()
            .filter(|t| t.method != "POINTS" && t.status == "PAID")
            .map(|t| PaymentBalance {
                id: t.id,
                role: if t.claim_id.is_some() {
                    PaymentRole::Fee
                } else {
                    PaymentRole::Order
                },
                paid: Won::new(t.amount),
                refunded: Won::new(t.refunded_amount),
                created: t.id,
            })
            .collect();
        let routed =
            route_cash(p.cash, &balances).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
        // Only a bank transfer's refund needs the customer's account.
        let to_transfer = routed.iter().any(|cash| {
            tenders
                .iter()
                .any(|t| t.id == cash.payment && t.method == "BANK_TRANSFER")
        });
        let has_account = to_transfer
            && repo::catalog::customers_by_ids(db, &[order.customer_id])
                .await?
                .into_iter()
                .next()
                .is_some_and(|cu| cu.refund_account_number.is_some());
        for cash in routed {
            let tender = tenders.iter().find(|t| t.id == cash.payment);
            let method = tender.map_or("CARD", |t| t.method.as_str());
            let status = if method == "BANK_TRANSFER" && !has_account {
                "ACCOUNT_REQUIRED"
            } else {
                "PENDING"
            };
            repo::claims::add_refunded(db, cash.payment, cash.amount.amount()).await?;
            repo::claims::insert_part(
                db,
                part(
                    method,
                    Some(cash.payment),
                    cash.amount,
                    status,
                    &format!("pay{}", cash.payment),
                ),
            )
            .await?;
        }
    }
    Ok(line_changes)
}

/// Takes `action` on a claim, as the transition table decides.
pub async fn act(
    app: &App,
    actor: Actor,
    action: ClaimAction,
    key: Option<Keyed>,
    req: ActRequest,
) -> Answer<ClaimChanged> {
    idempotency::once(app, actor, key, async |txn| {
        act_in(app, txn, actor, action, &req, app.clock.now()).await
    })
    .await
}

/// [`act`] inside a transaction the caller owns (shipping over a cancel request).
pub(crate) async fn act_in(
    app: &App,
    db: &impl ConnectionTrait,
    actor: Actor,
    action: ClaimAction,
    req: &ActRequest,
    now: DateTime<Utc>,
) -> Result<ClaimChanged, ServiceError> {
    let role = actor.role();
    let Loaded {
        order,
        claim: c,
        items,
        lines,
        parts,
    } = load_claim_for(db, actor, &req.claim_number).await?;
    if let Some(v) = req.expected_version {
        if v != c.version {
            return Err(UserError::new(
                UserErrorCode::StaleVersion,
                &["expectedVersion"],
                format!(
                    "claim {} is at version {}, not {v}; reload it and try again",
                    c.claim_number, c.version
                ),
            )
            .into());
        }
    }
    let status = parse(&c.status, "claim status", ClaimStatus::parse)?;
    let claim_type = status.claim_type();
    let reason = parse(&c.reason, "reason", Reason::parse)?;
    let mut fault = parse(&c.fault, "fault", |f| {
        Fault::ALL.into_iter().find(|x| x.as_str() == f)
    })?;
    let hold = stored_hold(&c)?;
    if action == ClaimAction::HoldClaim && req.hold_reason.is_some_and(|r| r.is_fee_hold()) {
        return Err(ServiceError::BadInput(
            "RETURN_FEE_UNPAID holds are placed by the SYSTEM only".into(),
        ));
    }
    if action == ClaimAction::Approve && req.out_of_stock {
        fault = Fault::Seller;
    }
    // Completing actions price the refund first: how it settles picks the next status.
    let kind = match (claim_type, action) {
        (ClaimType::Cancel, _) => Some(ClaimKind::Cancel { fault }),
        (ClaimType::Return, ClaimAction::CompleteReturn) => Some(ClaimKind::Return {
            fees: fee_decision(&c, fault),
        }),
        (ClaimType::Exchange, ClaimAction::RefundExchange) => Some(ClaimKind::ExchangeRefund),
        _ => None,
    };
    let closing = matches!(
        (claim_type, action),
        (ClaimType::Cancel, ClaimAction::Approve)
            | (ClaimType::Return, ClaimAction::CompleteReturn)
            | (ClaimType::Exchange, ClaimAction::RefundExchange)
    );
    let mut facts = facts_of(&c, &parts)?;
    let priced = match kind.filter(|_| closing) {
        Some(kind) => {
            // Refuse what the table refuses before pricing: a claim another request has
            // just closed has no units left to price.
            decide(&facts, action, role).map_err(refusal)?;
            let ledger = load_ledger(db, &order, &lines).await?;
            let mut input = to_price(&c, &items, kind);
            if action == ClaimAction::RefundExchange {
                input.credit = Won::new(c.fee_paid);
            }
            let mut p =
                price_refund(&ledger, &input).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
            p.effect = ledger.changes_of(p.effect);
            Some(p)
        }
        None => None,
    };
    facts.settlement = priced.as_ref().map_or(Settlement::InPlace, settlement_of);
    let transition = decide(&facts, action, role).map_err(refusal)?;
    let new_hold = transition.hold_after(hold, req.hold_reason, role);

    let mut set = claim::ActiveModel {
        status: Set(transition.to.as_str().to_owned()),
        updated_at: Set(now),
        ..Default::default()
    };
    set.fault = Set(fault.as_str().to_owned());
    set_hold(&mut set, new_hold, req.memo.clone());
    if transition.to.is_reject_pending() {
        set.rejected_from = Set(Some(status.as_str().to_owned()));
    }
    if transition.to.is_terminal() {
        set.closed_at = Set(Some(now));
    }
    let mut payload = json!({});
    if let Some(m) = &req.memo {
        payload["memo"] = json!(m);
    }
    let mut result_claim = c.id;
    let mut line_changes = Vec::new();
    let tracking = |what: &str| {
        req.tracking.clone().ok_or_else(|| {
            ServiceError::BadInput(format!(
                "{} needs a courier and a tracking number ({what})",
                action.mutation_name()
            ))
        })
    };
    for effect in transition.effects {
        match effect {
            Effect::Refund => {
                if let Some(p) = &priced {
                    line_changes =
                        persist_refund(db, &order, &c, &items, &lines, p, true, now).await?;
                    payload["refund"] =
                        json!({"cash": p.cash, "points": p.points, "feeDue": p.fee_due});
                }
            }
            Effect::Restock => restock(db, &items, &lines).await?,
            Effect::RestockUnlessOutOfStock => {
                if !req.out_of_stock {
                    restock(db, &items, &lines).await?;
                }
            }
            Effect::RestockUnlessDefective => {
                let back = req.restock.unwrap_or(reason != Reason::Defective);
                set.restock = Set(Some(back));
                if back {
                    restock(db, &items, &lines).await?;
                }
            }
            Effect::BookPickup => {
                if c.collection_method == CollectionMethod::Pickup.as_str() {
                    // Keyed by claim and version: a retried approval books once.
                    let booking = app
                        .courier
                        .book_pickup(PickupRequest {
                            idempotency_key: format!("{}-v{}", c.claim_number, c.version),
                            claim_number: c.claim_number.clone(),
                            order_number: order.order_number.clone(),
                        })
                        .await
                        .map_err(|e| {
                            UserError::general(
                                UserErrorCode::CourierUnavailable,
                                format!("{e}; try again, or let the customer ship the goods"),
                            )
                        })?;
                    set.collection_courier = Set(Some(booking.courier));
                    set.collection_tracking = Set(Some(booking.tracking_number));
                    payload["pickup"] = json!("booked");
                } else {
                    payload["pickup"] = json!("customer ships to the seller's return address");
                }
            }
            Effect::CancelPickup => {
                set.collection_courier = Set(None);
                set.collection_tracking = Set(None);
            }
            Effect::RecordCollection => {
                let (courier, number) = tracking("the collection")?;
                set.collection_courier = Set(Some(courier));
                set.collection_tracking = Set(Some(number));
            }
            Effect::ReDeliver => {
                if let Some((courier, number)) = req.tracking.clone() {
                    set.redelivery_courier = Set(Some(courier));
                    set.redelivery_tracking = Set(Some(number));
                }
            }
            Effect::ReleaseReservation => release_replacements(db, &items).await?,
            Effect::ConsumeReplacement => {
                let (courier, number) = tracking("the replacement")?;
                set.reship_courier = Set(Some(courier));
                set.reship_tracking = Set(Some(number));
            }
            Effect::ShipAnotherReplacement => {
                let (courier, number) = tracking("the new replacement")?;
                for item in &items {
                    if let Some(option) = item.replacement_option_id {
                        if !repo::catalog::take_stock(db, option, i64::from(item.quantity)).await? {
                            return Err(UserError::general(UserErrorCode::OutOfStock, format!("option {option} has no stock for another replacement; use refundExchange")).into());
                        }
                    }
                }
                set.reship_courier = Set(Some(courier));
                set.reship_tracking = Set(Some(number));
            }
            Effect::WriteOffShippedReplacement => payload["writtenOff"] = json!(true),
            Effect::RecordRejection(code) => {
                set.rejection_code = Set(Some(code.as_str().to_owned()))
            }
            Effect::WaiveFee => {
                if status == ClaimStatus::ReturnAwaitingFee {
                    waive_return_fee(db, &c).await?;
                } else {
                    set.exchange_fee = Set(c.fee_paid);
                }
                payload["waived"] = json!(true);
            }
            Effect::RefundPaidFee => {
                if c.fee_paid > 0 {
                    refund_paid_fee(db, &order, &c, now).await?;
                    payload["feeRefunded"] = json!(c.fee_paid);
                }
            }
            // The new claim of a conversion takes the credit (`open_converted`).
            Effect::CreditPaidFee => {}
            Effect::RecordFeePayment => {
                let paid =
                    record_fee_payment(app, db, &order, &lines, &c, status, req.fee, now).await?;
                set.fee_paid = Set(c.fee_paid + paid.amount());
                payload["feePaid"] = json!(paid);
            }
            Effect::OpenConverted(target) => {
                let new_id =
                    open_converted(app, db, actor, &order, &c, &items, &lines, target, req, now)
                        .await?;
                set.converted_to_id = Set(Some(new_id));
                payload["convertedTo"] = json!(new_id);
                result_claim = new_id;
            }
            Effect::RetryFailedParts => {
                repo::claims::update_parts_in_status(
                    db,
                    c.id,
                    "FAILED",
                    refund_part::ActiveModel {
                        status: Set("PENDING".into()),
                        attempts: Set(0),
                        next_attempt_at: Set(Some(now)),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
                .await?;
            }
            Effect::MarkFailedPartsManual => {
                let reference = req.reference.clone().ok_or_else(|| {
                    ServiceError::BadInput(
                        "resolveRefundManually needs the outside payment's reference".into(),
                    )
                })?;
                repo::claims::update_parts_in_status(
                    db,
                    c.id,
                    "FAILED",
                    refund_part::ActiveModel {
                        status: Set("SUCCEEDED".into()),
                        manual: Set(true),
                        gateway_reference: Set(Some(reference)),
                        memo: Set(req.memo.clone()),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
                .await?;
            }
            Effect::RetryAccountRequiredParts => {
                let (bank, number, holder) = req.refund_account.clone().ok_or_else(|| {
                    ServiceError::BadInput(
                        "setRefundAccount needs bank, accountNumber and holder".into(),
                    )
                })?;
                repo::catalog::set_refund_account(db, c.customer_id, bank, number, holder).await?;
                repo::claims::update_parts_in_status(
                    db,
                    c.id,
                    "ACCOUNT_REQUIRED",
                    refund_part::ActiveModel {
                        status: Set("PENDING".into()),
                        next_attempt_at: Set(Some(now)),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
                .await?;
            }
            Effect::DecidePolicy | Effect::ReserveReplacement | Effect::HoldWhileFeeUnpaid => {
                return Err(ServiceError::Corrupt(format!(
                    "effect {} is not available on {}",
                    effect.as_str(),
                    action.mutation_name()
                )));
            }
        }
    }
    // Units leave the open claim when it ends without closing them (withdrawn, rejected,
    // converted into a new claim that takes them over, exchanged).
    let closed_by_refund = transition.effects.contains(&Effect::Refund);
    // Refunding and awaiting-fee claims closed their units when they were priced.
    let units_closed = status.is_refunding() || status.awaits_fee();
    let leaves =
        transition.to.is_terminal() && !closed_by_refund && !status.is_terminal() && !units_closed;
    let converted = transition
        .effects
        .iter()
        .any(|e| matches!(e, Effect::OpenConverted(_)));
    if leaves && !converted {
        for item in &items {
            repo::claims::adjust_line(db, item.line_id, -item.quantity, 0, 0, None).await?;
        }
    }
    // What notifications need to word the change (the outbox message copies these keys).
    let after = |v: &sea_orm::ActiveValue<Option<String>>, before: &Option<String>| match v {
        sea_orm::ActiveValue::Set(x) | sea_orm::ActiveValue::Unchanged(x) => x.clone(),
        sea_orm::ActiveValue::NotSet => before.clone(),
    };
    payload["hold"] = json!(match &set.hold_phase {
        sea_orm::ActiveValue::Set(x) | sea_orm::ActiveValue::Unchanged(x) => x.clone(),
        sea_orm::ActiveValue::NotSet => c.hold_phase.clone(),
    });
    payload["holdReason"] = json!(after(&set.hold_reason, &c.hold_reason));
    payload["reason"] = json!(c.reason);
    let Some(updated) = repo::claims::update_claim(db, c.id, c.version, set).await? else {
        return Err(UserError::general(
            UserErrorCode::ClaimConflict,
            "the claim changed while this request ran; reload it and try again",
        )
        .into());
    };
    write_event(
        db,
        c.id,
        c.version + 1,
        actor,
        action,
        Some(status),
        transition.to,
        payload,
        now,
    )
    .await?;
    set_order_status(db, order.id, &lines, &line_changes, now).await?;
    Ok(ClaimChanged {
        claim_id: result_claim,
        // A conversion answers with the new claim, which the payload reads.
        claim: (result_claim == c.id).then_some(updated),
    })
}

async fn waive_return_fee(db: &impl ConnectionTrait, c: &claim::Model) -> Result<(), ServiceError> {
    let Some(r) = repo::claims::refunds_of_claims(db, &[c.id])
        .await?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let priced = stored_priced(c, &r);
    let settled = waive_fee(&priced).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    repo::claims::update_refund_deductions(db, r.id, store_deductions(&settled.deductions)).await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn open_converted(
    app: &App,
    db: &impl ConnectionTrait,
    actor: Actor,
    order: &order::Model,
    c: &claim::Model,
    items: &[claim_item::Model],
    lines: &[order_line::Model],
    target: &crate::domain::claim::ConvertedClaim,
    req: &ActRequest,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let new_type = target.status.claim_type();
    let reason = parse(&c.reason, "reason", Reason::parse)?;
    let existing = repo::claims::claims_of_orders(db, &[c.order_id], None)
        .await?
        .len();
    let mut new_items = Vec::with_capacity(items.len());
    for item in items {
        let replacement = if new_type == ClaimType::Exchange {
            Some(
                req.replacements
                    .iter()
                    .find(|(l, _)| *l == item.line_id)
                    .map(|(_, o)| *o)
                    .ok_or_else(|| {
                        ServiceError::BadInput(
                            "converting into an exchange names a replacement option for every line"
                                .into(),
                        )
                    })?,
            )
        } else {
            None
        };
        new_items.push((item.line_id, item.quantity, replacement));
    }
    if new_type == ClaimType::Exchange {
        let open_items: Vec<OpenItem> = new_items
            .iter()
            .map(|(l, q, r)| OpenItem {
                line_id: *l,
                quantity: i64::from(*q),
                replacement_option_id: *r,
            })
            .collect();
        let chosen: Vec<(&order_line::Model, &OpenItem)> = open_items
            .iter()
            .filter_map(|i| lines.iter().find(|l| l.id == i.line_id).map(|l| (l, i)))
            .collect();
        reserve_replacements(db, &chosen).await?;
    }
    // Fees and fault afresh for the new claim; the window was the original's.
    let picked: Vec<PickedLine<'_>> = new_items
        .iter()
        .filter_map(|(line_id, quantity, replacement)| {
            let line = lines.iter().find(|l| l.id == *line_id)?;
            Some(PickedLine {
                line,
                quantity: u32::try_from(*quantity).unwrap_or(0),
                replacement_option_id: *replacement,
            })
        })
        .collect();
    let method = if c.collection_method == CollectionMethod::Pickup.as_str() {
        CollectionMethod::Pickup
    } else {
        CollectionMethod::CustomerShips
    };
    let fees = policy::decide(
        app,
        db,
        PolicyRequest {
            order,
            seller_id: c.seller_id,
            claim_type: new_type,
            reason,
            memo: c.memo.as_deref(),
            method,
            picked: &picked,
            lines,
            now,
            check_window: false,
        },
    )
    .await?;
    let fault = fees.fault();
    let exchange_fee = fees.decision.exchange_fee;
    let hold = crate::domain::claim::opening_hold(target.effects, exchange_fee > 0);
    let decision = fees.recorded.clone();
    let mut row = claim::ActiveModel {
        claim_number: Set(format!(
            "{}-C{}",
            c.claim_number
                .rsplit_once("-C")
                .map_or(c.claim_number.as_str(), |(o, _)| o),
            existing + 1
        )),
        order_id: Set(c.order_id),
        seller_id: Set(c.seller_id),
        customer_id: Set(c.customer_id),
        claim_type: Set(new_type.as_str().to_owned()),
        status: Set(target.status.as_str().to_owned()),
        reason: Set(c.reason.clone()),
        memo: Set(c.memo.clone()),
        fault: Set(fault.as_str().to_owned()),
        carries_collection: Set(target.carries_collection),
        rejected_from: Set(None),
        rejection_code: Set(None),
        collection_method: Set(c.collection_method.clone()),
        collection_courier: Set(if target.carries_collection {
            c.collection_courier.clone()
        } else {
            None
        }),
        collection_tracking: Set(if target.carries_collection {
            c.collection_tracking.clone()
        } else {
            None
        }),
        reship_courier: Set(None),
        reship_tracking: Set(None),
        redelivery_courier: Set(None),
        redelivery_tracking: Set(None),
        converted_from_id: Set(Some(c.id)),
        converted_to_id: Set(None),
        policy_decision: Set(decision.to_string()),
        return_fee: Set(fees.decision.return_fee),
        initial_shipping_applies: Set(fees.decision.initial_shipping),
        coupon_clawback_applies: Set(fees.decision.coupon_clawback),
        exchange_fee: Set(exchange_fee),
        fee_paid: Set(0),
        fee_credit: Set(if target.effects.contains(&Effect::CreditPaidFee) {
            c.fee_paid
        } else {
            0
        }),
        restock: Set(None),
        requested_by: Set(role_code(actor.role()).to_owned()),
        requested_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(None),
        version: Set(1),
        ..Default::default()
    };
    set_hold(&mut row, hold, None);
    let new_id = repo::claims::insert_claim(db, row).await?;
    fees.record(app, db, new_id, now).await?;
    repo::claims::insert_items(
        db,
        new_items
            .iter()
            .map(|(l, q, r)| claim_item::ActiveModel {
                claim_id: Set(new_id),
                line_id: Set(*l),
                quantity: Set(*q),
                replacement_option_id: Set(*r),
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    let action = if new_type == ClaimType::Exchange {
        ClaimAction::ConvertToExchange
    } else {
        ClaimAction::ConvertToReturn
    };
    write_event(
        db,
        new_id,
        1,
        actor,
        action,
        None,
        target.status,
        json!({"convertedFrom": c.claim_number, "policyDecision": decision}),
        now,
    )
    .await?;
    Ok(new_id)
}

/// Claims that need the gateway's answer: every cash part succeeded, the claim still refunding.
pub async fn complete_refunded(app: &App, claim_id: i64) -> Result<(), ServiceError> {
    let Some(c) = repo::claims::claims_by_ids(app.db.conn(), &[claim_id])
        .await?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let status = parse(&c.status, "claim status", ClaimStatus::parse)?;
    if !status.is_refunding() {
        return Ok(());
    }
    let parts = repo::claims::parts_of_claims(app.db.conn(), &[claim_id]).await?;
    if parts.iter().any(|p| p.status != "SUCCEEDED") {
        return Ok(());
    }
    match act(
        app,
        Actor::System,
        ClaimAction::RefundSucceeded,
        None,
        ActRequest {
            claim_number: c.claim_number,
            ..Default::default()
        },
    )
    .await
    .result
    {
        Ok(_) | Err(ServiceError::User(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `payClaimFee`: charges exactly the fee due (an exchange's round trip, or a return's fee due)
/// to the customer's card through the gateway and records it as a payment of its own. For a
/// return awaiting its fee, the paid parts of its deductions now count as paid money
/// (`money.md`: shipping a later claim may refund, a clawback it may give back).
#[allow(clippy::too_many_arguments)]
async fn record_fee_payment(
    app: &App,
    db: &impl ConnectionTrait,
    order: &order::Model,
    lines: &[order_line::Model],
    c: &claim::Model,
    status: ClaimStatus,
    offered: Option<Won>,
    now: DateTime<Utc>,
) -> Result<Won, ServiceError> {
    let (due, stored) = fee_due_now(db, c, status).await?;
    let amount =
        offered.ok_or_else(|| ServiceError::BadInput("payClaimFee needs the amount".into()))?;
    check_fee_amount(due, amount)?;
    if let (Some(r), ClaimStatus::ReturnAwaitingFee) = (&stored, status) {
        let ledger = load_ledger(db, order, lines).await?;
        let priced = stored_priced(c, r);
        let settled = money::pay_fee(&ledger, &priced, amount)
            .map_err(|e| ServiceError::Corrupt(e.to_string()))?;
        store_ledger(db, order.id, &settled.effect).await?;
        repo::claims::settle_refund_fee(db, r.id).await?;
    }
    // A bank transfer the customer announced and an operator now confirms; otherwise the card.
    let pending = repo::claims::pending_fee_transfer(db, c.id).await?;
    if let Some(t) = pending.filter(|t| t.amount == amount.amount()) {
        repo::claims::confirm_fee_transfer(db, t.id, now).await?;
        return Ok(amount);
    }
    // The key names the claim and its version: a retry of this very request charges once.
    let key = format!("{}-fee-v{}", c.claim_number, c.version);
    let reference = app.gateway.charge(key, amount).await.map_err(|e| {
        ServiceError::User(UserError::general(
            UserErrorCode::FeeAmountMismatch,
            format!("the card was not charged: {e}; try again"),
        ))
    })?;
    repo::claims::insert_fee_tender(
        db,
        order.id,
        c.id,
        "CARD",
        "PAID",
        amount.amount(),
        Some(reference),
        now,
    )
    .await?;
    Ok(amount)
}

/// The fee a claim owes now: a return's fee due once priced, or the exchange fee not yet paid.
async fn fee_due_now(
    db: &impl ConnectionTrait,
    c: &claim::Model,
    status: ClaimStatus,
) -> Result<(Won, Option<refund::Model>), ServiceError> {
    let stored = repo::claims::refunds_of_claims(db, &[c.id])
        .await?
        .into_iter()
        .next();
    let due = match (&stored, status) {
        (Some(r), ClaimStatus::ReturnAwaitingFee) => Won::new(r.fee_due),
        _ => Won::new(c.exchange_fee - c.fee_paid),
    };
    Ok((due, stored))
}

fn check_fee_amount(due: Won, amount: Won) -> Result<(), ServiceError> {
    if amount == due && due.is_positive() {
        return Ok(());
    }
    Err(UserError::new(
        UserErrorCode::FeeAmountMismatch,
        &["amount"],
        format!("the fee due is {due}; pay exactly that ({amount} offered)"),
    )
    .into())
}

/// `payClaimFee` by BANK_TRANSFER: records the transfer the customer announces (입금 예정); an
/// OPERATOR confirms it with `confirmClaimFeeTransfer`, which is when the fee counts as paid.
pub async fn announce_fee_transfer(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    claim_number: &str,
    amount: Won,
) -> Answer<ClaimChanged> {
    if !matches!(actor, Actor::Customer(_) | Actor::Operator) {
        return ServiceError::Forbidden("only the CUSTOMER or an OPERATOR pays a claim fee".into())
            .into();
    }
    idempotency::once(app, actor, key, async |txn| {
        announce_fee_transfer_in(app, txn, actor, claim_number, amount).await
    })
    .await
}

async fn announce_fee_transfer_in(
    app: &App,
    txn: &DatabaseTransaction,
    actor: Actor,
    claim_number: &str,
    amount: Won,
) -> Result<ClaimChanged, ServiceError> {
    let now = app.clock.now();
    let Loaded {
        order,
        claim: c,
        parts,
        ..
    } = load_claim_for(txn, actor, claim_number).await?;
    let status = parse(&c.status, "claim status", ClaimStatus::parse)?;
    // Announce only where paying is allowed now.
    let facts = facts_of(&c, &parts)?;
    decide(&facts, ClaimAction::PayClaimFee, actor.role()).map_err(refusal)?;
    let (due, _) = fee_due_now(txn, &c, status).await?;
    check_fee_amount(due, amount)?;
    if repo::claims::pending_fee_transfer(txn, c.id)
        .await?
        .is_some()
    {
        return Err(UserError::general(
            UserErrorCode::FeeAmountMismatch,
            "a transfer for this fee is already waiting for confirmation",
        )
        .into());
    }
    repo::claims::insert_fee_tender(
        txn,
        order.id,
        c.id,
        "BANK_TRANSFER",
        "AWAITING_DEPOSIT",
        amount.amount(),
        None,
        now,
    )
    .await?;
    Ok(ClaimChanged::id(c.id))
}

/// `confirmClaimFeeTransfer` (OPERATOR): the announced transfer arrived; the fee is paid.
pub async fn confirm_fee_transfer(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    claim_number: String,
) -> Answer<ClaimChanged> {
    if actor != Actor::Operator {
        return ServiceError::Forbidden("only an OPERATOR confirms a fee transfer".into()).into();
    }
    // The transfer is looked up under the key: a replay answers the first confirmation even
    // though no transfer waits any more.
    idempotency::once(app, actor, key, async |txn| {
        let c = repo::claims::claim_by_number(txn, &claim_number)
            .await?
            .ok_or_else(|| UserError::not_found(&["claimNumber"], "claim"))?;
        let pending = repo::claims::pending_fee_transfer(txn, c.id)
            .await?
            .ok_or_else(|| {
                UserError::general(
                    UserErrorCode::FeeAmountMismatch,
                    "no fee transfer is waiting for confirmation on this claim",
                )
            })?;
        let request = ActRequest {
            claim_number: claim_number.clone(),
            fee: Some(Won::new(pending.amount)),
            memo: Some("입금 확인".into()),
            ..Default::default()
        };
        act_in(
            app,
            txn,
            actor,
            ClaimAction::PayClaimFee,
            &request,
            app.clock.now(),
        )
        .await
    })
    .await
}

fn stored_priced(c: &claim::Model, r: &refund::Model) -> PricedRefund {
    let stored: Vec<StoredDeduction> = serde_json::from_str(&r.deductions).unwrap_or_default();
    PricedRefund {
        seller: c.seller_id,
        items: Tenders {
            cash: Won::new(r.items_cash),
            points: Won::new(r.items_points),
        },
        clawback_returned: Tenders {
            cash: Won::new(r.clawback_returned_cash),
            points: Won::new(r.clawback_returned_points),
        },
        shipping_refund: Tenders {
            cash: Won::new(r.shipping_refund_cash),
            points: Won::new(r.shipping_refund_points),
        },
        credit: Won::new(r.credit),
        deductions: stored
            .iter()
            .map(|d| Deduction {
                kind: d.kind,
                amount: Won::new(d.amount),
                from_cash: Won::new(d.from_cash),
                from_points: Won::new(d.from_points),
                as_fee: Won::new(d.as_fee),
            })
            .collect(),
        fee_due: Won::new(r.fee_due),
        cash: Won::new(r.cash),
        points: Won::new(r.points),
        due_reduced: Won::new(r.due_reduced),
        coupon_restored: r.coupon_restored,
        effect: Default::default(),
    }
}

/// Gives a paid exchange fee back in full (the exchange ended before its goods travelled):
/// a refund of the fee alone, routed to the claim's fee payments.
async fn refund_paid_fee(
    db: &impl ConnectionTrait,
    order: &order::Model,
    c: &claim::Model,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let refund_id = repo::claims::insert_refund(
        db,
        refund::ActiveModel {
            claim_id: Set(c.id),
            order_id: Set(order.id),
            items_cash: Set(0),
            items_points: Set(0),
            shipping_refund_cash: Set(0),
            shipping_refund_points: Set(0),
            clawback_returned_cash: Set(0),
            clawback_returned_points: Set(0),
            credit: Set(c.fee_paid),
            deductions: Set("[]".into()),
            fee_due: Set(0),
            cash: Set(c.fee_paid),
            points: Set(0),
            due_reduced: Set(0),
            coupon_restored: Set(false),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    let tenders = repo::orders::tenders_of_orders(db, &[order.id]).await?;
    for t in tenders.iter().filter(|t| t.claim_id == Some(c.id)) {
        let amount = t.amount - t.refunded_amount;
        if amount <= 0 {
            continue;
        }
        repo::claims::add_refunded(db, t.id, amount).await?;
        repo::claims::insert_part(
            db,
            refund_part::ActiveModel {
                refund_id: Set(refund_id),
                claim_id: Set(c.id),
                tender_id: Set(Some(t.id)),
                method: Set(t.method.clone()),
                amount: Set(amount),
                status: Set("PENDING".into()),
                idempotency_key: Set(format!("{}-fee-pay{}", c.claim_number, t.id)),
                gateway_reference: Set(None),
                attempts: Set(0),
                last_error: Set(None),
                next_attempt_at: Set(Some(now)),
                manual: Set(false),
                memo: Set(None),
                updated_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}

/// 미입금 취소 (SYSTEM): cancels every active unit of bank-transfer orders whose deposit
/// deadline passed, one claim per seller. Returns how many claims it opened.
pub async fn cancel_unpaid_orders(app: &App) -> Result<u64, ServiceError> {
    let now = app.clock.now();
    let mut opened = 0;
    for o in repo::claims::orders_past_deposit_deadline(app.db.conn(), now, 200).await? {
        let lines = repo::orders::lines_of_orders(app.db.conn(), &[o.id], None).await?;
        let mut sellers: Vec<i64> = lines.iter().map(|l| l.seller_id).collect();
        sellers.sort_unstable();
        sellers.dedup();
        for seller in sellers {
            let items: Vec<OpenItem> = lines
                .iter()
                .filter(|l| {
                    l.seller_id == seller && l.status == LineStatus::AwaitingPayment.as_str()
                })
                .map(|l| OpenItem {
                    line_id: l.id,
                    quantity: i64::from(
                        l.quantity
                            - l.cancelled_quantity
                            - l.returned_quantity
                            - l.claimed_quantity,
                    ),
                    replacement_option_id: None,
                })
                .filter(|i| i.quantity > 0)
                .collect();
            if items.is_empty() {
                continue;
            }
            let request = OpenRequest {
                action: ClaimAction::RequestCancel,
                order_number: o.order_number.clone(),
                items,
                reason: Reason::Other,
                memo: Some("입금 기한 경과로 자동 취소".into()),
                collection_method: CollectionMethod::CustomerShips,
            };
            match open_claim(app, Actor::System, None, request).await.result {
                Ok(_) => opened += 1,
                // Deposited or cancelled meanwhile: nothing to do.
                Err(ServiceError::User(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(opened)
}

/// 배송비 미결제 철회 (SYSTEM): withdraws exchanges held for an unpaid fee longer than the
/// configured days. Returns how many it withdrew.
pub async fn withdraw_unpaid_exchanges(app: &App) -> Result<u64, ServiceError> {
    let cutoff = app.clock.now() - Duration::days(app.jobs.unpaid_fee_days);
    let mut withdrawn = 0;
    for c in repo::claims::unpaid_exchanges_since(app.db.conn(), cutoff, 200).await? {
        let request = ActRequest {
            claim_number: c.claim_number,
            memo: Some("교환 배송비 미결제로 자동 철회".into()),
            ..Default::default()
        };
        match act(
            app,
            Actor::System,
            ClaimAction::FeeUnpaidTimeout,
            None,
            request,
        )
        .await
        .result
        {
            Ok(_) => withdrawn += 1,
            Err(ServiceError::User(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(withdrawn)
}

/// Stores the ledger changes of a priced refund or a paid fee: the shipping group's shipping
/// paid and the coupon's clawback.
async fn store_ledger(
    db: &impl ConnectionTrait,
    order_id: i64,
    effect: &money::LedgerEffect,
) -> Result<(), ServiceError> {
    if let Some(g) = &effect.group {
        repo::claims::update_group_ledger(
            db,
            order_id,
            g.seller,
            g.ship_paid.cash.amount(),
            g.ship_paid.points.amount(),
            g.free_broken_charged,
        )
        .await?;
    }
    if let Some(c) = &effect.coupon {
        repo::claims::update_coupon_ledger(
            db,
            order_id,
            c.clawed,
            c.claw_pool.cash.amount(),
            c.claw_pool.points.amount(),
        )
        .await?;
    }
    Ok(())
}
