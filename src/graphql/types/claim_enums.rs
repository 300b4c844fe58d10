//! GraphQL mirrors of the claim vocabulary (`domain::claim`); `remote` keeps them identical.

use async_graphql::Enum;

use crate::domain::claim as domain;

/// The kind of claim (클레임 유형).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::ClaimType", name = "ClaimType")]
pub enum ClaimType {
    /// Stop an order line before it ships (취소).
    Cancel,
    /// Send delivered goods back for a refund (반품).
    Return,
    /// Send delivered goods back for a replacement option of the same product (교환).
    Exchange,
}

/// Where a claim is (클레임 상태). See `docs/claim-transitions.md` for the table.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::ClaimStatus", name = "ClaimStatus")]
pub enum ClaimStatus {
    /// A customer asked to cancel a line being prepared; the seller decides (취소 요청).
    CancelRequested,
    /// Cancelled and refunded (취소 완료).
    CancelCompleted,
    /// Cancelled; the cash refund is on its way through the gateway (취소 환불 처리중).
    CancelRefunding,
    /// The seller refused the cancel, or shipped the line first (취소 거부).
    CancelRejected,
    /// The customer took the cancel request back (취소 철회).
    CancelWithdrawn,
    /// A return was requested (반품 신청).
    ReturnRequested,
    /// Approved; the goods are on their way back (반품 수거 중).
    ReturnCollecting,
    /// The goods are back with the seller (반품 수거 완료).
    ReturnCollected,
    /// Units closed and priced, but the fees exceed the refund: the claim stays open until the
    /// customer pays the rest or the seller waives it (반품 배송비 결제 대기).
    ReturnAwaitingFee,
    /// Priced and closed; the cash refund is on its way (반품 환불 처리중).
    ReturnRefunding,
    /// Returned and refunded (반품 완료).
    ReturnCompleted,
    /// A seller rejected collected goods; an operator must approve (반품 거부 승인 대기).
    ReturnRejectPending,
    /// The return was refused (반품 거부).
    ReturnRejected,
    /// The customer took the return back (반품 철회).
    ReturnWithdrawn,
    /// Closed by a conversion into an exchange (교환으로 변경).
    ReturnConverted,
    /// An exchange was requested (교환 신청).
    ExchangeRequested,
    /// Approved; the goods are on their way back (교환 수거 중).
    ExchangeCollecting,
    /// The goods are back with the seller (교환 수거 완료).
    ExchangeCollected,
    /// The replacement is on its way to the customer (교환 재배송 중).
    ExchangeReshipping,
    /// The replacement was delivered (교환 완료).
    ExchangeCompleted,
    /// A seller rejected collected goods; an operator must approve (교환 거부 승인 대기).
    ExchangeRejectPending,
    /// The exchange was refused (교환 거부).
    ExchangeRejected,
    /// The customer (or the fee timer) took the exchange back (교환 철회).
    ExchangeWithdrawn,
    /// Closed by a conversion into a return (반품으로 변경).
    ExchangeConverted,
    /// The seller could not deliver the replacement; the refund is on its way (교환 환불 처리중).
    ExchangeRefunding,
    /// The seller could not deliver the replacement; refunded instead (교환 환불 완료).
    ExchangeRefunded,
}

/// Something that can happen to a claim: the mutations (by their `mutationName`) and the facts the SYSTEM or shipping report. `availableActions` lists those the viewer may take now.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::ClaimAction", name = "ClaimAction")]
pub enum ClaimAction {
    /// Customer or operator asks to cancel (취소 요청). Opens a claim.
    RequestCancel,
    /// The seller cancels for a stock-out (판매자 취소, 품절). Opens a claim.
    SellerCancel,
    /// Customer or operator asks to return (반품 신청). Opens a claim.
    RequestReturn,
    /// Customer or operator asks to exchange (교환 신청). Opens a claim.
    RequestExchange,
    /// Approve the request (승인), `approveClaim`.
    Approve,
    /// Refuse the claim (거부), `rejectClaim`.
    Reject,
    /// An operator confirms a seller's rejection of collected goods (거부 승인).
    ApproveRejection,
    /// An operator overrules a seller's rejection of collected goods (거부 반려).
    DeclineRejection,
    /// The customer takes the claim back (철회), `withdrawClaim`.
    Withdraw,
    /// The goods are back (수거 완료): seller, operator, or the courier's tracking.
    MarkCollected,
    /// Pause the claim (보류).
    HoldClaim,
    /// An operator puts a seller's pending hold into force (보류 승인).
    ApproveHold,
    /// An operator drops a seller's pending hold (보류 반려).
    DeclineHold,
    /// End a hold (보류 해제).
    ReleaseHold,
    /// Send the replacement, or send it again after a loss (재배송).
    ReshipExchange,
    /// Close a collected return and price its refund (반품 완료).
    CompleteReturn,
    /// The replacement was delivered (교환 완료).
    CompleteExchange,
    /// The seller cannot deliver the replacement: refund instead (교환 환불).
    RefundExchange,
    /// Turn a return into an exchange (교환으로 변경), `convertClaim`.
    ConvertToExchange,
    /// Turn an exchange into a return (반품으로 변경), `convertClaim`.
    ConvertToReturn,
    /// The customer pays the fee due (배송비 결제).
    PayClaimFee,
    /// The seller forgoes the fee due (배송비 면제).
    WaiveClaimFee,
    /// Retry the refund parts that failed (환불 재시도).
    RetryRefund,
    /// Mark failed refund parts as paid outside the system (수동 환불 처리).
    ResolveRefundManually,
    /// Give the refund account (환불계좌) a bank-transfer refund waits for.
    SetRefundAccount,
    /// SYSTEM fact: the gateway confirmed the last outstanding refund part (환불 완료).
    RefundSucceeded,
    /// Fact: the seller shipped a line with an open cancel request; shipping wins (출고로 취소 거부).
    ShippedOverCancel,
    /// SYSTEM fact: an exchange's fee stayed unpaid too long (배송비 미결제 자동 철회).
    FeeUnpaidTimeout,
}

