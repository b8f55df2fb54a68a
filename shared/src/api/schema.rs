//! OpenAPI schemas of the wire enums: a string with the enum's wire names, written by hand
//! because `wire_enum!` types are declared outside this module (and without utoipa).

#[cfg(feature = "openapi")]
mod wire_enums {
    use std::borrow::Cow;

    use utoipa::openapi::{schema::ObjectBuilder, schema::Type, RefOr, Schema};

    use crate::api::members::MemberOutcome;
    use crate::org::{OrgRole, UnitStatus};

    fn string_enum(description: &str, values: impl Iterator<Item = &'static str>) -> Schema {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .enum_values(Some(values))
            .build()
            .into()
    }

    macro_rules! wire_enum_schema {
        ($($name:ident: $description:literal),+ $(,)?) => {$(
            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    string_enum($description, $name::ALL.iter().map(|v| v.as_str())).into()
                }
            }

            impl utoipa::ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )+};
    }

    wire_enum_schema! {
        UnitStatus: "A unit's review state: registered → submit → pending_review → approve → \
            active, or return → returned → submit → pending_review; a platform admin may \
            suspend an active unit (suspended) and reactivate it.",
        OrgRole: "An account's role in its unit: pending (asked to join), member (accepted by \
            the unit's admin) or admin (the unit's own account).",
        MemberOutcome: "What a unit admin's action did to a member.",
    }
}
