//! The one way an `/api/v1` route is served, and the OpenAPI document built from the same
//! registrations, so the two cannot drift.
//!
//! Every handler carries `#[utoipa::path(method, path = "…")]`; the macro generates a struct
//! `__path_<handler>` that knows the method, the path and the operation (parameters, body,
//! responses). [`Routes::add`] takes that struct and the handler and serves the handler at
//! exactly the method and path the annotation names, while recording the operation. The
//! document ([`openapi_json`]) is built by running the same registration without a router, so a
//! route that is served is documented, with the path it is served at. `tests/openapi.rs`
//! checks the router's table against the served document and calls every documented route.

use std::sync::OnceLock;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, web};
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::Tag;
use utoipa::openapi::{Components, Content, Info, License, OpenApi, Paths, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// Where the API is mounted (`web::routes`).
pub const PREFIX: &str = "/api/v1";

/// The name of the bearer-token security scheme in the document.
const BEARER: &str = "bearer";

/// One route the router serves: the method in capitals and the full path as actix
/// matches it (`/api/v1/cases/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServedRoute {
    pub method: String,
    pub path: String,
}

/// A feature's routes are one tag in the document.
pub struct Group {
    pub tag: &'static str,
    pub description: &'static str,
}

type Schemas = Vec<(String, RefOr<Schema>)>;

/// The registrar every API route goes through (see the module documentation).
pub struct Routes<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    group: Option<&'static Group>,
    groups: Vec<&'static Group>,
    served: Vec<ServedRoute>,
    paths: Paths,
    schemas: Schemas,
}

impl<'a> Routes<'a> {
    /// Serves what is registered on `cfg` (the `/api/v1` scope) and records it.
    pub fn serve(cfg: &'a mut web::ServiceConfig) -> Self {
        Self::with(Some(cfg))
    }

