//! Typed configuration: `config/portal.toml` with environment overrides, validated at start.

use std::path::Path;

use serde::Deserialize;
use tongyi_shared::rp::{config_file, RpConfig, RpError};

use crate::error::Error;

const ENV_PREFIX: &str = "TONGYI_PORTAL_";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Production mode refuses plain http and demo secrets.
    #[serde(default)]
    pub production: bool,
    /// The portal as a relying party of the IdP.
    pub rp: RpConfig,
    /// The subsystems shown on the home page, in this order.
    #[serde(default, rename = "subsystem")]
    pub subsystems: Vec<SubsystemLink>,
}

/// A subsystem the portal links to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsystemLink {
    /// The code carried in the `grants` claim, e.g. `incubator`.
    pub code: String,
    /// The name shown to users.
    pub name: String,
    /// The subsystem's base URL, without a trailing slash.
    pub url: String,
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

    /// Environment variables win over the file; see the header of `config/portal.toml`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        config_file::apply_common_env(
            ENV_PREFIX,
            &var,
            &mut self.bind,
            &mut self.production,
            &mut self.rp,
        )?;
        for s in &mut self.subsystems {
            let name = format!(
                "{ENV_PREFIX}SUBSYSTEM_{}_URL",
                s.code.to_ascii_uppercase().replace('-', "_")
            );
            if let Some(v) = var(&name) {
                s.url = v;
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), Error> {
        config_file::validate_bind(&self.bind)?;
        self.rp.validate(self.production)?;
        for s in &self.subsystems {
            if s.code.is_empty() || s.name.is_empty() {
                return Err(RpError::config("subsystem", "code and name are required").into());
            }
            if !config_file::is_base_url(&s.url, self.production) {
                return Err(RpError::config(
                    "subsystem.url",
                    format!(
                        "{}: a base URL without a trailing '/'; https in production",
                        s.code
                    ),
                )
                .into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Config {
        toml::from_str(include_str!("../../config/portal.toml")).unwrap()
    }

    #[test]
    fn shipped_config_is_valid_for_the_demo() {
        let c = shipped();
        c.validate().unwrap();
        assert_eq!(c.rp.client_id, "portal");
        assert_eq!(c.subsystems.len(), 2);
        assert_eq!(c.subsystems[0].code, "incubator");
    }

    #[test]
    fn env_overrides_and_production_rules() {
        let mut c = shipped();
        c.apply_env(|k| match k {
            "TONGYI_PORTAL_SUBSYSTEM_INCUBATOR_URL" => Some("http://10.0.0.2:8082".into()),
            "TONGYI_PORTAL_BIND" => Some("0.0.0.0:9000".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.subsystems[0].url, "http://10.0.0.2:8082");
        assert_eq!(c.bind, "0.0.0.0:9000");
        let mut c = shipped();
        c.apply_env(|k| (k == "TONGYI_PORTAL_PRODUCTION").then(|| "true".into()))
            .unwrap();
        assert!(
            c.validate().is_err(),
            "demo values are refused in production"
        );
        let mut c = shipped();
        assert!(c
            .apply_env(|k| (k == "TONGYI_PORTAL_PRODUCTION").then(|| "yes".into()))
            .is_err());
    }
}
