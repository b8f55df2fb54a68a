//! The development SMS outbox as a page (`/dev/sms-outbox`), so that someone trying the demo
//! platform can read the codes it "sent". It exists only with the development SMS provider,
//! which production mode refuses to build; with a real gateway the route answers 404.

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
