//! Server-side sessions end to end: the article's `express-session` routes and the attacks
//! on them, through a real actix-web server on 127.0.0.1 and a client that keeps its
//! cookies by hand (so every `Set-Cookie` attribute can be checked).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use actix_web::{App, HttpResponse, web};
use auth_actix::session::{
    CookieKey, CookieKeys, MemoryStore, Session, SessionManager, SessionManagerBuilder,
    SessionMiddleware, SessionStore,
};
use auth_actix::{AuthError, Authenticated};
use auth_core::{ManualClock, async_trait};
use auth_session::{SessionHash, SessionInfo, SessionRecord, SessionUpdate, StoreError};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MINUTE: Duration = Duration::from_secs(60);

fn key(byte: u8) -> CookieKey {
    CookieKey::from_bytes(&[byte; 64]).unwrap()
}

/// The app under test: the article's two routes, login, logout and a few routes to attack.
struct Server {
    app: TestApp,
    clock: ManualClock,
}

fn manager(
    store: Arc<dyn SessionStore>,
    keys: CookieKeys,
    clock: &ManualClock,
    configure: impl FnOnce(SessionManagerBuilder) -> SessionManagerBuilder,
) -> SessionManager {
    configure(SessionManager::builder(store, keys).clock(clock.shared()))
        .build()
        .unwrap()
}

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

fn server() -> Server {
    server_with(|b| b)
}

fn server_with(configure: impl FnOnce(SessionManagerBuilder) -> SessionManagerBuilder) -> Server {
    let clock = clock();
    let store = Arc::new(MemoryStore::new(clock.shared()));
    let manager = manager(store, CookieKeys::new(key(1)), &clock, configure);
    Server {
        app: spawn(manager),
        clock,
    }
}

/// Lets two requests meet: each waits until both have arrived (no sleeping).
#[derive(Default)]
struct Gate(AtomicUsize);

impl Gate {
    async fn meet(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        while !self.0.load(Ordering::SeqCst).is_multiple_of(2) {
            actix_web::rt::task::yield_now().await;
        }
    }
}

fn spawn(manager: SessionManager) -> TestApp {
    let sessions = SessionMiddleware::new(manager);
    let login_sessions = sessions.clone().csrf_origin_checks_only();
    let gate = web::Data::new(Gate::default());
    TestApp::spawn(move || {
        App::new()
            .app_data(gate.clone())
            .service(
                web::resource("/login")
                    .wrap(login_sessions.clone())
                    .route(web::post().to(login)),
            )
            .service(
                web::scope("")
                    .wrap(sessions.clone())
                    // The article's routes.
                    .route("/start", web::get().to(start))
                    .route("/protected", web::get().to(protected))
                    .route("/logout", web::post().to(logout))
                    .route("/logout-everywhere", web::post().to(logout_everywhere))
                    .route("/transfer", web::post().to(transfer))
                    .route("/visit", web::get().to(visit))
                    .route("/set/{key}/{value}", web::get().to(set))
                    .route("/get/{key}", web::get().to(get)),
            )
    })
}

async fn start(session: Session) -> HttpResponse {
    session.login("123");
    HttpResponse::Ok().body("Session established.")
}

async fn protected(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().body(format!("Hello user {}", user.subject()))
}

async fn login(session: Session, body: web::Json<Value>) -> Result<HttpResponse, AuthError> {
    if body["password"] != "correct horse" {
        return Ok(HttpResponse::Unauthorized().finish());
    }
    session.login(body["username"].as_str().unwrap_or_default());
    Ok(HttpResponse::Ok().json(json!({"csrf_token": session.csrf_token()?})))
}

async fn logout(_user: Authenticated, session: Session) -> HttpResponse {
    session.logout();
    HttpResponse::Ok().body("bye")
}

async fn logout_everywhere(_user: Authenticated, session: Session) -> HttpResponse {
    session.logout_everywhere();
    HttpResponse::Ok().body("bye everywhere")
}

async fn transfer(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().body(format!("transferred for {}", user.subject()))
}

async fn visit(session: Session) -> Result<HttpResponse, AuthError> {
    let visits: u32 = session.get("visits")?.unwrap_or(0) + 1;
    session.insert("visits", &visits)?;
    Ok(HttpResponse::Ok().body(visits.to_string()))
}

async fn set(
    session: Session,
    path: web::Path<(String, String)>,
    gate: web::Data<Gate>,
) -> Result<HttpResponse, AuthError> {
    let (key, value) = path.into_inner();
    // Both requests have loaded the session before either changes it.
    gate.meet().await;
    session.insert(&key, &value)?;
    Ok(HttpResponse::Ok().finish())
}

async fn get(session: Session, key: web::Path<String>) -> Result<HttpResponse, AuthError> {
    let value: Option<String> = session.get(&key)?;
    Ok(HttpResponse::Ok().body(value.unwrap_or_default()))
}

