//! Per-seller quotas on the plugin work a partner can ask for at will: dry runs (an
//! evaluation each) and checks of raw modules (a compile each). A token bucket per seller and
//! kind, in this process: a burst is allowed, a flood is refused with `RATE_LIMITED` and the
//! time to wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    /// A dry run of a stored plugin or of the default: one evaluation.
    Evaluation,
    /// An upload, a check or a dry run of raw bytes: one compile.
    Compile,
}

impl QuotaKind {
    /// How many at once, and how fast the allowance comes back.
    pub const fn rate(self) -> (u32, Duration) {
        match self {
            QuotaKind::Evaluation => (30, Duration::from_millis(200)),
            QuotaKind::Compile => (30, Duration::from_secs(2)),
        }
    }

    /// Its name in a refusal.
    pub const fn noun(self) -> &'static str {
        match self {
            QuotaKind::Evaluation => "dry runs",
            QuotaKind::Compile => "plugin checks and uploads",
        }
    }
}

struct Bucket {
    tokens: u32,
    since: Instant,
}

/// The buckets of every seller of this process.
#[derive(Default)]
pub struct SellerQuota {
    buckets: Mutex<HashMap<(i64, QuotaKind), Bucket>>,
}

impl SellerQuota {
    /// Takes one `kind` from `seller`'s allowance, or says how long until one is back.
    pub fn take(&self, seller: i64, kind: QuotaKind, now: Instant) -> Result<(), Duration> {
        let (burst, every) = kind.rate();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((seller, kind)).or_insert(Bucket {
            tokens: burst,
            since: now,
        });
        let earned = now.saturating_duration_since(bucket.since).as_nanos() / every.as_nanos();
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            bucket.tokens = bucket.tokens.saturating_add(earned).min(burst);
            bucket.since += every * earned.min(burst);
            if bucket.tokens == burst {
                bucket.since = now;
            }
        }
        if bucket.tokens == 0 {
            return Err((bucket.since + every).saturating_duration_since(now));
        }
        bucket.tokens -= 1;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_one_more_waits_and_the_allowance_comes_back() {
        let quota = SellerQuota::default();
        let start = Instant::now();
        let (burst, every) = QuotaKind::Compile.rate();
        for _ in 0..burst {
            assert_eq!(quota.take(7, QuotaKind::Compile, start), Ok(()));
        }
        let wait = quota.take(7, QuotaKind::Compile, start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= every, "{wait:?}");
        // Another seller and another kind have their own allowances.
        assert_eq!(quota.take(8, QuotaKind::Compile, start), Ok(()));
        assert_eq!(quota.take(7, QuotaKind::Evaluation, start), Ok(()));
        // One period later, exactly one more.
        assert_eq!(quota.take(7, QuotaKind::Compile, start + every), Ok(()));
        assert!(quota.take(7, QuotaKind::Compile, start + every).is_err());
        // Long after, a full burst again (and no more).
        let later = start + every * 1_000;
        for _ in 0..burst {
            assert_eq!(quota.take(7, QuotaKind::Compile, later), Ok(()));
        }
        assert!(quota.take(7, QuotaKind::Compile, later).is_err());
    }
}
