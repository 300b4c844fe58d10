//! `customers`: A shopper, its points balance and its refund account (환불계좌).

use sea_orm::entity::prelude::*;

/// A shopper, its points balance and its refund account (환불계좌).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub email: String,
    /// Mobile number for 알림톡 notifications.
    pub phone: Option<String>,
    pub points_balance: i64,
    pub refund_bank: Option<String>,
    pub refund_account_number: Option<String>,
    pub refund_account_holder: Option<String>,
    /// The subject (`sub`) the marketplace's identity provider gives this account, when one
    /// is linked: its tokens act as this account. Unique.
    pub external_id: Option<String>,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
