//! Claims as the API shows them: status, hold, items, collection, refund with its parts, the
//! timeline, and the actions the viewer may take now (drawn from the transition table).

use async_graphql::{Context, Enum, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{claim, claim_event, claim_item, refund, refund_part};

use super::claim_enums::{
    ClaimAction, ClaimReason, ClaimStatus, ClaimType, CollectionMethod, Fault, HoldReason,
    PaymentRole, RefundState, RefundStatus,
};
use super::enums::{Role as RoleEnum, TenderMethod};
use super::order::{Order, OrderLine, Seller, Tender};
use crate::domain::claim::{self as domain, ActionKind};
use crate::domain::money::Won;
use crate::domain::order::UnknownName;
use crate::error::{to_graphql_error, ServiceError};
use crate::graphql::ids::{to_id, Kind};
use crate::graphql::loaders::{
    ClaimId, EventsOf, ItemsOf, LineId, OrderId, PartsOf, RefundOf, SellerId, TendersOf,
};
use crate::graphql::{app, load, loaders, viewer};
use crate::repo::stored::{StoredClaim, StoredClaimEvent, StoredRefundPart};
use crate::service::claims::{facts_of, payment_role, refund_facts, stored_deductions};

fn corrupt(what: &str, value: &str) -> async_graphql::Error {
    to_graphql_error(ServiceError::Corrupt(format!("unknown {what} `{value}`")))
}

/// A stored code read back (`repo::stored`).
fn stored<T>(value: Result<T, UnknownName>) -> Result<T> {
    value.map_err(crate::graphql::corrupt)
}

/// A claim (클레임): a cancel, return or exchange over units of one seller's lines.
pub struct Claim(pub claim::Model);

impl Claim {
    fn status_of(&self) -> Result<domain::ClaimStatus> {
        stored(self.0.status())
    }

    fn hold_state(&self) -> Result<domain::HoldState> {
        stored(self.0.hold())
    }
}

/// A claim's hold (보류).
#[derive(SimpleObject)]
pub struct Hold {
    /// `HELD` (in force) or `HOLD_PENDING` (a seller's hold on collected goods waiting for an
    /// operator).
    pub phase: String,
    /// Why.
    pub reason: HoldReason,
    /// Who placed it.
    pub placed_by: RoleEnum,
    /// The note given with it.
    pub memo: Option<String>,
}

/// A courier leg: collection, reshipment or re-delivery.
#[derive(SimpleObject)]
pub struct CourierLeg {
    /// The courier (택배사).
    pub courier: String,
    /// 운송장 번호.
    pub tracking_number: String,
}

fn leg(courier: &Option<String>, number: &Option<String>) -> Option<CourierLeg> {
    Some(CourierLeg {
        courier: courier.clone()?,
        tracking_number: number.clone()?,
    })
}

#[Object]
impl Claim {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::Claim, self.0.id)
    }

    /// 클레임 번호: the order number and the claim's sequence in it, e.g. `20261124-000123-C1`.
    async fn claim_number(&self) -> &str {
        &self.0.claim_number
    }

    /// Cancel, return or exchange.
    async fn r#type(&self) -> Result<ClaimType> {
        Ok(stored(self.0.claim_type())?.into())
    }

    /// Where the claim is.
    async fn status(&self) -> Result<ClaimStatus> {
        Ok(self.status_of()?.into())
    }

    /// Why it was made.
    async fn reason(&self) -> Result<ClaimReason> {
        Ok(stored(self.0.reason())?.into())
    }

    /// The customer's words.
    async fn memo(&self) -> Option<&str> {
        self.0.memo.as_deref()
    }

    /// Who caused it (귀책), decided when it was requested (a cancel's is fixed).
    async fn fault(&self) -> Result<Fault> {
        Ok(stored(self.0.fault())?.into())
    }

    /// The hold, if any.
    async fn hold(&self) -> Result<Option<Hold>> {
        let state = self.hold_state()?;
        Ok(state
            .reason()
            .zip(state.placed_by())
            .map(|(reason, by)| Hold {
                phase: state.phase_str().to_owned(),
                reason: reason.into(),
                placed_by: by.into(),
                memo: self.0.hold_memo.clone(),
            }))
    }

    /// The order.
    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        Ok(load(
            loaders(ctx)?
                .claims
                .load_one(OrderId(self.0.order_id))
                .await,
        )?
        .map(Order))
    }

    /// The seller whose lines it covers.
    async fn seller(&self, ctx: &Context<'_>) -> Result<Option<Seller>> {
        Ok(load(
            loaders(ctx)?
                .sellers
                .load_one(SellerId(self.0.seller_id))
                .await,
        )?
        .map(Seller))
    }

    /// The units claimed, per line.
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<ClaimItemView>> {
        Ok(
            load(loaders(ctx)?.claims.load_one(ItemsOf(self.0.id)).await)?
                .unwrap_or_default()
                .into_iter()
                .map(ClaimItemView)
                .collect(),
        )
    }

    /// How the goods come back: the seller's courier collects them (방문 수거) or the customer
    /// ships them (직접 발송).
    async fn collection_method(&self) -> Result<CollectionMethod> {
        Ok(stored(self.0.collection_method())?.into())
    }

    /// The collection's courier and tracking number (booked pickup, or recorded on collection).
    async fn collection(&self) -> Option<CourierLeg> {
        leg(&self.0.collection_courier, &self.0.collection_tracking)
    }

    /// True when the claim came from a conversion with the goods already back: it counts as
    /// collected.
    async fn carries_collection(&self) -> bool {
        self.0.carries_collection
    }

    /// The replacement's shipment (재배송), for exchanges.
    async fn reshipment(&self) -> Option<CourierLeg> {
        leg(&self.0.reship_courier, &self.0.reship_tracking)
    }

    /// The original sent back to the customer after a rejection of collected goods.
    async fn redelivery(&self) -> Option<CourierLeg> {
        leg(&self.0.redelivery_courier, &self.0.redelivery_tracking)
    }

    /// Why it was rejected when the table knows (`SHIPPED`, `NOT_RECEIVED`).
    async fn rejection_code(&self) -> Option<&str> {
        self.0.rejection_code.as_deref()
    }

    /// Whether the returned goods went back into stock.
    async fn restocked(&self) -> Option<bool> {
        self.0.restock
    }

    /// The claim this one was converted from.
    async fn converted_from(&self, ctx: &Context<'_>) -> Result<Option<Claim>> {
        let Some(id) = self.0.converted_from_id else {
            return Ok(None);
        };
        Ok(load(loaders(ctx)?.claims.load_one(ClaimId(id)).await)?.map(Claim))
    }

    /// The claim this one was converted into.
    async fn converted_to(&self, ctx: &Context<'_>) -> Result<Option<Claim>> {
        let Some(id) = self.0.converted_to_id else {
            return Ok(None);
        };
        Ok(load(loaders(ctx)?.claims.load_one(ClaimId(id)).await)?.map(Claim))
    }

    /// 교환 배송비: the round trip a customer-fault exchange costs (0 when waived or seller
    /// fault).
    async fn exchange_fee(&self) -> Won {
        Won::new(self.0.exchange_fee)
    }

    /// Fees the customer has paid for this claim.
    async fn fee_paid(&self) -> Won {
        Won::new(self.0.fee_paid)
    }

    /// The order id to open the payment widget with when paying this claim's fee by card
    /// (`payClaimFee`): the claim number and `-FEE`.
    async fn fee_payment_order_id(&self) -> String {
        crate::service::claims::fee_order_id(&self.0.claim_number)
    }

    /// Which policy decided fault and fees (the built-in default, or the seller's plugin with
    /// its version and SHA-256), and what it said, hook by hook.
    async fn policy_decision(&self) -> Result<super::plugin::PolicyDecision> {
        serde_json::from_str(&self.0.policy_decision)
            .map_err(|e| corrupt("policy decision", &e.to_string()))
    }

    /// The refund, once the claim's units are closed and priced.
    async fn refund(&self, ctx: &Context<'_>) -> Result<Option<Refund>> {
        Ok(
            load(loaders(ctx)?.claims.load_one(RefundOf(self.0.id)).await)?
                .map(|r| Refund(r, self.0.id)),
        )
    }

    /// One event per transition, oldest first (who, what, from, to, when).
    async fn timeline(&self, ctx: &Context<'_>) -> Result<Vec<ClaimEventView>> {
        Ok(
            load(loaders(ctx)?.claims.load_one(EventsOf(self.0.id)).await)?
                .unwrap_or_default()
                .into_iter()
                .map(ClaimEventView)
                .collect(),
        )
    }

    /// The mutations the viewer may take now, from the transition table (draw buttons from
    /// these). Empty for analysts.
    async fn available_actions(&self, ctx: &Context<'_>) -> Result<Vec<ClaimAction>> {
        let Some(actor) = viewer(ctx) else {
            return Ok(Vec::new());
        };
        let parts =
            load(loaders(ctx)?.claims.load_one(PartsOf(self.0.id)).await)?.unwrap_or_default();
        let facts = stored(facts_of(&self.0, &parts))?;
        Ok(domain::available_actions(&facts, actor.role())
            .into_iter()
            .filter(|a| a.kind() == ActionKind::Mutation)
            .map(ClaimAction::from)
            .collect())
    }

    /// Increases with every transition; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When it was requested.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When it reached a terminal status.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// Units of one line in a claim.
