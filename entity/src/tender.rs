//! `tenders`: A payment of an order: card, bank transfer or points.

use sea_orm::entity::prelude::*;

/// A payment of an order: card, bank transfer or points.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub method: String,
    pub amount: i64,
    pub status: String,
    pub refunded_amount: i64,
    /// The gateway's key of the payment (Toss Payments' `paymentKey`), once confirmed or
    /// issued; refunds cancel it.
    pub gateway_reference: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// For a claim-fee payment (payClaimFee): its claim. None for the order's own payments.
    pub claim_id: Option<i64>,
    /// What was deposited so far (a bank transfer); a short deposit is partial, not paid.
    pub deposited_amount: i64,
    /// The bank of the virtual account the gateway issued, by its code.
    pub va_bank_code: Option<String>,
    /// The virtual account's number.
    pub va_account_number: Option<String>,
    /// The name the deposit is expected under.
    pub va_customer_name: Option<String>,
    /// The virtual account's deposit deadline.
    pub va_due_at: Option<DateTimeUtc>,
    /// The secret the gateway's deposit callbacks for this payment carry. Never shown.
    pub deposit_secret: Option<String>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
