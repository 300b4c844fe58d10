//! Pricing an order at checkout (`money.md`, "At checkout"): line nets, the coupon and points
//! allocations by largest remainder, the cash each line paid, and each seller's shipping fee.
//!
//! The result is stored with the order and never recomputed; refunds split these stored
//! amounts by unit.

use super::money::{largest_remainder, Won};
use super::order::{PaymentMethod, TenderMethod, TenderStatus};

/// One line as the customer put it in the cart, priced from the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    /// The seller who ships the line; lines of one seller form a shipping group.
    pub seller_id: i64,
    /// Price of one unit.
    pub unit_price: Won,
    /// Units ordered (at least one).
    pub quantity: u32,
    /// The seller's instant discount on the whole line.
    pub line_discount: Won,
}

/// An option as the catalogue offers it: whose it is, its price, and the seller's instant
/// discount (즉시할인) on one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// The seller of the option's product.
    pub seller_id: i64,
    /// Price of one unit.
    pub unit_price: Won,
    /// The seller's instant discount on one unit.
    pub instant_discount: Won,
}

impl CartLine {
    /// `quantity` units of `offer`. The line discount is the one an OPERATOR gave, if any (it
    /// replaces the seller's), else the seller's instant discount on every unit.
    pub fn of(offer: Offer, quantity: u32, line_discount: Option<Won>) -> CartLine {
        CartLine {
            seller_id: offer.seller_id,
            unit_price: offer.unit_price,
            quantity,
            line_discount: line_discount.unwrap_or(offer.instant_discount.times(quantity)),
        }
    }
}

/// A seller's shipping settings, copied onto the order at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShippingSettings {
    /// The fee charged when the group's net is below the threshold (기본 배송비).
    pub base_fee: Won,
    /// The group net from which shipping is free (무료배송 기준).
    pub free_threshold: Won,
    /// What a return costs the customer when it is its fault (반품 배송비).
    pub return_fee: Won,
}

/// An order coupon as applied at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CouponTerms {
    /// The discount.
    pub amount: Won,
    /// The order net it requires (최소주문금액).
    pub min_purchase: Won,
}

/// What a line paid, by tender, as allocated at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAllocation {
    /// `unit_price × quantity − line_discount`.
    pub net: Won,
    /// The line's share of the order coupon.
    pub coupon: Won,
    /// The line's share of the points used.
    pub points: Won,
    /// What the card or the bank transfer paid for the line.
    pub cash: Won,
}

/// The priced order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCheckout {
    /// One allocation per cart line, in cart order.
    pub lines: Vec<LineAllocation>,
    /// One shipping fee per seller, in order of the seller's first line.
    pub shipping_fees: Vec<(i64, Won)>,
    /// Σ net of the lines.
    pub items_net: Won,
    /// The coupon discount.
    pub coupon: Won,
    /// Points used.
    pub points: Won,
    /// Σ shipping fees.
    pub shipping_total: Won,
    /// The cash charged (or due, for a bank transfer): Σ cash + Σ shipping.
    pub cash_total: Won,
}

impl PricedCheckout {
    /// The order total: Σ net − coupon + Σ shipping (points are a tender, part of the total).
    pub fn order_total(&self) -> Won {
        self.items_net - self.coupon + self.shipping_total
    }
}

/// A tender (one payment) of a new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutTender {
    /// Card, bank transfer or points.
    pub method: TenderMethod,
    /// What it pays.
    pub amount: Won,
    /// Whether the money has arrived.
    pub status: TenderStatus,
}

/// The tenders a priced order is paid with: the cash part, when there is one, by the chosen
/// method (waiting for `confirmPayment` or the deposit), then the points (spent at once).
pub fn checkout_tenders(method: PaymentMethod, priced: &PricedCheckout) -> Vec<CheckoutTender> {
    let mut tenders = Vec::new();
    if priced.cash_total.is_positive() {
        tenders.push(CheckoutTender {
            method: TenderMethod::from(method),
            amount: priced.cash_total,
            status: method.unpaid_tender_status(),
        });
    }
    if priced.points.is_positive() {
        tenders.push(CheckoutTender {
            method: TenderMethod::Points,
            amount: priced.points,
            status: TenderStatus::Paid,
        });
    }
    tenders
}

