//! Paying orders through the payment gateway (`domain.md` "Order line status", `money.md`
//! "Fee payments"):
//!
//! - `confirmPayment`: the customer authorized the payment in the gateway's widget; the server
//!   checks the amount against the order first (a mismatch refuses and calls nothing), then
//!   confirms it server to server. A card is paid at once; a virtual account (가상계좌) is
//!   issued and the order waits for its deposit.
//! - The gateway's deposit callback: genuine only with the payment's secret, and confirmed by
//!   looking the payment up again; a forged, replayed or unknown callback changes nothing.
//! - `confirmDeposit` (operators): a transfer that arrived, with its amount; a short deposit is
//!   recorded as partial, not paid.
//! - Before the SYSTEM cancels an unpaid order, the gateway is asked whether it was paid after
//!   all (a crash between the gateway's answer and the commit leaves only the gateway knowing).
//!
//! The gateway is called inside the transaction that holds the order's lock: two confirmations
//! of one order take turns, and the SYSTEM's cancellation waits for a confirmation under way.
//! A crash after the gateway's answer rolls everything back; the retry (or the SYSTEM's
//! look-up) finds the payment done and records it, so nothing is charged twice.

use chrono::{DateTime, Utc};
use entity::{order, tender};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Set};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::money::Won;
use crate::domain::order::{LineStatus, LineStep, PaymentMethod, TenderMethod, TenderStatus};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::gateway::{ConfirmCall, GatewayError, Outcome, Payment, PaymentKind, PaymentStatus};
use crate::repo;
use crate::repo::stored::StoredTender;
use crate::service::access;
use crate::service::idempotency::{self, Answer, Keyed};
use crate::service::orders::{
    check_version, step_lines_in, LineSelection, OrderChanged, StepRequest,
};

/// A `confirmPayment` request: the three values the widget's success redirect carries.
#[derive(Debug, Clone)]
pub struct ConfirmPayment {
    /// The order (the widget's `orderId`).
    pub order_number: String,
    /// The gateway's key of the authorization.
    pub payment_key: String,
    /// The amount the widget was opened with; must be what the order owes.
    pub amount: Won,
}

/// `confirmPayment` (the order's CUSTOMER, or an OPERATOR).
pub async fn confirm_payment(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    req: ConfirmPayment,
) -> Answer<OrderChanged> {
    if !matches!(actor, Actor::Customer(_) | Actor::Operator) {
        return ServiceError::Forbidden(
            "only the order's CUSTOMER or an OPERATOR confirms its payment".into(),
        )
        .into();
    }
    idempotency::once(app, actor, key, async |txn| {
        confirm_payment_in(app, txn, actor, &req).await
    })
    .await
}

async fn confirm_payment_in(
    app: &App,
    txn: &DatabaseTransaction,
    actor: Actor,
    req: &ConfirmPayment,
) -> Result<OrderChanged, ServiceError> {
    let order = repo::orders::order_by_number(txn, &req.order_number, true)
        .await?
        .ok_or_else(|| UserError::not_found(&["orderNumber"], "order"))?;
    if !access::can_see_order(txn, actor, &order).await? {
        return Err(UserError::not_found(&["orderNumber"], "order").into());
    }
    let changed = OrderChanged { order_id: order.id };
    let Some(tender) = cash_tender(txn, order.id).await? else {
        return Err(not_awaiting(&order, "it was paid with points alone").into());
    };
    check_payment_key(&req.payment_key)?;
    // A repeat of a confirmation that went through answers the same, with no second call.
    let repeat = tender.gateway_reference.as_deref() == Some(req.payment_key.as_str());
    if repeat && req.amount == Won::new(tender.amount) {
        return Ok(changed);
    }
    if !repeat {
        check_awaiting(&order, &tender)?;
        check_key_unused(txn, &req.payment_key).await?;
    }
    let due = if repeat {
        Won::new(tender.amount)
    } else {
        Won::new(order.amount_due)
    };
    if req.amount != due {
        return Err(UserError::new(
            UserErrorCode::PaymentAmountMismatch,
            &["amount"],
            format!(
                "the payment of order {} is {due}, not {}: open the payment widget with the \
                 order's amountDue; nothing was charged",
                order.order_number, req.amount
            ),
        )
        .into());
    }
    let call = ConfirmCall {
        payment_key: req.payment_key.clone(),
        order_id: order.order_number.clone(),
        amount: due,
    };
    let payment = confirm_with_gateway(app, call).await?;
    let now = app.clock.now();
    match payment.status {
        PaymentStatus::WaitingForDeposit => {
            issue_virtual_account(txn, &order, &tender, &payment, now).await?
        }
        _ => record_paid(app, txn, &order, &tender, &payment, now).await?,
    }
    tracing::info!(order = %order.order_number, status = payment.status.as_str(), "payment confirmed");
    Ok(changed)
}

