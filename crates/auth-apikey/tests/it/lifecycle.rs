//! The key lifecycle with a test clock: create, verify, list, revoke, expire, rotate with a
//! grace period, pepper, and store failures.

use std::sync::Arc;
use std::time::Duration;

use auth_apikey::{Error, KeyManager, KeyStatus, MemoryKeyStore, NewKey, StoreError};
use auth_core::{Clock, ManualClock, Scopes, Secret};

use crate::support::setup;

const DAY: Duration = Duration::from_secs(86_400);

fn scopes(text: &str) -> Scopes {
    text.parse().unwrap()
}

#[tokio::test]
async fn created_keys_verify_with_their_metadata() {
    let (clock, _store, keys) = setup();
    let created = keys
        .create(
            NewKey::new("billing", "export")
                .scopes(scopes("invoices:read"))
                .expires_in(30 * DAY),
        )
        .await
        .unwrap();
    let meta = keys.verify(created.key.expose_secret()).await.unwrap();
    assert_eq!(meta.owner, "billing");
    assert_eq!(meta.name, "export");
    assert_eq!(meta.scopes, scopes("invoices:read"));
    assert_eq!(meta.created_at, clock.now());
    assert_eq!(meta.expires_at, Some(clock.now() + 30 * DAY));
    assert_eq!(meta.id, created.metadata.id);
    assert_eq!(
        keys.get(&meta.id).await.unwrap().last_used_at,
        Some(clock.now())
    );
}

#[tokio::test]
async fn keys_expire_on_the_clock() {
    let (clock, _store, keys) = setup();
    let created = keys
        .create(NewKey::new("svc", "short").expires_in(DAY))
        .await
        .unwrap();
    let key = created.key.expose_secret();
    clock.advance(DAY - Duration::from_secs(1));
    assert!(keys.verify(key).await.is_ok());
    clock.advance(Duration::from_secs(1));
    let error = keys.verify(key).await.unwrap_err();
    assert!(matches!(error, Error::Expired { ref key_id, .. } if *key_id == created.metadata.id));
    assert_eq!(error.reason(), "expired_key");
}

