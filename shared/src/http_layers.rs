//! The layers every app puts around its whole router, so that no response goes out without
//! them, 404 and 405 included: the security headers, the https rules of [`Https`], and a
//! request id (`x-request-id`: kept when the request brings one, as a proxy in front may set
//! it, else made here; only a correlation id, never trusted for anything) in the tracing span
//! of the request and in the response.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request as AxumRequest, State},
    http::{header, HeaderName, HeaderValue, Request, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::client_addr::{resolve, TrustedProxies};

/// The header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A CSP for answers that set none of their own (JSON, redirects, 404s): they load nothing
/// and may not be framed. Pages set a fuller one, which this does not replace.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// How an app whose public URL is https treats the scheme its clients used.
///
/// Behind a TLS-terminating proxy every request reaches the app over plain http, so the
/// scheme the *client* used is known only from a trusted proxy's `Forwarded: proto` or
/// `X-Forwarded-Proto` ([`crate::client_addr::resolve`]). Where a trusted proxy says the client
/// came over http (a proxy that also listens on port 80 and forwards it), the request is sent
/// to the https URL with 308 (method and body kept) before any handler sees it, so no page or
/// cookie is served in clear; HSTS goes only on answers that did not travel in clear, as
/// RFC 6797 §7.2 requires. When no trusted proxy says (direct TLS, or no proxy configured), the
/// configured https URL is believed.
#[derive(Clone, Debug)]
pub struct Https {
    /// `https://host[:port]` of the public URL, without a path: the redirect keeps the path the
    /// client asked for.
    pub origin: String,
    /// `max-age` of HSTS; 0 turns HSTS off.
    pub hsts_max_age_secs: u64,
    pub trusted: TrustedProxies,
}

impl Https {
    /// `Some` when `public_url` is https; its scheme and authority become [`Https::origin`].
    pub fn for_url(
        public_url: &str,
        hsts_max_age_secs: u64,
        trusted: TrustedProxies,
    ) -> Option<Https> {
        let rest = public_url.strip_prefix("https://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        Some(Https {
            origin: format!("https://{authority}"),
            hsts_max_age_secs,
            trusted,
        })
    }
}

/// Wraps `router` in the layers. `https`: `Some` when the app's public URL is https.
pub fn apply(router: Router, https: Option<Https>) -> Router {
    let if_absent = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let mut router = router;
    // Innermost, so that its redirects get the security headers and the request id too.
    if let Some(https) = https {
        let hsts = (https.hsts_max_age_secs > 0).then(|| {
            HeaderValue::from_str(&format!(
                "max-age={}; includeSubDomains",
                https.hsts_max_age_secs
            ))
            .expect("a number is a valid header value")
        });
        let rules = std::sync::Arc::new(HttpsRules { https, hsts });
        router = router.layer(middleware::from_fn_with_state(rules, enforce_https));
    }
    let router = router
        .layer(if_absent(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(if_absent(header::X_FRAME_OPTIONS, "DENY"))
        .layer(if_absent(header::REFERRER_POLICY, "no-referrer"))
        .layer(if_absent(header::CONTENT_SECURITY_POLICY, DEFAULT_CSP));
    // Added last, so outermost: the id exists before the span opens and is copied to the
    // response after everything else.
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(span))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

struct HttpsRules {
    https: Https,
    hsts: Option<HeaderValue>,
}

/// Sends a request a trusted proxy received over http to the https URL; marks every other
/// answer with HSTS.
async fn enforce_https(
    State(rules): State<std::sync::Arc<HttpsRules>>,
    req: AxumRequest,
    next: Next,
) -> Response {
    // Without connection info (in-process tests) no proxy can have spoken.
    let came_in_clear = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| {
            resolve(peer.ip(), req.headers(), &rules.https.trusted).https == Some(false)
        });
    if came_in_clear {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let target = format!("{}{path}", rules.https.origin);
        return match HeaderValue::from_str(&target) {
            Ok(location) => (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response(),
            // A path that cannot be a header value cannot be a URL either.
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        };
    }
    let mut res = next.run(req).await;
    if let Some(hsts) = &rules.hsts {
        res.headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    res
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

    fn https(hsts_max_age_secs: u64) -> Option<Https> {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        Https::for_url("https://idp.example:8443/base", hsts_max_age_secs, trusted)
    }

    /// A request as the server hands it over: from `peer`, with one forwarding header.
    async fn from_peer(router: Router, peer: &str, forwarded: (&str, &str)) -> Response {
        let mut req = Request::builder()
            .method("POST")
            .uri("/login?next=%2Faccount")
            .header(forwarded.0, forwarded.1)
            .body(Body::empty())
            .unwrap();
        let peer: SocketAddr = peer.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
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
        let res = answer(apply(page, https(600)), "GET", "/").await;
        assert_eq!(
            res.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=600; includeSubDomains"
        );
        assert_eq!(
            res.headers()[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'"
        );
        let off = answer(apply(app(), https(0)), "GET", "/").await;
        assert!(off
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none());
    }

    #[tokio::test]
    async fn a_request_a_trusted_proxy_got_in_clear_goes_to_https_without_hsts() {
        let login = || Router::new().route("/login", axum::routing::post(|| async { "in" }));
        for forwarded in [
            ("x-forwarded-proto", "http"),
            ("forwarded", "for=192.0.2.9;proto=http"),
        ] {
            let res = from_peer(apply(login(), https(600)), "10.1.2.3:5000", forwarded).await;
            assert_eq!(
                res.status(),
                StatusCode::PERMANENT_REDIRECT,
                "{forwarded:?}"
            );
            let h = res.headers();
            assert_eq!(
                h[header::LOCATION],
                "https://idp.example:8443/login?next=%2Faccount"
            );
            assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "{h:?}");
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(h.get(REQUEST_ID).is_some());
        }
        // Over https at the proxy: served, with HSTS.
        let res = from_peer(
            apply(login(), https(600)),
            "10.1.2.3:5000",
            ("x-forwarded-proto", "https"),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_some());
        // An untrusted peer cannot claim a scheme: the configured https URL is believed.
        let res = from_peer(
            apply(login(), https(600)),
            "192.0.2.50:5000",
            ("x-forwarded-proto", "http"),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_some());
        // A plain-http app has no https rules at all.
        let res = from_peer(
            apply(login(), None),
            "10.1.2.3:5000",
            ("x-forwarded-proto", "http"),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    #[test]
    fn only_an_https_url_gets_rules_and_its_origin_drops_the_path() {
        assert!(Https::for_url("http://idp.example", 600, TrustedProxies::default()).is_none());
        let h = Https::for_url(
            "https://idp.example/tongyi?x",
            600,
            TrustedProxies::default(),
        );
        assert_eq!(h.unwrap().origin, "https://idp.example");
    }
}
