//! Orders as the API shows them, scoped to the viewer: a seller sees only its own lines,
//! shipping groups and shipments of an order, and no order-wide money.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{
    customer, order, order_coupon, order_line, order_shipping_group, seller, shipment, tender,
};

use super::claim::Claim;
use super::claim_enums::PaymentRole;
use super::enums::{LineStatus, PaymentMethod, TenderMethod, TenderStatus};
use crate::domain::actor::Actor;
use crate::domain::money::Won;
use crate::graphql::ids::{to_id, Kind};
use crate::graphql::loaders::{
    ClaimId, CouponOf, CustomerId, GroupsOf, LinesOf, SellerId, ShipmentsOf, TendersOf,
};
use crate::graphql::{corrupt, load, loaders, viewer};
use crate::repo::stored::{StoredLine, StoredOrder, StoredTender};

/// An order (주문): one checkout by one customer.
pub struct Order(pub order::Model);

impl Order {
    /// False for a SELLER, who sees only its own lines: no order-wide money, no payments.
    pub(super) fn sees_money(ctx: &Context<'_>) -> bool {
        !matches!(viewer(ctx), Some(Actor::Seller(_)))
    }

    fn money(ctx: &Context<'_>, amount: i64) -> Option<Won> {
        Self::sees_money(ctx).then_some(Won::new(amount))
    }
}

#[Object]
impl Order {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::Order, self.0.id)
    }

    /// 주문번호, `YYYYMMDD-NNNNNN`: unique, sorts by time.
    async fn order_number(&self) -> &str {
        &self.0.order_number
    }

    /// The least advanced status among the lines the order still has active.
    async fn status(&self) -> Result<LineStatus> {
        Ok(self.0.status().map_err(corrupt)?.into())
    }

    /// Card or bank transfer.
    async fn payment_method(&self) -> Result<PaymentMethod> {
        Ok(self.0.payment_method().map_err(corrupt)?.into())
    }

    /// When it was placed.
    async fn placed_at(&self) -> DateTime<Utc> {
        self.0.placed_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Increases with every change; pass it as `expectedVersion` to refuse stale writes.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Who ordered.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        Ok(load(
            loaders(ctx)?
                .sellers
                .load_one(CustomerId(self.0.customer_id))
                .await,
        )?
        .map(Customer))
    }

    /// Σ line nets (상품금액 after the sellers' discounts). Null for a SELLER, who sees only its
    /// own lines.
    async fn items_total(&self, ctx: &Context<'_>) -> Option<Won> {
        Order::money(ctx, self.0.items_net)
    }

    /// The coupon discount (쿠폰 할인). Null for a SELLER.
    async fn coupon_discount(&self, ctx: &Context<'_>) -> Option<Won> {
        Order::money(ctx, self.0.coupon_amount)
    }

    /// Points used (적립금 사용). Null for a SELLER.
    async fn points_used(&self, ctx: &Context<'_>) -> Option<Won> {
        Order::money(ctx, self.0.points_used)
    }

    /// Σ shipping fees charged at checkout (배송비). Null for a SELLER.
    async fn shipping_total(&self, ctx: &Context<'_>) -> Option<Won> {
        Order::money(ctx, self.0.shipping_total)
    }

    /// Cash charged or due (card or transfer): Σ line cash + shipping. Null for a SELLER.
    async fn cash_total(&self, ctx: &Context<'_>) -> Option<Won> {
        Order::money(ctx, self.0.cash_total)
    }

    /// 총 결제금액: items − coupon + shipping (cash plus points). Null for a SELLER.
    async fn total_amount(&self, ctx: &Context<'_>) -> Option<Won> {
        Order::money(
            ctx,
            self.0.items_net - self.0.coupon_amount + self.0.shipping_total,
        )
    }

    /// What the order still owes: its cash until the card payment is confirmed or the
    /// deposit arrives in full, 0 after. The payment widget is opened with this amount.
    /// Null for a SELLER.
    async fn amount_due(&self, ctx: &Context<'_>) -> Option<Won> {
        Order::money(ctx, self.0.amount_due)
    }

    /// 결제·입금 기한: when the order is cancelled if still unpaid (a card order
    /// `--card-payment-minutes` after placing; a bank transfer `--deposit-deadline-hours` after,
    /// or its virtual account's due date). Null once the order waits for no payment.
    async fn deposit_deadline(&self) -> Option<DateTime<Utc>> {
        let awaiting = self.0.status == crate::domain::order::LineStatus::AwaitingPayment.as_str();
        self.0.deposit_deadline.filter(|_| awaiting)
    }

    /// When the order was paid in full: the card payment confirmed, the deposit arrived, or
    /// at placing for an order paid with points alone.
    async fn deposited_at(&self) -> Option<DateTime<Utc>> {
        self.0.deposited_at
    }

    /// The lines the viewer may see (a seller: its own), in cart order.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        Ok(
            load(loaders(ctx)?.lines.load_one(LinesOf(self.0.id)).await)?
                .unwrap_or_default()
                .into_iter()
                .map(OrderLine)
                .collect(),
        )
    }

    /// Payments: the card or transfer and the points, then any claim fee payments
    /// (`role: FEE`, each naming its claim). Empty for a SELLER.
    async fn tenders(&self, ctx: &Context<'_>) -> Result<Vec<Tender>> {
        if !Order::sees_money(ctx) {
            return Ok(Vec::new());
        }
        Ok(
            load(loaders(ctx)?.lines.load_one(TendersOf(self.0.id)).await)?
                .unwrap_or_default()
                .into_iter()
                .map(Tender)
                .collect(),
        )
    }

    /// The order coupon, if one was used. Null for a SELLER.
    async fn coupon(&self, ctx: &Context<'_>) -> Result<Option<OrderCoupon>> {
        if !Order::sees_money(ctx) {
            return Ok(None);
        }
        Ok(load(loaders(ctx)?.lines.load_one(CouponOf(self.0.id)).await)?.map(OrderCoupon))
    }

    /// One shipping group (묶음배송) per seller, with the settings copied at checkout.
    async fn shipping_groups(&self, ctx: &Context<'_>) -> Result<Vec<ShippingGroup>> {
        Ok(
            load(loaders(ctx)?.lines.load_one(GroupsOf(self.0.id)).await)?
                .unwrap_or_default()
                .into_iter()
                .map(ShippingGroup)
                .collect(),
        )
    }

    /// Claims on this order the viewer may see (a seller: its own), oldest first.
    async fn claims(&self, ctx: &Context<'_>) -> Result<Vec<super::claim::Claim>> {
        Ok(load(
            loaders(ctx)?
                .lines
                .load_one(crate::graphql::loaders::ClaimsOf(self.0.id))
                .await,
        )?
        .unwrap_or_default()
        .into_iter()
        .map(super::claim::Claim)
        .collect())
    }

    /// Parcels sent for this order.
    async fn shipments(&self, ctx: &Context<'_>) -> Result<Vec<Shipment>> {
        Ok(
            load(loaders(ctx)?.lines.load_one(ShipmentsOf(self.0.id)).await)?
                .unwrap_or_default()
                .into_iter()
                .map(Shipment)
                .collect(),
        )
    }
}

