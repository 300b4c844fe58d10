//! Claim queries and mutations: one mutation per action of `claims.md`, each with one input
//! (an optional `idempotencyKey` and `expectedVersion`) and a payload with the claim, the
//! affected order lines and `userErrors`.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::idempotency::{keyed, with_key};
use super::ids::{parse, Kind};
use super::query::PageInfo;
use super::text::{self, TextInput, Texts};
use super::types::claim::Claim;
use super::types::claim_enums::{
    ClaimReason, ClaimStatus, ClaimType, CollectionMethod, HoldReason,
};
use super::types::order::OrderLine;
use super::types::payloads::{answered, refusable, refusal, replayable, Payload};
use super::{app, require_actor, require_writer};
use crate::domain::claim::{self as domain, ClaimAction};
use crate::domain::text as limit;
use crate::error::{to_graphql_error, ServiceError, UserError};
use crate::repo::claims::ClaimFilter;
use crate::service::claims::{
    self, ActRequest, ClaimChanged, CollectionMethod as Method, OpenItem, OpenRequest,
};
use crate::service::idempotency::{Answer, Keyed};
use crate::service::reads::{self, PageArgs, PageRequest};

/// The texts of an input that opens a claim on an order: its number and the memo.
fn opening_texts(order_number: &str, memo: Option<&str>) -> Texts {
    Texts::default()
        .field("orderNumber", order_number, limit::ORDER_NUMBER)
        .optional("memo", memo, limit::MEMO)
}

/// The texts of an input that acts on a claim: its number and the memo.
fn action_texts(claim_number: &str, memo: Option<&str>) -> Texts {
    Texts::default()
        .field("claimNumber", claim_number, limit::CLAIM_NUMBER)
        .optional("memo", memo, limit::MEMO)
}

/// Units of one line to claim.
#[derive(InputObject)]
pub struct ClaimItemInput {
    /// The order line (`OrderLine.id`).
    pub line_id: ID,
    /// Units, at least 1 and at most the line's claimable units.
    pub quantity: i32,
}

/// Units of one line to exchange, and what to send instead.
#[derive(InputObject)]
pub struct ExchangeItemInput {
    /// The order line.
    pub line_id: ID,
    /// Units.
    pub quantity: i32,
    /// Another option of the same product at the same price.
    pub replacement_option_id: ID,
}

/// Input of `requestCancel`.
#[derive(InputObject)]
pub struct RequestCancelInput {
    /// The order. At most 40 characters, one line.
    pub order_number: String,
    /// The units (lines of one seller). At most 500 entries.
    pub items: Vec<ClaimItemInput>,
    /// Why (default CHANGE_OF_MIND).
    pub reason: Option<ClaimReason>,
    /// The customer's words. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for RequestCancelInput {
    fn texts(&self) -> Texts {
        opening_texts(&self.order_number, self.memo.as_deref()).count(
            "items",
            self.items.len(),
            limit::LINES,
        )
    }
}

/// Input of `sellerCancel` (stock-out, 품절).
#[derive(InputObject)]
pub struct SellerCancelInput {
    /// The order. At most 40 characters, one line.
    pub order_number: String,
    /// The units (the seller's own lines). At most 500 entries.
    pub items: Vec<ClaimItemInput>,
    /// A note. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for SellerCancelInput {
    fn texts(&self) -> Texts {
        opening_texts(&self.order_number, self.memo.as_deref()).count(
            "items",
            self.items.len(),
            limit::LINES,
        )
    }
}

