//! Refund pricing for a claim that closes units — a cancel, a return, or an exchange turned
//! refund (`money.md`, "Refund of a claim that closes units"), what later happens to its fee due
//! (paid or waived), and the routing of refunded cash to payments ("Payment refunds").
//!
//! Pure: the service loads an [`OrderLedger`] with the order locked, prices the claim with
//! [`price_refund`], then stores the [`PricedRefund`] and applies its [`LedgerEffect`] in the
//! same transaction. Nothing here reads a clock or a database, and there is no float.
//!
//! A fee due is settled after pricing. Each [`Deduction`] records how it was covered: out of the
//! cash refund, out of the points refund, and `as_fee`, the part the customer still owes (the
//! claim's fee due is the sum of those parts). Pricing adds only the covered parts to the
//! shipping the customer paid and to the clawback pool, because an unpaid fee is no money that a
//! later claim could give back (vector M). [`pay_fee`] adds the `as_fee` parts, in cash;
//! [`waive_fee`] cuts the deductions, the last first, by the fee due, which removes exactly the
//! `as_fee` parts (they are the tail of the deductions) and changes no ledger.

use std::ops::{Add, Sub};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::money::{unit_share, Won};

/// An amount split by the tender it was paid in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tenders {
    /// Paid by card or bank transfer (before the deposit: taken off the amount due).
    pub cash: Won,
    /// Paid with the customer's points.
    pub points: Won,
}

impl Tenders {
    /// Nothing in either tender.
    pub const ZERO: Tenders = Tenders {
        cash: Won::ZERO,
        points: Won::ZERO,
    };

    /// Cash plus points.
    pub fn total(self) -> Won {
        self.cash + self.points
    }

    /// Up to `amount` out of these tenders, cash first, then points.
    fn take(self, amount: Won) -> Tenders {
        let cash = amount.min(self.cash).at_least_zero();
        let points = (amount - cash).min(self.points).at_least_zero();
        Tenders { cash, points }
    }
}

impl Add for Tenders {
    type Output = Tenders;
    fn add(self, rhs: Tenders) -> Tenders {
        Tenders {
            cash: self.cash + rhs.cash,
            points: self.points + rhs.points,
        }
    }
}

impl Sub for Tenders {
    type Output = Tenders;
    fn sub(self, rhs: Tenders) -> Tenders {
        Tenders {
            cash: self.cash - rhs.cash,
            points: self.points - rhs.points,
        }
    }
}

/// How the order's goods were paid, as far as refunds care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payment {
    /// A card, refunded by partial cancels.
    Card {
        /// False until `confirmPayment`: then no cash has moved and a refund lowers the
        /// amount due.
        confirmed: bool,
    },
    /// A bank transfer (무통장입금).
    BankTransfer {
        /// False until the deposit: then no cash has moved and a refund lowers the amount due.
        deposited: bool,
    },
}

/// One order line's money, as allocated at checkout and never recomputed (`money.md`, "At
/// checkout"), with the count of units closed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineMoney {
    /// The line's id.
    pub id: i64,
    /// The seller whose shipping group the line belongs to.
    pub seller: i64,
    /// Units ordered (`n`).
    pub quantity: u32,
    /// Units closed by cancels and returns, including those of claims still refunding.
    pub closed: u32,
    /// `unitPrice × quantity − lineDiscount`.
    pub net: Won,
    /// The line's share of the order coupon.
    pub coupon: Won,
    /// The line's share of the points used.
    pub points: Won,
    /// What the card or the bank transfer paid for the line.
    pub cash: Won,
}

impl LineMoney {
    /// Units not yet closed.
    pub fn active(&self) -> u32 {
        self.quantity.saturating_sub(self.closed)
    }

    /// The share of `amount` (one of the line's stored amounts) of the next `k` units to close.
    fn share(&self, amount: Won, k: u32) -> Won {
        unit_share(amount, self.quantity, self.closed, k)
    }

    /// What remains of `amount` on the active units once `k` more units are closed.
    fn remaining(&self, amount: Won, k: u32) -> Won {
        amount - unit_share(amount, self.quantity, 0, self.closed + k)
    }
}

