//! A browser-like client for the dashboard's HTML: one session cookie,
//! forms posted as a browser posts them (with the CSRF token the page
//! carried), redirects not followed so tests see them.

use certsentry_domain::people::password::hash_password;
use certsentry_domain::people::{Role, User};
use certsentry_domain::{OrgId, UserId};
use certsentry_store::Store;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|l| l.to_str().ok())
    }

    /// The first form's CSRF token.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf_token in {}", self.body))
            + marker.len();
        self.body[start..start + self.body[start..].find('"').unwrap()].to_string()
    }

    /// The value of the first input whose value starts with `prefix`.
    pub fn value_starting(&self, prefix: &str) -> Option<String> {
        let marker = format!("value=\"{prefix}");
        let start = self.body.find(&marker)? + "value=\"".len();
        Some(self.body[start..start + self.body[start..].find('"')?].to_string())
    }
}

pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

pub const SESSION_COOKIE: &str = "certsentry_session";

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    /// The session cookie's value (the session id), if any.
    pub fn session_id(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, format!("{SESSION_COOKIE}={cookie}")),
            None => request,
        };
        let response = request.send().await.unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            if let Some(rest) = set.strip_prefix(&format!("{SESSION_COOKIE}=")) {
                let value = rest.split(';').next().unwrap();
                self.cookie =
                    (!value.is_empty() && !set.contains("Max-Age=0")).then(|| value.to_string());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    /// A GET with extra headers.
    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Posts `fields` as a form, with extra headers.
    pub async fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Posts a file as a browser's `multipart/form-data` form does.
    pub async fn post_file(&mut self, path: &str, field: &str, name: &str, bytes: &[u8]) -> Page {
        let boundary = "----certsentry-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = self
            .client
            .post(self.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(path, fields, &[]).await
    }

    /// Opens `/login` and signs in; asserts it worked.
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let page = self.sign_in_answer(email, password).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), Some("/"));
    }

    pub async fn sign_in_answer(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.csrf();
        self.post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }
}

/// A user with `password` who is `role` of `org`, made in the store.
pub async fn add_user(
    store: &dyn Store,
    org: &OrgId,
    email: &str,
    password: &str,
    role: Role,
) -> UserId {
    let mut user = User::new(email);
    user.password_hash = Some(hash_password(password));
    store
        .create_user(&user, Some((org, role)), None)
        .await
        .unwrap();
    user.id
}

/// A browser signed in as a new user with `role` in the harness's
/// organization.
pub async fn signed_in_as(h: &super::Harness, email: &str, role: Role) -> Browser {
    add_user(&*h.store, &h.org, email, "a password 1", role).await;
    let mut browser = Browser::new(&h.server.url(""));
    browser.sign_in(email, "a password 1").await;
    browser
}
