//! `provenance qr`: a product's GS1 Digital Link as a QR code, in the terminal (Unicode half
//! blocks, two module rows per text line) and as SVG or PNG files.
//!
//! An EPC URN is converted to its Digital Link (GS1 Tag Data Standard); a Digital Link on any
//! domain is canonicalised (GTIN-14, qualifiers in standard order, no query) and moved to
//! `--base`. Error correction level M (15 %): the usual choice for a label that gets scuffed.

use std::io::Write;

use provenance_protocol::gs1::{self, AnyEpcError, DigitalLinkError, NormalizedEpc};
use qrcode::{Color, EcLevel, QrCode};

use crate::cli::QrArgs;
use crate::error::{CommandError, EXIT_OK};
use crate::output::write_output;

/// Quiet zone around the symbol, in modules (ISO/IEC 18004 asks for 4).
const QUIET_ZONE: usize = 4;

/// Why no QR code could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    #[error("{id:?} is not a GS1 identifier: {source}")]
    NotGs1 {
        id: String,
        #[source]
        source: AnyEpcError,
    },
    #[error("{id:?} has no GS1 Digital Link form (an EPC pattern names many objects, not one)")]
    NoDigitalLink { id: String },
    #[error("--base {base:?} is not a resolver URL (http(s)://domain[/path]): {source}")]
    BadBase {
        base: String,
        #[source]
        source: DigitalLinkError,
    },
    #[error("cannot encode {link} as a QR code: {reason}")]
    Encode { link: String, reason: String },
    #[error("cannot encode the PNG: {0}")]
    Png(String),
}

impl From<QrError> for CommandError {
    fn from(error: QrError) -> Self {
        CommandError::input(error)
    }
}

/// The Digital Link of `id` on resolver `base`.
pub fn digital_link(id: &str, base: &str) -> Result<String, QrError> {
    let normalized = gs1::parse_any_epc(id.trim()).map_err(|source| QrError::NotGs1 {
        id: id.to_owned(),
        source,
    })?;
    let NormalizedEpc::DigitalLink(link) = normalized else {
        return Err(QrError::NoDigitalLink { id: id.to_owned() });
    };
    let link = link
        .with_resolver(base)
        .map_err(|source| QrError::BadBase {
            base: base.to_owned(),
            source,
        })?;
    Ok(link.to_string())
}

/// The QR code of `link`.
pub fn encode(link: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M).map_err(|e| QrError::Encode {
        link: link.to_owned(),
        reason: e.to_string(),
    })
}

/// Dark-module grid with the quiet zone, row-major.
fn grid(code: &QrCode) -> (usize, Vec<bool>) {
    let width = code.width();
    let side = width + 2 * QUIET_ZONE;
    let colors = code.to_colors();
    let mut cells = vec![false; side * side];
    for (i, color) in colors.iter().enumerate() {
        let (x, y) = (i % width, i / width);
        cells[(y + QUIET_ZONE) * side + x + QUIET_ZONE] = *color == Color::Dark;
    }
    (side, cells)
}

