//! Batched loads for nested fields. One set of loaders per request, already scoped to the
//! caller (a seller's loaders only ever return its own lines, groups and shipments), so a
//! page of orders costs a fixed number of statements whatever its size.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    customer, order_coupon, order_line, order_shipping_group, product_option, seller, shipment,
    tender,
};
use sea_orm::DbErr;

use crate::db::Db;
use crate::repo;

/// The loaders of one request.
pub struct Loaders {
    /// Lines by order id.
    pub lines: DataLoader<ByOrder>,
    /// Sellers by id.
    pub sellers: DataLoader<Catalog>,
}

/// Loads things that hang off orders.
pub struct ByOrder {
    db: Db,
    seller_scope: Option<i64>,
}

/// Loads catalogue rows by id.
pub struct Catalog {
    db: Db,
}

impl Loaders {
    /// Loaders for a caller limited to `seller_scope`'s lines (or none).
    pub fn new(db: Db, seller_scope: Option<i64>, delay: Duration) -> Self {
        Loaders {
            lines: DataLoader::new(
                ByOrder {
                    db: db.clone(),
                    seller_scope,
                },
                tokio::spawn,
            )
            .delay(delay),
            sellers: DataLoader::new(Catalog { db }, tokio::spawn).delay(delay),
        }
    }
}

/// Key: the lines of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinesOf(pub i64);
/// Key: the tenders of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TendersOf(pub i64);
/// Key: the shipping groups of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupsOf(pub i64);
/// Key: the shipments of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShipmentsOf(pub i64);
/// Key: the coupon of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CouponOf(pub i64);
/// Key: a seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SellerId(pub i64);
/// Key: a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerId(pub i64);
/// Key: the options of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionsOf(pub i64);

fn group<K: std::hash::Hash + Eq, T>(rows: Vec<T>, key: impl Fn(&T) -> K) -> HashMap<K, Vec<T>> {
    let mut map: HashMap<K, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

impl Loader<LinesOf> for ByOrder {
    type Value = Vec<order_line::Model>;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[LinesOf]) -> Result<HashMap<LinesOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::orders::lines_of_orders(self.db.conn(), &ids, self.seller_scope).await?;
        Ok(group(rows, |r| LinesOf(r.order_id)))
    }
}

impl Loader<TendersOf> for ByOrder {
    type Value = Vec<tender::Model>;
    type Error = Arc<DbErr>;
    async fn load(
        &self,
        keys: &[TendersOf],
    ) -> Result<HashMap<TendersOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::orders::tenders_of_orders(self.db.conn(), &ids).await?;
        Ok(group(rows, |r| TendersOf(r.order_id)))
    }
}

impl Loader<GroupsOf> for ByOrder {
    type Value = Vec<order_shipping_group::Model>;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[GroupsOf]) -> Result<HashMap<GroupsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::orders::groups_of_orders(self.db.conn(), &ids, self.seller_scope).await?;
        Ok(group(rows, |r| GroupsOf(r.order_id)))
    }
}

impl Loader<ShipmentsOf> for ByOrder {
    type Value = Vec<shipment::Model>;
    type Error = Arc<DbErr>;
    async fn load(
        &self,
        keys: &[ShipmentsOf],
    ) -> Result<HashMap<ShipmentsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows =
            repo::orders::shipments_of_orders(self.db.conn(), &ids, self.seller_scope).await?;
        Ok(group(rows, |r| ShipmentsOf(r.order_id)))
    }
}

impl Loader<CouponOf> for ByOrder {
    type Value = order_coupon::Model;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[CouponOf]) -> Result<HashMap<CouponOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::orders::coupons_of_orders(self.db.conn(), &ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| (CouponOf(r.order_id), r))
            .collect())
    }
}

impl Loader<SellerId> for Catalog {
    type Value = seller::Model;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[SellerId]) -> Result<HashMap<SellerId, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::catalog::sellers_by_ids(self.db.conn(), &ids).await?;
        Ok(rows.into_iter().map(|r| (SellerId(r.id), r)).collect())
    }
}

impl Loader<CustomerId> for Catalog {
    type Value = customer::Model;
    type Error = Arc<DbErr>;
    async fn load(
        &self,
        keys: &[CustomerId],
    ) -> Result<HashMap<CustomerId, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::catalog::customers_by_ids(self.db.conn(), &ids).await?;
        Ok(rows.into_iter().map(|r| (CustomerId(r.id), r)).collect())
    }
}

impl Loader<OptionsOf> for Catalog {
    type Value = Vec<product_option::Model>;
    type Error = Arc<DbErr>;
    async fn load(
        &self,
        keys: &[OptionsOf],
    ) -> Result<HashMap<OptionsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::catalog::options_of_products(self.db.conn(), &ids).await?;
        Ok(group(rows, |r| OptionsOf(r.product_id)))
    }
}
