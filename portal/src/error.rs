//! The portal's one error type, mapped to responses here and nowhere else. Login failures are
//! worded by the shared RP glue; the portal's own pages name what was refused. Refusals of the
//! directory API that belong to a form field are turned into field messages by the page that
//! made the call ([`ApiRefusal`]); what reaches this module is shown as a page.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tongyi_shared::rp::{error_page, page, ErrorKind, ErrorMessage, RpError};

/// The directory API said no: its HTTP status and its stable error code.
#[derive(Clone, Debug)]
pub struct ApiRefusal {
    pub status: u16,
    /// `invalid_request`, `forbidden`, `not_found`, `invalid_transition`, …
    pub code: String,
    /// The IdP's English description, for the log only.
    pub description: String,
    /// `invalid_fields` (422): the Chinese message per field name.
    pub fields: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Login failures, and invalid configuration values (the portal's own ones included).
    #[error(transparent)]
    Rp(#[from] RpError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// No session, or one the IdP no longer honours: log in (again).
    #[error("sign-in required")]
    SignInRequired,
    /// The page is not for this account (its type, state or roles).
    #[error("not allowed for this account")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A request no form of ours sends (a malformed body or id).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The directory API refused, and no form field explains it.
    #[error("directory API refused: {} {} ({})", .0.status, .0.code, .0.description)]
    Api(ApiRefusal),
    /// The IdP could not be reached or answered with a fault.
    #[error("IdP unavailable: {0}")]
    Unavailable(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    message: ErrorMessage,
}

#[derive(Template)]
#[template(path = "refusal.html")]
struct RefusalPage {
    title: &'static str,
    text: &'static str,
}

impl Error {
    /// The title and the sentence of a portal-side refusal page, with its status.
    fn refusal(&self) -> Option<(StatusCode, &'static str, &'static str)> {
        Some(match self {
            Error::Forbidden => (
                StatusCode::FORBIDDEN,
                "无权访问",
                "当前账号无权使用此页面。",
            ),
            Error::NotFound => (
                StatusCode::NOT_FOUND,
                "页面不存在",
                "您要访问的记录不存在或已被删除。",
            ),
            Error::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "请求无效",
                "请求内容无法识别，请返回上一页重试。",
            ),
            Error::Api(r) => match r.status {
                403 => (
                    StatusCode::FORBIDDEN,
                    "无权操作",
                    "统一身份认证平台拒绝了此操作：当前账号无权处理该记录。",
                ),
                404 => (
                    StatusCode::NOT_FOUND,
                    "记录不存在",
                    "统一身份认证平台中没有找到该记录。",
                ),
                409 => (
                    StatusCode::CONFLICT,
                    "状态已变化",
                    "该记录的当前状态不允许此操作，请刷新页面后查看最新状态。",
                ),
                _ => (
                    StatusCode::BAD_REQUEST,
                    "操作未完成",
                    "统一身份认证平台未接受本次提交，请检查后重试。",
                ),
            },
            Error::Unavailable(_) => (
                StatusCode::BAD_GATEWAY,
                "服务暂时不可用",
                "暂时无法连接统一身份认证平台，请稍后再试。",
            ),
            _ => return None,
        })
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::SignInRequired = self {
            return Redirect::to("/auth/login").into_response();
        }
        if let Some((status, title, text)) = self.refusal() {
            if status.is_server_error() {
                tracing::error!(error = %self, "portal request failed");
            } else {
                tracing::info!(error = %self, "portal request refused");
            }
            return match (RefusalPage { title, text }).render() {
                Ok(body) => page::html(status, body),
                Err(_) => status.into_response(),
            };
        }
        let kind = match &self {
            // The portal requires no grant, so a refusal is a bug like the rest.
            Error::Rp(RpError::SessionEnded) => ErrorKind::Expired,
            Error::Rp(e) => e.kind(),
            _ => ErrorKind::Internal,
        };
        error_page(&self, kind, |message| ErrorPage { message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_session_store_is_503_with_retry_after() {
        let res = Error::Rp(RpError::Unavailable("Redis: timed out".into())).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "5");
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("服务暂时不可用"), "{body}");
    }
}
