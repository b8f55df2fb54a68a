//! Resource indicators (RFC 8707): which resource servers an access token is meant for.
//!
//! A client may be registered as a resource server under an audience identifier (its
//! `resource_uri`). A client asks for resources with `resource` at /authorize (what the user
//! grants) and at /token (what this access token is for, at most what was granted). The
//! access token's `aud` is the resources asked for; when none was asked, it is the client's
//! own id, which is what tokens carried before resource servers existed.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::Client;
use crate::{failure::Failure, services::Services, store};

/// Why requested resources were refused: the RFC 8707 `invalid_target` error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("resource {0:?} must be an absolute URI without a fragment")]
    Malformed(String),
    #[error("resource {0:?} is not a registered resource server")]
    Unknown(String),
    #[error("resource {0:?} was not granted by the authorization request")]
    NotGranted(String),
}

/// Checks the form of the `resource` values (RFC 8707 §2) and removes repeats, keeping order.
pub fn parse(values: &[String]) -> Result<Vec<String>, TargetError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let ok = url::Url::parse(v)
            .map(|u| u.fragment().is_none())
            .unwrap_or(false);
        if !ok {
            return Err(TargetError::Malformed(v.clone()));
        }
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(out)
}

/// The resources of one token request: those asked for, which must all have been granted, or
/// every granted one when none was asked (RFC 8707 §2.2).
pub fn narrow(granted: &[String], requested: Vec<String>) -> Result<Vec<String>, TargetError> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    match requested.iter().find(|r| !granted.contains(r)) {
        Some(extra) => Err(TargetError::NotGranted(extra.clone())),
        None => Ok(requested),
    }
}

/// Why resources could not be checked: refused, or a failure of ours (the store).
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Refuses any resource that is not an enabled registered resource server.
pub async fn check_registered(state: &Services, resources: &[String]) -> Result<(), ResourceError> {
    for r in resources {
        if resource_server(state, r).await?.is_none() {
            return Err(TargetError::Unknown(r.clone()).into());
        }
    }
    Ok(())
}

/// The enabled client registered as resource server `uri`, through the client cache.
pub async fn resource_server(state: &Services, uri: &str) -> Result<Option<Arc<Client>>, Failure> {
    if let Some(cached) = state.clients.get_resource(uri) {
        return Ok(cached);
    }
    let found = store::clients::find_by_resource(&state.db, uri)
        .await
        .map_err(Failure::from)?
        .filter(|c| c.enabled)
        .map(Arc::new);
    state.clients.insert_resource(uri, found.clone());
    Ok(found)
}

/// The `aud` of an access token: one identifier or several (RFC 7519 §4.1.3 allows both, and
/// a single one is written as a string, as tokens always were).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience(pub Vec<String>);

impl Audience {
    /// The resources when any, else the client's own id.
    pub fn of(client_id: &str, resources: &[String]) -> Audience {
        if resources.is_empty() {
            Audience(vec![client_id.to_owned()])
        } else {
            Audience(resources.to_vec())
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|a| a == id)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(a) => Audience(vec![a]),
            OneOrMany::Many(a) => Audience(a),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resources_are_absolute_uris_without_fragments() {
        assert_eq!(
            parse(&v(&[
                "https://api.example/",
                "https://api.example/",
                "urn:x:reports"
            ])),
            Ok(v(&["https://api.example/", "urn:x:reports"]))
        );
        for bad in ["/relative", "api.example", "https://api.example/#top", ""] {
            assert_eq!(
                parse(&v(&[bad])),
                Err(TargetError::Malformed(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_token_request_narrows_the_granted_resources() {
        let granted = v(&["https://a.example", "https://b.example"]);
        assert_eq!(narrow(&granted, vec![]), Ok(granted.clone()));
        assert_eq!(
            narrow(&granted, v(&["https://b.example"])),
            Ok(v(&["https://b.example"]))
        );
        assert_eq!(
            narrow(&granted, v(&["https://c.example"])),
            Err(TargetError::NotGranted("https://c.example".into()))
        );
        assert_eq!(narrow(&[], vec![]), Ok(vec![]));
    }

    #[test]
    fn one_audience_is_a_string_several_an_array() {
        let one = Audience::of("rp", &[]);
        assert_eq!(serde_json::to_string(&one).unwrap(), "\"rp\"");
        let many = Audience::of("rp", &v(&["https://a.example", "https://b.example"]));
        let json = serde_json::to_string(&many).unwrap();
        assert_eq!(json, r#"["https://a.example","https://b.example"]"#);
        assert_eq!(serde_json::from_str::<Audience>(&json).unwrap(), many);
        assert_eq!(serde_json::from_str::<Audience>("\"rp\"").unwrap(), one);
        assert!(many.contains("https://b.example") && !many.contains("rp"));
    }
}