/// One seller's shipping group in the order: the settings copied at checkout and what the
/// customer has paid for shipping since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMoney {
    /// The seller; the group's lines carry the same id.
    pub seller: i64,
    /// The seller's base shipping fee.
    pub base_fee: Won,
    /// The group net at or above which shipping is free.
    pub free_threshold: Won,
    /// The seller's return shipping fee (the built-in default of a return's fee decision).
    pub return_fee: Won,
    /// `fee_g` charged at checkout: zero when the group shipped free.
    pub fee_at_checkout: Won,
    /// Shipping the customer has really paid, by tender: the checkout fee plus the paid parts of
    /// an initial-shipping charge. Refunded once, when nothing of the group ships.
    pub ship_paid: Tenders,
    /// True once an initial-shipping charge has applied (even cut to zero): it applies once.
    pub free_broken_charged: bool,
}

impl GroupMoney {
    /// The group as checkout leaves it: the checkout fee paid in cash, nothing charged since.
    pub fn at_checkout(
        seller: i64,
        base_fee: Won,
        free_threshold: Won,
        return_fee: Won,
        fee_at_checkout: Won,
    ) -> Self {
        GroupMoney {
            seller,
            base_fee,
            free_threshold,
            return_fee,
            fee_at_checkout,
            ship_paid: Tenders {
                cash: fee_at_checkout,
                points: Won::ZERO,
            },
            free_broken_charged: false,
        }
    }
}

/// The order coupon and what a clawback took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponMoney {
    /// The coupon's amount `C` (never above the order's net).
    pub amount: Won,
    /// The minimum purchase (order net) the coupon requires.
    pub min_purchase: Won,
    /// True once a clawback has applied (even cut to zero): it applies once per order.
    pub clawed: bool,
    /// What the clawback took and was paid, by tender, less what later claims gave back.
    pub claw_pool: Tenders,
}

impl CouponMoney {
    /// The coupon as checkout leaves it.
    pub fn at_checkout(amount: Won, min_purchase: Won) -> Self {
        CouponMoney {
            amount,
            min_purchase,
            clawed: false,
            claw_pool: Tenders::ZERO,
        }
    }
}

/// Everything refund pricing needs to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLedger {
    /// How the goods were paid.
    pub payment: Payment,
    /// The order's lines, in checkout order.
    pub lines: Vec<LineMoney>,
    /// One shipping group per seller.
    pub groups: Vec<GroupMoney>,
    /// The order coupon, if one was used.
    pub coupon: Option<CouponMoney>,
}

impl OrderLedger {
    /// `effect` without the group and coupon changes that would leave them as they are: what
    /// there is to write.
    pub fn changes_of(&self, effect: LedgerEffect) -> LedgerEffect {
        let group = effect.group.filter(|g| {
            self.group(g.seller).is_none_or(|now| {
                now.ship_paid != g.ship_paid || now.free_broken_charged != g.free_broken_charged
            })
        });
        let coupon = effect.coupon.filter(|c| {
            self.coupon
                .as_ref()
                .is_none_or(|now| now.clawed != c.clawed || now.claw_pool != c.claw_pool)
        });
        LedgerEffect {
            close: effect.close,
            group,
            coupon,
        }
    }

    /// The line with this id.
    pub fn line(&self, id: i64) -> Option<&LineMoney> {
        self.lines.iter().find(|l| l.id == id)
    }

    /// The shipping group of this seller.
    pub fn group(&self, seller: i64) -> Option<&GroupMoney> {
        self.groups.iter().find(|g| g.seller == seller)
    }

