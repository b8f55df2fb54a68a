//! The IdP's directory API (docs/directory-api.yaml) as the portal calls it: always with the
//! signed-in user's access token, so that the IdP decides what this user may see and change.
//! The portal keeps none of the answers beyond the page it renders.

use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{json, Value};
use tongyi_shared::rp::{Rp, RpError, RpSession};

use crate::error::{ApiRefusal, Error};

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

/// `{"error", "error_description"}` of every API refusal, with `fields` for 422.
#[derive(Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    fields: std::collections::BTreeMap<String, String>,
}

impl UserApi<'_> {
    /// One call; a 2xx answer is parsed as `T`, anything else becomes an [`Error`].
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<T, Error> {
        let token = self
            .rp
            .access_token(self.session)
            .await
            .map_err(|e| match e {
                RpError::SessionEnded => Error::SignInRequired,
                other => Error::Rp(other),
            })?;
        let mut req = self
            .dir
            .http
            .request(method, format!("{}{path}", self.dir.base))
            .bearer_auth(token.secret());
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("directory API: {e}")))?;
        self.answer(res).await
    }

    /// Sends a prepared request (a multipart upload) with the user's token.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let token = self
            .rp
            .access_token(self.session)
            .await
            .map_err(|e| match e {
                RpError::SessionEnded => Error::SignInRequired,
                other => Error::Rp(other),
            })?;
        let req = self
            .dir
            .http
            .request(method, format!("{}{path}", self.dir.base))
            .bearer_auth(token.secret());
        let res = build(req)
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("directory API: {e}")))?;
        self.answer(res).await
    }

    /// A raw GET whose body the caller streams on (attachment downloads).
    pub async fn get_raw(&self, path: &str) -> Result<reqwest::Response, Error> {
        let token = self
            .rp
            .access_token(self.session)
            .await
            .map_err(|e| match e {
                RpError::SessionEnded => Error::SignInRequired,
                other => Error::Rp(other),
            })?;
        let res = self
            .dir
            .http
            .get(format!("{}{path}", self.dir.base))
            .bearer_auth(token.secret())
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("directory API: {e}")))?;
        if res.status().is_success() {
            Ok(res)
        } else {
            Err(self.refusal(res).await)
        }
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
            self.rp.end_session(self.session);
            return Error::SignInRequired;
        }
        if status.is_server_error() {
            return Error::Unavailable(format!("directory API answered {status}"));
        }
        let body: ErrorBody = res.json().await.unwrap_or_default();
        Error::Api(ApiRefusal {
            status: status.as_u16(),
            code: body.error,
            description: body.error_description,
            fields: body.fields,
        })
    }

    pub async fn departments(&self) -> Result<Vec<Department>, Error> {
        #[derive(Deserialize)]
        struct Answer {
            departments: Vec<Department>,
        }
        let a: Answer = self
            .call(Method::GET, "/api/departments", &[], None)
            .await?;
        Ok(a.departments)
    }

    pub async fn review_list(&self, state: &str, q: &str, page: u32) -> Result<UnitPage, Error> {
        let page = page.to_string();
        let mut query = vec![("state", state), ("page", page.as_str())];
        if !q.is_empty() {
            query.push(("q", q));
        }
        self.call(Method::GET, "/api/reviews/units", &query, None)
            .await
    }

    pub async fn unit(&self, org_id: &str) -> Result<UnitDetail, Error> {
        self.call(
            Method::GET,
            &format!("/api/units/{}", seg(org_id)),
            &[],
            None,
        )
        .await
    }

    pub async fn submit_unit(&self, org_id: &str) -> Result<Unit, Error> {
        self.call(
            Method::POST,
            &format!("/api/units/{}/submit", seg(org_id)),
            &[],
            Some(json!({})),
        )
        .await
    }

    pub async fn choices(&self) -> Result<Choices, Error> {
        self.call(Method::GET, "/api/completion/choices", &[], None)
            .await
    }

    pub async fn save_completion(&self, org_id: &str, input: &Value) -> Result<UnitDetail, Error> {
        self.call(
            Method::PUT,
            &format!("/api/units/{}/completion", seg(org_id)),
            &[],
            Some(input.clone()),
        )
        .await
    }

    pub async fn delete_attachment(&self, org_id: &str, attachment_id: &str) -> Result<(), Error> {
        self.send::<Value>(
            Method::DELETE,
            &format!(
                "/api/units/{}/attachments/file/{}",
                seg(org_id),
                seg(attachment_id)
            ),
            |r| r,
        )
        .await
        .map(|_| ())
    }

    /// Uploads one file into `slot`; `body` is streamed to the IdP as it arrives.
    pub async fn upload_attachment(
        &self,
        org_id: &str,
        slot: &str,
        filename: &str,
        body: reqwest::Body,
    ) -> Result<Value, Error> {
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

    pub async fn subsystems(&self) -> Result<Vec<SubsystemEntry>, Error> {
        #[derive(Deserialize)]
        struct Answer {
            subsystems: Vec<SubsystemEntry>,
        }
        let a: Answer = self.call(Method::GET, "/api/subsystems", &[], None).await?;
        Ok(a.subsystems)
    }

    pub async fn profile(&self) -> Result<PersonProfile, Error> {
        self.call(Method::GET, "/api/me/profile", &[], None).await
    }

    pub async fn save_profile(&self, input: &Value) -> Result<PersonProfile, Error> {
        self.call(Method::PUT, "/api/me/profile", &[], Some(input.clone()))
            .await
    }

    pub async fn register_unit(&self, input: &Value) -> Result<Unit, Error> {
        self.call(
            Method::POST,
            "/api/me/unit-registration",
            &[],
            Some(input.clone()),
        )
        .await
    }

    pub async fn expert(&self) -> Result<ExpertApplication, Error> {
        self.call(Method::GET, "/api/me/expert", &[], None).await
    }

    pub async fn submit_expert(&self, input: &Value) -> Result<ExpertApplication, Error> {
        self.call(Method::POST, "/api/me/expert", &[], Some(input.clone()))
            .await
    }

    pub async fn expert_reviews(&self, state: &str, page: u32) -> Result<ExpertPage, Error> {
        let page = page.to_string();
        self.call(
            Method::GET,
            "/api/admin/experts",
            &[("state", state), ("page", page.as_str())],
            None,
        )
        .await
    }

    pub async fn decide_expert(
        &self,
        account_id: &str,
        reject_reason: Option<&str>,
    ) -> Result<ExpertApplication, Error> {
        let (action, body) = match reject_reason {
            None => ("approve", json!({})),
            Some(reason) => ("reject", json!({ "reason": reason })),
        };
        self.call(
            Method::POST,
            &format!("/api/admin/experts/{}/{action}", seg(account_id)),
            &[],
            Some(body),
        )
        .await
    }

    pub async fn approve_unit(&self, org_id: &str) -> Result<Unit, Error> {
        self.call(
            Method::POST,
            &format!("/api/units/{}/approve", seg(org_id)),
            &[],
            Some(json!({})),
        )
        .await
    }

    pub async fn return_unit(&self, org_id: &str, reason: &str) -> Result<Unit, Error> {
        self.call(
            Method::POST,
            &format!("/api/units/{}/return", seg(org_id)),
            &[],
            Some(json!({ "reason": reason })),
        )
        .await
    }

    pub async fn search_units(&self, name: &str) -> Result<Vec<UnitHit>, Error> {
        #[derive(Deserialize)]
        struct Answer {
            units: Vec<UnitHit>,
        }
        let a: Answer = self
            .call(Method::GET, "/api/units/search", &[("name", name)], None)
            .await?;
        Ok(a.units)
    }

    pub async fn join_unit(&self, org_id: &str) -> Result<Value, Error> {
        self.call(
            Method::POST,
            "/api/me/unit",
            &[],
            Some(json!({ "org_id": org_id })),
        )
        .await
    }

    pub async fn members(&self, org_id: &str, q: &str, page: u32) -> Result<MemberPage, Error> {
        let page = page.to_string();
        let mut query = vec![("page", page.as_str())];
        if !q.is_empty() {
            query.push(("q", q));
        }
        self.call(
            Method::GET,
            &format!("/api/units/{}/members", seg(org_id)),
            &query,
            None,
        )
        .await
    }

    pub async fn approve_member(&self, org_id: &str, account_id: &str) -> Result<Value, Error> {
        self.call(
            Method::POST,
            &format!(
                "/api/units/{}/members/{}/approve",
                seg(org_id),
                seg(account_id)
            ),
            &[],
            Some(json!({})),
        )
        .await
    }

    pub async fn set_grants(
        &self,
        org_id: &str,
        account_id: &str,
        grants: &[String],
    ) -> Result<GrantChange, Error> {
        self.call(
            Method::PUT,
            &format!(
                "/api/units/{}/members/{}/grants",
                seg(org_id),
                seg(account_id)
            ),
            &[],
            Some(json!({ "grants": grants })),
        )
        .await
    }

    /// `action`: `disable`, `enable` or `password-reset` (the members API).
    pub async fn member_action(
        &self,
        account_id: &str,
        action: MemberAction,
    ) -> Result<Value, Error> {
        self.call(
            Method::POST,
            &format!("/api/members/{}/{}", seg(account_id), action.as_path()),
            &[],
            Some(json!({})),
        )
        .await
    }
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

/// The choice lists of the unit completion form.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Choices {
    #[serde(default)]
    pub legal_person_natures: Vec<String>,
    #[serde(default)]
    pub entity_types: Vec<String>,
    #[serde(default)]
    pub cities: Vec<City>,
    #[serde(default)]
    pub departments: Vec<Department>,
    #[serde(default)]
    pub attachment_slots: Vec<SlotInfo>,
    #[serde(default)]
    pub max_file_bytes: u64,
    #[serde(default)]
    pub genders: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct City {
    pub name: String,
    #[serde(default)]
    pub districts: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SlotInfo {
    pub slot: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// 法人信息补全 as stored.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Completion {
    pub legal_person_nature: Option<String>,
    pub entity_type: Option<String>,
    pub contact_name: Option<String>,
    pub contact_mobile: Option<String>,
    pub contact_email: Option<String>,
    pub department_id: Option<String>,
    #[serde(default)]
    pub registered_address: Option<Address>,
    #[serde(default)]
    pub located_address: Option<Address>,
    pub bank_account_name: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account_number: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub slot: String,
    pub filename: String,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub uploaded_at: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SubsystemEntry {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub initiate_login_uri: Option<String>,
    #[serde(default)]
    pub granted: bool,
    #[serde(default)]
    pub how_to_get: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ProfileOrg {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub membership: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PersonProfile {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub name: String,
    pub gender: Option<String>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub position: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub org: Option<ProfileOrg>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExpertApplication {
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub name: String,
    pub gender: Option<String>,
    pub id_number: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub institution: Option<String>,
    pub position: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    pub fields: Vec<String>,
    pub status: String,
    pub reason: Option<String>,
    pub submitted_at: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExpertPage {
    pub items: Vec<ExpertApplication>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Department {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub uscc: Option<String>,
    pub status: String,
    #[serde(default)]
    pub department: Option<Department>,
    #[serde(default)]
    pub submitted_at: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ReviewEntry {
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub actor_account_id: String,
    #[serde(default)]
    pub actor_name: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    pub at: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct UnitDetail {
    #[serde(flatten)]
    pub unit: Unit,
    #[serde(default)]
    pub editable: bool,
    #[serde(default, rename = "return_reason")]
    pub stated_return_reason: Option<String>,
    #[serde(default)]
    pub completion: Option<Completion>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub history: Vec<ReviewEntry>,
}

impl UnitDetail {
    /// The reason of the latest return, while the unit stands returned: as the IdP states it,
    /// or else from the history.
    pub fn return_reason(&self) -> Option<&str> {
        if self.unit.status != "returned" {
            return None;
        }
        if let Some(r) = self.stated_return_reason.as_deref() {
            return Some(r);
        }
        self.history
            .iter()
            .filter(|h| h.action == "return")
            .max_by_key(|h| h.at)
            .and_then(|h| h.reason.as_deref())
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct UnitPage {
    pub items: Vec<Unit>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct UnitHit {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub uscc: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Member {
    pub account_id: String,
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub status: String,
    #[serde(default)]
    pub status_label: String,
    pub membership: String,
    #[serde(default)]
    pub grants: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MemberPage {
    pub items: Vec<Member>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GrantChange {
    pub grants: Vec<String>,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
}

#[cfg(test)]
mod tests {
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
            ]
        }))
        .unwrap();
        assert_eq!(detail.return_reason(), Some("营业执照不清晰"));
        let mut active = detail.clone();
        active.unit.status = "active".into();
        assert_eq!(active.return_reason(), None);
    }

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(seg("abc-1"), "abc-1");
        assert_eq!(seg("../x"), "%2E%2E%2Fx");
    }
}

/// The platform admin's part of the API (`/api/admin/…`).
impl UserApi<'_> {
    pub async fn admin_departments(&self) -> Result<Vec<AdminDepartment>, Error> {
        #[derive(Deserialize)]
        struct Answer {
            departments: Vec<AdminDepartment>,
        }
        let a: Answer = self
            .call(Method::GET, "/api/admin/departments", &[], None)
            .await?;
        Ok(a.departments)
    }

    pub async fn create_department(&self, id: &str, name: &str) -> Result<Value, Error> {
        self.call(
            Method::POST,
            "/api/admin/departments",
            &[],
            Some(json!({ "id": id, "name": name })),
        )
        .await
    }

    pub async fn reviewers(&self, department_id: &str) -> Result<Vec<AccountRef>, Error> {
        #[derive(Deserialize)]
        struct Answer {
            reviewers: Vec<AccountRef>,
        }
        let a: Answer = self
            .call(
                Method::GET,
                &format!("/api/admin/departments/{}/reviewers", seg(department_id)),
                &[],
                None,
            )
            .await?;
        Ok(a.reviewers)
    }

    pub async fn add_reviewer(&self, department_id: &str, username: &str) -> Result<Value, Error> {
        self.call(
            Method::POST,
            &format!("/api/admin/departments/{}/reviewers", seg(department_id)),
            &[],
            Some(json!({ "username": username })),
        )
        .await
    }

    pub async fn remove_reviewer(
        &self,
        department_id: &str,
        account_id: &str,
    ) -> Result<(), Error> {
        self.send::<Value>(
            Method::DELETE,
            &format!(
                "/api/admin/departments/{}/reviewers/{}",
                seg(department_id),
                seg(account_id)
            ),
            |r| r,
        )
        .await
        .map(|_| ())
    }

    pub async fn clients(&self) -> Result<Vec<ClientInfo>, Error> {
        #[derive(Deserialize)]
        struct Answer {
            clients: Vec<ClientInfo>,
        }
        let a: Answer = self
            .call(Method::GET, "/api/admin/clients", &[], None)
            .await?;
        Ok(a.clients)
    }

    pub async fn create_client(&self, input: &Value) -> Result<ClientWithSecret, Error> {
        self.call(Method::POST, "/api/admin/clients", &[], Some(input.clone()))
            .await
    }

    pub async fn update_client(&self, client_id: &str, input: &Value) -> Result<ClientInfo, Error> {
        self.call(
            Method::PATCH,
            &format!("/api/admin/clients/{}", seg(client_id)),
            &[],
            Some(input.clone()),
        )
        .await
    }

    /// `rotate-secret`, `disable` or `enable`.
    pub async fn client_action(&self, client_id: &str, action: &str) -> Result<Value, Error> {
        self.call(
            Method::POST,
            &format!("/api/admin/clients/{}/{action}", seg(client_id)),
            &[],
            Some(json!({})),
        )
        .await
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct AdminDepartment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub units: u64,
    #[serde(default)]
    pub reviewers: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AccountRef {
    pub account_id: String,
    pub username: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ClientInfo {
    pub client_id: String,
    pub name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub initiate_login_uri: Option<String>,
    #[serde(default)]
    pub subsystem_code: Option<String>,
    #[serde(default)]
    pub enabled: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientInfo,
    pub client_secret: String,
}