/// The code as text, two module rows per line. By default light modules are drawn (a dark
/// terminal background then shows the dark modules); `dark_modules` draws the dark ones instead.
pub fn terminal(code: &QrCode, dark_modules: bool) -> String {
    let (side, cells) = grid(code);
    let drawn = |x: usize, y: usize| y < side && cells[y * side + x] == dark_modules;
    let mut text = String::with_capacity(side * side.div_ceil(2) * 3);
    for y in (0..side).step_by(2) {
        for x in 0..side {
            text.push(match (drawn(x, y), drawn(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        text.push('\n');
    }
    text
}

/// The code as an SVG document.
pub fn svg(code: &QrCode) -> String {
    code.render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build()
}

/// The code as an 8-bit grayscale PNG, `scale` pixels per module.
pub fn png(code: &QrCode, scale: u32) -> Result<Vec<u8>, QrError> {
    let (side, cells) = grid(code);
    let scale = scale.max(1) as usize;
    let pixels_side = side * scale;
    let mut pixels = vec![255u8; pixels_side * pixels_side];
    for (i, dark) in cells.iter().enumerate() {
        if !dark {
            continue;
        }
        let (x, y) = (i % side, i / side);
        for row in y * scale..(y + 1) * scale {
            pixels[row * pixels_side + x * scale..row * pixels_side + (x + 1) * scale].fill(0);
        }
    }
    let dimension = u32::try_from(pixels_side).map_err(|e| QrError::Png(e.to_string()))?;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, dimension, dimension);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| QrError::Png(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| QrError::Png(e.to_string()))?;
    writer.finish().map_err(|e| QrError::Png(e.to_string()))?;
    Ok(bytes)
}

/// `provenance qr`.
pub fn qr(args: &QrArgs, out: &mut dyn Write) -> Result<u8, CommandError> {
    let link = digital_link(&args.id, &args.base)?;
    let code = encode(&link)?;
    writeln!(out, "{link}")?;
    write!(out, "{}", terminal(&code, args.invert))?;
    if let Some(path) = &args.svg {
        write_output(path, svg(&code).as_bytes(), out)?;
    }
    if let Some(path) = &args.png {
        write_output(path, &png(&code, args.scale)?, out)?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_and_links_become_the_same_digital_link_on_the_chosen_resolver() {
        let from_urn =
            digital_link("urn:epc:id:sgtin:0614142.004521.R1001", gs1::GS1_RESOLVER).unwrap();
        assert_eq!(from_urn, "https://id.gs1.org/01/00614142045210/21/R1001");
        let from_link = digital_link(
            "https://brand.example/shop/01/00614142045210/21/R1001?17=260101",
            "https://coffee.example/p/",
        )
        .unwrap();
        assert_eq!(
            from_link,
            "https://coffee.example/p/01/00614142045210/21/R1001"
        );
        assert_eq!(
            digital_link("urn:epc:id:sscc:0614142.1000004001", gs1::GS1_RESOLVER).unwrap(),
            "https://id.gs1.org/00/106141420000040014"
        );
    }

    #[test]
    fn bad_identifiers_and_resolvers_are_named() {
        let err = digital_link("hello", gs1::GS1_RESOLVER).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("\"hello\" is not a GS1 identifier"),
            "{err}"
        );
        let err =
            digital_link("urn:epc:id:sgtin:0614142.004521.R1", "https://x.example/?q").unwrap_err();
        assert!(matches!(err, QrError::BadBase { .. }), "{err}");
    }

    #[test]
    fn terminal_rendering_has_two_module_rows_per_line_and_inverts() {
        let code = encode("https://id.gs1.org/01/00614142045210/21/R1001").unwrap();
        let side = code.width() + 2 * QUIET_ZONE;
        let text = terminal(&code, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == side));
        // Default: the quiet zone is light and drawn as full blocks.
        assert!(lines[0].chars().all(|c| c == '█'), "{}", lines[0]);
        let inverted = terminal(&code, true);
        assert!(inverted.lines().next().unwrap().chars().all(|c| c == ' '));
        // Each cell is drawn in exactly one of the two renderings (the half row below an odd
        // last row is in neither).
        let full_lines = side / 2;
        let pairs = text.lines().take(full_lines).flat_map(str::chars);
        for (a, b) in pairs.zip(inverted.lines().take(full_lines).flat_map(str::chars)) {
            let pair = match a {
                '█' => ' ',
                ' ' => '█',
                '▀' => '▄',
                '▄' => '▀',
                other => other,
            };
            assert_eq!(pair, b);
        }
    }

    #[test]
    fn png_decodes_to_the_module_grid() {
        let code = encode("https://id.gs1.org/00/106141420000040014").unwrap();
        let bytes = png(&code, 3).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let side = code.width() + 2 * QUIET_ZONE;
        assert_eq!(
            (info.width as usize, info.height as usize),
            (side * 3, side * 3)
        );
        let colors = code.to_colors();
        for (i, color) in colors.iter().enumerate() {
            let (x, y) = (i % code.width() + QUIET_ZONE, i / code.width() + QUIET_ZONE);
            let pixel = pixels[(y * 3 + 1) * side * 3 + x * 3 + 1];
            assert_eq!(pixel == 0, *color == Color::Dark, "module {x},{y}");
        }
    }

    #[test]
    fn svg_is_a_document_and_files_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let args = QrArgs {
            id: "urn:epc:id:sgtin:0614142.004521.R1001".into(),
            base: gs1::GS1_RESOLVER.into(),
            svg: Some(dir.path().join("q.svg")),
            png: Some(dir.path().join("q.png")),
            scale: 2,
            invert: false,
        };
        let mut out = Vec::new();
        assert_eq!(qr(&args, &mut out).unwrap(), 0);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("https://id.gs1.org/01/00614142045210/21/R1001\n█"),
            "{text}"
        );
        let svg = std::fs::read_to_string(dir.path().join("q.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        assert!(
            std::fs::read(dir.path().join("q.png"))
                .unwrap()
                .starts_with(b"\x89PNG")
        );
    }
}
