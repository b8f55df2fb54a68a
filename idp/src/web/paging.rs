//! The paging parameters of the keyset-paged lists (`GET /api/reviews/units`,
//! `GET /api/units/{org_id}/members`): the opaque `after` cursor they take and the `next` they
//! answer in [`CursorPage`].
//!
//! A cursor is the base64url (no padding) of `{kind}:{keyset values}`: the last item's
//! `(submitted_at, id)` for the review list (`r1:1796126400:org-42`, `r1::org-7` for a unit
//! never submitted), the last member's login key for the members list (`m1:zhangwei123`).
//! Clients must treat it as opaque, so the values and their encoding may change; the kind and
//! version prefix lets a changed format, or a cursor of the other list, be refused instead of
//! misread. Anything that is not exactly what this module wrote is a 400 with `fields.after`,
//! never a 500 and never silently the first page (a client would then loop forever).

use std::collections::HashMap;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use tongyi_shared::api::{error::ErrorBody, CursorPage};

use crate::{
    directory::{KeysetPage, PAGE_SIZE},
    store::directory::{ReviewCursor, UnitRecord},
};

const REVIEW: &str = "r1";
const MEMBERS: &str = "m1";
/// Longer than any cursor written here (an id or login key is at most a few dozen bytes).
const MAX_CURSOR: usize = 512;
/// A unit id or login key beyond this was not written by this module.
const MAX_KEY: usize = 200;

/// The cursor of the review list after `unit`.
pub fn review_cursor(unit: &UnitRecord) -> String {
    let at = unit.submitted_at.map(|s| s.to_string()).unwrap_or_default();
    encode(&format!("{REVIEW}:{at}:{}", unit.id))
}

/// The cursor of the members list after the member whose login key is `login_key`.
pub fn member_cursor(login_key: &str) -> String {
    encode(&format!("{MEMBERS}:{login_key}"))
}

fn encode(plain: &str) -> String {
    URL_SAFE_NO_PAD.encode(plain.as_bytes())
}

/// The review list's `after` (none: the first page), or the 400 answer.
pub fn review_after(query: &HashMap<String, String>) -> Result<Option<ReviewCursor>, Refused> {
    let Some(plain) = after_param(query, REVIEW)? else {
        return Ok(None);
    };
    let (at, id) = plain.split_once(':').ok_or(Refused::After)?;
    let submitted_at = if at.is_empty() {
        None
    } else {
        // Only the canonical form written above: no sign, no leading zeros, no spaces.
        let n = at.parse::<i64>().map_err(|_| Refused::After)?;
        if n < 0 || n.to_string() != at {
            return Err(Refused::After);
        }
        Some(n)
    };
    Ok(Some(ReviewCursor {
        submitted_at,
        id: key(id)?.to_owned(),
    }))
}

/// The members list's `after` (a login key; none: the first page), or the 400 answer.
pub fn member_after(query: &HashMap<String, String>) -> Result<Option<String>, Refused> {
    match after_param(query, MEMBERS)? {
        None => Ok(None),
        Some(plain) => Ok(Some(key(&plain)?.to_owned())),
    }
}

/// The answer of a keyset page: `items` (the page's rows as the contract shows them) and,
/// when more follow, the cursor after the last row.
pub fn cursor_page<R, T>(
    page: &KeysetPage<R>,
    items: Vec<T>,
    cursor: impl Fn(&R) -> String,
) -> CursorPage<T> {
    CursorPage {
        items,
        page_size: PAGE_SIZE,
        next: page.more.then(|| page.items.last().map(cursor)).flatten(),
    }
}