pub struct ClaimItemView(pub claim_item::Model);

#[Object(name = "ClaimItem")]
impl ClaimItemView {
    /// The line.
    async fn line(&self, ctx: &Context<'_>) -> Result<Option<OrderLine>> {
        Ok(load(loaders(ctx)?.claims.load_one(LineId(self.0.line_id)).await)?.map(OrderLine))
    }

    /// The line's global ID.
    async fn line_id(&self) -> ID {
        to_id(Kind::OrderLine, self.0.line_id)
    }

    /// Units claimed.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// Exchanges: the option sent instead.
    async fn replacement_option_id(&self) -> Option<ID> {
        self.0
            .replacement_option_id
            .map(|o| to_id(Kind::ProductOption, o))
    }
}

/// One transition of a claim.
pub struct ClaimEventView(pub claim_event::Model);

#[Object(name = "ClaimEvent")]
impl ClaimEventView {
    /// The claim's version after this transition.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Who: CUSTOMER, SELLER, OPERATOR or SYSTEM.
    async fn actor(&self) -> Result<RoleEnum> {
        Ok(stored(self.0.actor_role())?.into())
    }

    /// What happened.
    async fn action(&self) -> Result<ClaimAction> {
        Ok(stored(self.0.action())?.into())
    }

    /// The status before (null for the event that opened the claim).
    #[graphql(name = "fromStatus")]
    async fn status_before(&self) -> Result<Option<ClaimStatus>> {
        Ok(stored(self.0.status_before())?.map(Into::into))
    }