/// Input of `requestReturn`.
#[derive(InputObject)]
pub struct RequestReturnInput {
    /// The order. At most 40 characters, one line.
    pub order_number: String,
    /// The units (lines of one seller). At most 500 entries.
    pub items: Vec<ClaimItemInput>,
    /// Why; decides the fault and the window.
    pub reason: ClaimReason,
    /// The customer's words. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Pickup (default) or the customer ships.
    pub collection_method: Option<CollectionMethod>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for RequestReturnInput {
    fn texts(&self) -> Texts {
        opening_texts(&self.order_number, self.memo.as_deref()).count(
            "items",
            self.items.len(),
            limit::LINES,
        )
    }
}

/// Input of `requestExchange`.
#[derive(InputObject)]
pub struct RequestExchangeInput {
    /// The order. At most 40 characters, one line.
    pub order_number: String,
    /// The units and their replacements (lines of one seller). At most 500 entries.
    pub items: Vec<ExchangeItemInput>,
    /// Why; decides the fault, the fee and the window.
    pub reason: ClaimReason,
    /// The customer's words. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Pickup (default) or the customer ships.
    pub collection_method: Option<CollectionMethod>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for RequestExchangeInput {
    fn texts(&self) -> Texts {
        opening_texts(&self.order_number, self.memo.as_deref()).count(
            "items",
            self.items.len(),
            limit::LINES,
        )
    }
}

/// Input of the actions that need nothing but the claim.
#[derive(InputObject)]
pub struct ClaimActionInput {
    /// The claim. At most 50 characters, one line.
    pub claim_number: String,
    /// A note for the timeline. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for ClaimActionInput {
    fn texts(&self) -> Texts {
        action_texts(&self.claim_number, self.memo.as_deref())
    }
}

/// Input of `approveClaim`.
#[derive(InputObject)]
pub struct ApproveClaimInput {
    /// The claim. At most 50 characters, one line.
    pub claim_number: String,
    /// Cancel requests: the seller has no stock (a seller-fault cancel, no restock; the
    /// approval's timeline event records the fault change). Refused (`INVALID_INPUT`) on a
    /// return or an exchange.
    #[graphql(default)]
    pub out_of_stock: bool,
    /// A note for the timeline. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for ApproveClaimInput {
    fn texts(&self) -> Texts {
        action_texts(&self.claim_number, self.memo.as_deref())
    }
}

/// Input of actions that record a courier leg (`markCollected`, `reshipExchange`, and
/// `rejectClaim` when collected goods are sent back).
#[derive(InputObject)]
pub struct CourierInput {
    /// The claim. At most 50 characters, one line.
    pub claim_number: String,
    /// The courier (택배사). At most 50 characters, one line.
    pub courier: Option<String>,
    /// 운송장 번호. At most 50 characters, one line.
    pub tracking_number: Option<String>,
    /// A note for the timeline. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for CourierInput {
    fn texts(&self) -> Texts {
        action_texts(&self.claim_number, self.memo.as_deref())
            .optional("courier", self.courier.as_deref(), limit::COURIER)
            .optional(
                "trackingNumber",
                self.tracking_number.as_deref(),
                limit::TRACKING_NUMBER,
            )
    }
}

/// Input of `holdClaim`.
#[derive(InputObject)]
pub struct HoldClaimInput {
    /// The claim. At most 50 characters, one line.
    pub claim_number: String,
    /// Why (not RETURN_FEE_UNPAID, which the SYSTEM places).
    pub reason: HoldReason,
    /// A note. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for HoldClaimInput {
    fn texts(&self) -> Texts {
        action_texts(&self.claim_number, self.memo.as_deref())
    }
}

/// Input of `completeReturn`.
#[derive(InputObject)]
pub struct CompleteReturnInput {
    /// The claim. At most 50 characters, one line.
    pub claim_number: String,
    /// Put the goods back in stock (default: yes, but not for DEFECTIVE).
    pub restock: Option<bool>,
    /// A note for the timeline. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for CompleteReturnInput {
    fn texts(&self) -> Texts {
        action_texts(&self.claim_number, self.memo.as_deref())
    }
}

/// A replacement for one line.
#[derive(InputObject)]
pub struct ReplacementInput {
    /// The order line.
    pub line_id: ID,
    /// The option to send instead.
    pub option_id: ID,
}

/// Input of `convertClaim`.
#[derive(InputObject)]
pub struct ConvertClaimInput {
    /// The claim (a return becomes an exchange, an exchange a return). At most 50 characters,
    /// one line.
    pub claim_number: String,
    /// Into an exchange: the replacement of every line. At most 500 entries.
    pub replacements: Option<Vec<ReplacementInput>>,
    /// A note for the timeline. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for ConvertClaimInput {
    fn texts(&self) -> Texts {
        action_texts(&self.claim_number, self.memo.as_deref()).count(
            "replacements",
            self.replacements.as_ref().map_or(0, Vec::len),
            limit::LINES,
        )
    }
}

/// Input of `resolveRefundManually`.
#[derive(InputObject)]
pub struct ResolveRefundManuallyInput {
    /// The claim. At most 50 characters, one line.
    pub claim_number: String,
    /// The outside payment's reference. At most 100 characters, one line.
    pub reference: String,
    /// A note. At most 1,000 characters (line breaks and tabs allowed).
    pub memo: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for ResolveRefundManuallyInput {
    fn texts(&self) -> Texts {
        action_texts(&self.claim_number, self.memo.as_deref()).field(
            "reference",
            &self.reference,
            limit::PAYMENT_REFERENCE,
        )
    }
}

/// How a claim fee is paid.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum FeePaymentMethod {
    /// Charged to the card through the payment gateway.
    Card,
    /// 무통장입금: recorded now, counted when an operator confirms the deposit.
    BankTransfer,
}

/// Input of `payClaimFee`.
#[derive(InputObject)]
pub struct PayClaimFeeInput {
    /// The claim: an exchange held for its fee (RETURN_FEE_UNPAID), or a return awaiting its fee.
    /// At most 50 characters, one line.
    pub claim_number: String,
    /// Exactly the fee due (anything else: FEE_AMOUNT_MISMATCH).
    pub amount: crate::domain::money::Won,
    /// CARD (default: the payment the customer authorized in the payment widget, confirmed
    /// now) or BANK_TRANSFER (counts once an OPERATOR confirms it with
    /// `confirmClaimFeeTransfer`).
    pub method: Option<FeePaymentMethod>,
    /// For CARD: the key the payment widget gave, opened with the claim's
    /// `feePaymentOrderId` and the fee due. At most 200 characters, one line.
    pub payment_key: Option<String>,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for PayClaimFeeInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("claimNumber", &self.claim_number, limit::CLAIM_NUMBER)
            .optional(
                "paymentKey",
                self.payment_key.as_deref(),
                limit::PAYMENT_KEY,
            )
    }
}

/// Input of `setRefundAccount`.
#[derive(InputObject)]
pub struct SetRefundAccountInput {
    /// The claim whose bank-transfer refund waits for an account. At most 50 characters, one
    /// line.
    pub claim_number: String,
    /// Bank name (은행명). At most 50 characters, one line.
    pub bank: String,
    /// Account number (계좌번호). At most 50 characters, one line.
    pub account_number: String,
    /// Account holder (예금주). At most 100 characters, one line.
    pub holder: String,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for SetRefundAccountInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("claimNumber", &self.claim_number, limit::CLAIM_NUMBER)
            .field("bank", &self.bank, limit::BANK)
            .field("accountNumber", &self.account_number, limit::ACCOUNT_NUMBER)
            .field("holder", &self.holder, limit::ACCOUNT_HOLDER)
    }
}

