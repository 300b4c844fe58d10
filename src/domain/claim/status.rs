//! The vocabulary of claims (`claims.md`, `domain.md`): claim types and statuses, the actions
//! that move them, holds, reasons and fault, and the order-line statuses a claim opens from.
//!
//! Every fieldless enum here has `ALL`, `as_str()` (the SCREAMING_SNAKE_CASE code used by
//! GraphQL enums, database columns and messages), `korean()` and `parse()`, so that other layers
//! map them without a catch-all arm. The properties of a status (terminal, refunding, ...) are
//! exhaustive matches: adding a status makes the compiler point at every place to decide.

use serde::{Deserialize, Serialize};

use super::super::actor::Role;

labelled_enum! {
    /// The kind of claim (클레임 유형).
    pub enum ClaimType {
        /// Stop an order line before it ships (취소).
        Cancel => ("CANCEL", "취소"),
        /// Send delivered goods back for a refund (반품).
        Return => ("RETURN", "반품"),
        /// Send delivered goods back for a replacement option of the same product (교환).
        Exchange => ("EXCHANGE", "교환"),
    }
}

labelled_enum! {
    /// Where a claim stands (클레임 상태). The transition table (`table.rs`) says how it moves.
    pub enum ClaimStatus {
        /// A customer asked to cancel a line being prepared; the seller decides (취소 요청).
        CancelRequested => ("CANCEL_REQUESTED", "취소 요청"),
        /// Cancelled and refunded (취소 완료).
        CancelCompleted => ("CANCEL_COMPLETED", "취소 완료"),
        /// Cancelled; the cash refund is on its way through the gateway (취소 환불 처리중).
        CancelRefunding => ("CANCEL_REFUNDING", "취소 환불 처리중"),
        /// The seller refused the cancel, or shipped the line first (취소 거부).
        CancelRejected => ("CANCEL_REJECTED", "취소 거부"),
        /// The customer took the cancel request back (취소 철회).
        CancelWithdrawn => ("CANCEL_WITHDRAWN", "취소 철회"),
        /// A return was requested (반품 신청).
        ReturnRequested => ("RETURN_REQUESTED", "반품 신청"),
        /// Approved; the goods are on their way back (반품 수거 중).
        ReturnCollecting => ("RETURN_COLLECTING", "반품 수거 중"),
        /// The goods are back with the seller (반품 수거 완료).
        ReturnCollected => ("RETURN_COLLECTED", "반품 수거 완료"),
        /// Units closed and priced, but the fees exceed the refund: the claim stays open until
        /// the customer pays the rest or the seller waives it (반품 배송비 결제 대기).
        ReturnAwaitingFee => ("RETURN_AWAITING_FEE", "반품 배송비 결제 대기"),
        /// Priced and closed; the cash refund is on its way (반품 환불 처리중).
        ReturnRefunding => ("RETURN_REFUNDING", "반품 환불 처리중"),
        /// Returned and refunded (반품 완료).
        ReturnCompleted => ("RETURN_COMPLETED", "반품 완료"),
        /// A seller rejected collected goods; an operator must approve (반품 거부 승인 대기).
        ReturnRejectPending => ("RETURN_REJECT_PENDING", "반품 거부 승인 대기"),
        /// The return was refused (반품 거부).
        ReturnRejected => ("RETURN_REJECTED", "반품 거부"),
        /// The customer took the return back (반품 철회).
        ReturnWithdrawn => ("RETURN_WITHDRAWN", "반품 철회"),
        /// Closed by a conversion into an exchange (교환으로 변경).
        ReturnConverted => ("RETURN_CONVERTED", "교환으로 변경"),
        /// An exchange was requested (교환 신청).
        ExchangeRequested => ("EXCHANGE_REQUESTED", "교환 신청"),
        /// Approved; the goods are on their way back (교환 수거 중).
        ExchangeCollecting => ("EXCHANGE_COLLECTING", "교환 수거 중"),
        /// The goods are back with the seller (교환 수거 완료).
        ExchangeCollected => ("EXCHANGE_COLLECTED", "교환 수거 완료"),
        /// The replacement is on its way to the customer (교환 재배송 중).
        ExchangeReshipping => ("EXCHANGE_RESHIPPING", "교환 재배송 중"),
        /// The replacement was delivered (교환 완료).
        ExchangeCompleted => ("EXCHANGE_COMPLETED", "교환 완료"),
        /// A seller rejected collected goods; an operator must approve (교환 거부 승인 대기).
        ExchangeRejectPending => ("EXCHANGE_REJECT_PENDING", "교환 거부 승인 대기"),
        /// The exchange was refused (교환 거부).
        ExchangeRejected => ("EXCHANGE_REJECTED", "교환 거부"),
        /// The customer (or the fee timer) took the exchange back (교환 철회).
        ExchangeWithdrawn => ("EXCHANGE_WITHDRAWN", "교환 철회"),
        /// Closed by a conversion into a return (반품으로 변경).
        ExchangeConverted => ("EXCHANGE_CONVERTED", "반품으로 변경"),
        /// The seller could not deliver the replacement; the refund is on its way
        /// (교환 환불 처리중).
        ExchangeRefunding => ("EXCHANGE_REFUNDING", "교환 환불 처리중"),
        /// The seller could not deliver the replacement; refunded instead (교환 환불 완료).
        ExchangeRefunded => ("EXCHANGE_REFUNDED", "교환 환불 완료"),
    }
}