#[tokio::test]
async fn revoked_and_expired_keys_are_refused_at_once() {
    let (_clock, _store, keys) = setup();
    let a = keys.create(NewKey::new("svc", "a")).await.unwrap();
    let b = keys.create(NewKey::new("svc", "b")).await.unwrap();
    keys.verify(a.key.expose_secret()).await.unwrap();

    let revoked = keys.revoke(&a.metadata.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        keys.verify(a.key.expose_secret())
            .await
            .unwrap_err()
            .reason(),
        "revoked_key"
    );
    keys.expire(&b.metadata.id).await.unwrap();
    assert_eq!(
        keys.verify(b.key.expose_secret())
            .await
            .unwrap_err()
            .reason(),
        "expired_key"
    );
    assert!(matches!(
        keys.revoke("key_doesnotexist").await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_rotated_key_works_until_the_deadline_and_not_after() {
    let (clock, _store, keys) = setup();
    let old = keys
        .create(
            NewKey::new("svc", "deploys")
                .scopes(scopes("deploy"))
                .expires_in(90 * DAY),
        )
        .await
        .unwrap();
    clock.advance(10 * DAY);
    let new = keys.rotate(&old.metadata.id, DAY).await.unwrap();

    // The successor: same owner, name, scopes and lifetime length, linked both ways.
    assert_eq!(new.metadata.owner, "svc");
    assert_eq!(new.metadata.name, "deploys");
    assert_eq!(new.metadata.scopes, scopes("deploy"));
    assert_eq!(new.metadata.expires_at, Some(clock.now() + 90 * DAY));
    assert_eq!(
        new.metadata.rotated_from.as_deref(),
        Some(old.metadata.id.as_str())
    );
    let old_meta = keys.get(&old.metadata.id).await.unwrap();
    assert_eq!(
        old_meta.rotated_to.as_deref(),
        Some(new.metadata.id.as_str())
    );
    assert_eq!(
        old_meta.status(clock.now()),
        KeyStatus::Grace {
            until: clock.now() + DAY
        }
    );

    // Both work during the grace period...
    clock.advance(DAY - Duration::from_secs(1));
    assert!(keys.verify(old.key.expose_secret()).await.is_ok());
    assert!(keys.verify(new.key.expose_secret()).await.is_ok());
    // ...and the old one stops at the deadline.
    clock.advance(Duration::from_secs(1));
    let error = keys.verify(old.key.expose_secret()).await.unwrap_err();
    assert!(matches!(error, Error::Rotated { .. }), "{error:?}");
    assert_eq!(error.reason(), "rotated_key");
    assert!(keys.verify(new.key.expose_secret()).await.is_ok());
}

#[tokio::test]
async fn the_grace_period_never_outlives_the_old_expiry() {
    let (clock, _store, keys) = setup();
    let old = keys
        .create(NewKey::new("svc", "k").expires_in(DAY))
        .await
        .unwrap();
    keys.rotate(&old.metadata.id, 30 * DAY).await.unwrap();
    clock.advance(DAY);
    assert!(keys.verify(old.key.expose_secret()).await.is_err());
}

#[tokio::test]
async fn only_active_keys_rotate_and_only_once() {
    let (_clock, _store, keys) = setup();
    let a = keys.create(NewKey::new("svc", "a")).await.unwrap();
    keys.rotate(&a.metadata.id, DAY).await.unwrap();
    assert!(matches!(
        keys.rotate(&a.metadata.id, DAY).await,
        Err(Error::NotRotatable {
            status: "grace",
            ..
        })
    ));
    let b = keys.create(NewKey::new("svc", "b")).await.unwrap();
    keys.revoke(&b.metadata.id).await.unwrap();
    assert!(matches!(
        keys.rotate(&b.metadata.id, DAY).await,
        Err(Error::NotRotatable {
            status: "revoked",
            ..
        })
    ));
    assert!(matches!(
        keys.rotate("key_nope", DAY).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn zero_grace_rotation_ends_the_old_key_now() {
    let (_clock, _store, keys) = setup();
    let old = keys.create(NewKey::new("svc", "k")).await.unwrap();
    let new = keys.rotate(&old.metadata.id, Duration::ZERO).await.unwrap();
    assert!(keys.verify(old.key.expose_secret()).await.is_err());
    assert!(keys.verify(new.key.expose_secret()).await.is_ok());
}

#[tokio::test]
async fn listing_is_per_owner_and_metadata_only() {
    let (_clock, _store, keys) = setup();
    let a1 = keys.create(NewKey::new("alice", "one")).await.unwrap();
    let _b = keys.create(NewKey::new("bob", "one")).await.unwrap();
    let a2 = keys.create(NewKey::new("alice", "two")).await.unwrap();
    let listed = keys.list_by_owner("alice").await.unwrap();
    let mut ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = [a1.metadata.id.as_str(), a2.metadata.id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(keys.list_by_owner("carol").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_pepper_changes_the_hash_and_is_needed_to_verify() {
    let clock = ManualClock::starting_now();
    let store = Arc::new(MemoryKeyStore::new());
    let pepper = Secret::from(vec![0x42_u8; 32]);
    let peppered = KeyManager::builder(Arc::clone(&store), "acme_test")
        .pepper(pepper)
        .clock(clock.shared())
        .build()
        .unwrap();
    let created = peppered.create(NewKey::new("svc", "k")).await.unwrap();
    assert!(peppered.verify(created.key.expose_secret()).await.is_ok());

    // The same database without the pepper verifies nothing.
    let unpeppered = KeyManager::builder(Arc::clone(&store), "acme_test")
        .clock(clock.shared())
        .build()
        .unwrap();
    assert!(matches!(
        unpeppered.verify(created.key.expose_secret()).await,
        Err(Error::UnknownKey)
    ));
}

#[tokio::test]
async fn a_store_failure_is_an_error_not_a_refusal() {
    let (_clock, store, keys) = setup();
    let created = keys.create(NewKey::new("svc", "k")).await.unwrap();
    store.set_down(true);
    let error = keys.verify(created.key.expose_secret()).await.unwrap_err();
    assert!(matches!(error, Error::Store(StoreError::Unavailable(_))));
    assert!(!error.is_refusal());
    assert_eq!(error.to_rejection(&[]).status(), 503);
    assert!(keys.create(NewKey::new("svc", "k2")).await.is_err());
    store.set_down(false);
    assert!(keys.verify(created.key.expose_secret()).await.is_ok());
}

#[tokio::test]
async fn keys_without_expiry_need_an_explicit_choice() {
    let (clock, _store, keys) = setup();
    let default = keys.create(NewKey::new("svc", "d")).await.unwrap();
    assert!(default.metadata.expires_at.is_some(), "one year by default");
    let forever = keys
        .create(NewKey::new("svc", "f").never_expires())
        .await
        .unwrap();
    assert_eq!(forever.metadata.expires_at, None);
    clock.advance(10 * 365 * DAY);
    assert!(keys.verify(forever.key.expose_secret()).await.is_ok());
    assert!(keys.verify(default.key.expose_secret()).await.is_err());
}
