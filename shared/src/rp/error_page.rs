//! The error page of a relying party: what went wrong in the users' words, by kind of problem
//! (`shared/templates/error_message.html`), put into the app's own layout by the app's
//! `templates/error.html` with `{{ message|safe }}`.

use askama::Template;
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::{page, RpError};

/// What an error page tells the user; each kind has its status and its wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The login request is unknown, used or expired: log in again.
    Expired,
    /// The IdP did not complete the login: log in again.
    Denied,
    /// A form without the session's CSRF token.
    Csrf,
    /// Too many logins in flight.
    Busy,
    /// The IdP's answer could not be confirmed.
    Idp,
    /// A fault of ours.
    Internal,
    /// Storage (the session store, a subsystem's database) is unreachable for now: 503 with
    /// `Retry-After`, and the user is asked to try again in a moment.
    Unavailable,
}

/// The `Retry-After` of an [`ErrorKind::Unavailable`] answer, in seconds: about the time a
/// restarted Redis or database takes to be back.
pub const RETRY_AFTER_SECS: u32 = 5;

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Expired | ErrorKind::Denied => StatusCode::BAD_REQUEST,
            ErrorKind::Csrf => StatusCode::FORBIDDEN,
            ErrorKind::Busy | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Idp => StatusCode::BAD_GATEWAY,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The name the message template tells the kinds apart by.
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Expired => "expired",
            ErrorKind::Denied => "denied",
            ErrorKind::Csrf => "csrf",
            ErrorKind::Busy => "busy",
            ErrorKind::Idp => "idp",
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
        }
    }
}

impl RpError {
    /// The error page this failure shows. A refused grant counts as a fault here: an app that
    /// requires a grant answers [`RpError::NotGranted`] with its own refusal page instead, and
    /// an app that requires none never sees it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RpError::LoginExpired | RpError::SessionEnded => ErrorKind::Expired,
            RpError::Provider(_) => ErrorKind::Denied,
            RpError::Csrf => ErrorKind::Csrf,
            RpError::Busy => ErrorKind::Busy,
            RpError::Unavailable(_) => ErrorKind::Unavailable,
            RpError::Callback(_)
            | RpError::Exchange(_)
            | RpError::IdToken(_)
            | RpError::Discovery(_) => ErrorKind::Idp,
            RpError::NotGranted(_) | RpError::Config { .. } => ErrorKind::Internal,
        }
    }
}

/// The message of an error page, for the app's `templates/error.html` to show with
/// `{{ message|safe }}` inside its layout.
#[derive(Template)]
#[template(path = "error_message.html")]
pub struct ErrorMessage {
    /// One of: expired, denied, csrf, busy, idp, internal, unavailable.
    kind: &'static str,
}

/// Logs a failed request (as an error when the fault is ours, else as a refusal) and answers
/// with the app's error page, which `frame` makes from the message of `kind`.
pub fn error_page<P: Template>(
    error: &dyn std::fmt::Display,
    kind: ErrorKind,
    frame: impl FnOnce(ErrorMessage) -> P,
) -> Response {
    let status = kind.status();
    if status.is_server_error() {
        tracing::error!(error = %error, "request failed");
    } else {
        tracing::info!(error = %error, "request refused");
    }
    let message = ErrorMessage {
        kind: kind.as_str(),
    };
    let mut res = match frame(message).render() {
        Ok(body) => page::html(status, body),
        Err(_) => (status, "error").into_response(),
    };
    if kind == ErrorKind::Unavailable {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app's error page: the message in a layout of its own.
    #[derive(Template)]
    #[template(source = "<main>\n{{ message|safe }}\n</main>", ext = "html")]
    struct Framed {
        message: ErrorMessage,
    }

    async fn body(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn kinds_statuses_and_wording() {
        let cases = [
            (RpError::LoginExpired, 400, "登录请求已过期"),
            (RpError::Provider("access_denied".into()), 400, "登录未完成"),
            (RpError::Csrf, 403, "页面已失效"),
            (RpError::Busy, 503, "系统繁忙"),
            (RpError::IdToken("bad".into()), 502, "登录失败"),
            (RpError::config("bind", "no"), 500, "服务暂时不可用"),
            (RpError::Unavailable("down".into()), 503, "服务暂时不可用"),
        ];
        for (error, status, heading) in cases {
            let res = error_page(&error, error.kind(), |message| Framed { message });
            assert_eq!(res.status().as_u16(), status, "{error}");
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap());
            let expected = matches!(error, RpError::Unavailable(_)).then_some("5");
            assert_eq!(retry, expected, "{error}");
            assert_eq!(
                res.headers()["content-type"],
                "text/html; charset=utf-8",
                "{error}"
            );
            let html = body(res).await;
            assert!(
                html.starts_with("<main>\n<section class=\"card\" role=\"alert\">\n"),
                "{html}"
            );
            assert!(html.ends_with("\n</section>\n</main>"), "{html}");
            assert!(html.contains(&format!("<h1>{heading}</h1>")), "{html}");
        }
    }
}
