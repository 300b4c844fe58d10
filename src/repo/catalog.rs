//! Sellers, products, options, coupons and customers.

use std::collections::HashMap;

use entity::{coupon, customer, points_ledger, product, product_option, seller};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef, Set,
};

/// An option with its product: what checkout needs to price a line.
#[derive(Debug, Clone)]
pub struct OptionWithProduct {
    /// The option.
    pub option: product_option::Model,
    /// Its product.
    pub product: product::Model,
}

/// A product option by id.
pub async fn option_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<product_option::Model>, DbErr> {
    product_option::Entity::find_by_id(id).one(db).await
}

/// Options by id, with their products, in two statements.
pub async fn options_with_products(
    db: &impl ConnectionTrait,
    option_ids: &[i64],
) -> Result<HashMap<i64, OptionWithProduct>, DbErr> {
    let product_of_option: RelationDef = product_option::Entity::belongs_to(product::Entity)
        .from(product_option::Column::ProductId)
        .to(product::Column::Id)
        .into();
    Ok(product_option::Entity::find()
        .filter(product_option::Column::Id.is_in(option_ids.iter().copied()))
        .join(JoinType::InnerJoin, product_of_option)
        .select_also(product::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(option, product)| {
            Some((
                option.id,
                OptionWithProduct {
                    option,
                    product: product?,
                },
            ))
        })
        .collect())
}

