//! QR codes of enrolment URIs: PNG files for `mailbox qr`, pixels for the console's preview and
//! PNG bytes for the login service.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{ImageFormat, Luma};
use qrcode::QrCode;
use thiserror::Error;

/// Why a QR code could not be made or written.
#[derive(Debug, Error)]
pub enum QrError {
    /// The text does not fit in a QR code.
    #[error("cannot make a QR code: {0}")]
    Encode(#[from] qrcode::types::QrError),
    /// The PNG could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: image::ImageError,
    },
    /// The PNG could not be encoded in memory.
    #[error("cannot encode the QR code as PNG: {0}")]
    Png(image::ImageError),
}

/// Renders `text` as a QR code image with a quiet zone, at least `min_size` pixels square.
pub fn render(text: &str, min_size: u32) -> Result<image::GrayImage, QrError> {
    let code = QrCode::new(text.as_bytes())?;
    Ok(code.render::<Luma<u8>>().min_dimensions(min_size, min_size).quiet_zone(true).build())
}

/// `text` as a QR code PNG, at least `min_size` pixels square.
pub fn png(text: &str, min_size: u32) -> Result<Vec<u8>, QrError> {
    let mut bytes = Cursor::new(Vec::new());
    render(text, min_size)?.write_to(&mut bytes, ImageFormat::Png).map_err(QrError::Png)?;
    Ok(bytes.into_inner())
}

/// A QR code for a web page: `text` as a PNG in a `data:` URI (the pages' CSP allows images only
/// so), with whole pixels per module, at least `min_size` pixels square.
#[derive(Debug, Clone)]
pub struct PageImage {
    /// The `src` of its `img`.
    pub src: String,
    /// Its width and height in pixels.
    pub side: u32,
}

/// `text` as a [`PageImage`].
pub fn page_image(text: &str, min_size: u32) -> Result<PageImage, QrError> {
    use base64::Engine as _;
    let image = render(text, min_size)?;
    let side = image.width();
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).map_err(QrError::Png)?;
    let src = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes.into_inner()));
    Ok(PageImage { src, side })
}

/// Writes `text` as a QR code PNG to `path`.
pub fn write_png(text: &str, path: &Path) -> Result<(), QrError> {
    let image = render(text, 300)?;
    image.save_with_format(path, ImageFormat::Png).map_err(|source| QrError::Write { path: path.to_path_buf(), source })
}