    /// The status after.
    async fn to_status(&self) -> Result<ClaimStatus> {
        Ok(stored(self.0.status_after())?.into())
    }

    /// Details as JSON (reason, tracking, refund figures, memo; `faultChange` and `feeChange`
    /// as below).
    async fn payload(&self) -> &str {
        &self.0.payload
    }

    /// When this transition moved the claim's fault (귀책) from one party to the other: from
    /// whom, to whom, and why (e.g. CUSTOMER → SELLER because the seller approved a cancel
    /// for want of stock). The claim's `reason` stays what the customer gave. Null when the
    /// fault did not move.
    async fn fault_change(&self) -> Result<Option<FaultChange>> {
        Ok(terms_of(&self.0.payload)?.fault_change.map(Into::into))
    }

    /// When this transition changed the fees the customer bears for the claim: what they
    /// would have been had nothing changed, what they are now, and why (e.g. the
    /// initial-shipping charge dropped from a cancel that became the seller's fault). Null
    /// when the fees did not change.
    async fn fee_change(&self) -> Result<Option<FeeChange>> {
        Ok(terms_of(&self.0.payload)?.fee_change.map(Into::into))
    }

    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The fault and fee changes a timeline event's payload records (`domain::claim::change`).
fn terms_of(payload: &str) -> Result<domain::TermsChange> {
    serde_json::from_str(payload).map_err(|e| {
        to_graphql_error(ServiceError::Corrupt(format!(
            "a timeline event's payload does not read: {e}"
        )))
    })
}

/// Why a transition moved a claim's fault or fees.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::ChangeCause", name = "ClaimChangeCause")]
pub enum ClaimChangeCause {
    /// The seller approved a cancel request for want of stock (품절, `approveClaim` with
    /// `outOfStock`): a SELLER-fault cancel, whatever reason the customer gave.
    OutOfStock,
    /// The seller cannot deliver the replacement (`refundExchange`): the exchange is refunded
    /// as a SELLER-fault return.
    ReplacementUndeliverable,
    /// The claim was opened by a conversion (`convertClaim`): the seller's policy decided its
    /// fault and fees afresh (the event's `policyDecision`).
    Conversion,
}

/// A claim's fault moving from one party to the other (귀책 변경).
#[derive(SimpleObject, Clone, Copy)]
pub struct FaultChange {
    /// The fault before the transition.
    pub from: Fault,
    /// The fault after it.
    pub to: Fault,
    /// Why it moved.
    pub because: ClaimChangeCause,
}

impl From<domain::FaultChange> for FaultChange {
    fn from(c: domain::FaultChange) -> Self {
        FaultChange {
            from: c.from.into(),
            to: c.to.into(),
            because: c.because.into(),
        }
    }
}

/// The fees a customer bears for a claim, before and after a transition changed them: the
/// deductions from the claim's refund when the transition prices one (initial shipping,
/// return shipping, coupon clawback), the claim's exchange fee otherwise.
#[derive(SimpleObject, Clone, Copy)]
pub struct FeeChange {
    /// What the customer would have borne had nothing changed.
    pub before: Won,
    /// What the customer bears now.
    pub after: Won,
    /// Why they changed.
    pub because: ClaimChangeCause,
}

impl From<domain::FeeChange> for FeeChange {
    fn from(c: domain::FeeChange) -> Self {
        FeeChange {
            before: c.before,
            after: c.after,
            because: c.because.into(),
        }
    }
}

/// A deduction from a refund (차감).
#[derive(SimpleObject)]
pub struct RefundDeduction {
    /// `INITIAL_SHIPPING` (무료배송 조건 미달), `RETURN_SHIPPING` (반품 배송비) or
    /// `COUPON_CLAWBACK` (쿠폰 최소주문금액 미달).
    pub kind: String,
    /// Amount.
    pub amount: Won,
}

/// A claim's refund, priced once when its units closed (`money.md`), and its claim's id.
pub struct Refund(pub refund::Model, pub i64);

#[Object]
impl Refund {
    /// Cash shares of the claimed units.
    async fn items_cash(&self) -> Won {
        Won::new(self.0.items_cash)
    }