/// Sellers by id.
pub async fn sellers_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<seller::Model>, DbErr> {
    seller::Entity::find()
        .filter(seller::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Customers by id.
pub async fn customers_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<customer::Model>, DbErr> {
    customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Products by id.
pub async fn products_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<product::Model>, DbErr> {
    product::Entity::find()
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// All sellers, by id.
pub async fn all_sellers(db: &impl ConnectionTrait) -> Result<Vec<seller::Model>, DbErr> {
    seller::Entity::find()
        .order_by_asc(seller::Column::Id)
        .all(db)
        .await
}

/// Products of some sellers (or all), by id.
pub async fn products(
    db: &impl ConnectionTrait,
    seller_id: Option<i64>,
) -> Result<Vec<product::Model>, DbErr> {
    let mut q = product::Entity::find().order_by_asc(product::Column::Id);
    if let Some(s) = seller_id {
        q = q.filter(product::Column::SellerId.eq(s));
    }
    q.all(db).await
}

/// Options of some products, by id.
pub async fn options_of_products(
    db: &impl ConnectionTrait,
    product_ids: &[i64],
) -> Result<Vec<product_option::Model>, DbErr> {
    product_option::Entity::find()
        .filter(product_option::Column::ProductId.is_in(product_ids.iter().copied()))
        .order_by_asc(product_option::Column::Id)
        .all(db)
        .await
}

/// A coupon by code.
pub async fn coupon(db: &impl ConnectionTrait, code: &str) -> Result<Option<coupon::Model>, DbErr> {
    coupon::Entity::find_by_id(code.to_owned()).one(db).await
}

/// Takes `quantity` units of an option's stock if that many are on hand. Returns false (and
/// changes nothing) when there are not enough: the check and the decrement are one statement,
/// so two concurrent orders can never oversell.
pub async fn take_stock(
    db: &impl ConnectionTrait,
    option_id: i64,
    quantity: i64,
) -> Result<bool, DbErr> {
    let res = product_option::Entity::update_many()
        .col_expr(
            product_option::Column::Stock,
            Expr::col(product_option::Column::Stock).sub(quantity),
        )
        .filter(product_option::Column::Id.eq(option_id))
        .filter(product_option::Column::Stock.gte(quantity))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Spends points if the balance covers them, writing the ledger entry. Returns false (and
/// changes nothing) when the balance is too low.
pub async fn spend_points(
    db: &impl ConnectionTrait,
    customer_id: i64,
    order_id: i64,
    points: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = customer::Entity::update_many()
        .col_expr(
            customer::Column::PointsBalance,
            Expr::col(customer::Column::PointsBalance).sub(points),
        )
        .filter(customer::Column::Id.eq(customer_id))
        .filter(customer::Column::PointsBalance.gte(points))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    let balance = customer::Entity::find_by_id(customer_id)
        .one(db)
        .await?
        .map(|c| c.points_balance)
        .unwrap_or_default();
    points_ledger::ActiveModel {
        customer_id: Set(customer_id),
        order_id: Set(Some(order_id)),
        kind: Set("ORDER_PAYMENT".to_owned()),
        delta: Set(-points),
        balance_after: Set(balance),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// Inserts a seller and returns its id.
pub async fn insert_seller(
    db: &impl ConnectionTrait,
    row: seller::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(seller::Entity::insert(row).exec(db).await?.last_insert_id)
}

/// The seller holding business registration number `number`, if any.
pub async fn seller_by_business_number(
    db: &impl ConnectionTrait,
    number: &str,
) -> Result<Option<seller::Model>, DbErr> {
    seller::Entity::find()
        .filter(seller::Column::BusinessNumber.eq(number))
        .one(db)
        .await
}

/// The seller `id`, locked for the transaction.
pub async fn seller_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<seller::Model>, DbErr> {
    seller::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await
}

/// Updates a seller row.
pub async fn update_seller(
    db: &impl ConnectionTrait,
    id: i64,
    set: seller::ActiveModel,
) -> Result<(), DbErr> {
    seller::Entity::update_many()
        .set(set)
        .filter(seller::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The product `id`, locked for the transaction.
pub async fn product_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<product::Model>, DbErr> {
    product::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await
}

/// The option `id`, locked for the transaction.
pub async fn option_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<product_option::Model>, DbErr> {
    product_option::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await
}

/// Updates a product row.
pub async fn update_product(
    db: &impl ConnectionTrait,
    id: i64,
    set: product::ActiveModel,
) -> Result<(), DbErr> {
    product::Entity::update_many()
        .set(set)
        .filter(product::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Updates an option row.
pub async fn update_option(
    db: &impl ConnectionTrait,
    id: i64,
    set: product_option::ActiveModel,
) -> Result<(), DbErr> {
    product_option::Entity::update_many()
        .set(set)
        .filter(product_option::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The customer `id`, locked for the transaction.
pub async fn customer_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<customer::Model>, DbErr> {
    customer::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await
}

/// Updates a customer row.
pub async fn update_customer(
    db: &impl ConnectionTrait,
    id: i64,
    set: customer::ActiveModel,
) -> Result<(), DbErr> {
    customer::Entity::update_many()
        .set(set)
        .filter(customer::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A customer's points ledger, newest first, at most `limit` entries.
pub async fn points_history(
    db: &impl ConnectionTrait,
    customer_id: i64,
    limit: u64,
) -> Result<Vec<points_ledger::Model>, DbErr> {
    points_ledger::Entity::find()
        .filter(points_ledger::Column::CustomerId.eq(customer_id))
        .order_by_desc(points_ledger::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Inserts a product and returns its id.
pub async fn insert_product(
    db: &impl ConnectionTrait,
    row: product::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(product::Entity::insert(row).exec(db).await?.last_insert_id)
}

/// Inserts a product option and returns its id.
pub async fn insert_option(
    db: &impl ConnectionTrait,
    row: product_option::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(product_option::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id)
}

/// Inserts a customer and returns its id.
pub async fn insert_customer(
    db: &impl ConnectionTrait,
    row: customer::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(customer::Entity::insert(row).exec(db).await?.last_insert_id)
}

/// Inserts a coupon.
pub async fn insert_coupon(
    db: &impl ConnectionTrait,
    row: coupon::ActiveModel,
) -> Result<(), DbErr> {
    coupon::Entity::insert(row).exec(db).await?;
    Ok(())
}

/// True when no order exists yet.
pub async fn no_orders(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    use sea_orm::PaginatorTrait;
    Ok(entity::order::Entity::find().count(db).await? == 0)
}

/// Stores a customer's refund account (환불계좌).
pub async fn set_refund_account(
    db: &impl ConnectionTrait,
    customer_id: i64,
    bank: String,
    number: String,
    holder: String,
) -> Result<(), DbErr> {
    customer::Entity::update_many()
        .col_expr(customer::Column::RefundBank, Expr::value(bank))
        .col_expr(customer::Column::RefundAccountNumber, Expr::value(number))
        .col_expr(customer::Column::RefundAccountHolder, Expr::value(holder))
        .filter(customer::Column::Id.eq(customer_id))
        .exec(db)
        .await?;
    Ok(())
}
