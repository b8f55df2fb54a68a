//! The development SMS and email outboxes as pages (`/dev/sms-outbox`, `/dev/email-outbox`), so
//! that someone trying the demo platform can read the codes it "sent". Each exists only with
//! its development provider, which production mode refuses to build; with a real gateway or
//! mail server (or email off) the route answers 404.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

use super::pages;
use crate::{error::AppResult, state::AppState};

struct Row {
    sent_at: String,
    mobile: String,
    template: String,
    text: String,
}

#[derive(Template)]
#[template(path = "dev_outbox.html")]
struct OutboxPage {
    entries: Vec<Row>,
}

struct MailRow {
    sent_at: String,
    to: String,
    subject: String,
    body: String,
}

#[derive(Template)]
#[template(path = "dev_email_outbox.html")]
struct EmailOutboxPage {
    entries: Vec<MailRow>,
}

pub async fn email_outbox_page(State(state): State<AppState>) -> AppResult<Response> {
    let Some(outbox) = state.email.outbox() else {
        return Ok(pages::error_page(
            StatusCode::NOT_FOUND,
            "页面不存在",
            "未启用开发邮件通道。",
        ));
    };
    let entries = outbox
        .messages()
        .into_iter()
        .map(|e| MailRow {
            sent_at: crate::clock::shanghai_time_secs(e.sent_at),
            to: tongyi_shared::mask::mask_email(&e.to),
            subject: e.subject,
            body: e.body,
        })
        .collect();
    pages::render(StatusCode::OK, &EmailOutboxPage { entries })
}

pub async fn outbox_page(State(state): State<AppState>) -> AppResult<Response> {
    let Some(outbox) = state.sms.outbox() else {
        return Ok(pages::error_page(
            StatusCode::NOT_FOUND,
            "页面不存在",
            "未启用开发短信通道。",
        ));
    };
    let entries = outbox
        .messages()
        .into_iter()
        .map(|e| Row {
            sent_at: crate::clock::shanghai_time_secs(e.sent_at),
            mobile: tongyi_shared::mask::mask_mobile(&e.mobile),
            template: e.template,
            text: e.text,
        })
        .collect();
    pages::render(StatusCode::OK, &OutboxPage { entries })
}
