//! The `/auth/*` endpoints every relying party serves. Generic over the app's state (which
//! must yield the [`Rp`]) and the app's error type (which renders [`RpError`] as its pages).

use axum::{
    body::Bytes,
    extract::{rejection::QueryRejection, FromRef, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};

use super::{login, logout, Rp, RpError};

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

async fn login_start<E: From<RpError>>(
    State(rp): State<Rp>,
    headers: HeaderMap,
    query: Result<Query<login::LoginQuery>, QueryRejection>,
) -> Result<Response, E> {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    Ok(login::start(&rp, &headers, q)?)
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
    Ok(logout::start(&rp, &headers, &body)?)
}

async fn backchannel(State(rp): State<Rp>, body: Bytes) -> Response {
    logout::backchannel(&rp, &body).await
}
