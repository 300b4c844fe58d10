//! The query root: orders (one, a page, any node), the catalogue, and who is calling.

use async_graphql::{Context, InputObject, Interface, Object, Result, SimpleObject, ID};
use base64::Engine;
use chrono::{DateTime, Utc};

use super::ids::{parse, parse_any, Kind};
use super::text;
use super::types::catalog::{Product, ProductOption};
use super::types::claim::Claim;
use super::types::enums::{LineStatus, OrderSortField, Role, SortDirection};
use super::types::order::{Customer, Order, OrderLine, Seller, Shipment, Tender};
use super::{app, require_actor, viewer};
use crate::domain::actor::Actor;
use crate::domain::order as domain;
use crate::domain::text as limit;
use crate::error::{to_graphql_error, ServiceError};
use crate::repo;
use crate::repo::orders::{Cursor, OrderFilter, OrderSort};
use crate::service::orders::can_see_order;

/// Order and catalogue query fields.
#[derive(Default)]
pub struct OrderQuery;

/// Who the bearer token speaks for.
#[derive(SimpleObject)]
pub struct ViewerInfo {
    /// The role.
    pub role: Role,
    /// The customer or seller id for those roles; null for staff.
    pub subject: Option<ID>,
}

/// Filters of `orders`; all given filters must hold.
#[derive(InputObject, Default)]
pub struct OrderFilterInput {
    /// Only orders in this status.
    pub status: Option<LineStatus>,
    /// Only orders with lines of this seller.
    pub seller_id: Option<ID>,
    /// Only orders of this customer.
    pub customer_id: Option<ID>,
    /// Only this order number. At most 40 characters, one line.
    pub order_number: Option<String>,
    /// Placed at or after this time.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before this time.
    pub placed_to: Option<DateTime<Utc>>,
}

/// How `orders` is sorted.
#[derive(InputObject)]
pub struct OrderOrderBy {
    /// The field.
    pub field: OrderSortField,
    /// The direction.
    pub direction: SortDirection,
}

/// Any object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID."))]
pub enum Node {
    /// An order.
    Order(Order),
    /// An order line.
    OrderLine(OrderLine),
    /// A tender.
    Tender(Tender),
    /// A shipment.
    Shipment(Shipment),
    /// A seller.
    Seller(Seller),
    /// A customer.
    Customer(Customer),
    /// A product.
    Product(Product),
    /// A product option.
    ProductOption(ProductOption),
    /// A claim.
    Claim(Box<Claim>),
}

/// A page of orders (Relay connection).
pub struct OrderConnection {
    edges: Vec<OrderEdge>,
    page_info: PageInfo,
    filter: OrderFilter,
}

/// An order and its cursor.
#[derive(SimpleObject)]
pub struct OrderEdge {
    /// Opaque position; pass to `after` / `before`.
    pub cursor: String,
    /// The order.
    pub node: Order,
}

/// Where a page sits in the whole list.
#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    /// More items after this page.
    pub has_next_page: bool,
    /// More items before this page.
    pub has_previous_page: bool,
    /// Cursor of the first edge.
    pub start_cursor: Option<String>,
    /// Cursor of the last edge.
    pub end_cursor: Option<String>,
}

#[Object]
impl OrderConnection {
    /// The orders of this page with their cursors.
    async fn edges(&self) -> &[OrderEdge] {
        &self.edges
    }

    /// The orders of this page.
    async fn nodes(&self) -> Vec<&Order> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Paging information.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many orders match the filters in all (one extra count query, only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        repo::orders::count_orders(app(ctx)?.db.conn(), &self.filter)
            .await
            .map_err(|e| to_graphql_error(e.into()))
    }
}

fn encode_cursor(c: &Cursor) -> String {
    let json = serde_json::to_vec(c).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The cursor `s` of a list sorted by `sort`. Its key goes to the database, so it must be one
/// this server could have made: a time for the placed-at order, an order number for the
/// order-number order.
fn decode_cursor(s: &str, sort: OrderSort) -> Result<Cursor> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
        .filter(|c| match sort {
            OrderSort::PlacedAt => DateTime::parse_from_rfc3339(&c.key).is_ok(),
            OrderSort::OrderNumber => text::is_key(&c.key, limit::ORDER_NUMBER),
        })
        .ok_or_else(|| {
            to_graphql_error(ServiceError::BadInput(format!(
                "`{s}` is not a cursor of this list"
            )))
        })
}

fn bad(msg: String) -> async_graphql::Error {
    to_graphql_error(ServiceError::BadInput(msg))
}

