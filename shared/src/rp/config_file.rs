//! What every relying-party app does with its configuration file: read it as TOML, let
//! environment variables override it, and validate the result at start; and the settings all
//! the apps have besides their `[rp]` table (`bind`, `production`).

use std::{net::SocketAddr, path::Path};

use serde::de::DeserializeOwned;

use super::{config::RpConfig, error::RpError};

/// Reads `path` as TOML, applies the process environment with `apply_env` and checks the result
/// with `validate`.
pub fn load<C, E>(
    path: &Path,
    apply_env: impl FnOnce(&mut C, fn(&str) -> Option<String>) -> Result<(), E>,
    validate: impl FnOnce(&C) -> Result<(), E>,
) -> Result<C, E>
where
    C: DeserializeOwned,
    E: From<RpError>,
{
    let unreadable =
        |e: &dyn std::fmt::Display| RpError::config("file", format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(&e))?;
    let mut config: C = toml::from_str(&text).map_err(|e| unreadable(&e))?;
    apply_env(&mut config, env_var)?;
    validate(&config)?;
    Ok(config)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Applies the overrides every app has: `{prefix}BIND`, `{prefix}PRODUCTION` (`true`/`1` or
/// `false`/`0`/empty) and those of the `[rp]` table (see [`RpConfig::apply_env`]).
pub fn apply_common_env(
    prefix: &str,
    var: &impl Fn(&str) -> Option<String>,
    bind: &mut String,
    production: &mut bool,
    rp: &mut RpConfig,
) -> Result<(), RpError> {
    if let Some(v) = var(&format!("{prefix}BIND")) {
        *bind = v;
    }
    if let Some(v) = var(&format!("{prefix}PRODUCTION")) {
        *production = match v.as_str() {
            "1" | "true" => true,
            "0" | "false" | "" => false,
            _ => return Err(RpError::config("production", "expected true or false")),
        };
    }
    rp.apply_env(prefix, var)
}

/// The address the app listens on must be an address:port.
pub fn validate_bind(bind: &str) -> Result<(), RpError> {
    bind.parse::<SocketAddr>()
        .map(|_| ())
        .map_err(|e| RpError::config("bind", format!("not an address:port: {e}")))
}

/// Whether `url` is fit to link another app at: https (or http outside production), without a
/// trailing '/' so that paths can be appended.
pub fn is_base_url(url: &str, production: bool) -> bool {
    (url.starts_with("https://") || (!production && url.starts_with("http://")))
        && !url.ends_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_overrides() {
        let mut rp: RpConfig = toml::from_str(
            "base_url = \"http://p\"\nissuer = \"http://i\"\nclient_id = \"p\"\nclient_secret = \"s\"",
        )
        .unwrap();
        let (mut bind, mut production) = ("127.0.0.1:8081".to_string(), false);
        let var = |k: &str| match k {
            "P_BIND" => Some("0.0.0.0:9000".to_string()),
            "P_PRODUCTION" => Some("1".to_string()),
            "P_ISSUER" => Some("https://id.example".to_string()),
            _ => None,
        };
        apply_common_env("P_", &var, &mut bind, &mut production, &mut rp).unwrap();
        assert_eq!(
            (bind.as_str(), production, rp.issuer.as_str()),
            ("0.0.0.0:9000", true, "https://id.example")
        );
        for (value, expected) in [("true", Some(true)), ("", Some(false)), ("yes", None)] {
            let var = |k: &str| (k == "P_PRODUCTION").then(|| value.to_string());
            let result = apply_common_env("P_", &var, &mut bind, &mut production, &mut rp);
            assert_eq!(result.ok().map(|()| production), expected, "{value}");
        }
    }

    #[test]
    fn checks() {
        validate_bind("127.0.0.1:8081").unwrap();
        let err = validate_bind("localhost").unwrap_err().to_string();
        assert!(err.starts_with("config value `bind` is invalid"), "{err}");
        assert!(is_base_url("http://127.0.0.1:8082", false));
        assert!(!is_base_url("http://127.0.0.1:8082", true));
        assert!(is_base_url("https://sub.example", true));
        assert!(!is_base_url("https://sub.example/", false));
        assert!(!is_base_url("ftp://sub.example", false));
    }

    #[test]
    fn load_reads_overrides_and_validates() {
        #[derive(serde::Deserialize)]
        struct Sample {
            bind: String,
        }
        let path = std::env::temp_dir().join(format!("tongyi-rp-{}.toml", std::process::id()));
        std::fs::write(&path, "bind = \"127.0.0.1:1\"\n").unwrap();
        let loaded: Sample = load(
            &path,
            |c: &mut Sample, _| {
                c.bind.push('0');
                Ok::<_, RpError>(())
            },
            |c| validate_bind(&c.bind),
        )
        .unwrap();
        assert_eq!(loaded.bind, "127.0.0.1:10");
        std::fs::write(&path, "bind = 1\n").unwrap();
        let err = load(&path, |_: &mut Sample, _| Ok(()), |_| Ok::<_, RpError>(()))
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("config value `file` is invalid: "), "{err}");
        std::fs::remove_file(&path).unwrap();
        let err = load(&path, |_: &mut Sample, _| Ok(()), |_| Ok::<_, RpError>(()))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}
