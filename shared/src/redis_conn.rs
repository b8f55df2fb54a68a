//! Connecting to Redis the way every app does: 1 s to connect and per command, one retry, and
//! a server older than 7 refused at once (the apps' counters and indexes use `EXPIRE … NX`),
//! so that an outage is answered 503 quickly instead of after the client's own retries.

use std::time::Duration;

use redis::aio::ConnectionManager;

/// How long connecting to Redis or one command may take.
pub const TIMEOUT: Duration = Duration::from_secs(1);

/// A connection manager (reconnects by itself) to a Redis 7 or newer.
pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    let mut conn = ConnectionManager::new_with_config(client, config).await?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await?;
    check_version(&info)?;
    Ok(conn)
}

/// Refuses a Redis older than 7, read from `INFO server`.
fn check_version(info: &str) -> Result<(), redis::RedisError> {
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(str::trim)
        .unwrap_or("");
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 7 => Ok(()),
        _ => Err(redis::RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "Redis 7 or newer is required (EXPIRE … NX)",
            format!("the server reports redis_version {version:?}"),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_older_than_7_is_refused() {
        assert!(check_version("# Server\r\nredis_version:7.0.15\r\n").is_ok());
        assert!(check_version("redis_version:8.2.1\r\n").is_ok());
        let old = check_version("redis_version:6.2.14\r\n").unwrap_err();
        assert!(old.to_string().contains("6.2.14"), "{old}");
        assert!(old.to_string().contains("Redis 7 or newer"), "{old}");
        assert!(check_version("").is_err());
    }
}
