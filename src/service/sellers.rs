//! Sellers through the API (입점 관리): an OPERATOR onboards a seller and suspends or
//! reinstates one; a SELLER (or an OPERATOR for it) sets its shipping terms. Orders copy the
//! terms at checkout, so a change never reaches an order placed before it, its claims
//! included. A suspended seller's products take no new orders; its orders and claims go on.

use chrono::{DateTime, Utc};
use entity::seller;
use sea_orm::{DatabaseTransaction, Set};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::money::Won;
use crate::domain::seller::{BusinessNumber, SellerError, ShippingTerms};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::service::access;
use crate::service::idempotency::{self, Answer, Keyed};

/// What a seller mutation returns: the seller it touched.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SellerChanged {
    /// The seller.
    pub seller_id: i64,
}

/// An `onboardSeller` request.
#[derive(Debug, Clone)]
pub struct NewSeller {
    /// The seller's name as customers see it.
    pub name: String,
    /// 사업자등록번호, as typed.
    pub business_number: String,
    /// Where the seller's notifications go.
    pub email: Option<String>,
    /// The seller's mobile number.
    pub phone: Option<String>,
    /// 반품지.
    pub return_address: String,
    /// The courier it ships with by default.
    pub default_courier: Option<String>,
    /// Its shipping terms.
    pub terms: ShippingTerms,
}

fn refusal(e: SellerError) -> ServiceError {
    let field = match &e {
        SellerError::BusinessNumberShape(_) | SellerError::BusinessNumberCheck(_) => {
            "businessRegistrationNumber"
        }
        SellerError::TermOutOfRange { field, .. } => field,
    };
    let code = match e {
        SellerError::TermOutOfRange { .. } => UserErrorCode::InvalidAmount,
        _ => UserErrorCode::InvalidInput,
    };
    UserError::new(code, &[field], e.to_string()).into()
}

/// `onboardSeller` (OPERATOR): a new seller with its details and terms. The business
/// registration number must pass its check digit and belong to no other seller.
pub async fn onboard_seller(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    req: NewSeller,
) -> Answer<SellerChanged> {
    if actor != Actor::Operator {
        return ServiceError::Forbidden("only an OPERATOR onboards a seller".into()).into();
    }
    idempotency::once(app, actor, key, async |txn| {
        onboard_in(txn, &req, app.clock.now()).await
    })
    .await
}

async fn onboard_in(
    txn: &DatabaseTransaction,
    req: &NewSeller,
    now: DateTime<Utc>,
) -> Result<SellerChanged, ServiceError> {
    let number = BusinessNumber::parse(&req.business_number).map_err(refusal)?;
    let terms = req.terms.checked().map_err(refusal)?;
    if req.name.trim().is_empty() {
        return Err(UserError::new(
            UserErrorCode::InvalidInput,
            &["name"],
            "a seller needs a name customers can read",
        )
        .into());
    }
    if let Some(other) = repo::catalog::seller_by_business_number(txn, number.as_str()).await? {
        return Err(UserError::new(
            UserErrorCode::InvalidInput,
            &["businessRegistrationNumber"],
            format!(
                "business registration number {number} is already seller {}'s: one business, \
                 one seller",
                other.name
            ),
        )
        .into());
    }
    let row = seller::ActiveModel {
        name: Set(req.name.trim().to_owned()),
        business_number: Set(Some(number.as_str().to_owned())),
        email: Set(req.email.clone()),
        phone: Set(req.phone.clone()),
        return_address: Set(Some(req.return_address.clone())),
        default_courier: Set(req.default_courier.clone()),
        base_shipping_fee: Set(terms.base_fee.amount()),
        free_shipping_threshold: Set(terms.free_threshold.amount()),
        return_fee: Set(terms.return_fee.amount()),
        created_at: Set(now),
        ..Default::default()
    };
    let seller_id = repo::catalog::insert_seller(txn, row).await?;
    tracing::info!(seller = seller_id, "seller onboarded");
    Ok(SellerChanged { seller_id })
}

/// `updateShippingTerms`: the seller's own terms (a SELLER), or any seller's (an OPERATOR).
/// Orders placed before keep theirs.
pub async fn update_terms(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    seller_id: Option<i64>,
    terms: ShippingTerms,
    expected_version: Option<i32>,
) -> Answer<SellerChanged> {
    let seller_id = match access::managed_seller(app, actor, seller_id, "shipping terms").await {
        Ok(id) => id,
        Err(e) => return e.into(),
    };
    idempotency::once(app, actor, key, async |txn| {
        let terms = terms.checked().map_err(refusal)?;
        let s = locked(txn, seller_id, expected_version).await?;
        let row = seller::ActiveModel {
            base_shipping_fee: Set(terms.base_fee.amount()),
            free_shipping_threshold: Set(terms.free_threshold.amount()),
            return_fee: Set(terms.return_fee.amount()),
            version: Set(s.version + 1),
            ..Default::default()
        };
        repo::catalog::update_seller(txn, s.id, row).await?;
        Ok(SellerChanged { seller_id })
    })
    .await
}

/// `suspendSeller` / `reinstateSeller` (OPERATOR): a suspended seller's products take no new
/// orders; its orders, shipments and claims go on.
pub async fn set_suspended(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    seller_id: i64,
    reason: Option<String>,
    suspend: bool,
) -> Answer<SellerChanged> {
    if actor != Actor::Operator {
        return ServiceError::Forbidden("only an OPERATOR suspends or reinstates a seller".into())
            .into();
    }
    idempotency::once(app, actor, key, async |txn| {
        let s = locked(txn, seller_id, None).await?;
        if s.suspended_at.is_some() == suspend {
            let now = if suspend {
                "suspended"
            } else {
                "not suspended"
            };
            return Err(UserError::new(
                UserErrorCode::InvalidInput,
                &["sellerId"],
                format!("seller {} is {now} already", s.name),
            )
            .into());
        }
        let row = seller::ActiveModel {
            suspended_at: Set(suspend.then(|| app.clock.now())),
            suspension_reason: Set(if suspend { reason.clone() } else { None }),
            version: Set(s.version + 1),
            ..Default::default()
        };
        repo::catalog::update_seller(txn, s.id, row).await?;
        tracing::info!(seller = s.id, suspend, "seller suspension changed");
        Ok(SellerChanged { seller_id })
    })
    .await
}

/// The seller, locked, at the version the caller saw.
async fn locked(
    txn: &DatabaseTransaction,
    seller_id: i64,
    expected_version: Option<i32>,
) -> Result<seller::Model, ServiceError> {
    let s = repo::catalog::seller_for_update(txn, seller_id)
        .await?
        .ok_or_else(|| UserError::not_found(&["sellerId"], "seller"))?;
    if let Some(v) = expected_version.filter(|v| *v != s.version) {
        return Err(UserError::new(
            UserErrorCode::StaleVersion,
            &["expectedVersion"],
            format!(
                "seller {} is at version {}, not {v}; reload it and try again",
                s.name, s.version
            ),
        )
        .into());
    }
    Ok(s)
}

/// The terms an OPERATOR or a SELLER gives, in won.
pub fn terms(base_fee: Won, free_threshold: Won, return_fee: Won) -> ShippingTerms {
    ShippingTerms {
        base_fee,
        free_threshold,
        return_fee,
    }
}
