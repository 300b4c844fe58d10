//! The binary layout of contract version 1 (`plugins/contract/oms_policy_v1.h`).
//!
//! A document is a fixed-size head followed by a tail. Integers are little-endian. A string is
//! a `(u32 offset, u32 length)` pair pointing at UTF-8 bytes in the same document (offsets
//! count from the document's first byte; length 0 means "none"). An array is a
//! `(u32 offset, u32 count)` pair pointing at `count` fixed-size records. Decoding checks
//! every offset, length, code and flag, so a document that breaks the contract is an error,
//! never a panic.

use crate::types::*;
use crate::ABSENT;

/// Why a document does not follow the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

fn err<T>(message: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(message.into()))
}

/// A document of the contract: written by one side, read by the other.
pub trait Document: Sized {
    /// Size of the fixed head in bytes.
    const HEAD: usize;
    /// Writes the document.
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(Self::HEAD);
        self.write(&mut w, 0);
        w.buf
    }
    /// Reads a document, checking it against the contract.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let r = Reader { buf: bytes };
        if bytes.len() < Self::HEAD {
            return err(format!(
                "document is {} bytes, shorter than its {}-byte head",
                bytes.len(),
                Self::HEAD
            ));
        }
        Self::read(&r, 0)
    }
    #[doc(hidden)]
    fn write(&self, w: &mut Writer, at: usize);
    #[doc(hidden)]
    fn read(r: &Reader<'_>, at: usize) -> Result<Self, DecodeError>;
}

#[doc(hidden)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn new(head: usize) -> Writer {
        let mut buf = Vec::with_capacity(head + 256);
        buf.resize(head, 0);
        Writer { buf }
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, at: usize, v: i64) {
        self.buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn time(&mut self, at: usize, v: Option<i64>) {
        self.i64(at, v.unwrap_or(ABSENT));
    }
    fn str(&mut self, at: usize, v: Option<&str>) {
        let bytes = v.unwrap_or("").as_bytes();
        let offset = self.buf.len();
        self.buf.extend_from_slice(bytes);
        self.u32(at, if bytes.is_empty() { 0 } else { offset as u32 });
        self.u32(at + 4, bytes.len() as u32);
    }
    fn array<T: Record>(&mut self, at: usize, items: &[T]) {
        let offset = self.buf.len().next_multiple_of(8);
        self.buf.resize(offset + items.len() * T::SIZE, 0);
        self.u32(at, offset as u32);
        self.u32(at + 4, items.len() as u32);
        for (i, item) in items.iter().enumerate() {
            item.write(self, offset + i * T::SIZE);
        }
    }
}

#[doc(hidden)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn bytes(&self, at: usize, n: usize) -> Result<&[u8], DecodeError> {
        match self.buf.get(at..at.saturating_add(n)) {
            Some(b) => Ok(b),
            None => err(format!("field at byte {at} runs past the document's end")),
        }
    }
    fn u32(&self, at: usize) -> Result<u32, DecodeError> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&self, at: usize) -> Result<i64, DecodeError> {
        let b = self.bytes(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }
    fn amount(&self, at: usize, name: &str) -> Result<i64, DecodeError> {
        let v = self.i64(at)?;
        if v < 0 {
            return err(format!("{name} is negative ({v})"));
        }
        Ok(v)
    }
    fn time(&self, at: usize) -> Result<Option<i64>, DecodeError> {
        let v = self.i64(at)?;
        Ok((v != ABSENT).then_some(v))
    }
    fn bool(&self, at: usize, name: &str) -> Result<bool, DecodeError> {
        match self.u32(at)? {
            0 => Ok(false),
            1 => Ok(true),
            v => err(format!("{name} must be 0 or 1, not {v}")),
        }
    }
    fn flags(&self, at: usize, known: u32, name: &str) -> Result<u32, DecodeError> {
        let v = self.u32(at)?;
        if v & !known != 0 {
            return err(format!("{name} has unknown bits set ({v:#x})"));
        }
        Ok(v)
    }
    fn code<T>(&self, at: usize, from: fn(u32) -> Option<T>, name: &str) -> Result<T, DecodeError> {
        let v = self.u32(at)?;
        match from(v) {
            Some(t) => Ok(t),
            None => err(format!("{name} code {v} is not defined by the contract")),
        }
    }
    fn str(&self, at: usize, name: &str) -> Result<Option<String>, DecodeError> {
        let offset = self.u32(at)? as usize;
        let len = self.u32(at + 4)? as usize;
        if len == 0 {
            return Ok(None);
        }
        let Some(bytes) = self.buf.get(offset..offset.saturating_add(len)) else {
            return err(format!("{name} points past the document's end"));
        };
        match core::str::from_utf8(bytes) {
            Ok(s) => Ok(Some(s.to_owned())),
            Err(_) => err(format!("{name} is not UTF-8")),
        }
    }
    fn array<T: Record>(&self, at: usize, name: &str) -> Result<Vec<T>, DecodeError> {
        let offset = self.u32(at)? as usize;
        let count = self.u32(at + 4)? as usize;
        let end = count
            .checked_mul(T::SIZE)
            .and_then(|n| n.checked_add(offset));
        if end.is_none_or(|end| end > self.buf.len()) {
            return err(format!(
                "{name} ({count} records) runs past the document's end"
            ));
        }
        (0..count)
            .map(|i| T::read(self, offset + i * T::SIZE))
            .collect()
    }
}