/// One product option in an order (주문상품), with the checkout allocations of `money.md`.
pub struct OrderLine(pub order_line::Model);

#[Object]
impl OrderLine {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::OrderLine, self.0.id)
    }

    /// Position in the order, from 1.
    async fn line_number(&self) -> i32 {
        self.0.line_no
    }

    /// The seller who ships it.
    async fn seller(&self, ctx: &Context<'_>) -> Result<Option<Seller>> {
        Ok(load(
            loaders(ctx)?
                .sellers
                .load_one(SellerId(self.0.seller_id))
                .await,
        )?
        .map(Seller))
    }

    /// The product's ID.
    async fn product_id(&self) -> ID {
        to_id(Kind::Product, self.0.product_id)
    }

    /// The option's ID.
    async fn option_id(&self) -> ID {
        to_id(Kind::ProductOption, self.0.option_id)
    }

    /// Product name at checkout.
    async fn product_name(&self) -> &str {
        &self.0.product_name
    }

    /// Option name at checkout (size, colour).
    async fn option_name(&self) -> &str {
        &self.0.option_name
    }

    /// Price of one unit.
    async fn unit_price(&self) -> Won {
        Won::new(self.0.unit_price)
    }

    /// Units ordered.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// The seller's instant discount on the line (즉시할인).
    async fn line_discount(&self) -> Won {
        Won::new(self.0.line_discount)
    }

    /// Set (세트) the line belongs to, if any.
    async fn bundle_id(&self) -> Option<&str> {
        self.0.bundle_id.as_deref()
    }

    /// unit price × quantity − line discount.
    async fn net(&self) -> Won {
        Won::new(self.0.net)
    }

    /// The line's share of the order coupon (largest remainder).
    async fn coupon_share(&self) -> Won {
        Won::new(self.0.coupon_share)
    }

    /// The line's share of the points used.
    async fn points_share(&self) -> Won {
        Won::new(self.0.points_share)
    }

    /// What the card or transfer paid for the line: net − coupon share − points share.
    async fn cash_share(&self) -> Won {
        Won::new(self.0.cash_share)
    }

    /// Status of the line's active units.
    async fn status(&self) -> Result<LineStatus> {
        Ok(self.0.status().map_err(corrupt)?.into())
    }

    /// Units still active: quantity − cancelled − returned.
    async fn active_quantity(&self) -> i32 {
        self.0.quantity - self.0.cancelled_quantity - self.0.returned_quantity
    }

    /// Units cancelled (취소).
    async fn cancelled_quantity(&self) -> i32 {
        self.0.cancelled_quantity
    }

    /// Units returned (반품), including exchanges refunded.
    async fn returned_quantity(&self) -> i32 {
        self.0.returned_quantity
    }

    /// Active units inside an open claim (cannot be claimed again).
    async fn claimed_quantity(&self) -> i32 {
        self.0.claimed_quantity
    }

    /// When it shipped.
    async fn shipped_at(&self) -> Option<DateTime<Utc>> {
        self.0.shipped_at
    }

    /// When it was delivered.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    /// Claims covering this line, oldest first.
    async fn claims(&self, ctx: &Context<'_>) -> Result<Vec<super::claim::Claim>> {
        Ok(load(
            loaders(ctx)?
                .claims
                .load_one(crate::graphql::loaders::ClaimsOfLine(self.0.id))
                .await,
        )?
        .unwrap_or_default()
        .into_iter()
        .map(super::claim::Claim)
        .collect())
    }

    /// When the purchase was confirmed (구매확정).
    async fn purchase_confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.confirmed_at
    }
}