/// Why checkout refuses a cart. Each maps to a stable user error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    /// The cart is empty.
    #[error("an order needs at least one line")]
    NoLines,
    /// A quantity of zero.
    #[error("line {line}: quantity must be at least 1")]
    QuantityNotPositive {
        /// Index of the line in the cart.
        line: usize,
    },
    /// A line discount above the line's price or below zero.
    #[error("line {line}: the line discount must be between 0 and the line's price")]
    InvalidLineDiscount {
        /// Index of the line in the cart.
        line: usize,
    },
    /// A line's seller has no shipping settings.
    #[error("line {line}: its seller has no shipping settings")]
    MissingShippingSettings {
        /// Index of the line in the cart.
        line: usize,
    },
    /// A negative coupon amount or minimum.
    #[error("the coupon amount and minimum must not be negative")]
    InvalidCoupon,
    /// The coupon is larger than the order's net (`COUPON_EXCEEDS_ORDER`).
    #[error("the coupon ({coupon}) is larger than the order's items ({items_net})")]
    CouponExceedsOrder {
        /// The coupon amount.
        coupon: Won,
        /// The order net.
        items_net: Won,
    },
    /// The order's net is below the coupon's minimum purchase (`COUPON_MINIMUM_NOT_MET`).
    #[error("the coupon needs an order of at least {min_purchase}; the items come to {items_net}")]
    CouponMinimumNotMet {
        /// The minimum.
        min_purchase: Won,
        /// The order net.
        items_net: Won,
    },
    /// Negative points.
    #[error("points used must not be negative")]
    NegativePoints,
    /// More points than the customer has (`POINTS_EXCEED_BALANCE`).
    #[error("{points} points requested but the balance is {balance}")]
    PointsExceedBalance {
        /// Points asked for.
        points: Won,
        /// The customer's balance.
        balance: Won,
    },
    /// More points than are left to pay for the items (`POINTS_EXCEED_TOTAL`).
    #[error("{points} points requested but only {payable} is left to pay after the coupon")]
    PointsExceedTotal {
        /// Points asked for.
        points: Won,
        /// Σ net − coupon.
        payable: Won,
    },
}

