//! Who may see and manage what: the checks of `domain::actor::Scope` that need the database.
//! Every service and resolver asks here (or the scope itself) instead of matching on
//! [`Actor`] again; what lies outside the caller's scope is "not found", never "forbidden".

use entity::{claim, order};
use sea_orm::ConnectionTrait;

use crate::app::App;
use crate::domain::actor::{Actor, Scope};
use crate::error::{ServiceError, UserError};
use crate::repo;

/// True when the actor may see the order at all: a customer its own, a seller one with a
/// line of its own, staff any.
pub async fn can_see_order(
    db: &impl ConnectionTrait,
    actor: Actor,
    o: &order::Model,
) -> Result<bool, ServiceError> {
    Ok(match actor.scope() {
        Scope::All => true,
        Scope::Customer(id) => o.customer_id == id,
        Scope::Seller(id) => repo::orders::seller_in_order(db, o.id, id).await?,
        Scope::Nothing => false,
    })
}

/// True when the actor may see the claim: its customer, its seller, staff.
pub fn can_see_claim(actor: Actor, c: &claim::Model) -> bool {
    actor.scope().covers(c.customer_id, c.seller_id)
}

/// The seller a partner request acts for: a SELLER itself (naming another seller is "not
/// found"), an OPERATOR the seller it names. Plugins and webhooks are managed this way; `what`
/// names them in the refusal.
pub async fn managed_seller(
    app: &App,
    actor: Actor,
    seller_id: Option<i64>,
    what: &str,
) -> Result<i64, ServiceError> {
    match (actor, seller_id) {
        (Actor::Seller(own), Some(s)) if s != own => {
            Err(UserError::not_found(&["sellerId"], "seller").into())
        }
        // A token may name a seller that is gone (or never was).
        (Actor::Seller(s), _) | (Actor::Operator, Some(s)) => {
            if repo::catalog::sellers_by_ids(app.db.conn(), &[s])
                .await?
                .is_empty()
            {
                return Err(UserError::not_found(&["sellerId"], "seller").into());
            }
            Ok(s)
        }
        (Actor::Operator, None) => Err(ServiceError::BadInput(
            "an operator names the seller (sellerId)".into(),
        )),
        (Actor::Customer(_) | Actor::Analyst | Actor::System, _) => Err(ServiceError::Forbidden(
            format!("{what} are managed by their seller or an operator"),
        )),
    }
}
