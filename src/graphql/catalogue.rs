//! The catalogue through the API (상품 관리): products and options created, edited and
//! discontinued by their seller or an operator.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::idempotency::keyed;
use super::ids::{parse, Kind};
use super::text::{self, TextInput, Texts};
use super::types::catalog::Product;
use super::types::payloads::{answered, refusable, refusal, replayable};
use super::{app, require_writer};
use crate::domain::catalogue::OptionFigures;
use crate::domain::money::Won;
use crate::domain::text as limit;
use crate::error::{ServiceError, UserError};
use crate::repo;
use crate::service::catalogue::{
    self, NewOption, NewProduct, OptionEdit, ProductChanged, ProductEdit,
};
use crate::service::idempotency::Answer;

/// Catalogue mutation fields.
#[derive(Default)]
pub struct CatalogueMutation;

/// One option of a new product, or a new option of a product.
#[derive(InputObject)]
pub struct ProductOptionInput {
    /// 옵션명 (`M / 블랙`; a single option may be `기본`). At most 100 characters, one line.
    pub name: String,
    /// Unit price, 1 to 100,000,000.
    pub price: Won,
    /// 즉시할인 per unit, from 0 to less than the price.
    #[graphql(default)]
    pub instant_discount: Won,
    /// Units on hand, 0 to 1,000,000.
    #[graphql(default)]
    pub stock: i64,
}

impl ProductOptionInput {
    fn option(&self) -> NewOption {
        NewOption {
            name: self.name.clone(),
            figures: OptionFigures {
                price: self.price,
                instant_discount: self.instant_discount,
            },
            stock: self.stock,
        }
    }
}

/// Input of `createProduct`.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// The seller (an OPERATOR names it; a SELLER's own by default).
    pub seller_id: Option<ID>,
    /// 상품명. At most 200 characters, one line.
    pub name: String,
    /// 대형 상품.
    #[graphql(default)]
    pub bulky: bool,
    /// Images by `https://` URL, in display order. At most 10 entries, each at most 2,000
    /// characters, one line.
    #[graphql(default)]
    pub image_urls: Vec<String>,
    /// The options, at least one. At most 500.
    pub options: Vec<ProductOptionInput>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for CreateProductInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("name", &self.name, limit::PRODUCT_NAME)
            .list(
                "imageUrls",
                &self.image_urls,
                limit::IMAGE_URLS,
                limit::IMAGE_URL,
            )
            .count("options", self.options.len(), limit::LINES)
            .each(
                "options",
                &self.options,
                "name",
                |o| Some(o.name.as_str()),
                limit::OPTION_NAME,
            )
    }
}

/// Input of `updateProduct`: the fields to change; the others stay.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// The product.
    pub product_id: ID,
    /// A new 상품명. At most 200 characters, one line.
    pub name: Option<String>,
    /// Bulky or not.
    pub bulky: Option<bool>,
    /// The images, replacing the old list. At most 10 entries, each at most 2,000
    /// characters, one line.
    pub image_urls: Option<Vec<String>>,
    /// Refuse with STALE_VERSION unless the product is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for UpdateProductInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .optional("name", self.name.as_deref(), limit::PRODUCT_NAME)
            .list(
                "imageUrls",
                self.image_urls.as_deref().unwrap_or_default(),
                limit::IMAGE_URLS,
                limit::IMAGE_URL,
            )
    }
}

