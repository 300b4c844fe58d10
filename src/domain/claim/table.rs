//! The claim transition table of `claims.md` as data, and the pure lookups that read it.
//!
//! [`TRANSITIONS`] holds one [`Row`] per (statuses, action, actors, guard) of the contract:
//! cancel, refunding, return, exchange, hold, rejection after collection and conversion.
//! [`OPENINGS`] holds the rows keyed by an order line's status that open a claim. The engine
//! ([`decide`], [`open`]), the GraphQL `availableActions` field ([`available_actions`]) and the
//! generated docs (`docs.rs`) all read these two tables; no transition rule lives anywhere else.
//! Rows never overlap (a test checks it), so at most one row answers any question.

use super::super::actor::Role;
use super::change::{ChangeCause, FaultChange};
use super::status::{
    hold_blocks, ActionKind, ClaimAction, ClaimStatus, ClaimType, Fault, HoldReason, HoldState,
    LineStatus, Reason,
};

// ---------------------------------------------------------------------------------------------
// Building blocks of a row
// ---------------------------------------------------------------------------------------------

/// Every role, in the order the docs list them (`Role` itself lives in `actor.rs`).
pub const ROLES: [Role; 5] = [
    Role::Customer,
    Role::Seller,
    Role::Operator,
    Role::Analyst,
    Role::System,
];

/// The SCREAMING_SNAKE_CASE code of a role, as in messages and the GraphQL enum.
pub const fn role_code(role: Role) -> &'static str {
    match role {
        Role::Customer => "CUSTOMER",
        Role::Seller => "SELLER",
        Role::Operator => "OPERATOR",
        Role::Analyst => "ANALYST",
        Role::System => "SYSTEM",
    }
}

/// A set of roles allowed to take a row's action, as a bitset so rows stay `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Actors(u8);

impl Actors {
    /// The set of the given roles.
    pub const fn of(roles: &[Role]) -> Actors {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= Self::bit(roles[i]);
            i += 1;
        }
        Actors(bits)
    }

    const fn bit(role: Role) -> u8 {
        match role {
            Role::Customer => 1,
            Role::Seller => 2,
            Role::Operator => 4,
            Role::Analyst => 8,
            Role::System => 16,
        }
    }

    /// True when `role` is in the set.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }

    /// The roles in the set, in [`ROLES`] order.
    pub fn roles(self) -> impl Iterator<Item = Role> {
        ROLES.into_iter().filter(move |role| self.contains(*role))
    }
}

const CUSTOMER: Actors = Actors::of(&[Role::Customer]);
const SELLER: Actors = Actors::of(&[Role::Seller]);
const OPERATOR: Actors = Actors::of(&[Role::Operator]);
const SYSTEM: Actors = Actors::of(&[Role::System]);
const CUSTOMER_OPERATOR: Actors = Actors::of(&[Role::Customer, Role::Operator]);
const SELLER_OPERATOR: Actors = Actors::of(&[Role::Seller, Role::Operator]);
const CUSTOMER_SELLER_OPERATOR: Actors =
    Actors::of(&[Role::Customer, Role::Seller, Role::Operator]);
const SELLER_OPERATOR_SYSTEM: Actors = Actors::of(&[Role::Seller, Role::Operator, Role::System]);
const CUSTOMER_OPERATOR_SYSTEM: Actors =
    Actors::of(&[Role::Customer, Role::Operator, Role::System]);

/// The statuses a row applies from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusSet {
    /// Exactly these statuses.
    Only(&'static [ClaimStatus]),
    /// Every status but these (`AllExcept(&[])` is every status).
    AllExcept(&'static [ClaimStatus]),
    /// Every status in which a hold may exist ([`ClaimStatus::is_holdable`]).
    Holdable,
}

impl StatusSet {
    /// True when `status` is in the set.
    pub fn contains(self, status: ClaimStatus) -> bool {
        match self {
            StatusSet::Only(statuses) => statuses.contains(&status),
            StatusSet::AllExcept(statuses) => !statuses.contains(&status),
            StatusSet::Holdable => status.is_holdable(),
        }
    }

    /// The statuses of the set, in [`ClaimStatus::ALL`] order.
    pub fn statuses(self) -> impl Iterator<Item = ClaimStatus> {
        ClaimStatus::ALL
            .iter()
            .copied()
            .filter(move |status| self.contains(*status))
    }
}

const REFUNDING: &[ClaimStatus] = &[
    ClaimStatus::CancelRefunding,
    ClaimStatus::ReturnRefunding,
    ClaimStatus::ExchangeRefunding,
];

/// A condition on whether the claim's goods are back with the seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Goods {
    /// Either way.
    Any,
    /// Collected: the status is at or after COLLECTED, or the claim carries a collection from
    /// a conversion ("counts as collected in every row").
    Collected,
    /// Not collected.
    NotCollected,
}

/// A condition on the claim's hold. (Whether a hold in force makes the action wait is
/// decided separately, per action, by [`hold_blocks`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldGuard {
    /// Any hold state.
    Any,
    /// No hold at all, pending or in force.
    None,
    /// A seller's hold waiting for an operator (HOLD_PENDING).
    Pending,
    /// HELD, with any reason but RETURN_FEE_UNPAID.
    HeldNotFee,
    /// HELD, not RETURN_FEE_UNPAID, placed by the caller's role ("SELLER for its own hold").
    HeldNotFeeByCaller,
    /// HELD with RETURN_FEE_UNPAID.
    FeeHeld,
}

/// A condition on the parts of the claim's refund (`money.md`, "Payment refunds").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundGuard {
    /// Not looked at.
    Any,
    /// A cash part is FAILED after its retries.
    SomeFailed,
    /// A part is FAILED and no other is PENDING or ACCOUNT_REQUIRED: resolving the failed
    /// parts settles the refund.
    FailedNothingElseOutstanding,
    /// A part is FAILED and another is still PENDING or ACCOUNT_REQUIRED.
    FailedOthersOutstanding,
    /// A cash part waits for a refund account (ACCOUNT_REQUIRED).
    SomeAccountRequired,
    /// Every cash part has succeeded.
    AllSucceeded,
}

/// The facts a row requires besides status, action and actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guard {
    /// Whether the goods must be back.
    pub goods: Goods,
    /// What the hold must be.
    pub hold: HoldGuard,
    /// What the refund's parts must be.
    pub refund: RefundGuard,
}

impl Guard {
    /// No condition.
    pub const NONE: Guard = Guard {
        goods: Goods::Any,
        hold: HoldGuard::Any,
        refund: RefundGuard::Any,
    };

    /// True when the claim meets every condition, for an action taken by `role`.
    pub fn holds(&self, claim: &ClaimFacts, role: Role) -> bool {
        let goods = match self.goods {
            Goods::Any => true,
            Goods::Collected => claim.collected(),
            Goods::NotCollected => !claim.collected(),
        };
        let fee_hold = claim.hold.reason().is_some_and(HoldReason::is_fee_hold);
        let hold = match self.hold {
            HoldGuard::Any => true,
            HoldGuard::None => !claim.hold.is_some(),
            HoldGuard::Pending => matches!(claim.hold, HoldState::Pending { .. }),
            HoldGuard::HeldNotFee => claim.hold.is_held() && !fee_hold,
            HoldGuard::HeldNotFeeByCaller => {
                claim.hold.is_held() && !fee_hold && claim.hold.placed_by() == Some(role)
            }
            HoldGuard::FeeHeld => claim.hold.is_held() && fee_hold,
        };
        let parts = claim.refund;
        let outstanding = parts.pending || parts.account_required;
        let refund = match self.refund {
            RefundGuard::Any => true,
            RefundGuard::SomeFailed => parts.failed,
            RefundGuard::FailedNothingElseOutstanding => parts.failed && !outstanding,
            RefundGuard::FailedOthersOutstanding => parts.failed && outstanding,
            RefundGuard::SomeAccountRequired => parts.account_required,
            RefundGuard::AllSucceeded => !parts.failed && !outstanding,
        };
        goods && hold && refund
    }
}

