//! What the portal's pages share: ids from the URL, labels of states, times as users read them,
//! and pagination.

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

/// The links of a paged list. `base` already carries the list's other query parameters.
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The pager of a page as the directory API answers it (`page`, `page_size`, `total`).
    pub fn of_page(page: i64, page_size: i64, total: i64, base: &str) -> Pager {
        Pager::new(
            u32::try_from(page).unwrap_or(1),
            u32::try_from(page_size).unwrap_or(1),
            u64::try_from(total).unwrap_or(0),
            base,
        )
    }

    pub fn new(page: u32, page_size: u32, total: u64, base: &str) -> Pager {
        let size = u64::from(page_size.max(1));
        let pages = u32::try_from(total.div_ceil(size))
            .unwrap_or(u32::MAX)
            .max(1);
        let page = page.clamp(1, pages);
        let sep = if base.contains('?') { '&' } else { '?' };
        let link = |p: u32| format!("{base}{sep}page={p}");
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
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
        let p = Pager::new(2, 20, 45, "/reviews?state=all");
        assert_eq!(p.pages, 3);
        assert_eq!(p.prev.as_deref(), Some("/reviews?state=all&page=1"));
        assert_eq!(p.next.as_deref(), Some("/reviews?state=all&page=3"));
        let p = Pager::new(1, 20, 0, "/members");
        assert_eq!((p.pages, p.prev, p.next), (1, None, None));
    }

    #[test]
    fn ids_from_urls() {
        assert!(valid_id("a1-B_2"));
        for bad in ["", "..", "a/b", "a b", &"x".repeat(101)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
