//! The IdP's directory API (docs/directory-api.json) as the portal calls it: always with the
//! signed-in user's access token, so that the IdP decides what this user may see and change.
//! The portal keeps none of the answers beyond the page it renders. Requests and answers are
//! the contract types of [`tongyi_shared::api`], re-exported here.

use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use tongyi_shared::api::{error::ErrorBody, members::MemberStatus, ReasonRequest};
use tongyi_shared::org::UnitStatus;
use tongyi_shared::rp::{Rp, RpError, RpSession};

pub use tongyi_shared::api::{
    admin::{
        AccountRef, AdminDepartment, AdminDepartments, ClientInfo, ClientInput, ClientPatch,
        Clients, DepartmentInput, RegisteredClient, ReviewerInput, Reviewers, RotatedSecret,
    },
    members::{GrantChange, GrantsRequest, Member, Membership},
    people::{ExpertApplication, ExpertInput, PersonProfile, ProfileInput, UnitRegistration},
    subsystems::{Launcher, LauncherEntry},
    units::{
        Address, AddressInput, Attachment, Choices, Completion, CompletionInput, Department,
        Departments, JoinRequest, Joined, ReviewEntry, SubmitRequest, Unit, UnitDetail, UnitHit,
        UnitSearch,
    },
    CursorPage, Page,
};

use crate::error::{ApiRefusal, Error};

/// A page of units to review (by keyset: `next` continues it).
pub type UnitPage = CursorPage<Unit>;
/// A page of a unit's members (by keyset: `next` continues it).
pub type MemberPage = CursorPage<Member>;
/// A page of expert applications.
pub type ExpertPage = Page<ExpertApplication>;

/// The `{}` the action endpoints (approve, disable, …) are sent: they read no body.
#[derive(Serialize)]
struct NoBody {}

/// The HTTP client of the directory API, at the IdP's issuer URL.
#[derive(Clone)]
pub struct Directory {
    http: reqwest::Client,
    base: String,
}

impl Directory {
    pub fn new(issuer: &str) -> Result<Directory, Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Directory {
            http,
            base: issuer.trim_end_matches('/').to_owned(),
        })
    }

    /// The directory as `session`'s user.
    pub fn as_user<'a>(&'a self, rp: &'a Rp, session: &'a RpSession) -> UserApi<'a> {
        UserApi {
            dir: self,
            rp,
            session,
        }
    }
}

/// The directory API on behalf of one signed-in user.
pub struct UserApi<'a> {
    dir: &'a Directory,
    rp: &'a Rp,
    session: &'a RpSession,
}

