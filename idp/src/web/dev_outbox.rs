//! The development SMS and email outboxes as pages (`/dev/sms-outbox`, `/dev/email-outbox`), so
//! that someone trying the demo platform can read the codes it "sent". Each exists only with
//! its development provider, which production mode refuses to build; with a real gateway or
//! mail server (or email off) the route answers 404.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

use super::pages;
use crate::{error::AppResult, state::AppState};

/// One message; `kind` is the SMS template or the email subject.
struct Row {
    sent_at: String,
    to: String,
    kind: String,
    text: String,
}

#[derive(Template)]
#[template(path = "dev_outbox.html")]
struct OutboxPage {
    /// 短信 or 邮件.
    what: &'static str,
    to_header: &'static str,
    kind_header: &'static str,
    entries: Vec<Row>,
}

fn not_enabled(what: &str) -> Response {
    pages::error_page(
        StatusCode::NOT_FOUND,
        "页面不存在",
        &format!("未启用开发{what}通道。"),
    )
}

pub async fn outbox_page(State(state): State<AppState>) -> AppResult<Response> {
    let Some(outbox) = state.sms.outbox() else {
        return Ok(not_enabled("短信"));
    };
    let entries = outbox
        .messages()
        .into_iter()
        .map(|e| Row {
            sent_at: crate::clock::shanghai_time_secs(e.sent_at),
            to: tongyi_shared::mask::mask_mobile(&e.mobile),
            kind: e.template,
            text: e.text,
        })
        .collect();
    let page = OutboxPage {
        what: "短信",
        to_header: "手机号",
        kind_header: "模板",
        entries,
    };
    pages::render(StatusCode::OK, &page)
}

pub async fn email_outbox_page(State(state): State<AppState>) -> AppResult<Response> {
    let Some(outbox) = state.email.outbox() else {
        return Ok(not_enabled("邮件"));
    };
    let entries = outbox
        .messages()
        .into_iter()
        .map(|e| Row {
            sent_at: crate::clock::shanghai_time_secs(e.sent_at),
            to: tongyi_shared::mask::mask_email(&e.to),
            kind: e.subject,
            text: e.body,
        })
        .collect();
    let page = OutboxPage {
        what: "邮件",
        to_header: "收件人",
        kind_header: "主题",
        entries,
    };
    pages::render(StatusCode::OK, &page)
}
