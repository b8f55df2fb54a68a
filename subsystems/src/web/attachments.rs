//! Uploading, downloading and removing attachments. An upload is a multipart form whose first
//! part is the CSRF token and whose second is the file: the token is checked before a byte of
//! the file is written, and the file is streamed to disk (see [`crate::files`]).

use axum::{
    body::Body,
    extract::{Multipart, Path, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use tokio_util::io::ReaderStream;

use super::{
    declarant::{refused, render_edit, visible, CsrfForm},
    views, User,
};
use crate::{
    clock,
    declaration::{decide, Action, FieldErrors},
    error::Error,
    files::{self, UploadError, MAX_FILE_BYTES},
    state::AppState,
    store::attachments::{self, AddError, NewAttachment},
};

fn upload_message(e: &UploadError, accept: &str) -> String {
    match e {
        UploadError::Empty => "请选择要上传的文件".into(),
        UploadError::TooLarge => "文件超过10M，请压缩后重新上传".into(),
        UploadError::WrongType => format!("文件格式不符，仅支持{accept}格式（按文件内容识别）"),
        UploadError::Interrupted(_) => "上传中断，请重新上传".into(),
        UploadError::Io(_) => "文件保存失败，请稍后重试".into(),
    }
}

pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, slot_key)): Path<(String, String)>,
    mut multipart: Multipart,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, &format!("/declarations/{id}/edit")).await?;
    let app = &state.config;
    let d = visible(&state, &user, &id).await?;
    let slot = app.form.slot(&slot_key).ok_or(Error::NotFound)?.clone();
    // The CSRF part comes first; nothing is read further without it.
    let csrf = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.ok(),
        _ => None,
    };
    user.check_csrf(csrf.as_deref())?;
    decide(d.state, &d.owner_sub, user.actor(), Action::Edit).map_err(refused)?;
    let fail = |e: UploadError| {
        let mut errors = FieldErrors::default();
        errors.insert(&slot.key, upload_message(&e, &slot.accept_labels()));
        errors
    };
    let mut field = match multipart.next_field().await {
        Ok(Some(f)) if f.name() == Some("file") => f,
        Ok(_) => {
            let errors = fail(UploadError::Empty);
            return render_edit(&state, &user, Some(&d), &d.values, &errors, None).await;
        }
        Err(e) => {
            let errors = fail(UploadError::Interrupted(e.body_text()));
            return render_edit(&state, &user, Some(&d), &d.values, &errors, None).await;
        }
    };
    let fallback = format!("{}.{}", slot.label, slot.accept[0].label().to_lowercase());
    let file_name = views::clean_file_name(field.file_name(), &fallback);
    let staged = match files::stage(
        app.files.staging_dir(),
        &mut field,
        &slot.accept,
        MAX_FILE_BYTES,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(declaration = %id, slot = %slot.key, reason = %e, "upload refused");
            if matches!(e, UploadError::TooLarge) {
                // Read and drop the rest (up to the request's size bound), so that the answer
                // reaches a browser that is still sending instead of a reset connection.
                while let Ok(Some(_)) = field.chunk().await {}
                drop(field);
                while let Ok(Some(mut next)) = multipart.next_field().await {
                    while let Ok(Some(_)) = next.chunk().await {}
                }
            }
            let errors = fail(e);
            return render_edit(&state, &user, Some(&d), &d.values, &errors, None).await;
        }
    };
    let attachment_id = uuid::Uuid::new_v4().simple().to_string();
    let added = attachments::add(
        &app.db,
        app.files.as_ref(),
        NewAttachment {
            id: &attachment_id,
            declaration_id: &id,
            owner_sub: &user.session.subject,
            slot: &slot.key,
            file_name: &file_name,
            now: clock::now(),
        },
        staged,
    )
    .await;
    match added {
        Ok(a) => {
            tracing::info!(declaration = %id, slot = %slot.key, size = a.size, "attachment uploaded");
            Ok(Redirect::to(&format!(
                "/declarations/{id}/edit?notice=uploaded#slot-{}",
                slot.key
            ))
            .into_response())
        }
        Err(AddError::NotEditable) => Err(Error::Conflict),
        Err(AddError::Db(e)) => Err(e.into()),
        Err(AddError::Store(e)) => Err(e.into()),
    }
}

pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, "/").await?;
    let app = &state.config;
    let a = attachments::get(&app.db, &id)
        .await?
        .ok_or(Error::NotFound)?;
    // Whoever may see the declaration may see its files.
    visible(&state, &user, &a.declaration_id).await?;
    let reader = app.files.open(&a.storage_key).await?;
    let mut res = Body::from_stream(ReaderStream::new(reader)).into_response();
    let h = res.headers_mut();
    let mime = crate::declaration::FileType::from_mime(&a.content_type)
        .map(|t| t.mime())
        .unwrap_or("application/octet-stream");
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(a.size as u64));
    if let Ok(v) = HeaderValue::from_str(&views::content_disposition(&a.file_name, "attachment")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}

pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, "/").await?;
    user.check_csrf(form.csrf.as_deref())?;
    let app = &state.config;
    let removed = attachments::remove(
        &app.db,
        app.files.as_ref(),
        &id,
        &user.session.subject,
        clock::now(),
    )
    .await?
    .ok_or(Error::NotFound)?;
    Ok(Redirect::to(&format!(
        "/declarations/{}/edit?notice=removed#slot-{}",
        removed.declaration_id, removed.slot
    ))
    .into_response())
}