/// A payment of an order: its own at checkout, or a claim's fee paid later.
pub struct Tender(pub tender::Model);

#[Object]
impl Tender {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::Tender, self.0.id)
    }

    /// Card, bank transfer or points.
    async fn method(&self) -> Result<TenderMethod> {
        Ok(self.0.method().map_err(corrupt)?.into())
    }

    /// The order's own payment (ORDER) or a claim's fee payment (FEE, see `claim`).
    async fn role(&self) -> PaymentRole {
        crate::service::claims::payment_role(&self.0).into()
    }

    /// For a fee payment (`payClaimFee`): the claim whose fee it paid. Null for the order's
    /// own payments.
    async fn claim(&self, ctx: &Context<'_>) -> Result<Option<Claim>> {
        let Some(id) = self.0.claim_id else {
            return Ok(None);
        };
        Ok(load(loaders(ctx)?.claims.load_one(ClaimId(id)).await)?.map(Claim))
    }

    /// Amount paid (or due, while the payment is awaited).
    async fn amount(&self) -> Won {
        Won::new(self.0.amount)
    }

    /// For a bank transfer: what was deposited so far. Short of `amount`, the deposit is
    /// partial and the order still waits.
    async fn deposited_amount(&self) -> Won {
        Won::new(self.0.deposited_amount)
    }

    /// For a virtual account (가상계좌) the gateway issued: where and until when the customer
    /// deposits. Null otherwise.
    async fn virtual_account(&self) -> Option<VirtualAccount> {
        Some(VirtualAccount {
            bank_code: self.0.va_bank_code.clone()?,
            account_number: self.0.va_account_number.clone()?,
            customer_name: self.0.va_customer_name.clone().unwrap_or_default(),
            due_date: self.0.va_due_at?,
        })
    }

    /// Whether the money arrived.
    async fn status(&self) -> Result<TenderStatus> {
        Ok(self.0.status().map_err(corrupt)?.into())
    }

    /// Refunded so far; never more than `amount`.
    async fn refunded_amount(&self) -> Won {
        Won::new(self.0.refunded_amount)
    }

    /// The payment gateway's key of the payment (Toss Payments' `paymentKey`), once
    /// confirmed or issued.
    async fn gateway_reference(&self) -> Option<&str> {
        self.0.gateway_reference.as_deref()
    }

    /// When the money arrived.
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
}