/// Where a completing action leads, depending on how its refund settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Completion {
    /// The refund moved no money through a gateway (points only, or nothing): done at once.
    pub settled: ClaimStatus,
    /// Cash goes through a gateway: `*_REFUNDING` until every part succeeds.
    pub refunding: ClaimStatus,
    /// The fees exceed the refund; `None` where `money.md` rules a fee due out (cancels, and
    /// `refundExchange`, a SELLER-fault return).
    pub fee_due: Option<ClaimStatus>,
}

const CANCEL_COMPLETION: Completion = Completion {
    settled: ClaimStatus::CancelCompleted,
    refunding: ClaimStatus::CancelRefunding,
    fee_due: None,
};
const RETURN_COMPLETION: Completion = Completion {
    settled: ClaimStatus::ReturnCompleted,
    refunding: ClaimStatus::ReturnRefunding,
    fee_due: Some(ClaimStatus::ReturnAwaitingFee),
};
const EXCHANGE_REFUND_COMPLETION: Completion = Completion {
    settled: ClaimStatus::ExchangeRefunded,
    refunding: ClaimStatus::ExchangeRefunding,
    fee_due: None,
};

impl Completion {
    /// The statuses this completion may lead to.
    pub fn statuses(self) -> impl Iterator<Item = ClaimStatus> {
        [Some(self.settled), Some(self.refunding), self.fee_due]
            .into_iter()
            .flatten()
    }
}

/// The status a row leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// This status.
    To(ClaimStatus),
    /// The status does not change (hold management, refund repairs).
    Stay,
    /// The completion's status for the claim's [`Settlement`].
    Complete(Completion),
    /// `declineRejection`: the status the claim had before the seller's rejection
    /// ([`ClaimFacts::rejected_from`]).
    BeforeRejection,
}

/// What a row does to the claim's hold. A transition into a status that
/// [ends holds](ClaimStatus::ends_hold) clears any hold whatever the row says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldChange {
    /// The hold stays as it is.
    Keep,
    /// The caller's hold takes effect at once (HELD).
    Place,
    /// The caller's hold waits for an operator (HOLD_PENDING).
    PlacePending,
    /// The pending hold takes effect (HOLD_PENDING → HELD).
    Confirm,
    /// The hold ends.
    Clear,
}

impl HoldChange {
    /// The hold after the change. `placing` is the reason given to `holdClaim` (read only by
    /// `Place` and `PlacePending`; a hold placed without one is recorded as OTHER) and `by`
    /// the role placing it. The API offers only [`HoldReason::MANUAL`] reasons to `holdClaim`.
    pub fn apply(self, before: HoldState, placing: Option<HoldReason>, by: Role) -> HoldState {
        let reason = placing.unwrap_or(HoldReason::Other);
        match self {
            HoldChange::Keep => before,
            HoldChange::Place => HoldState::Held { reason, by },
            HoldChange::PlacePending => HoldState::Pending { reason, by },
            HoldChange::Confirm => match before {
                HoldState::Pending { reason, by } => HoldState::Held { reason, by },
                HoldState::None | HoldState::Held { .. } => before,
            },
            HoldChange::Clear => HoldState::None,
        }
    }
}

/// Why a rejection happened, when the table itself knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    /// The seller shipped the line: shipping wins over the cancel request.
    Shipped,
    /// The goods never arrived at the seller.
    NotReceived,
}

impl RejectionCode {
    /// `SHIPPED` or `NOT_RECEIVED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectionCode::Shipped => "SHIPPED",
            RejectionCode::NotReceived => "NOT_RECEIVED",
        }
    }
}

/// The claim a conversion opens, over the same units, linked both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvertedClaim {
    /// Its first status (`*_REQUESTED` of the other type: "starts again as requested").
    pub status: ClaimStatus,
    /// Whether it carries the old claim's collection (the goods are already back).
    pub carries_collection: bool,
    /// What opening it does, on the new claim.
    pub effects: &'static [OpeningEffect],
    /// Its first hold.
    pub hold: OpeningHold,
}

const EXCHANGE_FROM_UNCOLLECTED: ConvertedClaim = ConvertedClaim {
    status: ClaimStatus::ExchangeRequested,
    carries_collection: false,
    effects: EXCHANGE_OPENING,
    hold: OpeningHold::WhileFeeUnpaid,
};
const EXCHANGE_FROM_COLLECTED: ConvertedClaim = ConvertedClaim {
    carries_collection: true,
    ..EXCHANGE_FROM_UNCOLLECTED
};
const RETURN_FROM_UNCOLLECTED: ConvertedClaim = ConvertedClaim {
    status: ClaimStatus::ReturnRequested,
    carries_collection: false,
    effects: &[OpeningEffect::DecidePolicy, OpeningEffect::CreditPaidFee],
    hold: OpeningHold::None,
};
const RETURN_FROM_COLLECTED: ConvertedClaim = ConvertedClaim {
    carries_collection: true,
    ..RETURN_FROM_UNCOLLECTED
};

/// What the engine must do when an action moves an existing claim, besides changing its
/// status and hold, in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Price the refund and close the units (`money.md`); points are restored at once, cash
    /// goes through the gateway. Exactly the rows whose target is [`Target::Complete`]: how
    /// the refund settles picks the status.
    Refund,
    /// Restock, unless the approval gives reason OUT_OF_STOCK (then a SELLER-fault cancel,
    /// [`Row::fault_after`]).
    RestockUnlessOutOfStock,
    /// Restock the returned units unless the inspection says not (default: not for
    /// DEFECTIVE).
    RestockUnlessDefective,
    /// Release the replacement's reservation.
    ReleaseReservation,
    /// Book the courier's pickup, or tell the customer where to ship the goods.
    BookPickup,
    /// Cancel a booked pickup, if any.
    CancelPickup,
    /// Record the collection (courier, tracking number).
    RecordCollection,
    /// Send the collected original back to the customer (courier, tracking number).
    ReDeliver,
    /// Ship the replacement: its reservation is consumed.
    ConsumeReplacement,
    /// Ship another replacement, taken from stock, after one was lost in transit.
    ShipAnotherReplacement,
    /// Write off the replacement already shipped.
    WriteOffShippedReplacement,
    /// Give back in full any exchange fee paid (or credited from a converted exchange).
    RefundPaidFee,
    /// Record the fee payment (exactly the fee due).
    RecordFeePayment,
    /// Cut the deductions by the fee due, the last first.
    WaiveFee,
    /// Close this claim into a new one of the other type, in the same transaction.
    OpenConverted(&'static ConvertedClaim),
    /// Record the rejection's reason.
    RecordRejection(RejectionCode),
    /// Set the FAILED refund parts PENDING again, with a fresh backoff.
    RetryFailedParts,
    /// Mark the FAILED refund parts as paid outside the system (reference, memo).
    MarkFailedPartsManual,
    /// Store the refund account and retry the ACCOUNT_REQUIRED parts.
    RetryAccountRequiredParts,
}