impl ClaimStatus {
    /// The claim type this status belongs to.
    pub const fn claim_type(self) -> ClaimType {
        use ClaimStatus as S;
        match self {
            S::CancelRequested
            | S::CancelCompleted
            | S::CancelRefunding
            | S::CancelRejected
            | S::CancelWithdrawn => ClaimType::Cancel,
            S::ReturnRequested
            | S::ReturnCollecting
            | S::ReturnCollected
            | S::ReturnAwaitingFee
            | S::ReturnRefunding
            | S::ReturnCompleted
            | S::ReturnRejectPending
            | S::ReturnRejected
            | S::ReturnWithdrawn
            | S::ReturnConverted => ClaimType::Return,
            S::ExchangeRequested
            | S::ExchangeCollecting
            | S::ExchangeCollected
            | S::ExchangeReshipping
            | S::ExchangeCompleted
            | S::ExchangeRejectPending
            | S::ExchangeRejected
            | S::ExchangeWithdrawn
            | S::ExchangeConverted
            | S::ExchangeRefunding
            | S::ExchangeRefunded => ClaimType::Exchange,
        }
    }

    /// True when the claim is closed for good: nothing but refund repairs apply any more.
    pub const fn is_terminal(self) -> bool {
        use ClaimStatus as S;
        match self {
            S::CancelCompleted
            | S::CancelRejected
            | S::CancelWithdrawn
            | S::ReturnCompleted
            | S::ReturnRejected
            | S::ReturnWithdrawn
            | S::ReturnConverted
            | S::ExchangeCompleted
            | S::ExchangeRejected
            | S::ExchangeWithdrawn
            | S::ExchangeConverted
            | S::ExchangeRefunded => true,
            S::CancelRequested
            | S::CancelRefunding
            | S::ReturnRequested
            | S::ReturnCollecting
            | S::ReturnCollected
            | S::ReturnAwaitingFee
            | S::ReturnRefunding
            | S::ReturnRejectPending
            | S::ExchangeRequested
            | S::ExchangeCollecting
            | S::ExchangeCollected
            | S::ExchangeReshipping
            | S::ExchangeRejectPending
            | S::ExchangeRefunding => false,
        }
    }

    /// True for `*_REFUNDING`: units closed and priced, cash refund under way.
    pub const fn is_refunding(self) -> bool {
        matches!(
            self,
            ClaimStatus::CancelRefunding
                | ClaimStatus::ReturnRefunding
                | ClaimStatus::ExchangeRefunding
        )
    }

    /// True for `*_REJECT_PENDING`: a seller's rejection of collected goods awaits an operator.
    pub const fn is_reject_pending(self) -> bool {
        matches!(
            self,
            ClaimStatus::ReturnRejectPending | ClaimStatus::ExchangeRejectPending
        )
    }

    /// True for `RETURN_AWAITING_FEE`: units closed and priced, the customer owes a fee.
    pub const fn awaits_fee(self) -> bool {
        matches!(self, ClaimStatus::ReturnAwaitingFee)
    }

    /// True when entering this status ends any hold (`claims.md`, "Hold"): `*_REJECT_PENDING`,
    /// `*_REFUNDING`, `RETURN_AWAITING_FEE` and every terminal status. No hold exists in them.
    pub const fn ends_hold(self) -> bool {
        self.is_terminal() || self.is_refunding() || self.is_reject_pending() || self.awaits_fee()
    }

    /// True when a hold may be placed (or may exist): the open statuses that do not end one.
    pub const fn is_holdable(self) -> bool {
        !self.ends_hold()
    }

