//! One-time SMS codes per (purpose, mobile): 6 digits, valid 5 minutes, single use, at most 5
//! wrong attempts; one send per mobile per 60 s and daily caps per mobile and per client
//! address (SPEC §3).
//!
//! Callers pass a mobile that has already been validated as a mainland number (the validator
//! lives in `tongyi-shared`). Sending does not look at accounts: whether a code is sent for an
//! unknown mobile is the calling flow's decision, and it must answer the same either way.
//!
//! Everything lives in the short-lived store, under keys that carry a keyed digest (HMAC with
//! a key derived from the KEK) instead of the mobile: a plain SHA-256 of an 11-digit number
//! is reversed by trying them all. The code itself is stored only as a keyed digest too.
//!
//! | key | value | expiry |
//! |---|---|---|
//! | `sms:code:{D(purpose, mobile)}` | `{id}.{expires_at}.{digest of id and code}` | 300 s |
//! | `sms:try:{D(purpose, mobile)}:{id}` | attempts on that code | 300 s |
//! | `sms:wait:{D(mobile)}` | time of the last send | 60 s |
//! | `sms:day:{day}:m:{D(mobile)}` | sends to that mobile on `day` | next midnight |
//! | `sms:day:{day}:ip:{address}` | sends requested from that address on `day` | next midnight |
//!
//! Store expiry runs on real time while tests move [`Clock`] forward, so every time rule is
//! also checked against a timestamp read from the clock: the code's `expires_at`, the last
//! send time, and the day in the daily counters' keys. Days are calendar days in Asia/Shanghai
//! (UTC+8, no daylight saving): the daily caps reset at local midnight.

use std::{collections::BTreeMap, net::IpAddr};

use crate::{
    clock::Clock,
    config::{Config, SmsTemplates},
    crypto::{self, KeyPurpose},
    providers::{
        email::EmailError,
        sms::{mask_mobile, SmsError, SmsMessage, SmsSender},
    },
    services::Services,
    store::ephemeral::Ephemeral,
};

/// How long a code can be used.
pub const CODE_TTL_SECS: i64 = 300;
/// The shortest time between two sends to one mobile.
pub const RESEND_SECS: i64 = 60;
/// Wrong attempts after which a code is dead.
pub const MAX_ATTEMPTS: i64 = 5;

/// What a code is for. A code sent for one purpose is not valid for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmsPurpose {
    Register,
    Login,
    RecoverPassword,
    ChangeMobile,
    /// Linking an account migrated from a legacy system.
    BindLegacy,
    /// Proving the contact mobile of an appeal, where its result is sent.
    Appeal,
}

impl SmsPurpose {
    pub const ALL: [SmsPurpose; 6] = [
        SmsPurpose::Register,
        SmsPurpose::Login,
        SmsPurpose::RecoverPassword,
        SmsPurpose::ChangeMobile,
        SmsPurpose::BindLegacy,
        SmsPurpose::Appeal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SmsPurpose::Register => "register",
            SmsPurpose::Login => "login",
            SmsPurpose::RecoverPassword => "recover_password",
            SmsPurpose::ChangeMobile => "change_mobile",
            SmsPurpose::BindLegacy => "bind_legacy",
            SmsPurpose::Appeal => "appeal",
        }
    }

    fn template(self, t: &SmsTemplates) -> &str {
        match self {
            SmsPurpose::Register => &t.register,
            SmsPurpose::Login => &t.login,
            SmsPurpose::RecoverPassword => &t.recover_password,
            SmsPurpose::ChangeMobile => &t.change_mobile,
            SmsPurpose::BindLegacy => &t.bind_legacy,
            SmsPurpose::Appeal => &t.appeal,
        }
    }

    /// The action named in the development outbox's text.
    fn action(self) -> &'static str {
        match self {
            SmsPurpose::Register => "注册",
            SmsPurpose::Login => "登录",
            SmsPurpose::RecoverPassword => "找回密码",
            SmsPurpose::ChangeMobile => "更换手机号",
            SmsPurpose::BindLegacy => "绑定原有账号",
            SmsPurpose::Appeal => "提交申诉",
        }
    }
}