impl Effect {
    /// A stable SCREAMING_SNAKE_CASE code (docs, timeline payloads).
    pub const fn as_str(self) -> &'static str {
        match self {
            Effect::Refund => "REFUND",
            Effect::RestockUnlessOutOfStock => "RESTOCK_UNLESS_OUT_OF_STOCK",
            Effect::RestockUnlessDefective => "RESTOCK_UNLESS_DEFECTIVE",
            Effect::ReleaseReservation => "RELEASE_RESERVATION",
            Effect::BookPickup => "BOOK_PICKUP",
            Effect::CancelPickup => "CANCEL_PICKUP",
            Effect::RecordCollection => "RECORD_COLLECTION",
            Effect::ReDeliver => "RE_DELIVER",
            Effect::ConsumeReplacement => "CONSUME_REPLACEMENT",
            Effect::ShipAnotherReplacement => "SHIP_ANOTHER_REPLACEMENT",
            Effect::WriteOffShippedReplacement => "WRITE_OFF_SHIPPED_REPLACEMENT",
            Effect::RefundPaidFee => "REFUND_PAID_FEE",
            Effect::RecordFeePayment => "RECORD_FEE_PAYMENT",
            Effect::WaiveFee => "WAIVE_FEE",
            Effect::OpenConverted(_) => "OPEN_CONVERTED",
            Effect::RecordRejection(_) => "RECORD_REJECTION",
            Effect::RetryFailedParts => "RETRY_FAILED_PARTS",
            Effect::MarkFailedPartsManual => "MARK_FAILED_PARTS_MANUAL",
            Effect::RetryAccountRequiredParts => "RETRY_ACCOUNT_REQUIRED_PARTS",
        }
    }
}

/// What the engine must do when it opens a claim (an opening row, or the new claim of a
/// conversion), besides setting its first status and hold, in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpeningEffect {
    /// Price the refund and close the units at once (a cancel approved as it opens); points
    /// are restored, cash goes through the gateway or lowers the amount due before a
    /// bank-transfer deposit.
    Refund,
    /// Put the units back in stock.
    Restock,
    /// Record the seller's `claim_fees` (and for exchanges `exchange_rules`) decision: the
    /// fault, fees and decision on the claim. The policy runs before the row is chosen,
    /// since the fault it decides picks the row ([`FaultRule`]).
    DecidePolicy,
    /// Reserve the replacement option's stock (`OUT_OF_STOCK` when it cannot be).
    ReserveReplacement,
    /// The new return credits the exchange fee already paid (`money.md`, vector L).
    CreditPaidFee,
}

impl OpeningEffect {
    /// A stable SCREAMING_SNAKE_CASE code (docs).
    pub const fn as_str(self) -> &'static str {
        match self {
            OpeningEffect::Refund => "REFUND",
            OpeningEffect::Restock => "RESTOCK",
            OpeningEffect::DecidePolicy => "DECIDE_POLICY",
            OpeningEffect::ReserveReplacement => "RESERVE_REPLACEMENT",
            OpeningEffect::CreditPaidFee => "CREDIT_PAID_FEE",
        }
    }
}

/// The first hold of a claim being opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpeningHold {
    /// None.
    None,
    /// The SYSTEM holds the exchange with RETURN_FEE_UNPAID when its fee is above zero ("a
    /// claim opened by a conversion starts unheld, but for the fee hold").
    WhileFeeUnpaid,
}

impl OpeningHold {
    /// The hold itself, given whether the exchange fee is above zero.
    pub const fn state(self, fee_above_zero: bool) -> HoldState {
        match self {
            OpeningHold::WhileFeeUnpaid if fee_above_zero => HoldState::FEE_UNPAID,
            OpeningHold::WhileFeeUnpaid | OpeningHold::None => HoldState::None,
        }
    }
}

/// One rule of the contract: from these statuses, this action by one of these actors, when
/// the guard holds, leads to the target, changes the hold, and has these effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Row {
    /// The statuses it applies from.
    pub from: StatusSet,
    /// The action.
    pub action: ClaimAction,
    /// Who may take it.
    pub actors: Actors,
    /// What else must be true of the claim.
    pub guard: Guard,
    /// Where it leads.
    pub to: Target,
    /// What it does to the hold.
    pub hold: HoldChange,
    /// What else happens, in order.
    pub effects: &'static [Effect],
}

impl Row {
    /// True when this row lets `role` take `action` on the claim now, hold included.
    pub fn permits(&self, claim: &ClaimFacts, action: ClaimAction, role: Role) -> bool {
        self.action == action
            && self.actors.contains(role)
            && self.from.contains(claim.status)
            && self.guard.holds(claim, role)
            && !hold_blocks(&claim.hold, action, role)
    }

    /// True when the row prices the claim's refund ([`Effect::Refund`]): the engine prices it
    /// before [`Row::transition`], whose target depends on how it settles.
    pub fn prices(&self) -> bool {
        self.effects.contains(&Effect::Refund)
    }

    /// The claim's fault after this row: an approval of a cancel request for want of stock
    /// ([`Effect::RestockUnlessOutOfStock`], `out_of_stock`) and `refundExchange` make it the
    /// SELLER's ([`Row::fault_change`]).
    pub fn fault_after(&self, fault: Fault, out_of_stock: bool) -> Fault {
        self.fault_change(fault, out_of_stock)
            .map_or(fault, |change| change.to)
    }

    /// How this row moves the claim's fault, and why, if it does: an approval of a cancel
    /// request for want of stock is a SELLER-fault cancel whatever the customer's reason, and
    /// `refundExchange` (the seller cannot deliver the replacement) refunds as a SELLER-fault
    /// return (`money.md`), so the claim's fault says what its money was priced by.
    pub fn fault_change(&self, fault: Fault, out_of_stock: bool) -> Option<FaultChange> {
        let because = if out_of_stock && self.effects.contains(&Effect::RestockUnlessOutOfStock) {
            ChangeCause::OutOfStock
        } else if self.action == ClaimAction::RefundExchange {
            ChangeCause::ReplacementUndeliverable
        } else {
            return None;
        };
        FaultChange::between(fault, Fault::Seller, because)
    }

    /// What the row does to the claim: its target resolved against the facts (for a
    /// completing row, the settlement of the refund just priced) and the hold after it.
    pub fn transition(&self, claim: &ClaimFacts) -> Result<Transition, Refusal> {
        let to = resolve(self.to, claim, self.action)?;
        let hold = if to.ends_hold() {
            if claim.hold.is_some() {
                HoldChange::Clear
            } else {
                HoldChange::Keep
            }
        } else {
            self.hold
        };
        Ok(Transition {
            to,
            hold,
            effects: self.effects,
        })
    }

    const fn goods(mut self, goods: Goods) -> Row {
        self.guard.goods = goods;
        self
    }

    const fn when_hold(mut self, hold: HoldGuard) -> Row {
        self.guard.hold = hold;
        self
    }

    const fn when_refund(mut self, refund: RefundGuard) -> Row {
        self.guard.refund = refund;
        self
    }

    const fn then_hold(mut self, hold: HoldChange) -> Row {
        self.hold = hold;
        self
    }
}

const fn row(
    from: StatusSet,
    action: ClaimAction,
    actors: Actors,
    to: Target,
    effects: &'static [Effect],
) -> Row {
    Row {
        from,
        action,
        actors,
        guard: Guard::NONE,
        to,
        hold: HoldChange::Keep,
        effects,
    }
}

const fn only(statuses: &'static [ClaimStatus]) -> StatusSet {
    StatusSet::Only(statuses)
}

const fn to(status: ClaimStatus) -> Target {
    Target::To(status)
}

// ---------------------------------------------------------------------------------------------
// The transition table
// ---------------------------------------------------------------------------------------------

use ClaimAction as A;
use ClaimStatus as S;
use Effect as E;
use Goods::{Collected, NotCollected};

