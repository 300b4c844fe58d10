//! The mutation root: placing orders and moving their lines. Each mutation takes one input
//! object (with an optional `idempotencyKey` and, where an order exists, `expectedVersion`) and
//! returns a payload with the order and `userErrors`.

use async_graphql::{Context, Enum, InputObject, Object, Result, ID};

use super::idempotency::{keyed, with_key};
use super::ids::{parse, Kind};
use super::text::{self, TextInput, Texts};
use super::types::enums::PaymentMethod;
use super::types::order::Order;
use super::types::payloads::{answered, refusal, OrderPayload, RunSystemJobsPayload, SystemJobRun};
use super::{app, require_writer};
use crate::domain::actor::Actor;
use crate::domain::checkout::CouponTerms;
use crate::domain::money::Won;
use crate::domain::order::LineStep;
use crate::domain::text as limit;
use crate::error::{to_graphql_error, ServiceError};
use crate::service::idempotency::{Answer, Keyed};
use crate::service::jobs::{self, Job};
use crate::service::orders::{
    self, LineSelection, OrderChanged, PlaceOrder, PlaceOrderLine, StepRequest,
};
use crate::service::payments;
use crate::service::reads;

/// Order and catalogue mutation fields.
#[derive(Default)]
pub struct OrderMutation;

/// A cart line.
#[derive(InputObject)]
pub struct PlaceOrderLineInput {
    /// The product option (`ProductOption.id`).
    pub option_id: ID,
    /// Units, at least 1.
    pub quantity: i32,
    /// OPERATOR only: the line discount to apply instead of the option's instant discount.
    pub line_discount: Option<Won>,
    /// The set (세트) this line is sold in: lines with the same id form one set, which the
    /// seller's policy may require to be exchanged whole. At most 64 characters, one line.
    pub bundle_id: Option<String>,
}

/// Ad-hoc coupon terms (OPERATOR only).
#[derive(InputObject)]
pub struct CouponTermsInput {
    /// The discount.
    pub amount: Won,
    /// The order net it requires (최소주문금액).
    pub min_purchase: Won,
}

/// Input of `placeOrder`.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// OPERATOR only: the customer to order for. A customer orders for itself.
    pub customer_id: Option<ID>,
    /// The cart: one entry per option. At most 500.
    pub lines: Vec<PlaceOrderLineInput>,
    /// A coupon code (쿠폰). At most 50 characters, one line.
    pub coupon_code: Option<String>,
    /// OPERATOR only: ad-hoc coupon terms (with `couponCode` as a label).
    pub coupon: Option<CouponTermsInput>,
    /// Points to use (적립금), at most the balance and what is left to pay after the coupon.
    #[graphql(default)]
    pub points: Option<Won>,
    /// Card or bank transfer. Either way an order with cash to pay waits for it: a card until
    /// `confirmPayment` (`--card-payment-minutes`), a bank transfer until its deposit. The
    /// customer may still pay another way in the payment widget; the order follows what the
    /// gateway reports (a virtual account makes it a bank transfer, a card a card).
    pub payment_method: PaymentMethod,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for PlaceOrderInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .optional(
                "couponCode",
                self.coupon_code.as_deref(),
                limit::COUPON_CODE,
            )
            .count("lines", self.lines.len(), limit::LINES)
            .each(
                "lines",
                &self.lines,
                "bundleId",
                |l| l.bundle_id.as_deref(),
                limit::BUNDLE_ID,
            )
    }
}

/// Input of `confirmPayment`: the three values the payment widget's success redirect carries
/// (`paymentKey`, `orderId`, `amount`).
#[derive(InputObject)]
pub struct ConfirmPaymentInput {
    /// The order: the widget's `orderId`. At most 40 characters, one line.
    pub order_number: String,
    /// The gateway's key of the customer's authorization. At most 200 characters, one line.
    pub payment_key: String,
    /// The amount the widget was opened with: exactly the order's `amountDue` (another amount
    /// is PAYMENT_AMOUNT_MISMATCH, and nothing is charged).
    pub amount: crate::domain::money::Won,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    /// Repeating the same `paymentKey` is safe without one.
    pub idempotency_key: Option<String>,
}

impl TextInput for ConfirmPaymentInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("orderNumber", &self.order_number, limit::ORDER_NUMBER)
            .field("paymentKey", &self.payment_key, limit::PAYMENT_KEY)
    }
}

