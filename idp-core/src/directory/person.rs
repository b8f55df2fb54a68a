//! A natural person's own records: the profile (个人信息补全: gender, phone, position, title;
//! name, ID and mobile stay on the account and are only shown, masked) and the unit it
//! registers itself (the Zhengzhou model: it becomes that unit's admin, and the unit goes
//! through the same completion and department review as a legal entity's).

use tongyi_shared::{
    claims::AccountType,
    validate::{IdDocumentType, Uscc},
};

use super::{fields_ok, required_text, Actor, DirResult, DirectoryError, FieldErrors};
use crate::{
    accounts::register::ENTITY_TYPES,
    audit::{self, AuditEntry, AuditEvent},
    services::Services,
    store::{
        self,
        directory::UnitRecord,
        identities::Taken,
        people::{PersonUnit, Profile, UnitRegistrationError},
    },
};

pub const GENDERS: [&str; 2] = ["男", "女"];

/// The profile as the person sees it.
pub struct ProfileView {
    pub profile: Profile,
    pub id_type: Option<&'static str>,
    /// Masked.
    pub id_number: Option<String>,
}

fn require_person(actor: &Actor) -> DirResult<()> {
    if actor.account.account_type == AccountType::NaturalPerson {
        Ok(())
    } else {
        Err(DirectoryError::Forbidden(
            "only natural persons have a personal profile".into(),
        ))
    }
}

pub async fn profile(state: &Services, actor: &Actor) -> DirResult<ProfileView> {
    require_person(actor)?;
    let profile = store::people::profile(&state.db, &actor.account.id).await?;
    let identity =
        store::identities::person_identity(&state.db, &state.pii, &actor.account.id).await?;
    Ok(ProfileView {
        profile,
        id_type: identity
            .as_ref()
            .and_then(|i| IdDocumentType::from_code(&i.id_type))
            .map(IdDocumentType::label),
        id_number: identity.map(|i| tongyi_shared::mask::mask_id_number(&i.id_number)),
    })
}

/// What a profile save sends (the directory API's contract type).
pub use tongyi_shared::api::people::ProfileInput;

/// Checks a gender choice into `e`.
pub fn check_gender(e: &mut FieldErrors, gender: &str) -> String {
    let g = gender.trim();
    if !GENDERS.contains(&g) {
        e.insert("gender".into(), "请选择性别".into());
    }
    g.to_owned()
}

pub fn check_profile(input: &ProfileInput) -> Result<Profile, FieldErrors> {
    let mut e = FieldErrors::new();
    let gender = check_gender(&mut e, &input.gender);
    let phone = input.phone.trim();
    let phone_ok = phone.is_empty()
        || ((7..=20).contains(&phone.len())
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
            && phone.chars().filter(char::is_ascii_digit).count() >= 7);
    if !phone_ok {
        e.insert("phone".into(), "请输入正确的电话号码".into());
    }
    let position = required_text(&mut e, "position", &input.position, 50, "职务");
    let title = required_text(&mut e, "title", &input.title, 50, "职称");
    if !e.is_empty() {
        return Err(e);
    }
    Ok(Profile {
        gender: Some(gender),
        phone: (!phone.is_empty()).then(|| phone.to_owned()),
        position: Some(position),
        title: Some(title),
    })
}

pub async fn save_profile(
    state: &Services,
    actor: &Actor,
    input: &ProfileInput,
) -> DirResult<ProfileView> {
    require_person(actor)?;
    let p = check_profile(input).map_err(DirectoryError::Fields)?;
    store::people::set_profile(&state.db, &actor.account.id, &p, state.clock.now()).await?;
    profile(state, actor).await
}

/// What a person's unit registration sends (the directory API's contract type).
pub use tongyi_shared::api::people::UnitRegistration as UnitInput;

/// A natural person registers its unit and becomes its admin; the unit starts `registered`.
pub async fn register_unit(
    state: &Services,
    actor: &Actor,
    input: &UnitInput,
) -> DirResult<UnitRecord> {
    require_person(actor)?;
    if actor.account.org.is_some() {
        return Err(DirectoryError::Conflict(
            "the account already belongs to a unit".into(),
        ));
    }
    let mut e = FieldErrors::new();
    let name = required_text(&mut e, "name", &input.name, 100, "单位名称");
    let uscc = match Uscc::parse(&input.uscc) {
        Ok(u) => Some(u),
        Err(err) => {
            e.insert("uscc".into(), err.message().into());
            None
        }
    };
    let entity_type = ENTITY_TYPES
        .iter()
        .find(|(_, label)| *label == input.entity_type.trim())
        .map(|(code, _)| *code);
    if entity_type.is_none() {
        e.insert("entity_type".into(), "请选择法人类型".into());
    }
    fields_ok(e)?;
    let (Some(uscc), Some(entity_type)) = (uscc, entity_type) else {
        unreachable!("checked above");
    };
    let id = format!("org-{}", uuid::Uuid::new_v4());
    let unit = PersonUnit {
        id: &id,
        name: &name,
        uscc: uscc.as_str(),
        entity_type,
    };
    let now = state.clock.now();
    match store::people::register_unit(&state.db, &actor.account.id, &unit, now).await {
        Ok(()) => {}
        Err(UnitRegistrationError::Taken(t)) => {
            let (field, message) = match t {
                Taken::UnitName => ("name", "该单位名称已注册"),
                _ => ("uscc", "该统一社会信用代码已注册"),
            };
            let mut e = FieldErrors::new();
            e.insert(field.into(), message.into());
            return Err(DirectoryError::Fields(e));
        }
        Err(UnitRegistrationError::InUnit) => {
            return Err(DirectoryError::Conflict(
                "the account already belongs to a unit".into(),
            ))
        }
        Err(UnitRegistrationError::Db(e)) => return Err(e.into()),
    }
    let entry = AuditEntry::new(AuditEvent::DirectoryChanged)
        .by_subject(&actor.account.id)
        .detail("change", "unit_registered")
        .detail("org_id", id.as_str());
    audit::record(state, entry).await;
    super::review::unit(state, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_profile_checked() {
        let ok = ProfileInput {
            gender: "女".into(),
            phone: "022-2345 6789".into(),
            position: "主任".into(),
            title: "高级工程师".into(),
        };
        assert!(check_profile(&ok).is_ok());
        let bad = ProfileInput {
            gender: "x".into(),
            phone: "abc".into(),
            position: " ".into(),
            title: "t".repeat(51),
        };
        let e = check_profile(&bad).unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert_eq!(e["gender"], "请选择性别");
        assert_eq!(e["position"], "请填写职务");
    }
}