    /// Applies an effect returned by [`price_refund`] or [`pay_fee`] to this in-memory ledger.
    /// Everything is checked first, so a refused effect changes nothing.
    pub fn apply(&mut self, effect: &LedgerEffect) -> Result<(), RefundError> {
        for item in &effect.close {
            let line = self
                .line(item.line)
                .ok_or(RefundError::UnknownLine { line: item.line })?;
            if item.quantity > line.active() {
                return Err(RefundError::TooManyUnits {
                    line: item.line,
                    asked: item.quantity,
                    active: line.active(),
                });
            }
        }
        if let Some(change) = &effect.group {
            self.group(change.seller).ok_or(RefundError::UnknownGroup {
                seller: change.seller,
            })?;
        }
        if effect.coupon.is_some() && self.coupon.is_none() {
            return Err(RefundError::NoCoupon);
        }
        for item in &effect.close {
            if let Some(line) = self.lines.iter_mut().find(|l| l.id == item.line) {
                line.closed += item.quantity;
            }
        }
        if let Some(change) = &effect.group {
            if let Some(group) = self.groups.iter_mut().find(|g| g.seller == change.seller) {
                group.ship_paid = change.ship_paid;
                group.free_broken_charged = change.free_broken_charged;
            }
        }
        if let (Some(change), Some(coupon)) = (&effect.coupon, self.coupon.as_mut()) {
            coupon.clawed = change.clawed;
            coupon.claw_pool = change.claw_pool;
        }
        Ok(())
    }
}

/// Who caused a claim (귀책); decides who pays shipping. One enum for the whole domain.
pub use super::claim::Fault;

/// A return's fee decision, made by the policy's `claim_fees` when the claim was requested and
/// stored on the claim. The deductions apply where `money.md` says; the decision names the fault
/// and may switch a charge off or change the return fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeDecision {
    /// The fault party.
    pub fault: Fault,
    /// The return shipping fee a CUSTOMER-fault return deducts.
    pub return_fee: Won,
    /// Whether the initial-shipping charge (free shipping broken) may apply.
    pub initial_shipping: bool,
    /// Whether the coupon clawback (coupon minimum broken) may apply.
    pub coupon_clawback: bool,
}

impl FeeDecision {
    /// The built-in default: the seller's return fee and both charges where the rules call for
    /// them.
    pub fn builtin(fault: Fault, group: &GroupMoney) -> Self {
        FeeDecision {
            fault,
            return_fee: group.return_fee,
            initial_shipping: true,
            coupon_clawback: true,
        }
    }
}

/// What kind of claim closes the units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// A cancel; its fault is fixed by the action, its charges are the built-in ones, and it
    /// never leaves a fee due.
    Cancel {
        /// CUSTOMER for `requestCancel`, SELLER for a stock-out.
        fault: Fault,
    },
    /// A return, priced with the fee decision stored on the claim.
    Return {
        /// The policy's decision.
        fees: FeeDecision,
    },
    /// `refundExchange`: a SELLER-fault return of the exchanged units.
    ExchangeRefund,
}

/// Units of one line that a claim closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimItem {
    /// The line's id.
    pub line: i64,
    /// How many units (`k`).
    pub quantity: u32,
}

/// A claim about to close units, as pricing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToPrice {
    /// Cancel, return or exchange refund.
    pub kind: ClaimKind,
    /// The units it closes, all of one seller, each line once.
    pub items: Vec<ClaimItem>,
    /// An exchange fee already paid, added to the cash before the deductions (a return converted
    /// from an exchange, vector L; the fee of a refunded exchange). Zero otherwise.
    pub credit: Won,
}

/// The kinds of deduction, in the order they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeductionKind {
    /// The base fee of a group that shipped free and no longer qualifies (무료배송 조건 미달).
    InitialShipping,
    /// The return shipping fee of a CUSTOMER-fault return (반품 배송비).
    ReturnShipping,
    /// The coupon shares of the remaining units when the coupon minimum is broken.
    CouponClawback,
}

/// One deduction from a refund and how it was covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deduction {
    /// Which charge.
    pub kind: DeductionKind,
    /// Its amount: `from_cash + from_points + as_fee`.
    pub amount: Won,
    /// Taken out of the cash refund.
    pub from_cash: Won,
    /// Taken out of the points refund.
    pub from_points: Won,
    /// Not covered by the refund: owed by the customer as (part of) the fee due.
    pub as_fee: Won,
}