/// Input of `confirmDeposit`.
#[derive(InputObject)]
pub struct ConfirmDepositInput {
    /// The order. At most 40 characters, one line.
    pub order_number: String,
    /// The amount that arrived, from 1 won to what is left to deposit (the order's
    /// `amountDue` less the cash tender's `depositedAmount`). Short of it, the deposit is
    /// recorded as partial and the order keeps waiting.
    pub amount: crate::domain::money::Won,
    /// Refuse with STALE_VERSION unless the order is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for ConfirmDepositInput {
    fn texts(&self) -> Texts {
        Texts::default().field("orderNumber", &self.order_number, limit::ORDER_NUMBER)
    }
}

/// Input of `confirmOrder` and `confirmPurchase`.
#[derive(InputObject)]
pub struct OrderLinesInput {
    /// The order. At most 40 characters, one line.
    pub order_number: String,
    /// Only these lines (default: every line the caller may act on that is in the starting
    /// status). At most 500.
    pub line_ids: Option<Vec<ID>>,
    /// Refuse with STALE_VERSION unless the order is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for OrderLinesInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("orderNumber", &self.order_number, limit::ORDER_NUMBER)
            .count(
                "lineIds",
                self.line_ids.as_ref().map_or(0, Vec::len),
                limit::LINES,
            )
    }
}

/// Input of `shipLines`.
#[derive(InputObject)]
pub struct ShipLinesInput {
    /// Lines of one order and one seller, all PREPARING. At most 500.
    pub line_ids: Vec<ID>,
    /// The courier (택배사). At most 50 characters, one line.
    pub courier: String,
    /// 운송장 번호. At most 50 characters, one line.
    pub tracking_number: String,
    /// Refuse with STALE_VERSION unless the order is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for ShipLinesInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .count("lineIds", self.line_ids.len(), limit::LINES)
            .field("courier", &self.courier, limit::COURIER)
            .field(
                "trackingNumber",
                &self.tracking_number,
                limit::TRACKING_NUMBER,
            )
    }
}

/// Input of `markDelivered`.
#[derive(InputObject)]
pub struct MarkDeliveredInput {
    /// SHIPPED lines of one order. At most 500.
    pub line_ids: Vec<ID>,
    /// Refuse with STALE_VERSION unless the order is at this version.
    pub expected_version: Option<i32>,
    /// Makes retries safe: 1 to 255 printable ASCII characters, scoped to the caller. A
    /// request under a used key answers that request's outcome again (`replayed: true`).
    pub idempotency_key: Option<String>,
}

impl TextInput for MarkDeliveredInput {
    fn texts(&self) -> Texts {
        Texts::default().count("lineIds", self.line_ids.len(), limit::LINES)
    }
}

/// A SYSTEM job that can be run on demand.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SystemJob {
    /// 구매확정: confirm purchases whose days after delivery have passed.
    AutoConfirmPurchase,
    /// 환불: send due refund parts to the payment gateway (retries with backoff).
    PayRefunds,
    /// 미입금 취소: cancel bank-transfer orders whose deposit deadline passed.
    CancelUnpaidOrders,
    /// 배송비 미결제 철회: withdraw exchanges whose fee stayed unpaid too long.
    WithdrawUnpaidExchanges,
}

impl From<SystemJob> for Job {
    fn from(j: SystemJob) -> Job {
        match j {
            SystemJob::AutoConfirmPurchase => Job::AutoConfirmPurchase,
            SystemJob::PayRefunds => Job::PayRefunds,
            SystemJob::CancelUnpaidOrders => Job::CancelUnpaidOrders,
            SystemJob::WithdrawUnpaidExchanges => Job::WithdrawUnpaidExchanges,
        }
    }
}

impl From<Job> for SystemJob {
    fn from(j: Job) -> SystemJob {
        match j {
            Job::AutoConfirmPurchase => SystemJob::AutoConfirmPurchase,
            Job::PayRefunds => SystemJob::PayRefunds,
            Job::CancelUnpaidOrders => SystemJob::CancelUnpaidOrders,
            Job::WithdrawUnpaidExchanges => SystemJob::WithdrawUnpaidExchanges,
        }
    }
}

/// Input of `runSystemJobs`.
#[derive(InputObject)]
pub struct RunSystemJobsInput {
    /// The jobs to run now (default: all).
    pub jobs: Option<Vec<SystemJob>>,
}

