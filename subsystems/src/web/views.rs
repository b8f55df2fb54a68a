//! What the templates show, prepared from the form, the values and the errors, so that the
//! templates only lay it out.

use crate::{
    clock::shanghai,
    declaration::{FieldErrors, FieldKind, FormDef, State, Values},
    store::{
        attachments::Attachment,
        declarations::{Declaration, Filter, ListPage, PageRequest, Transition, PAGE_SIZE},
    },
};

pub struct OptionView {
    /// The control's id (radio buttons and checkboxes have one each).
    pub id: String,
    pub value: String,
    pub checked: bool,
}

pub struct FieldView {
    pub key: String,
    pub label: String,
    /// text, textarea, date, select, radio or checkbox.
    pub control: &'static str,
    /// `inputmode` of number fields ("" for none).
    pub inputmode: &'static str,
    pub value: String,
    pub options: Vec<OptionView>,
    /// A single choice holds a value outside its list (kept from a draft, refused at submit).
    pub off_list: bool,
    pub required: bool,
    /// When the field is conditionally required: the condition in words.
    pub condition: Option<String>,
    pub help: Option<String>,
    pub unit: Option<String>,
    pub max_chars: Option<usize>,
    pub error: Option<String>,
    /// The ids of the help text and the error, for `aria-describedby`.
    pub describedby: String,
    /// The value as read on the view page and in the export.
    pub display: String,
}

pub struct SectionView {
    pub key: String,
    pub title: String,
    pub fields: Vec<FieldView>,
}

pub fn sections(form: &FormDef, values: &Values, errors: &FieldErrors) -> Vec<SectionView> {
    form.sections
        .iter()
        .map(|s| SectionView {
            key: s.key.clone(),
            title: s.title.clone(),
            fields: s
                .fields
                .iter()
                .map(|f| {
                    let (control, inputmode) = match f.kind {
                        FieldKind::Text | FieldKind::Uscc => ("text", ""),
                        FieldKind::Textarea => ("textarea", ""),
                        FieldKind::Integer => ("text", "numeric"),
                        FieldKind::Decimal => ("text", "decimal"),
                        FieldKind::Date => ("date", ""),
                        FieldKind::Choice => ("select", ""),
                        FieldKind::YesNo => ("radio", ""),
                        FieldKind::MultiChoice => ("checkbox", ""),
                    };
                    let options: Vec<OptionView> = f
                        .choices()
                        .into_iter()
                        .enumerate()
                        .map(|(i, o)| OptionView {
                            id: format!("{}-{}", f.key, i + 1),
                            value: o.to_owned(),
                            checked: values.has(&f.key, o),
                        })
                        .collect();
                    let condition = f.required_when.as_ref().map(|c| {
                        let on = form.field(&c.field).map(|t| t.label.as_str()).unwrap_or("");
                        format!("{on}为“{}”时必填", c.equals)
                    });
                    let error = errors.get(&f.key).map(str::to_owned);
                    let mut describedby = Vec::new();
                    if f.help.is_some() || condition.is_some() || f.max_chars.is_some() {
                        describedby.push(format!("{}-help", f.key));
                    }
                    if error.is_some() {
                        describedby.push(format!("{}-error", f.key));
                    }
                    let mut display = values.display(&f.key);
                    if let (Some(unit), false) = (&f.unit, display.is_empty()) {
                        display = format!("{display} {unit}");
                    }
                    let off_list =
                        !values.get(&f.key).is_empty() && !options.iter().any(|o| o.checked);
                    FieldView {
                        off_list,
                        key: f.key.clone(),
                        label: f.label.clone(),
                        control,
                        inputmode,
                        value: values.get(&f.key).to_owned(),
                        options,
                        required: f.required,
                        condition,
                        help: f.help.clone(),
                        unit: f.unit.clone(),
                        max_chars: f.max_chars,
                        error,
                        describedby: describedby.join(" "),
                        display,
                    }
                })
                .collect(),
        })
        .collect()
}

pub struct FileView {
    pub id: String,
    pub name: String,
    pub size: String,
    pub uploaded_at: String,
}

pub struct SlotView {
    pub key: String,
    pub label: String,
    pub help: Option<String>,
    pub accept_labels: String,
    pub accept_attr: String,
    pub required: bool,
    pub signature: bool,
    pub files: Vec<FileView>,
    pub error: Option<String>,
}

pub fn slots(form: &FormDef, attachments: &[Attachment], errors: &FieldErrors) -> Vec<SlotView> {
    form.attachments
        .iter()
        .map(|s| SlotView {
            key: s.key.clone(),
            label: s.label.clone(),
            help: s.help.clone(),
            accept_labels: s.accept_labels(),
            accept_attr: s.accept_attr(),
            required: s.required,
            signature: s.signature,
            files: attachments
                .iter()
                .filter(|a| a.slot == s.key)
                .map(|a| FileView {
                    id: a.id.clone(),
                    name: a.file_name.clone(),
                    size: human_size(a.size),
                    uploaded_at: shanghai(a.uploaded_at),
                })
                .collect(),
            error: errors.get(&s.key).map(str::to_owned),
        })
        .collect()
}

fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

pub struct RowView {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub editable: bool,
    pub owner_name: String,
    pub org_name: String,
    pub updated_at: String,
    pub submitted_at: String,
}

pub fn row(d: &Declaration) -> RowView {
    RowView {
        id: d.id.clone(),
        title: d.title.clone(),
        state: d.state.as_str(),
        state_label: d.state.label(),
        editable: d.state.editable(),
        owner_name: d.owner_name.clone(),
        org_name: d.org_name.clone().unwrap_or_default(),
        updated_at: shanghai(d.updated_at),
        submitted_at: d.submitted_at.map(shanghai).unwrap_or_default(),
    }
}

/// The longest unit name a list searches for, in characters.
pub const MAX_UNIT_QUERY_CHARS: usize = 50;

/// A list page's query (`?unit=…&state=…&page=…`), read leniently: a value that makes no
/// sense is set aside with a message saying what was shown instead, never a failed request.
/// The first of repeated parameters counts.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// The part of a unit name searched for, trimmed ("" for any unit).
    pub unit: String,
    pub state: Option<State>,
    /// The page asked for, from 1.
    pub page: u32,
    pub unit_error: Option<&'static str>,
    pub state_error: Option<&'static str>,
    pub page_error: Option<&'static str>,
}

impl ListQuery {
    /// Reads the query; `states` are the ones this list may filter by.
    pub fn parse(pairs: &[(String, String)], states: &[State]) -> ListQuery {
        let find = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim())
                .unwrap_or("")
        };
        let mut q = ListQuery {
            page: 1,
            ..ListQuery::default()
        };
        let unit = find("unit");
        if unit.chars().count() > MAX_UNIT_QUERY_CHARS {
            q.unit = unit.chars().take(MAX_UNIT_QUERY_CHARS).collect();
            q.unit_error = Some("单位名称最多50个字符，已按前50个字符查询");
        } else {
            q.unit = unit.to_owned();
        }
        match find("state") {
            "" => {}
            s => match State::parse(s).filter(|st| states.contains(st)) {
                Some(st) => q.state = Some(st),
                None => q.state_error = Some("状态不在可选范围内，已显示全部状态"),
            },
        }
        match find("page") {
            "" => {}
            p => match p.parse::<u32>() {
                Ok(n) if n >= 1 => q.page = n,
                _ => q.page_error = Some("页码应为正整数，已显示第1页"),
            },
        }
        q
    }

    pub fn filter(&self) -> Filter<'_> {
        Filter {
            unit_name: Some(self.unit.as_str()).filter(|u| !u.is_empty()),
            state: self.state,
        }
    }

    pub fn page_request(&self) -> PageRequest {
        PageRequest {
            number: self.page,
            size: PAGE_SIZE,
        }
    }

    /// The list at `path` with these filters, on page `number`.
    pub fn href(&self, path: &str, number: u32) -> String {
        let mut params = Vec::new();
        if !self.unit.is_empty() {
            params.push(format!("unit={}", query_value(&self.unit)));
        }
        if let Some(s) = self.state {
            params.push(format!("state={}", s.as_str()));
        }
        params.push(format!("page={number}"));
        format!("{path}?{}", params.join("&"))
    }
}

/// Percent-encodes a query value (only unreserved characters stay).
fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct StateOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The state select of a list: 全部 first, then `states`.
pub fn state_options(states: &[State], chosen: Option<State>) -> Vec<StateOption> {
    std::iter::once(StateOption {
        value: "",
        label: "全部",
        selected: chosen.is_none(),
    })
    .chain(states.iter().map(|&s| StateOption {
        value: s.as_str(),
        label: s.label(),
        selected: chosen == Some(s),
    }))
    .collect()
}

/// The paging line under a list: the total, where one is, and the links either way, which
/// keep the filters.
pub struct PagerView {
    pub total: u64,
    pub number: u32,
    pub pages: u32,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// Why the page shown is not the one asked for.
    pub notice: Option<&'static str>,
}

pub fn pager(path: &str, q: &ListQuery, page: &ListPage) -> PagerView {
    let notice = if page.number < q.page {
        Some("页码超出范围，已显示最后一页")
    } else {
        q.page_error
    };
    PagerView {
        total: page.total,
        number: page.number,
        pages: page.pages,
        prev: (page.number > 1).then(|| q.href(path, page.number - 1)),
        next: (page.number < page.pages).then(|| q.href(path, page.number + 1)),
        notice,
    }
}

pub struct TransitionView {
    pub at: String,
    pub actor: String,
    pub from: &'static str,
    pub to: &'static str,
    pub reason: String,
}