/// The new state of the claim's shipping group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupChange {
    /// The group's seller.
    pub seller: i64,
    /// The new shipping paid.
    pub ship_paid: Tenders,
    /// The new initial-shipping flag.
    pub free_broken_charged: bool,
}

/// The new state of the order coupon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CouponChange {
    /// The new clawback flag.
    pub clawed: bool,
    /// The new clawback pool.
    pub claw_pool: Tenders,
}

/// Changes to the stored ledger, applied in the transaction that records the refund or the fee.
/// Groups and coupon carry their new values (the order is locked while they are computed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerEffect {
    /// Units to close.
    pub close: Vec<ClaimItem>,
    /// The claim's shipping group: always set by pricing, by paying a fee when it changes.
    pub group: Option<GroupChange>,
    /// The order coupon, when the order has one and it changes.
    pub coupon: Option<CouponChange>,
}

/// A priced refund. It never changes once stored; a retry of its payment pays the same amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedRefund {
    /// The seller whose units the claim closes.
    pub seller: i64,
    /// The cash and points shares of the claimed units.
    pub items: Tenders,
    /// Coupon shares given back after a clawback (`clawbackReturned`), in the pool's tenders.
    pub clawback_returned: Tenders,
    /// The group's shipping refunded (`shippingRefund`), in the tenders it was paid with.
    pub shipping_refund: Tenders,
    /// The exchange fee credited before the deductions.
    pub credit: Won,
    /// The deductions in the order they applied; none of 0 won is listed.
    pub deductions: Vec<Deduction>,
    /// What the deductions exceed: owed by the customer (`feeDue`). Never above zero for a
    /// cancel.
    pub fee_due: Won,
    /// Cash to refund to payments (zero before a bank transfer's deposit).
    pub cash: Won,
    /// Points to restore.
    pub points: Won,
    /// Before a bank transfer's deposit: the cash that lowers the amount due instead.
    pub due_reduced: Won,
    /// True when no unit of the order remains: the coupon goes back to the customer.
    pub coupon_restored: bool,
    /// The ledger changes to store with the refund.
    pub effect: LedgerEffect,
}

/// What became of a fee due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSettlement {
    /// The claim's deductions from now on (unchanged when paid, cut when waived).
    pub deductions: Vec<Deduction>,
    /// The fee paid.
    pub paid: Won,
    /// The fee waived.
    pub waived: Won,
    /// The ledger changes to store with the settlement.
    pub effect: LedgerEffect,
}

/// Which payment of the order a balance belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentRole {
    /// The order's own card charge or bank transfer.
    Order,
    /// A claim-fee payment (`payClaimFee`), refundable like the order's.
    Fee,
}

/// A payment and what it has left to refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentBalance {
    /// The payment's id.
    pub id: i64,
    /// The order's own or a fee payment.
    pub role: PaymentRole,
    /// What it paid.
    pub paid: Won,
    /// What has already been refunded to it.
    pub refunded: Won,
    /// Anything that grows with creation (a sequence, a timestamp): fee payments are refunded
    /// the latest first.
    pub created: i64,
}

impl PaymentBalance {
    /// What the payment can still take back.
    fn left(&self) -> Won {
        (self.paid - self.refunded).at_least_zero()
    }
}

/// The cash of a refund that goes to one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashPart {
    /// The payment's id.
    pub payment: i64,
    /// The cash it gets back.
    pub amount: Won,
}

