//! A signed-in browser for the page tests: the session cookie and that session's form token.

use super::{TestApp, hidden_field};

pub struct Browser<'a> {
    app: &'a TestApp,
    pub session: String,
    pub csrf: String,
}

impl<'a> Browser<'a> {
    /// Signs `user` in through the login form and reads the session's form token from the
    /// menu's logout form; panics with the status when the sign-in is refused.
    pub async fn sign_in(app: &'a TestApp, user: &str, password: &str) -> Browser<'a> {
        let session = app
            .login(user, password)
            .await
            .unwrap_or_else(|r| panic!("{user} cannot sign in: {}", r.status()));
        let home = app.get_with_session("/", &session).await.text().await.unwrap();
        let csrf = hidden_field(&home, "csrf_token").expect("the menu's logout form has the token");
        Browser { app, session, csrf }
    }

    /// The status and body of page `path`.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self.app.get_with_session(path, &self.session).await;
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// Posts a form with this session's token (first) and `fields`.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly `form` (no token added: a test of the token itself, or a form that
    /// carries its own).
    pub async fn post_raw<F: serde::Serialize + ?Sized>(&self, path: &str, form: &F) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(path))
            .header("Cookie", format!("spotcheck_session={}", self.session))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}
