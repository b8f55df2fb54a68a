//! A calendar date without time or zone: enough for birth dates and document validity.

use std::fmt;

use super::FieldError;

/// A proleptic Gregorian calendar date, years 1–9999.
///
/// Ordering is chronological. `Display` and serde use `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order matters: the derived `Ord` compares year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

const DATE_FORMAT: FieldError = FieldError::new("date.format", "日期格式不正确，应为YYYY-MM-DD");
const DATE_INVALID: FieldError = FieldError::new("date.invalid", "日期不存在");

impl Date {
    /// The date, or `None` if it does not exist (e.g. 2023-02-29) or the year is outside 1–9999.
    pub const fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if year < 1 || year > 9999 || month < 1 || month > 12 {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Parse `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` (the form printed on ID cards) or
    /// `YYYYMMDD`, after trimming surrounding whitespace. With a separator, month and day may
    /// have one digit.
    pub fn parse(input: &str) -> Result<Date, FieldError> {
        let s = input.trim();
        let (y, m, d) = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
            (&s[0..4], &s[4..6], &s[6..8])
        } else {
            let sep = s
                .chars()
                .find(|c| matches!(c, '-' | '/' | '.'))
                .ok_or(DATE_FORMAT)?;
            let mut parts = s.split(sep);
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(y), Some(m), Some(d), None) => (y, m, d),
                _ => return Err(DATE_FORMAT),
            }
        };
        let digits = |p: &str, min: usize, max: usize| {
            (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(y, 4, 4) || !digits(m, 1, 2) || !digits(d, 1, 2) {
            return Err(DATE_FORMAT);
        }
        // Cannot fail: at most four ASCII digits each.
        let (y, m, d) = (
            y.parse::<u16>().map_err(|_| DATE_FORMAT)?,
            m.parse::<u8>().map_err(|_| DATE_FORMAT)?,
            d.parse::<u8>().map_err(|_| DATE_FORMAT)?,
        );
        Date::new(y, m, d).ok_or(DATE_INVALID)
    }

    /// Parse exactly eight ASCII digits `YYYYMMDD` (the birth date inside an ID number).
    pub(crate) fn from_yyyymmdd(digits: &[u8]) -> Option<Date> {
        if digits.len() != 8 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| {
            digits[r]
                .iter()
                .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'))
        };
        let month = u8::try_from(n(4..6)).ok()?;
        let day = u8::try_from(n(6..8)).ok()?;
        Date::new(n(0..4), month, day)
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// The same month and day `years` later. 29 February in a year that is not a leap year
    /// becomes 28 February (the last day of that month). `None` past year 9999.
    pub fn add_years(self, years: u16) -> Option<Date> {
        let year = self.year.checked_add(years).filter(|y| *y <= 9999)?;
        let day = self.day.min(days_in_month(year, self.month));
        Date::new(year, self.month, day)
    }

    /// Whole years from `self` to `later` (an age on `later` for a birth date `self`); 0 if
    /// `later` is not after `self`.
    pub fn years_until(self, later: Date) -> u16 {
        if later <= self {
            return 0;
        }
        let mut years = later.year - self.year;
        if (later.month, later.day) < (self.month, self.day) {
            years -= 1;
        }
        years
    }
}

pub(crate) const fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            if is_leap_year(year) {
                29
            } else {
                28
            }
        }
        _ => 0,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Date::parse(&s).map_err(|e| <D::Error as serde::de::Error>::custom(e.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn calendar_rules() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2024, 4, 31).is_none());
        assert!(Date::new(2024, 13, 1).is_none());
        assert!(Date::new(2024, 1, 0).is_none());
        assert!(Date::new(0, 1, 1).is_none());
    }

    #[test]
    fn parses_common_forms() {
        for s in [
            "2024-03-07",
            "2024/03/07",
            "2024.03.07",
            "20240307",
            " 2024-3-7 ",
        ] {
            assert_eq!(Date::parse(s), Ok(d(2024, 3, 7)), "{s}");
        }
        for s in [
            "",
            "2024",
            "2024-03",
            "2024-03-07-01",
            "24-03-07",
            "2024-003-07",
            "２０２４",
        ] {
            assert_eq!(Date::parse(s).unwrap_err().code(), "date.format", "{s}");
        }
        assert_eq!(
            Date::parse("2023-02-29").unwrap_err().code(),
            "date.invalid"
        );
        assert_eq!(
            Date::parse("2024-00-10").unwrap_err().code(),
            "date.invalid"
        );
    }

    #[test]
    fn add_years_keeps_month_and_day() {
        assert_eq!(d(2010, 3, 7).add_years(20), Some(d(2030, 3, 7)));
        assert_eq!(d(2024, 2, 29).add_years(1), Some(d(2025, 2, 28)));
        assert_eq!(d(2024, 2, 29).add_years(4), Some(d(2028, 2, 29)));
        assert_eq!(d(9990, 1, 1).add_years(20), None);
    }

    #[test]
    fn ordering_and_age() {
        assert!(d(2024, 1, 31) < d(2024, 2, 1));
        assert_eq!(d(1990, 3, 7).years_until(d(2024, 3, 6)), 33);
        assert_eq!(d(1990, 3, 7).years_until(d(2024, 3, 7)), 34);
        assert_eq!(d(2024, 3, 7).years_until(d(2020, 1, 1)), 0);
        assert_eq!(d(2024, 3, 7).to_string(), "2024-03-07");
    }
}