/// What follows the `{kind}:` of the `after` parameter, decoded; none when absent or empty.
/// A `page` parameter is refused beyond the first page: these lists no longer page by number,
/// and answering page 1 for `page=2` would make an old client loop.
fn after_param(query: &HashMap<String, String>, kind: &str) -> Result<Option<String>, Refused> {
    if let Some(page) = query
        .get("page")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        if page != "1" {
            return Err(Refused::Page);
        }
    }
    let Some(raw) = query.get("after").filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if raw.len() > MAX_CURSOR {
        return Err(Refused::After);
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| Refused::After)?;
    let plain = String::from_utf8(bytes).map_err(|_| Refused::After)?;
    match plain.split_once(':') {
        Some((k, rest)) if k == kind => Ok(Some(rest.to_owned())),
        _ => Err(Refused::After),
    }
}

/// A unit id or login key as a cursor holds it.
fn key(k: &str) -> Result<&str, Refused> {
    if k.is_empty() || k.len() > MAX_KEY || k.chars().any(char::is_control) {
        Err(Refused::After)
    } else {
        Ok(k)
    }
}

/// A refused paging parameter (a plain value, since a `Response` makes a large error
/// variant); [`Refused::response`] is its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// `page` beyond 1.
    Page,
    /// An `after` this list did not answer.
    After,
}

impl Refused {
    /// 400 `invalid_request` naming the parameter, with its Chinese message in `fields`.
    pub fn response(self) -> Response {
        let (field, description, message) = match self {
            Refused::Page => (
                "page",
                "page is no longer supported beyond 1: send the answer's next as after",
                "此列表按“下一页”翻页，请从第一页开始",
            ),
            Refused::After => (
                "after",
                "after is not a cursor this list answered",
                "分页位置无效，请回到第一页重新查看",
            ),
        };
        let body = ErrorBody {
            fields: Some([(field.to_owned(), message.to_owned())].into()),
            ..ErrorBody::new("invalid_request", description)
        };
        let mut res = (StatusCode::BAD_REQUEST, Json(body)).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn unit(submitted_at: Option<i64>, id: &str) -> UnitRecord {
        UnitRecord {
            id: id.to_owned(),
            name: String::new(),
            uscc: None,
            status: "active".to_owned(),
            department_id: None,
            department_name: None,
            submitted_at,
            realname_status: None,
        }
    }

    #[test]
    fn cursors_read_back_what_they_wrote() {
        for u in [unit(Some(1_796_126_400), "org-42"), unit(None, "org:7")] {
            let c = review_cursor(&u);
            assert!(c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            let back = review_after(&query(&[("after", &c)])).unwrap().unwrap();
            assert_eq!((back.submitted_at, back.id), (u.submitted_at, u.id));
        }
        let c = member_cursor("张伟_01");
        let back = member_after(&query(&[("after", &c), ("page", "1")])).unwrap();
        assert_eq!(back.as_deref(), Some("张伟_01"));
        assert!(review_after(&query(&[("after", "")])).unwrap().is_none());
    }

    #[test]
    fn anything_else_is_refused() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let bad = [
            "%%%".to_owned(),
            "cjE6".to_owned() + "=",
            enc("r1"),
            enc("r1:12"),
            enc("r1:-5:org"),
            enc("r1:012:org"),
            enc("r1: 12:org"),
            enc("r1:12:"),
            enc("r2:12:org"),
            enc("m1:alice"),
            URL_SAFE_NO_PAD.encode([b'r', b'1', b':', b':', 0xff]),
            enc(&format!("r1::{}", "x".repeat(MAX_KEY + 1))),
            "A".repeat(MAX_CURSOR + 1),
        ];
        for c in bad {
            let refused = review_after(&query(&[("after", &c)])).unwrap_err();
            assert_eq!(refused, Refused::After, "{c}");
        }
        let res = Refused::After.response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        for c in [enc("r1::org"), enc("m1:"), enc("m1:a\nb")] {
            assert!(member_after(&query(&[("after", &c)])).is_err(), "{c}");
        }
        for page in ["2", "0", "x"] {
            let refused = member_after(&query(&[("page", page)])).unwrap_err();
            assert_eq!(refused, Refused::Page, "{page}");
        }
    }
}
