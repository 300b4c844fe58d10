//! Global object IDs (`gid://oms/Order/42`): readable in GraphiQL, opaque to clients, and the
//! key of `node(id:)`.

use async_graphql::ID;

use crate::error::ServiceError;

/// The kinds of object that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An order.
    Order,
    /// An order line.
    OrderLine,
    /// A tender.
    Tender,
    /// A shipment.
    Shipment,
    /// A seller.
    Seller,
    /// A customer.
    Customer,
    /// A product.
    Product,
    /// A product option.
    ProductOption,
    /// A claim (cancellation, return or exchange).
    Claim,
    /// A seller's policy plugin (one uploaded version).
    Plugin,
    /// A failed plugin evaluation.
    PluginFailure,
    /// A seller's webhook endpoint.
    Webhook,
}

impl Kind {
    const ALL: [Kind; 12] = [
        Kind::Order,
        Kind::OrderLine,
        Kind::Tender,
        Kind::Shipment,
        Kind::Seller,
        Kind::Customer,
        Kind::Product,
        Kind::ProductOption,
        Kind::Claim,
        Kind::Plugin,
        Kind::PluginFailure,
        Kind::Webhook,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Order => "Order",
            Kind::OrderLine => "OrderLine",
            Kind::Tender => "Tender",
            Kind::Shipment => "Shipment",
            Kind::Seller => "Seller",
            Kind::Customer => "Customer",
            Kind::Product => "Product",
            Kind::ProductOption => "ProductOption",
            Kind::Claim => "Claim",
            Kind::Plugin => "Plugin",
            Kind::PluginFailure => "PluginFailure",
            Kind::Webhook => "Webhook",
        }
    }
}

/// The global ID of an object.
pub fn to_id(kind: Kind, id: i64) -> ID {
    ID(format!("gid://oms/{}/{id}", kind.name()))
}

/// Parses any global ID.
pub fn parse_any(id: &ID) -> Option<(Kind, i64)> {
    let rest = id.as_str().strip_prefix("gid://oms/")?;
    let (kind, num) = rest.split_once('/')?;
    let kind = Kind::ALL.into_iter().find(|k| k.name() == kind)?;
    Some((kind, num.parse().ok()?))
}

/// Parses a global ID that must be of `kind`.
pub fn parse(id: &ID, kind: Kind) -> Result<i64, ServiceError> {
    match parse_any(id) {
        Some((k, n)) if k == kind => Ok(n),
        _ => {
            // Quote at most a short prefix: the value is the caller's, of any length.
            let shown: String = id.as_str().chars().take(64).collect();
            let more = if shown.len() < id.as_str().len() {
                "…"
            } else {
                ""
            };
            let name = kind.name();
            let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
                "an"
            } else {
                "a"
            };
            Err(ServiceError::BadInput(format!(
                "`{shown}{more}` is not {article} {name} id (expected gid://oms/{name}/<number>)"
            )))
        }
    }
}