    /// True when, by its status alone, the claim has its goods back ("at or after COLLECTED").
    /// A requested claim carrying a collection from a conversion also counts as collected; see
    /// `ClaimFacts::collected`.
    pub const fn past_collection(self) -> bool {
        use ClaimStatus as S;
        match self {
            S::ReturnCollected
            | S::ReturnAwaitingFee
            | S::ReturnRefunding
            | S::ReturnCompleted
            | S::ReturnRejectPending
            | S::ExchangeCollected
            | S::ExchangeReshipping
            | S::ExchangeCompleted
            | S::ExchangeRejectPending
            | S::ExchangeRefunding
            | S::ExchangeRefunded => true,
            // Cancels never collect; rejected, withdrawn and converted claims no longer hold
            // goods (they were re-delivered, never sent, or handed to the new claim).
            S::CancelRequested
            | S::CancelCompleted
            | S::CancelRefunding
            | S::CancelRejected
            | S::CancelWithdrawn
            | S::ReturnRequested
            | S::ReturnCollecting
            | S::ReturnRejected
            | S::ReturnWithdrawn
            | S::ReturnConverted
            | S::ExchangeRequested
            | S::ExchangeCollecting
            | S::ExchangeRejected
            | S::ExchangeWithdrawn
            | S::ExchangeConverted => false,
        }
    }
}

labelled_enum! {
    /// Everything that can happen to a claim: the mutations of `api.md` that open or act on a
    /// claim, and the facts the SYSTEM (or shipping) reports. The GraphQL name is
    /// [`mutation_name`](ClaimAction::mutation_name).
    pub enum ClaimAction {
        /// Customer or operator asks to cancel (취소 요청). Opens a claim.
        RequestCancel => ("REQUEST_CANCEL", "취소 요청"),
        /// The seller cancels for a stock-out (판매자 취소, 품절). Opens a claim.
        SellerCancel => ("SELLER_CANCEL", "판매자 취소"),
        /// Customer or operator asks to return (반품 신청). Opens a claim.
        RequestReturn => ("REQUEST_RETURN", "반품 신청"),
        /// Customer or operator asks to exchange (교환 신청). Opens a claim.
        RequestExchange => ("REQUEST_EXCHANGE", "교환 신청"),
        /// Approve the request (승인), `approveClaim`.
        Approve => ("APPROVE", "승인"),
        /// Refuse the claim (거부), `rejectClaim`.
        Reject => ("REJECT", "거부"),
        /// An operator confirms a seller's rejection of collected goods (거부 승인).
        ApproveRejection => ("APPROVE_REJECTION", "거부 승인"),
        /// An operator overrules a seller's rejection of collected goods (거부 반려).
        DeclineRejection => ("DECLINE_REJECTION", "거부 반려"),
        /// The customer takes the claim back (철회), `withdrawClaim`.
        Withdraw => ("WITHDRAW", "철회"),
        /// The goods are back (수거 완료): seller, operator, or the courier's tracking.
        MarkCollected => ("MARK_COLLECTED", "수거 완료"),
        /// Pause the claim (보류).
        HoldClaim => ("HOLD_CLAIM", "보류"),
        /// An operator puts a seller's pending hold into force (보류 승인).
        ApproveHold => ("APPROVE_HOLD", "보류 승인"),
        /// An operator drops a seller's pending hold (보류 반려).
        DeclineHold => ("DECLINE_HOLD", "보류 반려"),
        /// End a hold (보류 해제).
        ReleaseHold => ("RELEASE_HOLD", "보류 해제"),
        /// Send the replacement, or send it again after a loss (재배송).
        ReshipExchange => ("RESHIP_EXCHANGE", "재배송"),
        /// Close a collected return and price its refund (반품 완료).
        CompleteReturn => ("COMPLETE_RETURN", "반품 완료"),
        /// The replacement was delivered (교환 완료).
        CompleteExchange => ("COMPLETE_EXCHANGE", "교환 완료"),
        /// The seller cannot deliver the replacement: refund instead (교환 환불).
        RefundExchange => ("REFUND_EXCHANGE", "교환 환불"),
        /// Turn a return into an exchange (교환으로 변경), `convertClaim`.
        ConvertToExchange => ("CONVERT_TO_EXCHANGE", "교환으로 변경"),
        /// Turn an exchange into a return (반품으로 변경), `convertClaim`.
        ConvertToReturn => ("CONVERT_TO_RETURN", "반품으로 변경"),
        /// The customer pays the fee due (배송비 결제).
        PayClaimFee => ("PAY_CLAIM_FEE", "배송비 결제"),
        /// The seller forgoes the fee due (배송비 면제).
        WaiveClaimFee => ("WAIVE_CLAIM_FEE", "배송비 면제"),
        /// Retry the refund parts that failed (환불 재시도).
        RetryRefund => ("RETRY_REFUND", "환불 재시도"),
        /// Mark failed refund parts as paid outside the system (수동 환불 처리).
        ResolveRefundManually => ("RESOLVE_REFUND_MANUALLY", "수동 환불 처리"),
        /// Give the refund account (환불계좌) a bank-transfer refund waits for.
        SetRefundAccount => ("SET_REFUND_ACCOUNT", "환불계좌 등록"),
        /// SYSTEM fact: the gateway confirmed the last outstanding refund part (환불 완료).
        RefundSucceeded => ("REFUND_SUCCEEDED", "환불 완료"),
        /// Fact: the seller shipped a line with an open cancel request; shipping wins
        /// (출고로 취소 거부).
        ShippedOverCancel => ("SHIPPED_OVER_CANCEL", "출고로 취소 거부"),
        /// SYSTEM fact: an exchange's fee stayed unpaid too long (배송비 미결제 자동 철회).
        FeeUnpaidTimeout => ("FEE_UNPAID_TIMEOUT", "배송비 미결제 자동 철회"),
    }
}