/// A payment key is what the widget handed over: never blank.
pub(crate) fn check_payment_key(key: &str) -> Result<(), ServiceError> {
    if key.trim().is_empty() {
        return Err(UserError::new(
            UserErrorCode::InvalidInput,
            &["paymentKey"],
            "paymentKey is blank: send the key the payment widget's success redirect carries",
        )
        .into());
    }
    Ok(())
}

/// A payment key pays one thing: a key already recorded on a payment of this marketplace (an
/// order's, a claim fee's) is refused before the gateway is asked, whoever's it is.
pub(crate) async fn check_key_unused(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<(), ServiceError> {
    if repo::orders::tender_by_gateway_reference(db, key)
        .await?
        .is_some()
    {
        return Err(UserError::new(
            UserErrorCode::PaymentDeclined,
            &["paymentKey"],
            "this payment key already paid for something else: pay again in the payment \
             widget, which gives a new key; nothing was charged",
        )
        .into());
    }
    Ok(())
}

/// The order's own cash payment (card or bank transfer), if it has one.
async fn cash_tender(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Option<tender::Model>, ServiceError> {
    for t in repo::orders::tenders_of_orders(db, &[order_id]).await? {
        if t.claim_id.is_none() && t.method()? != TenderMethod::Points {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// The order still waits for its payment, and nothing is under way that another payment
/// would collide with.
fn check_awaiting(order: &order::Model, tender: &tender::Model) -> Result<(), ServiceError> {
    if order.status != LineStatus::AwaitingPayment.as_str() || order.amount_due <= 0 {
        return Err(not_awaiting(order, &format!("it is {}", order.status)).into());
    }
    let refusal = match tender.status()? {
        TenderStatus::Paid => not_awaiting(order, "it is paid already"),
        TenderStatus::AwaitingDeposit if tender.deposit_secret.is_some() => not_awaiting(
            order,
            "a virtual account was issued for it: the customer deposits into that account",
        ),
        TenderStatus::AwaitingDeposit if tender.deposited_amount > 0 => not_awaiting(
            order,
            "part of it was deposited by bank transfer: an OPERATOR records the rest with \
             confirmDeposit",
        ),
        TenderStatus::AwaitingDeposit | TenderStatus::AwaitingPayment => return Ok(()),
    };
    Err(refusal.into())
}

fn not_awaiting(order: &order::Model, why: &str) -> UserError {
    UserError::new(
        UserErrorCode::NotAwaitingPayment,
        &["orderNumber"],
        format!(
            "order {} is not waiting for a payment: {why}",
            order.order_number
        ),
    )
}

/// Confirms an authorization with the gateway and checks that what it confirmed is this
/// payment: a repeat whose first answer was lost (ALREADY_PROCESSED) is looked up instead.
pub(crate) async fn confirm_with_gateway(
    app: &App,
    call: ConfirmCall,
) -> Result<Payment, ServiceError> {
    let payment = match app.gateway.confirm(call.clone()).await {
        Ok(p) => p,
        Err(e) if e.outcome == Outcome::AlreadyProcessed => app
            .gateway
            .payment(&call.payment_key)
            .await
            .map_err(gateway_refusal)?,
        Err(e) => return Err(gateway_refusal(e)),
    };
    let usable = matches!(
        payment.status,
        PaymentStatus::Done | PaymentStatus::WaitingForDeposit
    );
    if payment.order_id != call.order_id || payment.total_amount != call.amount || !usable {
        return Err(UserError::new(
            UserErrorCode::PaymentDeclined,
            &["paymentKey"],
            format!(
                "the gateway reports payment {} as {} of {} for `{}`, not a payment of {} for \
                 `{}`: confirm the paymentKey the widget gave for this payment; nothing was \
                 recorded",
                call.payment_key,
                payment.status.as_str(),
                payment.total_amount,
                payment.order_id,
                call.amount,
                call.order_id
            ),
        )
        .into());
    }
    Ok(payment)
}

/// A failed confirmation as the client sees it: try again (nothing recorded, never charged
/// twice) or pay again (refused for good).
pub(crate) fn gateway_refusal(e: GatewayError) -> ServiceError {
    tracing::warn!(code = %e.code, message = %e.message, "payment gateway refused");
    match e.outcome {
        Outcome::Retry => UserError::general(
            UserErrorCode::PaymentGatewayUnavailable,
            format!(
                "the payment gateway did not settle the payment ({e}); nothing was recorded: \
                 send the same request again in a moment (the same paymentKey is never charged \
                 twice)"
            ),
        ),
        Outcome::GiveUp | Outcome::NeedsAccount | Outcome::AlreadyProcessed => UserError::new(
            UserErrorCode::PaymentDeclined,
            &["paymentKey"],
            format!(
                "the payment gateway refused the payment ({e}); nothing was charged: pay again \
                 in the payment widget"
            ),
        ),
    }
    .into()
}

/// The gateway's method as the order's: a virtual account is a bank transfer; a card, a
/// wallet or any other way the gateway refunds by cancelling counts as a card.
fn method_of(kind: &PaymentKind) -> PaymentMethod {
    match kind {
        PaymentKind::VirtualAccount => PaymentMethod::BankTransfer,
        PaymentKind::Card | PaymentKind::Other(_) => PaymentMethod::Card,
    }
}

/// The order's payment method follows what the customer chose in the widget.
async fn follow_method(
    txn: &DatabaseTransaction,
    (order, tender): (&order::Model, &tender::Model),
    method: PaymentMethod,
    set: &mut tender::ActiveModel,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if order.payment_method != method.as_str() {
        let row = order::ActiveModel {
            payment_method: Set(method.as_str().to_owned()),
            ..Default::default()
        };
        repo::orders::update_order(txn, order.id, row, now).await?;
    }
    if tender.method != TenderMethod::from(method).as_str() {
        set.method = Set(TenderMethod::from(method).as_str().to_owned());
    }
    Ok(())
}

/// A virtual account was issued: the order waits for the deposit into it until its due date.
async fn issue_virtual_account(
    txn: &DatabaseTransaction,
    order: &order::Model,
    tender: &tender::Model,
    payment: &Payment,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let account = payment.virtual_account.as_ref().ok_or_else(|| {
        ServiceError::Corrupt(format!(
            "the gateway issued payment {} without a virtual account",
            payment.payment_key
        ))
    })?;
    let mut set = tender::ActiveModel {
        status: Set(TenderStatus::AwaitingDeposit.as_str().to_owned()),
        gateway_reference: Set(Some(payment.payment_key.clone())),
        va_bank_code: Set(Some(account.bank_code.clone())),
        va_account_number: Set(Some(account.account_number.clone())),
        va_customer_name: Set(Some(account.customer_name.clone())),
        va_due_at: Set(Some(account.due_date)),
        deposit_secret: Set(payment.secret.clone()),
        ..Default::default()
    };
    follow_method(
        txn,
        (order, tender),
        PaymentMethod::BankTransfer,
        &mut set,
        now,
    )
    .await?;
    repo::orders::update_tender(txn, tender.id, set).await?;
    let row = order::ActiveModel {
        deposit_deadline: Set(Some(account.due_date)),
        ..Default::default()
    };
    repo::orders::update_order(txn, order.id, row, now).await?;
    // A card checkout the customer paid by virtual account instead: the order is placed now,
    // waiting for the deposit (a bank-transfer order announced itself when placed).
    if order.payment_method == PaymentMethod::Card.as_str() {
        let lines = repo::orders::lines_of_orders(txn, &[order.id], None).await?;
        let sellers: Vec<i64> = lines.iter().map(|l| l.seller_id).collect();
        let placed = crate::outbox::OrderRef {
            id: order.id,
            customer_id: order.customer_id,
            status: LineStatus::AwaitingPayment.as_str(),
        };
        crate::outbox::record_order(txn, placed, "order.placed", &[], &sellers, now).await?;
    }
    Ok(())
}

/// The gateway took the money: the tender is paid with the gateway's key, and the order's
/// lines move to PAID (`order.paid` for a card, `order.deposit_confirmed` for a deposit).
async fn record_paid(
    app: &App,
    txn: &DatabaseTransaction,
    order: &order::Model,
    tender: &tender::Model,
    payment: &Payment,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let method = method_of(&payment.method);
    let mut set = tender::ActiveModel {
        status: Set(TenderStatus::Paid.as_str().to_owned()),
        gateway_reference: Set(Some(payment.payment_key.clone())),
        amount: Set(payment.total_amount.amount()),
        paid_at: Set(Some(now)),
        ..Default::default()
    };
    if method == PaymentMethod::BankTransfer {
        set.deposited_amount = Set(payment.total_amount.amount());
    }
    follow_method(txn, (order, tender), method, &mut set, now).await?;
    repo::orders::update_tender(txn, tender.id, set).await?;
    let step = match method {
        PaymentMethod::Card => LineStep::ConfirmPayment,
        PaymentMethod::BankTransfer => LineStep::ConfirmDeposit,
    };
    take_paid_step(app, txn, order, step).await
}

/// Moves the order's unpaid lines to PAID, as the SYSTEM (the caller was authorized).
async fn take_paid_step(
    app: &App,
    txn: &DatabaseTransaction,
    order: &order::Model,
    step: LineStep,
) -> Result<(), ServiceError> {
    let req = StepRequest {
        selection: LineSelection::WholeOrder(order.order_number.clone()),
        tracking: None,
        expected_version: None,
    };
    step_lines_in(app, txn, Actor::System, step, &req).await?;
    Ok(())
}

/// `confirmDeposit` (OPERATOR): a bank transfer of `amount` arrived for the order. The order is
/// paid when the deposits reach what it owes; a short deposit is recorded as partial. More
/// than is left to deposit is refused: pay the excess back outside, then record what is owed.
pub async fn confirm_deposit(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    req: DepositRequest,
) -> Answer<OrderChanged> {
    if actor != Actor::Operator {
        return ServiceError::Forbidden("only an OPERATOR confirms a deposit".into()).into();
    }
    idempotency::once(app, actor, key, async |txn| {
        confirm_deposit_in(app, txn, &req).await
    })
    .await
}

/// A `confirmDeposit` request.
#[derive(Debug, Clone)]
pub struct DepositRequest {
    /// The order.
    pub order_number: String,
    /// What arrived.
    pub amount: Won,
    /// The order's version the operator saw.
    pub expected_version: Option<i32>,
}

async fn confirm_deposit_in(
    app: &App,
    txn: &DatabaseTransaction,
    req: &DepositRequest,
) -> Result<OrderChanged, ServiceError> {
    let (now, amount) = (app.clock.now(), req.amount);
    let order = repo::orders::order_by_number(txn, &req.order_number, true)
        .await?
        .ok_or_else(|| UserError::not_found(&["orderNumber"], "order"))?;
    check_version(&order, req.expected_version)?;
    let changed = OrderChanged { order_id: order.id };
    let tender = cash_tender(txn, order.id).await?;
    let tender = match tender {
        Some(t) if t.method()? == TenderMethod::BankTransfer => t,
        _ => {
            return Err(UserError::new(
                UserErrorCode::NotAwaitingDeposit,
                &["orderNumber"],
                format!(
                    "order {} is not paid by bank transfer: only bank-transfer orders wait for \
                     a deposit",
                    order.order_number
                ),
            )
            .into())
        }
    };
    if tender.deposit_secret.is_some() {
        return Err(UserError::new(
            UserErrorCode::NotAwaitingDeposit,
            &["orderNumber"],
            format!(
                "order {} is paid into a virtual account the payment gateway issued: its \
                 deposit is recorded by the gateway's callback, not by hand",
                order.order_number
            ),
        )
        .into());
    }
    if order.status != LineStatus::AwaitingPayment.as_str()
        || tender.status()? == TenderStatus::Paid
    {
        return Err(UserError::new(
            UserErrorCode::NotAwaitingDeposit,
            &["orderNumber"],
            format!(
                "order {} is {}: it waits for no deposit",
                order.order_number, order.status
            ),
        )
        .into());
    }
    let left = Won::new(order.amount_due - tender.deposited_amount);
    if !amount.is_positive() || amount > left {
        return Err(UserError::new(
            UserErrorCode::DepositExceedsDue,
            &["amount"],
            format!(
                "order {} has {left} left to deposit: record a deposit from 1원 to {left} \
                 ({amount} given); pay any excess back to the customer outside",
                order.order_number
            ),
        )
        .into());
    }
    let deposited = tender.deposited_amount + amount.amount();
    if deposited < order.amount_due {
        let set = tender::ActiveModel {
            deposited_amount: Set(deposited),
            ..Default::default()
        };
        repo::orders::update_tender(txn, tender.id, set).await?;
        // The order's version moves: a desk showing it reloads the deposit.
        repo::orders::update_order(txn, order.id, order::ActiveModel::default(), now).await?;
        tracing::info!(order = %order.order_number, %amount, "partial deposit recorded");
        return Ok(changed);
    }
    let set = tender::ActiveModel {
        status: Set(TenderStatus::Paid.as_str().to_owned()),
        amount: Set(deposited),
        deposited_amount: Set(deposited),
        paid_at: Set(Some(now)),
        ..Default::default()
    };
    repo::orders::update_tender(txn, tender.id, set).await?;
    take_paid_step(app, txn, &order, LineStep::ConfirmDeposit).await?;
    Ok(changed)
}

/// The body of the gateway's deposit callback (Toss Payments' `DEPOSIT_CALLBACK`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepositCallback {
    /// The shop's order id: the order number.
    pub order_id: String,
    /// `DONE` when the deposit arrived; other statuses (a deposit cancelled, an account
    /// expired) change nothing here.
    pub status: String,
    /// Must equal the secret the gateway gave when it issued the account.
    pub secret: String,
    /// The gateway's key of the deposit.
    #[serde(default)]
    pub transaction_key: Option<String>,
    /// When the gateway sent it.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// What a deposit callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The deposit is recorded: the order is paid.
    Recorded,
    /// The deposit was recorded before (a replay): nothing changed.
    AlreadyRecorded,
    /// A status other than DONE: nothing to do.
    Ignored,
    /// No payment of ours has this order id.
    UnknownOrder,
    /// The secret does not match the payment's: forged (or meant for another shop).
    Forged,
    /// The gateway, asked again, does not report the payment as deposited.
    NotConfirmed,
    /// The gateway reports a payment short of what the order owes: nothing recorded.
    AmountDiffers,
    /// The gateway could not be asked: the callback should be sent again later.
    GatewayUnavailable,
}

/// The gateway's deposit callback: checked against the payment's secret, confirmed by looking
/// the payment up again, then recorded once.
pub async fn deposit_callback(
    app: &App,
    callback: DepositCallback,
) -> Result<CallbackOutcome, ServiceError> {
    let conn = app.db.conn();
    let Some(order) = repo::orders::order_by_number(conn, &callback.order_id, false).await? else {
        return Ok(CallbackOutcome::UnknownOrder);
    };
    let Some(tender) = cash_tender(conn, order.id).await? else {
        return Ok(CallbackOutcome::UnknownOrder);
    };
    let (Some(secret), Some(payment_key)) = (&tender.deposit_secret, &tender.gateway_reference)
    else {
        return Ok(CallbackOutcome::UnknownOrder);
    };
    if !bool::from(secret.as_bytes().ct_eq(callback.secret.as_bytes())) {
        return Ok(CallbackOutcome::Forged);
    }
    if tender.status()? == TenderStatus::Paid {
        return Ok(CallbackOutcome::AlreadyRecorded);
    }
    if callback.status != PaymentStatus::Done.as_str() {
        return Ok(CallbackOutcome::Ignored);
    }
    let payment = match app.gateway.payment(payment_key).await {
        Ok(p) => p,
        Err(e) if e.outcome == Outcome::Retry => return Ok(CallbackOutcome::GatewayUnavailable),
        Err(_) => return Ok(CallbackOutcome::NotConfirmed),
    };
    if !payment.status.is_paid() || payment.order_id != order.order_number {
        return Ok(CallbackOutcome::NotConfirmed);
    }
    let txn = app.db.write().await?;
    let outcome = record_gateway_payment_in(app, &txn, &order.order_number, &payment).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Records a deposit the gateway confirmed, under the order's lock: once, whoever gets here
/// first (the callback, its replay, the SYSTEM's look-up).
async fn record_gateway_payment_in(
    app: &App,
    txn: &DatabaseTransaction,
    order_number: &str,
    payment: &Payment,
) -> Result<CallbackOutcome, ServiceError> {
    let now = app.clock.now();
    let Some(order) = repo::orders::order_by_number(txn, order_number, true).await? else {
        return Ok(CallbackOutcome::UnknownOrder);
    };
    let Some(tender) = cash_tender(txn, order.id).await? else {
        return Ok(CallbackOutcome::UnknownOrder);
    };
    if tender.status()? == TenderStatus::Paid {
        return Ok(CallbackOutcome::AlreadyRecorded);
    }
    let (paid, due) = (payment.total_amount, Won::new(order.amount_due));
    let awaiting = order.status == LineStatus::AwaitingPayment.as_str() && due.is_positive();
    if awaiting && paid < due {
        // A gateway never takes less than it was asked for: someone else's payment, or a
        // gateway out of step. Nothing is recorded; an operator looks.
        tracing::error!(
            order = %order.order_number, %paid, %due,
            "the gateway reports a payment short of what the order owes; nothing recorded"
        );
        return Ok(CallbackOutcome::AmountDiffers);
    }
    if awaiting {
        record_paid(app, txn, &order, &tender, payment, now).await?;
    } else {
        // The order was cancelled before the money arrived (a deposit after the deadline).
        let set = tender::ActiveModel {
            status: Set(TenderStatus::Paid.as_str().to_owned()),
            amount: Set(paid.amount()),
            deposited_amount: Set(paid.amount()),
            paid_at: Set(Some(now)),
            ..Default::default()
        };
        repo::orders::update_tender(txn, tender.id, set).await?;
    }
    // What it paid beyond what it owes now (all of it, once cancelled; the original amount of
    // a virtual account after part of the order was cancelled) goes back.
    let beyond = if awaiting { paid - due } else { paid };
    if beyond.is_positive() {
        crate::service::claims::refund_beyond_due(txn, &order, tender.id, beyond, now).await?;
        tracing::warn!(order = %order.order_number, %beyond, "paid beyond what the order owes: refunding it");
    }
    Ok(CallbackOutcome::Recorded)
}

/// Before the SYSTEM cancels an unpaid order, asks the gateway whether it was paid after all
/// (a confirmation whose commit never happened, a deposit callback that never came) and
/// records it if so. `Ok(true)`: paid, do not cancel. `Err`: the gateway could not be asked;
/// leave the order for the next run.
pub async fn settle_before_lapse(app: &App, order: &order::Model) -> Result<bool, GatewayError> {
    let known = match cash_tender(app.db.conn(), order.id).await {
        Ok(t) => t,
        Err(e) => return Err(GatewayError::new("DATABASE", e.to_string(), Outcome::Retry)),
    };
    let Some(tender) = known else {
        return Ok(false);
    };
    // A transfer to the marketplace's own account is no gateway's business.
    if tender.method == TenderMethod::BankTransfer.as_str() && tender.gateway_reference.is_none() {
        return Ok(false);
    }
    let looked_up = match &tender.gateway_reference {
        Some(key) => app.gateway.payment(key).await.map(Some),
        None => app.gateway.payment_for_order(&order.order_number).await,
    };
    let payment = match looked_up {
        Ok(p) => p,
        // The gateway knows no such payment: nothing was paid.
        Err(e) if e.outcome == Outcome::GiveUp => None,
        Err(e) => return Err(e),
    };
    let Some(payment) = payment.filter(|p| p.status == PaymentStatus::Done) else {
        return Ok(false);
    };
    let recorded = async {
        let txn = app.db.write().await?;
        let outcome = record_gateway_payment_in(app, &txn, &order.order_number, &payment).await?;
        txn.commit().await?;
        Ok::<_, ServiceError>(outcome)
    }
    .await;
    match recorded {
        Ok(CallbackOutcome::AmountDiffers) => Err(GatewayError::new(
            "AMOUNT_DIFFERS",
            "the gateway holds a payment short of what the order owes; left for an operator",
            Outcome::GiveUp,
        )),
        Ok(_) => {
            tracing::warn!(order = %order.order_number, "paid at the gateway but not recorded: recorded now");
            Ok(true)
        }
        Err(e) => Err(GatewayError::new("DATABASE", e.to_string(), Outcome::Retry)),
    }
}
