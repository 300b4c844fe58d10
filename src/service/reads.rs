//! The read side, written once for every connection and lookup: a [`PageRequest`] checks the
//! page size, one opaque cursor format serves every list, and whose rows a caller reads is the
//! [`Scope`] of its [`Actor`]. Resolvers parse their arguments, call these and map the rows.

use base64::Engine;
use entity::{
    claim, customer, order, order_line, product, product_option, seller, shipment, tender,
};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::actor::{Asked, Scope};
use crate::domain::page::Cursor;
use crate::domain::text as limit;
use crate::error::ServiceError;
use crate::repo;
use crate::repo::claims::ClaimFilter;
use crate::repo::orders::{OrderFilter, OrderPage, OrderSort};
use crate::service::access::{can_see_claim, can_see_order};

/// The page size when the client gives neither `first` nor `last` (at most the maximum).
const DEFAULT_PAGE_SIZE: u64 = 20;

/// The Relay paging arguments as the client gave them (a list without `last` and `before`
/// leaves them out).
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Page size from the start (or after `after`).
    pub first: Option<i32>,
    /// Cursor to start after.
    pub after: Option<String>,
    /// Page size from the end (or before `before`).
    pub last: Option<i32>,
    /// Cursor to end before.
    pub before: Option<String>,
}

/// A checked page request: how many rows, from which end, from which cursor.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows on the page.
    size: u64,
    /// `last` / `before`: read from the end, in the reverse of the list's direction.
    backward: bool,
    /// The cursor to start from (still encoded; the list knows which keys it accepts).
    cursor: Option<String>,
}

/// A page of rows with their cursors.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows in the list's order, each with its cursor.
    pub edges: Vec<Edge<T>>,
    /// More rows after this page.
    pub has_next_page: bool,
    /// More rows before this page.
    pub has_previous_page: bool,
}

/// One row of a page and its cursor.
#[derive(Debug, Clone)]
pub struct Edge<T> {
    /// Opaque position of the row.
    pub cursor: String,
    /// The row.
    pub node: T,
}

impl PageRequest {
    /// Checks the paging arguments: `first` or `last` (not both) between 0 and `max`, the
    /// server's `--max-page-size`.
    pub fn new(args: PageArgs, max: usize) -> Result<PageRequest, ServiceError> {
        let check = |n: i32, name: &str| -> Result<u64, ServiceError> {
            match u64::try_from(n) {
                Ok(size) if n as usize <= max => Ok(size),
                Ok(_) | Err(_) => Err(ServiceError::BadInput(format!(
                    "`{name}` must be between 0 and {max} (the maximum page size); got {n}"
                ))),
            }
        };
        let size = match (args.first, args.last) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::BadInput(
                    "give `first` or `last`, not both".into(),
                ))
            }
            (Some(n), None) => check(n, "first")?,
            (None, Some(n)) => check(n, "last")?,
            (None, None) => DEFAULT_PAGE_SIZE.min(max as u64),
        };
        let backward = args.last.is_some() && args.first.is_none();
        // Reading forward `before` is not used, nor `after` reading backward.
        let cursor = if backward { args.before } else { args.after };
        Ok(PageRequest {
            size,
            backward,
            cursor,
        })
    }

    /// The decoded cursor to start from, if one was given; `fits` says whether its key is one
    /// this list could have made (its key goes to the database).
    fn start(&self, fits: impl Fn(&Cursor) -> bool) -> Result<Option<Cursor>, ServiceError> {
        let Some(s) = &self.cursor else {
            return Ok(None);
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
            .filter(fits)
            .map(Some)
            .ok_or_else(|| ServiceError::BadInput(format!("`{s}` is not a cursor of this list")))
    }

    /// Rows to ask the database for: one more than the page says whether there are more.
    fn fetch(&self) -> u64 {
        self.size + 1
    }

    /// The direction to read in for a list that runs `descending`.
    fn descending(&self, descending: bool) -> bool {
        descending != self.backward
    }

    /// The page out of the rows fetched (at most [`fetch`](Self::fetch)), in the list's order.
    fn page<T>(&self, mut rows: Vec<T>, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let more = rows.len() as u64 > self.size;
        rows.truncate(usize::try_from(self.size).unwrap_or(usize::MAX));
        if self.backward {
            rows.reverse();
        }
        let edges = rows
            .into_iter()
            .map(|node| Edge {
                cursor: encode_cursor(&cursor_of(&node)),
                node,
            })
            .collect();
        // Behind the cursor the page started from lie rows; past its far end, `more` says.
        let behind = self.cursor.is_some();
        let (has_next_page, has_previous_page) = if self.backward {
            (behind, more)
        } else {
            (more, behind)
        };
        Page {
            edges,
            has_next_page,
            has_previous_page,
        }
    }
}

