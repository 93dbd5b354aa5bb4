//! The app icon: two interlocking rings (the partnership) on a rounded
//! square in the app's accent colour. One geometry, written as SVG and
//! rasterised to PNG at the sizes the web manifest lists, so the two never
//! drift apart and no image tool is needed.

use std::io::Write as _;

/// The SVG's coordinate space (a square of this many units).
const UNITS: f64 = 512.0;
/// Corner radius of the square.
const CORNER: f64 = 112.0;
/// Ring centres (x, y) and their radius and stroke width.
const RINGS: [(f64, f64); 2] = [(200.0, 256.0), (312.0, 256.0)];
const RING_RADIUS: f64 = 100.0;
const RING_STROKE: f64 = 40.0;
/// `--accent` in `app/style.css` (light theme).
pub const ACCENT: [u8; 3] = [0x2f, 0x5b, 0xd3];
/// The rings' colour.
const INK: [u8; 3] = [0xff, 0xff, 0xff];

/// The icon as SVG.
pub fn svg() -> String {
    let hex = |c: [u8; 3]| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    let rings: String = RINGS
        .iter()
        .map(|(x, y)| format!(r#"<circle cx="{x}" cy="{y}" r="{RING_RADIUS}"/>"#))
        .collect();
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {UNITS} {UNITS}"><title>Accord</title><rect width="{UNITS}" height="{UNITS}" rx="{CORNER}" fill="{}"/><g fill="none" stroke="{}" stroke-width="{RING_STROKE}">{rings}</g></svg>"#,
        hex(ACCENT),
        hex(INK)
    )
}

/// Whether the point (in icon units) is inside the rounded square.
fn in_square(x: f64, y: f64) -> bool {
    if !(0.0..UNITS).contains(&x) || !(0.0..UNITS).contains(&y) {
        return false;
    }
    let cx = x.clamp(CORNER, UNITS - CORNER);
    let cy = y.clamp(CORNER, UNITS - CORNER);
    (x - cx).powi(2) + (y - cy).powi(2) <= CORNER * CORNER
}

/// Whether the point is on one of the rings' strokes.
fn on_ring(x: f64, y: f64) -> bool {
    RINGS.iter().any(|(rx, ry)| {
        let d = ((x - rx).powi(2) + (y - ry).powi(2)).sqrt();
        (d - RING_RADIUS).abs() <= RING_STROKE / 2.0
    })
}

/// Samples per pixel along each axis (16 per pixel: smooth edges).
const SUPERSAMPLE: u32 = 4;

/// The icon rasterised to `size`×`size` RGBA (straight alpha).
pub fn rgba(size: u32) -> Vec<u8> {
    let scale = UNITS / f64::from(size);
    let samples = f64::from(SUPERSAMPLE * SUPERSAMPLE);
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    for py in 0..size {
        for px in 0..size {
            let (mut inside, mut ring) = (0.0, 0.0);
            for sy in 0..SUPERSAMPLE {
                for sx in 0..SUPERSAMPLE {
                    let x =
                        (f64::from(px) + (f64::from(sx) + 0.5) / f64::from(SUPERSAMPLE)) * scale;
                    let y =
                        (f64::from(py) + (f64::from(sy) + 0.5) / f64::from(SUPERSAMPLE)) * scale;
                    if in_square(x, y) {
                        inside += 1.0;
                        if on_ring(x, y) {
                            ring += 1.0;
                        }
                    }
                }
            }
            let ink_share = if inside > 0.0 { ring / inside } else { 0.0 };
            for channel in 0..3 {
                let mixed = f64::from(ACCENT[channel]) * (1.0 - ink_share)
                    + f64::from(INK[channel]) * ink_share;
                pixels.push(mixed.round() as u8);
            }
            pixels.push((inside / samples * 255.0).round() as u8);
        }
    }
    pixels
}

/// The icon as a PNG file of `size`×`size` pixels.
pub fn png(size: u32) -> std::io::Result<Vec<u8>> {
    let pixels = rgba(size);
    let row = (size * 4) as usize;
    let mut raw = Vec::with_capacity(pixels.len() + size as usize);
    for line in pixels.chunks(row) {
        raw.push(0); // filter: none
        raw.extend_from_slice(line);
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&raw)?;
    let data = zlib.finish()?;

    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&size.to_be_bytes());
    header.extend_from_slice(&size.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

/// Appends one PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("a PNG chunk under 4 GiB");
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(pixels: &[u8], size: u32, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * size + x) * 4) as usize;
        [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]]
    }

    #[test]
    fn the_raster_follows_the_geometry() {
        let size = 192;
        let pixels = rgba(size);
        assert_eq!(pixels.len(), (size * size * 4) as usize);
        // Outside the rounded corner: transparent.
        assert_eq!(pixel(&pixels, size, 0, 0)[3], 0);
        // The middle of the square, between the rings: accent, opaque.
        let middle = pixel(&pixels, size, size / 2, 10);
        assert_eq!(middle, [ACCENT[0], ACCENT[1], ACCENT[2], 255]);
        // On the left ring's leftmost stroke (x = 100 of 512 units): white.
        let on = pixel(&pixels, size, 100 * size / 512, size / 2);
        assert_eq!(on, [255, 255, 255, 255]);
    }

    #[test]
    fn png_has_a_valid_header() {
        let png = png(48).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 48);
        assert!(
            png.ends_with(&[0xae, 0x42, 0x60, 0x82]),
            "IEND's CRC closes the file"
        );
        assert!(svg().contains("viewBox=\"0 0 512 512\""));
    }
}
