//! Payments through a real gateway (`domain.md`, `money.md` "Fee payments"):
//!
//! - a tender records what was deposited so far (`deposited_amount`: a short deposit is
//!   partial, not paid) and, for a virtual account the gateway issued, where to deposit
//!   (`va_*`) and the secret its deposit callbacks carry (`deposit_secret`);
//! - a payment key pays one thing: unique among tenders (many NULLs allowed);
//! - every order with cash to pay now waits for it, a card too, and `orders.deposited_at`
//!   reads "paid at". Card orders placed before this migration were charged at checkout: their
//!   orders get `deposited_at = placed_at`, and paid transfers their `deposited_amount`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000008_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        let columns = [
            big_integer(Tender::DepositedAmount).default(0).take(),
            string_null(Tender::VaBankCode),
            string_null(Tender::VaAccountNumber),
            string_null(Tender::VaCustomerName),
            timestamp_with_time_zone_null(Tender::VaDueAt),
            string_null(Tender::DepositSecret),
        ];
        for mut column in columns {
            m.alter_table(
                Table::alter()
                    .table(Tender::Table)
                    .add_column(&mut column)
                    .take(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name(KEY_INDEX)
                .table(Tender::Table)
                .col(Tender::GatewayReference)
                .unique()
                .take(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE orders SET deposited_at = placed_at \
             WHERE payment_method = 'CARD' AND deposited_at IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE tenders SET deposited_amount = amount \
             WHERE method = 'BANK_TRANSFER' AND status = 'PAID'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(KEY_INDEX)
                .table(Tender::Table)
                .to_owned(),
        )
        .await?;
        for column in [
            Tender::DepositSecret,
            Tender::VaDueAt,
            Tender::VaCustomerName,
            Tender::VaAccountNumber,
            Tender::VaBankCode,
            Tender::DepositedAmount,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Tender::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }
}

const KEY_INDEX: &str = "ux_tenders_gateway_reference";

#[derive(DeriveIden)]
enum Tender {
    #[sea_orm(iden = "tenders")]
    Table,
    GatewayReference,
    DepositedAmount,
    VaBankCode,
    VaAccountNumber,
    VaCustomerName,
    VaDueAt,
    DepositSecret,
}
