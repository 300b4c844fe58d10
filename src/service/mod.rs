//! Use cases: one function per action. Each loads what it needs, asks `domain` what to do,
//! and persists the answer in one transaction. Resolvers and jobs call these; nothing else
//! changes the database.

pub mod analytics;
pub mod claims;
pub mod courier;
pub mod idempotency;
pub mod jobs;
pub mod orders;
pub mod plugins;
pub mod policy;
pub mod reads;
pub mod refunds;
pub mod webhooks;

/// The seller a partner request acts for: a SELLER itself (naming another seller is "not
/// found"), an OPERATOR the seller it names. Plugins and webhooks are managed this way; `what`
/// names them in the refusal.
pub(crate) async fn managed_seller(
    app: &crate::app::App,
    actor: crate::domain::actor::Actor,
    seller_id: Option<i64>,
    what: &str,
) -> Result<i64, crate::error::ServiceError> {
    use crate::domain::actor::Actor;
    use crate::error::{ServiceError, UserError};
    match (actor, seller_id) {
        (Actor::Seller(own), None) => Ok(own),
        (Actor::Seller(own), Some(s)) if s == own => Ok(own),
        (Actor::Seller(_), Some(_)) => Err(UserError::not_found(&["sellerId"], "seller").into()),
        (Actor::Operator, Some(s)) => {
            if crate::repo::catalog::sellers_by_ids(app.db.conn(), &[s])
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
