//! The key format: round trips, offline refusal of typos and truncations (no store call),
//! uniqueness, and no plaintext at rest.

use std::collections::HashSet;

use auth_apikey::{Error, KeyFormat, KeyFormatError, KeyHasher, NewKey, parse_any};

use crate::support::{change_char, setup};

#[test]
fn generate_then_parse_round_trips() {
    let format = KeyFormat::new("myapp_live").unwrap();
    for _ in 0..1_000 {
        let key = format.generate().unwrap();
        let text = key.expose_secret();
        let parsed = format.parse(text).unwrap();
        assert_eq!(parsed.as_str(), text);
        assert_eq!(parsed.prefix(), "myapp_live");
        assert_eq!(
            format!(
                "{}_{}_{}",
                parsed.prefix(),
                parsed.random(),
                parsed.checksum()
            ),
            text
        );
        assert_eq!(parse_any(text).unwrap().prefix(), "myapp_live");
    }
}

#[tokio::test]
async fn a_changed_character_or_a_truncation_is_refused_without_a_store_lookup() {
    let (_clock, store, keys) = setup();
    let created = keys.create(NewKey::new("svc", "ci")).await.unwrap();
    let key = created.key.expose_secret();
    let calls_before = store.calls();

    // Every position, including the prefix, the separators and the checksum itself.
    for i in 0..key.len() {
        let typo = change_char(key, i);
        let error = keys.verify(&typo).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Format(KeyFormatError::ChecksumMismatch | KeyFormatError::Malformed)
            ),
            "position {i}: {error:?}"
        );
    }
    // Every truncation, from either end.
    for len in 0..key.len() {
        assert!(matches!(
            keys.verify(&key[..len]).await,
            Err(Error::Format(_))
        ));
        assert!(matches!(
            keys.verify(&key[key.len() - len..]).await,
            Err(Error::Format(_))
        ));
    }
    assert_eq!(
        store.calls(),
        calls_before,
        "the checksum must refuse these before the store is asked"
    );

    // The control: the untouched key does reach the store.
    keys.verify(key).await.unwrap();
    assert_eq!(store.lookups(), 1);
}

#[tokio::test]
async fn a_key_of_another_prefix_is_refused_offline() {
    let (_clock, store, keys) = setup();
    let other = KeyFormat::new("acme_live").unwrap().generate().unwrap();
    assert!(matches!(
        keys.verify(other.expose_secret()).await,
        Err(Error::Format(KeyFormatError::WrongPrefix))
    ));
    assert_eq!(store.calls(), 0);
}

#[test]
fn ten_thousand_generated_keys_are_distinct() {
    let format = KeyFormat::new("acme_test").unwrap();
    let mut seen = HashSet::new();
    let mut randoms = HashSet::new();
    for _ in 0..10_000 {
        let key = format.generate().unwrap();
        let text = key.expose_secret().to_owned();
        randoms.insert(format.parse(&text).unwrap().random().to_owned());
        assert!(seen.insert(text), "a key repeated");
    }
    assert_eq!(seen.len(), 10_000);
    assert_eq!(randoms.len(), 10_000);
}

#[tokio::test]
async fn the_stored_record_never_contains_the_plaintext() {
    let (_clock, store, keys) = setup();
    let mut plaintexts = Vec::new();
    for i in 0..20 {
        let created = keys
            .create(NewKey::new("svc", format!("key {i}")))
            .await
            .unwrap();
        keys.verify(created.key.expose_secret()).await.unwrap();
        plaintexts.push(created.key.expose_secret().to_owned());
    }
    let rotated = keys
        .rotate(
            &store.inner.records()[0].metadata.id,
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    plaintexts.push(rotated.key.expose_secret().to_owned());

    let records = store.inner.records();
    assert_eq!(records.len(), 21);
    let listed = keys.list_by_owner("svc").await.unwrap();
    assert_eq!(listed.len(), 21);
    let dumps = [
        format!("{records:?}"),
        format!("{records:#?}"),
        format!("{listed:?}"),
        format!("{store:?}"),
        format!("{keys:?}"),
    ];
    // What is stored is the SHA-256 of the key (no pepper configured here).
    for key in &plaintexts {
        let hash = KeyHasher::sha256().hash(key);
        assert!(records.iter().any(|r| r.hash == hash));
    }
    for key in &plaintexts {
        let random = &key["acme_test_".len()..key.len() - 7];
        for dump in &dumps {
            assert!(!dump.contains(random), "plaintext in {dump}");
        }
        for record in &records {
            let meta = &record.metadata;
            for field in [&meta.id, &meta.owner, &meta.name] {
                assert!(!field.contains(random));
            }
        }
    }
}