/// The result of a claim mutation.
#[derive(SimpleObject, Default)]
#[graphql(complex)]
pub struct ClaimPayload {
    /// The claim as it is now (for a conversion: the new claim). Null when refused.
    pub claim: Option<Claim>,
    /// Why the request was refused; empty on success. A refused request changed nothing.
    pub user_errors: Vec<UserError>,
    /// True when this answers an earlier request with the same `idempotencyKey` (still running
    /// or finished): its outcome again, the objects as they are now, nothing changed by this
    /// call. False when the request ran now.
    pub replayed: bool,
}

#[async_graphql::ComplexObject]
impl ClaimPayload {
    /// The order lines the claim covers, as they are now (read only when asked for).
    async fn order_lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        let Some(claim) = &self.claim else {
            return Ok(Vec::new());
        };
        let lines = reads::lines_of_claim(app(ctx)?, claim.0.id)
            .await
            .map_err(to_graphql_error)?;
        Ok(lines.into_iter().map(OrderLine).collect())
    }
}

refusable!(ClaimPayload);
replayable!(ClaimPayload);

async fn payload(ctx: &Context<'_>, answer: Answer<ClaimChanged>) -> Result<ClaimPayload> {
    answered(answer, |changed: ClaimChanged| async move {
        // The service hands back the row it wrote when it has it; else (a replay) read it.
        let claim = match changed.claim {
            Some(c) => Some(c),
            None => reads::written_claim(app(ctx)?, changed.claim_id)
                .await
                .map_err(to_graphql_error)?,
        };
        Ok(ClaimPayload {
            claim: claim.map(Claim),
            ..Default::default()
        })
    })
    .await
}

