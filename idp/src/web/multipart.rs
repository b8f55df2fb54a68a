//! Reading `multipart/form-data` forms with file fields. Each file is read chunk by chunk and
//! cut off at a limit, so an oversized upload never sits whole in memory; the form still
//! parses, and the field is reported as too large for a field-level message.

use std::collections::HashMap;

use axum::{extract::Multipart, http::StatusCode};

use crate::error::{AppError, AppResult};

/// Text fields longer than this are cut (no form of ours has longer ones).
const MAX_TEXT_BYTES: usize = 16 * 1024;
const MAX_FIELDS: usize = 64;

#[derive(Debug, Default)]
pub struct MultipartForm {
    texts: HashMap<String, String>,
    files: HashMap<String, Vec<u8>>,
    too_large: Vec<String>,
}

impl MultipartForm {
    pub fn text(&self, name: &str) -> &str {
        self.texts.get(name).map(String::as_str).unwrap_or("")
    }

    /// The bytes of a file field; `None` when absent or empty.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .get(name)
            .map(Vec::as_slice)
            .filter(|d| !d.is_empty())
    }

    /// Whether the file field went past the limit (its bytes were dropped).
    pub fn too_large(&self, name: &str) -> bool {
        self.too_large.iter().any(|n| n == name)
    }
}

fn malformed() -> AppError {
    AppError::page(
        StatusCode::BAD_REQUEST,
        "提交失败",
        "表单数据不完整，请返回重新提交。",
    )
}

/// Reads the whole form; files over `max_file_bytes` are dropped and flagged.
pub async fn read(mut multipart: Multipart, max_file_bytes: usize) -> AppResult<MultipartForm> {
    let mut form = MultipartForm::default();
    let mut count = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| malformed())? {
        count += 1;
        if count > MAX_FIELDS {
            return Err(malformed());
        }
        let name = field.name().unwrap_or("").to_owned();
        let is_file = field.file_name().is_some();
        let limit = if is_file {
            max_file_bytes
        } else {
            MAX_TEXT_BYTES
        };
        let mut data = Vec::new();
        let mut over = false;
        while let Some(chunk) = field.chunk().await.map_err(|_| malformed())? {
            if over {
                continue;
            }
            if data.len() + chunk.len() > limit {
                over = true;
                data = Vec::new();
            } else {
                data.extend_from_slice(&chunk);
            }
        }
        if is_file {
            if over {
                form.too_large.push(name.clone());
            }
            form.files.insert(name, data);
        } else {
            let text = String::from_utf8(data).map_err(|_| malformed())?;
            form.texts.insert(name, text);
        }
    }
    Ok(form)
}
