//! QR codes for device links, drawn as one SVG path from the encoder's
//! module matrix (no image library, no fonts).

use qrcode::{Color, EcLevel, QrCode};

/// Empty modules around the code, as scanners expect.
const QUIET_ZONE: usize = 4;

/// A QR code ready to draw: the side of the square in modules (quiet zone
/// included) and an SVG path (`d`) with one unit square per dark module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPath {
    /// Width and height of the whole code, in modules.
    pub size: usize,
    /// The dark modules as SVG path data.
    pub path: String,
}

/// Why a QR code could not be made.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot draw this link as a QR code: {0}")]
pub struct QrError(String);

/// Encodes `text` (medium error correction) as a [`QrPath`].
pub fn encode(text: &str) -> Result<QrPath, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))?;
    let width = code.width();
    let mut path = String::new();
    for (index, colour) in code.to_colors().iter().enumerate() {
        if *colour == Color::Dark {
            let (x, y) = (index % width + QUIET_ZONE, index / width + QUIET_ZONE);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Ok(QrPath {
        size: width + 2 * QUIET_ZONE,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_a_square_with_finder_patterns() {
        let qr = encode("https://accord.example.org/#/link/ABCD-EFGH-JKMN").unwrap();
        let modules = qr.size - 2 * QUIET_ZONE;
        assert_eq!((modules - 17) % 4, 0, "a QR version's side is 17 + 4v");
        // The top-left finder pattern's corner module is dark; the quiet
        // zone is not drawn.
        assert!(qr.path.starts_with("M4 4h1v1h-1z"), "{}", &qr.path[..40]);
        assert!(!qr.path.contains("M0 ") && !qr.path.contains("M3 "));
    }
}
