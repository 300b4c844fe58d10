//! The catalogue as the API shows it: products and their options with price and stock.

use async_graphql::{Context, Object, Result, ID};
use entity::{product, product_option};

use super::order::Seller;
use crate::domain::money::Won;
use crate::graphql::ids::{to_id, Kind};
use crate::graphql::loaders::{OptionsOf, SellerId};
use crate::graphql::{load, loaders};

/// A product of one seller.
pub struct Product(pub product::Model);

#[Object]
impl Product {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::Product, self.0.id)
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// 대형 상품: bulky goods (a seller's policy may charge more to take them back).
    async fn bulky(&self) -> bool {
        self.0.bulky
    }

    /// Images by URL (`https://`), in display order.
    async fn image_urls(&self) -> Vec<String> {
        serde_json::from_str(&self.0.image_urls).unwrap_or_default()
    }

    /// True once discontinued (단종): no new orders of any of its options.
    async fn discontinued(&self) -> bool {
        self.0.discontinued_at.is_some()
    }

    /// Bumped by every edit of the product or its options (`expectedVersion`).
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The seller.
    async fn seller(&self, ctx: &Context<'_>) -> Result<Option<Seller>> {
        Ok(load(
            loaders(ctx)?
                .sellers
                .load_one(SellerId(self.0.seller_id))
                .await,
        )?
        .map(Seller))
    }

    /// Options (size, colour), each with its price and stock.
    async fn options(&self, ctx: &Context<'_>) -> Result<Vec<ProductOption>> {
        Ok(
            load(loaders(ctx)?.sellers.load_one(OptionsOf(self.0.id)).await)?
                .unwrap_or_default()
                .into_iter()
                .map(ProductOption)
                .collect(),
        )
    }
}

/// One option of a product: what a cart line names.
pub struct ProductOption(pub product_option::Model);

#[Object]
impl ProductOption {
    /// Global ID; pass it as `optionId` to `placeOrder`.
    pub async fn id(&self) -> ID {
        to_id(Kind::ProductOption, self.0.id)
    }

    /// Name (e.g. "M / 블랙").
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Unit price.
    async fn price(&self) -> Won {
        Won::new(self.0.price)
    }

    /// The seller's instant discount per unit (즉시할인).
    async fn instant_discount(&self) -> Won {
        Won::new(self.0.instant_discount)
    }

    /// Units on hand (reserved units are already taken off).
    async fn stock(&self) -> i64 {
        self.0.stock
    }

    /// True once discontinued (단종): it takes no new orders.
    async fn discontinued(&self) -> bool {
        self.0.discontinued_at.is_some()
    }

    /// Bumped by every edit of the option (`expectedVersion`).
    async fn version(&self) -> i32 {
        self.0.version
    }
}
