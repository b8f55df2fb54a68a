//! The members API for the portal: a unit admin resets, disables or enables a member of their
//! unit. Bearer access tokens of a user (verified like at UserInfo); the caller must be
//! `org_role = admin` of the member's unit, or a platform admin, and never the member itself.
//!
//! `POST /api/members/{account_id}/password-reset | disable | enable` → 200
//! [`MemberStatus`]; errors [`ErrorBody`]: 401 `invalid_token`, 403 `forbidden`, 404
//! `not_found`, 409 `no_mobile` (reset only), 502 `sms_failed` (reset only).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use tongyi_shared::api::{
    error::ErrorBody,
    members::{MemberOutcome, MemberStatus},
};

use super::{
    api_auth::{self, internal},
    extract::ApiCaller,
    openapi::{Forbidden, NotFound, Unauthorized},
};
use crate::{
    accounts::{
        actor::{self, MemberRefusal},
        recovery::{admin_reset, ResetChannel, ResetError},
        status,
    },
    directory::Actor,
    state::AppState,
    store::accounts::Account,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/members/{account_id}/password-reset", post(reset))
        .route("/api/members/{account_id}/disable", post(disable))
        .route("/api/members/{account_id}/enable", post(enable))
}

/// The answer of a done action. Without `Cache-Control: no-store`, as these answers always were.
fn done(status: MemberOutcome) -> Response {
    Json(MemberStatus { status }).into_response()
}

fn json_error(status: StatusCode, error: &str) -> Response {
    let description = match error {
        "forbidden" => "the caller may not act on this account",
        "not_found" => "no such account",
        "no_mobile" => "the member has neither a verified email nor a reserved mobile",
        "sms_failed" => "the SMS could not be sent",
        "email_failed" => "the email could not be sent",
        _ => "",
    };
    api_auth::json_error(status, error, description)
}

/// The caller (by its access token) and the member it may act on, or the error response.
async fn authorize(
    state: &AppState,
    ApiCaller(caller): ApiCaller,
    member_id: &str,
) -> Result<(Account, Account), Response> {
    let Actor { account: me, roles } = caller;
    match actor::manageable_member(state, &me, &roles, member_id)
        .await
        .map_err(|e| internal(e.into()))?
    {
        Ok(member) => Ok((me, member)),
        Err(MemberRefusal::NotFound) => Err(json_error(StatusCode::NOT_FOUND, "not_found")),
        Err(MemberRefusal::Forbidden) => Err(json_error(StatusCode::FORBIDDEN, "forbidden")),
    }
}

/// The member's unit admin (or a platform admin) resets its password: a temporary password
/// goes to its verified email where the IdP sends email, else by SMS to its reserved mobile,
/// and the next login must change it.
#[utoipa::path(post, path = "/api/members/{account_id}/password-reset", tag = "members",
    params(("account_id" = String, Path, description = "the member's account id")),
    responses(
        (status = 200, description = "`password_reset` (sent by SMS) or `password_reset_by_email`", body = MemberStatus),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`no_mobile`: the member has neither a verified email nor a reserved mobile", body = ErrorBody),
        (status = 502, description = "`sms_failed` or `email_failed`: the temporary password could not be sent", body = ErrorBody),
    ))]
async fn reset(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(account_id): Path<String>,
) -> Response {
    let (actor, member) = match authorize(&state, caller, &account_id).await {
        Ok(pair) => pair,
        Err(res) => return res,
    };
    match admin_reset(&state, &actor.id, &member).await {
        Ok(ResetChannel::Sms) => done(MemberOutcome::PasswordReset),
        Ok(ResetChannel::Email) => done(MemberOutcome::PasswordResetByEmail),
        Err(ResetError::NoMobile) => json_error(StatusCode::CONFLICT, "no_mobile"),
        Err(ResetError::Delivery(ResetChannel::Sms)) => {
            json_error(StatusCode::BAD_GATEWAY, "sms_failed")
        }
        Err(ResetError::Delivery(ResetChannel::Email)) => {
            json_error(StatusCode::BAD_GATEWAY, "email_failed")
        }
        Err(ResetError::Internal(e)) => internal(e.into()),
    }
}

/// The member's unit admin (or a platform admin) disables it (已禁用); its sessions end
/// everywhere.
#[utoipa::path(post, path = "/api/members/{account_id}/disable", tag = "members",
    params(("account_id" = String, Path, description = "the member's account id")),
    responses(
        (status = 200, description = "`disabled`", body = MemberStatus),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn disable(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(account_id): Path<String>,
) -> Response {
    let (actor, member) = match authorize(&state, caller, &account_id).await {
        Ok(pair) => pair,
        Err(res) => return res,
    };
    match status::disable(&state, Some(&actor.id), &member.id).await {
        Ok(_) => done(MemberOutcome::Disabled),
        Err(e) => internal(e.into()),
    }
}

/// Enables a disabled member again (已启用).
#[utoipa::path(post, path = "/api/members/{account_id}/enable", tag = "members",
    params(("account_id" = String, Path, description = "the member's account id")),
    responses(
        (status = 200, description = "`enabled`", body = MemberStatus),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn enable(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(account_id): Path<String>,
) -> Response {
    let (actor, member) = match authorize(&state, caller, &account_id).await {
        Ok(pair) => pair,
        Err(res) => return res,
    };
    match status::enable(&state, Some(&actor.id), &member.id).await {
        Ok(_) => done(MemberOutcome::Enabled),
        Err(e) => internal(e.into()),
    }
}