    /// Records what is registered without serving it (to build the document).
    pub fn document() -> Routes<'static> {
        Routes::with(None)
    }

    fn with(cfg: Option<&'a mut web::ServiceConfig>) -> Self {
        Routes {
            cfg,
            group: None,
            groups: Vec::new(),
            served: Vec::new(),
            paths: Paths::new(),
            schemas: Vec::new(),
        }
    }

    /// Registers a feature's routes under its tag.
    pub fn group(&mut self, group: &'static Group, register: fn(&mut Routes<'_>)) -> &mut Self {
        self.group = Some(group);
        self.groups.push(group);
        register(self);
        self.group = None;
        self
    }

    /// Serves `handler` at the method and path that its `#[utoipa::path]` names (`doc` is
    /// the `__path_<handler>` struct the macro generated for it) and documents it.
    ///
    /// `SchemaReferences` (the schemas an operation's bodies name) is utoipa's own trait for
    /// routers built from annotations, as utoipa-axum uses it; hence utoipa stays on 5.x.
    pub fn add<P, F, Args>(&mut self, _doc: P, handler: F) -> &mut Self
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let path = P::path();
        let methods = P::methods();
        let mut operation = P::operation();
        // The annotation belongs to this handler: utoipa names the operation after the
        // function it annotates, and a function's type name ends with its own name.
        let handler_name = std::any::type_name::<F>();
        let fn_name = operation.operation_id.clone().unwrap_or_default();
        debug_assert!(
            handler_name.ends_with(&format!("::{fn_name}")),
            "the annotation of `{fn_name}` was registered with the handler `{handler_name}`"
        );
        let tag = self.group.map_or("api", |g| g.tag);
        complete(&mut operation, &path, tag, &fn_name);
        for method in &methods {
            let method = actix_method(method);
            if let Some(cfg) = self.cfg.as_deref_mut() {
                cfg.route(&path, web::method(method.clone()).to(handler.clone()));
            }
            self.served.push(ServedRoute {
                method: method.as_str().to_owned(),
                path: format!("{PREFIX}{path}"),
            });
        }
        self.paths
            .add_path_operation(format!("{PREFIX}{path}"), methods, operation);
        P::schemas(&mut self.schemas);
        self
    }

    /// Every route registered so far.
    pub fn served(&self) -> &[ServedRoute] {
        &self.served
    }

    /// The OpenAPI document of what was registered.
    pub fn into_openapi(self) -> OpenApi {
        let mut components = Components::new();
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token: `spotcheck users token NAME` (CLI) or \
                         `POST /api/v1/users/{username}/tokens` (admin). Send \
                         `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components
            .schemas
            .insert(Problem::name().into_owned(), Problem::schema());
        for (name, schema) in self.schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        let mut info = Info::new("spotcheck", env!("CARGO_PKG_VERSION"));
        info.description = Some(
            "The JSON API of spotcheck: contract registers, risk scores, verifiable spot-check \
             draws and the cases the A-krim agencies review. Every route except this document \
             needs a bearer token; each checks the caller's role on the server (403 when the \
             role may not). Errors are `application/problem+json` (RFC 9457)."
                .into(),
        );
        info.license = Some(License::new("MIT"));
        let mut doc = OpenApi::new(info, self.paths);
        doc.components = Some(components);
        doc.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
        doc.tags = Some(
            self.groups
                .iter()
                .map(|g| {
                    let mut tag = Tag::new(g.tag);
                    tag.description = Some(g.description.to_owned());
                    tag
                })
                .collect(),
        );
        doc
    }
}

fn actix_method(m: &HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Adds what every operation of this API has in common, so the annotations state only what
/// is particular to a route: the tag, a unique operation id, problem+json bodies for the
/// errors, and the errors every route can answer (no or a bad token 401, a role that may not
/// 403, the database unreachable or busy 503, a malformed parameter or body 400, a missing
/// resource 404).
fn complete(op: &mut Operation, path: &str, tag: &str, fn_name: &str) {
    op.tags = Some(vec![tag.to_owned()]);
    op.operation_id = Some(format!("{tag}_{fn_name}"));
    for p in op.parameters.iter_mut().flatten() {
        if matches!(p.parameter_in, ParameterIn::Path) && p.description.is_none() {
            p.description = path_parameter(path, &p.name);
        }
    }
    let public = op
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path_param = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let mut common: Vec<(&str, &str)> = Vec::new();
    if !params.is_empty() || op.request_body.is_some() {
        common.push((
            "400",
            "A parameter or the body is malformed (the detail names it).",
        ));
    }
    if !public {
        common.push((
            "401",
            "No bearer token, or one that is unknown, expired or revoked.",
        ));
        common.push(("403", "The caller's role may not do this."));
        common.push((
            "503",
            "The database cannot be reached or is busy; try again after `Retry-After` seconds.",
        ));
    }
    if has_path_param {
        common.push((
            "404",
            "Nothing with this id, or nothing the caller may see (the same answer).",
        ));
    }
    for (status, description) in common {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    let problem = Content::new(Some(Ref::from_schema_name(Problem::name())));
    for (status, response) in op.responses.responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let RefOr::T(r) = response
            && is_error
            && r.content.is_empty()
        {
            r.content
                .insert("application/problem+json".to_owned(), problem.clone());
        }
    }
}

/// What a path parameter is, from the path segment before it: `/cases/{id}` is a case's id.
fn path_parameter(path: &str, name: &str) -> Option<String> {
    let placeholder = format!("{{{name}}}");
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| *s == placeholder)?;
    let what = match *segments.get(at.checked_sub(1)?)? {
        "users" => return Some("The user name.".into()),
        "shares" => {
            return Some(
                "An agency: `arbeidstilsynet`, `skatteetaten`, `politiet`, `nav` or `kemneren`.".into(),
            );
        }
        "outbox" => "message",
        "imports" => "import batch",
        "evidence" => "evidence file",
        "document-requests" => "document request",
        other => other.strip_suffix('s').unwrap_or(other),
    };
    Some(format!("The id of the {what}."))
}

/// An error as the API answers it (RFC 9457), as `web::error` writes it.
#[derive(serde::Serialize, ToSchema)]
#[allow(dead_code)]
struct Problem {
    /// `urn:spotcheck:problem:<kind>`, e.g. `urn:spotcheck:problem:forbidden`; stable,
    /// for programs.
    #[serde(rename = "type")]
    kind: String,
    /// A short English title of the kind.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What happened and what to do, in English.
    detail: String,
    /// A rule set that does not load (`invalid-rules`): every problem, with file and line.
    errors: Option<Vec<serde_json::Value>>,
    /// An `invalid-field` problem: the body member it is about.
    field: Option<String>,
}

/// The document of the whole API, built once.
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut routes = Routes::document();
        super::register(&mut routes);
        routes
            .into_openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"the document does not serialise: {e}\"}}"))
    })
}
