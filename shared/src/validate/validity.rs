//! 证件有效期: the validity period of an identity document.

use super::{Date, FieldError};

const ERR_START_REQUIRED: FieldError =
    FieldError::new("id_validity.start_required", "请选择证件有效期开始日期");
const ERR_START: FieldError = FieldError::new("id_validity.start", "证件有效期开始日期不正确");
const ERR_END_REQUIRED: FieldError =
    FieldError::new("id_validity.end_required", "请选择证件有效期结束日期");
const ERR_END: FieldError = FieldError::new("id_validity.end", "证件有效期结束日期不正确");
const ERR_START_IN_FUTURE: FieldError = FieldError::new(
    "id_validity.start_in_future",
    "证件有效期开始日期不能晚于今天",
);
const ERR_ORDER: FieldError =
    FieldError::new("id_validity.order", "证件有效期结束日期不能早于开始日期");
const ERR_TERM: FieldError = FieldError::new(
    "id_validity.term",
    "身份证有效期应为5年、10年、20年或长期，结束日期与开始日期的月日相同",
);
const ERR_EXPIRED: FieldError = FieldError::new("id_validity.expired", "证件已过期");

/// The validity term of a resident ID card (居民身份证法 art. 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResidentCardTerm {
    Years5,
    Years10,
    Years20,
    /// 长期: no end date.
    LongTerm,
}

impl ResidentCardTerm {
    /// Length of the term in years; `None` for 长期.
    pub fn years(self) -> Option<u16> {
        match self {
            ResidentCardTerm::Years5 => Some(5),
            ResidentCardTerm::Years10 => Some(10),
            ResidentCardTerm::Years20 => Some(20),
            ResidentCardTerm::LongTerm => None,
        }
    }

    /// `"5年"`, `"10年"`, `"20年"` or `"长期"`.
    pub fn label(self) -> &'static str {
        match self {
            ResidentCardTerm::Years5 => "5年",
            ResidentCardTerm::Years10 => "10年",
            ResidentCardTerm::Years20 => "20年",
            ResidentCardTerm::LongTerm => "长期",
        }
    }

    /// The term the law assigns to a card issued at `age`: under 16 → 5 years, 16–25 → 10,
    /// 26–45 → 20, 46 and over → 长期. Informational: [`IdValidity`] accepts any term, since
    /// the age on the issue date is not always known exactly.
    pub fn for_age(age: u16) -> ResidentCardTerm {
        match age {
            0..=15 => ResidentCardTerm::Years5,
            16..=25 => ResidentCardTerm::Years10,
            26..=45 => ResidentCardTerm::Years20,
            _ => ResidentCardTerm::LongTerm,
        }
    }
}

/// A validity period: a start date and an end date, or no end date (长期).
///
/// Every constructor takes `today` and rejects a period that starts after today or ended
/// before today (the end date itself is still valid). They are meant for registration and
/// profile edits; a stored period is read back without checks through [`IdValidity::from_stored`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "StoredValidity")]
pub struct IdValidity {
    start: Date,
    /// `None` = 长期.
    end: Option<Date>,
}

#[derive(serde::Deserialize)]
struct StoredValidity {
    start: Date,
    end: Option<Date>,
}

impl TryFrom<StoredValidity> for IdValidity {
    type Error = FieldError;
    fn try_from(v: StoredValidity) -> Result<Self, FieldError> {
        IdValidity::from_stored(v.start, v.end).ok_or(ERR_ORDER)
    }
}

impl IdValidity {
    /// A resident ID card valid from `start` for `term`. The end date is the same month and
    /// day `term` years later (29 February becomes 28 February in a common year).
    pub fn resident_card(
        start: Date,
        term: ResidentCardTerm,
        today: Date,
    ) -> Result<IdValidity, FieldError> {
        let end = match term.years() {
            Some(n) => Some(start.add_years(n).ok_or(ERR_END)?),
            None => None,
        };
        IdValidity { start, end }.check_current(today)
    }