impl UserApi<'_> {
    /// One call; a 2xx answer is parsed as `T`, anything else becomes an [`Error`].
    pub async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, Error> {
        let mut req = self.request(method, path).await?;
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        self.answer(dispatch(req).await?).await
    }

    /// Sends a prepared request (a multipart upload) with the user's token.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let req = build(self.request(method, path).await?);
        self.answer(dispatch(req).await?).await
    }

    /// A raw GET whose body the caller streams on (attachment downloads).
    pub async fn get_raw(&self, path: &str) -> Result<reqwest::Response, Error> {
        let res = dispatch(self.request(Method::GET, path).await?).await?;
        if res.status().is_success() {
            Ok(res)
        } else {
            Err(self.refusal(res).await)
        }
    }

    /// A request to the directory API carrying the user's access token (refreshed first when
    /// it is about to expire; an ended session asks for a new sign-in).
    async fn request(&self, method: Method, path: &str) -> Result<reqwest::RequestBuilder, Error> {
        let token = self
            .rp
            .access_token(self.session)
            .await
            .map_err(|e| match e {
                RpError::SessionEnded => Error::SignInRequired,
                other => Error::Rp(other),
            })?;
        Ok(self
            .dir
            .http
            .request(method, format!("{}{path}", self.dir.base))
            .bearer_auth(token.secret()))
    }

    async fn answer<T: DeserializeOwned>(&self, res: reqwest::Response) -> Result<T, Error> {
        if res.status().is_success() {
            return res
                .json()
                .await
                .map_err(|e| Error::Unavailable(format!("directory API answer: {e}")));
        }
        Err(self.refusal(res).await)
    }

    async fn refusal(&self, res: reqwest::Response) -> Error {
        let status = res.status();
        if status == StatusCode::UNAUTHORIZED {
            // The IdP no longer honours this session (disabled account, revoked tokens):
            // forget it, so that the login that follows is a real one.
            return match self.rp.end_session(self.session).await {
                Ok(()) => Error::SignInRequired,
                Err(e) => Error::Rp(e),
            };
        }
        if status.is_server_error() {
            return Error::Unavailable(format!("directory API answered {status}"));
        }
        let body: ErrorBody = res.json().await.unwrap_or_default();
        Error::Api(ApiRefusal {
            status: status.as_u16(),
            code: body.error,
            description: body.error_description,
            fields: body.fields.unwrap_or_default(),
        })
    }

    /// A GET: no body.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, Error> {
        self.call::<T, NoBody>(Method::GET, path, query, None).await
    }

    /// A call with a JSON body.
    async fn with_body<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.call(method, path, &[], Some(body)).await
    }

    pub async fn departments(&self) -> Result<Vec<Department>, Error> {
        let a: Departments = self.get("/api/departments", &[]).await?;
        Ok(a.departments)
    }

    /// The page of units to review after the cursor `after` (none: the first page).
    pub async fn review_list(
        &self,
        state: &str,
        q: &str,
        after: Option<&str>,
    ) -> Result<UnitPage, Error> {
        let mut query = vec![("state", state)];
        if !q.is_empty() {
            query.push(("q", q));
        }
        if let Some(after) = after {
            query.push(("after", after));
        }
        self.get("/api/reviews/units", &query).await
    }

    pub async fn unit(&self, org_id: &str) -> Result<UnitDetail, Error> {
        self.get(&format!("/api/units/{}", seg(org_id)), &[]).await
    }

    pub async fn submit_unit(&self, org_id: &str) -> Result<Unit, Error> {
        self.with_body(
            Method::POST,
            &format!("/api/units/{}/submit", seg(org_id)),
            &SubmitRequest::default(),
        )
        .await
    }

    pub async fn choices(&self) -> Result<Choices, Error> {
        self.get("/api/completion/choices", &[]).await
    }

    pub async fn save_completion(
        &self,
        org_id: &str,
        input: &CompletionInput,
    ) -> Result<UnitDetail, Error> {
        self.with_body(
            Method::PUT,
            &format!("/api/units/{}/completion", seg(org_id)),
            input,
        )
        .await
    }

    pub async fn delete_attachment(&self, org_id: &str, attachment_id: &str) -> Result<(), Error> {
        self.send_no_content(
            Method::DELETE,
            &format!(
                "/api/units/{}/attachments/file/{}",
                seg(org_id),
                seg(attachment_id)
            ),
        )
        .await
    }

    /// Uploads one file into `slot`; `body` is streamed to the IdP as it arrives.
    pub async fn upload_attachment(
        &self,
        org_id: &str,
        slot: &str,
        filename: &str,
        body: reqwest::Body,
    ) -> Result<Attachment, Error> {
        let path = format!("/api/units/{}/attachments/{}", seg(org_id), seg(slot));
        self.send(Method::POST, &path, |r| {
            r.query(&[("filename", filename)])
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body)
        })
        .await
    }

    pub async fn attachment_file(
        &self,
        org_id: &str,
        attachment_id: &str,
    ) -> Result<reqwest::Response, Error> {
        self.get_raw(&format!(
            "/api/units/{}/attachments/file/{}",
            seg(org_id),
            seg(attachment_id)
        ))
        .await
    }

    pub async fn subsystems(&self) -> Result<Vec<LauncherEntry>, Error> {
        let a: Launcher = self.get("/api/subsystems", &[]).await?;
        Ok(a.subsystems)
    }

    pub async fn profile(&self) -> Result<PersonProfile, Error> {
        self.get("/api/me/profile", &[]).await
    }

    pub async fn save_profile(&self, input: &ProfileInput) -> Result<PersonProfile, Error> {
        self.with_body(Method::PUT, "/api/me/profile", input).await
    }

    pub async fn register_unit(&self, input: &UnitRegistration) -> Result<Unit, Error> {
        self.with_body(Method::POST, "/api/me/unit-registration", input)
            .await
    }

    pub async fn expert(&self) -> Result<ExpertApplication, Error> {
        self.get("/api/me/expert", &[]).await
    }

    pub async fn submit_expert(&self, input: &ExpertInput) -> Result<ExpertApplication, Error> {
        self.with_body(Method::POST, "/api/me/expert", input).await
    }

    pub async fn expert_reviews(&self, state: &str, page: u32) -> Result<ExpertPage, Error> {
        let page = page.to_string();
        self.get(
            "/api/admin/experts",
            &[("state", state), ("page", page.as_str())],
        )
        .await
    }

    pub async fn decide_expert(
        &self,
        account_id: &str,
        reject_reason: Option<&str>,
    ) -> Result<ExpertApplication, Error> {
        let id = seg(account_id);
        match reject_reason {
            None => {
                let path = format!("/api/admin/experts/{id}/approve");
                self.with_body(Method::POST, &path, &NoBody {}).await
            }
            Some(reason) => {
                let path = format!("/api/admin/experts/{id}/reject");
                let body = ReasonRequest {
                    reason: reason.to_owned(),
                };
                self.with_body(Method::POST, &path, &body).await
            }
        }
    }

    pub async fn approve_unit(&self, org_id: &str) -> Result<Unit, Error> {
        self.with_body(
            Method::POST,
            &format!("/api/units/{}/approve", seg(org_id)),
            &NoBody {},
        )
        .await
    }

    pub async fn return_unit(&self, org_id: &str, reason: &str) -> Result<Unit, Error> {
        self.with_body(
            Method::POST,
            &format!("/api/units/{}/return", seg(org_id)),
            &ReasonRequest {
                reason: reason.to_owned(),
            },
        )
        .await
    }

    pub async fn search_units(&self, name: &str) -> Result<Vec<UnitHit>, Error> {
        let a: UnitSearch = self.get("/api/units/search", &[("name", name)]).await?;
        Ok(a.units)
    }

    pub async fn join_unit(&self, org_id: &str) -> Result<Joined, Error> {
        let body = JoinRequest {
            org_id: org_id.to_owned(),
        };
        self.with_body(Method::POST, "/api/me/unit", &body).await
    }

    /// The page of the unit's members after the cursor `after` (none: the first page).
    pub async fn members(
        &self,
        org_id: &str,
        q: &str,
        after: Option<&str>,
    ) -> Result<MemberPage, Error> {
        let mut query = Vec::new();
        if !q.is_empty() {
            query.push(("q", q));
        }
        if let Some(after) = after {
            query.push(("after", after));
        }
        self.get(&format!("/api/units/{}/members", seg(org_id)), &query)
            .await
    }

    pub async fn approve_member(
        &self,
        org_id: &str,
        account_id: &str,
    ) -> Result<Membership, Error> {
        self.with_body(
            Method::POST,
            &format!(
                "/api/units/{}/members/{}/approve",
                seg(org_id),
                seg(account_id)
            ),
            &NoBody {},
        )
        .await
    }

    pub async fn set_grants(
        &self,
        org_id: &str,
        account_id: &str,
        grants: &[String],
    ) -> Result<GrantChange, Error> {
        self.with_body(
            Method::PUT,
            &format!(
                "/api/units/{}/members/{}/grants",
                seg(org_id),
                seg(account_id)
            ),
            &GrantsRequest {
                grants: grants.to_vec(),
            },
        )
        .await
    }

    /// `action`: `disable`, `enable` or `password-reset` (the members API).
    pub async fn member_action(
        &self,
        account_id: &str,
        action: MemberAction,
    ) -> Result<MemberStatus, Error> {
        self.with_body(
            Method::POST,
            &format!("/api/members/{}/{}", seg(account_id), action.as_path()),
            &NoBody {},
        )
        .await
    }

    /// A call answered with 204 and no body.
    async fn send_no_content(&self, method: Method, path: &str) -> Result<(), Error> {
        let res = dispatch(self.request(method, path).await?).await?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(self.refusal(res).await)
        }
    }
}

