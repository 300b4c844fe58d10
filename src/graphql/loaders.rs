//! Batched loads for nested fields. One set of loaders per request, already scoped to the
//! caller (a seller's loaders only ever return its own lines, groups and shipments), so a
//! page of orders costs a fixed number of statements whatever its size.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    claim, claim_event, claim_item, customer, order_coupon, order_line, order_shipping_group,
    product_option, refund, refund_part, seller, shipment, tender,
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
    /// What hangs off claims.
    pub claims: DataLoader<ByClaim>,
}

/// Loads things that hang off claims.
pub struct ByClaim {
    db: Db,
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
            sellers: DataLoader::new(Catalog { db: db.clone() }, tokio::spawn).delay(delay),
            claims: DataLoader::new(ByClaim { db }, tokio::spawn).delay(delay),
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

/// Key: the claims of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimsOf(pub i64);
/// Key: the items of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemsOf(pub i64);
/// Key: the timeline of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventsOf(pub i64);
/// Key: the refund of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefundOf(pub i64);
/// Key: the refund parts of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartsOf(pub i64);
/// Key: a claim by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimId(pub i64);
/// Key: the claims covering an order line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimsOfLine(pub i64);

impl Loader<ClaimsOf> for ByOrder {
    type Value = Vec<claim::Model>;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[ClaimsOf]) -> Result<HashMap<ClaimsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::claims::claims_of_orders(self.db.conn(), &ids, self.seller_scope).await?;
        Ok(group(rows, |r| ClaimsOf(r.order_id)))
    }
}

impl Loader<ItemsOf> for ByClaim {
    type Value = Vec<claim_item::Model>;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[ItemsOf]) -> Result<HashMap<ItemsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::claims::items_of_claims(self.db.conn(), &ids).await?;
        Ok(group(rows, |r| ItemsOf(r.claim_id)))
    }
}

impl Loader<EventsOf> for ByClaim {
    type Value = Vec<claim_event::Model>;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[EventsOf]) -> Result<HashMap<EventsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::claims::events_of_claims(self.db.conn(), &ids).await?;
        Ok(group(rows, |r| EventsOf(r.claim_id)))
    }
}

impl Loader<RefundOf> for ByClaim {
    type Value = refund::Model;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[RefundOf]) -> Result<HashMap<RefundOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::claims::refunds_of_claims(self.db.conn(), &ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| (RefundOf(r.claim_id), r))
            .collect())
    }
}

impl Loader<PartsOf> for ByClaim {
    type Value = Vec<refund_part::Model>;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[PartsOf]) -> Result<HashMap<PartsOf, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::claims::parts_of_claims(self.db.conn(), &ids).await?;
        Ok(group(rows, |r| PartsOf(r.claim_id)))
    }
}

impl Loader<ClaimId> for ByClaim {
    type Value = claim::Model;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[ClaimId]) -> Result<HashMap<ClaimId, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::claims::claims_by_ids(self.db.conn(), &ids).await?;
        Ok(rows.into_iter().map(|r| (ClaimId(r.id), r)).collect())
    }
}

impl Loader<ClaimsOfLine> for ByClaim {
    type Value = Vec<claim::Model>;
    type Error = Arc<DbErr>;
    async fn load(
        &self,
        keys: &[ClaimsOfLine],
    ) -> Result<HashMap<ClaimsOfLine, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let pairs = repo::claims::claims_of_lines(self.db.conn(), &ids).await?;
        let mut map: HashMap<ClaimsOfLine, Vec<claim::Model>> = HashMap::new();
        for (line, c) in pairs {
            map.entry(ClaimsOfLine(line)).or_default().push(c);
        }
        Ok(map)
    }
}

/// Key: an order line by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineId(pub i64);
/// Key: an order by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderId(pub i64);

impl Loader<LineId> for ByClaim {
    type Value = order_line::Model;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[LineId]) -> Result<HashMap<LineId, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::orders::lines_by_ids(self.db.conn(), &ids).await?;
        Ok(rows.into_iter().map(|r| (LineId(r.id), r)).collect())
    }
}

impl Loader<OrderId> for ByClaim {
    type Value = entity::order::Model;
    type Error = Arc<DbErr>;
    async fn load(&self, keys: &[OrderId]) -> Result<HashMap<OrderId, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::orders::orders_by_ids(self.db.conn(), &ids).await?;
        Ok(rows.into_iter().map(|r| (OrderId(r.id), r)).collect())
    }
}