/// A virtual account (가상계좌) the payment gateway issued for a payment.
#[derive(SimpleObject)]
pub struct VirtualAccount {
    /// The bank, by the gateway's bank code.
    pub bank_code: String,
    /// The account number to deposit into.
    pub account_number: String,
    /// The name the deposit is expected under.
    pub customer_name: String,
    /// The deposit deadline; the order is cancelled when it passes unpaid.
    pub due_date: DateTime<Utc>,
}

/// The coupon applied to an order (주문 쿠폰).
pub struct OrderCoupon(pub order_coupon::Model);

#[Object]
impl OrderCoupon {
    /// The code.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// The discount.
    async fn amount(&self) -> Won {
        Won::new(self.0.amount)
    }

    /// The order net it requires (최소주문금액).
    async fn min_purchase(&self) -> Won {
        Won::new(self.0.min_purchase)
    }

    /// True once given back to the customer (every unit of the order closed).
    async fn restored(&self) -> bool {
        self.0.restored
    }
}

/// One seller's lines of an order (묶음배송 그룹), with the settings copied at checkout.
pub struct ShippingGroup(pub order_shipping_group::Model);

#[Object]
impl ShippingGroup {
    /// The seller.
    async fn seller(&self, ctx: &Context<'_>) -> Result<Option<Seller>> {
        Ok(load(
            loaders(ctx)?
                .sellers
                .load_one(SellerId(self.0.seller_id))
                .await,
        )?
        .map(Seller))
    }

    /// 기본 배송비 at checkout.
    async fn base_fee(&self) -> Won {
        Won::new(self.0.base_fee)
    }

    /// 무료배송 기준 at checkout.
    async fn free_shipping_threshold(&self) -> Won {
        Won::new(self.0.free_threshold)
    }

    /// 반품 배송비 at checkout.
    async fn return_fee(&self) -> Won {
        Won::new(self.0.return_fee)
    }

    /// The fee charged: 0 when the group's net reached the threshold, else the base fee.
    async fn shipping_fee(&self) -> Won {
        Won::new(self.0.shipping_fee)
    }
}

/// A parcel (배송): courier and tracking number.
pub struct Shipment(pub shipment::Model);

#[Object]
impl Shipment {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::Shipment, self.0.id)
    }

    /// The seller who sent it.
    async fn seller(&self, ctx: &Context<'_>) -> Result<Option<Seller>> {
        Ok(load(
            loaders(ctx)?
                .sellers
                .load_one(SellerId(self.0.seller_id))
                .await,
        )?
        .map(Seller))
    }

    /// The courier (택배사).
    async fn courier(&self) -> &str {
        &self.0.courier
    }

    /// 운송장 번호.
    async fn tracking_number(&self) -> &str {
        &self.0.tracking_number
    }

    /// When it was handed to the courier.
    async fn shipped_at(&self) -> DateTime<Utc> {
        self.0.shipped_at
    }

    /// When it was delivered.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// A merchant (판매자 / 협력사) and its current shipping settings.
pub struct Seller(pub seller::Model);

#[Object]
impl Seller {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::Seller, self.0.id)
    }

    /// The seller's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Current 기본 배송비 (orders keep the one of their checkout).
    async fn base_shipping_fee(&self) -> Won {
        Won::new(self.0.base_shipping_fee)
    }

    /// Current 무료배송 기준.
    async fn free_shipping_threshold(&self) -> Won {
        Won::new(self.0.free_shipping_threshold)
    }

    /// Current 반품 배송비.
    async fn return_fee(&self) -> Won {
        Won::new(self.0.return_fee)
    }

    /// Bumped by every change of the seller's terms or standing (`expectedVersion`).
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// True while the seller is suspended: its products take no new orders.
    async fn suspended(&self) -> bool {
        self.0.suspended_at.is_some()
    }

    /// 사업자등록번호 (`123-45-67890`). The seller itself and staff; null for others.
    async fn business_registration_number(&self, ctx: &Context<'_>) -> Option<&str> {
        self.own(ctx).then_some(self.0.business_number.as_deref())?
    }

    /// 반품지. The seller itself and staff; null for others.
    async fn return_address(&self, ctx: &Context<'_>) -> Option<&str> {
        self.own(ctx).then_some(self.0.return_address.as_deref())?
    }

    /// The courier it ships with by default.
    async fn default_courier(&self) -> Option<&str> {
        self.0.default_courier.as_deref()
    }

    /// When it was suspended, and why. Staff only; null for others and when not suspended.
    async fn suspension(&self, ctx: &Context<'_>) -> Option<SellerSuspension> {
        let staff = matches!(
            viewer(ctx),
            Some(Actor::Operator | Actor::Analyst | Actor::System)
        );
        Some(SellerSuspension {
            since: self.0.suspended_at.filter(|_| staff)?,
            reason: self.0.suspension_reason.clone(),
        })
    }
}