/// Sends a request; a transport failure means the IdP is unreachable.
async fn dispatch(req: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
    req.send()
        .await
        .map_err(|e| Error::Unavailable(format!("directory API: {e}")))
}

/// What a unit admin does to a member through the members API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberAction {
    Enable,
    Disable,
    ResetPassword,
}

impl MemberAction {
    pub fn parse(s: &str) -> Option<MemberAction> {
        match s {
            "enable" => Some(MemberAction::Enable),
            "disable" => Some(MemberAction::Disable),
            "password-reset" => Some(MemberAction::ResetPassword),
            _ => None,
        }
    }

    fn as_path(self) -> &'static str {
        match self {
            MemberAction::Enable => "enable",
            MemberAction::Disable => "disable",
            MemberAction::ResetPassword => "password-reset",
        }
    }
}

/// An id as one URL path segment: ids are opaque, so anything but plain characters is escaped.
fn seg(id: &str) -> String {
    let escaped: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    // Dots too, so that `..` cannot climb out of the path.
    escaped.replace('.', "%2E")
}

/// The reason of the latest return, while the unit stands returned: as the IdP states it,
/// or else from the history (an IdP that did not state it).
pub fn return_reason(detail: &UnitDetail) -> Option<&str> {
    if detail.unit.status != UnitStatus::Returned {
        return None;
    }
    if let Some(r) = detail.return_reason.as_deref() {
        return Some(r);
    }
    detail
        .history
        .iter()
        .filter(|h| h.action == "return")
        .max_by_key(|h| h.at)
        .and_then(|h| h.reason.as_deref())
}