/// Prices a cart: validates it, allocates the coupon and points by largest remainder, and
/// charges each seller's group its base fee unless its net reaches the free-shipping threshold.
pub fn price_checkout(
    lines: &[CartLine],
    settings: impl Fn(i64) -> Option<ShippingSettings>,
    coupon: Option<CouponTerms>,
    points: Won,
    points_balance: Won,
) -> Result<PricedCheckout, CheckoutError> {
    if lines.is_empty() {
        return Err(CheckoutError::NoLines);
    }
    let mut nets = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.quantity == 0 {
            return Err(CheckoutError::QuantityNotPositive { line: i });
        }
        let gross = line.unit_price.times(line.quantity);
        if line.line_discount.is_negative() || line.line_discount > gross {
            return Err(CheckoutError::InvalidLineDiscount { line: i });
        }
        nets.push(gross - line.line_discount);
    }
    let items_net: Won = nets.iter().sum();

    let coupon_amount = match coupon {
        None => Won::ZERO,
        Some(c) => {
            if c.amount.is_negative() || c.min_purchase.is_negative() {
                return Err(CheckoutError::InvalidCoupon);
            }
            if c.amount > items_net {
                return Err(CheckoutError::CouponExceedsOrder {
                    coupon: c.amount,
                    items_net,
                });
            }
            if items_net < c.min_purchase {
                return Err(CheckoutError::CouponMinimumNotMet {
                    min_purchase: c.min_purchase,
                    items_net,
                });
            }
            c.amount
        }
    };

    if points.is_negative() {
        return Err(CheckoutError::NegativePoints);
    }
    if points > points_balance {
        return Err(CheckoutError::PointsExceedBalance {
            points,
            balance: points_balance,
        });
    }
    let payable = items_net - coupon_amount;
    if points > payable {
        return Err(CheckoutError::PointsExceedTotal { points, payable });
    }

    let coupons = largest_remainder(coupon_amount, &nets);
    let pays: Vec<Won> = nets.iter().zip(&coupons).map(|(n, c)| *n - *c).collect();
    let point_shares = largest_remainder(points, &pays);
    let allocations: Vec<LineAllocation> = nets
        .iter()
        .zip(&coupons)
        .zip(&point_shares)
        .map(|((&net, &coupon), &points)| LineAllocation {
            net,
            coupon,
            points,
            cash: net - coupon - points,
        })
        .collect();

    let mut shipping_fees: Vec<(i64, Won)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if shipping_fees.iter().any(|(s, _)| *s == line.seller_id) {
            continue;
        }
        let s =
            settings(line.seller_id).ok_or(CheckoutError::MissingShippingSettings { line: i })?;
        let group_net: Won = lines
            .iter()
            .zip(&nets)
            .filter(|(l, _)| l.seller_id == line.seller_id)
            .map(|(_, n)| *n)
            .sum();
        let fee = if group_net >= s.free_threshold {
            Won::ZERO
        } else {
            s.base_fee
        };
        shipping_fees.push((line.seller_id, fee));
    }
    let shipping_total: Won = shipping_fees.iter().map(|(_, f)| *f).sum();
    let cash_total = allocations.iter().map(|a| a.cash).sum::<Won>() + shipping_total;

    Ok(PricedCheckout {
        lines: allocations,
        shipping_fees,
        items_net,
        coupon: coupon_amount,
        points,
        shipping_total,
        cash_total,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_cart_line_takes_the_operators_discount_or_the_sellers_per_unit() {
        let offer = Offer {
            seller_id: 3,
            unit_price: Won::new(10_000),
            instant_discount: Won::new(500),
        };
        assert_eq!(CartLine::of(offer, 3, None).line_discount, Won::new(1_500));
        let operator = CartLine::of(offer, 3, Some(Won::new(200)));
        assert_eq!(operator.line_discount, Won::new(200));
        assert_eq!(
            (operator.seller_id, operator.unit_price, operator.quantity),
            (3, Won::new(10_000), 3)
        );
    }

    #[test]
    fn tenders_are_the_cash_by_its_method_then_the_points() {
        let priced = |cash: i64, points: i64| PricedCheckout {
            lines: Vec::new(),
            shipping_fees: Vec::new(),
            items_net: Won::new(cash + points),
            coupon: Won::ZERO,
            points: Won::new(points),
            shipping_total: Won::ZERO,
            cash_total: Won::new(cash),
        };
        let of = |m, p: &PricedCheckout| {
            checkout_tenders(m, p)
                .iter()
                .map(|t| (t.method, t.amount.amount(), t.status))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            of(PaymentMethod::BankTransfer, &priced(9_000, 1_000)),
            vec![
                (
                    TenderMethod::BankTransfer,
                    9_000,
                    TenderStatus::AwaitingDeposit
                ),
                (TenderMethod::Points, 1_000, TenderStatus::Paid),
            ]
        );
        assert_eq!(
            of(PaymentMethod::Card, &priced(9_000, 0)),
            vec![(TenderMethod::Card, 9_000, TenderStatus::AwaitingPayment)]
        );
        assert_eq!(
            of(PaymentMethod::Card, &priced(0, 1_000)),
            vec![(TenderMethod::Points, 1_000, TenderStatus::Paid)]
        );
    }

    fn settings(base: i64, free: i64) -> ShippingSettings {
        ShippingSettings {
            base_fee: Won::new(base),
            free_threshold: Won::new(free),
            return_fee: Won::new(base),
        }
    }

    fn line(seller: i64, price: i64, qty: u32, discount: i64) -> CartLine {
        CartLine {
            seller_id: seller,
            unit_price: Won::new(price),
            quantity: qty,
            line_discount: Won::new(discount),
        }
    }

    #[test]
    fn vector_a_allocations_and_fees() {
        let lines = [
            line(1, 19900, 2, 1900),
            line(1, 45000, 1, 0),
            line(2, 3000, 5, 0),
        ];
        let priced = price_checkout(
            &lines,
            |s| {
                Some(if s == 1 {
                    settings(3000, 50000)
                } else {
                    settings(2500, 30000)
                })
            },
            Some(CouponTerms {
                amount: Won::new(10000),
                min_purchase: Won::new(60000),
            }),
            Won::new(5000),
            Won::new(5000),
        )
        .unwrap();
        let got: Vec<(i64, i64, i64)> = priced
            .lines
            .iter()
            .map(|a| (a.coupon.amount(), a.points.amount(), a.cash.amount()))
            .collect();
        assert_eq!(
            got,
            vec![(3871, 1936, 32093), (4597, 2298, 38105), (1532, 766, 12702)]
        );
        assert_eq!(
            priced.shipping_fees,
            vec![(1, Won::ZERO), (2, Won::new(2500))]
        );
        assert_eq!(priced.cash_total, Won::new(32093 + 38105 + 12702 + 2500));
    }

    #[test]
    fn refusals() {
        let s = |_| Some(settings(3000, 50000));
        let one = [line(1, 10000, 1, 0)];
        let coupon = |amount, min| {
            Some(CouponTerms {
                amount: Won::new(amount),
                min_purchase: Won::new(min),
            })
        };
        assert_eq!(
            price_checkout(&[], s, None, Won::ZERO, Won::ZERO),
            Err(CheckoutError::NoLines)
        );
        assert!(matches!(
            price_checkout(&one, s, coupon(10001, 0), Won::ZERO, Won::ZERO),
            Err(CheckoutError::CouponExceedsOrder { .. })
        ));
        assert!(matches!(
            price_checkout(&one, s, coupon(1000, 20000), Won::ZERO, Won::ZERO),
            Err(CheckoutError::CouponMinimumNotMet { .. })
        ));
        assert!(matches!(
            price_checkout(&one, s, None, Won::new(500), Won::new(100)),
            Err(CheckoutError::PointsExceedBalance { .. })
        ));
        assert!(matches!(
            price_checkout(&one, s, coupon(9000, 0), Won::new(1001), Won::new(5000)),
            Err(CheckoutError::PointsExceedTotal { .. })
        ));
        assert!(matches!(
            price_checkout(&[line(1, 100, 0, 0)], s, None, Won::ZERO, Won::ZERO),
            Err(CheckoutError::QuantityNotPositive { line: 0 })
        ));
        assert!(matches!(
            price_checkout(&[line(1, 100, 1, 101)], s, None, Won::ZERO, Won::ZERO),
            Err(CheckoutError::InvalidLineDiscount { line: 0 })
        ));
    }

    proptest! {
        #[test]
        fn allocations_conserve_every_won(
            raw in proptest::collection::vec((1i64..4, 100i64..100_000, 1u32..5, 0i64..1000), 1..7),
            coupon_pct in 0i64..100,
            points_pct in 0i64..100,
        ) {
            let lines: Vec<CartLine> = raw.iter().map(|&(s, p, q, d)| line(s, p, q, d.min(p))).collect();
            let net: i64 = lines.iter().map(|l| l.unit_price.amount() * i64::from(l.quantity) - l.line_discount.amount()).sum();
            let c = net * coupon_pct / 100;
            let p = (net - c) * points_pct / 100;
            let priced = price_checkout(
                &lines,
                |_| Some(settings(3000, 50000)),
                Some(CouponTerms { amount: Won::new(c), min_purchase: Won::ZERO }),
                Won::new(p),
                Won::new(p),
            ).unwrap();
            prop_assert_eq!(priced.lines.iter().map(|a| a.coupon).sum::<Won>(), Won::new(c));
            prop_assert_eq!(priced.lines.iter().map(|a| a.points).sum::<Won>(), Won::new(p));
            for a in &priced.lines {
                prop_assert!(!a.cash.is_negative() && !a.points.is_negative() && !a.coupon.is_negative());
                prop_assert_eq!(a.coupon + a.points + a.cash, a.net);
            }
            prop_assert_eq!(priced.order_total(), priced.cash_total + priced.points);
        }
    }
}
