//! Passing uploaded files on to the IdP without holding them: each file of the browser's
//! multipart form becomes the streamed body of one `POST /api/units/{id}/attachments/{slot}`,
//! through a small channel, so memory stays at a few chunks whatever the file's size. The IdP
//! checks size and type; the portal only stops reading a file once it is past the limit.

use axum::{body::Bytes, extract::Multipart};
use tongyi_shared::rp::{RpError, RpSession};

use crate::{directory::UserApi, error::Error};

/// The IdP's limit per file (10 MB); a file is forwarded until it is known to be larger.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// How many chunks may wait between the browser and the IdP.
const CHANNEL_CHUNKS: usize = 4;

pub enum Outcome {
    /// Every file was stored.
    Stored,
    /// The first refused file's error code (the IdP's, or `no_file`).
    Refused(String),
}

/// Reads the `csrf` field (which must come first) and forwards every `file` field to `slot`.
pub async fn forward(
    api: &UserApi<'_>,
    session: &RpSession,
    org_id: &str,
    slot: &str,
    mut multipart: Multipart,
) -> Result<Outcome, Error> {
    let malformed = |_| Error::BadRequest("multipart body");
    let first = multipart.next_field().await.map_err(malformed)?;
    let csrf_ok = match first {
        Some(field) if field.name() == Some("csrf") => {
            let token = field.text().await.map_err(malformed)?;
            session.csrf_matches(&token)
        }
        _ => false,
    };
    if !csrf_ok {
        return Err(RpError::Csrf.into());
    }
    let mut stored = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let filename = field.file_name().unwrap_or("").trim().to_owned();
        if field.name() != Some("file") || filename.is_empty() {
            // An empty file input still sends a part, with no file name.
            continue;
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_CHUNKS);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let body = reqwest::Body::wrap_stream(stream);
        let pump = async move {
            let mut total = 0u64;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        total += chunk.len() as u64;
                        if tx.send(Ok(chunk)).await.is_err() {
                            break; // The IdP answered already (a refusal).
                        }
                        if total > MAX_FILE_BYTES {
                            // The IdP has seen enough to refuse it; read no further.
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                        break;
                    }
                }
            }
            total
        };
        let (sent, result) =
            tokio::join!(pump, api.upload_attachment(org_id, slot, &filename, body));
        match result {
            Ok(_) => stored += 1,
            // The IdP may answer 413 and close the connection before the body is through,
            // which the client sees as a failed request.
            Err(Error::Unavailable(_)) if sent > MAX_FILE_BYTES => {
                return Ok(Outcome::Refused("file_too_large".into()))
            }
            Err(Error::Api(refusal)) => {
                let code = if refusal.status == 413 {
                    "file_too_large".to_owned()
                } else {
                    refusal.code
                };
                return Ok(Outcome::Refused(code));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if stored == 0 {
        Outcome::Refused("no_file".into())
    } else {
        Outcome::Stored
    })
}