/// Why a claim cannot be priced or a fee cannot be settled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefundError {
    /// The claim names no units.
    #[error("a claim closes at least one unit")]
    EmptyClaim,
    /// A line is claimed with zero units.
    #[error("line {line}: a claim takes at least one unit of each line it names")]
    ZeroQuantity {
        /// The line.
        line: i64,
    },
    /// A line is named twice.
    #[error("line {line} is named twice in the claim")]
    DuplicateLine {
        /// The line.
        line: i64,
    },
    /// A line that is not the order's.
    #[error("line {line} is not a line of this order")]
    UnknownLine {
        /// The line.
        line: i64,
    },
    /// More units than the line has active.
    #[error("line {line}: {asked} units asked, {active} active")]
    TooManyUnits {
        /// The line.
        line: i64,
        /// Units claimed.
        asked: u32,
        /// Units still active.
        active: u32,
    },
    /// Units of two sellers in one claim.
    #[error(
        "a claim takes units of one seller: line {line} is seller {found}'s, not {expected}'s"
    )]
    MixedSellers {
        /// The line of the other seller.
        line: i64,
        /// The seller of the claim's first line.
        expected: i64,
        /// The seller of this line.
        found: i64,
    },
    /// A seller without a shipping group in the order.
    #[error("seller {seller} has no shipping group in this order")]
    UnknownGroup {
        /// The seller.
        seller: i64,
    },
    /// A negative exchange-fee credit.
    #[error("a credit cannot be negative ({credit})")]
    NegativeCredit {
        /// The credit.
        credit: Won,
    },
    /// A negative return fee in the fee decision.
    #[error("a return fee cannot be negative ({fee})")]
    NegativeReturnFee {
        /// The fee.
        fee: Won,
    },
    /// Paying or waiving a fee on a refund that owes none.
    #[error("no fee is due on this refund")]
    NoFeeDue,
    /// `payClaimFee` with another amount than the fee due (`FEE_AMOUNT_MISMATCH`).
    #[error("the fee due is {due}, not {offered}")]
    FeeAmountMismatch {
        /// The fee due.
        due: Won,
        /// The amount offered.
        offered: Won,
    },
    /// A coupon change on an order without a coupon.
    #[error("the order has no coupon")]
    NoCoupon,
    /// Negative cash to route.
    #[error("cash to refund cannot be negative ({cash})")]
    NegativeCash {
        /// The cash.
        cash: Won,
    },
    /// More cash to refund than the payments have left.
    #[error("{cash} to refund, but the payments have {refundable} left to refund")]
    CashExceedsPayments {
        /// The cash to refund.
        cash: Won,
        /// What the payments have left.
        refundable: Won,
    },
}

/// Whether a claim closes units as a cancel or as a return; the rules differ only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Cancel,
    Return,
}

/// The claim's kind reduced to what the rules read.
struct Terms {
    closing: Closing,
    fault: Fault,
    return_fee: Won,
    initial_shipping: bool,
    coupon_clawback: bool,
}

impl Terms {
    fn of(kind: ClaimKind) -> Terms {
        match kind {
            ClaimKind::Cancel { fault } => Terms {
                closing: Closing::Cancel,
                fault,
                return_fee: Won::ZERO,
                initial_shipping: true,
                coupon_clawback: true,
            },
            ClaimKind::Return { fees } => Terms {
                closing: Closing::Return,
                fault: fees.fault,
                return_fee: fees.return_fee,
                initial_shipping: fees.initial_shipping,
                coupon_clawback: fees.coupon_clawback,
            },
            ClaimKind::ExchangeRefund => Terms {
                closing: Closing::Return,
                fault: Fault::Seller,
                return_fee: Won::ZERO,
                initial_shipping: false,
                coupon_clawback: false,
            },
        }
    }
}

/// Units and net of some lines before and after the claim.
struct Span {
    units_after: u32,
    net_before: Won,
    net_after: Won,
}

impl Span {
    fn of<'a>(
        lines: impl Iterator<Item = &'a LineMoney>,
        taken: impl Fn(&LineMoney) -> u32,
    ) -> Span {
        let mut span = Span {
            units_after: 0,
            net_before: Won::ZERO,
            net_after: Won::ZERO,
        };
        for line in lines {
            let k = taken(line);
            span.units_after += line.active() - k;
            span.net_before += line.remaining(line.net, 0);
            span.net_after += line.remaining(line.net, k);
        }
        span
    }

    /// The net was at or above `limit` before the claim and is below it after: a drop caused by
    /// an earlier claim is never charged to a later one.
    fn crosses(&self, limit: Won) -> bool {
        self.net_before >= limit && self.net_after < limit
    }
}

