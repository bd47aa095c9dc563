//! `JwtAuthenticator`: where the token comes from and what the principal gets.

use auth_core::{AuthRequest, Authenticator, HeaderList, Outcome, RejectionKind, Secret};
use auth_jwt::{Algorithm, JwtAuthenticator, Key, KeySet, VerifiedClaims};

use crate::support::{NOW, claims, craft, verifier};

fn key() -> Key {
    Key::hmac("k", Algorithm::HS256, &Secret::from([4_u8; 32].as_slice())).unwrap()
}

fn authenticator(
    configure: impl FnOnce(auth_jwt::JwtAuthenticatorBuilder) -> auth_jwt::JwtAuthenticatorBuilder,
) -> JwtAuthenticator {
    configure(JwtAuthenticator::builder(verifier(
        KeySet::single(key()),
        |b| b,
    )))
    .build()
    .unwrap()
}

async fn run(jwt: &JwtAuthenticator, target: &str, headers: &HeaderList) -> Outcome {
    jwt.authenticate(&AuthRequest::new("GET", target, headers))
        .await
}

fn token(extra: &str) -> String {
    craft(r#"{"alg":"HS256","kid":"k"}"#, &claims(extra), &key())
}

#[tokio::test]
async fn bearer_tokens_give_subject_scopes_and_kid() {
    let jwt = authenticator(|b| b);
    let headers = HeaderList::new().with(
        "Authorization",
        format!("bearer {}", token(r#""scope":"a b""#)),
    );
    let Outcome::Authenticated(p) = run(&jwt, "/", &headers).await else {
        panic!()
    };
    assert_eq!(p.subject(), "alice");
    assert_eq!(p.scopes().to_string(), "a b");
    assert_eq!(p.key_id(), Some("k"));
    assert_eq!(
        p.extension::<VerifiedClaims>().unwrap().registered().exp as u64,
        NOW + 600
    );

    let headers = HeaderList::new().with(
        "Authorization",
        format!("Bearer {}", token(r#""scp":["x","y"]"#)),
    );
    let Outcome::Authenticated(p) = run(&jwt, "/", &headers).await else {
        panic!()
    };
    assert_eq!(p.scopes().to_string(), "x y");
}

#[tokio::test]
async fn no_token_is_no_credential_and_other_schemes_pass() {
    let jwt = authenticator(|b| b);
    assert!(matches!(
        run(&jwt, "/", &HeaderList::new()).await,
        Outcome::NoCredential
    ));
    let basic = HeaderList::new().with("Authorization", "Basic dTpw");
    assert!(matches!(
        run(&jwt, "/", &basic).await,
        Outcome::NoCredential
    ));
}

#[tokio::test]
async fn a_token_in_the_url_is_refused_with_400() {
    let jwt = authenticator(|b| b);
    let Outcome::Rejected(r) = run(
        &jwt,
        &format!("/x?access_token={}", token("")),
        &HeaderList::new(),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(r.kind(), RejectionKind::InvalidRequest);
    assert_eq!(r.reason(), "token_in_query");
    for hidden in ["access%5Ftoken", "ACCESS_TOKEN", "%61ccess_token"] {
        let target = format!("/x?a=1&{hidden}={}", token(""));
        let outcome = run(&jwt, &target, &HeaderList::new()).await;
        assert!(
            matches!(outcome, Outcome::Rejected(ref r) if r.reason() == "token_in_query"),
            "{hidden}"
        );
    }
}

#[tokio::test]
async fn invalid_tokens_get_invalid_token_with_the_reason_for_the_audit_only() {
    let jwt = authenticator(|b| b);
    let expired = craft(
        r#"{"alg":"HS256","kid":"k"}"#,
        &format!(r#"{{"sub":"a","exp":{}}}"#, NOW - 3600),
        &key(),
    );
    let headers = HeaderList::new().with("Authorization", format!("Bearer {expired}"));
    let Outcome::Rejected(r) = run(&jwt, "/", &headers).await else {
        panic!()
    };
    assert_eq!(r.kind(), RejectionKind::InvalidToken);
    assert_eq!(r.reason(), "jwt_expired");
    let header = r.www_authenticate().next().unwrap();
    assert!(
        header.starts_with(r#"Bearer realm="api", error="invalid_token""#),
        "{header}"
    );
    assert!(
        !header.contains("jwt_") && !r.json_body().contains("jwt_expired"),
        "{header}"
    );
}

#[tokio::test]
async fn a_missing_subject_is_refused_unless_another_claim_is_configured() {
    // The article's Node snippet signs {userId: 123, role: 'admin'} without `sub`.
    let body = format!(
        r#"{{"userId":123,"role":"admin","iat":{},"exp":{}}}"#,
        NOW - 5,
        NOW + 3600
    );
    let article = craft(r#"{"alg":"HS256","typ":"JWT"}"#, &body, &key());
    let headers = HeaderList::new().with("Authorization", format!("Bearer {article}"));
    let Outcome::Rejected(r) = run(&authenticator(|b| b), "/", &headers).await else {
        panic!()
    };
    assert_eq!(r.reason(), "jwt_missing_claim");
    let lenient = authenticator(|b| b.subject_claims(["sub", "userId"]));
    let Outcome::Authenticated(p) = run(&lenient, "/", &headers).await else {
        panic!()
    };
    assert_eq!(p.subject(), "123");
}

#[tokio::test]
async fn a_cookie_token_works_when_configured_and_duplicates_are_refused() {
    let jwt = authenticator(|b| b.cookie("at"));
    let headers = HeaderList::new().with("Cookie", format!("theme=dark; at={}", token("")));
    assert!(matches!(
        run(&jwt, "/", &headers).await,
        Outcome::Authenticated(_)
    ));
    let twice = HeaderList::new().with("Cookie", format!("at={0}; at={0}", token("")));
    assert!(matches!(run(&jwt, "/", &twice).await, Outcome::Rejected(_)));
    let without = authenticator(|b| b);
    assert!(matches!(
        run(&without, "/", &headers).await,
        Outcome::NoCredential
    ));
}

#[tokio::test]
async fn the_principal_carries_the_claims_parsed_on_demand() {
    #[derive(serde::Deserialize)]
    struct Claims {
        sub: String,
        tenant: u32,
    }
    let jwt = authenticator(|b| b);
    let headers = HeaderList::new().with(
        "Authorization",
        format!("Bearer {}", token(r#""tenant":42,"scope":"a""#)),
    );
    let Outcome::Authenticated(p) = run(&jwt, "/", &headers).await else {
        panic!()
    };
    let verified = p.extension::<VerifiedClaims>().unwrap();
    assert_eq!(verified.header().kid.as_deref(), Some("k"));
    assert_eq!(verified.registered().sub.as_deref(), Some("alice"));
    assert_eq!(verified.claims()["tenant"], 42);
    assert!(verified.json().unwrap().contains(r#""tenant":42"#));
    let claims = verified.deserialize::<Claims>().unwrap();
    assert_eq!((claims.sub.as_str(), claims.tenant), ("alice", 42));

    // The same from the verifier, and from another verifier's claims object.
    let direct = jwt
        .verifier()
        .verify_claims(&token(r#""tenant":42"#))
        .await
        .unwrap();
    assert_eq!(direct.registered(), verified.registered());
    let other = VerifiedClaims::new(
        direct.header().clone(),
        direct.registered().clone(),
        std::sync::Arc::clone(direct.claims()),
    );
    assert_eq!(other.deserialize::<Claims>().unwrap().tenant, 42);
    assert_eq!(other.registered(), direct.registered());
    assert_eq!(other.json(), None);
}

#[tokio::test]
async fn subject_and_scope_claims_keep_their_type_and_uniqueness_checks() {
    let lenient = authenticator(|b| b.subject_claims(["userId", "sub"]));
    for (extra, reason) in [
        (r#""userId":"u","userId":"v""#, None),
        (r#""scope":["a",1]"#, Some("jwt_invalid_claim")),
        (r#""scope":7"#, Some("jwt_invalid_claim")),
        (r#""scp":["a b"]"#, Some("jwt_invalid_claim")),
        (r#""scope":"a","scope":"b""#, Some("jwt_duplicate_member")),
    ] {
        let headers = HeaderList::new().with("Authorization", format!("Bearer {}", token(extra)));
        let outcome = run(&lenient, "/", &headers).await;
        match (reason, outcome) {
            // `userId` twice: a duplicate, whatever claim the subject comes from.
            (None, Outcome::Rejected(r)) => assert_eq!(r.reason(), "jwt_duplicate_member"),
            (Some(reason), Outcome::Rejected(r)) => assert_eq!(r.reason(), reason, "{extra}"),
            (_, other) => panic!("{extra}: {other:?}"),
        }
    }
    let headers = HeaderList::new().with(
        "Authorization",
        format!("Bearer {}", token(r#""userId":"u7","scp":"x y""#)),
    );
    let Outcome::Authenticated(p) = run(&lenient, "/", &headers).await else {
        panic!()
    };
    assert_eq!(
        (p.subject(), p.scopes().to_string().as_str()),
        ("u7", "x y")
    );
}
