//! The headers every HTML page of a relying party carries.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

/// The Content-Security-Policy of pages whose forms post only to this app.
const CSP_SELF: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The Content-Security-Policy of pages with a logout form: browsers apply `form-action` to
/// the redirect that follows the post, and logout redirects to the IdP.
pub(crate) fn csp_with_form_target(origin: &str) -> HeaderValue {
    let csp = CSP_SELF.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(CSP_SELF))
}

/// An HTML response that is never cached, never framed and loads nothing from elsewhere.
/// Pages with a logout form use [`super::Rp::html`] instead.
pub fn html(status: StatusCode, body: String) -> Response {
    html_with_csp(status, body, HeaderValue::from_static(CSP_SELF))
}

pub(crate) fn html_with_csp(status: StatusCode, body: String, csp: HeaderValue) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// A stylesheet compiled into the binary, cached for an hour.
pub fn stylesheet(css: &'static str) -> Response {
    let mut res = css.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}