/// Input of `addProductOption`.
#[derive(InputObject)]
pub struct AddProductOptionInput {
    /// The product.
    pub product_id: ID,
    /// The new option.
    pub option: ProductOptionInput,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for AddProductOptionInput {
    fn texts(&self) -> Texts {
        Texts::default().nested(&["option", "name"], &self.option.name, limit::OPTION_NAME)
    }
}

/// Input of `updateProductOption`: the fields to change; the others stay.
#[derive(InputObject)]
pub struct UpdateProductOptionInput {
    /// The option.
    pub option_id: ID,
    /// A new 옵션명. At most 100 characters, one line.
    pub name: Option<String>,
    /// A new unit price, 1 to 100,000,000; give `instantDiscount` with it.
    pub price: Option<Won>,
    /// A new 즉시할인 per unit, from 0 to less than the price; give `price` with it.
    pub instant_discount: Option<Won>,
    /// Refuse with STALE_VERSION unless the option is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for UpdateProductOptionInput {
    fn texts(&self) -> Texts {
        Texts::default().optional("name", self.name.as_deref(), limit::OPTION_NAME)
    }
}

/// Input of `discontinueProduct`.
#[derive(InputObject)]
pub struct DiscontinueProductInput {
    /// The product.
    pub product_id: ID,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

/// Input of `discontinueProductOption`.
#[derive(InputObject)]
pub struct DiscontinueProductOptionInput {
    /// The option.
    pub option_id: ID,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

/// The result of a catalogue mutation.
#[derive(SimpleObject, Default)]
pub struct ProductPayload {
    /// The product as it is now, with its options (null when the request was refused).
    pub product: Option<Product>,
    /// Why the request was refused; empty on success. A refused request changed nothing.
    pub user_errors: Vec<UserError>,
    /// True when this answers an earlier request with the same `idempotencyKey`: its outcome
    /// again, the product as it is now, nothing changed by this call.
    pub replayed: bool,
}

refusable!(ProductPayload);
replayable!(ProductPayload);

async fn product_payload(
    ctx: &Context<'_>,
    answer: Answer<ProductChanged>,
) -> Result<ProductPayload> {
    answered(answer, |changed| async move {
        let found = repo::catalog::products_by_ids(app(ctx)?.db.conn(), &[changed.product_id])
            .await
            .map_err(|e| crate::error::to_graphql_error(ServiceError::from(e)))?;
        Ok(ProductPayload {
            product: found.into_iter().next().map(Product),
            ..Default::default()
        })
    })
    .await
}

/// Both of a price and its discount, or neither.
fn figures(input: &UpdateProductOptionInput) -> Result<Option<OptionFigures>, ServiceError> {
    match (input.price, input.instant_discount) {
        (Some(price), Some(instant_discount)) => Ok(Some(OptionFigures {
            price,
            instant_discount,
        })),
        (None, None) => Ok(None),
        _ => Err(ServiceError::BadInput(
            "give price and instantDiscount together (the discount is checked against the \
             price)"
                .into(),
        )),
    }
}

#[Object]
impl CatalogueMutation {
    /// 상품 등록: a product with its options. The SELLER (its own) or an OPERATOR (naming
    /// `sellerId`).
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<ProductPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let seller_id = match input.seller_id.as_ref().map(|id| parse(id, Kind::Seller)) {
            Some(Err(e)) => return refusal(e),
            Some(Ok(id)) => Some(id),
            None => None,
        };
        let request = NewProduct {
            seller_id,
            name: input.name,
            bulky: input.bulky,
            image_urls: input.image_urls,
            options: input
                .options
                .iter()
                .map(ProductOptionInput::option)
                .collect(),
        };
        let answer = catalogue::create_product(app, actor, key, request).await;
        product_payload(ctx, answer).await
    }

    /// 상품 수정: name, bulky flag, images. Placed orders keep what they copied at checkout.
    /// The product's SELLER or an OPERATOR.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductInput,
    ) -> Result<ProductPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let product_id = match parse(&input.product_id, Kind::Product) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        let edit = ProductEdit {
            name: input.name,
            bulky: input.bulky,
            image_urls: input.image_urls,
            expected_version: input.expected_version,
        };
        let answer = catalogue::update_product(app, actor, key, product_id, edit).await;
        product_payload(ctx, answer).await
    }

    /// 단종: the product takes no new orders (`OPTION_DISCONTINUED`); placed orders and their
    /// claims go on. The product's SELLER or an OPERATOR.
    async fn discontinue_product(
        &self,
        ctx: &Context<'_>,
        input: DiscontinueProductInput,
    ) -> Result<ProductPayload> {
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let product_id = match parse(&input.product_id, Kind::Product) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        let answer = catalogue::discontinue_product(app, actor, key, product_id).await;
        product_payload(ctx, answer).await
    }

    /// 옵션 추가: a new option of a product. The product's SELLER or an OPERATOR.
    async fn add_product_option(
        &self,
        ctx: &Context<'_>,
        input: AddProductOptionInput,
    ) -> Result<ProductPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let product_id = match parse(&input.product_id, Kind::Product) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        let option = input.option.option();
        let answer = catalogue::add_option(app, actor, key, product_id, option).await;
        product_payload(ctx, answer).await
    }

    /// 옵션 수정: an option's name, price and instant discount. Placed orders keep the price
    /// and discount of their checkout. The product's SELLER or an OPERATOR.
    async fn update_product_option(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductOptionInput,
    ) -> Result<ProductPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let parsed =
            parse(&input.option_id, Kind::ProductOption).and_then(|id| Ok((id, figures(&input)?)));
        let (option_id, figures) = match parsed {
            Ok(v) => v,
            Err(e) => return refusal(e),
        };
        let edit = OptionEdit {
            name: input.name,
            figures,
            expected_version: input.expected_version,
        };
        let answer = catalogue::edit_option(app, actor, key, option_id, edit, false).await;
        product_payload(ctx, answer).await
    }

    /// 옵션 단종: the option takes no new orders; placed orders go on. The product's SELLER
    /// or an OPERATOR.
    async fn discontinue_product_option(
        &self,
        ctx: &Context<'_>,
        input: DiscontinueProductOptionInput,
    ) -> Result<ProductPayload> {
        // A bad key is refused before anything else in the input.
        let key = match keyed(ctx, &input) {
            Ok(key) => key,
            Err(e) => return refusal(e),
        };
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let option_id = match parse(&input.option_id, Kind::ProductOption) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        let answer =
            catalogue::edit_option(app, actor, key, option_id, OptionEdit::default(), true).await;
        product_payload(ctx, answer).await
    }
}
