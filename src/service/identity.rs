//! Identities from the marketplace's identity provider (`--oidc-issuer`): which customer or
//! seller a verified token's subject speaks for, creating a customer on first sight when the
//! server is told to, and the OPERATOR's `linkExternalIdentity`.

use chrono::Utc;
use entity::customer;
use sea_orm::{DbErr, Set};

use crate::app::App;
use crate::db::Db;
use crate::domain::actor::{Actor, Role};
use crate::error::{is_unique_violation, ServiceError, UserError, UserErrorCode};
use crate::repo;

/// Who a verified token of the identity provider says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The role the token's role claim maps to.
    pub role: Role,
    /// The subject: the provider's stable id of the person.
    pub subject: String,
    /// The standard `name` claim, when present.
    pub name: Option<String>,
    /// The standard `email` claim, when present.
    pub email: Option<String>,
}

/// The actor `identity` speaks for: staff by role alone, a customer or a seller by the
/// account linked to its subject. `None` when no account is linked (and, for a customer,
/// `create_customers` is off).
pub async fn actor_for(
    db: &Db,
    identity: &ExternalIdentity,
    create_customers: bool,
) -> Result<Option<Actor>, DbErr> {
    match identity.role {
        Role::Operator => Ok(Some(Actor::Operator)),
        Role::Analyst => Ok(Some(Actor::Analyst)),
        // Never reached: the role map refuses SYSTEM. Refused again here, not trusted.
        Role::System => Ok(None),
        Role::Seller => Ok(
            repo::identity::seller_by_external_id(db.conn(), &identity.subject)
                .await?
                .map(Actor::Seller),
        ),
        Role::Customer => {
            let found =
                repo::identity::customer_by_external_id(db.conn(), &identity.subject).await?;
            match found {
                Some(id) => Ok(Some(Actor::Customer(id))),
                None if create_customers => create_customer(db, identity).await.map(Some),
                None => Ok(None),
            }
        }
    }
}

/// Creates the customer of `identity` on first sight. Two first requests at once race for the
/// unique `external_id`: the loser's insert fails and it reads the winner's row, so one
/// customer is made.
async fn create_customer(db: &Db, identity: &ExternalIdentity) -> Result<Actor, DbErr> {
    let row = customer::ActiveModel {
        name: Set(clean(identity.name.as_deref().unwrap_or_default())),
        email: Set(clean(identity.email.as_deref().unwrap_or_default())),
        points_balance: Set(0),
        created_at: Set(Utc::now()),
        external_id: Set(Some(identity.subject.clone())),
        ..Default::default()
    };
    let txn = db.write().await?;
    match repo::catalog::insert_customer(&*txn, row).await {
        Ok(id) => {
            txn.commit().await?;
            tracing::info!(customer = id, subject = %identity.subject, "customer created on first sign-in");
            Ok(Actor::Customer(id))
        }
        Err(e) if is_unique_violation(&e) => {
            // The transaction is spoiled on PostgreSQL; the winner's row is read outside it.
            drop(txn);
            repo::identity::customer_by_external_id(db.conn(), &identity.subject)
                .await?
                .map(Actor::Customer)
                .ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// A claim's text as a column value: control characters dropped (NUL cannot be stored),
/// at most 255 characters.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The account an identity is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// A customer.
    Customer(i64),
    /// A seller.
    Seller(i64),
}

/// A link made (or found already made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// The account.
    pub account: Account,
    /// The subject it is linked to now.
    pub external_id: String,
}

/// Links `account` to the identity provider's subject `external_id` (replacing the identity
/// it was linked to, if any). OPERATOR only. Refused when another account of the same kind
/// holds the subject.
pub async fn link(
    app: &App,
    actor: Actor,
    account: Account,
    external_id: &str,
) -> Result<Linked, ServiceError> {
    if actor != Actor::Operator {
        return Err(ServiceError::Forbidden(
            "only an OPERATOR can link an identity to an account".into(),
        ));
    }
    let external_id = valid_external_id(external_id)?;
    let txn = app.db.write().await?;
    let (current, holder) = match account {
        Account::Customer(id) => (
            repo::identity::customer_link(&*txn, id).await?,
            repo::identity::customer_by_external_id(&*txn, &external_id).await?,
        ),
        Account::Seller(id) => (
            repo::identity::seller_link(&*txn, id).await?,
            repo::identity::seller_by_external_id(&*txn, &external_id).await?,
        ),
    };
    let (id, field, what) = match account {
        Account::Customer(id) => (id, "customerId", "customer"),
        Account::Seller(id) => (id, "sellerId", "seller"),
    };
    let Some(current) = current else {
        return Err(UserError::not_found(&[field], what).into());
    };
    let taken = || -> ServiceError {
        UserError::new(
            UserErrorCode::IdentityAlreadyLinked,
            &["externalId"],
            format!("`{external_id}` is already linked to another {what}"),
        )
        .into()
    };
    if holder.is_some_and(|other| other != id) {
        return Err(taken());
    }
    if current.as_deref() != Some(external_id.as_str()) {
        let written = match account {
            Account::Customer(id) => repo::identity::link_customer(&*txn, id, &external_id).await,
            Account::Seller(id) => repo::identity::link_seller(&*txn, id, &external_id).await,
        };
        match written {
            Ok(()) => txn.commit().await?,
            // Another operator linked it elsewhere between our read and our write.
            Err(e) if is_unique_violation(&e) => return Err(taken()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Linked {
        account,
        external_id,
    })
}

/// A subject as given, refused when empty or past its text limit (`domain::text`; the
/// resolver checks the limit first, this keeps the service safe on its own).
fn valid_external_id(external_id: &str) -> Result<String, ServiceError> {
    if external_id.is_empty() {
        return Err(UserError::new(
            UserErrorCode::InvalidInput,
            &["externalId"],
            "externalId must not be empty: give the subject (`sub`) of the identity provider's \
             token",
        )
        .into());
    }
    crate::domain::text::EXTERNAL_ID
        .check(external_id)
        .map_err(|e| UserError::text(&["externalId"], e))?;
    Ok(external_id.to_owned())
}
