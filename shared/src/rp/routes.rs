//! The endpoints every relying party serves: the `/auth/*` login endpoints, generic over the
//! app's state (which must yield the [`Rp`]) and the app's error type (which renders
//! [`RpError`] as its pages); and the health check and the stylesheet of its pages.
//! [`app_router`] puts them together with the app's own pages.

use axum::{
    body::Bytes,
    extract::{rejection::QueryRejection, FromRef, Query, Request, State},
    http::HeaderMap,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use tracing::Instrument;

use super::{login, logout, page, AppState, Rp, RpError};
use crate::client_addr::ClientAddr;
use axum::extract::FromRequestParts;

/// An app's whole router: its own `pages`, the [`routes`] of the login glue, `GET /healthz`
/// and `GET /static/style.css` (the stylesheet the apps' pages share), over the [`AppState`]
/// made of the app's `config` and `rp`. `E` is the app's error type. Every request runs in a
/// `request` span naming the client's address (see [`log_request`]).
pub fn app_router<C, E>(config: C, rp: Rp, pages: Router<AppState<C>>) -> Router
where
    C: Send + Sync + 'static,
    E: From<RpError> + IntoResponse + Send + 'static,
{
    // On an https public URL: HSTS (one year) and requests a trusted proxy got in clear sent
    // to https; the security headers and the request id on every answer, 404 and 405 included.
    let https = crate::http_layers::Https::for_url(
        &rp.config().base_url,
        365 * 24 * 3600,
        rp.config().trusted_proxies.clone(),
    );
    let http_metrics = rp.config().metrics.http().clone();
    let state = AppState::new(config, rp);
    let router = pages
        .merge(routes::<AppState<C>, E>())
        .route("/healthz", get(healthz))
        .route("/static/style.css", get(stylesheet))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            log_request::<C>,
        ))
        .layer(middleware::from_fn_with_state(
            http_metrics,
            crate::metrics::count_request,
        ))
        .with_state(state);
    crate::http_layers::apply(router, https)
}

/// Runs the request in a span with its method, path and client address, the one a trusted
/// proxy names (`rp.trusted_proxies`) or else the socket's peer, so that whatever the glue and
/// the pages log carries it; logs the status at debug level. Served without connection info
/// (in-process tests), the address is `unknown`.
async fn log_request<C: Send + Sync + 'static>(
    State(state): State<AppState<C>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let client = match ClientAddr::from_request_parts(&mut parts, &state).await {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => "unknown".to_owned(),
    };
    let request = Request::from_parts(parts, body);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        client = %client,
    );
    async move {
        let res = next.run(request).await;
        tracing::debug!(status = res.status().as_u16(), "answered");
        res
    }
    .instrument(span)
    .await
}

/// `GET /auth/login`, `GET /auth/callback`, `POST /auth/logout` (form with `csrf`) and
/// `POST /auth/backchannel-logout`.
pub fn routes<S, E>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Rp: FromRef<S>,
    E: From<RpError> + IntoResponse + Send + 'static,
{
    Router::new()
        .route("/auth/login", get(login_start::<E>))
        .route("/auth/callback", get(callback::<E>))
        .route("/auth/logout", post(logout_start::<E>))
        .route("/auth/backchannel-logout", post(backchannel))
}

/// The process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

async fn stylesheet() -> Response {
    page::stylesheet(include_str!("../../templates/style.css"))
}

async fn login_start<E: From<RpError>>(
    State(rp): State<Rp>,
    headers: HeaderMap,
    query: Result<Query<login::LoginQuery>, QueryRejection>,
) -> Result<Response, E> {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    Ok(login::start(&rp, &headers, q).await?)
}

async fn callback<E: From<RpError>>(
    State(rp): State<Rp>,
    headers: HeaderMap,
    query: Result<Query<login::CallbackQuery>, QueryRejection>,
) -> Result<Response, E> {
    // A query that does not parse (e.g. a repeated parameter) cannot be our login.
    let result = match query {
        Ok(Query(q)) => login::finish(&rp, &headers, q).await,
        Err(_) => Err(RpError::LoginExpired),
    };
    rp.config().metrics.login(match &result {
        Ok(_) => "completed",
        Err(RpError::NotGranted(_)) => "not_granted",
        Err(_) => "failed",
    });
    Ok(result?)
}

async fn logout_start<E: From<RpError>>(
    State(rp): State<Rp>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, E> {
    Ok(logout::start(&rp, &headers, &body).await?)
}

async fn backchannel(State(rp): State<Rp>, body: Bytes) -> Response {
    logout::backchannel(&rp, &body).await
}
