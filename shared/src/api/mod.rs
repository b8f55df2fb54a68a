//! The directory API contract: the request and response bodies of the IdP's JSON APIs for the
//! portal (`/api/…` with the signed-in user's Bearer access token). The IdP serializes these
//! types and parses requests into them; the portal reads the answers and sends the requests
//! with the same types, so the two cannot drift apart. With the feature `openapi` every type
//! also derives `utoipa::ToSchema`, from which the IdP generates docs/directory-api.json.
//!
//! Optional values the IdP answers as `null` are `Option` without `skip_serializing_if`;
//! fields omitted on the wire say so where they are declared.

pub mod admin;
pub mod error;
pub mod legacy;
pub mod members;
pub mod people;
pub mod register;
mod schema;
pub mod subsystems;
pub mod units;

use serde::{Deserialize, Serialize};

/// One page of a short list by number (expert applications): 1-based `page`, at most
/// `page_size` (20) items, and the total.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items of the whole list.
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// One page of a long list, read by keyset (the units to review, a unit's members): at most
/// `page_size` (20) items, and `next` to ask for the page after it.
///
/// There is no total on purpose. A total is a `COUNT(*)` of every matching row, which grows
/// with the list (a big unit's members, a department's units with a name filter): it is what
/// made these pages slow at scale (docs/benchmarks.md, "Keyset paging"). A keyset page costs
/// the same at any depth, and neither repeats nor skips an item when others are added between
/// two pages, as an offset page does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CursorPage<T> {
    pub items: Vec<T>,
    pub page_size: i64,
    /// An opaque cursor: send it back as `after` for the next page. Null on the last page.
    /// Only its alphabet is part of the contract (URL-safe: `A–Z a–z 0–9 - _`, at most 512
    /// characters), not its content; a cursor that was not answered by the same list is
    /// refused (400 `invalid_request`, with `fields.after`).
    #[cfg_attr(feature = "openapi", schema(example = "cjE6MTc5NjEyNjQwMDpvcmctNDI"))]
    pub next: Option<String>,
}

/// A body with only a reason: returning or suspending a unit, rejecting an expert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReasonRequest {
    /// Why (1–500 characters).
    pub reason: String,
}

#[cfg(test)]
mod tests {
    //! The wire forms the IdP has always answered and parsed.

    use serde_json::json;

    use super::admin::{ClientInput, ClientPatch, RegisteredClient};
    use super::error::ErrorBody;
    use super::units::{Completion, Unit, UnitDetail};
    use crate::org::UnitStatus;

    #[test]
    fn an_error_has_fields_only_when_invalid_fields() {
        let plain = ErrorBody::new("forbidden", "no");
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            json!({ "error": "forbidden", "error_description": "no" })
        );
        let fields = ErrorBody {
            fields: Some([("name".to_owned(), "请填写".to_owned())].into()),
            ..ErrorBody::new("invalid_fields", "some fields are invalid")
        };
        assert_eq!(
            serde_json::to_string(&fields).unwrap(),
            r#"{"error":"invalid_fields","error_description":"some fields are invalid","fields":{"name":"请填写"}}"#
        );
        let internal: ErrorBody =
            serde_json::from_value(json!({ "error": "server_error" })).unwrap();
        assert_eq!(internal.error_description, "");
    }

    #[test]
    fn a_unit_detail_is_the_unit_with_more_fields() {
        let unit = Unit {
            id: "o1".into(),
            name: "单位".into(),
            uscc: None,
            status: UnitStatus::PendingReview,
            department: None,
            submitted_at: Some(5),
            realname_status: Some(crate::claims::RealnameStatus::Verified),
        };
        let detail = UnitDetail {
            unit: unit.clone(),
            history: vec![],
            completion: Completion::default(),
            attachments: vec![],
            editable: false,
            return_reason: None,
        };
        let v = serde_json::to_value(&detail).unwrap();
        assert_eq!(v["status"], "pending_review");
        assert_eq!(v["realname_status"], "verified");
        assert_eq!(v["department"], serde_json::Value::Null);
        assert_eq!(v["return_reason"], serde_json::Value::Null);
        assert_eq!(
            v["completion"]["registered_address"],
            json!({ "city": "", "district": "", "detail": "" })
        );
        assert_eq!(v["completion"]["contact_mobile"], serde_json::Value::Null);
        let back: UnitDetail = serde_json::from_value(v).unwrap();
        assert_eq!(back.unit, unit);
    }

    #[test]
    fn a_client_patch_tells_null_from_absent() {
        let p: ClientPatch =
            serde_json::from_value(json!({ "initiate_login_uri": null, "name": "x" })).unwrap();
        assert_eq!(p.initiate_login_uri, Some(None));
        assert_eq!(p.backchannel_logout_uri, None);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({ "name": "x", "initiate_login_uri": null })
        );
    }

    #[test]
    fn a_client_input_takes_the_defaults() {
        let c: ClientInput = serde_json::from_value(json!({
            "client_id": "c1", "name": "C", "redirect_uris": ["https://c.example/cb"]
        }))
        .unwrap();
        assert_eq!(
            c,
            ClientInput::new("c1", "C", vec!["https://c.example/cb".into()])
        );
        assert_eq!(c.signing_alg, "RS256");
        assert_eq!(c.scopes, ["openid", "profile", "account", "org", "grants"]);
        assert!(!c.first_party);
    }

    #[test]
    fn a_registered_client_carries_its_secret_beside_the_client() {
        let v = json!({
            "client_id": "c1", "name": "C", "auth_method": "client_secret_basic",
            "redirect_uris": [], "post_logout_redirect_uris": [],
            "backchannel_logout_uri": null, "initiate_login_uri": null, "subsystem_code": null,
            "scopes": ["openid"], "signing_alg": "RS256", "first_party": false, "enabled": true,
            "client_secret": "s"
        });
        let r: RegisteredClient = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.client_secret.as_deref(), Some("s"));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }
}
