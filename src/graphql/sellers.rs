//! Sellers through the API (입점 관리): onboarding, suspension and shipping terms.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::idempotency::keyed;
use super::ids::{parse, Kind};
use super::text::{self, TextInput, Texts};
use super::types::order::Seller;
use super::types::payloads::{answered, refusable, refusal, replayable};
use super::{app, require_writer};
use crate::domain::money::Won;
use crate::domain::text as limit;
use crate::error::{ServiceError, UserError};
use crate::repo;
use crate::service::sellers::{self, NewSeller, SellerChanged};

/// Seller mutation fields.
#[derive(Default)]
pub struct SellerMutation;

/// Input of `onboardSeller`.
#[derive(InputObject)]
pub struct OnboardSellerInput {
    /// The seller's name as customers see it. At most 100 characters, one line.
    pub name: String,
    /// 사업자등록번호: ten digits (`123-45-67890`; hyphens and spaces allowed) whose last is
    /// the check digit; one seller per number. At most 20 characters, one line.
    pub business_registration_number: String,
    /// Where the seller's notifications go. At most 254 characters, one line.
    pub email: Option<String>,
    /// The seller's mobile number (알림톡). At most 20 characters, one line.
    pub phone: Option<String>,
    /// 반품지: where customers' returns are sent. At most 300 characters, one line.
    pub return_address: String,
    /// The courier the seller ships with by default. At most 50 characters, one line.
    pub default_courier: Option<String>,
    /// 기본 배송비, 0 to 1,000,000.
    pub base_shipping_fee: Won,
    /// 무료배송 기준, 0 to 100,000,000.
    pub free_shipping_threshold: Won,
    /// 반품 배송비 (one way), 0 to 1,000,000.
    pub return_fee: Won,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for OnboardSellerInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("name", &self.name, limit::SELLER_NAME)
            .field(
                "businessRegistrationNumber",
                &self.business_registration_number,
                limit::BUSINESS_NUMBER,
            )
            .optional("email", self.email.as_deref(), limit::EMAIL)
            .optional("phone", self.phone.as_deref(), limit::PHONE)
            .field("returnAddress", &self.return_address, limit::ADDRESS)
            .optional(
                "defaultCourier",
                self.default_courier.as_deref(),
                limit::COURIER,
            )
    }
}

/// Input of `updateShippingTerms`.
#[derive(InputObject)]
pub struct UpdateShippingTermsInput {
    /// The seller (an OPERATOR names it; a SELLER's own by default).
    pub seller_id: Option<ID>,
    /// 기본 배송비, 0 to 1,000,000.
    pub base_shipping_fee: Won,
    /// 무료배송 기준, 0 to 100,000,000.
    pub free_shipping_threshold: Won,
    /// 반품 배송비 (one way), 0 to 1,000,000.
    pub return_fee: Won,
    /// Refuse with STALE_VERSION unless the seller is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

/// Input of `suspendSeller` and `reinstateSeller`.
#[derive(InputObject)]
pub struct SellerStandingInput {
    /// The seller.
    pub seller_id: ID,
    /// Why (staff only see it). At most 1,000 characters.
    pub reason: Option<String>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for SellerStandingInput {
    fn texts(&self) -> Texts {
        Texts::default().optional("reason", self.reason.as_deref(), limit::MEMO)
    }
}

/// The result of a seller mutation.
#[derive(SimpleObject, Default)]
pub struct SellerPayload {
    /// The seller as it is now (null when the request was refused).
    pub seller: Option<Seller>,
    /// Why the request was refused; empty on success. A refused request changed nothing.
    pub user_errors: Vec<UserError>,
    /// True when this answers an earlier request with the same `idempotencyKey`: its outcome
    /// again, the seller as it is now, nothing changed by this call.
    pub replayed: bool,
}

refusable!(SellerPayload);
replayable!(SellerPayload);

async fn seller_payload(
    ctx: &Context<'_>,
    answer: crate::service::idempotency::Answer<SellerChanged>,
) -> Result<SellerPayload> {
    answered(answer, |changed| async move {
        let found = repo::catalog::sellers_by_ids(app(ctx)?.db.conn(), &[changed.seller_id])
            .await
            .map_err(|e| crate::error::to_graphql_error(ServiceError::from(e)))?;
        Ok(SellerPayload {
            seller: found.into_iter().next().map(Seller),
            ..Default::default()
        })
    })
    .await
}

#[Object]
impl SellerMutation {
    /// 입점: onboards a seller with its details and shipping terms. OPERATOR.
    async fn onboard_seller(
        &self,
        ctx: &Context<'_>,
        input: OnboardSellerInput,
    ) -> Result<SellerPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let request = NewSeller {
            name: input.name,
            business_number: input.business_registration_number,
            email: input.email,
            phone: input.phone,
            return_address: input.return_address,
            default_courier: input.default_courier,
            terms: sellers::terms(
                input.base_shipping_fee,
                input.free_shipping_threshold,
                input.return_fee,
            ),
        };
        let answer = sellers::onboard_seller(app, actor, key, request).await;
        seller_payload(ctx, answer).await
    }

    /// 배송비 정책: the seller's base shipping fee, free-shipping threshold and return fee.
    /// Orders placed before keep the terms of their checkout, claims included. The SELLER
    /// (its own) or an OPERATOR (any, by `sellerId`).
    async fn update_shipping_terms(
        &self,
        ctx: &Context<'_>,
        input: UpdateShippingTermsInput,
    ) -> Result<SellerPayload> {
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let seller_id = match input.seller_id.as_ref().map(|id| parse(id, Kind::Seller)) {
            Some(Err(e)) => return refusal(e),
            Some(Ok(id)) => Some(id),
            None => None,
        };
        let terms = sellers::terms(
            input.base_shipping_fee,
            input.free_shipping_threshold,
            input.return_fee,
        );
        let answer =
            sellers::update_terms(app, actor, key, seller_id, terms, input.expected_version).await;
        seller_payload(ctx, answer).await
    }

    /// 판매 중지: the seller's products take no new orders (`SELLER_SUSPENDED`); its orders,
    /// shipments and claims go on. OPERATOR.
    async fn suspend_seller(
        &self,
        ctx: &Context<'_>,
        input: SellerStandingInput,
    ) -> Result<SellerPayload> {
        standing(ctx, input, true).await
    }

    /// Lifts a suspension: the seller's products take orders again. OPERATOR.
    async fn reinstate_seller(
        &self,
        ctx: &Context<'_>,
        input: SellerStandingInput,
    ) -> Result<SellerPayload> {
        standing(ctx, input, false).await
    }
}

async fn standing(
    ctx: &Context<'_>,
    input: SellerStandingInput,
    suspend: bool,
) -> Result<SellerPayload> {
    if let Some(refused) = text::refusal(&input) {
        return Ok(refused);
    }
    // A bad key is refused before anything else in the input.
    let key = match keyed(ctx, &input) {
        Ok(key) => key,
        Err(e) => return refusal(e),
    };
    let (actor, app) = (require_writer(ctx)?, app(ctx)?);
    let seller_id = match parse(&input.seller_id, Kind::Seller) {
        Ok(id) => id,
        Err(e) => return refusal(e),
    };
    let answer = sellers::set_suspended(app, actor, key, seller_id, input.reason, suspend).await;
    seller_payload(ctx, answer).await
}
