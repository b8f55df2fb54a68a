//! The layers every app puts around its whole router, so that no response goes out without
//! them, 404 and 405 included: the security headers, HSTS when the app is served over https,
//! and a request id (`x-request-id`: kept when the request brings one, as a proxy in front may
//! set it, else made here; only a correlation id, never trusted for anything) in the tracing
//! span of the request and in the response.

use axum::{
    http::{header, HeaderName, HeaderValue, Request},
    Router,
};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

/// The header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A CSP for answers that set none of their own (JSON, redirects, 404s): they load nothing
/// and may not be framed. Pages set a fuller one, which this does not replace.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Wraps `router` in the layers. `hsts_max_age_secs`: `Some` when the app's public URL is
/// https (0 turns HSTS off).
pub fn apply(router: Router, hsts_max_age_secs: Option<u64>) -> Router {
    let if_absent = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let mut router = router
        .layer(if_absent(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(if_absent(header::X_FRAME_OPTIONS, "DENY"))
        .layer(if_absent(header::REFERRER_POLICY, "no-referrer"))
        .layer(if_absent(header::CONTENT_SECURITY_POLICY, DEFAULT_CSP));
    if let Some(secs) = hsts_max_age_secs.filter(|s| *s > 0) {
        let value = HeaderValue::from_str(&format!("max-age={secs}; includeSubDomains"))
            .expect("a number is a valid header value");
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            value,
        ));
    }
    // Added last, so outermost: the id exists before the span opens and is copied to the
    // response after everything else.
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(span))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The span of one request: method, path (never the query, which may carry codes or personal
/// data) and the request id.
fn span<B>(req: &Request<B>) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = req.uri().path(),
        request_id = id
    )
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, routing::get};
    use tower::ServiceExt;

    use super::*;

    async fn answer(router: Router, method: &str, path: &str) -> axum::response::Response {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        router.oneshot(req).await.unwrap()
    }

    fn app() -> Router {
        Router::new().route("/", get(|| async { "ok" }))
    }

    #[tokio::test]
    async fn every_answer_carries_the_headers_and_a_request_id() {
        for (method, path, status) in [("GET", "/", 200), ("GET", "/nope", 404), ("POST", "/", 405)]
        {
            let res = answer(apply(app(), None), method, path).await;
            assert_eq!(res.status().as_u16(), status, "{method} {path}");
            let h = res.headers();
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
            assert_eq!(h[header::CONTENT_SECURITY_POLICY], DEFAULT_CSP);
            assert!(h.get(REQUEST_ID).is_some_and(|v| v.len() == 36), "{h:?}");
            assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        }
    }

    #[tokio::test]
    async fn hsts_only_over_https_and_a_page_keeps_its_own_policy() {
        let page = Router::new().route(
            "/",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, "default-src 'self'")],
                    "page",
                )
            }),
        );
        let res = answer(apply(page, Some(600)), "GET", "/").await;
        assert_eq!(
            res.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=600; includeSubDomains"
        );
        assert_eq!(
            res.headers()[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'"
        );
        let off = answer(apply(app(), Some(0)), "GET", "/").await;
        assert!(off
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none());
    }
}
