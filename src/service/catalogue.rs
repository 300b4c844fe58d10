//! The catalogue through the API (issue 20, part 2): a SELLER (or an OPERATOR for it)
//! creates, edits and discontinues its products and their options. Placed orders copied the
//! names, prices and discounts at checkout and never read the catalogue again, so an edit
//! never reaches them. A discontinued product or option takes no new orders.

use entity::{product, product_option};
use sea_orm::{DatabaseTransaction, Set};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::catalogue::{checked_images, checked_stock, CatalogueError, OptionFigures};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::service::access;
use crate::service::idempotency::{self, Answer, Keyed};

/// What a catalogue mutation returns: the product it touched.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ProductChanged {
    /// The product.
    pub product_id: i64,
}

/// One option of a new product, or a new option of a product.
#[derive(Debug, Clone)]
pub struct NewOption {
    /// 옵션명 (size, colour).
    pub name: String,
    /// Price and instant discount.
    pub figures: OptionFigures,
    /// Units on hand.
    pub stock: i64,
}

/// A `createProduct` request.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// The seller (an OPERATOR names it; a SELLER's own).
    pub seller_id: Option<i64>,
    /// 상품명.
    pub name: String,
    /// 대형 상품.
    pub bulky: bool,
    /// Images by URL.
    pub image_urls: Vec<String>,
    /// Its options, at least one.
    pub options: Vec<NewOption>,
}

/// An `updateProduct` request: the fields to change.
#[derive(Debug, Clone, Default)]
pub struct ProductEdit {
    /// A new name.
    pub name: Option<String>,
    /// Bulky or not.
    pub bulky: Option<bool>,
    /// The images, replacing the old list.
    pub image_urls: Option<Vec<String>>,
    /// The product's version the caller saw.
    pub expected_version: Option<i32>,
}

/// An `updateProductOption` request: the fields to change.
#[derive(Debug, Clone, Default)]
pub struct OptionEdit {
    /// A new option name.
    pub name: Option<String>,
    /// A new price and instant discount (given together: the discount is checked against the
    /// price).
    pub figures: Option<OptionFigures>,
    /// The option's version the caller saw.
    pub expected_version: Option<i32>,
}

/// A catalogue refusal naming its field: under `options.N` for an option of a new product.
fn refused(e: CatalogueError, option: Option<usize>) -> ServiceError {
    let code = match e {
        CatalogueError::Image(_) => UserErrorCode::InvalidInput,
        _ => UserErrorCode::InvalidAmount,
    };
    let index = option.map(|i| i.to_string());
    let path: Vec<&str> = match &index {
        Some(i) => vec!["options", i, e.field()],
        None => vec![e.field()],
    };
    UserError::new(code, &path, e.to_string()).into()
}

fn blank(field: &[&str], what: &str) -> ServiceError {
    UserError::new(
        UserErrorCode::InvalidInput,
        field,
        format!("{what} must not be blank"),
    )
    .into()
}

fn checked_option(o: &NewOption, index: Option<usize>) -> Result<(), ServiceError> {
    if o.name.trim().is_empty() {
        let i = index.map(|i| i.to_string());
        return Err(match &i {
            Some(i) => blank(&["options", i, "name"], "an option's name"),
            None => blank(&["name"], "an option's name"),
        });
    }
    o.figures.checked().map_err(|e| refused(e, index))?;
    checked_stock(o.stock).map_err(|e| refused(e, index))?;
    Ok(())
}

/// `createProduct`: a product with its options, all or nothing.
pub async fn create_product(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    req: NewProduct,
) -> Answer<ProductChanged> {
    let seller_id = match access::managed_seller(app, actor, req.seller_id, "products").await {
        Ok(id) => id,
        Err(e) => return e.into(),
    };
    idempotency::once(app, actor, key, async |txn| {
        if req.name.trim().is_empty() {
            return Err(blank(&["name"], "a product's name"));
        }
        checked_images(&req.image_urls).map_err(|e| refused(e, None))?;
        if req.options.is_empty() {
            return Err(UserError::new(
                UserErrorCode::InvalidInput,
                &["options"],
                "a product needs at least one option (a single one named 기본 will do)",
            )
            .into());
        }
        for (i, o) in req.options.iter().enumerate() {
            checked_option(o, Some(i))?;
        }
        let product_id = repo::catalog::insert_product(
            txn,
            product::ActiveModel {
                seller_id: Set(seller_id),
                name: Set(req.name.trim().to_owned()),
                bulky: Set(req.bulky),
                image_urls: Set(images_json(&req.image_urls)),
                created_at: Set(app.clock.now()),
                ..Default::default()
            },
        )
        .await?;
        for o in &req.options {
            insert_option(txn, product_id, o).await?;
        }
        Ok(ProductChanged { product_id })
    })
    .await
}

fn images_json(urls: &[String]) -> String {
    serde_json::to_string(urls).unwrap_or_else(|_| "[]".to_owned())
}

async fn insert_option(
    txn: &DatabaseTransaction,
    product_id: i64,
    o: &NewOption,
) -> Result<i64, ServiceError> {
    Ok(repo::catalog::insert_option(
        txn,
        product_option::ActiveModel {
            product_id: Set(product_id),
            name: Set(o.name.trim().to_owned()),
            price: Set(o.figures.price.amount()),
            instant_discount: Set(o.figures.instant_discount.amount()),
            stock: Set(o.stock),
            ..Default::default()
        },
    )
    .await?)
}

