//! Typed writes of claims and refund parts: the services say what changes in the domain's
//! words ([`NewClaim`], [`ClaimUpdate`], [`NewRefundPart`], [`PartsUpdate`],
//! [`PartAttempt`]) and the stored codes are written here, once.

use chrono::{DateTime, Duration, Utc};
use entity::{claim, refund_part, tender};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryTrait, Set,
};

use crate::domain::actor::Role;
use crate::domain::claim::{
    role_code, ClaimStatus, CollectionMethod, Fault, HoldState, Reason, RefundStatus, RejectionCode,
};
use crate::domain::money::Won;
use crate::domain::order::{TenderMethod, TenderStatus};

/// A shipment's courier and tracking number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// The courier.
    pub courier: String,
    /// Its tracking number (송장번호).
    pub number: String,
}

impl From<(String, String)> for Tracking {
    fn from((courier, number): (String, String)) -> Tracking {
        Tracking { courier, number }
    }
}

/// The fees a policy decided for a claim (`money.md`), as stored on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimFees {
    /// The return shipping fee.
    pub return_fee: i64,
    /// Whether the initial shipping fee is charged back (free shipping broken).
    pub initial_shipping: bool,
    /// Whether a broken coupon minimum claws the discount back.
    pub coupon_clawback: bool,
    /// An exchange's fee, paid before the exchange goes on.
    pub exchange_fee: i64,
}

/// A claim to insert, opened on an order's lines or by a conversion.
#[derive(Debug, Clone)]
pub struct NewClaim {
    /// `<order number>-C<n>`.
    pub claim_number: String,
    /// The order.
    pub order_id: i64,
    /// The seller whose lines it covers.
    pub seller_id: i64,
    /// The order's customer.
    pub customer_id: i64,
    /// Its first status (its type follows).
    pub status: ClaimStatus,
    /// Why.
    pub reason: Reason,
    /// The customer's words.
    pub memo: Option<String>,
    /// Who is at fault.
    pub fault: Fault,
    /// Its first hold.
    pub hold: HoldState,
    /// Opened by a conversion with the goods already collected: the collection it carries.
    pub carried_collection: Option<Option<Tracking>>,
    /// How the goods come back.
    pub collection_method: CollectionMethod,
    /// The claim a conversion closed into this one.
    pub converted_from: Option<i64>,
    /// `Claim.policyDecision`.
    pub policy_decision: serde_json::Value,
    /// The fees the policy decided.
    pub fees: ClaimFees,
    /// An exchange fee already paid that this claim credits.
    pub fee_credit: Won,
    /// The role that opened it.
    pub requested_by: Role,
    /// When.
    pub now: DateTime<Utc>,
}

/// Inserts a claim and returns its row.
pub async fn insert_claim(db: &impl ConnectionTrait, new: NewClaim) -> Result<claim::Model, DbErr> {
    let collection = new.carried_collection.clone().flatten();
    let mut row = claim::ActiveModel {
        claim_number: Set(new.claim_number),
        order_id: Set(new.order_id),
        seller_id: Set(new.seller_id),
        customer_id: Set(new.customer_id),
        claim_type: Set(new.status.claim_type().as_str().to_owned()),
        status: Set(new.status.as_str().to_owned()),
        reason: Set(new.reason.as_str().to_owned()),
        memo: Set(new.memo),
        fault: Set(new.fault.as_str().to_owned()),
        hold_memo: Set(None),
        carries_collection: Set(new.carried_collection.is_some()),
        rejected_from: Set(None),
        rejection_code: Set(None),
        collection_method: Set(new.collection_method.as_str().to_owned()),
        collection_courier: Set(collection.as_ref().map(|t| t.courier.clone())),
        collection_tracking: Set(collection.map(|t| t.number)),
        reship_courier: Set(None),
        reship_tracking: Set(None),
        redelivery_courier: Set(None),
        redelivery_tracking: Set(None),
        converted_from_id: Set(new.converted_from),
        converted_to_id: Set(None),
        policy_decision: Set(new.policy_decision.to_string()),
        return_fee: Set(new.fees.return_fee),
        initial_shipping_applies: Set(new.fees.initial_shipping),
        coupon_clawback_applies: Set(new.fees.coupon_clawback),
        exchange_fee: Set(new.fees.exchange_fee),
        fee_paid: Set(0),
        fee_credit: Set(new.fee_credit.amount()),
        restock: Set(None),
        requested_by: Set(role_code(new.requested_by).to_owned()),
        requested_at: Set(new.now),
        updated_at: Set(new.now),
        closed_at: Set(new.status.is_terminal().then_some(new.now)),
        version: Set(1),
        ..Default::default()
    };
    set_hold(&mut row, new.hold, None);
    claim::Entity::insert(row).exec_with_returning(db).await
}