/// The platform admin's part of the API (`/api/admin/…`).
impl UserApi<'_> {
    pub async fn admin_departments(&self) -> Result<Vec<AdminDepartment>, Error> {
        let a: AdminDepartments = self.get("/api/admin/departments", &[]).await?;
        Ok(a.departments)
    }

    pub async fn create_department(&self, id: &str, name: &str) -> Result<Department, Error> {
        let body = DepartmentInput {
            id: id.to_owned(),
            name: name.to_owned(),
        };
        self.with_body(Method::POST, "/api/admin/departments", &body)
            .await
    }

    pub async fn reviewers(&self, department_id: &str) -> Result<Vec<AccountRef>, Error> {
        let path = format!("/api/admin/departments/{}/reviewers", seg(department_id));
        let a: Reviewers = self.get(&path, &[]).await?;
        Ok(a.reviewers)
    }

    pub async fn add_reviewer(
        &self,
        department_id: &str,
        username: &str,
    ) -> Result<AccountRef, Error> {
        let body = ReviewerInput {
            username: username.to_owned(),
        };
        self.with_body(
            Method::POST,
            &format!("/api/admin/departments/{}/reviewers", seg(department_id)),
            &body,
        )
        .await
    }

    pub async fn remove_reviewer(
        &self,
        department_id: &str,
        account_id: &str,
    ) -> Result<(), Error> {
        self.send_no_content(
            Method::DELETE,
            &format!(
                "/api/admin/departments/{}/reviewers/{}",
                seg(department_id),
                seg(account_id)
            ),
        )
        .await
    }

    pub async fn clients(&self) -> Result<Vec<ClientInfo>, Error> {
        let a: Clients = self.get("/api/admin/clients", &[]).await?;
        Ok(a.clients)
    }

    pub async fn create_client(&self, input: &ClientInput) -> Result<RegisteredClient, Error> {
        self.with_body(Method::POST, "/api/admin/clients", input)
            .await
    }

    pub async fn update_client(
        &self,
        client_id: &str,
        input: &ClientPatch,
    ) -> Result<ClientInfo, Error> {
        self.with_body(
            Method::PATCH,
            &format!("/api/admin/clients/{}", seg(client_id)),
            input,
        )
        .await
    }

    /// A new secret for the client, returned once.
    pub async fn rotate_secret(&self, client_id: &str) -> Result<RotatedSecret, Error> {
        self.with_body(
            Method::POST,
            &format!("/api/admin/clients/{}/rotate-secret", seg(client_id)),
            &NoBody {},
        )
        .await
    }

    /// Enables or disables the client.
    pub async fn set_client_enabled(
        &self,
        client_id: &str,
        enabled: bool,
    ) -> Result<ClientInfo, Error> {
        let action = if enabled { "enable" } else { "disable" };
        self.with_body(
            Method::POST,
            &format!("/api/admin/clients/{}/{action}", seg(client_id)),
            &NoBody {},
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_latest_return_gives_the_reason() {
        let detail: UnitDetail = serde_json::from_value(json!({
            "id": "o1", "name": "单位", "uscc": null, "status": "returned",
            "department": { "id": "d1", "name": "科技局" }, "submitted_at": 5,
            "history": [
                { "action": "return", "from": "pending_review", "to": "returned",
                  "actor_account_id": "a", "reason": "旧的原因", "at": 1 },
                { "action": "submit", "from": "returned", "to": "pending_review",
                  "actor_account_id": "b", "at": 2 },
                { "action": "return", "from": "pending_review", "to": "returned",
                  "actor_account_id": "a", "reason": "营业执照不清晰", "at": 3 }
            ],
            "completion": {
                "registered_address": { "city": "", "district": "", "detail": "" },
                "located_address": { "city": "", "district": "", "detail": "" }
            },
            "attachments": [], "editable": true, "return_reason": null
        }))
        .unwrap();
        assert_eq!(return_reason(&detail), Some("营业执照不清晰"));
        let mut stated = detail.clone();
        stated.return_reason = Some("以此为准".into());
        assert_eq!(return_reason(&stated), Some("以此为准"));
        let mut active = detail.clone();
        active.unit.status = UnitStatus::Active;
        assert_eq!(return_reason(&active), None);
    }

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(seg("abc-1"), "abc-1");
        assert_eq!(seg("../x"), "%2E%2E%2Fx");
    }
}
