//! API keys (`<prefix>_<base62 random>_<crc32 checksum>`): `parse_any` never panics, and what
//! it accepts has the documented shape, is accepted by a `KeyFormat` of its prefix and refused
//! by any other; a single changed character of an accepted key is refused.
#![no_main]

use auth_apikey::{CHECKSUM_LEN, KeyFormat, KeyFormatError, RANDOM_LEN, parse_any};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = parse_any(text) else {
        return;
    };
    assert_eq!(parsed.as_str(), text);
    assert_eq!(parsed.random().len(), RANDOM_LEN);
    assert_eq!(parsed.checksum().len(), CHECKSUM_LEN);
    assert_eq!(
        format!(
            "{}_{}_{}",
            parsed.prefix(),
            parsed.random(),
            parsed.checksum()
        ),
        text
    );
    assert!(parsed.random().bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(parsed.checksum().bytes().all(|b| b.is_ascii_alphanumeric()));

    let format = KeyFormat::new(parsed.prefix()).expect("an accepted prefix is a valid prefix");
    assert_eq!(format.parse(text).map(|p| p.as_str()), Ok(text));
    let other = KeyFormat::new(if parsed.prefix() == "x" { "y" } else { "x" }).expect("prefix");
    assert_eq!(other.parse(text).err(), Some(KeyFormatError::WrongPrefix));

    // CRC-32 detects every single-character change in the random part.
    let start = parsed.prefix().len() + 1;
    let mut changed = text.as_bytes().to_vec();
    let i = start + usize::from(data[0]) % RANDOM_LEN;
    changed[i] = if changed[i] == b'a' { b'b' } else { b'a' };
    let changed = String::from_utf8(changed).expect("ASCII");
    assert_eq!(
        parse_any(&changed).err(),
        Some(KeyFormatError::ChecksumMismatch)
    );
});
