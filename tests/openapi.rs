//! The OpenAPI document at `/api/v1/openapi.json` against the router, on SQLite and
//! PostgreSQL: the (method, path) pairs it lists are exactly those the router serves under
//! `/api/v1`, each of them answers (401 without a token, never the router's 404), every
//! operation is complete (summary, responses, parameters, resolvable references); and the
//! interactive viewer at `/api/docs` is served with its vendored assets and fetches nothing
//! from another host.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{App, web};
use common::{Backend, TestApp};
use serde_json::Value;
use spotcheck::web::api::{PREFIX, ServedRoute, served_routes};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Routes that need no token.
const PUBLIC: [(&str, &str); 1] = [("GET", "/api/v1/openapi.json")];

/// The router's own table: the `/api/v1` scope configured exactly as `web::routes` does,
/// with the table of what was registered on it.
fn router_table() -> Vec<ServedRoute> {
    let mut table = Vec::new();
    let _app = App::new().service(web::scope(PREFIX).configure(|cfg| table = served_routes(cfg)));
    table
}

/// (method, path) of every operation in the document.
fn documented(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.push((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

async fn fetch_document(app: &TestApp) -> Value {
    let r = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the document is public");
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).expect("the document is valid JSON")
}

/// A value for a path parameter (any will do: without a token the answer is 401 first).
fn sample(param: &str) -> &'static str {
    match param {
        "username" => "nobody-here",
        "agency" => "nav",
        "orgnr" => "974760673",
        _ => "999999",
    }
}

fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(&rest[..start]);
        out.push_str(sample(&rest[start + 1..end]));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

async fn call(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    app.client
        .request(method, app.url(&fill(path)))
        .send()
        .await
        .unwrap()
}

async fn the_document_lists_every_route_the_router_serves(backend: Backend) {
    let app = TestApp::start(backend).await;
    let doc = fetch_document(&app).await;

    let table = router_table();
    let served: BTreeSet<(String, String)> =
        table.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    assert_eq!(
        served.len(),
        table.len(),
        "a route is registered twice: {table:?}"
    );
    assert!(served.len() >= 50, "the table looks empty: {served:?}");
    let listed = documented(&doc);
    let in_doc: BTreeSet<(String, String)> = listed.iter().cloned().collect();
    assert_eq!(in_doc.len(), listed.len());

    let undocumented: Vec<_> = served.difference(&in_doc).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    let not_served: Vec<_> = in_doc.difference(&served).collect();
    assert!(not_served.is_empty(), "documented but not served: {not_served:?}");

    // Every documented route answers on the running server; a route the router does not
    // serve would get its 404 (or 405 for a wrong method) instead.
    for (method, path) in &in_doc {
        let r = call(&app, method, path).await;
        let status = r.status().as_u16();
        if PUBLIC.contains(&(method.as_str(), path.as_str())) {
            assert_eq!(status, 200, "{method} {path}");
            continue;
        }
        assert_eq!(status, 401, "{method} {path} without a token");
        assert_eq!(r.headers()["www-authenticate"], "Bearer", "{method} {path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct, "application/problem+json", "{method} {path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["type"], "urn:spotcheck:problem:unauthenticated",
            "{method} {path}"
        );
    }

    // The probe tells a served route from one that is not: a path outside the table gets
    // the router's own 404, a wrong method on a served path is no 401 either.
    let r = call(&app, "GET", "/api/v1/no-such-resource").await;
    assert_eq!(r.status(), 404);
    let r = call(&app, "PATCH", "/api/v1/users").await;
    assert_ne!(r.status(), 401);
    assert!(!in_doc.contains(&("PATCH".to_owned(), "/api/v1/users".to_owned())));
    app.stop();
}

async fn an_error_has_the_documented_problem_shape(backend: Backend) {
    let app = TestApp::start(backend).await;
    let doc = fetch_document(&app).await;
    let problem = &doc["components"]["schemas"]["Problem"];
    let properties: BTreeSet<&str> = problem["properties"]
        .as_object()
        .expect("Problem has properties")
        .keys()
        .map(String::as_str)
        .collect();
    let required: BTreeSet<&str> = problem["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Real answers: 401, 404 (no route), 400 (a malformed id) and 422 (a refused field).
    let token = app.token_for("admin");
    let mut bodies: Vec<Value> = vec![
        call(&app, "GET", "/api/v1/me").await.json().await.unwrap(),
        app.api_get("/api/v1/imports/999999", &token)
            .await
            .json()
            .await
            .unwrap(),
        app.api_get("/api/v1/imports/not-a-number", &token)
            .await
            .json()
            .await
            .unwrap(),
    ];
    let r = app
        .client
        .post(app.url("/api/v1/liaisons"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Kari", "agency": "nav", "email": "not an address"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    bodies.push(r.json().await.unwrap());
    for body in bodies {
        let keys: BTreeSet<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(keys.is_subset(&properties), "{keys:?} not all in {properties:?}");
        assert!(required.is_subset(&keys), "{body}");
    }
    app.stop();
}

/// The members of `value` are those of the component schema `name` (shallow): nothing
/// undocumented, nothing required missing.
fn assert_fits(doc: &Value, name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][name];
    let properties: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{name} has no properties"))
        .keys()
        .map(String::as_str)
        .collect();
    let keys: BTreeSet<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(
        keys.is_subset(&properties),
        "{name}: {keys:?} not all in {properties:?}"
    );
    for required in schema["required"].as_array().into_iter().flatten() {
        assert!(
            keys.contains(required.as_str().unwrap()),
            "{name}: {required} missing in {value}"
        );
    }
}

async fn answers_fit_their_schemas(backend: Backend) {
    let app = TestApp::start(backend).await;
    let doc = fetch_document(&app).await;
    let admin = app.token_for("admin");
    app.add_user("kemner", spotcheck::domain::roles::Role::Kemner, None);
    let kemner = app.token_for("kemner");
    let me: Value = app.api_get("/api/v1/me", &admin).await.json().await.unwrap();
    assert_fits(&doc, "User", &me);
    let users: Vec<Value> = app.api_get("/api/v1/users", &admin).await.json().await.unwrap();
    assert_eq!(users.len(), 2);
    users.iter().for_each(|u| assert_fits(&doc, "User", u));
    let tokens: Vec<Value> = app
        .api_get("/api/v1/users/admin/tokens", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(!tokens.is_empty());
    tokens.iter().for_each(|t| assert_fits(&doc, "TokenInfo", t));
    let r = app
        .upload(
            &kemner,
            "register_nb.xlsx",
            common::fixture("import/register_nb.xlsx"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let report: Value = r.json().await.unwrap();
    assert_fits(&doc, "ImportReport", &report);
    let errors = report["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "the fixture has rejected rows");
    errors.iter().for_each(|e| assert_fits(&doc, "RowError", e));
    let page: Value = app
        .api_get("/api/v1/contracts", &kemner)
        .await
        .json()
        .await
        .unwrap();
    assert_fits(&doc, "ContractPage", &page);
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty());
    // A contract with its risk: the contract's members (flattened) and `risk`.
    let with_risk = &doc["components"]["schemas"]["ContractWithRisk"];
    assert!(
        with_risk.to_string().contains("#/components/schemas/Contract\""),
        "{with_risk}"
    );
    for item in items {
        let mut contract = item.clone();
        let risk = contract
            .as_object_mut()
            .unwrap()
            .remove("risk")
            .expect("risk member");
        assert_fits(&doc, "Contract", &contract);
        if !risk.is_null() {
            assert_fits(&doc, "RiskSummary", &risk);
        }
    }
    let cases: Value = app.api_get("/api/v1/cases", &kemner).await.json().await.unwrap();
    assert_fits(&doc, "CasePage", &cases);
    let audit: Value = app
        .api_get("/api/v1/audit/verify", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_fits(&doc, "AuditVerification", &audit);
    // The operation says which schema: GET /me answers a User.
    assert_eq!(
        doc["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/User"
    );
    app.stop();
}

async fn the_viewer_works_without_the_internet(backend: Backend) {
    let app = TestApp::start(backend).await;
    let r = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    for directive in csp.split(';') {
        let sources: Vec<&str> = directive.split_whitespace().skip(1).collect();
        for s in sources {
            assert!(
                ["'self'", "'none'", "data:"].contains(&s),
                "the viewer's policy allows more than this service: {s} in {csp}"
            );
        }
        let name = directive.split_whitespace().next().unwrap_or_default();
        assert!(
            ["default-src", "img-src", "frame-ancestors", "form-action"].contains(&name),
            "only images are widened, scripts and styles stay 'self': {csp}"
        );
    }
    let html = r.text().await.unwrap();
    assert_no_outside_url("the viewer page", &html);
    // No inline script: every <script> has a src and no content.
    for part in html.split("<script").skip(1) {
        let tag_end = part.find('>').unwrap();
        assert!(
            part[..tag_end].contains("src=\"/"),
            "inline script: <script{part}"
        );
        assert!(
            part[tag_end + 1..].starts_with("</script>"),
            "inline script: <script{part}"
        );
    }

    let mut assets: Vec<String> = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            assets.push(part[..part.find('"').unwrap()].to_owned());
        }
    }
    let expected: BTreeMap<&str, &str> = [
        (
            "/static/vendor/swagger-ui/swagger-ui-bundle.js",
            "text/javascript",
        ),
        ("/static/vendor/swagger-ui/swagger-ui.css", "text/css"),
        ("/static/api-docs.js", "text/javascript"),
    ]
    .into();
    for path in expected.keys() {
        assert!(
            assets.iter().any(|a| a == path),
            "{path} not on the page: {assets:?}"
        );
    }
    for asset in &assets {
        assert!(asset.starts_with('/') && !asset.starts_with("//"), "{asset}");
        let r = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        if let Some(want) = expected.get(asset.as_str()) {
            assert!(ct.starts_with(want), "{asset}: {ct}");
        }
        let bytes = r.bytes().await.unwrap();
        assert!(!bytes.is_empty(), "{asset}");
        if asset.starts_with("/static/vendor/") {
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&asset[1..]);
            assert!(
                bytes == std::fs::read(&file).unwrap(),
                "{asset} is the vendored file"
            );
        }
        if asset == "/static/api-docs.js" {
            let script = String::from_utf8(bytes.to_vec()).unwrap();
            assert_no_outside_url("the start script", &script);
            assert!(script.contains("url: \"/api/v1/openapi.json\""), "{script}");
            assert!(
                script.contains("validatorUrl: null"),
                "no outside validator: {script}"
            );
        }
    }
    app.stop();
}

/// No absolute http(s) URL: everything the page loads is root-relative, on this service.
fn assert_no_outside_url(what: &str, text: &str) {
    let lower = text.to_ascii_lowercase();
    for scheme in ["http://", "https://", "src=\"//", "href=\"//"] {
        assert!(
            !lower.contains(scheme),
            "{what} names an outside URL ({scheme}): {text}"
        );
    }
}

/// The document on its own: version, info, and every operation complete.
#[test]
fn every_operation_is_documented_completely() {
    let doc: Value = serde_json::from_str(spotcheck::web::api::openapi_json()).expect("valid JSON");
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(doc["info"]["title"], "spotcheck");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    let ops = operations(&doc);
    assert!(ops.len() >= 50, "{}", ops.len());
    for (method, path, op) in &ops {
        let at = format!("{method} {path}");
        assert!(path.starts_with("/api/v1/"), "{at}");
        let summary = op["summary"].as_str().unwrap_or_default();
        assert!(!summary.trim().is_empty(), "{at} has no summary");
        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{at} has no responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{at} has no success response"
        );
        let id = op["operationId"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "{at}: operationId {id} twice");
        let op_tags = op["tags"].as_array().unwrap();
        assert_eq!(op_tags.len(), 1, "{at}");
        assert!(
            tags.contains(op_tags[0].as_str().unwrap()),
            "{at}: undeclared tag"
        );

        // Path parameters: exactly those in the template, each required.
        let in_template: BTreeSet<String> = path
            .split('{')
            .skip(1)
            .map(|p| p[..p.find('}').unwrap()].to_owned())
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let declared: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{at}: {p}");
                assert!(
                    !p["description"].as_str().unwrap_or_default().is_empty(),
                    "{at}: {p}"
                );
                p["name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(in_template, declared, "{at}: path parameters");

        let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
        if public {
            assert_eq!(op["security"], serde_json::json!([{}]), "{at} is public");
        } else {
            assert!(op.get("security").is_none(), "{at} keeps the bearer requirement");
            for status in ["401", "403", "503"] {
                assert!(responses.contains_key(status), "{at} documents no {status}");
            }
        }
        if !in_template.is_empty() {
            assert!(responses.contains_key("404"), "{at} documents no 404");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{at} {status}"
                );
            }
        }
    }

    // Every reference resolves.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("not a local reference: {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref"
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_owned());
                }
                collect_refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

backend_tests!(
    the_document_lists_every_route_the_router_serves,
    an_error_has_the_documented_problem_shape,
    answers_fit_their_schemas,
    the_viewer_works_without_the_internet
);
