//! Whole Korean won and the two roundings every amount in `money.md` goes through.
//!
//! KRW has no minor unit, so money is an `i64` count of won in a newtype. Arithmetic is only
//! what the rules need; there is no float anywhere near it.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

/// An amount of Korean won (원). May be negative only as an intermediate difference.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Won(i64);

impl Won {
    /// Zero won.
    pub const ZERO: Won = Won(0);

    /// Wraps a count of won.
    pub const fn new(amount: i64) -> Self {
        Won(amount)
    }

    /// The count of won.
    pub const fn amount(self) -> i64 {
        self.0
    }

    /// True when the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// True when the amount is above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `self × quantity`, e.g. a unit price times a line's quantity.
    pub fn times(self, quantity: u32) -> Won {
        Won(self.0 * i64::from(quantity))
    }

    /// The smaller of the two amounts.
    pub fn min(self, other: Won) -> Won {
        Won(self.0.min(other.0))
    }

    /// The amount, or zero when it is negative.
    pub fn at_least_zero(self) -> Won {
        Won(self.0.max(0))
    }
}

impl fmt::Display for Won {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}원", self.0)
    }
}

impl Add for Won {
    type Output = Won;
    fn add(self, rhs: Won) -> Won {
        Won(self.0 + rhs.0)
    }
}

impl Sub for Won {
    type Output = Won;
    fn sub(self, rhs: Won) -> Won {
        Won(self.0 - rhs.0)
    }
}

impl Neg for Won {
    type Output = Won;
    fn neg(self) -> Won {
        Won(-self.0)
    }
}

impl AddAssign for Won {
    fn add_assign(&mut self, rhs: Won) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Won {
    fn sub_assign(&mut self, rhs: Won) {
        self.0 -= rhs.0;
    }
}

impl Sum for Won {
    fn sum<I: Iterator<Item = Won>>(iter: I) -> Won {
        Won(iter.map(|w| w.0).sum())
    }
}

impl<'a> Sum<&'a Won> for Won {
    fn sum<I: Iterator<Item = &'a Won>>(iter: I) -> Won {
        iter.copied().sum()
    }
}

/// Splits `total` over `weights` in proportion by the largest remainder method (`money.md`,
/// "At checkout"): each weight gets `floor(total × w / Σw)`, and the won left over go one each
/// to the largest remainders, ties to the earlier weight. The parts always add up to `total`.
/// All weights zero (or a zero total) gives all zeros.
pub fn largest_remainder(total: Won, weights: &[Won]) -> Vec<Won> {
    let sum: i128 = weights.iter().map(|w| i128::from(w.0)).sum();
    if sum == 0 || total == Won::ZERO {
        return vec![Won::ZERO; weights.len()];
    }
    let total = i128::from(total.0);
    let mut parts: Vec<i128> = weights
        .iter()
        .map(|w| total * i128::from(w.0) / sum)
        .collect();
    let mut by_remainder: Vec<(i128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (total * i128::from(w.0) % sum, i))
        .collect();
    // Largest remainder first; among equal remainders the earlier line first.
    by_remainder.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left_over = total - parts.iter().sum::<i128>();
    for &(_, i) in by_remainder
        .iter()
        .take(usize::try_from(left_over).unwrap_or(0))
    {
        parts[i] += 1;
    }
    parts
        .into_iter()
        .map(|p| Won(i64::try_from(p).unwrap_or(i64::MAX)))
        .collect()
}

/// The share of a line's stored `amount` that belongs to units `closed + 1 ..= closed + k` of a
/// line of `quantity` units (`money.md`, "Units of a line"):
/// `floor(A × (closed + k) / n) − floor(A × closed / n)`. The shares of all units add up to
/// `amount` exactly, in any order of claims.
pub fn unit_share(amount: Won, quantity: u32, closed: u32, k: u32) -> Won {
    if quantity == 0 {
        return Won::ZERO;
    }
    let a = i128::from(amount.0);
    let n = i128::from(quantity);
    let upto = |units: u32| a * i128::from(units) / n;
    let share = upto(closed + k) - upto(closed);
    Won(i64::try_from(share).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn won(v: &[i64]) -> Vec<Won> {
        v.iter().copied().map(Won::new).collect()
    }

    #[test]
    fn largest_remainder_gives_leftovers_to_largest_remainders_then_earlier_lines() {
        // 10 over three equal weights: 3,3,3 with one won left, to the first line (tie).
        assert_eq!(
            largest_remainder(Won::new(10), &won(&[1, 1, 1])),
            won(&[4, 3, 3])
        );
        // Vector A of refunds.json: coupon 10000 over nets 37900, 45000, 15000.
        assert_eq!(
            largest_remainder(Won::new(10000), &won(&[37900, 45000, 15000])),
            won(&[3871, 4597, 1532])
        );
    }

    #[test]
    fn largest_remainder_of_nothing_is_zeros() {
        assert_eq!(largest_remainder(Won::ZERO, &won(&[5, 6])), won(&[0, 0]));
        assert_eq!(largest_remainder(Won::new(7), &won(&[0, 0])), won(&[0, 0]));
    }

    proptest! {
        #[test]
        fn largest_remainder_adds_up_and_never_strays_more_than_a_won(
            total in 0i64..10_000_000,
            weights in proptest::collection::vec(0i64..5_000_000, 1..8),
        ) {
            let ws = won(&weights);
            let parts = largest_remainder(Won::new(total), &ws);
            let sum_w: i64 = weights.iter().sum();
            if sum_w == 0 {
                prop_assert!(parts.iter().all(|p| *p == Won::ZERO));
            } else {
                prop_assert_eq!(parts.iter().sum::<Won>(), Won::new(total));
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = i128::from(total) * i128::from(*w);
                    let lo = exact / i128::from(sum_w);
                    prop_assert!(i128::from(p.amount()) == lo || i128::from(p.amount()) == lo + 1);
                }
            }
        }

        #[test]
        fn unit_shares_add_up_in_any_order(
            amount in 0i64..10_000_000,
            cuts in proptest::collection::vec(1u32..4, 1..6),
        ) {
            let n: u32 = cuts.iter().sum();
            let mut closed = 0;
            let mut total = Won::ZERO;
            for k in cuts {
                total += unit_share(Won::new(amount), n, closed, k);
                closed += k;
            }
            prop_assert_eq!(total, Won::new(amount));
        }
    }
}