/// What a transition changes on a claim, in the domain's words; `None` leaves a column as it
/// is. [`update_claim`] writes it under the version check.
#[derive(Debug, Clone, Default)]
pub struct ClaimUpdate {
    /// The new status.
    pub status: Option<ClaimStatus>,
    /// The fault, when the transition moves it.
    pub fault: Option<Fault>,
    /// The hold after the transition, and the note placing it (kept while a hold lasts,
    /// cleared with it).
    pub hold: Option<(HoldState, Option<String>)>,
    /// Entering `*_REJECT_PENDING`: the status before the seller's rejection.
    pub rejected_from: Option<ClaimStatus>,
    /// Why the claim was rejected, when the table knows.
    pub rejection_code: Option<RejectionCode>,
    /// The claim closed for good.
    pub closed_at: Option<DateTime<Utc>>,
    /// Whether the inspected goods went back in stock.
    pub restock: Option<bool>,
    /// The collection: `Some(None)` forgets a booked pickup.
    pub collection: Option<Option<Tracking>>,
    /// The replacement's shipment.
    pub reship: Option<Tracking>,
    /// The original sent back to the customer.
    pub redelivery: Option<Tracking>,
    /// The exchange fee (a waiver cuts it to what was paid).
    pub exchange_fee: Option<Won>,
    /// The fee paid so far.
    pub fee_paid: Option<Won>,
    /// The claim a conversion opened from this one.
    pub converted_to: Option<i64>,
}

impl ClaimUpdate {
    /// The stored hold phase and reason after the update, given the claim's own.
    pub fn hold_after(&self, before: &claim::Model) -> (String, Option<String>) {
        match &self.hold {
            Some((hold, _)) => (
                hold.phase_str().to_owned(),
                hold.reason().map(|r| r.as_str().to_owned()),
            ),
            None => (before.hold_phase.clone(), before.hold_reason.clone()),
        }
    }

    fn into_active(self, now: DateTime<Utc>) -> claim::ActiveModel {
        let mut set = claim::ActiveModel {
            updated_at: Set(now),
            ..Default::default()
        };
        let text = |s: &str| Set(s.to_owned());
        if let Some(status) = self.status {
            set.status = text(status.as_str());
        }
        if let Some(fault) = self.fault {
            set.fault = text(fault.as_str());
        }
        if let Some((hold, memo)) = self.hold {
            set_hold(&mut set, hold, memo);
        }
        if let Some(from) = self.rejected_from {
            set.rejected_from = Set(Some(from.as_str().to_owned()));
        }
        if let Some(code) = self.rejection_code {
            set.rejection_code = Set(Some(code.as_str().to_owned()));
        }
        if let Some(at) = self.closed_at {
            set.closed_at = Set(Some(at));
        }
        if let Some(back) = self.restock {
            set.restock = Set(Some(back));
        }
        if let Some(collection) = self.collection {
            let (courier, number) = split(collection);
            set.collection_courier = Set(courier);
            set.collection_tracking = Set(number);
        }
        if let Some(reship) = self.reship {
            let (courier, number) = split(Some(reship));
            set.reship_courier = Set(courier);
            set.reship_tracking = Set(number);
        }
        if let Some(redelivery) = self.redelivery {
            let (courier, number) = split(Some(redelivery));
            set.redelivery_courier = Set(courier);
            set.redelivery_tracking = Set(number);
        }
        if let Some(fee) = self.exchange_fee {
            set.exchange_fee = Set(fee.amount());
        }
        if let Some(paid) = self.fee_paid {
            set.fee_paid = Set(paid.amount());
        }
        if let Some(id) = self.converted_to {
            set.converted_to_id = Set(Some(id));
        }
        set
    }
}

fn split(tracking: Option<Tracking>) -> (Option<String>, Option<String>) {
    match tracking {
        Some(t) => (Some(t.courier), Some(t.number)),
        None => (None, None),
    }
}