/// Every transition of an existing claim (`claims.md`), in the order of its tables.
// Kept unformatted: one row of the contract per entry reads like the spec's tables.
#[rustfmt::skip]
pub static TRANSITIONS: &[Row] = &[
    // ----- Cancel (취소) -----
    row(only(&[S::CancelRequested]), A::Approve, SELLER_OPERATOR,
        Target::Complete(CANCEL_COMPLETION), &[E::Refund, E::RestockUnlessOutOfStock]),
    row(only(&[S::CancelRequested]), A::Reject, SELLER_OPERATOR, to(S::CancelRejected), &[]),
    row(only(&[S::CancelRequested]), A::ShippedOverCancel, SELLER, to(S::CancelRejected),
        &[E::RecordRejection(RejectionCode::Shipped)]),
    row(only(&[S::CancelRequested]), A::Withdraw, CUSTOMER, to(S::CancelWithdrawn), &[]),
    row(only(&[S::CancelRefunding]), A::RefundSucceeded, SYSTEM, to(S::CancelCompleted), &[])
        .when_refund(RefundGuard::AllSucceeded),
    row(only(&[S::CancelRefunding]), A::ResolveRefundManually, OPERATOR,
        to(S::CancelCompleted), &[E::MarkFailedPartsManual])
        .when_refund(RefundGuard::FailedNothingElseOutstanding),
    // ----- Return (반품) -----
    row(only(&[S::ReturnRequested]), A::Approve, SELLER_OPERATOR, to(S::ReturnCollecting),
        &[E::BookPickup]).goods(NotCollected),
    row(only(&[S::ReturnRequested]), A::Approve, SELLER_OPERATOR, to(S::ReturnCollected), &[])
        .goods(Collected),
    row(only(&[S::ReturnRequested]), A::Reject, SELLER_OPERATOR, to(S::ReturnRejected),
        &[E::RefundPaidFee]).goods(NotCollected),
    row(only(&[S::ReturnRequested]), A::Reject, OPERATOR, to(S::ReturnRejected),
        &[E::ReDeliver]).goods(Collected),
    row(only(&[S::ReturnRequested]), A::Reject, SELLER, to(S::ReturnRejectPending), &[])
        .goods(Collected),
    row(only(&[S::ReturnRequested, S::ReturnCollecting]), A::Withdraw, CUSTOMER,
        to(S::ReturnWithdrawn), &[E::CancelPickup, E::RefundPaidFee]).goods(NotCollected),
    row(only(&[S::ReturnCollecting]), A::MarkCollected, SELLER_OPERATOR_SYSTEM,
        to(S::ReturnCollected), &[E::RecordCollection]),
    row(only(&[S::ReturnCollecting]), A::Reject, SELLER_OPERATOR, to(S::ReturnRejected),
        &[E::RecordRejection(RejectionCode::NotReceived), E::RefundPaidFee]),
    row(only(&[S::ReturnCollected]), A::CompleteReturn, SELLER_OPERATOR,
        Target::Complete(RETURN_COMPLETION), &[E::Refund, E::RestockUnlessDefective]),
    row(only(&[S::ReturnAwaitingFee]), A::PayClaimFee, CUSTOMER_OPERATOR,
        to(S::ReturnCompleted), &[E::RecordFeePayment]),
    row(only(&[S::ReturnAwaitingFee]), A::WaiveClaimFee, SELLER_OPERATOR,
        to(S::ReturnCompleted), &[E::WaiveFee]),
    row(only(&[S::ReturnCollected]), A::Reject, OPERATOR, to(S::ReturnRejected),
        &[E::ReDeliver]),
    row(only(&[S::ReturnCollected]), A::Reject, SELLER, to(S::ReturnRejectPending), &[]),
    row(only(&[S::ReturnRejectPending]), A::ApproveRejection, OPERATOR, to(S::ReturnRejected),
        &[E::ReDeliver]),
    row(only(&[S::ReturnRejectPending]), A::DeclineRejection, OPERATOR,
        Target::BeforeRejection, &[]),
    row(only(&[S::ReturnRequested, S::ReturnCollecting]), A::ConvertToExchange,
        CUSTOMER_SELLER_OPERATOR, to(S::ReturnConverted),
        &[E::CancelPickup, E::OpenConverted(&EXCHANGE_FROM_UNCOLLECTED)]).goods(NotCollected),
    row(only(&[S::ReturnRequested, S::ReturnCollected]), A::ConvertToExchange, SELLER_OPERATOR,
        to(S::ReturnConverted), &[E::OpenConverted(&EXCHANGE_FROM_COLLECTED)]).goods(Collected),
    row(only(&[S::ReturnRefunding]), A::RefundSucceeded, SYSTEM, to(S::ReturnCompleted), &[])
        .when_refund(RefundGuard::AllSucceeded),
    row(only(&[S::ReturnRefunding]), A::ResolveRefundManually, OPERATOR,
        to(S::ReturnCompleted), &[E::MarkFailedPartsManual])
        .when_refund(RefundGuard::FailedNothingElseOutstanding),
    // ----- Exchange (교환) -----
    row(only(&[S::ExchangeRequested]), A::Approve, SELLER_OPERATOR, to(S::ExchangeCollecting),
        &[E::BookPickup]).goods(NotCollected),
    row(only(&[S::ExchangeRequested]), A::Approve, SELLER_OPERATOR, to(S::ExchangeCollected),
        &[]).goods(Collected),
    row(only(&[S::ExchangeRequested]), A::Reject, SELLER_OPERATOR, to(S::ExchangeRejected),
        &[E::ReleaseReservation, E::RefundPaidFee]).goods(NotCollected),
    row(only(&[S::ExchangeRequested]), A::Reject, OPERATOR, to(S::ExchangeRejected),
        &[E::ReDeliver, E::ReleaseReservation]).goods(Collected),
    row(only(&[S::ExchangeRequested]), A::Reject, SELLER, to(S::ExchangeRejectPending), &[])
        .goods(Collected),
    row(only(&[S::ExchangeRequested, S::ExchangeCollecting]), A::Withdraw, CUSTOMER,
        to(S::ExchangeWithdrawn), &[E::CancelPickup, E::ReleaseReservation, E::RefundPaidFee])
        .goods(NotCollected),
    row(only(&[S::ExchangeRequested]), A::FeeUnpaidTimeout, SYSTEM, to(S::ExchangeWithdrawn),
        &[E::ReleaseReservation]).goods(NotCollected).when_hold(HoldGuard::FeeHeld),
    row(only(&[S::ExchangeRequested]), A::FeeUnpaidTimeout, SYSTEM, to(S::ExchangeWithdrawn),
        &[E::ReleaseReservation, E::ReDeliver]).goods(Collected).when_hold(HoldGuard::FeeHeld),
    row(only(&[S::ExchangeCollecting]), A::MarkCollected, SELLER_OPERATOR_SYSTEM,
        to(S::ExchangeCollected), &[E::RecordCollection]),
    row(only(&[S::ExchangeCollecting]), A::Reject, SELLER_OPERATOR, to(S::ExchangeRejected),
        &[E::RecordRejection(RejectionCode::NotReceived), E::ReleaseReservation,
          E::RefundPaidFee]),
    row(only(&[S::ExchangeCollected]), A::ReshipExchange, SELLER_OPERATOR,
        to(S::ExchangeReshipping), &[E::ConsumeReplacement]),
    row(only(&[S::ExchangeReshipping]), A::ReshipExchange, SELLER_OPERATOR,
        to(S::ExchangeReshipping), &[E::WriteOffShippedReplacement, E::ShipAnotherReplacement]),
    row(only(&[S::ExchangeReshipping]), A::CompleteExchange, SELLER_OPERATOR_SYSTEM,
        to(S::ExchangeCompleted), &[E::RestockUnlessDefective]),
    row(only(&[S::ExchangeCollected]), A::Reject, OPERATOR, to(S::ExchangeRejected),
        &[E::ReDeliver, E::ReleaseReservation]),
    row(only(&[S::ExchangeCollected]), A::Reject, SELLER, to(S::ExchangeRejectPending), &[]),
    row(only(&[S::ExchangeRejectPending]), A::ApproveRejection, OPERATOR,
        to(S::ExchangeRejected), &[E::ReDeliver, E::ReleaseReservation]),
    row(only(&[S::ExchangeRejectPending]), A::DeclineRejection, OPERATOR,
        Target::BeforeRejection, &[]),
    // The refund priced for these rows credits the exchange fee paid (`money.md`): it needs
    // no REFUND_PAID_FEE of its own, which would refund the fee twice.
    row(only(&[S::ExchangeCollected]), A::RefundExchange, SELLER_OPERATOR,
        Target::Complete(EXCHANGE_REFUND_COMPLETION),
        &[E::Refund, E::ReleaseReservation, E::RestockUnlessDefective]),
    row(only(&[S::ExchangeReshipping]), A::RefundExchange, SELLER_OPERATOR,
        Target::Complete(EXCHANGE_REFUND_COMPLETION),
        &[E::Refund, E::WriteOffShippedReplacement, E::RestockUnlessDefective]),
    row(only(&[S::ExchangeRequested, S::ExchangeCollecting]), A::ConvertToReturn,
        CUSTOMER_SELLER_OPERATOR, to(S::ExchangeConverted),
        &[E::CancelPickup, E::ReleaseReservation, E::OpenConverted(&RETURN_FROM_UNCOLLECTED)])
        .goods(NotCollected),
    row(only(&[S::ExchangeRequested, S::ExchangeCollected]), A::ConvertToReturn,
        SELLER_OPERATOR, to(S::ExchangeConverted),
        &[E::ReleaseReservation, E::OpenConverted(&RETURN_FROM_COLLECTED)]).goods(Collected),
    row(only(&[S::ExchangeRefunding]), A::RefundSucceeded, SYSTEM, to(S::ExchangeRefunded),
        &[]).when_refund(RefundGuard::AllSucceeded),
    row(only(&[S::ExchangeRefunding]), A::ResolveRefundManually, OPERATOR,
        to(S::ExchangeRefunded), &[E::MarkFailedPartsManual])
        .when_refund(RefundGuard::FailedNothingElseOutstanding),
    // ----- Hold (보류), any claim type -----
    row(StatusSet::Holdable, A::HoldClaim, OPERATOR, Target::Stay, &[])
        .when_hold(HoldGuard::None).then_hold(HoldChange::Place),
    row(StatusSet::Holdable, A::HoldClaim, SELLER, Target::Stay, &[])
        .when_hold(HoldGuard::None).goods(NotCollected).then_hold(HoldChange::Place),
    row(StatusSet::Holdable, A::HoldClaim, SELLER, Target::Stay, &[])
        .when_hold(HoldGuard::None).goods(Collected).then_hold(HoldChange::PlacePending),
    row(StatusSet::Holdable, A::ApproveHold, OPERATOR, Target::Stay, &[])
        .when_hold(HoldGuard::Pending).then_hold(HoldChange::Confirm),
    row(StatusSet::Holdable, A::DeclineHold, OPERATOR, Target::Stay, &[])
        .when_hold(HoldGuard::Pending).then_hold(HoldChange::Clear),
    row(StatusSet::Holdable, A::ReleaseHold, OPERATOR, Target::Stay, &[])
        .when_hold(HoldGuard::HeldNotFee).then_hold(HoldChange::Clear),
    row(StatusSet::Holdable, A::ReleaseHold, SELLER, Target::Stay, &[])
        .when_hold(HoldGuard::HeldNotFeeByCaller).then_hold(HoldChange::Clear),
    row(StatusSet::Holdable, A::PayClaimFee, CUSTOMER_OPERATOR, Target::Stay,
        &[E::RecordFeePayment]).when_hold(HoldGuard::FeeHeld).then_hold(HoldChange::Clear),
    row(StatusSet::Holdable, A::WaiveClaimFee, SELLER_OPERATOR, Target::Stay, &[E::WaiveFee])
        .when_hold(HoldGuard::FeeHeld).then_hold(HoldChange::Clear),
    // ----- Refund repairs (환불), any claim type -----
    row(only(REFUNDING), A::ResolveRefundManually, OPERATOR, Target::Stay,
        &[E::MarkFailedPartsManual]).when_refund(RefundGuard::FailedOthersOutstanding),
    row(StatusSet::AllExcept(REFUNDING), A::ResolveRefundManually, OPERATOR, Target::Stay,
        &[E::MarkFailedPartsManual]).when_refund(RefundGuard::SomeFailed),
    row(StatusSet::AllExcept(&[]), A::RetryRefund, OPERATOR, Target::Stay,
        &[E::RetryFailedParts]).when_refund(RefundGuard::SomeFailed),
    row(StatusSet::AllExcept(&[]), A::SetRefundAccount, CUSTOMER_OPERATOR, Target::Stay,
        &[E::RetryAccountRequiredParts]).when_refund(RefundGuard::SomeAccountRequired),
];

