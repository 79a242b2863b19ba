//! The interactive view of the API document at `/api/docs`: Swagger UI, vendored under
//! `static/vendor/swagger-ui/` (version and hashes in its README) and served from the
//! binary, so it works with no internet. Public like the document it shows.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// The viewer page and its assets (outside `/api/v1`: they are not part of the API).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/docs", web::get().to(page))
        .route("/static/api-docs.js", web::get().to(init_script))
        .route("/static/vendor/swagger-ui/swagger-ui-bundle.js", web::get().to(bundle))
        .route("/static/vendor/swagger-ui/swagger-ui.css", web::get().to(stylesheet));
}

/// The service's policy (`default-src 'self'`, see `web::server`) with two additions for this
/// page only. `img-src data:`: Swagger UI's stylesheet draws an icon as a `data:` SVG and
/// its code renders small inline images the same way; a data URL fetches nothing. `style-src
/// 'unsafe-inline'`: its React components write `style` attributes into the markup, which
/// `'self'` alone refuses and which leaves parts of the view unstyled. The page shows only
/// the document the service itself generates, and scripts stay `'self'` (no inline script:
/// the start script is a file), so neither addition lets anything in from outside.
const VIEWER_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                          frame-ancestors 'none'; form-action 'self'";

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
