//! Who is acting: the roles of `domain.md` ("Actors") and the identity a token carries.

use serde::{Deserialize, Serialize};

/// The role an actor plays. Every permission in the system is decided on this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// A shopper (고객): sees and claims its own orders.
    Customer,
    /// A merchant (판매자 / 협력사): sees its own lines and claims, ships, decides claims.
    Seller,
    /// Marketplace staff (운영자): everything, and approves sellers' holds and rejections.
    Operator,
    /// Reads everything, changes nothing.
    Analyst,
    /// The server itself: timers, courier tracking, refund retries.
    System,
}

/// An authenticated actor: a role, and for customers and sellers the id they act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A customer acting on its own orders.
    Customer(i64),
    /// A seller acting on its own lines, claims and plugins.
    Seller(i64),
    /// Marketplace staff.
    Operator,
    /// A read-only analyst.
    Analyst,
    /// The server's own jobs and adapters.
    System,
}

impl Actor {
    /// The role this actor plays.
    pub fn role(self) -> Role {
        match self {
            Actor::Customer(_) => Role::Customer,
            Actor::Seller(_) => Role::Seller,
            Actor::Operator => Role::Operator,
            Actor::Analyst => Role::Analyst,
            Actor::System => Role::System,
        }
    }

    /// True for roles that may change anything at all.
    pub fn may_write(self) -> bool {
        !matches!(self, Actor::Analyst)
    }

    /// What the actor may see.
    pub const fn scope(self) -> Scope {
        match self {
            Actor::Customer(id) => Scope::Customer(id),
            Actor::Seller(id) => Scope::Seller(id),
            Actor::Operator | Actor::Analyst | Actor::System => Scope::Everything,
        }
    }
}

/// What a caller may see (`api.md`, "Who is calling"): a customer its own orders and claims,
/// a seller its own lines, claims, plugins and webhooks, staff and the SYSTEM everything.
/// Whatever lies outside is "not found", never "forbidden". The one place this rule is
/// written: reads, lookups and mutations all ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Staff and the SYSTEM.
    Everything,
    /// A customer's own.
    Customer(i64),
    /// A seller's own.
    Seller(i64),
}

impl Scope {
    /// True when the caller may see an object that belongs to this customer and this seller
    /// (a claim, a line).
    pub const fn sees(self, customer_id: i64, seller_id: i64) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Customer(id) => id == customer_id,
            Scope::Seller(id) => id == seller_id,
        }
    }

    /// True when the caller may see an object that belongs to this seller alone (a plugin, a
    /// webhook): its seller and staff.
    pub const fn sees_seller(self, seller_id: i64) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Seller(id) => id == seller_id,
            Scope::Customer(_) => false,
        }
    }

    /// The seller the caller is limited to, if any.
    pub const fn seller(self) -> Option<i64> {
        match self {
            Scope::Seller(id) => Some(id),
            Scope::Everything | Scope::Customer(_) => None,
        }
    }

    /// The customer the caller is limited to, if any.
    pub const fn customer(self) -> Option<i64> {
        match self {
            Scope::Customer(id) => Some(id),
            Scope::Everything | Scope::Seller(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Actor, Scope};

    #[test]
    fn each_caller_sees_its_own_and_staff_see_everything() {
        let (customer, seller) = (7, 9);
        assert!(Actor::Customer(7).scope().sees(customer, seller));
        assert!(!Actor::Customer(8).scope().sees(customer, seller));
        assert!(Actor::Seller(9).scope().sees(customer, seller));
        assert!(!Actor::Seller(7).scope().sees(customer, seller));
        for staff in [Actor::Operator, Actor::Analyst, Actor::System] {
            assert_eq!(staff.scope(), Scope::Everything);
            assert!(staff.scope().sees(customer, seller));
            assert!(staff.scope().sees_seller(seller));
        }
        assert!(!Actor::Customer(9).scope().sees_seller(seller));
        assert_eq!(Actor::Seller(9).scope().seller(), Some(9));
        assert_eq!(Actor::Customer(7).scope().customer(), Some(7));
        assert_eq!(Actor::Operator.scope().seller(), None);
    }
}