// ---------------------------------------------------------------------------------------------
// Deciding a transition
// ---------------------------------------------------------------------------------------------

/// The state of a claim's refund parts (`money.md`); all false when it has no cash refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RefundFacts {
    /// A cash part is FAILED after its retries.
    pub failed: bool,
    /// A cash part waits for a refund account (ACCOUNT_REQUIRED).
    pub account_required: bool,
    /// A cash part is PENDING at the gateway.
    pub pending: bool,
}

impl RefundFacts {
    /// The refund's state (`Refund.status`). While the customer owes a fee on it (a return
    /// whose deductions exceed its refund, `RETURN_AWAITING_FEE`) no money has moved and none
    /// will until the fee is paid or waived: [`RefundState::AwaitingFee`]. Otherwise the most
    /// urgent state of its cash parts. Points are restored when the refund is priced and never
    /// wait (`money.md`), so they never decide it.
    pub fn state(&self, fee_owed: bool) -> RefundState {
        if fee_owed {
            RefundState::AwaitingFee
        } else if self.failed {
            RefundState::Failed
        } else if self.account_required {
            RefundState::AccountRequired
        } else if self.pending {
            RefundState::Pending
        } else {
            RefundState::Succeeded
        }
    }
}

/// Where a whole refund stands (`Refund.status`): its parts' most urgent status, or waiting
/// for the customer's fee before anything settles. Unlike a part's [`RefundStatus`], never
/// stored: it is read from the parts and the fee due each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundState {
    /// Every cash part has been paid (or there is none) and no fee is owed.
    Succeeded,
    /// A cash part is waiting at the gateway.
    Pending,
    /// A cash part waits for a refund account.
    AccountRequired,
    /// A cash part failed after its retries.
    Failed,
    /// The deductions exceed the refund: nothing is paid back, and the claim waits for the
    /// customer to pay the rest (or the seller to waive it).
    AwaitingFee,
}

/// Where a refund part stands; a refund's state ([`RefundState`]) is the most urgent of its
/// cash parts' unless a fee is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    /// Every cash part has been paid (or there is none).
    Succeeded,
    /// A cash part is waiting at the gateway.
    Pending,
    /// A cash part waits for a refund account.
    AccountRequired,
    /// A cash part failed after its retries.
    Failed,
}

impl RefundStatus {
    /// Every status, most urgent last.
    pub const ALL: [RefundStatus; 4] = [
        RefundStatus::Succeeded,
        RefundStatus::Pending,
        RefundStatus::AccountRequired,
        RefundStatus::Failed,
    ];

    /// The status stored as `code`, if any.
    pub fn parse(code: &str) -> Option<RefundStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == code)
    }

    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Succeeded => "SUCCEEDED",
            RefundStatus::Pending => "PENDING",
            RefundStatus::AccountRequired => "ACCOUNT_REQUIRED",
            RefundStatus::Failed => "FAILED",
        }
    }
}

