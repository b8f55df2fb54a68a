//! Email delivery. [`EmailSender`] is chosen from `[email]` in the configuration:
//!
//! - [`EmailSender::Off`]: no mail server; the flows offer nothing by email.
//! - [`DevOutbox`] keeps the last messages in memory (for a development-only outbox page) and
//!   writes them to the log. It cannot be built in production mode.
//! - [`SmtpSender`] submits through an SMTP server (lettre, STARTTLS or TLS).
//!
//! Addresses reach the log only masked ([`mask_email`]); bodies (the codes) never reach it,
//! except in the development outbox's own log line.

use std::time::Duration;

use lettre::{
    message::{header::ContentType, Mailbox},
    transport::smtp::{authentication::Credentials, client::Tls, client::TlsParameters},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use super::outbox::Ring;
use crate::{
    clock::Clock,
    config::{Config, EmailProviderKind, SmtpTls},
};

pub use tongyi_shared::mask::mask_email;

/// One message to one address. `Debug` masks the address and hides the body.
#[derive(Clone)]
pub struct EmailMessage {
    /// A validated address.
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
}

impl std::fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailMessage")
            .field("to", &mask_email(&self.to))
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a message could not be delivered. No variant carries the address, the body or the
/// password.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("email is not configured on this instance")]
    Off,
    #[error("the development email outbox cannot be used in production")]
    DevInProduction,
    #[error("email configuration: {0}")]
    Config(String),
    #[error("the SMTP server refused or failed the message: {0}")]
    Smtp(String),
}

/// The configured email provider. Cheap to clone; clones share the outbox or the SMTP pool.
#[derive(Clone, Debug)]
pub enum EmailSender {
    Off,
    Dev(DevOutbox),
    /// Boxed: the transport is large and most instances hold another variant.
    Smtp(Box<SmtpSender>),
}

impl EmailSender {
    /// Builds the provider named by `config.email.provider`.
    pub fn from_config(config: &Config, clock: Clock) -> Result<EmailSender, EmailError> {
        match config.email.provider {
            EmailProviderKind::Off => Ok(EmailSender::Off),
            EmailProviderKind::Dev => Ok(EmailSender::Dev(DevOutbox::new(config, clock)?)),
            EmailProviderKind::Smtp => Ok(EmailSender::Smtp(Box::new(SmtpSender::new(config)?))),
        }
    }

    /// Whether anything can be sent: the flows offer email only then.
    pub fn is_on(&self) -> bool {
        !matches!(self, EmailSender::Off)
    }

    pub async fn send(&self, message: &EmailMessage) -> Result<(), EmailError> {
        match self {
            EmailSender::Off => Err(EmailError::Off),
            EmailSender::Dev(d) => {
                d.send(message);
                Ok(())
            }
            EmailSender::Smtp(s) => s.send(message).await,
        }
    }

    /// The development outbox, when that is the provider (for the dev-only outbox page).
    pub fn outbox(&self) -> Option<&DevOutbox> {
        match self {
            EmailSender::Dev(d) => Some(d),
            _ => None,
        }
    }
}

/// A message as the development outbox recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Seconds since the Unix epoch, by the IdP's clock.
    pub sent_at: i64,
}

/// Development provider: nothing leaves the process.
#[derive(Clone, Debug)]
pub struct DevOutbox {
    entries: Ring<OutboxEntry>,
    clock: Clock,
}

impl DevOutbox {
    /// Refuses production mode: a real user's code must never end up in a log or a page.
    pub fn new(config: &Config, clock: Clock) -> Result<DevOutbox, EmailError> {
        if config.production {
            return Err(EmailError::DevInProduction);
        }
        Ok(DevOutbox {
            entries: Ring::new(config.email.outbox_size),
            clock,
        })
    }

    fn send(&self, message: &EmailMessage) {
        let entry = OutboxEntry {
            to: message.to.clone(),
            subject: message.subject.clone(),
            body: message.body.clone(),
            sent_at: self.clock.now(),
        };
        self.entries.push(entry);
        // The body (with the code) is logged on purpose: showing it to the developer is this
        // provider's whole job, and it cannot be built in production. The address stays masked.
        tracing::info!(
            to = %mask_email(&message.to),
            subject = %message.subject,
            body = %message.body,
            "development email outbox"
        );
    }

    /// Recorded messages, newest first.
    pub fn messages(&self) -> Vec<OutboxEntry> {
        self.entries.all()
    }

    /// The newest message to `to`.
    pub fn latest_for(&self, to: &str) -> Option<OutboxEntry> {
        self.entries.newest(|e| e.to == to)
    }
}

