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

    /// What the actor may see, unnarrowed by any filter.
    pub fn scope(self) -> Scope {
        Scope::of(self, Asked::default())
    }
}

/// What a caller may see (`api.md`, "Who is calling"): a customer its own orders and claims,
/// a seller its own lines, claims, plugins and webhooks, staff and the SYSTEM everything.
/// Whatever lies outside is "not found", never "forbidden". The one place this rule is
/// written: lists, counts, lookups and mutations all ask it (`service::access` adds the checks
/// that need the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every row: staff and the server's own jobs.
    All,
    /// The rows of this customer.
    Customer(i64),
    /// The rows of this seller (of orders: those with a line of this seller).
    Seller(i64),
    /// No row at all: the caller asked for someone else's. Answered without a query.
    Nothing,
}

/// The customer and seller a list's filter asks for, if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// The customer the filter names.
    pub customer: Option<i64>,
    /// The seller the filter names.
    pub seller: Option<i64>,
}

impl Scope {
    /// What `actor` may read when its filter asks for `asked`: a customer or a seller its own
    /// rows, staff everything. Naming someone else's id finds nothing rather than an error, so
    /// that a list never tells a caller which ids exist.
    pub fn of(actor: Actor, asked: Asked) -> Scope {
        match actor {
            Actor::Customer(own) if asked.customer.is_some_and(|c| c != own) => Scope::Nothing,
            Actor::Customer(own) => Scope::Customer(own),
            Actor::Seller(own) if asked.seller.is_some_and(|s| s != own) => Scope::Nothing,
            Actor::Seller(own) => Scope::Seller(own),
            Actor::Operator | Actor::Analyst | Actor::System => Scope::All,
        }
    }

    /// True when a row of `customer` and `seller` (a claim: it has one of each) is in scope.
    pub fn covers(self, customer: i64, seller: i64) -> bool {
        match self {
            Scope::All => true,
            Scope::Customer(id) => id == customer,
            Scope::Seller(id) => id == seller,
            Scope::Nothing => false,
        }
    }

    /// The seller whose rows alone the caller sees, if any (a seller sees only its own lines
    /// of an order it shares with others).
    pub fn seller(self) -> Option<i64> {
        match self {
            Scope::Seller(id) => Some(id),
            Scope::All | Scope::Customer(_) | Scope::Nothing => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_asking_for_someone_elses_rows_gets_nothing() {
        let none = Asked::default();
        let other_customer = Asked {
            customer: Some(2),
            seller: None,
        };
        let other_seller = Asked {
            customer: None,
            seller: Some(8),
        };
        assert_eq!(Scope::of(Actor::Customer(1), none), Scope::Customer(1));
        assert_eq!(
            Scope::of(Actor::Customer(1), other_customer),
            Scope::Nothing
        );
        // A customer may narrow its own orders to a seller; the seller filter stays a filter.
        assert_eq!(
            Scope::of(Actor::Customer(1), other_seller),
            Scope::Customer(1)
        );
        assert_eq!(Scope::of(Actor::Seller(7), other_seller), Scope::Nothing);
        assert_eq!(
            Scope::of(Actor::Seller(7), other_customer),
            Scope::Seller(7)
        );
        for staff in [Actor::Operator, Actor::Analyst, Actor::System] {
            assert_eq!(Scope::of(staff, other_seller), Scope::All);
            assert_eq!(staff.scope(), Scope::All);
        }
        assert_eq!(Actor::Seller(7).scope().seller(), Some(7));
        assert_eq!(Actor::Customer(1).scope().seller(), None);
    }

    #[test]
    fn a_scope_covers_the_rows_of_its_owner() {
        assert!(Scope::All.covers(1, 2));
        assert!(Scope::Customer(1).covers(1, 2) && !Scope::Customer(1).covers(3, 2));
        assert!(Scope::Seller(2).covers(1, 2) && !Scope::Seller(2).covers(1, 3));
        assert!(!Scope::Nothing.covers(1, 2));
    }
}