/// Prices the refund of a claim that closes units, without changing anything: the result holds
/// the refund and the [`LedgerEffect`] to store with it.
pub fn price_refund(
    ledger: &OrderLedger,
    claim: &ClaimToPrice,
) -> Result<PricedRefund, RefundError> {
    let (group, claimed) = validate(ledger, claim)?;
    let terms = Terms::of(claim.kind);
    let seller = group.seller;
    let customer = terms.fault == Fault::Customer;
    let taken = |line: &LineMoney| {
        claimed
            .iter()
            .find(|(l, _)| l.id == line.id)
            .map_or(0, |(_, k)| *k)
    };

    let mut items = Tenders::ZERO;
    let mut coupon_shares = Won::ZERO;
    for (line, k) in &claimed {
        items.cash += line.share(line.cash, *k);
        items.points += line.share(line.points, *k);
        coupon_shares += line.share(line.coupon, *k);
    }
    let group_span = Span::of(ledger.lines.iter().filter(|l| l.seller == seller), taken);
    let order_span = Span::of(ledger.lines.iter(), taken);
    let group_emptied = group_span.units_after == 0;
    // A coupon of 0 won is no coupon: nothing to claw back or restore.
    let coupon = ledger.coupon.as_ref().filter(|c| c.amount.is_positive());

    // After a clawback the remaining units count as paid in full: their coupon shares come back
    // out of what the clawback took (and was paid), cash first.
    let clawback_returned = coupon
        .filter(|c| c.clawed)
        .map_or(Tenders::ZERO, |c| c.claw_pool.take(coupon_shares));

    let refunds_shipping =
        group_emptied && (terms.closing == Closing::Cancel || terms.fault == Fault::Seller);
    let shipping_refund = if refunds_shipping {
        group.ship_paid
    } else {
        Tenders::ZERO
    };

    let mut charges: Vec<(DeductionKind, Won)> = Vec::new();
    let breaks_free_shipping = customer
        && terms.initial_shipping
        && group.fee_at_checkout == Won::ZERO
        && !group.free_broken_charged
        && if group_emptied {
            terms.closing == Closing::Return && group_span.net_before >= group.free_threshold
        } else {
            group_span.crosses(group.free_threshold)
        };
    if breaks_free_shipping {
        charges.push((DeductionKind::InitialShipping, group.base_fee));
    }
    if customer && terms.closing == Closing::Return {
        charges.push((DeductionKind::ReturnShipping, terms.return_fee));
    }
    let claws_coupon = coupon.is_some_and(|c| {
        customer
            && terms.coupon_clawback
            && !c.clawed
            && order_span.units_after > 0
            && order_span.crosses(c.min_purchase)
    });
    if claws_coupon {
        let left: Won = ledger
            .lines
            .iter()
            .map(|l| l.remaining(l.coupon, taken(l)))
            .sum();
        charges.push((DeductionKind::CouponClawback, left));
    }

    let available = Tenders {
        cash: items.cash + clawback_returned.cash + claim.credit + shipping_refund.cash,
        points: items.points + clawback_returned.points + shipping_refund.points,
    };
    if terms.closing == Closing::Cancel {
        // A cancel never leaves a fee due; a deduction cut to zero still counts as applied.
        let over = charges.iter().map(|(_, a)| *a).sum::<Won>() - available.total();
        cut_last_first(charges.iter_mut().map(|(_, a)| a), over);
    }

    let mut left = available;
    let mut deductions = Vec::with_capacity(charges.len());
    for (kind, amount) in charges {
        let covered = left.take(amount);
        left = left - covered;
        deductions.push(Deduction {
            kind,
            amount,
            from_cash: covered.cash,
            from_points: covered.points,
            as_fee: amount - covered.total(),
        });
    }
    let fee_due: Won = deductions.iter().map(|d| d.as_fee).sum();
    let covered = |kind: DeductionKind| {
        deductions
            .iter()
            .filter(|d| d.kind == kind)
            .fold(Tenders::ZERO, |t, d| {
                t + Tenders {
                    cash: d.from_cash,
                    points: d.from_points,
                }
            })
    };

    let kept_shipping = if refunds_shipping {
        Tenders::ZERO
    } else {
        group.ship_paid
    };
    let effect = LedgerEffect {
        close: claimed
            .iter()
            .map(|(l, k)| ClaimItem {
                line: l.id,
                quantity: *k,
            })
            .collect(),
        group: Some(GroupChange {
            seller,
            ship_paid: kept_shipping + covered(DeductionKind::InitialShipping),
            free_broken_charged: group.free_broken_charged || breaks_free_shipping,
        }),
        coupon: ledger.coupon.as_ref().map(|c| CouponChange {
            clawed: c.clawed || claws_coupon,
            claw_pool: c.claw_pool - clawback_returned + covered(DeductionKind::CouponClawback),
        }),
    };
    deductions.retain(|d| d.amount.is_positive());

    let (cash, due_reduced) = match ledger.payment {
        // Before the payment no cash was paid: the cash refund lowers the amount due instead.
        Payment::Card { confirmed: false } | Payment::BankTransfer { deposited: false } => {
            (Won::ZERO, left.cash)
        }
        Payment::Card { confirmed: true } | Payment::BankTransfer { deposited: true } => {
            (left.cash, Won::ZERO)
        }
    };
    Ok(PricedRefund {
        seller,
        items,
        clawback_returned,
        shipping_refund,
        credit: claim.credit,
        deductions,
        fee_due,
        cash,
        points: left.points,
        due_reduced,
        coupon_restored: coupon.is_some() && order_span.units_after == 0,
        effect,
    })
}