/// The lines a step names, each once.
fn line_ids(ids: &[ID]) -> Result<Vec<i64>, ServiceError> {
    let mut lines = Vec::with_capacity(ids.len());
    for id in ids {
        let line = parse(id, Kind::OrderLine)?;
        if lines.contains(&line) {
            return Err(ServiceError::BadInput(format!(
                "lineIds names {} twice; give each line once",
                id.as_str()
            )));
        }
        lines.push(line);
    }
    Ok(lines)
}

/// Turns a service answer into a payload: refusals into `userErrors`, faults into errors.
async fn order_payload(ctx: &Context<'_>, answer: Answer<OrderChanged>) -> Result<OrderPayload> {
    answered(answer, |changed: OrderChanged| async move {
        let order = reads::written_order(app(ctx)?, changed.order_id)
            .await
            .map_err(to_graphql_error)?;
        Ok(OrderPayload {
            order: order.map(Order),
            ..Default::default()
        })
    })
    .await
}

async fn step(
    ctx: &Context<'_>,
    step: LineStep,
    key: Result<Option<Keyed>, ServiceError>,
    selection: Result<LineSelection, ServiceError>,
    tracking: Option<(String, String)>,
    expected_version: Option<i32>,
) -> Result<OrderPayload> {
    let (actor, app) = (require_writer(ctx)?, app(ctx)?);
    let selection = match selection {
        Ok(selection) => selection,
        Err(e) => return refusal(e),
    };
    let request = StepRequest {
        selection,
        tracking,
        expected_version,
    };
    let answer = with_key(key, |key| {
        orders::step_lines(app, actor, step, key, request)
    })
    .await;
    order_payload(ctx, answer).await
}

fn selection(order_number: String, ids: Option<Vec<ID>>) -> Result<LineSelection, ServiceError> {
    Ok(match ids {
        Some(ids) => LineSelection::Lines(line_ids(&ids)?),
        None => LineSelection::WholeOrder(order_number),
    })
}

#[Object]
impl OrderMutation {
    /// Places an order (주문): prices it as `money.md` says, reserves stock, spends points.
    /// CUSTOMER for itself, OPERATOR for any customer.
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<OrderPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let actor = require_writer(ctx)?;
        let customer_id = input
            .customer_id
            .as_ref()
            .map(|id| parse(id, Kind::Customer))
            .transpose();
        let customer_id = match customer_id {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        let lines = input
            .lines
            .iter()
            .map(|l| {
                if l.bundle_id.as_ref().is_some_and(String::is_empty) {
                    return Err(ServiceError::BadInput("bundleId must not be empty".into()));
                }
                Ok(PlaceOrderLine {
                    option_id: parse(&l.option_id, Kind::ProductOption)?,
                    quantity: i64::from(l.quantity),
                    line_discount: l.line_discount,
                    bundle_id: l.bundle_id.clone(),
                })
            })
            .collect::<Result<Vec<_>, ServiceError>>();
        let lines = match lines {
            Ok(lines) => lines,
            Err(e) => return refusal(e),
        };
        let request = PlaceOrder {
            customer_id,
            lines,
            coupon_code: input.coupon_code,
            coupon_terms: input.coupon.map(|c| CouponTerms {
                amount: c.amount,
                min_purchase: c.min_purchase,
            }),
            points: input.points.unwrap_or(Won::ZERO),
            payment_method: input.payment_method.into(),
        };
        let app = app(ctx)?;
        let answer = with_key(key, |key| orders::place_order(app, actor, key, request)).await;
        order_payload(ctx, answer).await
    }

