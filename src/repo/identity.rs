//! External identities: the subject an identity provider gives a customer or a seller
//! (`customers.external_id`, `sellers.external_id`, each unique).

use entity::{customer, seller};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

/// The customer linked to `external_id`, if any.
pub async fn customer_by_external_id(
    db: &impl ConnectionTrait,
    external_id: &str,
) -> Result<Option<i64>, DbErr> {
    customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::ExternalId.eq(external_id))
        .into_tuple::<i64>()
        .one(db)
        .await
}

/// The seller linked to `external_id`, if any.
pub async fn seller_by_external_id(
    db: &impl ConnectionTrait,
    external_id: &str,
) -> Result<Option<i64>, DbErr> {
    seller::Entity::find()
        .select_only()
        .column(seller::Column::Id)
        .filter(seller::Column::ExternalId.eq(external_id))
        .into_tuple::<i64>()
        .one(db)
        .await
}

/// Whether customer `id` exists, and the identity it is linked to: `None` when there is no
/// such customer, `Some(None)` when it exists unlinked.
pub async fn customer_link(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<Option<String>>, DbErr> {
    customer::Entity::find_by_id(id)
        .select_only()
        .column(customer::Column::ExternalId)
        .into_tuple::<Option<String>>()
        .one(db)
        .await
}

/// Whether seller `id` exists, and the identity it is linked to (see [`customer_link`]).
pub async fn seller_link(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<Option<String>>, DbErr> {
    seller::Entity::find_by_id(id)
        .select_only()
        .column(seller::Column::ExternalId)
        .into_tuple::<Option<String>>()
        .one(db)
        .await
}

/// Links customer `id` to `external_id`. A unique violation means another customer holds it.
pub async fn link_customer(
    db: &impl ConnectionTrait,
    id: i64,
    external_id: &str,
) -> Result<(), DbErr> {
    customer::Entity::update_many()
        .col_expr(customer::Column::ExternalId, Expr::value(external_id))
        .filter(customer::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Links seller `id` to `external_id`. A unique violation means another seller holds it.
pub async fn link_seller(
    db: &impl ConnectionTrait,
    id: i64,
    external_id: &str,
) -> Result<(), DbErr> {
    seller::Entity::update_many()
        .col_expr(seller::Column::ExternalId, Expr::value(external_id))
        .filter(seller::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}
