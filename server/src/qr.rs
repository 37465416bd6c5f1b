//! Payment links as QR codes, for a customer on a computer whose wallet is on the phone: the
//! widget shows the SVG the verifier draws here (so the wasm carries no QR encoder).
//!
//! `qrcodegen` (Nayuki's, no dependencies) encodes the link; it is drawn as one SVG path, one
//! rectangle per horizontal run of dark modules, inside a white quiet zone.

use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

/// The quiet zone around the code, in modules (the standard asks for 4).
const QUIET: i32 = 4;

/// `text` as an SVG QR code (byte mode, low error correction), or `None` if it is too long
/// for a QR code. `title` names the image (`<title>`, read by screen readers); it is escaped.
pub fn svg(text: &str, title: &str) -> Option<String> {
    let segments = [QrSegment::make_bytes(text.as_bytes())];
    let qr =
        QrCode::encode_segments_advanced(&segments, QrCodeEcc::Low, Version::MIN, Version::MAX, None, true)
            .ok()?;
    let size = qr.size();
    let side = size + 2 * QUIET;
    let mut d = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if qr.get_module(x, y) {
                let start = x;
                while x < size && qr.get_module(x, y) {
                    x += 1;
                }
                d.push_str(&format!("M{start} {y}h{}v1H{start}z", x - start));
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"-{QUIET} -{QUIET} {side} {side}\" \
         shape-rendering=\"crispEdges\"><title>{}</title>\
         <rect x=\"-{QUIET}\" y=\"-{QUIET}\" width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path d=\"{d}\" fill=\"#000\"/></svg>",
        escape(title)
    ))
}

/// `s` safe as XML text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://pay.example/s/0123456789abcdef?ref=at_abcdefghijklmnopqrstuvwx";

    #[test]
    fn a_link_becomes_one_path_of_its_dark_modules() {
        let svg = svg(URL, "QR <code>").unwrap();
        // Stable: the same link gives the same drawing.
        assert_eq!(svg, super::svg(URL, "QR <code>").unwrap());
        let qr = QrCode::encode_segments_advanced(
            &[QrSegment::make_bytes(URL.as_bytes())],
            QrCodeEcc::Low,
            Version::MIN,
            Version::MAX,
            None,
            true,
        )
        .unwrap();
        let side = qr.size() + 8;
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"-4 -4 "),
            "{svg}"
        );
        assert!(svg.contains(&format!("viewBox=\"-4 -4 {side} {side}\"")), "{svg}");
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        assert!(svg.contains("<title>QR &lt;code&gt;</title>"));
        assert_eq!(svg.matches("<path ").count(), 1);
        // Every dark module is covered by exactly one run: the runs' widths add up.
        let d = svg.split("<path d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(d.starts_with("M0 0h7v1H0z"), "the finder pattern's top row: {}", &d[..20]);
        let covered: i32 =
            d.split('h').skip(1).map(|r| r.split('v').next().unwrap().parse::<i32>().unwrap()).sum();
        let dark = (0..qr.size())
            .flat_map(|y| (0..qr.size()).map(move |x| (x, y)))
            .filter(|&(x, y)| qr.get_module(x, y))
            .count();
        assert_eq!(covered as usize, dark);
        assert!(svg.ends_with("fill=\"#000\"/></svg>"));
    }

    #[test]
    fn too_long_for_a_qr_code() {
        assert_eq!(svg(&"x".repeat(5000), "QR"), None);
    }
}