    /// 결제 승인: confirms the payment the customer authorized in the payment widget, server
    /// to server, after checking its amount against the order. A card order becomes PAID; a
    /// virtual account (가상계좌) is issued and the order waits for the deposit into it
    /// (`tenders { virtualAccount }`, `depositDeadline`). Safe to repeat: the same paymentKey
    /// is never confirmed twice. The order's CUSTOMER or an OPERATOR.
    async fn confirm_payment(
        &self,
        ctx: &Context<'_>,
        input: ConfirmPaymentInput,
    ) -> Result<OrderPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let request = payments::ConfirmPayment {
            order_number: input.order_number,
            payment_key: input.payment_key,
            amount: input.amount,
        };
        let answer = with_key(key, |key| {
            payments::confirm_payment(app, actor, key, request)
        })
        .await;
        order_payload(ctx, answer).await
    }

    /// 입금확인: a bank transfer of `amount` arrived for an order. When the deposits reach
    /// what it owes, its lines become PAID; a short deposit is recorded as partial
    /// (`tenders { depositedAmount }`) and refunded to the refund account if the order is then
    /// cancelled. OPERATOR.
    async fn confirm_deposit(
        &self,
        ctx: &Context<'_>,
        input: ConfirmDepositInput,
    ) -> Result<OrderPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let key = keyed(ctx, &input);
        let (actor, app) = (require_writer(ctx)?, app(ctx)?);
        let request = payments::DepositRequest {
            order_number: input.order_number,
            amount: input.amount,
            expected_version: input.expected_version,
        };
        let answer = with_key(key, |key| {
            payments::confirm_deposit(app, actor, key, request)
        })
        .await;
        order_payload(ctx, answer).await
    }

    /// 주문확인: the seller accepts PAID lines and starts preparing them (PREPARING).
    /// SELLER (its own lines) or OPERATOR.
    async fn confirm_order(
        &self,
        ctx: &Context<'_>,
        input: OrderLinesInput,
    ) -> Result<OrderPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        step(
            ctx,
            LineStep::ConfirmOrder,
            keyed(ctx, &input),
            selection(input.order_number, input.line_ids),
            None,
            input.expected_version,
        )
        .await
    }

    /// 발송처리: PREPARING lines of one seller leave in one parcel (SHIPPED). SELLER or OPERATOR.
    async fn ship_lines(&self, ctx: &Context<'_>, input: ShipLinesInput) -> Result<OrderPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let courier = input.courier.trim().to_owned();
        let tracking = input.tracking_number.trim().to_owned();
        if courier.is_empty() || tracking.is_empty() {
            return refusal(ServiceError::BadInput(
                "courier and trackingNumber must not be empty".into(),
            ));
        }
        step(
            ctx,
            LineStep::Ship,
            keyed(ctx, &input),
            line_ids(&input.line_ids).map(LineSelection::Lines),
            Some((courier, tracking)),
            input.expected_version,
        )
        .await
    }

    /// 배송완료: SHIPPED lines were delivered (DELIVERED). SELLER or OPERATOR (the courier's
    /// tracking events do this as SYSTEM).
    async fn mark_delivered(
        &self,
        ctx: &Context<'_>,
        input: MarkDeliveredInput,
    ) -> Result<OrderPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        step(
            ctx,
            LineStep::MarkDelivered,
            keyed(ctx, &input),
            line_ids(&input.line_ids).map(LineSelection::Lines),
            None,
            input.expected_version,
        )
        .await
    }

    /// 구매확정: the customer accepts DELIVERED lines (PURCHASE_CONFIRMED); no customer-fault
    /// claim after this. CUSTOMER (its own orders) or OPERATOR.
    async fn confirm_purchase(
        &self,
        ctx: &Context<'_>,
        input: OrderLinesInput,
    ) -> Result<OrderPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        step(
            ctx,
            LineStep::ConfirmPurchase,
            keyed(ctx, &input),
            selection(input.order_number, input.line_ids),
            None,
            input.expected_version,
        )
        .await
    }

    /// Runs SYSTEM jobs now instead of waiting for the timer (safe with several replicas: each
    /// job runs under a lease). OPERATOR.
    async fn run_system_jobs(
        &self,
        ctx: &Context<'_>,
        input: RunSystemJobsInput,
    ) -> Result<RunSystemJobsPayload> {
        let actor = require_writer(ctx)?;
        if actor != Actor::Operator {
            return Err(to_graphql_error(ServiceError::Forbidden(
                "only an OPERATOR can run SYSTEM jobs".into(),
            )));
        }
        let list: Vec<Job> = match input.jobs {
            Some(jobs) => jobs.into_iter().map(Job::from).collect(),
            None => Job::ALL.to_vec(),
        };
        let outcomes = jobs::run(app(ctx)?, &list)
            .await
            .map_err(to_graphql_error)?;
        Ok(RunSystemJobsPayload {
            runs: outcomes
                .into_iter()
                .map(|o| SystemJobRun {
                    job: o.job.into(),
                    ran: o.ran,
                    processed: o.processed,
                })
                .collect(),
        })
    }
}