/// The one cursor format of every connection: the [`Cursor`] as JSON, base64url without
/// padding. Clients treat it as opaque.
fn encode_cursor(c: &Cursor) -> String {
    let json = serde_json::to_vec(c).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Which orders, in which order.
#[derive(Debug, Clone)]
pub struct OrderList {
    /// The filters; all must hold.
    pub filter: OrderFilter,
    /// The sort key.
    pub sort: OrderSort,
    /// Largest key first.
    pub descending: bool,
}

/// The orders `actor` may read: a customer its own, a seller those with its lines, staff all.
fn order_scope(actor: Actor, filter: &OrderFilter) -> Scope {
    let asked = Asked {
        customer: filter.customer_id,
        seller: filter.seller_id,
    };
    Scope::of(actor, asked)
}

/// Whether a cursor's key is one an orders list sorted by `sort` makes: a time for the
/// placed-at order, an order number for the order-number order.
fn order_key_fits(sort: OrderSort, c: &Cursor) -> bool {
    let Some(key) = &c.key else {
        return false;
    };
    match sort {
        OrderSort::PlacedAt => chrono::DateTime::parse_from_rfc3339(key).is_ok(),
        OrderSort::OrderNumber => limit::ORDER_NUMBER.check(key).is_ok(),
    }
}

/// A page of the orders `actor` may read.
pub async fn orders(
    app: &App,
    actor: Actor,
    list: &OrderList,
    req: &PageRequest,
) -> Result<Page<order::Model>, ServiceError> {
    let scope = order_scope(actor, &list.filter);
    let after = req.start(|c| order_key_fits(list.sort, c))?;
    let page = OrderPage {
        sort: list.sort,
        descending: req.descending(list.descending),
        after: after.as_ref(),
        limit: req.fetch(),
    };
    let rows = repo::orders::page_orders(app.db.conn(), scope, &list.filter, page).await?;
    Ok(req.page(rows, |o| repo::orders::cursor_of(o, list.sort)))
}

/// How many orders `actor` may read match the filter.
pub async fn count_orders(
    app: &App,
    actor: Actor,
    filter: &OrderFilter,
) -> Result<u64, ServiceError> {
    let scope = order_scope(actor, filter);
    Ok(repo::orders::count_orders(app.db.conn(), scope, filter).await?)
}

/// A newest-first page of the claims `actor` may read: a customer its own, a seller its own,
/// staff all.
pub async fn claims(
    app: &App,
    actor: Actor,
    filter: &ClaimFilter,
    req: &PageRequest,
) -> Result<Page<claim::Model>, ServiceError> {
    let asked = Asked {
        customer: None,
        seller: filter.seller_id,
    };
    let scope = Scope::of(actor, asked);
    // The id alone orders the claims: a cursor with a key is another list's.
    let before = req.start(|c| c.key.is_none())?.map(|c| c.id);
    let rows = repo::claims::page_claims(app.db.conn(), scope, filter, before, req.fetch()).await?;
    Ok(req.page(rows, |c| Cursor {
        key: None,
        id: c.id,
    }))
}

/// The order `id`, if `actor` may see it.
pub async fn order(app: &App, actor: Actor, id: i64) -> Result<Option<order::Model>, ServiceError> {
    let db = app.db.conn();
    let Some(o) = repo::orders::order_by_id(db, id, false).await? else {
        return Ok(None);
    };
    Ok(can_see_order(db, actor, &o).await?.then_some(o))
}

/// The order line `id`, if `actor` may see it (a seller: only its own lines).
pub async fn order_line(
    app: &App,
    actor: Actor,
    id: i64,
) -> Result<Option<order_line::Model>, ServiceError> {
    let line = repo::orders::lines_by_ids(app.db.conn(), &[id])
        .await?
        .into_iter()
        .next();
    match line {
        Some(l) if actor.scope().seller().is_none_or(|s| s == l.seller_id) => {
            Ok(order(app, actor, l.order_id).await?.map(|_| l))
        }
        Some(_) | None => Ok(None),
    }
}

/// The tender `id`, if `actor` may see it (never a seller: payments are the customer's).
pub async fn tender(
    app: &App,
    actor: Actor,
    id: i64,
) -> Result<Option<tender::Model>, ServiceError> {
    if actor.scope().seller().is_some() {
        return Ok(None);
    }
    match repo::orders::tender_by_id(app.db.conn(), id).await? {
        Some(t) => Ok(order(app, actor, t.order_id).await?.map(|_| t)),
        None => Ok(None),
    }
}

/// The shipment `id`, if `actor` may see it (a seller: only its own).
pub async fn shipment(
    app: &App,
    actor: Actor,
    id: i64,
) -> Result<Option<shipment::Model>, ServiceError> {
    let found = repo::orders::shipments_by_ids(app.db.conn(), &[id])
        .await?
        .into_iter()
        .next();
    match found {
        Some(s) if actor.scope().seller().is_none_or(|x| x == s.seller_id) => {
            Ok(order(app, actor, s.order_id).await?.map(|_| s))
        }
        Some(_) | None => Ok(None),
    }
}

/// The customer `id`, if `actor` may see it: a customer itself, staff any, a seller none.
pub async fn customer(
    app: &App,
    actor: Actor,
    id: i64,
) -> Result<Option<customer::Model>, ServiceError> {
    let allowed = match actor {
        Actor::Customer(own) => own == id,
        Actor::Seller(_) => false,
        Actor::Operator | Actor::Analyst | Actor::System => true,
    };
    if !allowed {
        return Ok(None);
    }
    Ok(repo::catalog::customers_by_ids(app.db.conn(), &[id])
        .await?
        .into_iter()
        .next())
}

/// The seller `id` (the catalogue is public to every caller).
pub async fn seller(app: &App, id: i64) -> Result<Option<seller::Model>, ServiceError> {
    Ok(repo::catalog::sellers_by_ids(app.db.conn(), &[id])
        .await?
        .into_iter()
        .next())
}

/// The product `id` (the catalogue is public to every caller).
pub async fn product(app: &App, id: i64) -> Result<Option<product::Model>, ServiceError> {
    Ok(repo::catalog::products_by_ids(app.db.conn(), &[id])
        .await?
        .into_iter()
        .next())
}

/// The product option `id` (the catalogue is public to every caller).
pub async fn product_option(
    app: &App,
    id: i64,
) -> Result<Option<product_option::Model>, ServiceError> {
    Ok(repo::catalog::option_by_id(app.db.conn(), id).await?)
}

/// The order numbered `number`, if `actor` may see it. A number over its limit names nothing.
pub async fn order_by_number(
    app: &App,
    actor: Actor,
    number: &str,
) -> Result<Option<order::Model>, ServiceError> {
    if limit::ORDER_NUMBER.check(number).is_err() {
        return Ok(None);
    }
    let db = app.db.conn();
    let Some(o) = repo::orders::order_by_number(db, number, false).await? else {
        return Ok(None);
    };
    Ok(can_see_order(db, actor, &o).await?.then_some(o))
}

/// The claim numbered `number`, if `actor` may see it. A number over its limit names nothing.
pub async fn claim_by_number(
    app: &App,
    actor: Actor,
    number: &str,
) -> Result<Option<claim::Model>, ServiceError> {
    if limit::CLAIM_NUMBER.check(number).is_err() {
        return Ok(None);
    }
    let found = repo::claims::claim_by_number(app.db.conn(), number).await?;
    Ok(found.filter(|c| can_see_claim(actor, c)))
}

/// The order a mutation has just written: the caller was allowed to, so it is not checked
/// again.
pub async fn written_order(app: &App, id: i64) -> Result<Option<order::Model>, ServiceError> {
    Ok(repo::orders::order_by_id(app.db.conn(), id, false).await?)
}

/// The claim a mutation has just written (or a replay answers with), unchecked likewise.
pub async fn written_claim(app: &App, id: i64) -> Result<Option<claim::Model>, ServiceError> {
    let found = repo::claims::claims_by_ids(app.db.conn(), &[id]).await?;
    Ok(found.into_iter().next())
}

/// The order lines a claim covers, as they are now.
pub async fn lines_of_claim(
    app: &App,
    claim_id: i64,
) -> Result<Vec<order_line::Model>, ServiceError> {
    let db = app.db.conn();
    let items = repo::claims::items_of_claims(db, &[claim_id]).await?;
    let ids: Vec<i64> = items.iter().map(|i| i.line_id).collect();
    Ok(repo::orders::lines_by_ids(db, &ids).await?)
}

/// Every seller (the catalogue is public to every caller).
pub async fn sellers(app: &App) -> Result<Vec<seller::Model>, ServiceError> {
    Ok(repo::catalog::all_sellers(app.db.conn()).await?)
}

/// Products, of one seller or all (the catalogue is public to every caller).
pub async fn products(app: &App, seller: Option<i64>) -> Result<Vec<product::Model>, ServiceError> {
    Ok(repo::catalog::products(app.db.conn(), seller).await?)
}

/// True when the seller exists.
pub async fn seller_exists(app: &App, id: i64) -> Result<bool, ServiceError> {
    Ok(!repo::catalog::sellers_by_ids(app.db.conn(), &[id])
        .await?
        .is_empty())
}

/// The claim `id`, if `actor` may see it.
pub async fn claim(app: &App, actor: Actor, id: i64) -> Result<Option<claim::Model>, ServiceError> {
    let found = repo::claims::claims_by_ids(app.db.conn(), &[id]).await?;
    Ok(found.into_iter().find(|c| can_see_claim(actor, c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(first: Option<i32>, last: Option<i32>) -> PageArgs {
        PageArgs {
            first,
            last,
            ..PageArgs::default()
        }
    }

    fn refusal(r: Result<PageRequest, ServiceError>) -> String {
        match r {
            Err(ServiceError::BadInput(m)) => m,
            other => format!("not a refusal: {other:?}"),
        }
    }

    #[test]
    fn page_sizes_are_checked_against_the_maximum() {
        assert_eq!(
            refusal(PageRequest::new(args(Some(101), None), 100)),
            "`first` must be between 0 and 100 (the maximum page size); got 101"
        );
        assert_eq!(
            refusal(PageRequest::new(args(None, Some(-1)), 100)),
            "`last` must be between 0 and 100 (the maximum page size); got -1"
        );
        assert_eq!(
            refusal(PageRequest::new(args(Some(1), Some(1)), 100)),
            "give `first` or `last`, not both"
        );
        let size = |a, max| PageRequest::new(a, max).map(|r| r.size).ok();
        assert_eq!(size(args(None, None), 100), Some(20));
        assert_eq!(size(args(None, None), 10), Some(10));
        assert_eq!(size(args(Some(0), None), 100), Some(0));
    }

    #[test]
    fn a_cursor_reads_back_and_a_foreign_one_is_refused() {
        let c = Cursor {
            key: Some("20261124-000001".into()),
            id: 7,
        };
        let req = |after: String| {
            PageRequest::new(
                PageArgs {
                    after: Some(after),
                    ..PageArgs::default()
                },
                100,
            )
        };
        let start = req(encode_cursor(&c)).and_then(|r| r.start(|c| c.key.is_some()));
        assert_eq!(start.ok().flatten(), Some(c.clone()));
        let keyless = req(encode_cursor(&c)).and_then(|r| r.start(|c| c.key.is_none()));
        assert!(
            matches!(keyless, Err(ServiceError::BadInput(m)) if m.ends_with("is not a cursor of this list"))
        );
        let garbage = req("not base64!".into()).and_then(|r| r.start(|_| true));
        assert!(garbage.is_err());
    }

    #[test]
    fn a_page_knows_what_lies_beyond_it() {
        let cursor = |n: &i64| Cursor { key: None, id: *n };
        let forward =
            PageRequest::new(args(Some(2), None), 100).map(|r| r.page(vec![1, 2, 3], cursor));
        let forward = forward.ok().map(|p| {
            (
                p.edges.iter().map(|e| e.node).collect::<Vec<_>>(),
                p.has_next_page,
                p.has_previous_page,
            )
        });
        assert_eq!(forward, Some((vec![1, 2], true, false)));
        // Backward the rows come largest-first and are turned round.
        let back = PageArgs {
            last: Some(2),
            before: Some(encode_cursor(&Cursor { key: None, id: 9 })),
            ..PageArgs::default()
        };
        let back = PageRequest::new(back, 100).map(|r| r.page(vec![8, 7], cursor));
        let back = back.ok().map(|p| {
            (
                p.edges.iter().map(|e| e.node).collect::<Vec<_>>(),
                p.has_next_page,
                p.has_previous_page,
            )
        });
        assert_eq!(back, Some((vec![7, 8], true, false)));
    }
}