/// What kind of event a [`ClaimAction`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Opens a new claim on order lines (`OPENINGS`).
    Opening,
    /// A mutation on an existing claim (`TRANSITIONS`), shown in `availableActions`.
    Mutation,
    /// A fact reported by the SYSTEM or by shipping, applied through `TRANSITIONS` too.
    Fact,
}

impl ClaimAction {
    /// The GraphQL mutation of `api.md` that performs the action. Facts name what reports
    /// them: `shipLines` for [`ShippedOverCancel`](ClaimAction::ShippedOverCancel), a
    /// descriptive camelCase name for the SYSTEM's own facts.
    pub const fn mutation_name(self) -> &'static str {
        use ClaimAction as A;
        match self {
            A::RequestCancel => "requestCancel",
            A::SellerCancel => "sellerCancel",
            A::RequestReturn => "requestReturn",
            A::RequestExchange => "requestExchange",
            A::Approve => "approveClaim",
            A::Reject => "rejectClaim",
            A::ApproveRejection => "approveRejection",
            A::DeclineRejection => "declineRejection",
            A::Withdraw => "withdrawClaim",
            A::MarkCollected => "markCollected",
            A::HoldClaim => "holdClaim",
            A::ApproveHold => "approveHold",
            A::DeclineHold => "declineHold",
            A::ReleaseHold => "releaseHold",
            A::ReshipExchange => "reshipExchange",
            A::CompleteReturn => "completeReturn",
            A::CompleteExchange => "completeExchange",
            A::RefundExchange => "refundExchange",
            A::ConvertToExchange | A::ConvertToReturn => "convertClaim",
            A::PayClaimFee => "payClaimFee",
            A::WaiveClaimFee => "waiveClaimFee",
            A::RetryRefund => "retryRefund",
            A::ResolveRefundManually => "resolveRefundManually",
            A::SetRefundAccount => "setRefundAccount",
            A::RefundSucceeded => "refundSucceeded",
            A::ShippedOverCancel => "shipLines",
            A::FeeUnpaidTimeout => "feeUnpaidTimeout",
        }
    }

    /// Whether the action opens a claim, acts on one, or is a reported fact.
    pub const fn kind(self) -> ActionKind {
        use ClaimAction as A;
        match self {
            A::RequestCancel | A::SellerCancel | A::RequestReturn | A::RequestExchange => {
                ActionKind::Opening
            }
            A::RefundSucceeded | A::ShippedOverCancel | A::FeeUnpaidTimeout => ActionKind::Fact,
            A::Approve
            | A::Reject
            | A::ApproveRejection
            | A::DeclineRejection
            | A::Withdraw
            | A::MarkCollected
            | A::HoldClaim
            | A::ApproveHold
            | A::DeclineHold
            | A::ReleaseHold
            | A::ReshipExchange
            | A::CompleteReturn
            | A::CompleteExchange
            | A::RefundExchange
            | A::ConvertToExchange
            | A::ConvertToReturn
            | A::PayClaimFee
            | A::WaiveClaimFee
            | A::RetryRefund
            | A::ResolveRefundManually
            | A::SetRefundAccount => ActionKind::Mutation,
        }
    }

    /// Whether the action still applies while the claim is HELD (`claims.md`, "Hold").
    ///
    /// The listed ones are `releaseHold`, `payClaimFee`, `waiveClaimFee`, `reject`,
    /// `approveRejection`, `declineRejection`, `convert`, `refundExchange` and `withdraw`.
    /// The refund repairs act on money, not on the claim's status, and the facts report what
    /// already happened (a line that left the warehouse cannot be held back), so they proceed
    /// too. Everything else waits, except when the SYSTEM reports it (see `hold_blocks`).
    pub const fn allowed_while_held(self) -> bool {
        use ClaimAction as A;
        match self {
            A::ReleaseHold
            | A::PayClaimFee
            | A::WaiveClaimFee
            | A::Reject
            | A::ApproveRejection
            | A::DeclineRejection
            | A::ConvertToExchange
            | A::ConvertToReturn
            | A::RefundExchange
            | A::Withdraw
            | A::RetryRefund
            | A::ResolveRefundManually
            | A::SetRefundAccount
            | A::RefundSucceeded
            | A::ShippedOverCancel
            | A::FeeUnpaidTimeout => true,
            // Openings never meet a hold; hold management has its own hold guards.
            A::RequestCancel
            | A::SellerCancel
            | A::RequestReturn
            | A::RequestExchange
            | A::Approve
            | A::MarkCollected
            | A::HoldClaim
            | A::ApproveHold
            | A::DeclineHold
            | A::ReshipExchange
            | A::CompleteReturn
            | A::CompleteExchange => false,
        }
    }
}

