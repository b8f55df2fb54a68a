//! The endpoints every relying party serves: the `/auth/*` login endpoints, generic over the
//! app's state (which must yield the [`Rp`]) and the app's error type (which renders
//! [`RpError`] as its pages); and the health check and the stylesheet of its pages.
//! [`app_router`] puts them together with the app's own pages.

use axum::{
    body::Bytes,
    extract::{rejection::QueryRejection, FromRef, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};

use super::{login, logout, page, AppState, Rp, RpError};

/// An app's whole router: its own `pages`, the [`routes`] of the login glue, `GET /healthz`
/// and `GET /static/style.css` (the stylesheet the apps' pages share), over the [`AppState`]
/// made of the app's `config` and `rp`. `E` is the app's error type.
pub fn app_router<C, E>(config: C, rp: Rp, pages: Router<AppState<C>>) -> Router
where
    C: Send + Sync + 'static,
    E: From<RpError> + IntoResponse + Send + 'static,
{
    pages
        .merge(routes::<AppState<C>, E>())
        .route("/healthz", get(healthz))
        .route("/static/style.css", get(stylesheet))
        .with_state(AppState::new(config, rp))
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
    let Ok(Query(q)) = query else {
        return Err(RpError::LoginExpired.into());
    };
    Ok(login::finish(&rp, &headers, q).await?)
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