/// The units to claim; an ID that names no order line is a refusal of the request.
fn items(items: &[ClaimItemInput]) -> Result<Vec<OpenItem>, ServiceError> {
    items
        .iter()
        .map(|i| {
            Ok(OpenItem {
                line_id: parse(&i.line_id, Kind::OrderLine)?,
                quantity: i64::from(i.quantity),
                replacement_option_id: None,
            })
        })
        .collect()
}

fn method(m: Option<CollectionMethod>) -> Method {
    m.map_or(Method::Pickup, Method::from)
}

fn tracking(courier: Option<String>, number: Option<String>) -> Option<(String, String)> {
    let courier = courier
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())?;
    let number = number
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())?;
    Some((courier, number))
}

/// The idempotency key of a claim mutation, as [`keyed`] reads it.
type Key = Result<Option<Keyed>, ServiceError>;

async fn opening(ctx: &Context<'_>, key: Key, req: OpenRequest) -> Result<ClaimPayload> {
    let (actor, app) = (require_writer(ctx)?, app(ctx)?);
    let answer = with_key(key, |key| claims::open_claim(app, actor, key, req)).await;
    payload(ctx, answer).await
}

async fn acting(
    ctx: &Context<'_>,
    action: ClaimAction,
    key: Key,
    req: ActRequest,
) -> Result<ClaimPayload> {
    let (actor, app) = (require_writer(ctx)?, app(ctx)?);
    let answer = with_key(key, |key| claims::act(app, actor, action, key, req)).await;
    payload(ctx, answer).await
}

fn simple(ctx: &Context<'_>, i: ClaimActionInput) -> (Key, ActRequest) {
    (
        keyed(ctx, &i),
        ActRequest {
            claim_number: i.claim_number,
            expected_version: i.expected_version,
            memo: i.memo,
            ..Default::default()
        },
    )
}

fn courier(ctx: &Context<'_>, i: CourierInput) -> (Key, ActRequest) {
    (
        keyed(ctx, &i),
        ActRequest {
            claim_number: i.claim_number,
            expected_version: i.expected_version,
            memo: i.memo,
            tracking: tracking(i.courier, i.tracking_number),
            ..Default::default()
        },
    )
}

/// Claim queries.
#[derive(Default)]
pub struct ClaimQuery;

/// Filters of `claims`; all given filters must hold.
#[derive(InputObject, Default)]
pub struct ClaimFilterInput {
    /// Cancel, return or exchange.
    pub r#type: Option<ClaimType>,
    /// A status.
    pub status: Option<ClaimStatus>,
    /// On hold (pending or in force), or not.
    pub held: Option<bool>,
    /// One seller's claims.
    pub seller_id: Option<ID>,
    /// A reason.
    pub reason: Option<ClaimReason>,
    /// Requested at or after.
    pub requested_from: Option<DateTime<Utc>>,
    /// Requested before.
    pub requested_to: Option<DateTime<Utc>>,
}

/// A page of claims, newest first.
#[derive(SimpleObject)]
pub struct ClaimConnection {
    /// The claims with their cursors.
    pub edges: Vec<ClaimEdge>,
    /// Paging information.
    pub page_info: PageInfo,
}

/// A claim and its cursor.
#[derive(SimpleObject)]
pub struct ClaimEdge {
    /// Opaque position; pass to `after`.
    pub cursor: String,
    /// The claim.
    pub node: Claim,
}

#[Object]
impl ClaimQuery {
    /// One claim by number; null when it does not exist or the caller may not see it.
    async fn claim(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "클레임 번호, e.g. `20261124-000123-C1`. At most 50 characters, one line (a \
                    longer one, or one with a control character, finds nothing)."
        )]
        claim_number: String,
    ) -> Result<Option<Claim>> {
        let actor = require_actor(ctx)?;
        let c = reads::claim_by_number(app(ctx)?, actor, &claim_number)
            .await
            .map_err(to_graphql_error)?;
        Ok(c.map(Claim))
    }

    /// Claims the caller may see, newest first: a customer its own, a seller its own, staff all.
    async fn claims(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most the server's maximum).")] first: Option<i32>,
        #[graphql(desc = "Cursor to start after. At most 200 characters.")] after: Option<String>,
        #[graphql(desc = "Filters; all must hold.")] filter: Option<ClaimFilterInput>,
    ) -> Result<ClaimConnection> {
        let actor = require_actor(ctx)?;
        if let Some(c) = &after {
            text::argument("after", c, limit::CURSOR)?;
        }
        let app = app(ctx)?;
        let args = PageArgs {
            first,
            after,
            ..PageArgs::default()
        };
        let req = PageRequest::new(args, app.limits.max_page_size).map_err(to_graphql_error)?;
        let filter = claim_filter(filter.unwrap_or_default())?;
        let page = reads::claims(app, actor, &filter, &req)
            .await
            .map_err(to_graphql_error)?;
        Ok(ClaimConnection {
            page_info: PageInfo::of(&page),
            edges: page
                .edges
                .into_iter()
                .map(|e| ClaimEdge {
                    cursor: e.cursor,
                    node: Claim(e.node),
                })
                .collect(),
        })
    }
}