pub fn history(transitions: &[Transition]) -> Vec<TransitionView> {
    transitions
        .iter()
        .map(|t| TransitionView {
            at: shanghai(t.at),
            actor: t.actor_name.clone(),
            from: t.from.map(State::label).unwrap_or("—"),
            to: t.to.label(),
            reason: t.reason.clone().unwrap_or_default(),
        })
        .collect()
}

/// The notice a redirect asks the next page to show.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "created" => "申报已创建并暂存。可继续填写、上传附件，随时点击“暂存”保存。",
        "saved" => "已暂存。",
        "uploaded" => "附件上传成功。",
        "removed" => "附件已删除。",
        "submitted" => "已提交至科技局审批。提交后不能再修改申报内容。",
        "approved" => "已审批通过。",
        "returned" => "已退回，申报人可修改后重新提交。",
        _ => return None,
    })
}

/// A file name from a browser, as kept: its last path component, without control characters,
/// at most 100 characters; a PDF's own default otherwise.
pub fn clean_file_name(raw: Option<&str>, fallback: &str) -> String {
    let last = raw.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(100)
        .collect();
    let name = name.trim().to_owned();
    if name.is_empty() || name == "." || name == ".." {
        fallback.to_owned()
    } else {
        name
    }
}

/// `Content-Disposition: attachment` with the UTF-8 name (RFC 6266, RFC 5987) and an ASCII
/// stand-in for old clients.
pub fn content_disposition(name: &str, ascii_fallback: &str) -> String {
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn list_queries_are_read_leniently() {
        let review = [State::Submitted, State::Returned, State::Approved];
        let q = ListQuery::parse(
            &pairs(&[
                ("unit", " 示例 & 100% "),
                ("state", "returned"),
                ("page", "3"),
                ("page", "x"),
            ]),
            &review,
        );
        assert_eq!(
            (q.unit.as_str(), q.state, q.page),
            ("示例 & 100%", Some(State::Returned), 3)
        );
        assert!(q.unit_error.is_none() && q.state_error.is_none() && q.page_error.is_none());
        assert_eq!(
            q.href("/review", 4),
            "/review?unit=%E7%A4%BA%E4%BE%8B%20%26%20100%25&state=returned&page=4"
        );

        // A draft is no state the bureau filters by; nonsense pages fall back to the first.
        for page in ["0", "-1", "abc", "99999999999"] {
            let q = ListQuery::parse(&pairs(&[("state", "draft"), ("page", page)]), &review);
            assert_eq!((q.state, q.page), (None, 1), "{page}");
            assert!(q.state_error.is_some() && q.page_error.is_some());
        }
        let long = "单".repeat(MAX_UNIT_QUERY_CHARS + 1);
        let q = ListQuery::parse(&pairs(&[("unit", &long)]), &review);
        assert_eq!(q.unit.chars().count(), MAX_UNIT_QUERY_CHARS);
        assert!(q.unit_error.is_some());
        assert_eq!(
            ListQuery::parse(&[], &review).href("/review", 1),
            "/review?page=1"
        );
    }

    #[test]
    fn the_pager_keeps_the_filters() {
        let q = ListQuery::parse(
            &pairs(&[("unit", "甲"), ("state", "approved"), ("page", "9")]),
            &[State::Approved],
        );
        let found = |number| ListPage {
            rows: Vec::new(),
            total: 45,
            number,
            pages: 3,
        };
        let p = pager("/review", &q, &found(3));
        assert_eq!(
            p.prev.as_deref(),
            Some("/review?unit=%E7%94%B2&state=approved&page=2")
        );
        assert_eq!(p.next, None);
        assert_eq!(p.notice, Some("页码超出范围，已显示最后一页"));
        let q = ListQuery::parse(&pairs(&[("page", "2")]), &[]);
        let p = pager("/unit/declarations", &q, &found(2));
        assert_eq!(p.prev.as_deref(), Some("/unit/declarations?page=1"));
        assert_eq!(p.next.as_deref(), Some("/unit/declarations?page=3"));
        assert_eq!(p.notice, None);
        let p = pager("/review", &q, &found(1));
        assert_eq!((p.prev, p.total), (None, 45));
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(
            clean_file_name(Some("C:\\扫描\\签章页.pdf"), "x.pdf"),
            "签章页.pdf"
        );
        assert_eq!(clean_file_name(Some("../../etc/passwd"), "x.pdf"), "passwd");
        assert_eq!(clean_file_name(Some("a\"<b>\n.pdf"), "x.pdf"), "ab.pdf");
        assert_eq!(clean_file_name(Some(".."), "x.pdf"), "x.pdf");
        assert_eq!(clean_file_name(None, "x.pdf"), "x.pdf");
        assert_eq!(
            content_disposition("签 章.pdf", "file.pdf"),
            "attachment; filename=\"file.pdf\"; filename*=UTF-8''%E7%AD%BE%20%E7%AB%A0.pdf"
        );
    }
}