/// The stored hold columns; a memo given with a hold is kept while it lasts.
fn set_hold(set: &mut claim::ActiveModel, hold: HoldState, memo: Option<String>) {
    set.hold_phase = Set(hold.phase_str().to_owned());
    set.hold_reason = Set(hold.reason().map(|r| r.as_str().to_owned()));
    set.hold_by = Set(hold.placed_by().map(|r| role_code(r).to_owned()));
    if !hold.is_some() {
        set.hold_memo = Set(None);
    } else if memo.is_some() {
        set.hold_memo = Set(memo);
    }
}

/// Writes `update` if the claim is still at `version` (optimistic check on top of the order
/// lock), bumping the version. Returns the row as updated, or `None` when it moved on.
pub async fn update_claim(
    db: &impl ConnectionTrait,
    id: i64,
    version: i32,
    update: ClaimUpdate,
    now: DateTime<Utc>,
) -> Result<Option<claim::Model>, DbErr> {
    let mut set = update.into_active(now);
    set.version = Set(version + 1);
    let mut statement = claim::Entity::update_many()
        .set(set)
        .filter(claim::Column::Id.eq(id))
        .filter(claim::Column::Version.eq(version))
        .into_query();
    // The row as updated, in the same statement (SQLite ≥ 3.35 and PostgreSQL).
    statement.returning_all();
    let row = db
        .query_one(db.get_database_backend().build(&statement))
        .await?;
    row.map(|r| claim::Model::from_query_result(&r, ""))
        .transpose()
}

/// A refund part to insert: one movement of a refund (points restored, or cash back to one
/// payment).
#[derive(Debug, Clone)]
pub struct NewRefundPart {
    /// The refund it belongs to.
    pub refund_id: i64,
    /// The claim.
    pub claim_id: i64,
    /// The tender it pays back.
    pub tender_id: Option<i64>,
    /// How.
    pub method: TenderMethod,
    /// How much.
    pub amount: Won,
    /// Where it starts: points at SUCCEEDED, cash PENDING (or ACCOUNT_REQUIRED).
    pub status: RefundStatus,
    /// The gateway's idempotency key: a retried refund is paid once.
    pub idempotency_key: String,
    /// When; a cash part is due at once.
    pub now: DateTime<Utc>,
}

