//! Claim fees the customer pays (return shipping, exchange fees): announced transfers,
//! confirmations and card charges, and the refund of a fee paid when the claim ends without it.

use chrono::{DateTime, Utc};
use entity::{claim, order, refund};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::claim::{decide, ClaimAction, ClaimStatus, RefundStatus};
use crate::domain::money::Won;
use crate::domain::order::{TenderMethod, TenderStatus};
use crate::domain::refund::{self as money};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::gateway::{ConfirmCall, PaymentStatus};
use crate::repo;
use crate::repo::claim_writes::{NewFeeTender, NewRefundPart};
use crate::repo::stored::{StoredClaim, StoredTender};
use crate::service::idempotency::{self, Answer, Keyed};
use crate::service::payments::confirm_with_gateway;

use super::*;

/// The order id a claim's fee is paid under at the gateway (the payment widget is opened with
/// it): the claim number and `-FEE`.
pub fn fee_order_id(claim_number: &str) -> String {
    format!("{claim_number}-FEE")
}

/// How a fee payment arrives.
#[derive(Debug, Clone)]
pub enum FeePaidBy {
    /// The card payment the customer authorized in the payment widget, by its key.
    Card(Option<String>),
    /// The bank transfer the customer announced, confirmed by an OPERATOR.
    AnnouncedTransfer,
}

/// A card unless said otherwise; without its key, `payClaimFee` asks for it.
impl Default for FeePaidBy {
    fn default() -> Self {
        FeePaidBy::Card(None)
    }
}

/// `payClaimFee`: confirms the customer's card payment of exactly the fee due (an exchange's
/// round trip, or a return's fee due) with the gateway and records it as a payment of its own. For a
/// return awaiting its fee, the paid parts of its deductions now count as paid money
/// (`money.md`: shipping a later claim may refund, a clawback it may give back).
pub(super) async fn record_fee_payment(
    app: &App,
    db: &impl ConnectionTrait,
    at: ClaimInOrder<'_>,
    status: ClaimStatus,
    offered: Option<Won>,
    paid_by: FeePaidBy,
    now: DateTime<Utc>,
) -> Result<Won, ServiceError> {
    let ClaimInOrder {
        order,
        claim: c,
        lines,
        ..
    } = at;
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
    // A bank transfer the customer announced and an operator now confirms
    // (`confirmClaimFeeTransfer`, which alone names it); otherwise the card.
    let payment_key = match paid_by {
        FeePaidBy::AnnouncedTransfer => {
            let pending = repo::claims::pending_fee_transfer(db, c.id).await?;
            let t = pending
                .filter(|t| t.amount == amount.amount())
                .ok_or_else(|| {
                    UserError::general(
                        UserErrorCode::FeeAmountMismatch,
                        "no fee transfer of this amount is waiting for confirmation on this claim",
                    )
                })?;
            repo::claims::confirm_fee_transfer(db, t.id, now).await?;
            return Ok(amount);
        }
        FeePaidBy::Card(key) => key,
    };
    // The customer authorized the fee in the gateway's widget under the claim's fee order id;
    // the server confirms it with the amount it computed.
    let payment_key = payment_key.ok_or_else(|| {
        ServiceError::BadInput(
            "payClaimFee by CARD needs the paymentKey the payment widget gave for the fee \
             (opened with the claim's feePaymentOrderId and the fee due)"
                .into(),
        )
    })?;
    let call = ConfirmCall {
        payment_key,
        order_id: fee_order_id(&c.claim_number),
        amount,
    };
    let payment = confirm_with_gateway(app, call).await?;
    if payment.status != PaymentStatus::Done {
        return Err(UserError::new(
            UserErrorCode::PaymentDeclined,
            &["paymentKey"],
            "a claim fee is paid by card: the payment widget issued a virtual account instead; \
             pay the fee by card, or announce a bank transfer (method BANK_TRANSFER)",
        )
        .into());
    }
    let reference = payment.payment_key;
    let tender = NewFeeTender {
        order_id: order.id,
        claim_id: c.id,
        method: TenderMethod::Card,
        status: TenderStatus::Paid,
        amount,
        reference: Some(reference),
        now,
    };
    repo::claim_writes::insert_fee_tender(db, tender).await?;
    Ok(amount)
}

/// The fee a claim owes now: a return's fee due once priced, or the exchange fee not yet paid.
pub(super) async fn fee_due_now(
    db: &impl ConnectionTrait,
    c: &claim::Model,
    status: ClaimStatus,
) -> Result<(Won, Option<refund::Model>), ServiceError> {
    let stored = repo::claims::refunds_of_claims(db, &[c.id])
        .await?
        .into_iter()
        .next();
    // A return priced with fees above its refund owes the refund's fee due; an exchange its
    // fee not yet paid.
    let priced_fee = stored
        .as_ref()
        .filter(|_| status == ClaimStatus::ReturnAwaitingFee)
        .map(|r| Won::new(r.fee_due));
    let due = priced_fee.unwrap_or(Won::new(c.exchange_fee - c.fee_paid));
    Ok((due, stored))
}

pub(super) fn check_fee_amount(due: Won, amount: Won) -> Result<(), ServiceError> {
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

pub(super) async fn announce_fee_transfer_in(
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
    let status = c.status()?;
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
    let tender = NewFeeTender {
        order_id: order.id,
        claim_id: c.id,
        method: TenderMethod::BankTransfer,
        status: TenderStatus::AwaitingDeposit,
        amount,
        reference: None,
        now,
    };
    repo::claim_writes::insert_fee_tender(txn, tender).await?;
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
            paid_by: FeePaidBy::AnnouncedTransfer,
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

/// Gives a paid exchange fee back in full (the exchange ended before its goods travelled):
/// a refund of the fee alone, routed to the claim's fee payments.
pub(super) async fn refund_paid_fee(
    db: &impl ConnectionTrait,
    order: &order::Model,
    c: &claim::Model,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let paid = Won::new(c.fee_paid);
    let refund_id = insert_cash_refund(db, order, c, paid, paid, now).await?;
    let tenders = repo::orders::tenders_of_orders(db, &[order.id]).await?;
    for t in tenders.iter().filter(|t| t.claim_id == Some(c.id)) {
        let amount = t.amount - t.refunded_amount;
        if amount <= 0 {
            continue;
        }
        repo::claims::add_refunded(db, t.id, amount).await?;
        let method = t.method()?;
        let part = NewRefundPart {
            refund_id,
            claim_id: c.id,
            tender_id: Some(t.id),
            method,
            amount: Won::new(amount),
            status: RefundStatus::Pending,
            idempotency_key: format!("{}-fee-pay{}", c.claim_number, t.id),
            now,
        };
        repo::claim_writes::insert_part(db, part).await?;
    }
    Ok(())
}