/// The lines a claim takes, each with its units.
type Claimed<'a> = Vec<(&'a LineMoney, u32)>;

/// Checks the claim against the ledger; returns its group and its lines with their units.
fn validate<'a>(
    ledger: &'a OrderLedger,
    claim: &ClaimToPrice,
) -> Result<(&'a GroupMoney, Claimed<'a>), RefundError> {
    let first = claim.items.first().ok_or(RefundError::EmptyClaim)?;
    let seller = ledger
        .line(first.line)
        .ok_or(RefundError::UnknownLine { line: first.line })?
        .seller;
    let mut claimed = Vec::with_capacity(claim.items.len());
    for (i, item) in claim.items.iter().enumerate() {
        if claim.items[..i].iter().any(|o| o.line == item.line) {
            return Err(RefundError::DuplicateLine { line: item.line });
        }
        let line = ledger
            .line(item.line)
            .ok_or(RefundError::UnknownLine { line: item.line })?;
        if item.quantity == 0 {
            return Err(RefundError::ZeroQuantity { line: item.line });
        }
        if item.quantity > line.active() {
            return Err(RefundError::TooManyUnits {
                line: item.line,
                asked: item.quantity,
                active: line.active(),
            });
        }
        if line.seller != seller {
            return Err(RefundError::MixedSellers {
                line: item.line,
                expected: seller,
                found: line.seller,
            });
        }
        claimed.push((line, item.quantity));
    }
    if claim.credit.is_negative() {
        return Err(RefundError::NegativeCredit {
            credit: claim.credit,
        });
    }
    if let ClaimKind::Return { fees } = claim.kind {
        if fees.return_fee.is_negative() {
            return Err(RefundError::NegativeReturnFee {
                fee: fees.return_fee,
            });
        }
    }
    let group = ledger
        .group(seller)
        .ok_or(RefundError::UnknownGroup { seller })?;
    Ok((group, claimed))
}

/// Cuts the amounts, the last first, by `by` in total (nothing when `by` is not positive).
fn cut_last_first<'a>(amounts: impl DoubleEndedIterator<Item = &'a mut Won>, by: Won) {
    let mut left = by.at_least_zero();
    for amount in amounts.rev() {
        let cut = left.min(*amount).at_least_zero();
        *amount -= cut;
        left -= cut;
    }
}

