//! Customers through the API (issue 20, part 5): an OPERATOR creates and edits customers and
//! grants or takes back points with a reason, each a movement of the points ledger.

use entity::{customer, points_ledger};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::money::Won;
use crate::error::{is_unique_violation, ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::service::idempotency::{self, Answer, Keyed};

/// The most points one adjustment may grant or take back.
pub const MAX_POINTS_ADJUSTMENT: Won = Won::new(10_000_000);

/// What a customer mutation returns: the customer it touched.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct CustomerChanged {
    /// The customer.
    pub customer_id: i64,
}

/// A customer's details (`createCustomer`, `updateCustomer`: `None` leaves a field as it is).
#[derive(Debug, Clone, Default)]
pub struct CustomerDetails {
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Mobile number (알림톡).
    pub phone: Option<String>,
    /// The identity provider's subject (issue 14).
    pub external_id: Option<String>,
}

fn only_operator(actor: Actor, what: &str) -> Result<(), ServiceError> {
    if actor == Actor::Operator {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!("only an OPERATOR {what}")))
    }
}

fn checked(details: &CustomerDetails, creating: bool) -> Result<(), ServiceError> {
    let invalid = |field: &str, why: &str| -> ServiceError {
        UserError::new(UserErrorCode::InvalidInput, &[field], why.to_owned()).into()
    };
    match &details.name {
        Some(name) if name.trim().is_empty() => {
            return Err(invalid("name", "a customer's name must not be blank"))
        }
        None if creating => return Err(invalid("name", "a customer needs a name")),
        _ => {}
    }
    match &details.email {
        Some(email) if !looks_like_email(email) => {
            return Err(invalid(
                "email",
                "an e-mail address looks like name@example.com",
            ))
        }
        None if creating => return Err(invalid("email", "a customer needs an e-mail address")),
        _ => {}
    }
    Ok(())
}

/// One `@` with something on both sides and a dot in the domain; the mail server decides the
/// rest.
fn looks_like_email(email: &str) -> bool {
    match email.trim().split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.contains('@'),
        None => false,
    }
}

/// `createCustomer` (OPERATOR).
pub async fn create_customer(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    details: CustomerDetails,
) -> Answer<CustomerChanged> {
    if let Err(e) = only_operator(actor, "creates customers") {
        return e.into();
    }
    idempotency::once(app, actor, key, async |txn| {
        checked(&details, true)?;
        let row = customer::ActiveModel {
            name: Set(details.name.clone().unwrap_or_default().trim().to_owned()),
            email: Set(details.email.clone().unwrap_or_default().trim().to_owned()),
            phone: Set(details.phone.clone()),
            points_balance: Set(0),
            external_id: Set(details.external_id.clone()),
            created_at: Set(app.clock.now()),
            ..Default::default()
        };
        let customer_id = repo::catalog::insert_customer(txn, row)
            .await
            .map_err(|e| identity_taken(e, &details))?;
        Ok(CustomerChanged { customer_id })
    })
    .await
}

/// A unique violation on `external_id`: another customer holds the identity.
fn identity_taken(e: sea_orm::DbErr, details: &CustomerDetails) -> ServiceError {
    if is_unique_violation(&e) && details.external_id.is_some() {
        return UserError::new(
            UserErrorCode::IdentityAlreadyLinked,
            &["externalId"],
            "another customer holds this identity provider's subject",
        )
        .into();
    }
    e.into()
}

/// `updateCustomer` (OPERATOR): the fields given change, the others stay.
pub async fn update_customer(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    customer_id: i64,
    details: CustomerDetails,
) -> Answer<CustomerChanged> {
    if let Err(e) = only_operator(actor, "edits customers") {
        return e.into();
    }
    idempotency::once(app, actor, key, async |txn| {
        checked(&details, false)?;
        existing(txn, customer_id).await?;
        let given = [
            &details.name,
            &details.email,
            &details.phone,
            &details.external_id,
        ];
        if given.iter().all(|f| f.is_none()) {
            return Err(UserError::new(
                UserErrorCode::InvalidInput,
                &["customerId"],
                "give at least one of name, email and phone to change",
            )
            .into());
        }
        let mut row = <customer::ActiveModel as Default>::default();
        if let Some(name) = &details.name {
            row.name = Set(name.trim().to_owned());
        }
        if let Some(email) = &details.email {
            row.email = Set(email.trim().to_owned());
        }
        if let Some(phone) = &details.phone {
            row.phone = Set(Some(phone.clone()));
        }
        if let Some(external_id) = &details.external_id {
            row.external_id = Set(Some(external_id.clone()));
        }
        repo::catalog::update_customer(txn, customer_id, row)
            .await
            .map_err(|e| identity_taken(e, &details))?;
        Ok(CustomerChanged { customer_id })
    })
    .await
}

async fn existing(
    txn: &DatabaseTransaction,
    customer_id: i64,
) -> Result<customer::Model, ServiceError> {
    repo::catalog::customers_by_ids(txn, &[customer_id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| UserError::not_found(&["customerId"], "customer").into())
}

/// `adjustPoints` (OPERATOR): grants (positive) or takes back (negative) points with a
/// reason; never below zero. A movement of the points ledger like any other.
pub async fn adjust_points(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    customer_id: i64,
    delta: Won,
    reason: String,
) -> Answer<CustomerChanged> {
    if let Err(e) = only_operator(actor, "grants or takes back points") {
        return e.into();
    }
    idempotency::once(app, actor, key, async |txn| {
        if delta == Won::ZERO || delta.amount().abs() > MAX_POINTS_ADJUSTMENT.amount() {
            return Err(UserError::new(
                UserErrorCode::InvalidAmount,
                &["points"],
                format!(
                    "grant or take back from 1 to {MAX_POINTS_ADJUSTMENT} points at a time, \
                     not {delta}"
                ),
            )
            .into());
        }
        if reason.trim().is_empty() {
            return Err(UserError::new(
                UserErrorCode::InvalidInput,
                &["reason"],
                "say why: the customer's points history shows it",
            )
            .into());
        }
        let c = repo::catalog::customer_for_update(txn, customer_id)
            .await?
            .ok_or_else(|| UserError::not_found(&["customerId"], "customer"))?;
        let balance = c.points_balance + delta.amount();
        if balance < 0 {
            return Err(UserError::new(
                UserErrorCode::PointsExceedBalance,
                &["points"],
                format!(
                    "the customer has {} points; take back at most that",
                    Won::new(c.points_balance)
                ),
            )
            .into());
        }
        let row = customer::ActiveModel {
            points_balance: Set(balance),
            ..Default::default()
        };
        repo::catalog::update_customer(txn, customer_id, row).await?;
        points_ledger::ActiveModel {
            customer_id: Set(customer_id),
            order_id: Set(None),
            kind: Set(if delta.is_positive() {
                "GRANTED"
            } else {
                "TAKEN_BACK"
            }
            .to_owned()),
            delta: Set(delta.amount()),
            balance_after: Set(balance),
            created_at: Set(app.clock.now()),
            reason: Set(Some(reason.trim().to_owned())),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        Ok(CustomerChanged { customer_id })
    })
    .await
}
