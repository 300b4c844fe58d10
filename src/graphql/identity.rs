//! Linking the marketplace's identity provider's subjects to customers and sellers
//! (`--oidc-issuer`): a token of the provider acts as the account its subject is linked to.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::ids::{parse, to_id, Kind};
use super::text::{self, TextInput, Texts};
use super::types::payloads::{payload, refusable, refusal};
use super::{app, require_writer};
use crate::domain::text as limit;
use crate::error::{ServiceError, UserError};
use crate::service::identity::{self, Account, Linked};

/// Identity mutation fields.
#[derive(Default)]
pub struct IdentityMutation;

/// Input of `linkExternalIdentity`: exactly one of `customerId` and `sellerId`.
#[derive(InputObject)]
pub struct LinkExternalIdentityInput {
    /// The customer whose tokens from the identity provider carry `externalId`.
    pub customer_id: Option<ID>,
    /// The seller whose tokens from the identity provider carry `externalId`.
    pub seller_id: Option<ID>,
    /// The identity provider's subject of the person (the `sub` claim, or the claim of
    /// `--oidc-subject-claim`). At most 255 characters, one line. Replaces the
    /// identity the account was linked to before, if any.
    pub external_id: String,
}

impl TextInput for LinkExternalIdentityInput {
    fn texts(&self) -> Texts {
        Texts::default().field("externalId", &self.external_id, limit::EXTERNAL_ID)
    }
}

/// The result of `linkExternalIdentity`.
#[derive(SimpleObject, Default)]
pub struct LinkExternalIdentityPayload {
    /// The customer now linked (null for a seller, or when refused).
    pub customer_id: Option<ID>,
    /// The seller now linked (null for a customer, or when refused).
    pub seller_id: Option<ID>,
    /// The subject the account is linked to now (null when refused).
    pub external_id: Option<String>,
    /// Why the request was refused; empty on success. A refused request changed nothing.
    pub user_errors: Vec<UserError>,
}

refusable!(LinkExternalIdentityPayload);

/// The account the input names, or a refusal for both or neither.
fn account(input: &LinkExternalIdentityInput) -> Result<Account, ServiceError> {
    match (&input.customer_id, &input.seller_id) {
        (Some(id), None) => Ok(Account::Customer(parse(id, Kind::Customer)?)),
        (None, Some(id)) => Ok(Account::Seller(parse(id, Kind::Seller)?)),
        (Some(_), Some(_)) | (None, None) => Err(ServiceError::BadInput(
            "name exactly one of customerId and sellerId".into(),
        )),
    }
}

#[Object]
impl IdentityMutation {
    /// Links a customer or a seller to the identity provider's subject of the person who
    /// signs in as it: from then on the provider's CUSTOMER (or SELLER) tokens with that
    /// subject act as this account. OPERATOR. Refused when another customer (or seller)
    /// holds the subject.
    async fn link_external_identity(
        &self,
        ctx: &Context<'_>,
        input: LinkExternalIdentityInput,
    ) -> Result<LinkExternalIdentityPayload> {
        let actor = require_writer(ctx)?;
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let account = match account(&input) {
            Ok(account) => account,
            Err(e) => return refusal(e),
        };
        let result = identity::link(app(ctx)?, actor, account, &input.external_id).await;
        payload(result, |linked: Linked| {
            let (customer_id, seller_id) = match linked.account {
                Account::Customer(id) => (Some(to_id(Kind::Customer, id)), None),
                Account::Seller(id) => (None, Some(to_id(Kind::Seller, id))),
            };
            LinkExternalIdentityPayload {
                customer_id,
                seller_id,
                external_id: Some(linked.external_id),
                user_errors: Vec::new(),
            }
        })
    }
}