/// A client that keeps cookies the way a browser does, by hand: it stores each
/// `Set-Cookie`, drops removed ones, and sends the rest back.
#[derive(Debug, Clone, Default)]
struct Browser {
    cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` of the last response, verbatim.
    last_set_cookie: Vec<String>,
}

impl Browser {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let request = match self.cookie_header() {
            Some(cookie) => request.header("Cookie", cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        self.last_set_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for set_cookie in self.last_set_cookie.clone() {
            let pair = set_cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = set_cookie.contains("Max-Age=0");
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn session_cookie(&self) -> Option<&str> {
        self.cookies.get("__Host-id").map(String::as_str)
    }

    async fn login(&mut self, app: &TestApp, user: &str) -> String {
        let response = self
            .send(
                app.post("/login")
                    .json(&json!({"username": user, "password": "correct horse"})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn status(&mut self, request: reqwest::RequestBuilder) -> StatusCode {
        self.send(request).await.status()
    }
}

#[actix_web::test]
async fn the_articles_routes_work_with_a_cookie_keeping_client() {
    let server = server();
    let app = &server.app;
    let mut browser = Browser::default();

    let response = browser.send(app.get("/protected")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Cookie realm="app""#
    );

    let response = browser.send(app.get("/start")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.text().await.unwrap(), "Session established.");
    assert!(browser.session_cookie().is_some());

    let response = browser.send(app.get("/protected")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "Hello user 123");
    assert!(
        browser.last_set_cookie.is_empty(),
        "an unchanged session sends no cookie"
    );
}

#[actix_web::test]
async fn attack_the_cookie_is_host_prefixed_secure_httponly_root_lax_and_domainless() {
    let server = server();
    let mut browser = Browser::default();
    browser.send(server.app.get("/start")).await;
    let [set_cookie] = browser.last_set_cookie.as_slice() else {
        panic!("one Set-Cookie expected: {:?}", browser.last_set_cookie);
    };
    assert!(set_cookie.starts_with("__Host-id="), "{set_cookie}");
    let attributes: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for expected in ["secure", "httponly", "path=/", "samesite=lax"] {
        assert!(attributes.iter().any(|a| a == expected), "{set_cookie}");
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{set_cookie}"
    );
    assert!(set_cookie.len() <= 4096);
}

#[actix_web::test]
async fn attack_a_session_id_from_before_login_is_not_kept_after_it() {
    let server = server();
    let app = &server.app;
    let mut victim = Browser::default();
    assert_eq!(
        victim.send(app.get("/visit")).await.status(),
        StatusCode::OK
    );
    let planted = victim.clone();
    let before = victim.session_cookie().unwrap().to_owned();

    victim.login(app, "victim").await;
    let after = victim.session_cookie().unwrap().to_owned();
    assert_ne!(after, before);

    let mut attacker = planted;
    assert_eq!(
        attacker.status(app.get("/protected")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(victim.status(app.get("/protected")).await, StatusCode::OK);
    let visits = victim.send(app.get("/visit")).await.text().await.unwrap();
    assert_eq!(visits, "2", "the anonymous data came along");
}

#[actix_web::test]
async fn attack_the_cookie_replayed_after_logout_gets_401() {
    let server = server();
    let app = &server.app;
    let mut browser = Browser::default();
    let token = browser.login(app, "alice").await;
    let mut replay = browser.clone();

    let response = browser
        .send(app.post("/logout").header("X-CSRF-Token", &token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(browser.last_set_cookie[0].contains("Max-Age=0"));
    assert_eq!(browser.session_cookie(), None);

    assert_eq!(
        replay.status(app.get("/protected")).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        replay.last_set_cookie[0].contains("Max-Age=0"),
        "the dead cookie is removed"
    );
}

#[actix_web::test]
async fn attack_idle_and_absolute_timeouts_both_end_a_session() {
    let server = server();
    let app = &server.app;

    let mut idle = Browser::default();
    idle.login(app, "idle").await;
    server.clock.advance(29 * MINUTE);
    assert_eq!(idle.status(app.get("/protected")).await, StatusCode::OK);
    server.clock.advance(30 * MINUTE);
    assert_eq!(
        idle.status(app.get("/protected")).await,
        StatusCode::UNAUTHORIZED
    );

    let mut busy = Browser::default();
    busy.login(app, "busy").await;
    for _ in 0..28 {
        server.clock.advance(25 * MINUTE);
        assert_eq!(busy.status(app.get("/protected")).await, StatusCode::OK);
    }
    // 11 h 40 min of activity; at 12 h the absolute timeout ends it however active.
    server.clock.advance(20 * MINUTE);
    assert_eq!(
        busy.status(app.get("/protected")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn log_out_everywhere_ends_the_users_other_sessions() {
    let server = server();
    let app = &server.app;
    let mut laptop = Browser::default();
    let token = laptop.login(app, "alice").await;
    let mut phone = Browser::default();
    phone.login(app, "alice").await;
    let mut bob = Browser::default();
    bob.login(app, "bob").await;

    let response = laptop
        .send(
            app.post("/logout-everywhere")
                .header("X-CSRF-Token", &token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        phone.status(app.get("/protected")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        laptop.status(app.get("/protected")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(bob.status(app.get("/protected")).await, StatusCode::OK);
}

#[actix_web::test]
async fn the_per_user_cap_evicts_the_oldest_session() {
    let server = server_with(|b| b.max_sessions_per_user(2));
    let app = &server.app;
    let mut devices = Vec::new();
    for _ in 0..3 {
        let mut device = Browser::default();
        device.login(app, "alice").await;
        server.clock.advance(MINUTE);
        devices.push(device);
    }
    let mut statuses = Vec::new();
    for device in &mut devices {
        statuses.push(device.status(app.get("/protected")).await);
    }
    assert_eq!(
        statuses,
        [StatusCode::UNAUTHORIZED, StatusCode::OK, StatusCode::OK]
    );
}

#[actix_web::test]
async fn attack_cross_site_posts_are_refused_with_403() {
    let server = server();
    let app = &server.app;
    let mut browser = Browser::default();
    let token = browser.login(app, "alice").await;
    let origin = format!("http://{}", app.addr);

    // Without a token.
    let response = browser.send(app.post("/transfer")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "csrf_failed");
    // With a token that is not the session's.
    let mut other = Browser::default();
    let other_token = other.login(app, "mallory").await;
    let wrong = app.post("/transfer").header("X-CSRF-Token", &other_token);
    assert_eq!(browser.status(wrong).await, StatusCode::FORBIDDEN);
    // With the right token, from another origin.
    let foreign = app
        .post("/transfer")
        .header("X-CSRF-Token", &token)
        .header("Origin", "https://evil.example");
    assert_eq!(browser.status(foreign).await, StatusCode::FORBIDDEN);
    // With the right token, flagged cross-site by the browser.
    let cross = app
        .post("/transfer")
        .header("X-CSRF-Token", &token)
        .header("Sec-Fetch-Site", "cross-site");
    assert_eq!(browser.status(cross).await, StatusCode::FORBIDDEN);
    // A login from another site (login CSRF) is refused too.
    let mut fresh = Browser::default();
    let cross_login = app
        .post("/login")
        .header("Origin", "https://evil.example")
        .json(&json!({"username": "mallory", "password": "correct horse"}));
    assert_eq!(fresh.status(cross_login).await, StatusCode::FORBIDDEN);

    // The same request, done right: header or form field, own origin.
    let good = app
        .post("/transfer")
        .header("X-CSRF-Token", &token)
        .header("Origin", &origin)
        .header("Sec-Fetch-Site", "same-origin");
    let response = browser.send(good).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "transferred for alice");
    let form = app
        .post("/transfer")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("amount=10&csrf_token={token}"));
    assert_eq!(browser.status(form).await, StatusCode::OK);
    // Safe methods need nothing.
    assert_eq!(browser.status(app.get("/protected")).await, StatusCode::OK);
}

#[actix_web::test]
async fn attack_duplicate_and_case_variant_cookies_are_refused_consistently() {
    let server = server();
    let app = &server.app;
    let mut browser = Browser::default();
    browser.login(app, "alice").await;
    let mut other = Browser::default();
    other.login(app, "bob").await;
    let mine = browser.session_cookie().unwrap().to_owned();
    let theirs = other.session_cookie().unwrap().to_owned();

    for cookie in [
        format!("__Host-id={mine}; __Host-id={theirs}"),
        format!("__Host-id={theirs}; __Host-id={mine}"),
        format!("__Host-id={mine}; __host-id={theirs}"),
        format!("__HOST-ID={theirs}; __Host-id={mine}"),
        format!("__Host-id={mine}; __Host-id={mine}"),
    ] {
        for path in ["/protected", "/visit"] {
            let response = app
                .get(path)
                .header("Cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{cookie} {path}"
            );
            assert!(response.headers().get("set-cookie").is_none());
        }
    }
    // A lone case variant is not our cookie: no session, nothing adopted.
    let variant = app
        .get("/protected")
        .header("Cookie", format!("__host-id={mine}"))
        .send()
        .await
        .unwrap();
    assert_eq!(variant.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn attack_rotated_keys_still_work_and_are_re_signed_unknown_keys_do_not() {
    let clock = clock();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(clock.shared()));
    let before = spawn(manager(
        Arc::clone(&store),
        CookieKeys::new(key(1)),
        &clock,
        |b| b,
    ));
    let rotated = spawn(manager(
        Arc::clone(&store),
        CookieKeys::new(key(2)).with_previous(key(1)),
        &clock,
        |b| b,
    ));
    let after = spawn(manager(
        Arc::clone(&store),
        CookieKeys::new(key(2)),
        &clock,
        |b| b,
    ));

    let mut browser = Browser::default();
    browser.login(&before, "alice").await;
    let old_cookie = browser.session_cookie().unwrap().to_owned();
    let mut stranded = browser.clone();

    // The new key is deployed with the old one as previous: the cookie still works and is
    // re-issued under the new key, for the same session.
    let response = browser.send(rotated.get("/protected")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(browser.last_set_cookie.len(), 1, "re-issued");
    let new_cookie = browser.session_cookie().unwrap().to_owned();
    assert_ne!(new_cookie, old_cookie);
    assert_eq!(
        browser.status(rotated.get("/protected")).await,
        StatusCode::OK
    );
    assert!(browser.last_set_cookie.is_empty(), "re-issued once");

    // The old key is retired: the re-signed cookie works, the old one is no session.
    assert_eq!(
        browser.status(after.get("/protected")).await,
        StatusCode::OK
    );
    assert_eq!(
        stranded.status(after.get("/protected")).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(stranded.last_set_cookie[0].contains("Max-Age=0"));
}

#[actix_web::test]
async fn concurrent_writes_to_different_keys_both_survive() {
    let server = server();
    let app = &server.app;
    let mut browser = Browser::default();
    browser.login(app, "alice").await;
    let cookie = browser.cookie_header().unwrap();

    // Both requests are in flight at once; the handler lets each change its key only after
    // both have loaded the session.
    let first = actix_web::rt::spawn(app.get("/set/theme/dark").header("Cookie", &cookie).send());
    let second = app
        .get("/set/lang/fr")
        .header("Cookie", &cookie)
        .send()
        .await;
    assert_eq!(second.unwrap().status(), StatusCode::OK);
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);

    let theme = browser
        .send(app.get("/get/theme"))
        .await
        .text()
        .await
        .unwrap();
    let lang = browser
        .send(app.get("/get/lang"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!((theme.as_str(), lang.as_str()), ("dark", "fr"));
}

#[actix_web::test]
async fn attack_neither_logs_nor_audit_events_carry_the_cookie() {
    let logs = LogCapture::install();
    let server = server();
    let app = &server.app;
    let mut browser = Browser::default();
    browser.login(app, "audited-user").await;
    let cookie = browser.session_cookie().unwrap().to_owned();
    // The signed value is the 44-character MAC then the id.
    let id = &cookie[44..];
    assert_eq!(browser.status(app.get("/protected")).await, StatusCode::OK);
    browser.status(app.post("/transfer")).await;

    let events = logs.audit_events("/protected");
    let event = events
        .iter()
        .find(|e| e["subject"] == "audited-user")
        .expect("an audit event for the session");
    assert_eq!(event["scheme"], "session");
    assert_eq!(event["outcome"], "success");
    assert!(event["key_id"].as_str().unwrap().starts_with("s_"));
    let refused = logs.audit_events("/transfer");
    assert!(
        refused
            .iter()
            .any(|e| e["reason"] == "csrf_token_missing" && e["status"] == 403)
    );
    for line in logs.lines() {
        assert!(
            !line.contains(id),
            "a log line carries the session id: {line}"
        );
    }
}

#[derive(Debug)]
struct DownStore;

#[async_trait]
impl SessionStore for DownStore {
    async fn load(&self, _: &SessionHash) -> Result<Option<SessionRecord>, StoreError> {
        Err(StoreError::Unavailable("redis://10.1.2.3 refused".into()))
    }
    async fn insert(
        &self,
        _: SessionRecord,
        _: Option<usize>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        Err(StoreError::Unavailable("redis://10.1.2.3 refused".into()))
    }
    async fn save(&self, _: &SessionHash, _: &SessionUpdate) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete(&self, _: &SessionHash) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete_user(&self, _: &str, _: Option<&SessionHash>) -> Result<usize, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn list_user(&self, _: &str) -> Result<Vec<SessionInfo>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
}

#[actix_web::test]
async fn attack_a_store_that_is_down_answers_503_and_says_nothing_about_it() {
    let server = server();
    let mut browser = Browser::default();
    browser.login(&server.app, "alice").await;
    let down = spawn(manager(
        Arc::new(DownStore),
        CookieKeys::new(key(1)),
        &server.clock,
        |b| b,
    ));

    // Loading fails before the handler.
    let response = browser.send(down.get("/protected")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("10.1.2.3") && !body.contains("redis"),
        "{body}"
    );

    // Saving fails after it: the handler's "Session established." never reaches the client.
    let response = Browser::default().send(down.get("/start")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("set-cookie").is_none());
    assert!(!response.text().await.unwrap().contains("established"));
}
