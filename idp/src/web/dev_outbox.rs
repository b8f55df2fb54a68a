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

/// `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai (UTC+8, no daylight saving).
pub fn shanghai_time(unix: i64) -> String {
    let local = unix + 8 * 3600;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
            sent_at: shanghai_time(e.sent_at),
            mobile: tongyi_shared::mask::mask_mobile(&e.mobile),
            template: e.template,
            text: e.text,
        })
        .collect();
    pages::render(StatusCode::OK, &OutboxPage { entries })
}

#[cfg(test)]
mod tests {
    use super::shanghai_time;

    #[test]
    fn local_time_is_utc_plus_eight() {
        assert_eq!(shanghai_time(0), "1970-01-01 08:00:00");
        // 2026-12-01T02:30:05Z
        assert_eq!(shanghai_time(1_796_092_205), "2026-12-01 10:30:05");
        // 2024-02-29T16:00:00Z is 2024-03-01 00:00 in Shanghai
        assert_eq!(shanghai_time(1_709_222_400), "2024-03-01 00:00:00");
    }
}
