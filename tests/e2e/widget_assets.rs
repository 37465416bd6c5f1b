//! The widget as the verifier sends it (`server/src/routes/assets.rs`), over real HTTP against
//! the widget `cargo xtask build-widget` wrote (`WIDGET_DIR`): brotli or gzip as
//! `Accept-Encoding` allows, decoded here with the `brotli-decompressor` and `flate2` crates and
//! compared with the files on disk; `Vary`, `Content-Type`, the year-long cache of the
//! content-hashed names and the short one of the loader; 304 on a revalidation; and a loader
//! naming only files that are there.

use std::io::Read;

use e2e::{TestApp, widget_dir};
use reqwest::{StatusCode, header};
use sha2::{Digest, Sha256};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const LOADER_CACHE: &str = "public, max-age=300";

/// The files the built loader names (quoted `widget….js` / `widget_bg….wasm` strings).
fn named_by_loader(loader: &str) -> Vec<String> {
    loader
        .split('"')
        .filter(|s| {
            s.starts_with("widget") && (s.ends_with(".js") || s.ends_with(".wasm")) && !s.contains(' ')
        })
        .map(str::to_owned)
        .collect()
}

fn built_loader() -> String {
    let path = widget_dir().join("checkout.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("the widget is not built in {} ({e}): run `cargo xtask build-widget`", path.display())
    })
}

async fn get(app: &TestApp, name: &str, headers: &[(header::HeaderName, &str)]) -> reqwest::Response {
    let mut req = app.http.get(format!("{}/widget/{name}", app.url));
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    req.send().await.expect("verifier reachable")
}

fn header_of(r: &reqwest::Response, name: header::HeaderName) -> String {
    r.headers().get_all(name).iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>().join(", ")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_asset_is_sent_brotli_gzip_or_plain_as_the_browser_accepts() {
    let loader = built_loader();
    let app = TestApp::spawn().await;
    let hashed = named_by_loader(&loader);
    assert_eq!(hashed.len(), 2, "the loader names the glue and the wasm: {hashed:?}");

    for name in std::iter::once("checkout.js".to_owned()).chain(hashed) {
        let raw = std::fs::read(widget_dir().join(&name)).expect("the loader names a file that exists");
        let (kind, cache) = if name.ends_with(".wasm") {
            assert_eq!(&raw[..4], b"\0asm", "{name} is a wasm module");
            ("application/wasm", IMMUTABLE)
        } else if name == "checkout.js" {
            ("text/javascript", LOADER_CACHE)
        } else {
            ("text/javascript", IMMUTABLE)
        };
        if cache == IMMUTABLE {
            // The name carries the first hex digits of the SHA-256 of what it holds.
            let hash = name.split('.').nth(1).unwrap();
            assert!(hash.len() >= 8, "{name} has a content hash");
            assert!(hex::encode(Sha256::digest(&raw)).starts_with(hash), "{name} is named by its SHA-256");
        }

        for (accept, encoding) in [(Some("br, gzip"), "br"), (Some("gzip"), "gzip"), (None, "")] {
            let mut headers = vec![(header::ORIGIN, "https://shop.example")];
            if let Some(accept) = accept {
                headers.push((header::ACCEPT_ENCODING, accept));
            }
            let r = get(&app, &name, &headers).await;
            assert_eq!(r.status(), StatusCode::OK, "{name} with {accept:?}");
            assert_eq!(header_of(&r, header::CONTENT_ENCODING), encoding, "{name} with {accept:?}");
            assert_eq!(header_of(&r, header::CONTENT_TYPE), kind, "{name} with {accept:?}");
            assert_eq!(header_of(&r, header::CACHE_CONTROL), cache, "{name}");
            assert_eq!(
                header_of(&r, header::ACCESS_CONTROL_ALLOW_ORIGIN),
                "*",
                "{name}: shops load it cross-origin"
            );
            let vary = header_of(&r, header::VARY).to_ascii_lowercase();
            assert!(vary.contains("accept-encoding"), "{name} with {accept:?}: Vary is {vary:?}");
            let body = r.bytes().await.unwrap();
            let mut decoded = Vec::new();
            match encoding {
                "br" => {
                    brotli_decompressor::Decompressor::new(&body[..], 4096)
                        .read_to_end(&mut decoded)
                        .unwrap();
                    assert!(body.len() < raw.len(), "{name}: brotli makes it smaller");
                }
                "gzip" => {
                    flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut decoded).unwrap();
                    assert!(body.len() < raw.len(), "{name}: gzip makes it smaller");
                }
                _ => decoded = body.to_vec(),
            }
            assert!(decoded == raw, "{name} with {accept:?}: the decoded body is the file");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revalidation_is_answered_304_and_an_unknown_name_is_not_cached() {
    let loader = built_loader();
    let app = TestApp::spawn().await;
    for name in std::iter::once("checkout.js".to_owned()).chain(named_by_loader(&loader)) {
        let first = get(&app, &name, &[(header::ACCEPT_ENCODING, "br, gzip")]).await;
        assert_eq!(first.status(), StatusCode::OK);
        let modified = header_of(&first, header::LAST_MODIFIED);
        assert!(!modified.is_empty(), "{name} has a Last-Modified");
        let again = get(
            &app,
            &name,
            &[(header::ACCEPT_ENCODING, "br, gzip"), (header::IF_MODIFIED_SINCE, &modified)],
        )
        .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{name}");
        assert!(!header_of(&again, header::CACHE_CONTROL).is_empty(), "{name}: the 304 keeps its cache time");
        assert!(again.bytes().await.unwrap().is_empty());
    }

    // A name of an older build: a 404 no browser keeps.
    let gone = get(&app, "widget_bg.00000000.wasm", &[(header::ACCEPT_ENCODING, "br, gzip")]).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&gone, header::CACHE_CONTROL), "");
}