    /// Points shares of the claimed units.
    async fn items_points(&self) -> Won {
        Won::new(self.0.items_points)
    }

    /// Shipping refunded (the group's paid shipping, once nothing of it ships).
    async fn shipping_refund(&self) -> Won {
        Won::new(self.0.shipping_refund_cash + self.0.shipping_refund_points)
    }

    /// Coupon shares given back after an earlier clawback.
    async fn clawback_returned(&self) -> Won {
        Won::new(self.0.clawback_returned_cash + self.0.clawback_returned_points)
    }

    /// An exchange fee paid before a conversion, credited to this refund.
    async fn credit(&self) -> Won {
        Won::new(self.0.credit)
    }

    /// Deductions in the order they applied.
    async fn deductions(&self) -> Vec<RefundDeduction> {
        stored_deductions(&self.0)
            .into_iter()
            .map(|(kind, amount)| RefundDeduction {
                kind: serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                amount,
            })
            .collect()
    }

    /// What the deductions exceed: owed by the customer (0 once paid or waived).
    async fn fee_due(&self) -> Won {
        Won::new(self.0.fee_due)
    }

    /// Cash refunded to payments.
    async fn cash(&self) -> Won {
        Won::new(self.0.cash)
    }

    /// Points restored.
    async fn points(&self) -> Won {
        Won::new(self.0.points)
    }

    /// Before a bank transfer's deposit: what the amount due was lowered by instead of cash.
    async fn due_reduced(&self) -> Won {
        Won::new(self.0.due_reduced)
    }

    /// True when the order coupon went back to the customer.
    async fn coupon_restored(&self) -> bool {
        self.0.coupon_restored
    }

