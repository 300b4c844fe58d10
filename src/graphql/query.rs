//! The query root: orders (one, a page, any node), the catalogue, and who is calling.

use async_graphql::{Context, InputObject, Interface, Object, Result, SimpleObject, ID};
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
use crate::repo::orders::{OrderFilter, OrderSort};
use crate::service::reads::{self, OrderList, Page, PageArgs, PageRequest};

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
    /// Who asked and what for: `totalCount` counts the same orders.
    actor: Actor,
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
        reads::count_orders(app(ctx)?, self.actor, &self.filter)
            .await
            .map_err(to_graphql_error)
    }
}

impl PageInfo {
    /// The page information of a page whose edges carry `cursor`s.
    pub fn of<T>(page: &Page<T>) -> PageInfo {
        PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page.edges.first().map(|e| e.cursor.clone()),
            end_cursor: page.edges.last().map(|e| e.cursor.clone()),
        }
    }
}

fn bad(msg: String) -> async_graphql::Error {
    to_graphql_error(ServiceError::BadInput(msg))
}

/// The orders list an `orders` request asks for: its filter's ids parsed, its sort (newest
/// placed first unless told otherwise).
fn order_list(input: OrderFilterInput, order_by: Option<OrderOrderBy>) -> Result<OrderList> {
    let id = |id: &Option<ID>, kind: Kind| {
        id.as_ref()
            .map(|id| parse(id, kind))
            .transpose()
            .map_err(to_graphql_error)
    };
    let filter = OrderFilter {
        status: input
            .status
            .map(|s| domain::LineStatus::from(s).as_str().to_owned()),
        seller_id: id(&input.seller_id, Kind::Seller)?,
        customer_id: id(&input.customer_id, Kind::Customer)?,
        order_number: input.order_number,
        placed_from: input.placed_from,
        placed_to: input.placed_to,
    };
    let (sort, descending) = match order_by {
        None => (OrderSort::PlacedAt, true),
        Some(o) => (
            match o.field {
                OrderSortField::PlacedAt => OrderSort::PlacedAt,
                OrderSortField::OrderNumber => OrderSort::OrderNumber,
            },
            o.direction == SortDirection::Desc,
        ),
    };
    Ok(OrderList {
        filter,
        sort,
        descending,
    })
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
        let o = reads::order_by_number(app(ctx)?, actor, &order_number)
            .await
            .map_err(to_graphql_error)?;
        Ok(o.map(Order))
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
        let input = filter.unwrap_or_default();
        if let Some(n) = &input.order_number {
            text::argument("filter.orderNumber", n, limit::ORDER_NUMBER)?;
        }
        for (name, cursor) in [("after", &after), ("before", &before)] {
            if let Some(c) = cursor {
                text::argument(name, c, limit::CURSOR)?;
            }
        }
        let list = order_list(input, order_by)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let req = PageRequest::new(args, app.limits.max_page_size).map_err(to_graphql_error)?;
        let page = reads::orders(app, actor, &list, &req)
            .await
            .map_err(to_graphql_error)?;
        let page_info = PageInfo::of(&page);
        let edges = page
            .edges
            .into_iter()
            .map(|e| OrderEdge {
                cursor: e.cursor,
                node: Order(e.node),
            })
            .collect();
        Ok(OrderConnection {
            edges,
            page_info,
            actor,
            filter: list.filter,
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
        let Some((kind, n)) = parse_any(&id) else {
            return Err(bad(format!("`{}` is not a global ID", id.as_str())));
        };
        let found = match kind {
            Kind::Order => reads::order(app, actor, n)
                .await
                .map(|o| o.map(|o| Node::Order(Order(o)))),
            Kind::OrderLine => reads::order_line(app, actor, n)
                .await
                .map(|l| l.map(|l| Node::OrderLine(OrderLine(l)))),
            Kind::Tender => reads::tender(app, actor, n)
                .await
                .map(|t| t.map(|t| Node::Tender(Tender(t)))),
            Kind::Shipment => reads::shipment(app, actor, n)
                .await
                .map(|s| s.map(|s| Node::Shipment(Shipment(s)))),
            Kind::Seller => reads::seller(app, n)
                .await
                .map(|s| s.map(|s| Node::Seller(Seller(s)))),
            Kind::Customer => reads::customer(app, actor, n)
                .await
                .map(|c| c.map(|c| Node::Customer(Customer(c)))),
            Kind::Product => reads::product(app, n)
                .await
                .map(|p| p.map(|p| Node::Product(Product(p)))),
            Kind::ProductOption => reads::product_option(app, n)
                .await
                .map(|o| o.map(|o| Node::ProductOption(ProductOption(o)))),
            Kind::Claim => reads::claim(app, actor, n)
                .await
                .map(|c| c.map(|c| Node::Claim(Box::new(Claim(c))))),
            // Plugins, their failures and webhooks are read through `plugins`,
            // `pluginFailures` and `webhooks`, which scope them to their seller.
            Kind::Plugin | Kind::PluginFailure | Kind::Webhook => Ok(None),
        };
        found.map_err(to_graphql_error)
    }

    /// Every seller (판매자).
    async fn sellers(&self, ctx: &Context<'_>) -> Result<Vec<Seller>> {
        require_actor(ctx)?;
        Ok(reads::sellers(app(ctx)?)
            .await
            .map_err(to_graphql_error)?
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
        Ok(reads::products(app(ctx)?, seller)
            .await
            .map_err(to_graphql_error)?
            .into_iter()
            .map(Product)
            .collect())
    }
}