/// Submits through an SMTP server; the transport keeps a small connection pool.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    pub fn new(config: &Config) -> Result<SmtpSender, EmailError> {
        let e = &config.email;
        let from: Mailbox = e
            .from
            .parse()
            .map_err(|_| EmailError::Config("email.from is not a sender address".into()))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned())
                .map_err(|err| EmailError::Config(format!("TLS for {host}: {err}")))
        };
        let tls = match e.smtp_tls {
            SmtpTls::Starttls => Tls::Required(tls(&e.smtp_host)?),
            SmtpTls::Tls => Tls::Wrapper(tls(&e.smtp_host)?),
            SmtpTls::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&e.smtp_host)
            .port(e.smtp_port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(e.timeout_secs.max(1))));
        if !e.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                e.smtp_username.clone(),
                e.smtp_password.clone(),
            ));
        }
        Ok(SmtpSender {
            transport: builder.build(),
            from,
        })
    }

    async fn send(&self, message: &EmailMessage) -> Result<(), EmailError> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|_| EmailError::Config("the recipient is not an email address".into()))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|err| EmailError::Config(err.to_string()))?;
        self.transport
            .send(email)
            .await
            // lettre's error names the server's answer, never the message or the password.
            .map_err(|err| EmailError::Smtp(err.to_string()))?;
        tracing::info!(to = %mask_email(&message.to), "email sent");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tokio::{
        io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
        net::TcpListener,
    };

    use super::*;

    fn config(provider: EmailProviderKind) -> Config {
        let mut c: Config = toml::from_str(include_str!("../../../config/idp.toml")).unwrap();
        c.email.provider = provider;
        c.email.from = "统一身份认证平台 <noreply@kjj.example.gov.cn>".into();
        c
    }

    #[test]
    fn dev_outbox_keeps_the_newest_and_refuses_production() {
        let mut c = config(EmailProviderKind::Dev);
        c.email.outbox_size = 2;
        let sender = EmailSender::from_config(&c, Clock::default()).unwrap();
        let outbox = sender.outbox().unwrap();
        for to in ["a@example.cn", "b@example.cn", "c@example.cn"] {
            outbox.send(&EmailMessage {
                to: to.into(),
                subject: "s".into(),
                body: format!("to {to}"),
            });
        }
        let kept: Vec<_> = outbox.messages().into_iter().map(|e| e.to).collect();
        assert_eq!(kept, ["c@example.cn", "b@example.cn"]);
        assert_eq!(
            outbox.latest_for("b@example.cn").unwrap().body,
            "to b@example.cn"
        );
        c.production = true;
        assert!(matches!(
            EmailSender::from_config(&c, Clock::default()),
            Err(EmailError::DevInProduction)
        ));
    }

    #[tokio::test]
    async fn off_sends_nothing() {
        let sender =
            EmailSender::from_config(&config(EmailProviderKind::Off), Clock::default()).unwrap();
        assert!(!sender.is_on());
        let err = sender
            .send(&EmailMessage {
                to: "a@example.cn".into(),
                subject: "s".into(),
                body: "b".into(),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, EmailError::Off));
    }

    /// A minimal SMTP server (RFC 5321 without extensions) that records the DATA it gets and
    /// answers `reject` to RCPT TO when given.
    async fn smtp_server(reject_rcpt: bool) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 test ESMTP\r\n").await.unwrap();
            let mut data = String::new();
            let mut in_data = false;
            while let Ok(Some(line)) = lines.next_line().await {
                if in_data {
                    if line == "." {
                        in_data = false;
                        write.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        data.push_str(&line);
                        data.push('\n');
                    }
                    continue;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let answer: &[u8] = match verb.as_str() {
                    "EHLO" | "HELO" => b"250 test\r\n",
                    "MAIL" => b"250 ok\r\n",
                    "RCPT" if reject_rcpt => b"550 no such user\r\n",
                    "RCPT" => b"250 ok\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go on\r\n"
                    }
                    "QUIT" => {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                write.write_all(answer).await.unwrap();
            }
            data
        });
        (port, task)
    }

    fn smtp_config(port: u16) -> Config {
        let mut c = config(EmailProviderKind::Smtp);
        c.email.smtp_host = "127.0.0.1".into();
        c.email.smtp_port = port;
        c.email.smtp_tls = SmtpTls::None;
        c.email.timeout_secs = 5;
        c
    }

    #[tokio::test]
    async fn smtp_submits_the_message() {
        let (port, server) = smtp_server(false).await;
        let sender = EmailSender::from_config(&smtp_config(port), Clock::default()).unwrap();
        sender
            .send(&EmailMessage {
                to: "zhang.san@example.cn".into(),
                subject: "验证码".into(),
                body: "您的验证码为 123456".into(),
            })
            .await
            .unwrap();
        drop(sender); // closes the pooled connection, so the server sees QUIT or EOF
        let data = server.await.unwrap();
        assert!(data.contains("To: zhang.san@example.cn"), "{data}");
        assert!(data.contains("noreply@kjj.example.gov.cn"), "{data}");
        assert!(data.contains("Content-Type: text/plain"), "{data}");
    }

    #[tokio::test]
    async fn smtp_refusals_and_a_dead_server_are_errors() {
        let (port, _server) = smtp_server(true).await;
        let sender = EmailSender::from_config(&smtp_config(port), Clock::default()).unwrap();
        let msg = EmailMessage {
            to: "nobody@example.cn".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        let err = sender.send(&msg).await.unwrap_err();
        assert!(matches!(err, EmailError::Smtp(_)), "{err:?}");
        assert!(!err.to_string().contains("nobody@"), "{err}");

        // Nobody listens on this port any more.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = closed.local_addr().unwrap().port();
        drop(closed);
        let sender = EmailSender::from_config(&smtp_config(dead), Clock::default()).unwrap();
        assert!(matches!(
            sender.send(&msg).await.unwrap_err(),
            EmailError::Smtp(_)
        ));
    }
}
