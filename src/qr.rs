//! QR codes of enrolment URIs: PNG files for `mailbox qr` and pixels for the console's preview.

use std::path::Path;

use image::{ImageFormat, Luma};
use qrcode::QrCode;

/// Renders `text` as a QR code image with a quiet zone, at least `min_size` pixels square.
pub fn render(text: &str, min_size: u32) -> Result<image::GrayImage, String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| format!("cannot make a QR code: {e}"))?;
    Ok(code.render::<Luma<u8>>().min_dimensions(min_size, min_size).quiet_zone(true).build())
}

/// Writes `text` as a QR code PNG to `path`.
pub fn write_png(text: &str, path: &Path) -> Result<(), String> {
    let image = render(text, 300)?;
    image.save_with_format(path, ImageFormat::Png).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
