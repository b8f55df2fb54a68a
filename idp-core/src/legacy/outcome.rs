//! The outcomes of a migrated legacy record (seed 004), as stored and as the lookup page
//! tells them.

/// What became of a legacy record at import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// (1) The old login name and password keep working on the platform.
    KeptLogin,
    /// (2) The platform already had an account whose login name is the USCC (units) or the
    /// mobile (persons): the record is linked to it; its own password (or a reset) applies.
    LinkedExisting,
    /// (3) The old login name was taken by another account: the login name is `HJ_` + the old
    /// one, the password unchanged.
    RenamedHj,
    /// (4) A unit already on the platform under another login name: the old unit login became
    /// a natural-person account (old login name and password) granted the unit's subsystems.
    BecamePerson,
    /// A record without a login of its own (declarant / expert data, history): it reaches an
    /// account by 老用户绑定 or by a registration with the same document or USCC.
    RecordOnly,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::KeptLogin,
        Outcome::LinkedExisting,
        Outcome::RenamedHj,
        Outcome::BecamePerson,
        Outcome::RecordOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::KeptLogin => "kept_login",
            Outcome::LinkedExisting => "linked_existing",
            Outcome::RenamedHj => "renamed_hj",
            Outcome::BecamePerson => "became_person",
            Outcome::RecordOnly => "record_only",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// A short Chinese label for reports and summaries.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::KeptLogin => "第一种：继续使用原登录名和密码",
            Outcome::LinkedExisting => {
                "第二种：已关联平台上以统一社会信用代码/手机号为登录名的账号"
            }
            Outcome::RenamedHj => "第三种：登录名改为 HJ_ 加原登录名，密码不变",
            Outcome::BecamePerson => "第四种：原单位账号转为自然人账号，自动获得单位业务系统授权",
            Outcome::RecordOnly => "原有记录：无登录账号，待老用户绑定或以相同证件注册关联",
        }
    }

    /// The account type the login name logs into (法人 or 自然人 window).
    pub fn natural_person_window(self, unit_record: bool) -> bool {
        match self {
            Outcome::BecamePerson => true,
            _ => !unit_record,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert!(Outcome::BecamePerson.natural_person_window(true));
        assert!(!Outcome::RenamedHj.natural_person_window(true));
        assert!(Outcome::RenamedHj.natural_person_window(false));
    }
}