/// What the page may tell the user after a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// `13*****656` (SPEC §3).
    pub masked_mobile: String,
    /// When the code stops working (seconds since the epoch, by the IdP's clock).
    pub expires_at: i64,
    /// When the next send to this mobile will be accepted.
    pub resend_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SmsCodeError {
    #[error("wrong SMS code")]
    Wrong,
    /// No code, an expired one, a used one, or one replaced by a newer send.
    #[error("no valid SMS code")]
    ExpiredOrInvalid,
    /// The code has been killed by wrong attempts; a new one must be requested.
    #[error("too many wrong SMS code attempts")]
    TooManyAttempts,
    #[error("SMS code requested again too soon")]
    TooSoon { retry_after_secs: i64 },
    #[error("daily SMS limit reached")]
    DailyLimit,
    #[error("SMS delivery failed: {0}")]
    Delivery(#[from] SmsError),
    #[error("email delivery failed: {0}")]
    MailDelivery(#[from] EmailError),
    #[error("SMS code store failure: {0}")]
    Internal(String),
}

impl From<redis::RedisError> for SmsCodeError {
    fn from(e: redis::RedisError) -> Self {
        SmsCodeError::Internal(e.to_string())
    }
}

impl SmsCodeError {
    /// The sentence shown to the user.
    pub fn user_message(&self) -> String {
        match self {
            SmsCodeError::Wrong => "验证码错误".into(),
            SmsCodeError::ExpiredOrInvalid => "验证码已过期或无效，请重新获取".into(),
            SmsCodeError::TooManyAttempts => "验证码错误次数过多，请重新获取".into(),
            SmsCodeError::TooSoon { retry_after_secs } => {
                format!("发送过于频繁，请{retry_after_secs}秒后再试")
            }
            SmsCodeError::DailyLimit => "今日发送次数已达上限，请明天再试".into(),
            SmsCodeError::Delivery(_) => "短信发送失败，请稍后再试".into(),
            SmsCodeError::MailDelivery(EmailError::Off) => "本平台未开通邮件服务".into(),
            SmsCodeError::MailDelivery(_) => "邮件发送失败，请稍后再试".into(),
            SmsCodeError::Internal(_) => "系统繁忙，请稍后再试".into(),
        }
    }
}

/// What the code functions need from the application state; [`Services`] provides it, unit
/// tests build it without a database.
#[derive(Clone, Copy)]
pub struct SmsCodeDeps<'a> {
    pub config: &'a Config,
    pub store: &'a Ephemeral,
    pub clock: &'a Clock,
    pub sender: &'a SmsSender,
}

impl<'a> From<&'a Services> for SmsCodeDeps<'a> {
    fn from(state: &'a Services) -> Self {
        SmsCodeDeps {
            config: &state.config,
            store: &state.store,
            clock: &state.clock,
            sender: &state.sms,
        }
    }
}

/// Sends a new code for `purpose` to `mobile` (a validated mainland mobile), replacing any
/// earlier one for the same purpose and mobile.
pub async fn send_code(
    state: &Services,
    purpose: SmsPurpose,
    mobile: &str,
    client_ip: IpAddr,
) -> Result<SendReceipt, SmsCodeError> {
    let sent = send_with(SmsCodeDeps::from(state), purpose, mobile, client_ip).await;
    state.metrics.sms(match &sent {
        Ok(_) => "sent",
        Err(SmsCodeError::TooSoon { .. } | SmsCodeError::DailyLimit) => "refused",
        Err(_) => "failed",
    });
    sent
}

/// Checks `code` and consumes it on success. Of two concurrent verifications of one code at
/// most one succeeds.
pub async fn verify_code(
    state: &Services,
    purpose: SmsPurpose,
    mobile: &str,
    code: &str,
) -> Result<(), SmsCodeError> {
    verify_with(SmsCodeDeps::from(state), purpose, mobile, code).await
}

