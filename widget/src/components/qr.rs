//! The payment link as a QR code, for a customer on a computer whose wallet is on the phone:
//! `qrcodegen` (Nayuki's, no dependencies) encodes it, and it is drawn as one SVG path.

use qrcodegen::{Mask, QrCode, QrCodeEcc, QrSegment, Version};
use shared::locale::Locale;
use yew::{Html, html};

use crate::i18n::Text;

/// The quiet zone around the code, in modules (the standard asks for 4).
const QUIET: i32 = 4;

/// `text` as a QR code (byte mode, low error correction, a fixed mask), if it fits.
fn encode(text: &str) -> Option<QrCode> {
    // Bytes only and a fixed mask: the mode analysis and the mask penalty search cost the
    // customer 1 KB of gzip for a slightly denser or more even code; every mask is valid.
    let segments = [QrSegment::make_bytes(text.as_bytes())];
    QrCode::encode_segments_advanced(
        &segments,
        QrCodeEcc::Low,
        Version::MIN,
        Version::MAX,
        Some(Mask::new(0)),
        false,
    )
    .ok()
}

/// The side of the code in modules and an SVG path of its dark modules (one rectangle per
/// horizontal run), or `None` if `text` is too long for a QR code.
pub(crate) fn qr_path(text: &str) -> Option<(i32, String)> {
    let qr = encode(text)?;
    let size = qr.size();
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
    Some((size, d))
}

/// The QR code of `url` (`.ckw-qr`, an image with a name) and what to do with it. Hidden on
/// touch screens by the stylesheet: there, the link itself is the way.
pub(crate) fn qr(url: &str, locale: Locale) -> Html {
    let Some((size, d)) = qr_path(url) else { return Html::default() };
    let side = size + 2 * QUIET;
    html! {
        <div class="ckw-qr-box">
            <svg
                class="ckw-qr"
                viewBox={format!("-{QUIET} -{QUIET} {side} {side}")}
                role="img"
                aria-label={Text::QrLabel.get(locale)}
                shape-rendering="crispEdges"
            >
                <rect x={format!("-{QUIET}")} y={format!("-{QUIET}")} width={side.to_string()} height={side.to_string()} fill="#fff" />
                <path {d} fill="#000" />
            </svg>
            <p class="ckw-hint">{ Text::ScanQr.get(locale) }</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_a_path_of_its_dark_modules() {
        let url = "https://pay.example/s/0123456789abcdef?ref=at_abcdefghijklmnopqrstuvwx";
        let (size, d) = qr_path(url).unwrap();
        let qr = encode(url).unwrap();
        assert_eq!(size, qr.size());
        // Every dark module is covered by exactly one run: the runs' widths add up.
        let dark =
            (0..size).flat_map(|y| (0..size).map(move |x| (x, y))).filter(|&(x, y)| qr.get_module(x, y));
        let covered: i32 =
            d.split('h').skip(1).map(|r| r.split('v').next().unwrap().parse::<i32>().unwrap()).sum();
        assert_eq!(covered as usize, dark.count());
        assert!(d.starts_with("M0 0h7v1H0z"), "the finder pattern's top row: {}", &d[..20]);
        assert_eq!(qr_path(&"x".repeat(5000)), None);
    }
}
