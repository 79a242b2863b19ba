//! The interactive view of the API document at `/api/docs`: Swagger UI, vendored under
//! `static/vendor/swagger-ui/` (version and hashes in its README) and served from the
//! binary, so it works with no internet. Public like the document it shows.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// The viewer page and its assets (outside `/api/v1`: they are not part of the API).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/docs", web::get().to(page))
        .route("/static/api-docs.js", web::get().to(init_script))
        .route(
            "/static/vendor/swagger-ui/swagger-ui-bundle.js",
            web::get().to(bundle),
        )
        .route(
            "/static/vendor/swagger-ui/swagger-ui.css",
            web::get().to(stylesheet),
        );
}

/// The service's policy (`default-src 'self'`, see `web::server`) with one addition for this
/// page only: `img-src data:`, because Swagger UI's stylesheet and code draw their icons as
/// `data:` SVG images (without it the browser refuses them and logs a violation). A data URL
/// fetches nothing, so nothing comes in from outside; scripts and styles stay `'self'` (the
/// start script is a file, no inline script), checked in a real browser by
/// `tests/e2e/api-docs.test.mjs`.
const VIEWER_CSP: &str =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, VIEWER_CSP))
        .body(include_str!("../../../static/api-docs.html"))
}

async fn init_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../../../static/api-docs.js"))
}

async fn bundle() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "max-age=86400"))
        .body(&include_bytes!("../../../static/vendor/swagger-ui/swagger-ui-bundle.js")[..])
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "max-age=86400"))
        .body(&include_bytes!("../../../static/vendor/swagger-ui/swagger-ui.css")[..])
}