impl Seller {
    /// The seller itself, or staff.
    fn own(&self, ctx: &Context<'_>) -> bool {
        match viewer(ctx) {
            Some(Actor::Seller(id)) => id == self.0.id,
            Some(Actor::Operator | Actor::Analyst | Actor::System) => true,
            Some(Actor::Customer(_)) | None => false,
        }
    }
}

/// A seller's suspension (판매 중지).
#[derive(SimpleObject)]
pub struct SellerSuspension {
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why, as the operator wrote it.
    pub reason: Option<String>,
}

/// A shopper. A seller sees only the name; the customer itself, operators and analysts see
/// everything.
pub struct Customer(pub customer::Model);

impl Customer {
    fn private(&self, ctx: &Context<'_>) -> bool {
        match viewer(ctx) {
            Some(Actor::Customer(id)) => id == self.0.id,
            Some(Actor::Operator | Actor::Analyst | Actor::System) => true,
            Some(Actor::Seller(_)) | None => false,
        }
    }
}

#[Object]
impl Customer {
    /// Global ID.
    pub async fn id(&self) -> ID {
        to_id(Kind::Customer, self.0.id)
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// E-mail; null for sellers.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx).then_some(self.0.email.as_str())
    }

    /// Points balance (적립금); null for sellers.
    async fn points_balance(&self, ctx: &Context<'_>) -> Option<Won> {
        self.private(ctx).then_some(Won::new(self.0.points_balance))
    }

    /// The latest movements of the points (적립금 내역), newest first, at most 100. The
    /// customer itself and staff; empty for sellers.
    async fn points_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many, 1 to 100.")] first: i32,
    ) -> Result<Vec<PointsMovement>> {
        if !self.private(ctx) {
            return Ok(Vec::new());
        }
        let limit = u64::try_from(first.clamp(1, 100)).unwrap_or(20);
        let db = crate::graphql::app(ctx)?.db.conn();
        let rows = crate::repo::catalog::points_history(db, self.0.id, limit)
            .await
            .map_err(|e| crate::error::to_graphql_error(crate::error::ServiceError::from(e)))?;
        Ok(rows
            .into_iter()
            .map(|r| PointsMovement {
                kind: r.kind,
                delta: Won::new(r.delta),
                balance_after: Won::new(r.balance_after),
                reason: r.reason,
                at: r.created_at,
            })
            .collect())
    }

    /// The refund account (환불계좌) for bank-transfer refunds; null for sellers or when none.
    async fn refund_account(&self, ctx: &Context<'_>) -> Option<RefundAccount> {
        if !self.private(ctx) {
            return None;
        }
        Some(RefundAccount {
            bank: self.0.refund_bank.clone()?,
            account_number: self.0.refund_account_number.clone()?,
            holder: self.0.refund_account_holder.clone()?,
        })
    }
}

/// One movement of a customer's points (적립금 내역).
#[derive(SimpleObject)]
pub struct PointsMovement {
    /// What moved them: `ORDER_PAYMENT`, a refund's restoration, `GRANTED`, `TAKEN_BACK`, ...
    pub kind: String,
    /// Points added (positive) or taken (negative).
    pub delta: Won,
    /// The balance after the movement.
    pub balance_after: Won,
    /// Why, for a grant or a taking back by an operator.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A bank account refunds of bank transfers go to (환불계좌).
#[derive(SimpleObject)]
pub struct RefundAccount {
    /// Bank name.
    pub bank: String,
    /// Account number.
    pub account_number: String,
    /// Account holder.
    pub holder: String,
}
