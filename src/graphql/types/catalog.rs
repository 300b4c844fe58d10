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
}