/// Why a claim was made (사유).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::Reason", name = "ClaimReason")]
pub enum ClaimReason {
    /// Changed their mind (단순 변심).
    ChangeOfMind,
    /// Ordered by mistake (주문 실수).
    OrderedByMistake,
    /// Wants another size or option (사이즈·옵션 변경).
    SizeOrOptionChange,
    /// Defective or damaged goods (상품 불량·파손).
    Defective,
    /// The wrong item arrived (오배송).
    WrongItemDelivered,
    /// Delivery is late (배송 지연).
    DeliveryDelayed,
    /// The seller has no stock (품절, 판매자 사유); `sellerCancel` only.
    OutOfStock,
    /// Anything else (기타).
    Other,
}

/// Why a claim is on hold (보류 사유). RETURN_FEE_UNPAID is placed by the SYSTEM only.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::HoldReason", name = "HoldReason")]
pub enum HoldReason {
    /// The customer disputes the seller's account (고객 분쟁).
    CustomerDispute,
    /// The goods are being inspected (검수 중).
    Inspection,
    /// The customer damaged the goods (고객 과실 파손).
    DamagedByCustomer,
    /// Anything else; the memo says what (기타).
    Other,
    /// An exchange's fee is not paid yet (배송비 미결제). Placed by the SYSTEM only.
    ReturnFeeUnpaid,
}

/// Who caused the claim (귀책).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::Fault", name = "Fault")]
pub enum Fault {
    /// The customer's (고객 귀책, e.g. 단순변심): shipping deductions may apply.
    Customer,
    /// The seller's (판매자 귀책, e.g. 불량·오배송): the customer pays nothing.
    Seller,
}

/// How returned goods travel back.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::CollectionMethod", name = "CollectionMethod")]
pub enum CollectionMethod {
    /// The seller's courier picks them up (방문 수거).
    Pickup,
    /// The customer ships them to the seller (직접 발송).
    CustomerShips,
}

/// Where a refund part stands (환불 상태). A whole refund's `status` is a `RefundState`: the
/// most urgent of its cash parts', or AWAITING_FEE.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::RefundStatus", name = "RefundStatus")]
pub enum RefundStatus {
    /// Paid back (환불 완료); points are restored at once.
    Succeeded,
    /// Waiting for the payment gateway, retried with backoff (환불 처리중).
    Pending,
    /// A bank-transfer refund waits for the customer's refund account (환불계좌 필요).
    AccountRequired,
    /// Failed after its retries; an operator retries it or resolves it by hand (환불 실패).
    Failed,
}

/// Where a whole refund stands (`Refund.status`, 환불 진행 상태): its cash parts' most urgent
/// status, or AWAITING_FEE while the customer owes a fee and nothing is paid back yet.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::RefundState", name = "RefundState")]
pub enum RefundState {
    /// Every cash part has been paid back (or there is none, points being restored at once)
    /// and no fee is owed (환불 완료).
    Succeeded,
    /// A cash part is waiting for the payment gateway, retried with backoff (환불 처리중).
    Pending,
    /// A bank-transfer refund waits for the customer's refund account (환불계좌 필요).
    AccountRequired,
    /// A cash part failed after its retries; an operator retries it or resolves it by hand
    /// (환불 실패).
    Failed,
    /// The deductions exceed the refund: nothing is paid back, and the claim
    /// (RETURN_AWAITING_FEE) waits for the customer's `payClaimFee` or the seller's
    /// `waiveClaimFee`; then the refund goes on as SUCCEEDED (배송비 결제 대기).
    AwaitingFee,
}

/// Which of an order's payments a tender is, and so which one a refund part pays back.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::refund::PaymentRole", name = "PaymentRole")]
pub enum PaymentRole {
    /// The order's own payment at checkout: its card charge, bank transfer or points.
    Order,
    /// A claim's fee payment (`payClaimFee`: return shipping or an exchange's round trip),
    /// refundable like the order's; `Tender.claim` names the claim.
    Fee,
}