/// The claims list's filter as the repo takes it.
fn claim_filter(f: ClaimFilterInput) -> Result<ClaimFilter> {
    Ok(ClaimFilter {
        seller_id: f
            .seller_id
            .as_ref()
            .map(|id| parse(id, Kind::Seller))
            .transpose()
            .map_err(to_graphql_error)?,
        claim_type: f
            .r#type
            .map(|t| domain::ClaimType::from(t).as_str().to_owned()),
        status: f
            .status
            .map(|s| domain::ClaimStatus::from(s).as_str().to_owned()),
        reason: f
            .reason
            .map(|r| domain::Reason::from(r).as_str().to_owned()),
        held: f.held,
        requested_from: f.requested_from,
        requested_to: f.requested_to,
    })
}

/// Claim mutations.
#[derive(Default)]
pub struct ClaimMutation;

#[Object]
impl ClaimMutation {
    /// 취소 요청: cancel units before they ship. Approved at once while PAID (or by an
    /// OPERATOR); a CUSTOMER's request on PREPARING lines waits for the seller. CUSTOMER,
    /// OPERATOR.
    async fn request_cancel(
        &self,
        ctx: &Context<'_>,
        input: RequestCancelInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let items = match items(&input.items) {
            Ok(items) => items,
            Err(e) => return refusal(e),
        };
        let req = OpenRequest {
            action: ClaimAction::RequestCancel,
            order_number: input.order_number,
            items,
            reason: input
                .reason
                .map_or(domain::Reason::ChangeOfMind, Into::into),
            memo: input.memo,
            collection_method: Method::CustomerShips,
        };
        opening(ctx, key, req).await
    }

    /// 판매자 취소: the seller cancels PAID or PREPARING units it cannot supply (품절); seller
    /// fault, no restock. SELLER, OPERATOR.
    async fn seller_cancel(
        &self,
        ctx: &Context<'_>,
        input: SellerCancelInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let items = match items(&input.items) {
            Ok(items) => items,
            Err(e) => return refusal(e),
        };
        let req = OpenRequest {
            action: ClaimAction::SellerCancel,
            order_number: input.order_number,
            items,
            reason: domain::Reason::OutOfStock,
            memo: input.memo,
            collection_method: Method::CustomerShips,
        };
        opening(ctx, key, req).await
    }

    /// 반품 신청: return delivered units for a refund (SHIPPED too for seller-fault reasons).
    /// CUSTOMER, OPERATOR.
    async fn request_return(
        &self,
        ctx: &Context<'_>,
        input: RequestReturnInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let items = match items(&input.items) {
            Ok(items) => items,
            Err(e) => return refusal(e),
        };
        let req = OpenRequest {
            action: ClaimAction::RequestReturn,
            order_number: input.order_number,
            items,
            reason: input.reason.into(),
            memo: input.memo,
            collection_method: method(input.collection_method),
        };
        opening(ctx, key, req).await
    }

    /// 교환 신청: exchange delivered units for another option of the same product at the same
    /// price; the replacement is reserved. A customer-fault exchange is held until its round-trip
    /// fee is paid or waived. CUSTOMER, OPERATOR.
    async fn request_exchange(
        &self,
        ctx: &Context<'_>,
        input: RequestExchangeInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let items = input
            .items
            .iter()
            .map(|i| {
                Ok(OpenItem {
                    line_id: parse(&i.line_id, Kind::OrderLine)?,
                    quantity: i64::from(i.quantity),
                    replacement_option_id: Some(parse(
                        &i.replacement_option_id,
                        Kind::ProductOption,
                    )?),
                })
            })
            .collect::<Result<Vec<_>, ServiceError>>();
        let items = match items {
            Ok(items) => items,
            Err(e) => return refusal(e),
        };
        let req = OpenRequest {
            action: ClaimAction::RequestExchange,
            order_number: input.order_number,
            items,
            reason: input.reason.into(),
            memo: input.memo,
            collection_method: method(input.collection_method),
        };
        opening(ctx, key, req).await
    }