/// Whether a hold makes `action` by `role` wait: only a hold in force (HELD, not
/// HOLD_PENDING) blocks, only actions not [allowed while held](ClaimAction::allowed_while_held),
/// and never the SYSTEM, whose facts apply even while held.
pub fn hold_blocks(hold: &HoldState, action: ClaimAction, role: Role) -> bool {
    hold.is_held() && !action.allowed_while_held() && role != Role::System
}

labelled_enum! {
    /// Why a claim is on hold (보류 사유).
    pub enum HoldReason {
        /// The customer disputes the seller's account (고객 분쟁).
        CustomerDispute => ("CUSTOMER_DISPUTE", "고객 분쟁"),
        /// The goods are being inspected (검수 중).
        Inspection => ("INSPECTION", "검수 중"),
        /// The customer damaged the goods (고객 과실 파손).
        DamagedByCustomer => ("DAMAGED_BY_CUSTOMER", "고객 과실 파손"),
        /// Anything else; the memo says what (기타).
        Other => ("OTHER", "기타"),
        /// An exchange's fee is not paid yet (배송비 미결제). Placed by the SYSTEM only.
        ReturnFeeUnpaid => ("RETURN_FEE_UNPAID", "배송비 미결제"),
    }
}

impl HoldReason {
    /// The reasons a `holdClaim` may give; `RETURN_FEE_UNPAID` is the SYSTEM's alone, so the
    /// API's input type should offer only these.
    pub const MANUAL: [HoldReason; 4] = [
        HoldReason::CustomerDispute,
        HoldReason::Inspection,
        HoldReason::DamagedByCustomer,
        HoldReason::Other,
    ];

    /// True for the fee hold, which `releaseHold` cannot lift (only pay or waive).
    pub const fn is_fee_hold(self) -> bool {
        matches!(self, HoldReason::ReturnFeeUnpaid)
    }
}

/// The hold of a claim (보류), orthogonal to its status. At most one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HoldState {
    /// Not on hold.
    #[default]
    None,
    /// A seller's hold on collected goods, waiting for an operator (보류 승인 대기). Blocks
    /// nothing until approved.
    Pending {
        /// Why the seller wants the hold.
        reason: HoldReason,
        /// Who placed it (always [`Role::Seller`] today).
        by: Role,
    },
    /// In force (보류 중): status actions wait, except those allowed while held.
    Held {
        /// Why the claim is held.
        reason: HoldReason,
        /// Who placed it: "SELLER for its own hold" may release it.
        by: Role,
    },
}

impl HoldState {
    /// The SYSTEM's hold on an exchange whose fee is above zero and unpaid.
    pub const FEE_UNPAID: HoldState = HoldState::Held {
        reason: HoldReason::ReturnFeeUnpaid,
        by: Role::System,
    };

