//! Customers through the API (고객 관리): created and edited by operators, points granted or
//! taken back with a reason.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::idempotency::keyed;
use super::ids::{parse, Kind};
use super::text::{self, TextInput, Texts};
use super::types::order::Customer;
use super::types::payloads::{answered, refusable, refusal, replayable};
use super::{app, require_writer};
use crate::domain::money::Won;
use crate::domain::text as limit;
use crate::error::{ServiceError, UserError};
use crate::repo;
use crate::service::customers::{self, CustomerChanged, CustomerDetails};
use crate::service::idempotency::Answer;

/// Customer mutation fields.
#[derive(Default)]
pub struct CustomerMutation;

/// Input of `createCustomer`.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// Name. At most 100 characters, one line.
    pub name: String,
    /// E-mail (notifications). At most 254 characters, one line.
    pub email: String,
    /// Mobile number (알림톡). At most 20 characters, one line.
    pub phone: Option<String>,
    /// The identity provider's subject of the person (issue 14's `linkExternalIdentity`, at
    /// once). At most 255 characters, one line.
    pub external_id: Option<String>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for CreateCustomerInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("name", &self.name, limit::ACCOUNT_HOLDER)
            .field("email", &self.email, limit::EMAIL)
            .optional("phone", self.phone.as_deref(), limit::PHONE)
            .optional(
                "externalId",
                self.external_id.as_deref(),
                limit::EXTERNAL_ID,
            )
    }
}

/// Input of `updateCustomer`: the fields given change, the others stay.
#[derive(InputObject)]
pub struct UpdateCustomerInput {
    /// The customer.
    pub customer_id: ID,
    /// Name. At most 100 characters, one line.
    pub name: Option<String>,
    /// E-mail. At most 254 characters, one line.
    pub email: Option<String>,
    /// Mobile number. At most 20 characters, one line.
    pub phone: Option<String>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for UpdateCustomerInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .optional("name", self.name.as_deref(), limit::ACCOUNT_HOLDER)
            .optional("email", self.email.as_deref(), limit::EMAIL)
            .optional("phone", self.phone.as_deref(), limit::PHONE)
    }
}

/// Input of `adjustPoints`.
#[derive(InputObject)]
pub struct AdjustPointsInput {
    /// The customer.
    pub customer_id: ID,
    /// Points to grant (positive) or take back (negative), 1 to 10,000,000 either way; never
    /// below a balance of zero.
    pub points: Won,
    /// Why: the customer's points history shows it. At most 1,000 characters.
    pub reason: String,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for AdjustPointsInput {
    fn texts(&self) -> Texts {
        Texts::default().field("reason", &self.reason, limit::MEMO)
    }
}

/// The result of a customer mutation.
#[derive(SimpleObject, Default)]
pub struct CustomerPayload {
    /// The customer as it is now (null when the request was refused).
    pub customer: Option<Customer>,
    /// Why the request was refused; empty on success. A refused request changed nothing.
    pub user_errors: Vec<UserError>,
    /// True when this answers an earlier request with the same `idempotencyKey`: its outcome
    /// again, the customer as it is now, nothing changed by this call.
    pub replayed: bool,
}

refusable!(CustomerPayload);
replayable!(CustomerPayload);

async fn customer_payload(
    ctx: &Context<'_>,
    answer: Answer<CustomerChanged>,
) -> Result<CustomerPayload> {
    answered(answer, |changed| async move {
        let found = repo::catalog::customers_by_ids(app(ctx)?.db.conn(), &[changed.customer_id])
            .await
            .map_err(|e| crate::error::to_graphql_error(ServiceError::from(e)))?;
        Ok(CustomerPayload {
            customer: found.into_iter().next().map(Customer),
            ..Default::default()
        })
    })
    .await
}

#[Object]
impl CustomerMutation {
    /// 고객 등록: a customer, with its identity provider's subject if known. OPERATOR.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomerInput,
    ) -> Result<CustomerPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let details = CustomerDetails {
            name: Some(input.name),
            email: Some(input.email),
            phone: input.phone,
            external_id: input.external_id,
        };
        let answer = customers::create_customer(app, actor, key, details).await;
        customer_payload(ctx, answer).await
    }

    /// 고객 정보 수정: name, e-mail, phone. OPERATOR.
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        input: UpdateCustomerInput,
    ) -> Result<CustomerPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let customer_id = match parse(&input.customer_id, Kind::Customer) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        let details = CustomerDetails {
            name: input.name,
            email: input.email,
            phone: input.phone,
            external_id: None,
        };
        let answer = customers::update_customer(app, actor, key, customer_id, details).await;
        customer_payload(ctx, answer).await
    }

    /// 적립금 지급·회수: grants or takes back points with a reason, a movement of the points
    /// ledger (`Customer.pointsHistory`). OPERATOR.
    async fn adjust_points(
        &self,
        ctx: &Context<'_>,
        input: AdjustPointsInput,
    ) -> Result<CustomerPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let customer_id = match parse(&input.customer_id, Kind::Customer) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        let answer =
            customers::adjust_points(app, actor, key, customer_id, input.points, input.reason)
                .await;
        customer_payload(ctx, answer).await
    }
}
