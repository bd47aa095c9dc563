//! The authorization code flow in a real browser: headless Chromium (Debian's `chromium`)
//! driven by npm `playwright-core` (tests/browser/, installed with `npm ci`) logs in on the
//! demo's login page over HTTPS, approves the consent page, and lands on the client's
//! callback with a code that our part-1 client redeems.
//!
//! Needs `/usr/bin/chromium` (or `$CHROMIUM`), `node` and tests/browser/node_modules.
//! Without them the test says SKIPPED and passes, unless `AUTH_REQUIRE_SERVICES=1`
//! (`cargo xtask ci`, whose `.ci/run` installs them) makes it fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use auth_examples::demo::{self, DemoConfig};
use auth_oauth2::{AuthorizationCodeClient, CallbackParams};
use serde_json::Value;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no node on PATH".into());
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        return Some("playwright-core not installed (cd tests/browser && npm ci)".into());
    }
    None
}

#[actix_web::test]
async fn a_browser_logs_in_consents_and_the_client_redeems_the_code() {
    if let Some(why) = missing() {
        assert!(
            !auth_tests::services::required(),
            "browser test: {why}, and AUTH_REQUIRE_SERVICES=1 requires it"
        );
        eprintln!("SKIPPED browser: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("auth-rs-test-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = DemoConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        credentials: Some(dir.join("credentials.json")),
        tls: true,
        ..DemoConfig::in_dir(&dir)
    };
    let mut demo = demo::start(&config).await.unwrap();
    demo.spawn();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credentials.json")).unwrap())
            .unwrap();
    let oauth = &file["credentials"]["oauth2"];
    let basic = &file["credentials"]["basic"];
    let pem = std::fs::read(file["tls"]["ca_cert"].as_str().unwrap()).unwrap();
    let url = |path: &Value| format!("{}{}", demo.base_url, path.as_str().unwrap());

    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .no_proxy()
        .timeout(auth_tests::REQUEST_TIMEOUT)
        .build()
        .unwrap();
    let client = AuthorizationCodeClient::builder(
        oauth["app_client_id"].as_str().unwrap(),
        url(&oauth["authorization_endpoint"]),
        url(&oauth["token_endpoint"]),
        oauth["app_redirect_uri"].as_str().unwrap(),
    )
    .issuer(oauth["issuer"].as_str().unwrap())
    .http_client(http)
    .build()
    .unwrap();
    let (authorization_url, pending) = client.authorization_url().build().unwrap();

    let username = basic["username"].as_str().unwrap().to_owned();
    let password = basic["password"].as_str().unwrap().to_owned();
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(browser_dir())
            .arg("authorize.mjs")
            .arg(authorization_url.as_str())
            .arg(username)
            .arg(password)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the browser run failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();

    // The browser landed on the callback with a code the client redeems.
    let callback = seen["callback"].as_str().unwrap();
    let query = callback.split_once('?').unwrap().1;
    let tokens = client
        .callback(pending, &CallbackParams::parse(query).unwrap())
        .await
        .unwrap();
    assert!(!tokens.access_token().header_value().is_empty());

    // The login session cookie the browser holds is __Host-, Secure and HttpOnly.
    let cookies = seen["cookies"].as_array().unwrap();
    let login = cookies
        .iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with("__Host-")))
        .unwrap_or_else(|| panic!("no __Host- cookie in {cookies:?}"));
    assert_eq!(login["secure"], true);
    assert_eq!(login["httpOnly"], true);
    assert_eq!(login["path"], "/");
    demo.handle().stop(false).await;
}
