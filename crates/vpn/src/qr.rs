//! The phone's configuration as a QR code (the WireGuard apps scan it): in the terminal (two
//! modules per character, light on dark so it scans off a dark terminal), as SVG, or as PNG (a
//! small encoder of our own: 8-bit grayscale rows through `flate2`, the crate the capture reader
//! already uses; the `image` crate would bring a whole codec family for one picture).

use qrcode::render::{svg, unicode};
use qrcode::{Color, EcLevel, QrCode};

/// Why a QR code could not be made (the text is too long for one).
#[derive(Debug, thiserror::Error)]
#[error("the configuration does not fit in a QR code: {0}")]
pub struct QrError(String);

fn code(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text, EcLevel::L).map_err(|e| QrError(e.to_string()))
}

/// For a terminal: half-block characters, a quiet zone around.
pub fn terminal(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// An SVG picture.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?.render::<svg::Color<'_>>().min_dimensions(320, 320).build())
}

/// A PNG picture, `scale` pixels per module, a quiet zone of 4 modules.
pub fn png(text: &str, scale: usize) -> Result<Vec<u8>, QrError> {
    let code = code(text)?;
    let width = code.width();
    let colors = code.to_colors();
    let scale = scale.clamp(1, 32);
    let side = (width + 8) * scale;
    let mut raw = Vec::with_capacity((side + 1) * side);
    for y in 0..side {
        raw.push(0); // filter: none
        let my = (y / scale).wrapping_sub(4);
        for x in 0..side {
            let mx = (x / scale).wrapping_sub(4);
            let dark = mx < width && my < width && colors[my * width + mx] == Color::Dark;
            raw.push(if dark { 0 } else { 255 });
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).map_err(|e| QrError(e.to_string()))?;
    let idat = z.finish().map_err(|e| QrError(e.to_string()))?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let side = u32::try_from(side).map_err(|e| QrError(e.to_string()))?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grayscale, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}
