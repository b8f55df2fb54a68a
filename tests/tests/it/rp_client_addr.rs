//! The relying parties' request logs name the client: the one a trusted proxy names in
//! `X-Forwarded-For`, or the socket's peer when the header comes from anyone else.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use crate::harness::{Platform, PlatformOptions};

/// Everything logged in this test process (nextest runs each test in a process of its own).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn install() -> Logs {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The log line of a refused callback at the portal (an unknown `state`), sent with
/// `X-Forwarded-For: 203.0.113.9`.
async fn refused_callback_log(trusted_proxies: Option<&str>) -> String {
    let logs = Logs::install();
    let p = Platform::start_with(PlatformOptions {
        portal_trusted_proxies: trusted_proxies.map(str::to_owned),
        ..PlatformOptions::default()
    })
    .await;
    let res = reqwest::Client::new()
        .get(format!("{}/auth/callback?state=unknown", p.portal))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::BAD_REQUEST);
    let text = logs.text();
    text.lines()
        .find(|l| l.contains("path=/auth/callback") && l.contains("request refused"))
        .unwrap_or_else(|| panic!("no log line of the callback in:\n{text}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_client_is_logged() {
    let line = refused_callback_log(Some("127.0.0.1")).await;
    assert!(line.contains("client=203.0.113.9"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_the_peer_is_logged_and_the_header_ignored() {
    let line = refused_callback_log(None).await;
    assert!(line.contains("client=127.0.0.1"), "{line}");
    assert!(!line.contains("203.0.113.9"), "{line}");
}
