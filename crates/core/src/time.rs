//! Time as the core sees it: milliseconds since the Unix epoch, always handed in by the host.
//!
//! The core never reads a clock. Hosts pass `now` into every call that needs it, which keeps the
//! engine deterministic and testable (a test is a list of inputs with their times).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An instant, in milliseconds since 1970-01-01T00:00:00Z (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// Why a timestamp string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an RFC 3339 date-time such as \"2026-07-22T16:00:00.000Z\", found {found:?}")]
pub struct TimestampError {
    /// The text that was refused (cut to 64 characters).
    pub found: String,
}

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// Milliseconds since the epoch.
    #[must_use]
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// This instant moved by `ms` milliseconds (saturating).
    #[must_use]
    pub const fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    ///
    /// A lower-case `t`/`z` and a space for `T` are accepted (RFC 3339 §5.6 allows them);
    /// fractions beyond milliseconds are truncated.
    ///
    /// # Errors
    /// [`TimestampError`] when the text is not such a date-time or names an impossible date.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimestampError> {
        parse(text.as_bytes()).ok_or_else(|| TimestampError { found: text.chars().take(64).collect() })
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, millisecond precision).
    #[must_use]
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return self.to_string();
        }
        // Four-digit years (all the ones events carry) are written byte by byte: answers format
        // a time per segment membership, and `write!` with seven arguments was a tenth of an
        // interact.
        let secs = ms_of_day / 1000;
        let mut out = [0u8; 24];
        let mut put = |at: usize, value: u32, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                out[at + i] = b'0' + u8::try_from(v % 10).unwrap_or(0);
                v /= 10;
            }
        };
        let part = |v: i64| u32::try_from(v).unwrap_or(0);
        put(0, part(y), 4);
        put(5, part(m), 2);
        put(8, part(d), 2);
        put(11, part(secs / 3600), 2);
        put(14, part((secs / 60) % 60), 2);
        put(17, part(secs % 60), 2);
        put(20, part(ms_of_day % 1000), 3);
        for (at, b) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')] {
            out[at] = b;
        }
        out.iter().map(|&b| char::from(b)).collect()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

fn parse(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 60 is a leap second: RFC 3339 allows it; we fold it into the next second's start.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some((&b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut ms_digits = [b'0'; 3];
        for (slot, d) in ms_digits.iter_mut().zip(&frac[..n]) {
            *slot = *d;
        }
        millis = digits(&ms_digits)?;
        rest = &frac[n..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let total = h * 60 + m;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(Timestamp(secs * 1000 + millis))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_forms_alloy_and_browsers_send() {
        let t = Timestamp::parse_rfc3339("2026-07-22T16:00:00.000Z").unwrap();
        assert_eq!(t.to_string(), "2026-07-22T16:00:00.000Z");
        let local = Timestamp::parse_rfc3339("2026-07-22T10:00:00.000-06:00").unwrap();
        assert_eq!(local, t);
        assert_eq!(Timestamp::parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), Timestamp(0));
        assert_eq!(Timestamp::parse_rfc3339("2026-07-22T16:00:00.123456789+00:00").unwrap(), t.plus_millis(123));
    }

    #[test]
    fn refuses_impossible_or_partial_dates() {
        for bad in [
            "",
            "2026-07-22",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-07-22T24:00:00Z",
            "2026-07-22T16:00:00",
            "2026-07-22T16:00:00.Z",
            "2026-07-22T16:00:00+0100",
            "yesterday at noon, roughly",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad} was accepted");
        }
        assert!(Timestamp::parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(ms in -62_135_596_800_000i64..253_402_300_799_999) {
            let t = Timestamp(ms);
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn the_fast_format_is_the_display_format(ms in -62_167_219_200_000i64..253_402_300_800_000) {
            let t = Timestamp(ms);
            prop_assert_eq!(t.to_rfc3339(), t.to_string());
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,40}") {
            let _ = Timestamp::parse_rfc3339(&s);
        }
    }
}
