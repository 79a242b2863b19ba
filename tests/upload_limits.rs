//! Upload memory is bounded whatever a client sends (issue: "Upload memory is bounded"):
//! a forged browser upload is refused before its file is read, a declared body over the
//! limit before anything is read, a form with too many or too long text fields at the first
//! one over, and an xlsx whose sheet is mostly one huge run of white space before the XML
//! reader would hold it. The memory figures themselves come from `bench/upload_memory.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Backend, PASSWORD, TestApp, hidden_field};
use spotcheck::domain::roles::Role;

const BOUNDARY: &str = "spotcheckgrense";

/// Sends the request head and `body_start` over a raw socket, then stops sending (the
/// declared body is much longer) and returns the status the server answers with. A server
/// that waited for the rest of the body would time out here.
fn status_before_the_body_is_complete(addr: &str, head: &str, body_start: &[u8]) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body_start);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no answer before the body was complete: {e}"),
        }
    }
    let line = String::from_utf8_lossy(&got);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

fn part(name: &str, value: &str) -> String {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

fn file_part_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"register.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
}

fn head(app: &TestApp, path: &str, cookie: &str, length: u64) -> String {
    let host = app.base.trim_start_matches("http://");
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    actix_web::rt::task::spawn_blocking(f).await.unwrap()
}

/// A signed-in innkjøper: the session cookie and the upload form's token.
async fn innkjoper(app: &TestApp) -> (String, String) {
    app.add_user("per", Role::Innkjoper, None);
    let session = app.login("per", PASSWORD).await.unwrap();
    let page = app
        .get_with_session("/imports", &session)
        .await
        .text()
        .await
        .unwrap();
    (
        format!("spotcheck_session={session}"),
        hidden_field(&page, "csrf_token").unwrap(),
    )
}

async fn forged_upload_is_refused_before_the_file_is_read(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (cookie, token) = innkjoper(&app).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let filler = vec![b'x'; 64 * 1024];
    // A wrong token, then 64 KiB of a declared 40 MB file: 403 at once.
    let mut body = part("csrf_token", "forfalsket").into_bytes();
    body.extend_from_slice(file_part_head().as_bytes());
    body.extend_from_slice(&filler);
    let h = head(&app, "/imports", &cookie, 40_000_000);
    let (a, b) = (addr.clone(), body.clone());
    assert_eq!(
        blocking(move || status_before_the_body_is_complete(&a, &h, &b)).await,
        403
    );
    // The file before the token: refused too (the form sends the token first).
    let mut body = file_part_head().into_bytes();
    body.extend_from_slice(&filler);
    let h = head(&app, "/imports", &cookie, 40_000_000);
    let a = addr.clone();
    assert_eq!(
        blocking(move || status_before_the_body_is_complete(&a, &h, &body)).await,
        403
    );
    // A declared body over the limit: 413 before anything is read.
    let h = head(&app, "/imports", &cookie, 200 * 1024 * 1024);
    let body = part("csrf_token", &token).into_bytes();
    let a = addr.clone();
    assert_eq!(
        blocking(move || status_before_the_body_is_complete(&a, &h, &body)).await,
        413
    );
    assert_eq!(app.count("import_batches"), 0);

    // The real form, token first, still works.
    let csv = "Avtalenr;Leverandør;Org.nr;Startdato\nK-1;Rent AS;923609016;01.01.2025\n";
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("r.csv"),
        );
    let r = app
        .client
        .post(app.url("/imports"))
        .header("Cookie", &cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.count("contracts"), 1);
    app.stop();
}

async fn text_fields_are_counted_and_capped(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("per", Role::Innkjoper, None);
    let token = app.token_for("per");
    let csv = b"Avtalenr;Leverandor;Org.nr;Startdato\nK-1;Rent AS;923609016;01.01.2025\n".to_vec();
    // 17 small fields (nameless ones count too) before the file.
    let mut form = reqwest::multipart::Form::new();
    for i in 0..17 {
        form = form.text(
            if i % 2 == 0 {
                format!("f{i}")
            } else {
                String::new()
            },
            "x",
        );
    }
    let form = form.part(
        "file",
        reqwest::multipart::Part::bytes(csv.clone()).file_name("r.csv"),
    );
    let r = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("for mange felt"));
    // One field longer than 64 KiB.
    let long = "m".repeat(65 * 1024);
    let r = app
        .upload(&token, "r.csv", csv.clone(), &[("mapping", long.as_str())])
        .await;
    assert_eq!(r.status(), 400);
    // Two files.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.clone()).file_name("a.csv"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.clone()).file_name("b.csv"),
        );
    let r = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        app.count("import_batches"),
        0,
        "nothing stored for a refused form"
    );
    // Within the limits: stored.
    let r = app.upload(&token, "r.csv", csv, &[("dry_run", "false")]).await;
    assert_eq!(r.status(), 201);
    app.stop();
}

/// An xlsx whose sheet has `run` bytes of white space between the header row and the data.
fn whitespace_xlsx(run: usize) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let o = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Kontrakter" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, text) in parts {
        z.start_file(name, o).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    let cell = |r: &str, v: &str| format!(r#"<c r="{r}" t="inlineStr"><is><t>{v}</t></is></c>"#);
    z.start_file("xl/worksheets/sheet1.xml", o).unwrap();
    z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#).unwrap();
    z.write_all(
        format!(
            "<row r=\"1\">{}{}{}{}</row>",
            cell("A1", "Avtalenr"),
            cell("B1", "Leverandør"),
            cell("C1", "Org.nr"),
            cell("D1", "Startdato")
        )
        .as_bytes(),
    )
    .unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..run >> 20 {
        z.write_all(&spaces).unwrap();
    }
    z.write_all(
        format!(
            "<row r=\"2\">{}{}{}{}</row>",
            cell("A2", "K-1"),
            cell("B2", "Rent AS"),
            cell("C2", "923609016"),
            cell("D2", "01.01.2025")
        )
        .as_bytes(),
    )
    .unwrap();
    z.write_all(b"</sheetData></worksheet>").unwrap();
    z.finish().unwrap();
    out.into_inner()
}

async fn a_sheet_of_white_space_is_refused_before_it_is_held(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("per", Role::Innkjoper, None);
    let token = app.token_for("per");
    // 2 MiB of white space between two rows is odd but harmless: read.
    let r = app.upload(&token, "ok.xlsx", whitespace_xlsx(2 << 20), &[]).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // 8 MiB: over the 4 MiB bound on one run, refused with the reason.
    let bytes = whitespace_xlsx(8 << 20);
    assert!(bytes.len() < 64 * 1024, "a small file: {} bytes", bytes.len());
    let r = app.upload(&token, "tomrom.xlsx", bytes, &[]).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("uten et eneste skilletegn"), "{body}");
    assert_eq!(app.count("import_batches"), 1, "the refused file stored nothing");
    app.stop();
}

backend_tests!(
    forged_upload_is_refused_before_the_file_is_read,
    text_fields_are_counted_and_capped,
    a_sheet_of_white_space_is_refused_before_it_is_held,
);
