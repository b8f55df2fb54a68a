//! The IdP's one error type, mapped to HTTP responses here and nowhere else: protocol errors
//! become RFC 6749 / 6750 JSON or `WWW-Authenticate` challenges, page errors a Chinese HTML
//! page, and internal failures are logged once and answered without detail.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use crate::web::pages;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// An RFC 6749 §5.2 error at the token, introspection or revocation endpoint.
    #[error("oauth error {error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
        /// The client tried HTTP Basic authentication: RFC 6749 requires a 401 challenge.
        basic_challenge: bool,
    },
    /// An RFC 6750 §3 error at a resource (userinfo): always a `WWW-Authenticate` challenge.
    #[error("bearer error {error}: {description}")]
    Bearer {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// A refused DPoP proof or DPoP-bound token (RFC 9449): at the token endpoint a 400 JSON
    /// error (§5), at a resource a 401 with a `DPoP` challenge (§7.1); `use_dpop_nonce`
    /// carries the nonce to send next in `DPoP-Nonce`.
    #[error("dpop error {error}: {description}")]
    Dpop {
        at_resource: bool,
        error: &'static str,
        description: String,
        nonce: Option<String>,
    },
    /// Something the user must read in the browser (e.g. an unregistered redirect URI).
    #[error("page error: {message}")]
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
    /// A page that needs a signed-in user: the browser is sent to the login page, which comes
    /// back to this local path afterwards.
    #[error("login required for {0}")]
    LoginRequired(String),
    /// A signed-in page that the account may not use yet (a temporary password must be
    /// changed first): the browser is sent to this local path.
    #[error("redirect to {0}")]
    Redirect(String),
    /// Storage could not be reached: 503 with `Retry-After`, a page saying to try again.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Same as `Unavailable` at a protocol endpoint: `{"error":"temporarily_unavailable"}`.
    #[error("storage unavailable at a protocol endpoint: {0}")]
    ProtocolUnavailable(String),
    /// A failure of ours; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// Same as `Internal`, but answered as an OAuth `server_error` JSON body.
    #[error("internal error at a protocol endpoint: {0}")]
    ProtocolInternal(String),
}

impl AppError {
    pub fn oauth(error: &'static str, description: impl Into<String>) -> Self {
        AppError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        AppError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            basic_challenge: basic,
        }
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        AppError::Bearer {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: description.into(),
        }
    }

    pub fn page(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        AppError::Page {
            status,
            title,
            message: message.into(),
        }
    }

    /// Re-labels internal failures so a protocol endpoint answers them in JSON.
    pub fn in_protocol(self) -> Self {
        match self {
            AppError::Internal(m) => AppError::ProtocolInternal(m),
            AppError::Unavailable(m) => AppError::ProtocolUnavailable(m),
            other => other,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        crate::Failure::from(e).into()
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        crate::Failure::from(e).into()
    }
}

/// The one place where a failure of the domain becomes a response: an outage is a 503 the
/// client may retry, anything else a 500.
impl From<crate::Failure> for AppError {
    fn from(e: crate::Failure) -> Self {
        match e {
            crate::Failure::Unavailable(m) => AppError::Unavailable(m),
            crate::Failure::Internal(m) => AppError::Internal(m),
        }
    }
}

impl From<redis::RedisError> for AppError {
    fn from(e: redis::RedisError) -> Self {
        crate::Failure::from(e).into()
    }
}

/// Seconds a client is asked to wait after an outage answer.
pub const RETRY_AFTER_SECS: &str = "5";

fn retry_after(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    res
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// Quotes a value for an auth-param; our descriptions are ASCII without quotes or backslashes.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && *c != '"' && *c != '\\' && !c.is_ascii_control())
        .collect()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::OAuth {
                status,
                error,
                description,
                basic_challenge,
            } => {
                let body = serde_json::json!({ "error": error, "error_description": description });
                let mut res = no_store((status, axum::Json(body)).into_response());
                if basic_challenge {
                    res.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tongyi\", charset=\"UTF-8\""),
                    );
                }
                res
            }
            AppError::Bearer {
                status,
                error,
                description,
            } => {
                let challenge = format!(
                    "Bearer realm=\"tongyi\", error=\"{error}\", error_description=\"{}\"",
                    quoted(&description)
                );
                let mut res = no_store(status.into_response());
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                res
            }
            AppError::Dpop {
                at_resource,
                error,
                description,
                nonce,
            } => {
                let mut res = if at_resource {
                    let challenge = format!(
                        "DPoP algs=\"{}\", error=\"{error}\", error_description=\"{}\"",
                        crate::oidc::dpop::challenge_algs(),
                        quoted(&description)
                    );
                    let mut res = no_store(StatusCode::UNAUTHORIZED.into_response());
                    if let Ok(v) = HeaderValue::from_str(&challenge) {
                        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                    }
                    res
                } else {
                    let body =
                        serde_json::json!({ "error": error, "error_description": description });
                    no_store((StatusCode::BAD_REQUEST, axum::Json(body)).into_response())
                };
                if let Some(v) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
                    res.headers_mut().insert(crate::oidc::dpop::DPOP_NONCE, v);
                }
                res
            }
            AppError::Page {
                status,
                title,
                message,
            } => pages::error_page(status, title, &message),
            AppError::LoginRequired(next) => {
                let target = format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                let mut res = StatusCode::SEE_OTHER.into_response();
                if let Ok(v) = HeaderValue::from_str(&target) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
                no_store(res)
            }
            AppError::Redirect(target) => {
                let mut res = StatusCode::SEE_OTHER.into_response();
                if let Ok(v) = HeaderValue::from_str(&target) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
                no_store(res)
            }
            AppError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                retry_after(pages::error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "服务暂时不可用",
                    "系统暂时无法访问数据，请稍后再试；您刚才的操作没有生效。",
                ))
            }
            AppError::ProtocolUnavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable at a protocol endpoint");
                // RFC 6749 §4.1.2.1's code for a server that cannot handle the request now.
                let body = serde_json::json!({
                    "error": "temporarily_unavailable",
                    "error_description": "storage is unavailable, retry later",
                });
                retry_after(no_store(
                    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response(),
                ))
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                pages::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务暂时不可用",
                    "服务器内部错误，请稍后再试。",
                )
            }
            AppError::ProtocolInternal(detail) => {
                tracing::error!(%detail, "protocol request failed");
                let body = serde_json::json!({ "error": "server_error" });
                no_store((StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response())
            }
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
