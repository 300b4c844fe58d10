//! `sellers`: A merchant (판매자) and its shipping settings; orders copy them at checkout.

use sea_orm::entity::prelude::*;

/// A merchant (판매자) and its shipping settings; orders copy them at checkout.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sellers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub base_shipping_fee: i64,
    pub free_shipping_threshold: i64,
    pub return_fee: i64,
    /// Where the seller's notifications go.
    pub email: Option<String>,
    /// The seller's mobile number for 알림톡.
    pub phone: Option<String>,
    /// The subject (`sub`) the marketplace's identity provider gives this account, when one
    /// is linked: its tokens act as this account. Unique.
    pub external_id: Option<String>,
    pub created_at: DateTimeUtc,
    /// 사업자등록번호, `123-45-67890` (sellers onboarded before it was asked have none).
    pub business_number: Option<String>,
    /// Where returns are sent (반품지).
    pub return_address: Option<String>,
    /// The courier the seller ships with unless it names another.
    pub default_courier: Option<String>,
    /// Set while the seller is suspended: no new orders of its products.
    pub suspended_at: Option<DateTimeUtc>,
    /// Why it was suspended, for staff.
    pub suspension_reason: Option<String>,
    /// Bumped by every change of the seller's details or terms (`expectedVersion`).
    pub version: i32,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