/// How the refund of a completing action settles, as priced in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Settlement {
    /// Points only, or nothing: completes at once.
    #[default]
    InPlace,
    /// Cash goes through a payment gateway: `*_REFUNDING`.
    Gateway,
    /// The fees exceed the refund: the customer owes a fee (`RETURN_AWAITING_FEE`).
    FeeDue,
}

impl Settlement {
    /// Every value.
    pub const ALL: [Settlement; 3] = [Settlement::InPlace, Settlement::Gateway, Settlement::FeeDue];
}

/// Everything the table may ask about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimFacts {
    /// Its status.
    pub status: ClaimStatus,
    /// Its hold, with reason and the role that placed it.
    pub hold: HoldState,
    /// It was opened by a conversion with the goods already collected.
    pub carries_collection: bool,
    /// In `*_REJECT_PENDING`: the status before the seller's rejection (from the timeline).
    pub rejected_from: Option<ClaimStatus>,
    /// Its refund's parts.
    pub refund: RefundFacts,
    /// How completing it now would settle (only read by completing actions; the engine prices
    /// the refund first, in the same transaction).
    pub settlement: Settlement,
}

impl ClaimFacts {
    /// A claim in `status`, unheld, carrying nothing, with no refund.
    pub const fn at(status: ClaimStatus) -> ClaimFacts {
        ClaimFacts {
            status,
            hold: HoldState::None,
            carries_collection: false,
            rejected_from: None,
            refund: RefundFacts {
                failed: false,
                account_required: false,
                pending: false,
            },
            settlement: Settlement::InPlace,
        }
    }

    /// True when the goods count as collected: the status is at or after COLLECTED, or the
    /// claim carries a collection from a conversion.
    pub const fn collected(&self) -> bool {
        self.carries_collection || self.status.past_collection()
    }
}

/// What an allowed action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The status after it (the same one for hold changes and refund repairs).
    pub to: ClaimStatus,
    /// What happens to the hold.
    pub hold: HoldChange,
    /// What else the engine does, in order.
    pub effects: &'static [Effect],
}

impl Transition {
    /// True when the claim's units go back to their line as claimable: the claim ends from
    /// `from` without a refund closing them (withdrawn, rejected, exchanged), not already
    /// closed when they were priced (refunding, awaiting a fee), and not handed over to the
    /// new claim of a conversion.
    pub fn releases_units(&self, from: ClaimStatus) -> bool {
        let closed_by_refund = self.effects.contains(&Effect::Refund);
        let already_closed = from.is_terminal() || from.is_refunding() || from.awaits_fee();
        let handed_over = self
            .effects
            .iter()
            .any(|effect| matches!(effect, Effect::OpenConverted(_)));
        self.to.is_terminal() && !closed_by_refund && !already_closed && !handed_over
    }

    /// The hold after the transition; see [`HoldChange::apply`].
    pub fn hold_after(
        &self,
        before: HoldState,
        placing: Option<HoldReason>,
        by: Role,
    ) -> HoldState {
        self.hold.apply(before, placing, by)
    }
}

/// Why an action cannot be taken. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The table has no row for this action in this status and hold state, for this role.
    #[error(
        "CLAIM_ACTION_NOT_ALLOWED: {} is not allowed in {status} for {}{}; allowed now: {}",
        .action.mutation_name(),
        role_code(*.role),
        held_note(*.blocked_by_hold),
        mutation_list(.allowed)
    )]
    NotAllowed {
        /// The claim's status.
        status: ClaimStatus,
        /// The refused action.
        action: ClaimAction,
        /// The caller's role.
        role: Role,
        /// Set when only the hold in force (with this reason) stops the action.
        blocked_by_hold: Option<HoldReason>,
        /// What the role may do now.
        allowed: Vec<ClaimAction>,
    },
    /// `holdClaim` on a claim that already has a hold (pending or in force).
    #[error(
        "CLAIM_ALREADY_HELD: holdClaim is not allowed in {status}: the claim is already {}; \
         allowed now: {}",
        .hold.phase_str(),
        mutation_list(.allowed)
    )]
    AlreadyHeld {
        /// The claim's status.
        status: ClaimStatus,
        /// The hold it has.
        hold: HoldState,
        /// What the role may do now.
        allowed: Vec<ClaimAction>,
    },
    /// A row applies but the facts cannot name its target: an engine bug, not the caller's.
    #[error("CLAIM_FACTS_INCONSISTENT: {} in {status}: {detail}", .action.mutation_name())]
    InconsistentFacts {
        /// The claim's status.
        status: ClaimStatus,
        /// The action.
        action: ClaimAction,
        /// What is missing or contradictory.
        detail: &'static str,
    },
}

impl Refusal {
    /// The stable `userErrors` code (`CLAIM_FACTS_INCONSISTENT` belongs to `INTERNAL`).
    pub const fn code(&self) -> &'static str {
        match self {
            Refusal::NotAllowed { .. } => "CLAIM_ACTION_NOT_ALLOWED",
            Refusal::AlreadyHeld { .. } => "CLAIM_ALREADY_HELD",
            Refusal::InconsistentFacts { .. } => "CLAIM_FACTS_INCONSISTENT",
        }
    }

    /// The claim's status when the action was refused.
    pub const fn status(&self) -> ClaimStatus {
        match self {
            Refusal::NotAllowed { status, .. }
            | Refusal::AlreadyHeld { status, .. }
            | Refusal::InconsistentFacts { status, .. } => *status,
        }
    }

    /// The actions the caller may take now (empty for inconsistent facts).
    pub fn allowed(&self) -> &[ClaimAction] {
        match self {
            Refusal::NotAllowed { allowed, .. } | Refusal::AlreadyHeld { allowed, .. } => allowed,
            Refusal::InconsistentFacts { .. } => &[],
        }
    }
}

fn held_note(reason: Option<HoldReason>) -> String {
    match reason {
        Some(reason) => format!(" while the claim is held ({reason})"),
        None => String::new(),
    }
}

/// The distinct mutation names of `actions`, comma-separated, or `none`.
fn mutation_list(actions: &[ClaimAction]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for action in actions {
        let name = action.mutation_name();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The row that lets `role` take `action` on the claim now, if any.
pub fn matching_row(claim: &ClaimFacts, action: ClaimAction, role: Role) -> Option<&'static Row> {
    TRANSITIONS
        .iter()
        .find(|row| row.permits(claim, action, role))
}

/// The row that lets `role` take `action` on the claim now, or why none does. The engine
/// reads what the row asks of it ([`Row::prices`], [`Row::fault_after`]) before it asks for
/// the [`Row::transition`].
pub fn plan(claim: &ClaimFacts, action: ClaimAction, role: Role) -> Result<&'static Row, Refusal> {
    matching_row(claim, action, role).ok_or_else(|| refusal(claim, action, role))
}

/// Decides whether `role` may take `action` on the claim, and if so what follows. Pure: the
/// caller persists the status, the hold and the effects in one transaction.
pub fn decide(claim: &ClaimFacts, action: ClaimAction, role: Role) -> Result<Transition, Refusal> {
    plan(claim, action, role)?.transition(claim)
}

/// The actions `role` may take on the claim now, in [`ClaimAction::ALL`] order: exactly those
/// for which a row permits it (GraphQL `Claim.availableActions`). Facts are included (a
/// SELLER may ship over a cancel request, the SYSTEM may report a collection); a client that
/// draws buttons keeps those of [`ActionKind::Mutation`].
pub fn available_actions(claim: &ClaimFacts, role: Role) -> Vec<ClaimAction> {
    ClaimAction::ALL
        .iter()
        .copied()
        .filter(|action| action.kind() != ActionKind::Opening)
        .filter(|action| matching_row(claim, *action, role).is_some())
        .collect()
}