/// The product `product_id` as the caller may edit it: its seller's (a SELLER's own) or any
/// (an OPERATOR), locked, at the version the caller saw. Another seller's is "not found".
async fn editable(
    txn: &DatabaseTransaction,
    actor: Actor,
    product_id: i64,
    expected_version: Option<i32>,
) -> Result<product::Model, ServiceError> {
    let p = repo::catalog::product_for_update(txn, product_id)
        .await?
        .filter(|p| match actor {
            Actor::Seller(s) => p.seller_id == s,
            _ => true,
        })
        .ok_or_else(|| UserError::not_found(&["productId"], "product"))?;
    stale(expected_version, p.version, &p.name)?;
    Ok(p)
}

fn stale(expected: Option<i32>, version: i32, what: &str) -> Result<(), ServiceError> {
    match expected {
        Some(v) if v != version => Err(UserError::new(
            UserErrorCode::StaleVersion,
            &["expectedVersion"],
            format!("{what} is at version {version}, not {v}; reload it and try again"),
        )
        .into()),
        _ => Ok(()),
    }
}

fn may_edit(actor: Actor) -> Result<(), ServiceError> {
    match actor {
        Actor::Seller(_) | Actor::Operator => Ok(()),
        _ => Err(ServiceError::Forbidden(
            "products are managed by their seller or an operator".into(),
        )),
    }
}

/// `updateProduct`: name, bulky flag, images. Placed orders keep what they copied.
pub async fn update_product(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    product_id: i64,
    edit: ProductEdit,
) -> Answer<ProductChanged> {
    if let Err(e) = may_edit(actor) {
        return e.into();
    }
    idempotency::once(app, actor, key, async |txn| {
        let p = editable(txn, actor, product_id, edit.expected_version).await?;
        let mut row = product::ActiveModel {
            version: Set(p.version + 1),
            ..Default::default()
        };
        if let Some(name) = &edit.name {
            if name.trim().is_empty() {
                return Err(blank(&["name"], "a product's name"));
            }
            row.name = Set(name.trim().to_owned());
        }
        if let Some(bulky) = edit.bulky {
            row.bulky = Set(bulky);
        }
        if let Some(urls) = &edit.image_urls {
            checked_images(urls).map_err(|e| refused(e, None))?;
            row.image_urls = Set(images_json(urls));
        }
        repo::catalog::update_product(txn, p.id, row).await?;
        Ok(ProductChanged { product_id })
    })
    .await
}

/// `discontinueProduct`: no new orders of any of its options; placed orders go on.
pub async fn discontinue_product(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    product_id: i64,
) -> Answer<ProductChanged> {
    if let Err(e) = may_edit(actor) {
        return e.into();
    }
    idempotency::once(app, actor, key, async |txn| {
        let p = editable(txn, actor, product_id, None).await?;
        if p.discontinued_at.is_some() {
            return Err(UserError::new(
                UserErrorCode::InvalidInput,
                &["productId"],
                format!("product {} is discontinued already", p.name),
            )
            .into());
        }
        let row = product::ActiveModel {
            discontinued_at: Set(Some(app.clock.now())),
            version: Set(p.version + 1),
            ..Default::default()
        };
        repo::catalog::update_product(txn, p.id, row).await?;
        Ok(ProductChanged { product_id })
    })
    .await
}

/// `addProductOption`: a new option of a product.
pub async fn add_option(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    product_id: i64,
    option: NewOption,
) -> Answer<ProductChanged> {
    if let Err(e) = may_edit(actor) {
        return e.into();
    }
    idempotency::once(app, actor, key, async |txn| {
        let p = editable(txn, actor, product_id, None).await?;
        checked_option(&option, None)?;
        insert_option(txn, p.id, &option).await?;
        bump(txn, &p).await?;
        Ok(ProductChanged { product_id })
    })
    .await
}

async fn bump(txn: &DatabaseTransaction, p: &product::Model) -> Result<(), ServiceError> {
    let row = product::ActiveModel {
        version: Set(p.version + 1),
        ..Default::default()
    };
    Ok(repo::catalog::update_product(txn, p.id, row).await?)
}

/// `updateProductOption` and `discontinueProductOption`: an option's name, price and instant
/// discount, or its end. Placed orders keep the price and discount of their checkout.
pub async fn edit_option(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    option_id: i64,
    edit: OptionEdit,
    discontinue: bool,
) -> Answer<ProductChanged> {
    if let Err(e) = may_edit(actor) {
        return e.into();
    }
    idempotency::once(app, actor, key, async |txn| {
        let o = repo::catalog::option_for_update(txn, option_id)
            .await?
            .ok_or_else(|| UserError::not_found(&["optionId"], "product option"))?;
        let p = editable(txn, actor, o.product_id, None)
            .await
            .map_err(|_| UserError::not_found(&["optionId"], "product option"))?;
        stale(edit.expected_version, o.version, &o.name)?;
        let mut row = product_option::ActiveModel {
            version: Set(o.version + 1),
            ..Default::default()
        };
        if discontinue {
            if o.discontinued_at.is_some() {
                return Err(UserError::new(
                    UserErrorCode::InvalidInput,
                    &["optionId"],
                    format!("option {} is discontinued already", o.name),
                )
                .into());
            }
            row.discontinued_at = Set(Some(app.clock.now()));
        }
        if let Some(name) = &edit.name {
            if name.trim().is_empty() {
                return Err(blank(&["name"], "an option's name"));
            }
            row.name = Set(name.trim().to_owned());
        }
        if let Some(figures) = edit.figures {
            let f = figures.checked().map_err(|e| refused(e, None))?;
            row.price = Set(f.price.amount());
            row.instant_discount = Set(f.instant_discount.amount());
        }
        repo::catalog::update_option(txn, o.id, row).await?;
        bump(txn, &p).await?;
        Ok(ProductChanged { product_id: p.id })
    })
    .await
}
