//! `claims`: A claim (클레임): a cancel, return or exchange over units of one seller's lines.

use sea_orm::entity::prelude::*;

/// A claim (클레임): a cancel, return or exchange over units of one seller's lines.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub claim_number: String,
    pub order_id: i64,
    pub seller_id: i64,
    pub customer_id: i64,
    pub claim_type: String,
    pub status: String,
    pub reason: String,
    #[sea_orm(column_type = "Text")]
    pub memo: Option<String>,
    pub fault: String,
    pub hold_phase: String,
    pub hold_reason: Option<String>,
    pub hold_by: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub hold_memo: Option<String>,
    pub carries_collection: bool,
    pub rejected_from: Option<String>,
    pub rejection_code: Option<String>,
    pub collection_method: String,
    pub collection_courier: Option<String>,
    pub collection_tracking: Option<String>,
    pub reship_courier: Option<String>,
    pub reship_tracking: Option<String>,
    pub redelivery_courier: Option<String>,
    pub redelivery_tracking: Option<String>,
    pub converted_from_id: Option<i64>,
    pub converted_to_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub policy_decision: String,
    pub return_fee: i64,
    pub initial_shipping_applies: bool,
    pub coupon_clawback_applies: bool,
    pub exchange_fee: i64,
    pub fee_paid: i64,
    pub fee_credit: i64,
    pub restock: Option<bool>,
    pub requested_by: String,
    pub requested_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