/// [`send_code`] on explicit dependencies.
pub async fn send_with(
    deps: SmsCodeDeps<'_>,
    purpose: SmsPurpose,
    mobile: &str,
    client_ip: IpAddr,
) -> Result<SendReceipt, SmsCodeError> {
    let cfg = &deps.config.sms;
    let to = Destination {
        channel: Channel::Sms,
        purpose: purpose.as_str(),
        address: mobile,
        daily_per_destination: cfg.daily_per_mobile,
        daily_per_address: cfg.daily_per_address,
    };
    let reserved = reserve(deps.config, deps.store, deps.clock, &to, client_ip).await?;
    let code = six_digits();
    let minutes = (CODE_TTL_SECS / 60).to_string();
    let message = SmsMessage {
        mobile: mobile.to_owned(),
        template: purpose.template(&cfg.templates).to_owned(),
        params: BTreeMap::from([
            ("code".to_owned(), code.clone()),
            ("minutes".to_owned(), minutes.clone()),
        ]),
        text: format!(
            "您的{}验证码为 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本短信。",
            purpose.action()
        ),
    };
    let delivered = deps.sender.send(&message).await.map_err(SmsCodeError::from);
    let expires_at = reserved.store_code(deps.store, &code, delivered).await?;
    tracing::info!(
        purpose = purpose.as_str(),
        mobile = %mask_mobile(mobile),
        "SMS code sent"
    );
    Ok(SendReceipt {
        masked_mobile: mask_mobile(mobile),
        expires_at,
        resend_at: reserved.now + RESEND_SECS,
    })
}

/// Where a code goes: the channel, the purpose, the address (a mobile or an email, already
/// validated) and that channel's daily caps.
pub(crate) struct Destination<'a> {
    pub channel: Channel,
    pub purpose: &'static str,
    pub address: &'a str,
    pub daily_per_destination: i64,
    pub daily_per_address: i64,
}

/// SMS codes and email codes follow the same rules under keys of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Sms,
    Email,
}

impl Channel {
    fn prefix(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "mail",
        }
    }
}

/// A send that passed the resend interval and the daily caps; [`Reserved::store_code`] keeps
/// the code once it was delivered.
pub(crate) struct Reserved {
    keys: Keys,
    pub now: i64,
}

/// Checks the resend interval and the daily caps of `to`, and holds the interval.
pub(crate) async fn reserve(
    config: &Config,
    store: &Ephemeral,
    clock: &Clock,
    to: &Destination<'_>,
    client_ip: IpAddr,
) -> Result<Reserved, SmsCodeError> {
    let keys = Keys::new(config, to)?;
    let now = clock.now();

    // One send per destination per minute. The store key's own expiry is real time; the
    // stored send time is compared with the clock so that a moved clock is honoured as well.
    if !store
        .put_if_absent(&keys.wait, &now.to_string(), RESEND_SECS)
        .await?
    {
        let last = store
            .get(&keys.wait)
            .await?
            .and_then(|v| v.parse::<i64>().ok());
        if let Some(last) = last {
            let elapsed = now - last;
            if elapsed < RESEND_SECS {
                return Err(SmsCodeError::TooSoon {
                    retry_after_secs: RESEND_SECS - elapsed.max(0),
                });
            }
        }
        store.put(&keys.wait, &now.to_string(), RESEND_SECS).await?;
    }

    // Daily caps: the address first, so that one address cannot use up a destination's
    // allowance with requests that would have been refused anyway.
    let day = shanghai_day(now);
    let window = secs_to_next_shanghai_midnight(now);
    let prefix = to.channel.prefix();
    let by_address = format!("{prefix}:day:{day}:ip:{}", address_bucket(client_ip));
    // A refused request sends nothing, so it does not hold the destination's resend interval.
    if store.incr(&by_address, window).await? > to.daily_per_address {
        tracing::warn!(ip = %client_ip, channel = prefix, "daily code cap reached for an address");
        store.delete(&keys.wait).await?;
        return Err(SmsCodeError::DailyLimit);
    }
    let by_destination = format!("{prefix}:day:{day}:m:{}", keys.destination);
    if store.incr(&by_destination, window).await? > to.daily_per_destination {
        tracing::warn!(channel = prefix, "daily code cap reached for a destination");
        store.delete(&keys.wait).await?;
        return Err(SmsCodeError::DailyLimit);
    }
    Ok(Reserved { keys, now })
}