    /// `AWAITING_FEE` while the customer owes a fee on it (`feeDue` above 0: nothing is paid
    /// back until `payClaimFee` or `waiveClaimFee`); then `SUCCEEDED` when every cash part
    /// has been paid, else `FAILED`, `ACCOUNT_REQUIRED` or `PENDING` (the most urgent of its
    /// cash parts; points are restored when priced and never wait).
    async fn status(&self, ctx: &Context<'_>) -> Result<RefundState> {
        let parts = load(loaders(ctx)?.claims.load_one(PartsOf(self.1)).await)?.unwrap_or_default();
        let fee_owed = self.0.fee_due > 0;
        Ok(stored(refund_facts(&parts))?.state(fee_owed).into())
    }

    /// Its movements: points restored, and cash back to each payment.
    async fn parts(&self, ctx: &Context<'_>) -> Result<Vec<RefundPart>> {
        Ok(load(loaders(ctx)?.claims.load_one(PartsOf(self.1)).await)?
            .unwrap_or_default()
            .into_iter()
            .map(|p| RefundPart(p, self.0.order_id))
            .collect())
    }
}

/// One movement of a refund, and the id of the order whose payment it goes back to.
pub struct RefundPart(pub refund_part::Model, pub i64);

impl RefundPart {
    /// The payment it pays back, read with the order's other tenders (one batch for a page).
    async fn stored_tender(&self, ctx: &Context<'_>) -> Result<Option<entity::tender::Model>> {
        let Some(id) = self.0.tender_id else {
            return Ok(None);
        };
        let tenders = load(loaders(ctx)?.lines.load_one(TendersOf(self.1)).await)?;
        Ok(tenders.unwrap_or_default().into_iter().find(|t| t.id == id))
    }
}

#[Object]
impl RefundPart {
    /// Points restored, or cash back to a card or a bank account.
    async fn method(&self) -> Result<TenderMethod> {
        Ok(stored(self.0.method())?.into())
    }

    /// Amount.
    async fn amount(&self) -> Won {
        Won::new(self.0.amount)
    }

    /// Where it stands: `FAILED` after its retries.
    async fn status(&self) -> Result<RefundStatus> {
        Ok(stored(self.0.status())?.into())
    }

    /// The payment it pays back: the order's card, transfer or points, or a claim's fee
    /// payment (`tender.claim`). Null for a SELLER, who sees no payments.
    async fn tender(&self, ctx: &Context<'_>) -> Result<Option<Tender>> {
        if !Order::sees_money(ctx) {
            return Ok(None);
        }
        Ok(self.stored_tender(ctx).await?.map(Tender))
    }

    /// Whether it pays back the order's own payment (ORDER) or a claim's fee payment (FEE):
    /// cash goes to the order's payment first, then to fee payments, the latest first
    /// (`money.md`).
    async fn payment_role(&self, ctx: &Context<'_>) -> Result<PaymentRole> {
        let tender = self.stored_tender(ctx).await?.ok_or_else(|| {
            to_graphql_error(ServiceError::Corrupt(format!(
                "refund part {} names no payment of its order",
                self.0.id
            )))
        })?;
        Ok(payment_role(&tender).into())
    }

    /// The gateway's reference (or the outside reference when resolved manually).
    async fn gateway_reference(&self) -> Option<&str> {
        self.0.gateway_reference.as_deref()
    }

    /// Gateway attempts so far (since the last `retryRefund`, which starts them again).
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// Attempts the SYSTEM makes before the part is FAILED (`--refund-max-attempts`).
    async fn max_attempts(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(app(ctx)?.jobs.refund_max_attempts.get())
    }

    /// When the SYSTEM sends it to the gateway next (the refund job runs after this time);
    /// null unless it is PENDING.
    async fn next_attempt_at(&self) -> Result<Option<DateTime<Utc>>> {
        let pending = stored(self.0.status())? == domain::RefundStatus::Pending;
        Ok(self.0.next_attempt_at.filter(|_| pending))
    }

    /// The last gateway error.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// True when an operator marked it paid outside the system.
    async fn manual(&self) -> bool {
        self.0.manual
    }

    /// The idempotency key sent to the gateway (derived from the claim and the payment).
    async fn idempotency_key(&self) -> &str {
        &self.0.idempotency_key
    }
}