fn refusal(claim: &ClaimFacts, action: ClaimAction, role: Role) -> Refusal {
    let allowed = available_actions(claim, role);
    let unheld = ClaimFacts {
        hold: HoldState::None,
        ..*claim
    };
    let would_apply_unheld = matching_row(&unheld, action, role).is_some();
    if action == ClaimAction::HoldClaim && claim.hold.is_some() && would_apply_unheld {
        return Refusal::AlreadyHeld {
            status: claim.status,
            hold: claim.hold,
            allowed,
        };
    }
    let blocked_by_hold = if claim.hold.is_held() && would_apply_unheld {
        claim.hold.reason()
    } else {
        None
    };
    Refusal::NotAllowed {
        status: claim.status,
        action,
        role,
        blocked_by_hold,
        allowed,
    }
}

fn resolve(
    target: Target,
    claim: &ClaimFacts,
    action: ClaimAction,
) -> Result<ClaimStatus, Refusal> {
    let inconsistent = |detail| Refusal::InconsistentFacts {
        status: claim.status,
        action,
        detail,
    };
    match target {
        Target::To(status) => Ok(status),
        Target::Stay => Ok(claim.status),
        Target::Complete(completion) => settle(completion, claim.settlement)
            .ok_or_else(|| inconsistent("a fee due where money.md rules one out")),
        Target::BeforeRejection => claim
            .rejected_from
            .filter(|from| rejection_sources(claim.status).any(|source| source == *from))
            .ok_or_else(|| {
                inconsistent("rejected_from is missing or not a status a rejection leads here from")
            }),
    }
}

fn settle(completion: Completion, settlement: Settlement) -> Option<ClaimStatus> {
    match settlement {
        Settlement::InPlace => Some(completion.settled),
        Settlement::Gateway => Some(completion.refunding),
        Settlement::FeeDue => completion.fee_due,
    }
}

/// The statuses from which a SELLER's rejection leads to `pending` (a `*_REJECT_PENDING`),
/// read from the table: where `declineRejection` may lead back to.
pub fn rejection_sources(pending: ClaimStatus) -> impl Iterator<Item = ClaimStatus> {
    TRANSITIONS
        .iter()
        .filter(move |row| {
            row.action == ClaimAction::Reject
                && row.actors.contains(Role::Seller)
                && row.to == Target::To(pending)
        })
        .flat_map(|row| row.from.statuses())
}

// ---------------------------------------------------------------------------------------------
// Opening a claim on order lines
// ---------------------------------------------------------------------------------------------

/// Which reasons an opening row accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonRule {
    /// Any reason but OUT_OF_STOCK, which is the seller's alone.
    AnyButOutOfStock,
    /// OUT_OF_STOCK only (`sellerCancel`).
    OutOfStockOnly,
}

impl ReasonRule {
    /// True when `reason` is accepted.
    pub fn accepts(self, reason: Reason) -> bool {
        match self {
            ReasonRule::AnyButOutOfStock => reason != Reason::OutOfStock,
            ReasonRule::OutOfStockOnly => reason == Reason::OutOfStock,
        }
    }
}

/// Who decides an opened claim's fault, and which fault an opening row requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultRule {
    /// Fixed by the action, no policy asked (`money.md`: a customer's cancel is the
    /// customer's, a seller's out-of-stock cancel the seller's).
    Fixed(Fault),
    /// The seller's policy decides; either party.
    Any,
    /// The seller's policy decides; the SELLER's only (returns from SHIPPED, claims after
    /// purchase confirmation).
    SellerOnly,
}

impl FaultRule {
    /// True when `fault` is accepted. A fixed fault is the action's to give, not a condition.
    pub fn accepts(self, fault: Fault) -> bool {
        match self {
            FaultRule::Fixed(_) | FaultRule::Any => true,
            FaultRule::SellerOnly => fault == Fault::Seller,
        }
    }

    /// The fault when the action fixes it; `None` when the seller's policy decides.
    pub const fn fixed(self) -> Option<Fault> {
        match self {
            FaultRule::Fixed(fault) => Some(fault),
            FaultRule::Any | FaultRule::SellerOnly => None,
        }
    }
}

/// The first status of an opened claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpeningTarget {
    /// This status.
    To(ClaimStatus),
    /// Approved at once: the completion's status for the refund's settlement.
    Complete(Completion),
}

/// One way to open a claim: from these line statuses, this action by these actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpeningRow {
    /// The line statuses it applies from.
    pub lines: &'static [LineStatus],
    /// The opening action.
    pub action: ClaimAction,
    /// Who may take it.
    pub actors: Actors,
    /// Which reasons it accepts.
    pub reasons: ReasonRule,
    /// Who decides the fault, and which it requires.
    pub fault: FaultRule,
    /// The claim's first status.
    pub to: OpeningTarget,
    /// Its first hold.
    pub hold: OpeningHold,
    /// What else happens, in order.
    pub effects: &'static [OpeningEffect],
}

const fn opening(
    lines: &'static [LineStatus],
    action: ClaimAction,
    actors: Actors,
    to: OpeningTarget,
    effects: &'static [OpeningEffect],
) -> OpeningRow {
    OpeningRow {
        lines,
        action,
        actors,
        reasons: ReasonRule::AnyButOutOfStock,
        fault: FaultRule::Any,
        to,
        hold: OpeningHold::None,
        effects,
    }
}

impl OpeningRow {
    const fn reasons(mut self, reasons: ReasonRule) -> OpeningRow {
        self.reasons = reasons;
        self
    }

    const fn seller_fault_only(mut self) -> OpeningRow {
        self.fault = FaultRule::SellerOnly;
        self
    }

    const fn fault_of(mut self, fault: Fault) -> OpeningRow {
        self.fault = FaultRule::Fixed(fault);
        self
    }

    const fn held_while_fee_unpaid(mut self) -> OpeningRow {
        self.hold = OpeningHold::WhileFeeUnpaid;
        self
    }

    /// The type of the claim it opens.
    pub const fn claim_type(&self) -> ClaimType {
        match self.to {
            OpeningTarget::To(status) => status.claim_type(),
            OpeningTarget::Complete(completion) => completion.settled.claim_type(),
        }
    }

    /// True when the claim's refund is priced as it opens ([`OpeningEffect::Refund`]).
    pub fn prices(&self) -> bool {
        self.effects.contains(&OpeningEffect::Refund)
    }

    /// How the claim starts: its first status for the refund's settlement (priced first when
    /// [`OpeningRow::prices`]) and its first hold.
    pub fn start(&self, facts: &OpeningFacts) -> Result<Opening, OpeningRefusal> {
        let status = match self.to {
            OpeningTarget::To(status) => status,
            OpeningTarget::Complete(completion) => {
                settle(completion, facts.settlement).ok_or(OpeningRefusal::InconsistentFacts {
                    line: facts.line,
                    action: self.action,
                    detail: "a fee due where money.md rules one out",
                })?
            }
        };
        Ok(Opening {
            status,
            hold: self.hold.state(facts.fee_above_zero),
            effects: self.effects,
        })
    }

    /// True when this row lets `role` open a claim with `action` on such a line.
    pub fn permits(&self, facts: &OpeningFacts, action: ClaimAction, role: Role) -> bool {
        self.action == action
            && self.actors.contains(role)
            && self.lines.contains(&facts.line)
            && self.reasons.accepts(facts.reason)
            && self.fault.accepts(facts.fault)
    }
}

use LineStatus as L;

use OpeningEffect as O;

const CANCEL_OPENING: &[OpeningEffect] = &[O::Refund, O::Restock];
const RETURN_OPENING: &[OpeningEffect] = &[O::DecidePolicy];
const EXCHANGE_OPENING: &[OpeningEffect] = &[O::DecidePolicy, O::ReserveReplacement];

