//! Reading lists a page at a time: whose rows a caller may read ([`Scope`]) and where a page
//! starts ([`Cursor`]). The service layer encodes cursors and checks page sizes
//! (`service::reads`); the repo turns a scope into a `WHERE`.

use serde::{Deserialize, Serialize};

use super::actor::Actor;

/// Whose rows a read may return, decided once from the caller so that no list, count or lookup
/// decides it again (and none needs a made-up id to mean "no one").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// A position in a list sorted by a key and then by id: where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key's value as text (an RFC 3339 time, an order number); absent in a list the
    /// id alone orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The row's id, breaking ties of the key.
    pub id: i64,
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
        }
    }

    #[test]
    fn a_scope_covers_the_rows_of_its_owner() {
        assert!(Scope::All.covers(1, 2));
        assert!(Scope::Customer(1).covers(1, 2) && !Scope::Customer(1).covers(3, 2));
        assert!(Scope::Seller(2).covers(1, 2) && !Scope::Seller(2).covers(1, 3));
        assert!(!Scope::Nothing.covers(1, 2));
    }

    #[test]
    fn a_cursor_without_a_key_leaves_it_out() {
        let json = |c: &Cursor| serde_json::to_string(c).unwrap_or_default();
        assert_eq!(json(&Cursor { key: None, id: 3 }), r#"{"id":3}"#);
        let keyed = Cursor {
            key: Some("20261124-000001".into()),
            id: 3,
        };
        assert_eq!(json(&keyed), r#"{"key":"20261124-000001","id":3}"#);
    }
}
