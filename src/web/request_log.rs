//! The request log: one span per request with its id, route, status and latency (logged when
//! it closes), like tracing-actix-web's default, except that the client address is the one
//! the service trusts ([`super::extract::client_ip`]), never a header anyone can write.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

pub struct RequestLog;

impl RootSpanBuilder for RequestLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let trusted = request
            .app_data::<actix_web::web::Data<super::AppState>>()
            .map(|s| s.settings.trusted_proxies.clone())
            .unwrap_or_default();
        let client_ip = super::extract::client_ip(
            request.peer_addr().map(|a| a.ip()),
            request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok()),
            &trusted,
        );
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "default".into()),
            http.target = %request.uri().path(),
            http.client_ip = %client_ip,
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        match outcome {
            Ok(response) => {
                span.record("http.status_code", response.status().as_u16());
                if let Some(error) = response.response().error() {
                    span.record("exception.message", tracing::field::display(error));
                }
            }
            Err(error) => {
                span.record(
                    "http.status_code",
                    error.as_response_error().status_code().as_u16(),
                );
                span.record("exception.message", tracing::field::display(error));
            }
        }
    }
}
