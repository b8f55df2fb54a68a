//! What the portal's pages share: ids from the URL, labels of states, times as users read them,
//! and the pager of the keyset-paged lists.

/// Whether an id from the URL can be one of the IdP's opaque ids; anything else is not found.
pub fn valid_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A unit's review state in the users' words.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "registered" => "未提交",
        "pending_review" => "待审核",
        "active" => "已通过",
        "returned" => "已退回",
        "suspended" => "已暂停",
        _ => "未知",
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` in Asia/Shanghai (UTC+8, no daylight saving).
pub fn fmt_time(unix: i64) -> String {
    tongyi_shared::shanghai::minutes(unix)
}

/// How many earlier pages a list's links remember for 上一页. Their cursors ride in the URL
/// (`back`), so the URL stays a few KB however deep the walk; beyond this the oldest are
/// forgotten (上一页 then stops there, 首页 always works).
pub const BACK_PAGES: usize = 30;

/// The longest cursor taken from a URL (the IdP's are far shorter).
const MAX_CURSOR: usize = 512;

/// Where a keyset-paged list is: the IdP's `after` cursor of this page (none on the first)
/// and the cursors of the pages before it, for 上一页. The cursors are the IdP's, opaque; the
/// portal only checks that they are URL-safe (the contract's alphabet), so that they can be
/// put in a link as they are and joined with `.`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Position {
    after: Option<String>,
    /// The `after` of each page between the first and this one (the first has none).
    back: Vec<String>,
    /// Older pages were forgotten: the page number is unknown.
    forgot: bool,
}

impl Position {
    /// The position a list's `after` and `back` query parameters name; `None` when one of
    /// them is not what this portal's links carry.
    pub fn parse(after: &str, back: &str) -> Option<Position> {
        if after.is_empty() {
            return Some(Position::default());
        }
        let cursor = |c: &str| {
            (1..=MAX_CURSOR).contains(&c.len())
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !cursor(after) {
            return None;
        }
        let (forgot, back) = match back.strip_prefix('~') {
            Some(rest) => (true, rest.strip_prefix('.').unwrap_or(rest)),
            None => (false, back),
        };
        let back: Vec<String> = if back.is_empty() {
            Vec::new()
        } else {
            back.split('.').map(str::to_owned).collect()
        };
        if back.len() > BACK_PAGES || !back.iter().all(|c| cursor(c)) {
            return None;
        }
        Some(Position {
            after: Some(after.to_owned()),
            back,
            forgot,
        })
    }

    /// The cursor to ask the IdP with.
    pub fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }
}

/// The links of a keyset-paged list: 首页, 上一页 and 下一页 (each absent where it leads
/// nowhere) and the page number while it is known. No total: the IdP does not count long
/// lists.
#[derive(Debug)]
pub struct Pager {
    pub number: Option<usize>,
    pub first: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The pager of the page at `at`, whose answer said `next`. `base` already carries the
    /// list's other query parameters (its filters), so every link keeps them.
    pub fn new(at: &Position, next: Option<&str>, base: &str) -> Pager {
        let sep = if base.contains('?') { '&' } else { '?' };
        let link = |after: &str, back: &[String], forgot: bool| {
            let mut url = format!("{base}{sep}after={after}");
            if forgot || !back.is_empty() {
                url.push_str("&back=");
                if forgot {
                    url.push('~');
                    if !back.is_empty() {
                        url.push('.');
                    }
                }
                url.push_str(&back.join("."));
            }
            url
        };
        let Some(here) = at.after() else {
            return Pager {
                number: Some(1),
                first: None,
                prev: None,
                next: next.map(|n| link(n, &[], false)),
            };
        };
        let prev = match at.back.split_last() {
            Some((last, rest)) => Some(link(last, rest, at.forgot)),
            None if at.forgot => None,
            None => Some(base.to_owned()),
        };
        let next = next.map(|n| {
            let mut back = at.back.clone();
            back.push(here.to_owned());
            let forgot = at.forgot || back.len() > BACK_PAGES;
            if back.len() > BACK_PAGES {
                back.remove(0);
            }
            link(n, &back, forgot)
        });
        Pager {
            number: (!at.forgot).then_some(at.back.len() + 2),
            first: Some(base.to_owned()),
            prev,
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_shanghai() {
        assert_eq!(fmt_time(0), "1970-01-01 08:00");
        // 2026-12-01 12:00 UTC.
        assert_eq!(fmt_time(1_796_126_400), "2026-12-01 20:00");
        assert_eq!(fmt_time(951_782_400 - 8 * 3600), "2000-02-29 00:00");
    }

    #[test]
    fn pages_and_links() {
        let base = "/reviews?state=all&q=";
        let first = Position::parse("", "ignored").unwrap();
        let p = Pager::new(&first, Some("c1"), base);
        assert_eq!((p.number, p.first, p.prev), (Some(1), None, None));
        assert_eq!(p.next.as_deref(), Some("/reviews?state=all&q=&after=c1"));
        let second = Position::parse("c1", "").unwrap();
        let p = Pager::new(&second, Some("c2"), base);
        assert_eq!(p.number, Some(2));
        assert_eq!(p.first.as_deref(), Some(base));
        assert_eq!(p.prev.as_deref(), Some(base));
        assert_eq!(
            p.next.as_deref(),
            Some("/reviews?state=all&q=&after=c2&back=c1")
        );
        let third = Position::parse("c2", "c1").unwrap();
        let p = Pager::new(&third, None, "/members");
        assert_eq!(p.number, Some(3));
        assert_eq!(p.prev.as_deref(), Some("/members?after=c1"));
        assert_eq!(p.next, None);
        let long = "x".repeat(MAX_CURSOR + 1);
        for c in ["a b", "a.b", "a%2Fb", &long] {
            assert_eq!(Position::parse(c, ""), None, "{c}");
        }
        for back in [
            "a b",
            "a..b",
            "a%2Fb",
            &long,
            &["c"; BACK_PAGES + 1].join("."),
        ] {
            assert_eq!(Position::parse("ok", back), None, "back {back}");
        }
    }

    #[test]
    fn deep_walks_forget_the_oldest_pages() {
        let mut at = Position::parse("c0", "").unwrap();
        for i in 1..=BACK_PAGES + 2 {
            let next = Pager::new(&at, Some(&format!("c{i}")), "/members")
                .next
                .unwrap();
            let query = next.strip_prefix("/members?after=").unwrap();
            let (after, back) = query.split_once("&back=").unwrap_or((query, ""));
            at = Position::parse(after, back).unwrap();
        }
        assert!(at.back.len() <= BACK_PAGES);
        let p = Pager::new(&at, None, "/members");
        assert_eq!(p.number, None, "no longer known");
        assert!(p.prev.is_some() && p.first.is_some());
        // Walking back to the oldest remembered page leaves 首页 only.
        let oldest = Position {
            after: Some("cx".into()),
            back: Vec::new(),
            forgot: true,
        };
        let p = Pager::new(&oldest, Some("cy"), "/members");
        assert_eq!((p.number, p.prev), (None, None));
        assert_eq!(p.next.as_deref(), Some("/members?after=cy&back=~.cx"));
        assert_eq!(
            Position::parse("cy", "~.cx").unwrap(),
            Position {
                after: Some("cy".into()),
                back: vec!["cx".into()],
                forgot: true,
            }
        );
    }

    #[test]
    fn ids_from_urls() {
        assert!(valid_id("a1-B_2"));
        for bad in ["", "..", "a/b", "a b", &"x".repeat(101)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