impl Reserved {
    /// After the delivery: keeps `code` when it was `delivered`, else frees the resend
    /// interval (the daily counters keep bounding the retries). Returns when the code expires.
    pub(crate) async fn store_code(
        &self,
        store: &Ephemeral,
        code: &str,
        delivered: Result<(), SmsCodeError>,
    ) -> Result<i64, SmsCodeError> {
        // Delivered before it is stored: a failed delivery leaves the previous code usable.
        if let Err(e) = delivered {
            store.delete(&self.keys.wait).await?;
            return Err(e);
        }
        let id = crypto::random_token(9);
        let expires_at = self.now + CODE_TTL_SECS;
        let value = format!("{id}.{expires_at}.{}", self.keys.code_digest(&id, code));
        store.put(&self.keys.code, &value, CODE_TTL_SECS).await?;
        Ok(expires_at)
    }
}

/// [`verify_code`] on explicit dependencies.
pub async fn verify_with(
    deps: SmsCodeDeps<'_>,
    purpose: SmsPurpose,
    mobile: &str,
    code: &str,
) -> Result<(), SmsCodeError> {
    let to = Destination {
        channel: Channel::Sms,
        purpose: purpose.as_str(),
        address: mobile,
        daily_per_destination: 0,
        daily_per_address: 0,
    };
    verify_at(deps.config, deps.store, deps.clock, &to, code).await
}

/// Checks `code` for `to` and consumes it on success (the caps of `to` are not used).
pub(crate) async fn verify_at(
    config: &Config,
    store: &Ephemeral,
    clock: &Clock,
    to: &Destination<'_>,
    code: &str,
) -> Result<(), SmsCodeError> {
    let keys = Keys::new(config, to)?;
    let Some(stored) = store.get(&keys.code).await? else {
        return Err(SmsCodeError::ExpiredOrInvalid);
    };
    let Some((id, expires_at, digest)) = parse_stored(&stored) else {
        store.delete(&keys.code).await?;
        return Err(SmsCodeError::ExpiredOrInvalid);
    };
    if clock.now() >= expires_at {
        store.delete(&keys.code).await?;
        return Err(SmsCodeError::ExpiredOrInvalid);
    }
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        // Cannot be right, so it costs no attempt.
        return Err(SmsCodeError::Wrong);
    }
    // The attempt is counted before the comparison: concurrent guesses each take a number,
    // so no more than MAX_ATTEMPTS comparisons are ever made against one code.
    let attempt = store
        .incr(&format!("{}:{id}", keys.tries), CODE_TTL_SECS)
        .await?;
    if attempt > MAX_ATTEMPTS {
        store.delete(&keys.code).await?;
        return Err(SmsCodeError::TooManyAttempts);
    }
    let given = keys.code_digest(id, code);
    if !crypto::constant_time_eq(given.as_bytes(), digest.as_bytes()) {
        if attempt >= MAX_ATTEMPTS {
            store.delete(&keys.code).await?;
            tracing::warn!(
                purpose = to.purpose,
                channel = to.channel.prefix(),
                "one-time code killed after repeated wrong attempts"
            );
            return Err(SmsCodeError::TooManyAttempts);
        }
        return Err(SmsCodeError::Wrong);
    }
    // Single use: only the caller whose `take` returns this very code succeeds. Another
    // verification that got there first, or a newer send, makes this one fail.
    match store.take(&keys.code).await? {
        Some(taken) if taken == stored => Ok(()),
        _ => Err(SmsCodeError::ExpiredOrInvalid),
    }
}