    /// True when a hold is in force (HELD).
    pub const fn is_held(&self) -> bool {
        matches!(self, HoldState::Held { .. })
    }

    /// True for any hold, pending or in force (a second `holdClaim` is refused).
    pub const fn is_some(&self) -> bool {
        !matches!(self, HoldState::None)
    }

    /// The hold's reason, if there is one.
    pub const fn reason(&self) -> Option<HoldReason> {
        match self {
            HoldState::None => None,
            HoldState::Pending { reason, .. } | HoldState::Held { reason, .. } => Some(*reason),
        }
    }

    /// Who placed the hold, if there is one.
    pub const fn placed_by(&self) -> Option<Role> {
        match self {
            HoldState::None => None,
            HoldState::Pending { by, .. } | HoldState::Held { by, .. } => Some(*by),
        }
    }

    /// The code of the hold's phase: `NONE`, `HOLD_PENDING` or `HELD`.
    pub const fn phase_str(&self) -> &'static str {
        match self {
            HoldState::None => "NONE",
            HoldState::Pending { .. } => "HOLD_PENDING",
            HoldState::Held { .. } => "HELD",
        }
    }
}

/// Who caused the claim (귀책); decides who pays shipping (`money.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Fault {
    /// The customer's (고객 귀책, e.g. 단순변심).
    Customer,
    /// The seller's (판매자 귀책, e.g. 불량·오배송).
    Seller,
}

impl Fault {
    /// Both values.
    pub const ALL: [Fault; 2] = [Fault::Customer, Fault::Seller];

    /// `CUSTOMER` or `SELLER`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Fault::Customer => "CUSTOMER",
            Fault::Seller => "SELLER",
        }
    }

    /// The fault of a stored name.
    pub fn parse(s: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The Korean term.
    pub const fn korean(self) -> &'static str {
        match self {
            Fault::Customer => "고객 귀책",
            Fault::Seller => "판매자 귀책",
        }
    }
}

labelled_enum! {
    /// Why the customer (or seller) claims (사유). The default fault is the built-in policy.
    pub enum Reason {
        /// Changed their mind (단순 변심).
        ChangeOfMind => ("CHANGE_OF_MIND", "단순 변심"),
        /// Ordered by mistake (주문 실수).
        OrderedByMistake => ("ORDERED_BY_MISTAKE", "주문 실수"),
        /// Wants another size or option (사이즈·옵션 변경).
        SizeOrOptionChange => ("SIZE_OR_OPTION_CHANGE", "사이즈·옵션 변경"),
        /// Defective or damaged goods (상품 불량·파손).
        Defective => ("DEFECTIVE", "상품 불량·파손"),
        /// The wrong item arrived (오배송).
        WrongItemDelivered => ("WRONG_ITEM_DELIVERED", "오배송"),
        /// Delivery is late (배송 지연).
        DeliveryDelayed => ("DELIVERY_DELAYED", "배송 지연"),
        /// The seller has no stock (품절, 판매자 사유); `sellerCancel` only.
        OutOfStock => ("OUT_OF_STOCK", "품절 (판매자 사유)"),
        /// Anything else (기타).
        Other => ("OTHER", "기타"),
    }
}

impl Reason {
    /// The fault party of the built-in default policy (`claims.md`, "Reasons").
    pub const fn default_fault(self) -> Fault {
        match self {
            Reason::ChangeOfMind
            | Reason::OrderedByMistake
            | Reason::SizeOrOptionChange
            | Reason::Other => Fault::Customer,
            Reason::Defective
            | Reason::WrongItemDelivered
            | Reason::DeliveryDelayed
            | Reason::OutOfStock => Fault::Seller,
        }
    }
}

pub use crate::domain::order::LineStatus;

/// How the goods of a return or an exchange come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionMethod {
    /// The seller's courier picks them up (방문 수거).
    Pickup,
    /// The customer ships them (직접 발송).
    CustomerShips,
}

impl CollectionMethod {
    /// Both methods.
    pub const ALL: [CollectionMethod; 2] =
        [CollectionMethod::Pickup, CollectionMethod::CustomerShips];

    /// The method stored as `code`, if any.
    pub fn parse(code: &str) -> Option<CollectionMethod> {
        Self::ALL.into_iter().find(|method| method.as_str() == code)
    }

    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CollectionMethod::Pickup => "PICKUP",
            CollectionMethod::CustomerShips => "CUSTOMER_SHIPS",
        }
    }
}