/// Every way to open a claim (`claims.md`: the "line ..." rows). A line status with no row for
/// an action, e.g. `requestCancel` once SHIPPED, refuses with `CLAIM_NOT_ALLOWED`.
#[rustfmt::skip]
pub static OPENINGS: &[OpeningRow] = &[
    opening(&[L::AwaitingPayment], A::RequestCancel, CUSTOMER_OPERATOR_SYSTEM,
        OpeningTarget::To(S::CancelCompleted), CANCEL_OPENING).fault_of(Fault::Customer),
    opening(&[L::Paid], A::RequestCancel, CUSTOMER_OPERATOR,
        OpeningTarget::Complete(CANCEL_COMPLETION), CANCEL_OPENING).fault_of(Fault::Customer),
    opening(&[L::Paid, L::Preparing], A::SellerCancel, SELLER_OPERATOR,
        OpeningTarget::Complete(CANCEL_COMPLETION), &[O::Refund])
        .reasons(ReasonRule::OutOfStockOnly).fault_of(Fault::Seller),
    opening(&[L::Preparing], A::RequestCancel, CUSTOMER,
        OpeningTarget::To(S::CancelRequested), &[]).fault_of(Fault::Customer),
    opening(&[L::Preparing], A::RequestCancel, OPERATOR,
        OpeningTarget::Complete(CANCEL_COMPLETION), CANCEL_OPENING).fault_of(Fault::Customer),
    opening(&[L::Delivered], A::RequestReturn, CUSTOMER_OPERATOR,
        OpeningTarget::To(S::ReturnRequested), RETURN_OPENING),
    opening(&[L::Shipped, L::PurchaseConfirmed], A::RequestReturn, CUSTOMER_OPERATOR,
        OpeningTarget::To(S::ReturnRequested), RETURN_OPENING).seller_fault_only(),
    opening(&[L::Delivered], A::RequestExchange, CUSTOMER_OPERATOR,
        OpeningTarget::To(S::ExchangeRequested), EXCHANGE_OPENING).held_while_fee_unpaid(),
    opening(&[L::PurchaseConfirmed], A::RequestExchange, CUSTOMER_OPERATOR,
        OpeningTarget::To(S::ExchangeRequested), EXCHANGE_OPENING).seller_fault_only()
        .held_while_fee_unpaid(),
];

/// What the opening rows may ask about the units being claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpeningFacts {
    /// The status of the claimed units' line.
    pub line: LineStatus,
    /// The claim's reason (`sellerCancel`: OUT_OF_STOCK).
    pub reason: Reason,
    /// The fault the policy decided for this request (built-in default:
    /// [`Reason::default_fault`]).
    pub fault: Fault,
    /// How an approval at once would settle its refund.
    pub settlement: Settlement,
    /// The exchange fee is above zero (places the SYSTEM's fee hold).
    pub fee_above_zero: bool,
}

/// A claim to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Opening {
    /// Its first status.
    pub status: ClaimStatus,
    /// Its first hold (the fee hold, or none).
    pub hold: HoldState,
    /// What else the engine does, in order.
    pub effects: &'static [OpeningEffect],
}

/// Why a claim cannot be opened. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpeningRefusal {
    /// No row opens this kind of claim on such a line, for this role or reason.
    #[error(
        "CLAIM_NOT_ALLOWED: {} is not allowed on a line {line} for {}{}",
        .action.mutation_name(),
        role_code(*.role),
        suggestion_note(*.suggestion)
    )]
    NotAllowed {
        /// The line's status.
        line: LineStatus,
        /// The refused opening.
        action: ClaimAction,
        /// The caller's role.
        role: Role,
        /// Another opening that the line's status allows this role (a return instead of a
        /// cancel once shipped).
        suggestion: Option<ClaimAction>,
    },
    /// No row of this opening accepts the reason, whatever the line (a return asked as
    /// OUT_OF_STOCK, which is the seller's cancel alone).
    #[error(
        "CLAIM_NOT_ALLOWED: {} cannot be asked with the reason {}",
        .action.mutation_name(),
        .reason.as_str()
    )]
    ReasonNotAllowed {
        /// The refused opening.
        action: ClaimAction,
        /// The reason no row of it accepts.
        reason: Reason,
    },
    /// A row applies but the facts cannot name the first status: an engine bug.
    #[error("CLAIM_FACTS_INCONSISTENT: {} on a line {line}: {detail}", .action.mutation_name())]
    InconsistentFacts {
        /// The line's status.
        line: LineStatus,
        /// The opening.
        action: ClaimAction,
        /// What is contradictory.
        detail: &'static str,
    },
}

impl OpeningRefusal {
    /// The stable `userErrors` code.
    pub const fn code(&self) -> &'static str {
        match self {
            OpeningRefusal::NotAllowed { .. } | OpeningRefusal::ReasonNotAllowed { .. } => {
                "CLAIM_NOT_ALLOWED"
            }
            OpeningRefusal::InconsistentFacts { .. } => "CLAIM_FACTS_INCONSISTENT",
        }
    }
}

fn suggestion_note(suggestion: Option<ClaimAction>) -> String {
    match suggestion {
        Some(action) => format!("; use {} instead", action.mutation_name()),
        None => String::new(),
    }
}

/// What every opening row of an action shares (a test checks they agree): the type of the
/// claim it opens and who decides the fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpeningKind {
    /// The claim type.
    pub claim_type: ClaimType,
    /// The fault when the action fixes it; `None` when the seller's policy decides it.
    pub fixed_fault: Option<Fault>,
}

/// What `action` opens, read from its first opening row; `None` for an action on an existing
/// claim.
pub fn opening_kind(action: ClaimAction) -> Option<OpeningKind> {
    OPENINGS
        .iter()
        .find(|row| row.action == action)
        .map(|row| OpeningKind {
            claim_type: row.claim_type(),
            fixed_fault: row.fault.fixed(),
        })
}

/// The opening row that lets `role` open a claim with `action`, if any.
pub fn matching_opening(
    facts: &OpeningFacts,
    action: ClaimAction,
    role: Role,
) -> Option<&'static OpeningRow> {
    OPENINGS.iter().find(|row| row.permits(facts, action, role))
}

/// The opening row that lets `role` open a claim with `action` on units of a line, or why
/// none does. The engine reads what the row asks of it ([`OpeningRow::prices`]) before it
/// asks how the claim [starts](OpeningRow::start).
pub fn plan_opening(
    facts: &OpeningFacts,
    action: ClaimAction,
    role: Role,
) -> Result<&'static OpeningRow, OpeningRefusal> {
    matching_opening(facts, action, role).ok_or_else(|| {
        // Suggest another opening this role has on such a line (whatever the reason), e.g. a
        // return once the line has shipped.
        let suggestion = OPENINGS
            .iter()
            .find(|other| {
                other.action != action
                    && other.actors.contains(role)
                    && other.lines.contains(&facts.line)
                    && other.reasons.accepts(facts.reason)
            })
            .map(|other| other.action);
        OpeningRefusal::NotAllowed {
            line: facts.line,
            action,
            role,
            suggestion,
        }
    })
}

/// Refuses a reason that no row of `action` accepts, before anything is decided about the
/// claim (a seller's policy is not asked about a claim that cannot open).
pub fn check_reason(action: ClaimAction, reason: Reason) -> Result<(), OpeningRefusal> {
    if OPENINGS
        .iter()
        .any(|row| row.action == action && row.reasons.accepts(reason))
    {
        Ok(())
    } else {
        Err(OpeningRefusal::ReasonNotAllowed { action, reason })
    }
}

/// Decides whether `role` may open a claim with `action` on units of a line, and how it starts.
pub fn open(
    facts: &OpeningFacts,
    action: ClaimAction,
    role: Role,
) -> Result<Opening, OpeningRefusal> {
    plan_opening(facts, action, role)?.start(facts)
}
