//! The OpenAPI 3.1 description of the merchant and public APIs, generated from the code with
//! `utoipa` (the handlers' `#[utoipa::path]` attributes and `shared::api`'s schemas) and served
//! at `GET /openapi.json`.
//!
//! The same document is committed as `server/openapi.json`; a test fails when the code and the
//! file differ (`UPDATE_OPENAPI=1 cargo test -p verifier --lib openapi` rewrites the file), and
//! another when a route of the merchant or public router has no operation in the document.
//! `cargo xtask schemathesis` runs schemathesis against a live verifier with this document.

use std::sync::LazyLock;

use axum::{http::header, response::IntoResponse};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, HttpMethod, RefOr, ResponseBuilder,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{merchant, public};

/// The document's generator.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Checkout verifier API",
        description = "The merchant API (the merchant's secret key) and the public API the widget \
                       uses (a checkout's client secret). Amounts are integers in the currency's \
                       minor units. Every error has the body `{\"error\": {\"code\", \"message\", \
                       \"field\"?, \"payment_error\"?}}`."
    ),
    paths(
        merchant::create,
        merchant::list,
        merchant::read,
        merchant::cancel,
        merchant::read_refund,
        merchant::history,
        merchant::create_refund,
        merchant::list_refunds,
        merchant::list_events,
        merchant::redeliver,
        public::read,
        public::pay,
        public::cancel,
        public::events,
        public::qr_svg,
    ),
    components(schemas(shared::api::ApiError)),
    modifiers(&Security, &Errors),
    tags(
        (name = "merchant", description = "For the merchant's backend: `Authorization: Bearer <merchant key>`."),
        (name = "public", description = "For the widget: the checkout's client secret."),
    )
)]
pub struct ApiDoc;

/// One event of `GET /v1/public/checkouts/{id}/events` (`text/event-stream`): in OpenAPI 3.1 a
/// stream's schema describes each of its events. Documentation only: the handler writes the
/// events with axum's `Sse`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StatusEvent {
    /// The event's name.
    pub event: StatusEventName,
    /// The checkout as `GET /v1/public/checkouts/{id}` returns it (`PublicCheckout`), as JSON.
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

/// The name of every event of the status stream.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusEventName {
    /// The checkout's state, first as read when the stream opens, then after each change.
    Status,
}

/// The document as served and committed: pretty JSON with a final newline.
pub fn document() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// `GET /openapi.json`.
pub async fn serve() -> impl IntoResponse {
    static DOC: LazyLock<String> = LazyLock::new(document);
    ([(header::CONTENT_TYPE, "application/json")], DOC.as_str())
}

/// The security schemes, as the routers check them (`routes::MerchantAuth`,
/// `routes::public::ClientSecret`).
#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "merchant_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The merchant's secret key (`mk_test_…` or `mk_live_…`)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_secret",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The checkout's client secret, returned by its create call."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_secret_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "client_secret",
                "The client secret as a query parameter, for `EventSource`, which cannot send headers.",
            ))),
        );
    }
}

/// The error answers (body `ApiError`) each operation can give, added to every operation.
#[derive(Debug)]
struct Errors;

impl Errors {
    /// `(status, description, applies to POSTs only, applies to the public API only)`.
    const ALL: [(&'static str, &'static str, bool, bool); 8] = [
        ("400", "The body or a parameter is malformed or invalid (`invalid_request`).", false, false),
        (
            "401",
            "Missing or wrong merchant key or client secret (`unauthorized`), or a client secret \
             whose checkout ended over an hour ago (`client_secret_expired`).",
            false,
            false,
        ),
        ("404", "No such checkout, refund, event or attempt (`not_found`).", false, false),
        (
            "409",
            "The checkout's state forbids it (`conflict`), it belongs to the other mode \
             (`livemode_mismatch`), or its `Idempotency-Key` is in use or was interrupted.",
            true,
            false,
        ),
        (
            "422",
            "Refused: a phone number (`invalid_phone_number`), a method not offered \
             (`method_unavailable`), the provider (`payment_failed`), a refund \
             (`refund_not_allowed`), a limit of the checkout reached (`too_many_attempts`) or an \
             `Idempotency-Key` reused with another body.",
            true,
            false,
        ),
        (
            "429",
            "Too many requests from this address, with this client secret or to this phone number \
             (`rate_limited`): retry after the `Retry-After` header's seconds.",
            false,
            true,
        ),
        ("500", "Our fault; the body says nothing of the cause (`internal`).", false, false),
        (
            "503",
            "Busy: too many requests at once, a request over its time or, for the status stream, \
             too many streams (`unavailable`); nothing was done: retry after `Retry-After`.",
            false,
            false,
        ),
    ];
}