    /// A resident ID card period from the two form fields: `end` is a date or `长期`
    /// (`长期有效` is accepted too) and must be the start date plus 5, 10 or 20 years.
    pub fn parse_resident_card(
        start: &str,
        end: &str,
        today: Date,
    ) -> Result<IdValidity, FieldError> {
        let start = parse_date(start, ERR_START_REQUIRED, ERR_START)?;
        let end = end.trim();
        if is_long_term(end) {
            return IdValidity::resident_card(start, ResidentCardTerm::LongTerm, today);
        }
        let end = parse_date(end, ERR_END_REQUIRED, ERR_END)?;
        if end < start {
            return Err(ERR_ORDER);
        }
        // The end date is kept as entered (it may be 1 March for a 29 February start).
        if ![5, 10, 20].into_iter().any(|n| matches_term(start, end, n)) {
            return Err(ERR_TERM);
        }
        IdValidity {
            start,
            end: Some(end),
        }
        .check_current(today)
    }

    /// Any other document: `start` ≤ `end`, started by `today` and not yet expired.
    pub fn range(start: Date, end: Date, today: Date) -> Result<IdValidity, FieldError> {
        if end < start {
            return Err(ERR_ORDER);
        }
        IdValidity {
            start,
            end: Some(end),
        }
        .check_current(today)
    }

    /// [`IdValidity::range`] from the two form fields (dates as accepted by [`Date::parse`]).
    pub fn parse_range(start: &str, end: &str, today: Date) -> Result<IdValidity, FieldError> {
        let start = parse_date(start, ERR_START_REQUIRED, ERR_START)?;
        let end = parse_date(end, ERR_END_REQUIRED, ERR_END)?;
        IdValidity::range(start, end, today)
    }

    /// Rebuild a period read from storage, without the checks against today (it may have
    /// expired since). Returns `None` if `end` is before `start`.
    pub fn from_stored(start: Date, end: Option<Date>) -> Option<IdValidity> {
        match end {
            Some(e) if e < start => None,
            _ => Some(IdValidity { start, end }),
        }
    }

    pub fn start(&self) -> Date {
        self.start
    }

    /// The last valid day; `None` for 长期.
    pub fn end(&self) -> Option<Date> {
        self.end
    }

    pub fn is_long_term(&self) -> bool {
        self.end.is_none()
    }

    /// Whether the document is valid on `date` (start and end inclusive).
    pub fn is_valid_on(&self, date: Date) -> bool {
        self.start <= date && self.end.is_none_or(|e| date <= e)
    }

    fn check_current(self, today: Date) -> Result<IdValidity, FieldError> {
        if self.start > today {
            return Err(ERR_START_IN_FUTURE);
        }
        if self.end.is_some_and(|e| e < today) {
            return Err(ERR_EXPIRED);
        }
        Ok(self)
    }
}

fn is_long_term(s: &str) -> bool {
    matches!(s, "长期" | "长期有效")
}

fn parse_date(s: &str, required: FieldError, invalid: FieldError) -> Result<Date, FieldError> {
    if s.trim().is_empty() {
        return Err(required);
    }
    Date::parse(s).map_err(|_| invalid)
}