/// Inserts a refund part.
pub async fn insert_part(db: &impl ConnectionTrait, part: NewRefundPart) -> Result<(), DbErr> {
    refund_part::Entity::insert(refund_part::ActiveModel {
        refund_id: Set(part.refund_id),
        claim_id: Set(part.claim_id),
        tender_id: Set(part.tender_id),
        method: Set(part.method.as_str().to_owned()),
        amount: Set(part.amount.amount()),
        status: Set(part.status.as_str().to_owned()),
        idempotency_key: Set(part.idempotency_key),
        gateway_reference: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(Some(part.now)),
        manual: Set(false),
        memo: Set(None),
        updated_at: Set(part.now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

/// A repair of a claim's refund parts, taken by an operator or the customer.
#[derive(Debug, Clone)]
pub enum PartsUpdate {
    /// `retryRefund`: the FAILED parts go PENDING again, due now, their attempts reset.
    RetryFailed,
    /// `resolveRefundManually`: the FAILED parts were paid outside the system.
    ResolvedManually {
        /// The outside payment's reference.
        reference: String,
        /// The operator's note.
        memo: Option<String>,
    },
    /// `setRefundAccount`: the ACCOUNT_REQUIRED parts go PENDING, due now.
    AccountGiven,
}

/// Applies a repair to the claim's parts in the status it repairs.
pub async fn update_parts(
    db: &impl ConnectionTrait,
    claim_id: i64,
    update: PartsUpdate,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let status = |s: RefundStatus| Set(s.as_str().to_owned());
    let (from, set) = match update {
        PartsUpdate::RetryFailed => (
            RefundStatus::Failed,
            refund_part::ActiveModel {
                status: status(RefundStatus::Pending),
                attempts: Set(0),
                next_attempt_at: Set(Some(now)),
                ..Default::default()
            },
        ),
        PartsUpdate::ResolvedManually { reference, memo } => (
            RefundStatus::Failed,
            refund_part::ActiveModel {
                status: status(RefundStatus::Succeeded),
                manual: Set(true),
                gateway_reference: Set(Some(reference)),
                memo: Set(memo),
                ..Default::default()
            },
        ),
        PartsUpdate::AccountGiven => (
            RefundStatus::AccountRequired,
            refund_part::ActiveModel {
                status: status(RefundStatus::Pending),
                next_attempt_at: Set(Some(now)),
                ..Default::default()
            },
        ),
    };
    refund_part::Entity::update_many()
        .set(refund_part::ActiveModel {
            updated_at: Set(now),
            ..set
        })
        .filter(refund_part::Column::ClaimId.eq(claim_id))
        .filter(refund_part::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// How one attempt to pay a cash part back at the gateway went.
#[derive(Debug, Clone)]
pub enum PartAttempt {
    /// Paid; the gateway's reference.
    Paid {
        /// The gateway's reference.
        reference: String,
    },
    /// A bank transfer's refund with no valid refund account: ACCOUNT_REQUIRED until the
    /// customer gives one (`setRefundAccount`).
    AccountRequired {
        /// The gateway's error, for the operator.
        error: String,
    },
    /// Refused or unreachable; retried after a backoff until the attempts run out.
    Failed {
        /// The error, for the operator.
        error: String,
        /// True when it was the last attempt: the part is FAILED.
        last: bool,
    },
}

/// How long a part waits after its `attempts`-th failed attempt: 2^attempts seconds, at
/// most 2^12 (about 68 minutes).
pub fn retry_backoff(attempts: i32) -> Duration {
    Duration::seconds(1 << attempts.clamp(0, 12))
}

/// Records an attempt on a part that had made `attempts` before it.
pub async fn record_attempt(
    db: &impl ConnectionTrait,
    part_id: i64,
    attempts: i32,
    attempt: PartAttempt,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let attempts = attempts + 1;
    let set = match attempt {
        PartAttempt::Paid { reference } => refund_part::ActiveModel {
            status: Set(RefundStatus::Succeeded.as_str().to_owned()),
            gateway_reference: Set(Some(reference)),
            attempts: Set(attempts),
            last_error: Set(None),
            updated_at: Set(now),
            ..Default::default()
        },
        PartAttempt::AccountRequired { error } => refund_part::ActiveModel {
            status: Set(RefundStatus::AccountRequired.as_str().to_owned()),
            attempts: Set(attempts),
            last_error: Set(Some(error)),
            next_attempt_at: Set(None),
            updated_at: Set(now),
            ..Default::default()
        },
        PartAttempt::Failed { error, last } => {
            let status = if last {
                RefundStatus::Failed
            } else {
                RefundStatus::Pending
            };
            refund_part::ActiveModel {
                status: Set(status.as_str().to_owned()),
                attempts: Set(attempts),
                last_error: Set(Some(error)),
                next_attempt_at: Set(Some(now + retry_backoff(attempts))),
                updated_at: Set(now),
                ..Default::default()
            }
        }
    };
    refund_part::Entity::update_many()
        .set(set)
        .filter(refund_part::Column::Id.eq(part_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A payment of a claim's fee (a tender of the order tied to the claim).
#[derive(Debug, Clone)]
pub struct NewFeeTender {
    /// The order.
    pub order_id: i64,
    /// The claim whose fee it pays.
    pub claim_id: i64,
    /// Card (charged at once) or bank transfer (announced, confirmed on arrival).
    pub method: TenderMethod,
    /// Paid, or awaiting the deposit.
    pub status: TenderStatus,
    /// How much.
    pub amount: Won,
    /// The gateway's charge reference.
    pub reference: Option<String>,
    /// When.
    pub now: DateTime<Utc>,
}

/// Inserts a fee payment.
pub async fn insert_fee_tender(db: &impl ConnectionTrait, new: NewFeeTender) -> Result<(), DbErr> {
    let paid = new.status == TenderStatus::Paid;
    tender::ActiveModel {
        order_id: Set(new.order_id),
        method: Set(new.method.as_str().to_owned()),
        amount: Set(new.amount.amount()),
        status: Set(new.status.as_str().to_owned()),
        refunded_amount: Set(0),
        gateway_reference: Set(new.reference),
        paid_at: Set(paid.then_some(new.now)),
        created_at: Set(new.now),
        claim_id: Set(Some(new.claim_id)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