/// The store keys of one (purpose, destination) pair, and the key that digests its code.
struct Keys {
    secret: [u8; 32],
    code: String,
    tries: String,
    wait: String,
    /// The destination's digest, shared by every purpose.
    destination: String,
}

impl Keys {
    fn new(config: &Config, to: &Destination<'_>) -> Result<Keys, SmsCodeError> {
        let kek = config
            .kek_bytes()
            .map_err(|e| SmsCodeError::Internal(e.to_string()))?;
        // A key of its own, so that these digests say nothing about the KEK's other uses.
        let secret = crypto::derive_key(&kek, KeyPurpose::SmsCode);
        let (prefix, address) = (to.channel.prefix(), to.address);
        // The SMS inputs are those of before email codes existed, so live codes survive.
        let (pair_label, destination_label) = match to.channel {
            Channel::Sms => ("pair", "mobile"),
            Channel::Email => ("mail-pair", "email"),
        };
        let pair = crypto::b64url(&crypto::hmac_sha256(
            &secret,
            format!("{pair_label}\0{}\0{address}", to.purpose).as_bytes(),
        ));
        let destination = crypto::b64url(&crypto::hmac_sha256(
            &secret,
            format!("{destination_label}\0{address}").as_bytes(),
        ));
        Ok(Keys {
            code: format!("{prefix}:code:{pair}"),
            tries: format!("{prefix}:try:{pair}"),
            wait: format!("{prefix}:wait:{destination}"),
            destination,
            secret,
        })
    }

    fn code_digest(&self, id: &str, code: &str) -> String {
        crypto::b64url(&crypto::hmac_sha256(
            &self.secret,
            format!("code\0{id}\0{code}").as_bytes(),
        ))
    }
}

fn parse_stored(v: &str) -> Option<(&str, i64, &str)> {
    let mut parts = v.splitn(3, '.');
    let id = parts.next()?;
    let expires_at = parts.next()?.parse().ok()?;
    let digest = parts.next()?;
    Some((id, expires_at, digest))
}

