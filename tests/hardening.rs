//! Issue 16, "close the holes found by trying to break the service", over the real HTTP
//! stack on SQLite and PostgreSQL: a condition nested 20 000 levels deep is a rule error
//! (not a stack overflow that aborts the process), paging out of range is a 400 (not a
//! wrapped offset), the last administrator stays, and only A-krim partners have an agency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, PASSWORD, TestApp};
use spotcheck::domain::roles::Role;

fn shipped_rule_files() -> Vec<serde_json::Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<serde_json::Value> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            serde_json::json!({
                "name": p.file_name().unwrap().to_string_lossy(),
                "text": std::fs::read_to_string(&p).unwrap(),
            })
        })
        .collect();
    files.sort_by_key(|f| f["name"].as_str().unwrap().to_owned());
    files
}

async fn deeply_nested_condition_is_a_rule_error_and_the_server_lives(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let token = app.token_for("kem");
    // One comparison inside 20 000 parentheses, on line 8 of its own file.
    let n = 20_000;
    let text = format!(
        "# Et vilkår som prøver å velte tjenesten.\n\
         [[indicator]]\n\
         id = \"dyp\"\n\
         title = \"Dyp\"\n\
         weight = 1\n\
         why = \"x\"\n\
         source = \"x\"\n\
         condition = '''{}contract.value_nok > 1{}'''\n",
        "(".repeat(n),
        ")".repeat(n)
    );
    assert!(text.len() > 40_000);
    let mut files = shipped_rule_files();
    files.push(serde_json::json!({"name": "zz_dyp.toml", "text": text}));
    let r = app
        .client
        .post(app.url("/api/v1/rules/validate"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "files": files }))
        .send()
        .await
        .expect("the server answers instead of aborting");
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["type"], "urn:spotcheck:problem:invalid-rules");
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{p}");
    assert_eq!(errors[0]["file"], "zz_dyp.toml");
    assert_eq!(errors[0]["line"], 8);
    assert_eq!(errors[0]["rule"], "dyp");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("nøstet for dypt"), "{message}");
    assert!(message.contains("64"), "{message}");

    // The same through PUT /rules: refused, the active set stays.
    let before: serde_json::Value = app.api_get("/api/v1/rules", &token).await.json().await.unwrap();
    let r = app
        .client
        .put(app.url("/api/v1/rules"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "files": files }))
        .send()
        .await
        .expect("the server answers instead of aborting");
    assert_eq!(r.status(), 422);
    let after: serde_json::Value = app.api_get("/api/v1/rules", &token).await.json().await.unwrap();
    assert_eq!(before["version"], after["version"]);

    // And it is still there.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.stop();
}

async fn deeply_nested_toml_is_a_rule_error(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let token = app.token_for("kem");
    let n = 20_000;
    let keys = vec!["a"; n].join(".");
    for text in [
        format!("\n[[indicator]]\nid = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        format!(
            "\n[[indicator]]\nid = {}1{}\n",
            "{ a = ".repeat(n),
            " }".repeat(n)
        ),
        format!("\n[{keys}]\nb = 1\n"),
    ] {
        let mut files = shipped_rule_files();
        files.push(serde_json::json!({"name": "zz_dyp.toml", "text": text}));
        let r = app
            .client
            .post(app.url("/api/v1/rules/validate"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "files": files }))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(r.status(), 422);
        let p: serde_json::Value = r.json().await.unwrap();
        let errors = p["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["file"] == "zz_dyp.toml"
                    && e["message"].as_str().unwrap().contains("nøstet for dypt")),
            "{p}"
        );
    }
    assert_eq!(
        app.client.get(app.url("/healthz")).send().await.unwrap().status(),
        200
    );
    app.stop();
}

async fn paging_out_of_range_is_a_bad_request(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let token = app.token_for("kem");
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    for query in [
        format!("page={max}"),
        format!("page={max}&per_page={max}"),
        format!("per_page={max}"),
        format!("page={min}"),
        "page=0".into(),
        "page=-1".into(),
        "per_page=0".into(),
        "per_page=-100".into(),
        "per_page=501".into(),
        "page=1000001".into(),
        "page=92233720368547758&per_page=100".into(),
    ] {
        for path in ["/api/v1/contracts", "/api/v1/suppliers"] {
            let r = app.api_get(&format!("{path}?{query}"), &token).await;
            assert_eq!(r.status(), 400, "{path}?{query}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let p: serde_json::Value = r.json().await.unwrap();
            assert_eq!(p["type"], "urn:spotcheck:problem:bad-request");
            let detail = p["detail"].as_str().unwrap();
            assert!(detail.contains("out of range"), "{path}?{query}: {detail}");
        }
    }
    // In range is fine, also far past the last page (an empty page, not an error).
    for query in [
        "",
        "page=1",
        "page=2&per_page=500",
        "page=1000000&per_page=500",
        "per_page=1",
    ] {
        let r = app.api_get(&format!("/api/v1/contracts?{query}"), &token).await;
        assert_eq!(r.status(), 200, "{query}");
        let page: serde_json::Value = r.json().await.unwrap();
        assert_eq!(page["items"], serde_json::json!([]), "{query}");
        let r = app.api_get(&format!("/api/v1/suppliers?{query}"), &token).await;
        assert_eq!(r.status(), 200, "{query}");
    }

    // The contracts page answers with the Norwegian error page.
    let session = app.login("kem", PASSWORD).await.unwrap();
    for query in [
        format!("page={max}"),
        "page=0".into(),
        "page=-3".into(),
        format!("page={min}"),
    ] {
        let r = app
            .get_with_session(&format!("/contracts?{query}"), &session)
            .await;
        assert_eq!(r.status(), 400, "{query}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = r.text().await.unwrap();
        assert!(body.contains("ugyldig sidenummer"), "{query}: {body}");
    }
    let r = app.get_with_session("/contracts?page=2", &session).await;
    assert_eq!(r.status(), 200);
    app.stop();
}

backend_tests!(
    deeply_nested_condition_is_a_rule_error_and_the_server_lives,
    deeply_nested_toml_is_a_rule_error,
    paging_out_of_range_is_a_bad_request,
);