    /// 승인: approve a request (cancel: refund; return/exchange: book the pickup or tell the
    /// customer where to ship). SELLER, OPERATOR.
    async fn approve_claim(
        &self,
        ctx: &Context<'_>,
        input: ApproveClaimInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let req = ActRequest {
            claim_number: input.claim_number,
            expected_version: input.expected_version,
            memo: input.memo,
            out_of_stock: input.out_of_stock,
            ..Default::default()
        };
        acting(ctx, ClaimAction::Approve, key, req).await
    }

    /// 거부: refuse the claim. A SELLER's rejection of collected goods waits for an OPERATOR;
    /// collected goods are sent back (give the courier and tracking number). SELLER, OPERATOR.
    async fn reject_claim(&self, ctx: &Context<'_>, input: CourierInput) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = courier(ctx, input);
        acting(ctx, ClaimAction::Reject, key, req).await
    }

    /// 거부 승인: an OPERATOR confirms a seller's rejection of collected goods.
    async fn approve_rejection(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::ApproveRejection, key, req).await
    }

    /// 거부 반려: an OPERATOR overrules a seller's rejection; the claim goes back to where it was.
    async fn decline_rejection(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::DeclineRejection, key, req).await
    }

    /// 철회: the customer takes the claim back (before its goods are collected). CUSTOMER.
    async fn withdraw_claim(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::Withdraw, key, req).await
    }

    /// 수거 완료: the goods are back, with the collection's courier and tracking number.
    /// SELLER, OPERATOR (the courier's tracking events do it as SYSTEM).
    async fn mark_collected(&self, ctx: &Context<'_>, input: CourierInput) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = courier(ctx, input);
        acting(ctx, ClaimAction::MarkCollected, key, req).await
    }

    /// 보류: pause the claim. An OPERATOR's hold, and a SELLER's before collection, take effect
    /// at once; a SELLER's on collected goods waits for an OPERATOR.
    async fn hold_claim(&self, ctx: &Context<'_>, input: HoldClaimInput) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let req = ActRequest {
            claim_number: input.claim_number,
            expected_version: input.expected_version,
            hold_reason: Some(input.reason.into()),
            memo: input.memo,
            ..Default::default()
        };
        acting(ctx, ClaimAction::HoldClaim, key, req).await
    }

    /// 보류 승인: an OPERATOR puts a seller's pending hold into force.
    async fn approve_hold(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::ApproveHold, key, req).await
    }

    /// 보류 반려: an OPERATOR drops a seller's pending hold.
    async fn decline_hold(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::DeclineHold, key, req).await
    }

    /// 보류 해제: end a hold (not the fee hold). OPERATOR; SELLER for its own hold.
    async fn release_hold(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::ReleaseHold, key, req).await
    }

    /// 재배송: send the replacement (again, when one was lost), with courier and tracking.
    /// SELLER, OPERATOR.
    async fn reship_exchange(
        &self,
        ctx: &Context<'_>,
        input: CourierInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = courier(ctx, input);
        acting(ctx, ClaimAction::ReshipExchange, key, req).await
    }

    /// 반품 완료: close a collected return: price the refund, close the units, restock unless
    /// told not to (default: not for DEFECTIVE). SELLER, OPERATOR.
    async fn complete_return(
        &self,
        ctx: &Context<'_>,
        input: CompleteReturnInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let req = ActRequest {
            claim_number: input.claim_number,
            expected_version: input.expected_version,
            memo: input.memo,
            restock: input.restock,
            ..Default::default()
        };
        acting(ctx, ClaimAction::CompleteReturn, key, req).await
    }

    /// 교환 완료: the replacement was delivered. SELLER, OPERATOR (SYSTEM on delivery).
    async fn complete_exchange(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::CompleteExchange, key, req).await
    }

    /// 교환 환불: the seller cannot deliver the replacement; refund as a seller-fault return.
    /// SELLER, OPERATOR.
    async fn refund_exchange(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::RefundExchange, key, req).await
    }

    /// 전환: turn a return into an exchange (give the replacements) or an exchange into a
    /// return; the new claim starts as requested and carries the collection if the goods are back.
    async fn convert_claim(
        &self,
        ctx: &Context<'_>,
        input: ConvertClaimInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let actor = require_writer(ctx)?;
        let c = reads::claim_by_number(app(ctx)?, actor, &input.claim_number)
            .await
            .map_err(to_graphql_error)?;
        let Some(c) = c else {
            return Ok(ClaimPayload::refused(UserError::not_found(
                &["claimNumber"],
                "claim",
            )));
        };
        let action = if c.claim_type == domain::ClaimType::Return.as_str() {
            ClaimAction::ConvertToExchange
        } else {
            ClaimAction::ConvertToReturn
        };
        let replacements = input
            .replacements
            .unwrap_or_default()
            .iter()
            .map(|r| {
                Ok((
                    parse(&r.line_id, Kind::OrderLine)?,
                    parse(&r.option_id, Kind::ProductOption)?,
                ))
            })
            .collect::<Result<Vec<_>, ServiceError>>();
        let replacements = match replacements {
            Ok(replacements) => replacements,
            Err(e) => return refusal(e),
        };
        let req = ActRequest {
            claim_number: input.claim_number,
            expected_version: input.expected_version,
            memo: input.memo,
            replacements,
            ..Default::default()
        };
        acting(ctx, action, key, req).await
    }

    /// 배송비 결제: the customer pays the fee due, by card (charged at once) or by bank transfer
    /// (counted when an operator confirms it). Paid, an exchange's fee hold lifts and a return
    /// awaiting its fee completes. CUSTOMER, OPERATOR.
    async fn pay_claim_fee(
        &self,
        ctx: &Context<'_>,
        input: PayClaimFeeInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        if input.method == Some(FeePaymentMethod::BankTransfer) {
            let (actor, app) = (require_writer(ctx)?, app(ctx)?);
            let answer = with_key(key, |key| {
                claims::announce_fee_transfer(app, actor, key, &input.claim_number, input.amount)
            })
            .await;
            return payload(ctx, answer).await;
        }
        let req = ActRequest {
            claim_number: input.claim_number,
            expected_version: input.expected_version,
            fee: Some(input.amount),
            paid_by: claims::FeePaidBy::Card(input.payment_key),
            ..Default::default()
        };
        acting(ctx, ClaimAction::PayClaimFee, key, req).await
    }

    /// 입금 확인: the bank transfer announced for a claim fee arrived; the fee counts as paid
    /// (the fee hold lifts, or the return completes). OPERATOR.
    async fn confirm_claim_fee_transfer(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let answer = with_key(key, |key| {
            claims::confirm_fee_transfer(app, actor, key, input.claim_number)
        })
        .await;
        payload(ctx, answer).await
    }

    /// 배송비 면제: the seller forgoes the fee (an exchange's round trip, or a return's fee due).
    /// SELLER, OPERATOR.
    async fn waive_claim_fee(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::WaiveClaimFee, key, req).await
    }

    /// 환불 재시도: send the FAILED refund parts to the gateway again. OPERATOR.
    async fn retry_refund(
        &self,
        ctx: &Context<'_>,
        input: ClaimActionInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let (key, req) = simple(ctx, input);
        acting(ctx, ClaimAction::RetryRefund, key, req).await
    }

    /// 수동 환불 처리: mark the FAILED refund parts paid outside the system. OPERATOR.
    async fn resolve_refund_manually(
        &self,
        ctx: &Context<'_>,
        input: ResolveRefundManuallyInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let req = ActRequest {
            claim_number: input.claim_number,
            expected_version: input.expected_version,
            memo: input.memo,
            reference: Some(input.reference),
            ..Default::default()
        };
        acting(ctx, ClaimAction::ResolveRefundManually, key, req).await
    }

    /// 환불계좌 등록: give the account a bank-transfer refund waits for; the refund proceeds.
    /// CUSTOMER, OPERATOR.
    async fn set_refund_account(
        &self,
        ctx: &Context<'_>,
        input: SetRefundAccountInput,
    ) -> Result<ClaimPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let req = ActRequest {
            claim_number: input.claim_number,
            expected_version: input.expected_version,
            refund_account: Some((input.bank, input.account_number, input.holder)),
            ..Default::default()
        };
        acting(ctx, ClaimAction::SetRefundAccount, key, req).await
    }
}