/// Six uniformly distributed digits from the OS random source (rejection sampling: values at
/// or above the largest multiple of 10^6 below 2^32 are drawn again, so no digit is favoured).
pub(crate) fn six_digits() -> String {
    const LIMIT: u32 = 4_294_000_000;
    loop {
        let mut buf = [0u8; 4];
        openssl::rand::rand_bytes(&mut buf).expect("the OS random source failed");
        let n = u32::from_le_bytes(buf);
        if n < LIMIT {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The calendar day in Asia/Shanghai, as days since 1970-01-01.
fn shanghai_day(now: i64) -> i64 {
    tongyi_shared::shanghai::day_number(now)
}

fn secs_to_next_shanghai_midnight(now: i64) -> i64 {
    (tongyi_shared::shanghai::next_midnight(now) - now).max(1)
}

/// IPv4 addresses count one by one; IPv6 by /64, the block one subscriber usually holds.
pub(crate) fn address_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tongyi_shared::shanghai::DAY_SECS;

    const MOBILE: &str = "13812345656";
    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));

    struct Fixture {
        config: Config,
        store: Ephemeral,
        clock: Clock,
        sender: SmsSender,
    }

    impl Fixture {
        fn new() -> Fixture {
            let config: Config = toml::from_str(include_str!("../../../config/idp.toml")).unwrap();
            let clock = Clock::default();
            let sender = SmsSender::from_config(&config, clock.clone()).unwrap();
            Fixture {
                config,
                store: Ephemeral::memory(),
                clock,
                sender,
            }
        }

        fn deps(&self) -> SmsCodeDeps<'_> {
            SmsCodeDeps {
                config: &self.config,
                store: &self.store,
                clock: &self.clock,
                sender: &self.sender,
            }
        }

        async fn send(&self, purpose: SmsPurpose, mobile: &str) -> String {
            send_with(self.deps(), purpose, mobile, IP).await.unwrap();
            self.last_code(mobile)
        }

        fn last_code(&self, mobile: &str) -> String {
            let text = self
                .sender
                .outbox()
                .unwrap()
                .latest_for(mobile)
                .unwrap()
                .text;
            let start = text.find(|c: char| c.is_ascii_digit()).unwrap();
            text[start..start + 6].to_owned()
        }

        async fn verify(
            &self,
            purpose: SmsPurpose,
            mobile: &str,
            code: &str,
        ) -> Result<(), SmsCodeError> {
            verify_with(self.deps(), purpose, mobile, code).await
        }
    }

    fn other(code: &str) -> String {
        let n: u32 = code.parse().unwrap();
        format!("{:06}", (n + 1) % 1_000_000)
    }

    #[test]
    fn codes_are_six_digits_and_spread() {
        let mut seen = std::collections::HashSet::new();
        let mut first_digits = [0u32; 10];
        for _ in 0..2000 {
            let c = six_digits();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
            first_digits[(c.as_bytes()[0] - b'0') as usize] += 1;
            seen.insert(c);
        }
        assert!(seen.len() > 1900, "codes repeat too often");
        assert!(first_digits.iter().all(|&n| n > 100), "{first_digits:?}");
    }

    #[test]
    fn shanghai_days_and_addresses() {
        // 2026-01-01T00:00:00+08:00 is 2025-12-31T16:00:00Z.
        let midnight = 1_767_196_800;
        assert_eq!(shanghai_day(midnight - 1) + 1, shanghai_day(midnight));
        assert_eq!(secs_to_next_shanghai_midnight(midnight - 10), 10);
        assert_eq!(secs_to_next_shanghai_midnight(midnight), DAY_SECS);
        assert_eq!(address_bucket(IP), "192.0.2.7");
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(address_bucket(a), address_bucket(b));
        assert_eq!(
            address_bucket("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
    }

    #[test]
    fn keys_carry_no_mobile_and_separate_purposes() {
        let config: Config = toml::from_str(include_str!("../../../config/idp.toml")).unwrap();
        let to = |channel, purpose: SmsPurpose, address| Destination {
            channel,
            purpose: purpose.as_str(),
            address,
            daily_per_destination: 1,
            daily_per_address: 1,
        };
        let a = Keys::new(&config, &to(Channel::Sms, SmsPurpose::Login, MOBILE)).unwrap();
        let b = Keys::new(&config, &to(Channel::Sms, SmsPurpose::Register, MOBILE)).unwrap();
        // The same text as an email: keys of its own, never an SMS code's.
        let mail = Keys::new(&config, &to(Channel::Email, SmsPurpose::Login, MOBILE)).unwrap();
        for k in [&a.code, &a.tries, &a.wait, &a.destination, &b.code] {
            assert!(!k.contains(MOBILE) && !k.contains("5656"), "{k}");
        }
        assert!(mail.code.starts_with("mail:code:") && mail.wait.starts_with("mail:wait:"));
        assert_ne!(a.code[4..], mail.code[5..]);
        assert_ne!(a.destination, mail.destination);
        assert_ne!(a.code, b.code);
        assert_eq!(
            a.wait, b.wait,
            "the resend limit is per mobile, not per purpose"
        );
        assert_ne!(a.code_digest("id", "123456"), a.code_digest("id", "123457"));
    }

    #[tokio::test]
    async fn right_code_once_and_only_for_its_purpose() {
        let f = Fixture::new();
        let code = f.send(SmsPurpose::Login, MOBILE).await;
        assert!(matches!(
            f.verify(SmsPurpose::Register, MOBILE, &code).await,
            Err(SmsCodeError::ExpiredOrInvalid)
        ));
        assert!(matches!(
            f.verify(SmsPurpose::Login, "13900000000", &code).await,
            Err(SmsCodeError::ExpiredOrInvalid)
        ));
        f.verify(SmsPurpose::Login, MOBILE, &format!(" {code} "))
            .await
            .unwrap();
        assert!(matches!(
            f.verify(SmsPurpose::Login, MOBILE, &code).await,
            Err(SmsCodeError::ExpiredOrInvalid)
        ));
    }

    #[tokio::test]
    async fn five_wrong_attempts_kill_the_code() {
        let f = Fixture::new();
        let code = f.send(SmsPurpose::Register, MOBILE).await;
        // Malformed input costs nothing.
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert!(matches!(
                f.verify(SmsPurpose::Register, MOBILE, bad).await,
                Err(SmsCodeError::Wrong)
            ));
        }
        for _ in 0..4 {
            assert!(matches!(
                f.verify(SmsPurpose::Register, MOBILE, &other(&code)).await,
                Err(SmsCodeError::Wrong)
            ));
        }
        assert!(matches!(
            f.verify(SmsPurpose::Register, MOBILE, &other(&code)).await,
            Err(SmsCodeError::TooManyAttempts)
        ));
        assert!(f.verify(SmsPurpose::Register, MOBILE, &code).await.is_err());
    }

    #[tokio::test]
    async fn concurrent_verifications_succeed_once() {
        let f = Fixture::new();
        let code = f.send(SmsPurpose::Login, MOBILE).await;
        let results = verify_three_at_once(&f, &code).await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
    }

    async fn verify_three_at_once(f: &Fixture, code: &str) -> Vec<Result<(), SmsCodeError>> {
        let (a, b, c) = tokio::join!(
            f.verify(SmsPurpose::Login, MOBILE, code),
            f.verify(SmsPurpose::Login, MOBILE, code),
            f.verify(SmsPurpose::Login, MOBILE, code),
        );
        vec![a, b, c]
    }

    #[tokio::test]
    async fn expiry_cooldown_and_replacement() {
        let f = Fixture::new();
        let first = f.send(SmsPurpose::Login, MOBILE).await;
        let err = send_with(f.deps(), SmsPurpose::Register, MOBILE, IP)
            .await
            .unwrap_err();
        assert!(matches!(err, SmsCodeError::TooSoon { retry_after_secs } if retry_after_secs > 55));
        assert!(err.user_message().starts_with("发送过于频繁"));
        f.clock.advance(RESEND_SECS);
        let second = f.send(SmsPurpose::Login, MOBILE).await;
        if first != second {
            assert!(
                f.verify(SmsPurpose::Login, MOBILE, &first).await.is_err(),
                "a new send replaces the previous code"
            );
        }
        f.clock.advance(CODE_TTL_SECS + 1);
        assert!(matches!(
            f.verify(SmsPurpose::Login, MOBILE, &second).await,
            Err(SmsCodeError::ExpiredOrInvalid)
        ));
    }

    #[tokio::test]
    async fn daily_caps() {
        let mut f = Fixture::new();
        f.config.sms.daily_per_mobile = 2;
        f.config.sms.daily_per_address = 3;
        for _ in 0..2 {
            f.send(SmsPurpose::Login, MOBILE).await;
            f.clock.advance(RESEND_SECS);
        }
        let err = send_with(f.deps(), SmsPurpose::Login, MOBILE, IP)
            .await
            .unwrap_err();
        assert!(matches!(err, SmsCodeError::DailyLimit), "{err:?}");
        // The address has used 3 of 3 (the refused request counted), another mobile is refused.
        f.clock.advance(RESEND_SECS);
        let err = send_with(f.deps(), SmsPurpose::Login, "13900000000", IP)
            .await
            .unwrap_err();
        assert!(matches!(err, SmsCodeError::DailyLimit), "{err:?}");
        // The next Shanghai day starts afresh.
        f.clock.advance(DAY_SECS);
        f.send(SmsPurpose::Login, MOBILE).await;
    }
}
