//! Typed configuration: one file per subsystem (`config/incubator.toml`,
//! `config/makerspace.toml`) with environment overrides, validated at start.

use std::path::Path;

use serde::Deserialize;
use tongyi_shared::{
    roles::Role,
    rp::{config_file, RequiredGrant, RpConfig, RpError},
};

use crate::error::Error;

const ENV_PREFIX: &str = "TONGYI_SUBSYSTEM_";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Production mode refuses plain http and demo secrets.
    #[serde(default)]
    pub production: bool,
    /// The subsystem code; an account enters only when its `grants` claim contains it.
    pub code: String,
    /// The subsystem's name as users know it.
    pub name: String,
    /// The portal's base URL, linked from every page.
    pub portal_url: String,
    /// The subsystem's own database: `sqlite://…` (default: `data/{code}.db`) or
    /// `postgres://…`.
    #[serde(default)]
    pub database_url: String,
    /// Where attachments are kept (default: `data/files/{code}`).
    #[serde(default)]
    pub files_dir: String,
    /// The subsystem as a relying party of the IdP.
    pub rp: RpConfig,
}

impl Config {
    /// Reads the file, applies environment overrides and validates the result.
    pub fn load(path: &Path) -> Result<Config, Error> {
        config_file::load(
            path,
            |c: &mut Config, var| c.apply_env(var),
            Config::validate,
        )
    }

    /// Environment variables win over the file; see the header of the shipped config files.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        config_file::apply_common_env(
            ENV_PREFIX,
            &var,
            &mut self.bind,
            &mut self.production,
            &mut self.rp,
        )?;
        if let Some(v) = var(&format!("{ENV_PREFIX}PORTAL_URL")) {
            self.portal_url = v;
        }
        if let Some(v) = var(&format!("{ENV_PREFIX}DATABASE_URL")) {
            self.database_url = v;
        }
        if let Some(v) = var(&format!("{ENV_PREFIX}FILES_DIR")) {
            self.files_dir = v;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), Error> {
        config_file::validate_bind(&self.bind)?;
        let code_ok = !self.code.is_empty()
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !code_ok {
            return Err(RpError::config(
                "code",
                "lowercase letters, digits, '_' or '-' (the value of the grants claim)",
            )
            .into());
        }
        if self.name.is_empty() {
            return Err(RpError::config("name", "must not be empty").into());
        }
        if !config_file::is_base_url(&self.portal_url, self.production) {
            return Err(RpError::config(
                "portal_url",
                "a base URL without a trailing '/'; https in production",
            )
            .into());
        }
        let db = self.database_url();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(RpError::config("database_url", "sqlite:… or postgres://…").into());
        }
        self.rp.validate(self.production)?;
        Ok(())
    }

    /// The configured database, or the subsystem's own SQLite file under `data/`.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://data/{}.db?mode=rwc", self.code)
        } else {
            self.database_url.clone()
        }
    }

    /// The configured attachment directory, or `data/files/{code}`.
    pub fn files_dir(&self) -> std::path::PathBuf {
        if self.files_dir.is_empty() {
            Path::new("data/files").join(&self.code)
        } else {
            self.files_dir.clone().into()
        }
    }

    /// The role that makes an account a reviewer (科技局审批) of this subsystem.
    pub fn reviewer_role(&self) -> Role {
        Role::subsystem_reviewer(&self.code)
    }

    /// The relying-party settings with this subsystem's admission rule.
    pub fn rp_config(&self) -> RpConfig {
        let mut rp = self.rp.clone();
        rp.required_grant = Some(RequiredGrant {
            code: self.code.clone(),
            system_name: self.name.clone(),
            admitting_role: Some(self.reviewer_role()),
        });
        rp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn shipped_configs_are_valid_for_the_demo() {
        let incubator = parse(include_str!("../../config/incubator.toml"));
        incubator.validate().unwrap();
        assert_eq!(incubator.code, "incubator");
        assert_eq!(incubator.rp.client_id, "incubator");
        assert_eq!(incubator.bind, "127.0.0.1:8082");
        let makerspace = parse(include_str!("../../config/makerspace.toml"));
        makerspace.validate().unwrap();
        assert_eq!(makerspace.code, "makerspace");
        assert_eq!(makerspace.rp.base_url, "http://127.0.0.1:8083");
        let rp = makerspace.rp_config();
        let required = rp.required_grant.unwrap();
        assert_eq!(required.code, "makerspace");
        assert_eq!(
            required.admitting_role.map(|r| r.to_string()).as_deref(),
            Some("makerspace:reviewer")
        );
        assert_eq!(
            makerspace.database_url(),
            "sqlite://data/makerspace.db?mode=rwc"
        );
        assert_eq!(incubator.files_dir(), Path::new("data/files/incubator"));
    }

    #[test]
    fn env_overrides_and_production_rules() {
        let mut c = parse(include_str!("../../config/incubator.toml"));
        c.apply_env(|k| match k {
            "TONGYI_SUBSYSTEM_CLIENT_SECRET" => Some("from-env".into()),
            "TONGYI_SUBSYSTEM_PRODUCTION" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.rp.client_secret, "from-env");
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("https"), "{err}");
        let mut c = parse(include_str!("../../config/incubator.toml"));
        c.code = "Incubator".into();
        assert!(c.validate().is_err());
        let mut c = parse(include_str!("../../config/incubator.toml"));
        c.apply_env(|k| match k {
            "TONGYI_SUBSYSTEM_DATABASE_URL" => Some("postgres://db/incubator".into()),
            "TONGYI_SUBSYSTEM_FILES_DIR" => Some("/srv/files".into()),
            _ => None,
        })
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.database_url(), "postgres://db/incubator");
        assert_eq!(c.files_dir(), Path::new("/srv/files"));
        c.database_url = "mysql://x".into();
        assert!(c.validate().is_err());
    }
}
