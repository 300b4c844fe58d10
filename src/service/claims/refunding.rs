//! The refund of a claim: the order's ledger, pricing through `domain::refund`, the refund
//! and its parts written in the transition's transaction, and completion once paid.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{claim, claim_item, order, order_line, refund, refund_part, tender};
use sea_orm::{ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::actor::{Actor, Role};
use crate::domain::claim::{ClaimAction, ClaimType, Fault, RefundStatus, Settlement};
use crate::domain::money::Won;
use crate::domain::order::{LineStatus, PaymentMethod, TenderMethod, TenderStatus};
use crate::domain::refund::{
    self as money, price_refund, route_cash, ClaimItem, ClaimKind, ClaimToPrice, CouponMoney,
    Deduction, DeductionKind, FeeDecision, GroupMoney, LineMoney, OrderLedger, Payment,
    PaymentBalance, PaymentRole, PricedRefund, Tenders,
};
use crate::error::{ServiceError, UserErrorCode};
use crate::repo;
use crate::repo::claim_writes::{retry_backoff, ClaimFees, NewRefundPart};
use crate::repo::stored::{StoredClaim, StoredOrder, StoredRefundPart, StoredTender};

use super::*;

/// The order's refund ledger as stored (`money.md`), read under the order lock.
pub(super) async fn load_ledger(
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
    let method = o.payment_method()?;
    Ok(OrderLedger {
        payment: match method {
            PaymentMethod::Card => Payment::Card {
                confirmed: o.deposited_at.is_some(),
            },
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

/// What pricing asks of a claim besides its units.
pub(super) struct Pricing {
    /// Its type: a cancel is priced by fault, a return with its fees, an exchange refunded
    /// instead of reshipped as a whole.
    pub(super) claim_type: ClaimType,
    /// Who is at fault.
    pub(super) fault: Fault,
    /// The fees its policy decided.
    pub(super) fees: ClaimFees,
    /// A fee paid that the refund gives back (`money.md`, vector L).
    pub(super) credit: Won,
}

impl Pricing {
    /// A stored claim's, with the fault the transition leaves it: an exchange refunded
    /// instead credits the fee paid for it, a return the fee credited from a conversion.
    pub(super) fn of(c: &claim::Model, fault: Fault) -> Result<Pricing, ServiceError> {
        let claim_type = c.claim_type()?;
        let credit = match claim_type {
            ClaimType::Exchange => c.fee_paid,
            ClaimType::Cancel | ClaimType::Return => c.fee_credit,
        };
        Ok(Pricing {
            claim_type,
            fault,
            fees: ClaimFees {
                return_fee: c.return_fee,
                initial_shipping: c.initial_shipping_applies,
                coupon_clawback: c.coupon_clawback_applies,
                exchange_fee: c.exchange_fee,
            },
            credit: Won::new(credit),
        })
    }
}

/// A claim's units as pricing counts them: (line, units).
pub(super) fn claim_items(units: impl Iterator<Item = (i64, i64)>) -> Vec<ClaimItem> {
    units
        .map(|(line, quantity)| ClaimItem {
            line,
            quantity: u32::try_from(quantity).unwrap_or(0),
        })
        .collect()
}

/// Prices the refund of a claim about to close its units (`money.md`), under the order's lock.
pub(super) async fn price_claim(
    db: &impl ConnectionTrait,
    order: &order::Model,
    lines: &[order_line::Model],
    items: Vec<ClaimItem>,
    basis: Pricing,
) -> Result<PricedRefund, ServiceError> {
    let fees = basis.fees;
    let kind = match basis.claim_type {
        ClaimType::Cancel => ClaimKind::Cancel { fault: basis.fault },
        ClaimType::Return => ClaimKind::Return {
            fees: FeeDecision {
                fault: basis.fault,
                return_fee: Won::new(fees.return_fee),
                initial_shipping: fees.initial_shipping,
                coupon_clawback: fees.coupon_clawback,
            },
        },
        ClaimType::Exchange => ClaimKind::ExchangeRefund,
    };
    let input = ClaimToPrice {
        kind,
        items,
        credit: basis.credit,
    };
    let ledger = load_ledger(db, order, lines).await?;
    let mut priced =
        price_refund(&ledger, &input).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    priced.effect = ledger.changes_of(priced.effect);
    Ok(priced)
}

pub(super) fn settlement_of(p: &PricedRefund) -> Settlement {
    if p.fee_due.is_positive() {
        Settlement::FeeDue
    } else if p.cash.is_positive() {
        Settlement::Gateway
    } else {
        Settlement::InPlace
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct StoredDeduction {
    kind: DeductionKind,
    amount: i64,
    from_cash: i64,
    from_points: i64,
    as_fee: i64,
}

pub(super) fn store_deductions(ds: &[Deduction]) -> String {
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

/// Stores a priced refund with the claim's units closed: the refund row, the ledger, points
/// restored, cash parts routed to payments (PENDING, or ACCOUNT_REQUIRED for a bank transfer
/// without a refund account), or the amount due lowered before a deposit.
/// A claim with its units, its order and the order's lines, as a transition reads them.
#[derive(Clone, Copy)]
pub(super) struct ClaimInOrder<'a> {
    pub(super) order: &'a order::Model,
    pub(super) claim: &'a claim::Model,
    pub(super) items: &'a [claim_item::Model],
    pub(super) lines: &'a [order_line::Model],
}

pub(super) async fn persist_refund(
    db: &impl ConnectionTrait,
    at: ClaimInOrder<'_>,
    p: &PricedRefund,
    were_claimed: bool,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, LineStatus)>, ServiceError> {
    let order = at.order;
    let refund_id = insert_refund(db, at, p, now).await?;
    let line_changes = close_units(db, at, were_claimed).await?;
    store_ledger(db, order.id, &p.effect).await?;
    if p.coupon_restored {
        repo::claims::mark_coupon_restored(db, order.id).await?;
    }
    let parts = Parts {
        refund_id,
        claim: at.claim,
        now,
    };
    if p.points.is_positive() {
        restore_points(db, order, &parts, p.points).await?;
    }
    let mut line_changes = line_changes;
    if p.due_reduced.is_positive() {
        repo::claims::reduce_amount_due(db, order.id, p.due_reduced.amount()).await?;
        let due_now = Won::new(order.amount_due) - p.due_reduced;
        line_changes.extend(settle_held_deposit(db, at, &parts, due_now).await?);
    }
    if p.cash.is_positive() {
        pay_cash_back(db, order, &parts, p.cash).await?;
    }
    Ok(line_changes)
}

/// A bank transfer deposited short of the amount due, when a cancel lowers what the order
/// owes to `due_now` (`money.md` "Fee payments"): once the deposit covers it, the transfer is
/// paid, what it holds beyond `due_now` goes back to the refund account, and the order's
/// remaining lines are paid. Nothing is left to pay after a cancel of everything, so the whole
/// deposit goes back. Returns the lines that became PAID.
async fn settle_held_deposit(
    db: &impl ConnectionTrait,
    at: ClaimInOrder<'_>,
    parts: &Parts<'_>,
    due_now: Won,
) -> Result<Vec<(i64, LineStatus)>, ServiceError> {
    let order = at.order;
    let tenders = repo::orders::tenders_of_orders(db, &[order.id]).await?;
    let mut held = None;
    for t in tenders {
        if t.claim_id.is_none()
            && t.method()? == TenderMethod::BankTransfer
            && t.status()? == TenderStatus::AwaitingDeposit
            && t.deposited_amount > 0
        {
            held = Some(t);
        }
    }
    let Some(t) = held else {
        return Ok(Vec::new());
    };
    let deposited = Won::new(t.deposited_amount);
    if deposited < due_now {
        return Ok(Vec::new());
    }
    let paid = tender::ActiveModel {
        status: Set(TenderStatus::Paid.as_str().to_owned()),
        amount: Set(deposited.amount()),
        paid_at: Set(Some(parts.now)),
        ..Default::default()
    };
    repo::orders::update_tender(db, t.id, paid).await?;
    let excess = deposited - due_now;
    if excess.is_positive() {
        repo::claims::add_refunded(db, t.id, excess.amount()).await?;
        repo::claims::shift_due_reduction_to_cash(db, parts.refund_id, excess.amount()).await?;
        let status = transfer_part_status(db, order).await?;
        let suffix = format!("deposit{}", t.id);
        let part = parts.part(TenderMethod::BankTransfer, t.id, excess, status, &suffix);
        repo::claim_writes::insert_part(db, part).await?;
    }
    if !due_now.is_positive() {
        return Ok(Vec::new());
    }
    // The deposit covers what is left: the lines still waiting for it are paid.
    let claimed = |line: i64| -> i32 {
        at.items
            .iter()
            .filter(|i| i.line_id == line)
            .map(|i| i.quantity)
            .sum()
    };
    let now_paid: Vec<i64> = at
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::AwaitingPayment.as_str())
        .filter(|l| l.quantity - l.cancelled_quantity - l.returned_quantity - claimed(l.id) > 0)
        .map(|l| l.id)
        .collect();
    let set = order_line::ActiveModel {
        status: Set(LineStatus::Paid.as_str().to_owned()),
        ..Default::default()
    };
    repo::orders::update_lines(db, &now_paid, set).await?;
    let row = order::ActiveModel {
        amount_due: Set(0),
        deposited_at: Set(Some(parts.now)),
        ..Default::default()
    };
    repo::orders::update_order(db, order.id, row, parts.now).await?;
    Ok(now_paid
        .into_iter()
        .map(|l| (l, LineStatus::Paid))
        .collect())
}

/// A refund of cash alone (no units, no deductions): a fee given back (`credit` is the fee
/// that comes back as cash), or money that arrived for a cancelled order.
pub(super) async fn insert_cash_refund(
    db: &impl ConnectionTrait,
    order: &order::Model,
    c: &claim::Model,
    cash: Won,
    credit: Won,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let row = refund::ActiveModel {
        claim_id: Set(c.id),
        order_id: Set(order.id),
        items_cash: Set(0),
        items_points: Set(0),
        shipping_refund_cash: Set(0),
        shipping_refund_points: Set(0),
        clawback_returned_cash: Set(0),
        clawback_returned_points: Set(0),
        credit: Set(credit.amount()),
        deductions: Set("[]".into()),
        fee_due: Set(0),
        cash: Set(cash.amount()),
        points: Set(0),
        due_reduced: Set(0),
        coupon_restored: Set(false),
        created_at: Set(now),
        ..Default::default()
    };
    Ok(repo::claims::insert_refund(db, row).await?)
}

/// A bank transfer's refund waits for the customer's refund account when there is none.
async fn transfer_part_status(
    db: &impl ConnectionTrait,
    order: &order::Model,
) -> Result<RefundStatus, ServiceError> {
    let has_account = repo::catalog::customers_by_ids(db, &[order.customer_id])
        .await?
        .into_iter()
        .next()
        .is_some_and(|cu| cu.refund_account_number.is_some());
    Ok(if has_account {
        RefundStatus::Pending
    } else {
        RefundStatus::AccountRequired
    })
}

/// Money the gateway took beyond what the order owes now — a deposit of the original amount
/// after part of the order was cancelled, or any deposit after all of it was — goes back to the
/// payment `tender_id`. It is the cash those cancels' refunds took off the amount due instead
/// of paying back (`dueReduced`): each such refund, the latest first, now pays it back as a
/// part of its own, so every won is accounted to the claim that cancelled it.
pub async fn refund_beyond_due(
    db: &impl ConnectionTrait,
    order: &order::Model,
    tender_id: i64,
    amount: Won,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(t) = repo::orders::tender_by_id(db, tender_id).await? else {
        return Err(ServiceError::Corrupt(format!("tender {tender_id} is gone")));
    };
    let method = t.method()?;
    let status = match method {
        TenderMethod::BankTransfer => transfer_part_status(db, order).await?,
        TenderMethod::Card | TenderMethod::Points => RefundStatus::Pending,
    };
    let claims = repo::claims::claims_of_orders(db, &[order.id], None).await?;
    let ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    let mut refunds = repo::claims::refunds_of_claims(db, &ids).await?;
    refunds.sort_by_key(|r| std::cmp::Reverse(r.id));
    let mut left = amount;
    for r in refunds.iter().filter(|r| r.due_reduced > 0) {
        let Some(c) = claims.iter().find(|c| c.id == r.claim_id) else {
            continue;
        };
        let part_amount = left.min(Won::new(r.due_reduced));
        if !part_amount.is_positive() {
            break;
        }
        repo::claims::shift_due_reduction_to_cash(db, r.id, part_amount.amount()).await?;
        repo::claims::add_refunded(db, t.id, part_amount.amount()).await?;
        let parts = Parts {
            refund_id: r.id,
            claim: c,
            now,
        };
        let part = parts.part(method, t.id, part_amount, status, &format!("late{}", t.id));
        repo::claim_writes::insert_part(db, part).await?;
        left -= part_amount;
    }
    if left.is_positive() {
        return Err(ServiceError::Corrupt(format!(
            "order {} was paid {left} more than any of its cancels took off what it owed",
            order.order_number
        )));
    }
    Ok(())
}

/// The refund row, with every figure of the pricing.
async fn insert_refund(
    db: &impl ConnectionTrait,
    at: ClaimInOrder<'_>,
    p: &PricedRefund,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let row = refund::ActiveModel {
        claim_id: Set(at.claim.id),
        order_id: Set(at.order.id),
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
    };
    Ok(repo::claims::insert_refund(db, row).await?)
}

/// Closes the claim's units on their lines (cancelled or returned; no longer claimed when they
/// were); a line with no active unit left is CANCELLED, or RETURNED once any unit came back.
/// Returns the lines whose status changed.
async fn close_units(
    db: &impl ConnectionTrait,
    at: ClaimInOrder<'_>,
    were_claimed: bool,
) -> Result<Vec<(i64, LineStatus)>, ServiceError> {
    let cancel = at.claim.claim_type()? == ClaimType::Cancel;
    let mut line_changes = Vec::new();
    for item in at.items {
        let Some(line) = at.lines.iter().find(|l| l.id == item.line_id) else {
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
        let claimed = if were_claimed { -k } else { 0 };
        let stored = status.map(LineStatus::as_str);
        repo::claims::adjust_line(db, line.id, claimed, cancelled, returned, stored).await?;
        line_changes.extend(status.map(|s| (line.id, s)));
    }
    Ok(line_changes)
}

/// The parts of one refund: each keyed for the gateway by the claim and the payment.
struct Parts<'a> {
    refund_id: i64,
    claim: &'a claim::Model,
    now: DateTime<Utc>,
}

impl Parts<'_> {
    fn part(
        &self,
        method: TenderMethod,
        tender: i64,
        amount: Won,
        status: RefundStatus,
        suffix: &str,
    ) -> NewRefundPart {
        NewRefundPart {
            refund_id: self.refund_id,
            claim_id: self.claim.id,
            tender_id: Some(tender),
            method,
            amount,
            status,
            idempotency_key: format!("{}-{suffix}", self.claim.claim_number),
            now: self.now,
        }
    }
}

/// Points go back at once, counted on the order's points tender (its CHECK keeps restored ≤
/// used).
async fn restore_points(
    db: &impl ConnectionTrait,
    order: &order::Model,
    parts: &Parts<'_>,
    points: Won,
) -> Result<(), ServiceError> {
    let now = parts.now;
    repo::claims::restore_points(db, order.customer_id, order.id, points.amount(), now).await?;
    let tenders = repo::orders::tenders_of_orders(db, &[order.id]).await?;
    let mut points_tender = None;
    for t in &tenders {
        if t.method()? == TenderMethod::Points {
            points_tender = Some(t.id);
        }
    }
    let Some(points_tender) = points_tender else {
        return Err(ServiceError::Corrupt(format!(
            "order {} restores points it never used",
            order.order_number
        )));
    };
    repo::claims::add_refunded(db, points_tender, points.amount()).await?;
    let part = parts.part(
        TenderMethod::Points,
        points_tender,
        points,
        RefundStatus::Succeeded,
        "points",
    );
    repo::claim_writes::insert_part(db, part).await?;
    Ok(())
}

/// Which of its order's payments a tender is: one tied to a claim was that claim's fee.
pub fn payment_role(t: &tender::Model) -> PaymentRole {
    if t.claim_id.is_some() {
        PaymentRole::Fee
    } else {
        PaymentRole::Order
    }
}

/// Cash goes back to the payments it came from (`money.md`, "Payment refunds"): one PENDING
/// part per payment, ACCOUNT_REQUIRED for a bank transfer while the customer has no refund
/// account.
async fn pay_cash_back(
    db: &impl ConnectionTrait,
    order: &order::Model,
    parts: &Parts<'_>,
    cash: Won,
) -> Result<(), ServiceError> {
    let tenders = repo::orders::tenders_of_orders(db, &[order.id]).await?;
    let mut balances = Vec::new();
    for t in &tenders {
        if t.method()? == TenderMethod::Points || t.status()? != TenderStatus::Paid {
            continue;
        }
        balances.push(PaymentBalance {
            id: t.id,
            role: payment_role(t),
            paid: Won::new(t.amount),
            refunded: Won::new(t.refunded_amount),
            created: t.id,
        });
    }
    let routed = route_cash(cash, &balances).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    let method_of = |tender: i64| -> Result<TenderMethod, ServiceError> {
        let stored = tenders.iter().find(|t| t.id == tender);
        Ok(stored
            .map(|t| t.method())
            .transpose()?
            .unwrap_or(TenderMethod::Card))
    };
    // Only a bank transfer's refund needs the customer's account.
    let to_transfer = routed
        .iter()
        .map(|cash| method_of(cash.payment))
        .collect::<Result<Vec<_>, _>>()?
        .contains(&TenderMethod::BankTransfer);
    let has_account = to_transfer
        && repo::catalog::customers_by_ids(db, &[order.customer_id])
            .await?
            .into_iter()
            .next()
            .is_some_and(|cu| cu.refund_account_number.is_some());
    for cash in routed {
        let method = method_of(cash.payment)?;
        let status = if method == TenderMethod::BankTransfer && !has_account {
            RefundStatus::AccountRequired
        } else {
            RefundStatus::Pending
        };
        repo::claims::add_refunded(db, cash.payment, cash.amount.amount()).await?;
        let suffix = format!("pay{}", cash.payment);
        let part = parts.part(method, cash.payment, cash.amount, status, &suffix);
        repo::claim_writes::insert_part(db, part).await?;
    }
    Ok(())
}

/// A refund repair (`retryRefund`, `resolveRefundManually`) an OPERATOR was refused because no
/// cash part of the refund is FAILED: the refusal goes on to say where each outstanding part
/// stands and when the repair becomes allowed. Both repairs act on FAILED parts only
/// (`money.md`): a part still being retried may yet be paid by the gateway, and paying it by
/// hand as well would refund it twice. Any other refusal is returned as it is.
pub(super) fn explain_refund_wait(
    refused: ServiceError,
    action: ClaimAction,
    role: Role,
    parts: &[refund_part::Model],
    max_attempts: i32,
) -> ServiceError {
    let repair = matches!(
        action,
        ClaimAction::RetryRefund | ClaimAction::ResolveRefundManually
    );
    let ServiceError::User(mut e) = refused else {
        return refused;
    };
    if !repair || role != Role::Operator || e.code != UserErrorCode::ClaimActionNotAllowed {
        return e.into();
    }
    let Ok(waiting) = waiting_parts(parts, max_attempts) else {
        return e.into();
    };
    e.message = format!(
        "{}. {}",
        e.message,
        repair_wait(action, &waiting, max_attempts)
    );
    e.into()
}

/// A cash part the refund still waits for, as a refusal words it.
struct Waiting {
    /// `CARD part of 13000원`.
    what: String,
    /// Where it stands.
    state: WaitState,
}

enum WaitState {
    /// PENDING: `attempts` made (0: none yet), the next due at `next`, and the last, if
    /// every one fails, at `last` (the job runs at or after these times).
    Retrying {
        attempts: i32,
        last_error: Option<String>,
        next: DateTime<Utc>,
        last: DateTime<Utc>,
    },
    /// ACCOUNT_REQUIRED.
    AccountRequired,
}

/// The cash parts not yet settled; `Err` when one is FAILED (the refusal has another cause).
fn waiting_parts(parts: &[refund_part::Model], max_attempts: i32) -> Result<Vec<Waiting>, ()> {
    let mut waiting = Vec::new();
    for part in parts {
        let (Ok(method), Ok(status)) = (part.method(), part.status()) else {
            return Err(());
        };
        if method == TenderMethod::Points {
            continue;
        }
        let what = format!("{} part of {}", method.as_str(), Won::new(part.amount));
        let state = match status {
            RefundStatus::Succeeded => continue,
            RefundStatus::Failed => return Err(()),
            RefundStatus::AccountRequired => WaitState::AccountRequired,
            RefundStatus::Pending => {
                let next = part.next_attempt_at.unwrap_or(part.updated_at);
                // The attempt due at `next` is number attempts + 1; each failure but the
                // last waits its backoff before the following one.
                let last = (part.attempts + 1..max_attempts)
                    .fold(next, |at, failed| at + retry_backoff(failed));
                WaitState::Retrying {
                    attempts: part.attempts,
                    last_error: part.last_error.clone(),
                    next,
                    last,
                }
            }
        };
        waiting.push(Waiting { what, state });
    }
    Ok(waiting)
}

/// Why `action` waits for these parts, and until when.
fn repair_wait(action: ClaimAction, waiting: &[Waiting], max_attempts: i32) -> String {
    let name = action.mutation_name();
    if waiting.is_empty() {
        return format!(
            "No cash part of the claim's refund is outstanding (each is paid, or there is \
             none): {name} has nothing to act on"
        );
    }
    let at = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut said = Vec::new();
    let mut earliest: Option<DateTime<Utc>> = None;
    for w in waiting {
        said.push(match &w.state {
            WaitState::Retrying {
                attempts,
                last_error,
                next,
                last,
            } => {
                earliest = Some(earliest.map_or(*last, |e| e.min(*last)));
                let tried = match (attempts, last_error) {
                    (0, _) => "no attempt yet".to_owned(),
                    (n, Some(error)) => format!("attempt {n} of {max_attempts} failed: {error}"),
                    (n, None) => format!("attempt {n} of {max_attempts} failed"),
                };
                format!(
                    "its {} is being paid by the SYSTEM ({tried}; attempt {} is due at {})",
                    w.what,
                    attempts + 1,
                    at(next)
                )
            }
            WaitState::AccountRequired => format!(
                "its {} waits for the customer's refund account (setRefundAccount)",
                w.what
            ),
        });
    }
    let why = match action {
        ClaimAction::ResolveRefundManually => {
            "Only a FAILED part is resolved by hand: one still being tried may yet be paid by \
             the gateway, and would then be refunded twice"
        }
        _ => "Only a FAILED part is retried by hand: these are still being tried",
    };
    let when = match earliest {
        Some(t) => format!(
            "{name} becomes allowed if a part fails its last attempt ({max_attempts} of \
             {max_attempts}), due at the earliest at {}",
            at(&t)
        ),
        None => format!("{name} becomes allowed once a part has failed all its attempts"),
    };
    format!(
        "No part of the refund has FAILED: {}. {why}. {when}. (Attempts are made by the SYSTEM \
         job PAY_REFUNDS, every job interval or by `runSystemJobs`, once they are due; the times \
         are UTC.)",
        said.join("; ")
    )
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
    let status = c.status()?;
    if !status.is_refunding() {
        return Ok(());
    }
    let parts = repo::claims::parts_of_claims(app.db.conn(), &[claim_id]).await?;
    for part in &parts {
        if part.status()? != RefundStatus::Succeeded {
            return Ok(());
        }
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

pub(super) fn stored_priced(c: &claim::Model, r: &refund::Model) -> PricedRefund {
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

/// Stores the ledger changes of a priced refund or a paid fee: the shipping group's shipping
/// paid and the coupon's clawback.
pub(super) async fn store_ledger(
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