/// `end` is `start` plus `years` with the same month and day; for a 29 February start in a
/// common end year both 28 February and 1 March are accepted.
fn matches_term(start: Date, end: Date, years: u16) -> bool {
    if start.year().checked_add(years) != Some(end.year()) {
        return false;
    }
    if (end.month(), end.day()) == (start.month(), start.day()) {
        return true;
    }
    (start.month(), start.day()) == (2, 29)
        && !super::date::is_leap_year(end.year())
        && matches!((end.month(), end.day()), (2, 28) | (3, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    const TODAY: &str = "2025-06-01";

    #[test]
    fn resident_card_end_is_computed() {
        let today = d(TODAY);
        let v =
            IdValidity::resident_card(d("2015-03-07"), ResidentCardTerm::Years20, today).unwrap();
        assert_eq!(v.end(), Some(d("2035-03-07")));
        let v =
            IdValidity::resident_card(d("2000-01-01"), ResidentCardTerm::LongTerm, today).unwrap();
        assert!(v.is_long_term());
        assert!(v.is_valid_on(d("2999-12-31")));
        let v =
            IdValidity::resident_card(d("2024-02-29"), ResidentCardTerm::Years5, today).unwrap();
        assert_eq!(v.end(), Some(d("2029-02-28")));
        let err = IdValidity::resident_card(d("2015-03-07"), ResidentCardTerm::Years10, today)
            .unwrap_err();
        assert_eq!(err.code(), "id_validity.expired");
        let err = IdValidity::resident_card(d("2025-06-02"), ResidentCardTerm::Years10, today)
            .unwrap_err();
        assert_eq!(err.code(), "id_validity.start_in_future");
    }

    #[test]
    fn resident_card_from_form_fields() {
        let today = d(TODAY);
        let ok = [
            ("2015-03-07", "2035-03-07"),
            ("2016.06.01", "2026.06.01"),
            ("2020-06-01", "2025-06-01"),
            ("2024-02-29", "2029-02-28"),
            ("2024-02-29", "2029-03-01"),
            ("1999-01-01", "长期"),
            ("1999-01-01", " 长期有效 "),
        ];
        for (s, e) in ok {
            assert!(
                IdValidity::parse_resident_card(s, e, today).is_ok(),
                "{s} {e}"
            );
        }
        let bad = [
            ("", "2035-03-07", "id_validity.start_required"),
            ("2015-13-07", "2035-03-07", "id_validity.start"),
            ("2015-03-07", "", "id_validity.end_required"),
            ("2015-03-07", "永久", "id_validity.end"),
            ("2015-03-07", "2035-03-08", "id_validity.term"),
            ("2015-03-07", "2030-03-07", "id_validity.term"),
            ("2015-03-07", "2015-03-06", "id_validity.order"),
            ("2010-03-07", "2020-03-07", "id_validity.expired"),
            ("2020-06-01", "2025-05-31", "id_validity.term"),
            ("2026-01-01", "长期", "id_validity.start_in_future"),
        ];
        for (s, e, code) in bad {
            let err = IdValidity::parse_resident_card(s, e, today).unwrap_err();
            assert_eq!(err.code(), code, "{s} {e}");
        }
    }

    #[test]
    fn generic_range() {
        let today = d(TODAY);
        assert!(IdValidity::parse_range("2020-01-01", "2030-01-01", today).is_ok());
        assert!(IdValidity::parse_range("2025-06-01", "2025-06-01", today).is_ok());
        let cases = [
            ("2020-01-01", "2019-01-01", "id_validity.order"),
            ("2020-01-01", "2025-05-31", "id_validity.expired"),
            ("2025-06-02", "2030-01-01", "id_validity.start_in_future"),
            ("2020-01-01", "2030-02-30", "id_validity.end"),
        ];
        for (s, e, code) in cases {
            assert_eq!(
                IdValidity::parse_range(s, e, today).unwrap_err().code(),
                code
            );
        }
    }

    #[test]
    fn stored_and_terms() {
        let v = IdValidity::from_stored(d("2000-01-01"), Some(d("2010-01-01"))).unwrap();
        assert!(!v.is_valid_on(d(TODAY)));
        assert!(v.is_valid_on(d("2010-01-01")));
        assert!(IdValidity::from_stored(d("2000-01-01"), Some(d("1999-01-01"))).is_none());
        assert_eq!(ResidentCardTerm::for_age(15), ResidentCardTerm::Years5);
        assert_eq!(ResidentCardTerm::for_age(16), ResidentCardTerm::Years10);
        assert_eq!(ResidentCardTerm::for_age(26), ResidentCardTerm::Years20);
        assert_eq!(ResidentCardTerm::for_age(46), ResidentCardTerm::LongTerm);
        assert_eq!(ResidentCardTerm::LongTerm.label(), "长期");
    }
}