/// A fixed-size record inside an array.
#[doc(hidden)]
pub trait Record: Sized {
    const SIZE: usize;
    fn write(&self, w: &mut Writer, at: usize);
    fn read(r: &Reader<'_>, at: usize) -> Result<Self, DecodeError>;
}

impl Record for i64 {
    const SIZE: usize = 8;
    fn write(&self, w: &mut Writer, at: usize) {
        w.i64(at, *self);
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<i64, DecodeError> {
        r.i64(at)
    }
}

impl Record for Item {
    const SIZE: usize = 48;
    fn write(&self, w: &mut Writer, at: usize) {
        w.i64(at, self.line_id);
        w.i64(at + 8, self.product_id);
        w.i64(at + 16, self.option_id);
        w.i64(at + 24, self.unit_price);
        w.u32(at + 32, self.quantity);
        w.u32(at + 36, u32::from(self.bulky));
        w.str(at + 40, self.bundle_id.as_deref());
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<Item, DecodeError> {
        Ok(Item {
            line_id: r.i64(at)?,
            product_id: r.i64(at + 8)?,
            option_id: r.i64(at + 16)?,
            unit_price: r.amount(at + 24, "unit_price")?,
            quantity: r.u32(at + 32)?,
            bulky: r.flags(at + 36, 1, "item flags")? & 1 != 0,
            bundle_id: r.str(at + 40, "bundle_id")?,
        })
    }
}

impl Record for EarlierClaim {
    const SIZE: usize = 24;
    fn write(&self, w: &mut Writer, at: usize) {
        w.i64(at, self.line_id);
        w.u32(at + 8, self.claim_type.code());
        w.u32(at + 12, self.reason.code());
        w.u32(at + 16, self.fault.code());
        w.u32(at + 20, self.quantity);
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<EarlierClaim, DecodeError> {
        Ok(EarlierClaim {
            line_id: r.i64(at)?,
            claim_type: r.code(at + 8, ClaimType::from_code, "claim_type")?,
            reason: r.code(at + 12, Reason::from_code, "reason")?,
            fault: r.code(at + 16, Fault::from_code, "fault")?,
            quantity: r.u32(at + 20)?,
        })
    }
}

impl Record for OrderLine {
    const SIZE: usize = 24;
    fn write(&self, w: &mut Writer, at: usize) {
        w.i64(at, self.line_id);
        w.u32(at + 8, self.active_quantity);
        w.str(at + 16, self.bundle_id.as_deref());
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<OrderLine, DecodeError> {
        Ok(OrderLine {
            line_id: r.i64(at)?,
            active_quantity: r.u32(at + 8)?,
            bundle_id: r.str(at + 16, "bundle_id")?,
        })
    }
}

impl Record for ExchangeItem {
    const SIZE: usize = 72;
    fn write(&self, w: &mut Writer, at: usize) {
        self.item.write(w, at);
        w.i64(at + 48, self.replacement_option_id);
        w.i64(at + 56, self.replacement_price);
        w.u32(at + 64, self.replacement_stock);
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<ExchangeItem, DecodeError> {
        Ok(ExchangeItem {
            item: Item::read(r, at)?,
            replacement_option_id: r.i64(at + 48)?,
            replacement_price: r.amount(at + 56, "replacement_price")?,
            replacement_stock: r.u32(at + 64)?,
        })
    }
}

impl Document for ClaimFeesInput {
    const HEAD: usize = 88;
    fn write(&self, w: &mut Writer, at: usize) {
        w.u32(at, self.claim_type.code());
        w.u32(at + 4, self.reason.code());
        w.u32(at + 8, self.collection_method.code());
        w.i64(at + 16, self.base_fee);
        w.i64(at + 24, self.free_threshold);
        w.i64(at + 32, self.shipping_fee_paid);
        w.i64(at + 40, self.return_fee);
        w.time(at + 48, self.delivered_at);
        w.i64(at + 56, self.now);
        w.str(at + 64, self.memo.as_deref());
        w.array(at + 72, &self.items);
        w.array(at + 80, &self.earlier_claims);
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<ClaimFeesInput, DecodeError> {
        Ok(ClaimFeesInput {
            claim_type: r.code(at, ClaimType::from_code, "claim_type")?,
            reason: r.code(at + 4, Reason::from_code, "reason")?,
            collection_method: r.code(at + 8, CollectionMethod::from_code, "collection_method")?,
            base_fee: r.amount(at + 16, "base_fee")?,
            free_threshold: r.amount(at + 24, "free_threshold")?,
            shipping_fee_paid: r.amount(at + 32, "shipping_fee_paid")?,
            return_fee: r.amount(at + 40, "return_fee")?,
            delivered_at: r.time(at + 48)?,
            now: r.i64(at + 56)?,
            memo: r.str(at + 64, "memo")?,
            items: r.array(at + 72, "items")?,
            earlier_claims: r.array(at + 80, "earlier_claims")?,
        })
    }
}

/// `FeeDecision.flags`: the initial-shipping charge may apply.
pub const FEE_INITIAL_SHIPPING: u32 = 1;
/// `FeeDecision.flags`: the coupon clawback may apply.
pub const FEE_COUPON_CLAWBACK: u32 = 2;

impl Document for FeeDecision {
    const HEAD: usize = 32;
    fn write(&self, w: &mut Writer, at: usize) {
        w.u32(at, self.fault.code());
        let mut flags = 0;
        if self.initial_shipping {
            flags |= FEE_INITIAL_SHIPPING;
        }
        if self.coupon_clawback {
            flags |= FEE_COUPON_CLAWBACK;
        }
        w.u32(at + 4, flags);
        w.i64(at + 8, self.return_fee);
        w.i64(at + 16, self.exchange_fee);
        w.str(at + 24, self.message.as_deref());
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<FeeDecision, DecodeError> {
        let flags = r.flags(
            at + 4,
            FEE_INITIAL_SHIPPING | FEE_COUPON_CLAWBACK,
            "fee flags",
        )?;
        Ok(FeeDecision {
            fault: r.code(at, Fault::from_code, "fault")?,
            initial_shipping: flags & FEE_INITIAL_SHIPPING != 0,
            coupon_clawback: flags & FEE_COUPON_CLAWBACK != 0,
            return_fee: r.amount(at + 8, "return_fee")?,
            exchange_fee: r.amount(at + 16, "exchange_fee")?,
            message: r.str(at + 24, "message")?,
        })
    }
}

impl Document for ExchangeRulesInput {
    const HEAD: usize = 40;
    fn write(&self, w: &mut Writer, at: usize) {
        w.u32(at, self.reason.code());
        w.u32(at + 4, self.fault.code());
        w.i64(at + 8, self.now);
        w.array(at + 16, &self.order_lines);
        w.array(at + 24, &self.items);
        w.array(at + 32, &self.earlier_exchanges);
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<ExchangeRulesInput, DecodeError> {
        Ok(ExchangeRulesInput {
            reason: r.code(at, Reason::from_code, "reason")?,
            fault: r.code(at + 4, Fault::from_code, "fault")?,
            now: r.i64(at + 8)?,
            order_lines: r.array(at + 16, "order_lines")?,
            items: r.array(at + 24, "items")?,
            earlier_exchanges: r.array(at + 32, "earlier_exchanges")?,
        })
    }
}

impl Document for ExchangeVerdict {
    const HEAD: usize = 32;
    fn write(&self, w: &mut Writer, at: usize) {
        w.u32(at, u32::from(self.allowed));
        w.str(at + 8, self.code.as_deref());
        w.str(at + 16, self.message.as_deref());
        w.array(at + 24, &self.required_line_ids);
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<ExchangeVerdict, DecodeError> {
        Ok(ExchangeVerdict {
            allowed: r.bool(at, "allowed")?,
            code: r.str(at + 8, "code")?,
            message: r.str(at + 16, "message")?,
            required_line_ids: r.array(at + 24, "required_line_ids")?,
        })
    }
}

impl Document for ClaimWindowInput {
    const HEAD: usize = 48;
    fn write(&self, w: &mut Writer, at: usize) {
        w.u32(at, self.claim_type.code());
        w.u32(at + 4, self.reason.code());
        w.u32(at + 8, self.fault.code());
        w.time(at + 16, self.shipped_at);
        w.time(at + 24, self.delivered_at);
        w.time(at + 32, self.purchase_confirmed_at);
        w.i64(at + 40, self.now);
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<ClaimWindowInput, DecodeError> {
        Ok(ClaimWindowInput {
            claim_type: r.code(at, ClaimType::from_code, "claim_type")?,
            reason: r.code(at + 4, Reason::from_code, "reason")?,
            fault: r.code(at + 8, Fault::from_code, "fault")?,
            shipped_at: r.time(at + 16)?,
            delivered_at: r.time(at + 24)?,
            purchase_confirmed_at: r.time(at + 32)?,
            now: r.i64(at + 40)?,
        })
    }
}

impl Document for WindowVerdict {
    const HEAD: usize = 24;
    fn write(&self, w: &mut Writer, at: usize) {
        w.u32(at, u32::from(self.allowed));
        w.str(at + 8, self.code.as_deref());
        w.str(at + 16, self.message.as_deref());
    }
    fn read(r: &Reader<'_>, at: usize) -> Result<WindowVerdict, DecodeError> {
        Ok(WindowVerdict {
            allowed: r.bool(at, "allowed")?,
            code: r.str(at + 8, "code")?,
            message: r.str(at + 16, "message")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(line: i64, bundle: Option<&str>) -> Item {
        Item {
            line_id: line,
            product_id: 7,
            option_id: 9,
            unit_price: 12_000,
            quantity: 2,
            bulky: line % 2 == 0,
            bundle_id: bundle.map(str::to_owned),
        }
    }

    #[test]
    fn documents_round_trip() {
        let fees = ClaimFeesInput {
            claim_type: ClaimType::Exchange,
            reason: Reason::SizeOrOptionChange,
            collection_method: CollectionMethod::Pickup,
            base_fee: 3000,
            free_threshold: 50_000,
            shipping_fee_paid: 0,
            return_fee: 2500,
            delivered_at: Some(1_700_000_000),
            now: 1_700_100_000,
            memo: Some("사이즈가 작아요".into()),
            items: vec![item(1, Some("SET-1")), item(2, None)],
            earlier_claims: vec![EarlierClaim {
                line_id: 1,
                claim_type: ClaimType::Return,
                reason: Reason::Defective,
                fault: Fault::Seller,
                quantity: 1,
            }],
        };
        assert_eq!(ClaimFeesInput::decode(&fees.encode()).unwrap(), fees);
        let verdict = ExchangeVerdict {
            allowed: false,
            code: Some("BUNDLE_MUST_BE_WHOLE".into()),
            message: None,
            required_line_ids: vec![3, 4],
        };
        assert_eq!(ExchangeVerdict::decode(&verdict.encode()).unwrap(), verdict);
        let window = ClaimWindowInput {
            claim_type: ClaimType::Return,
            reason: Reason::ChangeOfMind,
            fault: Fault::Customer,
            shipped_at: None,
            delivered_at: Some(5),
            purchase_confirmed_at: None,
            now: 10,
        };
        assert_eq!(ClaimWindowInput::decode(&window.encode()).unwrap(), window);
    }

    #[test]
    fn broken_documents_are_errors() {
        let mut out = FeeDecision {
            fault: Fault::Customer,
            return_fee: 2500,
            initial_shipping: true,
            coupon_clawback: false,
            exchange_fee: 0,
            message: Some("ok".into()),
        }
        .encode();
        assert!(FeeDecision::decode(&out[..31]).is_err());
        out[0] = 9; // an unknown fault
        assert!(FeeDecision::decode(&out)
            .unwrap_err()
            .0
            .contains("fault code 9"));
        out[0] = 1;
        out[8..16].copy_from_slice(&(-1i64).to_le_bytes());
        assert!(FeeDecision::decode(&out)
            .unwrap_err()
            .0
            .contains("negative"));
        out[8..16].copy_from_slice(&0i64.to_le_bytes());
        out[28..32].copy_from_slice(&1000u32.to_le_bytes()); // message runs past the end
        assert!(FeeDecision::decode(&out).is_err());
    }
}
