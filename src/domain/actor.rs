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
}
