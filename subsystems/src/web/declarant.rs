//! The declarant's pages: my declarations, add, edit and save (暂存), submit, view, export.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use tongyi_shared::rp::{Landing, RpSession};

use super::{
    views::{self, RowView, SectionView, SlotView, TransitionView},
    User,
};
use crate::{
    clock,
    declaration::{decide, validate, Action, FieldErrors, Values, WorkflowError},
    docx,
    error::Error,
    state::AppState,
    store::{
        attachments,
        declarations::{self, Declaration, NewDeclaration},
    },
};

/// `?notice=…` after a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// A workflow refusal as the pages answer it: someone else's declaration is not found.
pub fn refused(e: WorkflowError) -> Error {
    match e {
        WorkflowError::NotAllowed => Error::NotFound,
        _ => Error::Conflict,
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    system_name: &'a str,
    portal_url: &'a str,
    session: Option<&'a RpSession>,
    user_name: &'a str,
    reviewer: bool,
    /// Administers its unit: links to 本单位申报.
    unit_admin: bool,
    rows: Vec<RowView>,
    logged_out: bool,
}

pub async fn home(
    State(state): State<AppState>,
    landing: Landing<Error>,
) -> Result<Response, Error> {
    let app = &state.config;
    let user = landing
        .session
        .clone()
        .map(|s| User::from_session(&state, s));
    let rows = match &user {
        Some(u) => declarations::list_by_owner(&app.db, &u.session.subject)
            .await?
            .iter()
            .map(views::row)
            .collect(),
        None => Vec::new(),
    };
    let page = HomePage {
        system_name: &app.config.name,
        portal_url: &app.config.portal_url,
        session: landing.session.as_ref(),
        user_name: user.as_ref().map(User::name).unwrap_or(""),
        reviewer: user.as_ref().is_some_and(|u| u.reviewer),
        unit_admin: user.as_ref().is_some_and(|u| u.unit_admin_of.is_some()),
        rows,
        logged_out: landing.logged_out(),
    };
    let body = page.render()?;
    Ok(landing.page(&state.rp, body))
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage<'a> {
    system_name: &'a str,
    title: &'a str,
    csrf: &'a str,
    /// None while adding.
    id: Option<&'a str>,
    return_reason: Option<&'a str>,
    sections: Vec<SectionView>,
    slots: Vec<SlotView>,
    errors: Vec<(String, String, String)>,
    notice: Option<&'static str>,
}

/// Renders the form of `declaration` (or an empty one) with `errors` next to their fields.
pub async fn render_edit(
    state: &AppState,
    user: &User,
    declaration: Option<&Declaration>,
    values: &Values,
    errors: &FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, Error> {
    let app = &state.config;
    let files = match declaration {
        Some(d) => attachments::list(&app.db, &d.id).await?,
        None => Vec::new(),
    };
    let form = &app.form;
    // The summary at the top links each error to its control, in page order.
    let mut summary = Vec::new();
    for f in form.fields() {
        if let Some(e) = errors.get(&f.key) {
            let target = match f.kind {
                crate::declaration::FieldKind::YesNo
                | crate::declaration::FieldKind::MultiChoice => {
                    format!("{}-1", f.key)
                }
                _ => f.key.clone(),
            };
            summary.push((target, f.label.clone(), e.to_owned()));
        }
    }
    for s in &form.attachments {
        if let Some(e) = errors.get(&s.key) {
            summary.push((format!("file-{}", s.key), s.label.clone(), e.to_owned()));
        }
    }
    let page = EditPage {
        system_name: &app.config.name,
        title: &form.title,
        csrf: &user.session.csrf,
        id: declaration.map(|d| d.id.as_str()),
        return_reason: declaration.and_then(|d| d.return_reason.as_deref()),
        sections: views::sections(form, values, errors),
        slots: views::slots(form, &files, errors),
        errors: summary,
        notice,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(state.rp.html(status, page.render()?))
}

pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, "/declarations/new").await?;
    render_edit(
        &state,
        &user,
        None,
        &Values::default(),
        &FieldErrors::default(),
        None,
    )
    .await
}

/// The posted form: the CSRF token, the intent (暂存 or 提交) and the field values.
struct Posted {
    csrf: Option<String>,
    submit: bool,
    pairs: Vec<(String, String)>,
}

impl Posted {
    fn parse(pairs: Vec<(String, String)>) -> Posted {
        let find = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        Posted {
            csrf: find("csrf"),
            submit: find("intent").as_deref() == Some("submit"),
            pairs,
        }
    }

    fn values(&self, state: &AppState) -> Values {
        Values::from_pairs(
            &state.config.form,
            self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

fn title_of(state: &AppState, values: &Values) -> String {
    let t: String = values
        .get(&state.config.form.title_field)
        .chars()
        .take(100)
        .collect();
    if t.is_empty() {
        "（未填写名称）".into()
    } else {
        t
    }
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, "/declarations/new").await?;
    let posted = Posted::parse(pairs);
    user.check_csrf(posted.csrf.as_deref())?;
    let app = &state.config;
    let values = posted.values(&state);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let org = user.session.claims.org.as_ref();
    declarations::create(
        &app.db,
        NewDeclaration {
            id: &id,
            form_code: &app.config.code,
            owner: user.who(),
            org_id: org.map(|o| o.id.as_str()),
            org_name: org.map(|o| o.name.as_str()),
            title: &title_of(&state, &values),
            values: &values,
            now: clock::now(),
        },
    )
    .await?;
    tracing::info!(declaration = %id, "declaration created");
    if posted.submit {
        let declaration = declarations::get(&app.db, &id)
            .await?
            .ok_or(Error::NotFound)?;
        return try_submit(&state, &user, &declaration).await;
    }
    Ok(Redirect::to(&format!("/declarations/{id}/edit?notice=created")).into_response())
}

/// The declaration, if this user may see it (see the module doc of `web`).
pub async fn visible(state: &AppState, user: &User, id: &str) -> Result<Declaration, Error> {
    let d = declarations::get(&state.config.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let own = d.owner_sub == user.session.subject;
    let reviewed = user.reviewer && d.state.visible_to_reviewers();
    if own || reviewed || user.administers(d.org_id.as_deref()) {
        Ok(d)
    } else {
        Err(Error::NotFound)
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, &format!("/declarations/{id}/edit")).await?;
    let d = visible(&state, &user, &id).await?;
    match decide(d.state, &d.owner_sub, user.actor(), Action::Edit) {
        Ok(_) => {}
        // Locked: the read-only page says why.
        Err(WorkflowError::WrongState(_)) => {
            return Ok(Redirect::to(&format!("/declarations/{id}")).into_response())
        }
        Err(e) => return Err(refused(e)),
    }
    let notice = views::notice(q.notice.as_deref());
    render_edit(
        &state,
        &user,
        Some(&d),
        &d.values,
        &FieldErrors::default(),
        notice,
    )
    .await
}

pub async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, &format!("/declarations/{id}/edit")).await?;
    let posted = Posted::parse(pairs);
    user.check_csrf(posted.csrf.as_deref())?;
    let d = visible(&state, &user, &id).await?;
    decide(d.state, &d.owner_sub, user.actor(), Action::Edit).map_err(refused)?;
    let values = posted.values(&state);
    let title = title_of(&state, &values);
    if !declarations::save_values(
        &state.config.db,
        &id,
        &user.session.subject,
        &title,
        &values,
        clock::now(),
    )
    .await?
    {
        return Err(Error::Conflict);
    }
    if posted.submit {
        let d = declarations::get(&state.config.db, &id)
            .await?
            .ok_or(Error::NotFound)?;
        return try_submit(&state, &user, &d).await;
    }
    Ok(Redirect::to(&format!("/declarations/{id}/edit?notice=saved")).into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, &format!("/declarations/{id}")).await?;
    user.check_csrf(form.csrf.as_deref())?;
    let d = visible(&state, &user, &id).await?;
    try_submit(&state, &user, &d).await
}

/// The submit check (every field rule, every required attachment slot) and, when it passes,
/// the move to 已提交; otherwise the form again with the errors next to their fields.
async fn try_submit(state: &AppState, user: &User, d: &Declaration) -> Result<Response, Error> {
    let app = &state.config;
    let to = decide(d.state, &d.owner_sub, user.actor(), Action::Submit).map_err(refused)?;
    let mut errors = validate(&app.form, &d.values).err().unwrap_or_default();
    let files = attachments::list(&app.db, &d.id).await?;
    for slot in app.form.attachments.iter().filter(|s| s.required) {
        if !files.iter().any(|f| f.slot == slot.key) {
            let message = if slot.signature {
                format!(
                    "请上传{}：导出Word文件，打印并签字盖章，扫描成PDF文件后上传",
                    slot.label
                )
            } else {
                format!("请上传{}", slot.label)
            };
            errors.insert(&slot.key, message);
        }
    }
    if !errors.is_empty() {
        return render_edit(
            state,
            user,
            Some(d),
            &d.values,
            &errors,
            Some("已暂存，但尚不能提交：请按提示修改后再提交。"),
        )
        .await;
    }
    if !declarations::transition(&app.db, &d.id, d.state, to, user.who(), None, clock::now())
        .await?
    {
        return Err(Error::Conflict);
    }
    tracing::info!(declaration = %d.id, "declaration submitted");
    Ok(Redirect::to(&format!("/declarations/{}?notice=submitted", d.id)).into_response())
}

#[derive(Template)]
#[template(path = "view.html")]
struct ViewPage<'a> {
    system_name: &'a str,
    title: &'a str,
    csrf: &'a str,
    row: RowView,
    return_reason: Option<&'a str>,
    /// The declarant may edit and submit.
    own_editable: bool,
    /// A reviewer may approve or return.
    decidable: bool,
    reviewer: bool,
    /// The unit's admin reads a member's declaration (read-only).
    unit_view: bool,
    sections: Vec<SectionView>,
    slots: Vec<SlotView>,
    history: Vec<TransitionView>,
    notice: Option<&'static str>,
    reason_error: Option<&'static str>,
    reason: &'a str,
}

pub async fn render_view(
    state: &AppState,
    user: &User,
    d: &Declaration,
    notice: Option<&'static str>,
    reason_error: Option<&'static str>,
    reason: &str,
) -> Result<Response, Error> {
    let app = &state.config;
    let files = attachments::list(&app.db, &d.id).await?;
    let transitions = declarations::transitions(&app.db, &d.id).await?;
    let none = FieldErrors::default();
    let page = ViewPage {
        system_name: &app.config.name,
        title: &app.form.title,
        csrf: &user.session.csrf,
        row: views::row(d),
        return_reason: d.return_reason.as_deref(),
        own_editable: decide(d.state, &d.owner_sub, user.actor(), Action::Edit).is_ok(),
        decidable: decide(d.state, &d.owner_sub, user.actor(), Action::Approve).is_ok(),
        reviewer: user.reviewer,
        unit_view: d.owner_sub != user.session.subject && user.administers(d.org_id.as_deref()),
        sections: views::sections(&app.form, &d.values, &none),
        slots: views::slots(&app.form, &files, &none),
        history: views::history(&transitions),
        notice,
        reason_error,
        reason,
    };
    let status = if reason_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(state.rp.html(status, page.render()?))
}

pub async fn view(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, &format!("/declarations/{id}")).await?;
    let d = visible(&state, &user, &id).await?;
    render_view(
        &state,
        &user,
        &d,
        views::notice(q.notice.as_deref()),
        None,
        "",
    )
    .await
}

pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, &format!("/declarations/{id}")).await?;
    let d = visible(&state, &user, &id).await?;
    let meta = docx::ExportMeta {
        unit: d.org_name.as_deref(),
        declarant: &d.owner_name,
        state: d.state.label(),
    };
    let bytes = docx::export(&state.config.form, &d.values, &meta)?;
    let name = format!("{}-{}.docx", state.config.form.title, d.title);
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&views::content_disposition(&name, "declaration.docx")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}