#[Object]
impl OrderQuery {
    /// Who the bearer token speaks for; null without a token.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<ViewerInfo> {
        let actor = viewer(ctx)?;
        let subject = match actor {
            Actor::Customer(id) => Some(super::ids::to_id(Kind::Customer, id)),
            Actor::Seller(id) => Some(super::ids::to_id(Kind::Seller, id)),
            Actor::Operator | Actor::Analyst | Actor::System => None,
        };
        Some(ViewerInfo {
            role: actor.role().into(),
            subject,
        })
    }

    /// One order by its number; null when it does not exist or the caller may not see it.
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "주문번호, e.g. `20261124-000123`. At most 40 characters, one line (a longer \
                    one, or one with a control character, finds nothing)."
        )]
        order_number: String,
    ) -> Result<Option<Order>> {
        let actor = require_actor(ctx)?;
        if !text::is_key(&order_number, limit::ORDER_NUMBER) {
            return Ok(None);
        }
        let app = app(ctx)?;
        let db = app.db.conn();
        let Some(o) = repo::orders::order_by_number(db, &order_number, false)
            .await
            .map_err(|e| to_graphql_error(e.into()))?
        else {
            return Ok(None);
        };
        Ok(can_see_order(db, actor, &o)
            .await
            .map_err(to_graphql_error)?
            .then_some(Order(o)))
    }

    /// Orders the caller may see, newest first by default: a customer its own, a seller those
    /// with its lines, staff all. Page size is capped (see the server's `--max-page-size`).
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start (or after `after`).")] first: Option<i32>,
        #[graphql(desc = "Cursor to start after. At most 200 characters.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (or before `before`).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before. At most 200 characters.")] before: Option<String>,
        #[graphql(desc = "Filters; all must hold.")] filter: Option<OrderFilterInput>,
        #[graphql(desc = "Sort; default newest placed first.")] order_by: Option<OrderOrderBy>,
    ) -> Result<OrderConnection> {
        let actor = require_actor(ctx)?;
        let app = app(ctx)?;
        let max = app.limits.max_page_size;
        let input = filter.unwrap_or_default();
        if let Some(n) = &input.order_number {
            text::argument("filter.orderNumber", n, limit::ORDER_NUMBER)?;
        }
        for (name, cursor) in [("after", &after), ("before", &before)] {
            if let Some(c) = cursor {
                text::argument(name, c, limit::CURSOR)?;
            }
        }
        let mut filter = OrderFilter {
            status: input
                .status
                .map(|s| domain::LineStatus::from(s).as_str().to_owned()),
            seller_id: input
                .seller_id
                .as_ref()
                .map(|id| parse(id, Kind::Seller))
                .transpose()
                .map_err(to_graphql_error)?,
            customer_id: input
                .customer_id
                .as_ref()
                .map(|id| parse(id, Kind::Customer))
                .transpose()
                .map_err(to_graphql_error)?,
            order_number: input.order_number,
            placed_from: input.placed_from,
            placed_to: input.placed_to,
        };
        // Scope by caller: a filter naming someone else's id simply finds nothing.
        match actor {
            Actor::Customer(id) => {
                if filter.customer_id.is_some_and(|c| c != id) {
                    filter.customer_id = Some(-1);
                } else {
                    filter.customer_id = Some(id);
                }
            }
            Actor::Seller(id) => {
                if filter.seller_id.is_some_and(|s| s != id) {
                    filter.seller_id = Some(-1);
                } else {
                    filter.seller_id = Some(id);
                }
            }
            Actor::Operator | Actor::Analyst | Actor::System => {}
        }
        let (sort, mut descending) = match order_by {
            None => (OrderSort::PlacedAt, true),
            Some(o) => (
                match o.field {
                    OrderSortField::PlacedAt => OrderSort::PlacedAt,
                    OrderSortField::OrderNumber => OrderSort::OrderNumber,
                },
                o.direction == SortDirection::Desc,
            ),
        };
        let check = |n: i32, name: &str| -> Result<u64> {
            if n < 0 || n as usize > max {
                Err(bad(format!(
                    "`{name}` must be between 0 and {max} (the maximum page size); got {n}"
                )))
            } else {
                Ok(n as u64)
            }
        };
        let backward = last.is_some() && first.is_none();
        let limit = match (first, last) {
            (Some(_), Some(_)) => return Err(bad("give `first` or `last`, not both".into())),
            (Some(n), None) => check(n, "first")?,
            (None, Some(n)) => check(n, "last")?,
            (None, None) => 20.min(max as u64),
        };
        let cursor = if backward {
            before.as_deref()
        } else {
            after.as_deref()
        };
        let cursor = cursor.map(|c| decode_cursor(c, sort)).transpose()?;
        if backward {
            descending = !descending;
        }
        let mut rows = repo::orders::page_orders(
            app.db.conn(),
            &filter,
            sort,
            descending,
            cursor.as_ref(),
            limit + 1,
        )
        .await
        .map_err(|e| to_graphql_error(e.into()))?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        if backward {
            rows.reverse();
        }
        let edges: Vec<OrderEdge> = rows
            .into_iter()
            .map(|o| OrderEdge {
                cursor: encode_cursor(&repo::orders::cursor_of(&o, sort)),
                node: Order(o),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: if backward { before.is_some() } else { more },
            has_previous_page: if backward { more } else { after.is_some() },
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(OrderConnection {
            edges,
            page_info,
            filter,
        })
    }

    /// Any object by global ID; null when it does not exist or the caller may not see it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID.")] id: ID,
    ) -> Result<Option<Node>> {
        let actor = require_actor(ctx)?;
        let app = app(ctx)?;
        let db = app.db.conn();
        let Some((kind, n)) = parse_any(&id) else {
            return Err(bad(format!("`{}` is not a global ID", id.as_str())));
        };
        let seller_scope = crate::service::orders::seller_scope(actor);
        let map = |e: sea_orm::DbErr| to_graphql_error(e.into());
        let visible_order = |order_id: i64| async move {
            match repo::orders::order_by_id(db, order_id, false)
                .await
                .map_err(map)?
            {
                Some(o) => Ok::<_, async_graphql::Error>(
                    can_see_order(db, actor, &o)
                        .await
                        .map_err(to_graphql_error)?
                        .then_some(o),
                ),
                None => Ok(None),
            }
        };
        Ok(match kind {
            Kind::Order => visible_order(n).await?.map(|o| Node::Order(Order(o))),
            Kind::OrderLine => {
                let line = repo::orders::lines_by_ids(db, &[n])
                    .await
                    .map_err(map)?
                    .into_iter()
                    .next();
                match line {
                    Some(l)
                        if seller_scope.is_none_or(|s| s == l.seller_id)
                            && visible_order(l.order_id).await?.is_some() =>
                    {
                        Some(Node::OrderLine(OrderLine(l)))
                    }
                    _ => None,
                }
            }
            Kind::Tender => {
                if seller_scope.is_some() {
                    None
                } else {
                    let t = entity::tender::Entity::find_by_id(n)
                        .one(db)
                        .await
                        .map_err(map)?;
                    match t {
                        Some(t) if visible_order(t.order_id).await?.is_some() => {
                            Some(Node::Tender(Tender(t)))
                        }
                        _ => None,
                    }
                }
            }
            Kind::Shipment => {
                let s = repo::orders::shipments_by_ids(db, &[n])
                    .await
                    .map_err(map)?
                    .into_iter()
                    .next();
                match s {
                    Some(s)
                        if seller_scope.is_none_or(|x| x == s.seller_id)
                            && visible_order(s.order_id).await?.is_some() =>
                    {
                        Some(Node::Shipment(Shipment(s)))
                    }
                    _ => None,
                }
            }
            Kind::Seller => repo::catalog::sellers_by_ids(db, &[n])
                .await
                .map_err(map)?
                .into_iter()
                .next()
                .map(|s| Node::Seller(Seller(s))),
            Kind::Customer => {
                let allowed = match actor {
                    Actor::Customer(id) => id == n,
                    Actor::Seller(_) => false,
                    Actor::Operator | Actor::Analyst | Actor::System => true,
                };
                if allowed {
                    repo::catalog::customers_by_ids(db, &[n])
                        .await
                        .map_err(map)?
                        .into_iter()
                        .next()
                        .map(|c| Node::Customer(Customer(c)))
                } else {
                    None
                }
            }
            Kind::Product => repo::catalog::products_by_ids(db, &[n])
                .await
                .map_err(map)?
                .into_iter()
                .next()
                .map(|p| Node::Product(Product(p))),
            Kind::ProductOption => entity::product_option::Entity::find_by_id(n)
                .one(db)
                .await
                .map_err(map)?
                .map(|o| Node::ProductOption(ProductOption(o))),
            Kind::Claim => repo::claims::claims_by_ids(db, &[n])
                .await
                .map_err(map)?
                .into_iter()
                .find(|c| super::claims::visible(actor, c))
                .map(|c| Node::Claim(Box::new(Claim(c)))),
            // Plugins, their failures and webhooks are read through `plugins`,
            // `pluginFailures` and `webhooks`, which scope them to their seller.
            Kind::Plugin | Kind::PluginFailure | Kind::Webhook => None,
        })
    }

    /// Every seller (판매자).
    async fn sellers(&self, ctx: &Context<'_>) -> Result<Vec<Seller>> {
        require_actor(ctx)?;
        Ok(repo::catalog::all_sellers(app(ctx)?.db.conn())
            .await
            .map_err(|e| to_graphql_error(e.into()))?
            .into_iter()
            .map(Seller)
            .collect())
    }

    /// Products, optionally of one seller, with their options.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this seller's products.")] seller_id: Option<ID>,
    ) -> Result<Vec<Product>> {
        require_actor(ctx)?;
        let seller = seller_id
            .as_ref()
            .map(|id| parse(id, Kind::Seller))
            .transpose()
            .map_err(to_graphql_error)?;
        Ok(repo::catalog::products(app(ctx)?.db.conn(), seller)
            .await
            .map_err(|e| to_graphql_error(e.into()))?
            .into_iter()
            .map(Product)
            .collect())
    }
}

use sea_orm::EntityTrait;