impl Modify for Errors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = path.starts_with("/v1/public/");
            let operations = [(HttpMethod::Get, item.get.as_mut()), (HttpMethod::Post, item.post.as_mut())];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                for (status, description, post_only, public_only) in Errors::ALL {
                    if (post_only && method != HttpMethod::Post) || (public_only && !public) {
                        continue;
                    }
                    let response = ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ApiError"))))
                                .build(),
                        )
                        .build();
                    operation.responses.responses.entry(status.to_owned()).or_insert(RefOr::T(response));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use syn::visit::Visit;

    use super::*;

    fn committed_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
    }

    #[test]
    fn the_committed_openapi_json_is_what_the_code_generates() {
        let generated = document();
        let path = committed_path();
        if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
            std::fs::write(&path, &generated).expect("server/openapi.json is writable");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "server/openapi.json differs from what the code generates: an API change without its \
             document. Run `UPDATE_OPENAPI=1 cargo test -p verifier --lib openapi` and commit the file."
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_error_body_everywhere() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                for status in ["400", "401", "404", "500"] {
                    assert_eq!(
                        op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ApiError",
                        "{method} {path} {status}"
                    );
                }
                assert!(!op["security"].as_array().unwrap().is_empty(), "{method} {path} has no security");
            }
        }
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["merchant_key"]["scheme"], "bearer");
        assert_eq!(schemes["client_secret_query"]["in"], "query");
        assert_eq!(schemes["client_secret_query"]["name"], "client_secret");
        let sse = &paths["/v1/public/checkouts/{id}/events"]["get"]["responses"]["200"]["content"];
        assert_eq!(sse["text/event-stream"]["schema"]["$ref"], "#/components/schemas/StatusEvent", "{sse}");
        // The documented amount range is the one `Money::new` accepts.
        let amount = &doc["components"]["schemas"]["CreateCheckout"]["properties"]["amount"];
        assert_eq!(amount["maximum"], shared::money::MAX_MINOR, "{amount}");
        assert_eq!(amount["minimum"], 1, "{amount}");
        let key = &paths["/v1/checkouts"]["post"]["parameters"][0];
        assert_eq!(key["name"], "Idempotency-Key");
        assert_eq!(key["schema"]["maxLength"], crate::idempotency::MAX_KEY_LEN, "{key}");
    }

    /// The `(METHOD, path)` pairs of every `.route(path, get(…).post(…))` call in a router's
    /// source.
    fn routes_in_source(source: &str) -> BTreeSet<(String, String)> {
        const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];
        #[derive(Default)]
        struct Methods(Vec<String>);
        impl<'a> Visit<'a> for Methods {
            fn visit_expr_call(&mut self, call: &'a syn::ExprCall) {
                if let syn::Expr::Path(p) = &*call.func
                    && let Some(ident) = p.path.get_ident()
                    && METHODS.contains(&ident.to_string().as_str())
                {
                    self.0.push(ident.to_string());
                }
                syn::visit::visit_expr_call(self, call);
            }
            fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
                if METHODS.contains(&call.method.to_string().as_str()) {
                    self.0.push(call.method.to_string());
                }
                syn::visit::visit_expr_method_call(self, call);
            }
        }
        #[derive(Default)]
        struct Routes(BTreeSet<(String, String)>);
        impl<'a> Visit<'a> for Routes {
            fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
                if call.method == "route"
                    && let (Some(syn::Expr::Lit(lit)), Some(handlers)) = (call.args.first(), call.args.get(1))
                    && let syn::Lit::Str(path) = &lit.lit
                {
                    let mut methods = Methods::default();
                    methods.visit_expr(handlers);
                    for m in methods.0 {
                        self.0.insert((m, path.value()));
                    }
                }
                syn::visit::visit_expr_method_call(self, call);
            }
        }
        let file = syn::parse_file(source).expect("the router's source parses");
        let mut routes = Routes::default();
        routes.visit_file(&file);
        routes.0
    }

    #[test]
    fn every_route_of_the_merchant_and_public_routers_is_documented() {
        let mut routed = routes_in_source(include_str!("merchant.rs"));
        routed.extend(routes_in_source(include_str!("public.rs")));
        // The reader sees what it should: both routers' routes, chained methods included.
        assert!(routed.contains(&("get".to_owned(), "/v1/checkouts/{id}/refunds".to_owned())), "{routed:?}");
        assert!(
            routed.contains(&("post".to_owned(), "/v1/public/checkouts/{id}/pay".to_owned())),
            "{routed:?}"
        );
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(move |method| (method.clone(), path.clone()))
            })
            .collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        assert!(undocumented.is_empty(), "routes without an operation in the document: {undocumented:?}");
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(unrouted.is_empty(), "documented operations no router serves: {unrouted:?}");
    }

    #[test]
    fn the_route_reader_sees_every_method_of_a_route() {
        let source = r#"fn r() -> Router { Router::new()
            .route("/a/{id}", get(x).post(y).layer(DefaultBodyLimit::max(4)))
            .route("/b", delete(z)) }"#;
        let routes = routes_in_source(source);
        let expect: BTreeSet<(String, String)> = [("get", "/a/{id}"), ("post", "/a/{id}"), ("delete", "/b")]
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect();
        assert_eq!(routes, expect);
    }
}