/// The customer pays the fee due of `refund` (`payClaimFee`, exactly the fee due). The paid
/// parts of an initial-shipping charge and of a clawback now count as paid, in cash: shipping a
/// later claim may refund, a clawback a later claim may give back. `ledger` is the order's
/// current state (other claims may have been priced since).
pub fn pay_fee(
    ledger: &OrderLedger,
    refund: &PricedRefund,
    amount: Won,
) -> Result<FeeSettlement, RefundError> {
    if !refund.fee_due.is_positive() {
        return Err(RefundError::NoFeeDue);
    }
    if amount != refund.fee_due {
        return Err(RefundError::FeeAmountMismatch {
            due: refund.fee_due,
            offered: amount,
        });
    }
    let owed = |kind: DeductionKind| -> Won {
        refund
            .deductions
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.as_fee)
            .sum()
    };
    let shipping = owed(DeductionKind::InitialShipping);
    let clawback = owed(DeductionKind::CouponClawback);
    let group = if shipping.is_positive() {
        let group = ledger
            .group(refund.seller)
            .ok_or(RefundError::UnknownGroup {
                seller: refund.seller,
            })?;
        Some(GroupChange {
            seller: group.seller,
            ship_paid: group.ship_paid
                + Tenders {
                    cash: shipping,
                    points: Won::ZERO,
                },
            free_broken_charged: group.free_broken_charged,
        })
    } else {
        None
    };
    let coupon = if clawback.is_positive() {
        let coupon = ledger.coupon.as_ref().ok_or(RefundError::NoCoupon)?;
        Some(CouponChange {
            clawed: coupon.clawed,
            claw_pool: coupon.claw_pool
                + Tenders {
                    cash: clawback,
                    points: Won::ZERO,
                },
        })
    } else {
        None
    };
    Ok(FeeSettlement {
        deductions: refund.deductions.clone(),
        paid: amount,
        waived: Won::ZERO,
        effect: LedgerEffect {
            close: Vec::new(),
            group,
            coupon,
        },
    })
}

/// The seller waives the fee due of `refund` (`waiveClaimFee`): the deductions are cut, the last
/// first, by the fee due. The uncovered part of the deductions is exactly their tail, so the cut
/// removes the `as_fee` parts and the refund's amounts stay as priced; a waived part adds nothing
/// to the ledger. Deductions cut to zero are no longer listed (they still counted as applied).
pub fn waive_fee(refund: &PricedRefund) -> Result<FeeSettlement, RefundError> {
    if !refund.fee_due.is_positive() {
        return Err(RefundError::NoFeeDue);
    }
    let mut deductions = refund.deductions.clone();
    cut_last_first(deductions.iter_mut().map(|d| &mut d.amount), refund.fee_due);
    for d in &mut deductions {
        d.as_fee = d.amount - d.from_cash - d.from_points;
    }
    deductions.retain(|d| d.amount.is_positive());
    Ok(FeeSettlement {
        deductions,
        paid: Won::ZERO,
        waived: refund.fee_due,
        effect: LedgerEffect::default(),
    })
}

/// Routes a refund's cash to payments (`money.md`, "Payment refunds"): the order's own payment
/// up to what it has left to refund, then the fee payments, the latest first. One part per
/// payment that gets something; no payment gets back more than it paid.
pub fn route_cash(cash: Won, payments: &[PaymentBalance]) -> Result<Vec<CashPart>, RefundError> {
    if cash.is_negative() {
        return Err(RefundError::NegativeCash { cash });
    }
    let refundable: Won = payments.iter().map(PaymentBalance::left).sum();
    if cash > refundable {
        return Err(RefundError::CashExceedsPayments { cash, refundable });
    }
    let mut ordered: Vec<&PaymentBalance> = payments.iter().collect();
    ordered.sort_by(|a, b| match (a.role, b.role) {
        (PaymentRole::Order, PaymentRole::Order) => a.created.cmp(&b.created),
        (PaymentRole::Order, PaymentRole::Fee) => std::cmp::Ordering::Less,
        (PaymentRole::Fee, PaymentRole::Order) => std::cmp::Ordering::Greater,
        (PaymentRole::Fee, PaymentRole::Fee) => b.created.cmp(&a.created),
    });
    let mut left = cash;
    let mut parts = Vec::new();
    for payment in ordered {
        let amount = left.min(payment.left());
        if amount.is_positive() {
            parts.push(CashPart {
                payment: payment.id,
                amount,
            });
            left -= amount;
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests;
