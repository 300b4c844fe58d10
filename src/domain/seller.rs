//! Sellers as the marketplace onboards them (입점): the business registration number
//! (사업자등록번호) with its check digit, and the shipping terms a seller sets for its own orders
//! (`domain.md`: orders copy them at checkout and keep them for their whole life).

use std::fmt;

use super::money::Won;

/// The largest base shipping fee or return fee a seller may set (a parcel's fee, with room
/// for bulky goods).
pub const MAX_FEE: Won = Won::new(1_000_000);

/// The largest free-shipping threshold a seller may set.
pub const MAX_FREE_THRESHOLD: Won = Won::new(100_000_000);

/// A business registration number (사업자등록번호): ten digits whose last is the check digit
/// of the National Tax Service's rule; written `123-45-67890`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessNumber(String);

/// Why a seller's details are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SellerError {
    /// Not ten digits (hyphens and spaces aside).
    #[error("a business registration number has ten digits (123-45-67890), not `{0}`")]
    BusinessNumberShape(String),
    /// Ten digits whose check digit does not match: a typo.
    #[error("business registration number {0} fails its check digit: check it for a typo")]
    BusinessNumberCheck(String),
    /// A fee or threshold out of its range.
    #[error("{field} must be from 0원 to {max}, not {value}")]
    TermOutOfRange {
        /// The input field.
        field: &'static str,
        /// The largest allowed.
        max: Won,
        /// What was given.
        value: Won,
    },
}

impl BusinessNumber {
    /// The number in `raw` (hyphens and spaces allowed), or why not.
    pub fn parse(raw: &str) -> Result<BusinessNumber, SellerError> {
        let digits: Vec<u32> = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_digit(10))
            .collect::<Option<Vec<u32>>>()
            .filter(|d| d.len() == 10)
            .ok_or_else(|| SellerError::BusinessNumberShape(raw.to_owned()))?;
        // The National Tax Service's weights; the ninth digit's weight-5 product carries its
        // tens into the sum.
        const WEIGHTS: [u32; 9] = [1, 3, 7, 1, 3, 7, 1, 3, 5];
        let mut sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        sum += digits[8] * 5 / 10;
        let check = (10 - sum % 10) % 10;
        let text: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
        let formatted = format!("{}-{}-{}", &text[..3], &text[3..5], &text[5..]);
        if check != digits[9] {
            return Err(SellerError::BusinessNumberCheck(formatted));
        }
        Ok(BusinessNumber(formatted))
    }

    /// The number as `123-45-67890`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BusinessNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A seller's shipping terms (배송비 정책): what its orders copy at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShippingTerms {
    /// 기본 배송비.
    pub base_fee: Won,
    /// 무료배송 기준: items of at least this much ship free.
    pub free_threshold: Won,
    /// 반품 배송비 (one way).
    pub return_fee: Won,
}

impl ShippingTerms {
    /// The terms, or the first out of its range (named by its input field).
    pub fn checked(self) -> Result<ShippingTerms, SellerError> {
        for (field, value, max) in [
            ("baseShippingFee", self.base_fee, MAX_FEE),
            (
                "freeShippingThreshold",
                self.free_threshold,
                MAX_FREE_THRESHOLD,
            ),
            ("returnFee", self.return_fee, MAX_FEE),
        ] {
            if value.is_negative() || value > max {
                return Err(SellerError::TermOutOfRange { field, max, value });
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_numbers_carry_a_check_digit() {
        // A published number (checked against the rule in Python as well).
        let n = BusinessNumber::parse("220-81-62517").map(|n| n.to_string());
        assert_eq!(n, Ok("220-81-62517".to_owned()));
        assert_eq!(
            BusinessNumber::parse("220 8162517").map(|n| n.to_string()),
            Ok("220-81-62517".to_owned())
        );
        assert!(matches!(
            BusinessNumber::parse("220-81-62518"),
            Err(SellerError::BusinessNumberCheck(_))
        ));
        for shape in [
            "",
            "12-34",
            "120-81-4767a",
            "12081476751",
            "１２０８１４７６７５",
        ] {
            assert!(
                matches!(
                    BusinessNumber::parse(shape),
                    Err(SellerError::BusinessNumberShape(_))
                ),
                "{shape}"
            );
        }
    }

    #[test]
    fn terms_at_their_limits() {
        let terms = |base, free, ret| ShippingTerms {
            base_fee: Won::new(base),
            free_threshold: Won::new(free),
            return_fee: Won::new(ret),
        };
        assert!(terms(0, 0, 0).checked().is_ok());
        assert!(terms(1_000_000, 100_000_000, 1_000_000).checked().is_ok());
        for (t, field) in [
            (terms(1_000_001, 0, 0), "baseShippingFee"),
            (terms(0, 100_000_001, 0), "freeShippingThreshold"),
            (terms(0, 0, 1_000_001), "returnFee"),
            (terms(-1, 0, 0), "baseShippingFee"),
        ] {
            assert!(
                matches!(t.checked(), Err(SellerError::TermOutOfRange { field: f, .. }) if f == field),
                "{field}"
            );
        }
    }
}
