//! Checks of uploaded images (ID card photos, licences): JPEG or PNG by content, never by
//! name or declared type, and at most 1 MB (SPEC §4).

/// The largest image accepted (1 MiB).
pub const MAX_IMAGE_BYTES: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("no file")]
    Missing,
    #[error("larger than 1 MB")]
    TooLarge,
    #[error("not a JPEG or PNG image")]
    NotAnImage,
}

impl ImageError {
    /// The sentence shown next to the upload field.
    pub fn message(self) -> &'static str {
        match self {
            ImageError::Missing => "请上传图片",
            ImageError::TooLarge => "图片不能超过1MB",
            ImageError::NotAnImage => "仅支持jpg、png格式的图片",
        }
    }
}

/// The content type of a JPEG or PNG file, from its first bytes.
pub fn sniff_image(data: &[u8]) -> Option<&'static str> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if data.starts_with(PNG) && data.len() > PNG.len() + 8 {
        return Some("image/png");
    }
    // SOI followed by the start of another marker; a JPEG also ends with EOI, but a
    // truncated camera file is still worth a reviewer's look, so only the start is required.
    if data.len() > 4 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF {
        return Some("image/jpeg");
    }
    None
}

/// One uploaded file as the multipart reader saw it.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileField<'a> {
    pub data: Option<&'a [u8]>,
    pub too_large: bool,
}

impl FileField<'_> {
    /// Checks it as an image ([`check_image`]).
    pub fn check_image(self) -> Result<&'static str, ImageError> {
        check_image(self.data, self.too_large)
    }
}

/// Checks one uploaded image; `data` is `None` when the field was absent or empty, and
/// `too_large` when the upload was cut off at the limit while it streamed in.
pub fn check_image(data: Option<&[u8]>, too_large: bool) -> Result<&'static str, ImageError> {
    if too_large {
        return Err(ImageError::TooLarge);
    }
    let data = data.filter(|d| !d.is_empty()).ok_or(ImageError::Missing)?;
    if data.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge);
    }
    sniff_image(data).ok_or(ImageError::NotAnImage)
}

/// An uploaded image opened for an admin's eyes: (content type, bytes). Only admin pages
/// (real-name review, appeals) call this, after checking the admin.
pub async fn open_for_admin(
    state: &crate::services::Services,
    id: &str,
) -> crate::failure::FailureResult<Option<(String, Vec<u8>)>> {
    let upload = crate::store::uploads::get(&state.db, &state.pii, id).await?;
    Ok(upload.map(|(content_type, data, _)| (content_type, data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_content() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0; 16]);
        assert_eq!(check_image(Some(&png), false), Ok("image/png"));
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
        assert_eq!(check_image(Some(&jpeg), false), Ok("image/jpeg"));
        assert_eq!(
            check_image(Some(b"%PDF-1.7 not an image"), false),
            Err(ImageError::NotAnImage)
        );
        assert_eq!(check_image(None, false), Err(ImageError::Missing));
        assert_eq!(check_image(Some(b""), false), Err(ImageError::Missing));
        assert_eq!(check_image(Some(&png), true), Err(ImageError::TooLarge));
        let big = vec![0xFF; MAX_IMAGE_BYTES + 1];
        assert_eq!(check_image(Some(&big), false), Err(ImageError::TooLarge));
    }
}
