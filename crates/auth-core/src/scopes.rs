//! [`Scopes`]: the RFC 6749 §3.3 scope set.

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

/// A set of scope tokens, as RFC 6749 §3.3 defines them:
///
/// ```text
/// scope       = scope-token *( SP scope-token )
/// scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
/// ```
///
/// Tokens are case-sensitive, order does not matter and duplicates collapse. Parsing accepts
/// runs of spaces between tokens (some providers send them) but refuses any other separator
/// and any character outside `scope-token`.
///
/// # Examples
///
/// ```
/// use auth_core::Scopes;
///
/// let granted: Scopes = "read:orders write:orders".parse()?;
/// assert!(granted.contains("read:orders"));
/// assert!(granted.contains_all(&"read:orders".parse()?));
/// assert!(!granted.contains("admin"));
/// assert_eq!(granted.to_string(), "read:orders write:orders");
/// # Ok::<(), auth_core::ScopeError>(())
/// ```
///
/// Cloning is cheap: the tokens are shared (copy on write), so a credential store can hand
/// the same set to every request's [`Principal`](crate::Principal) without copying it.
#[derive(Clone, Default)]
pub struct Scopes(Option<Arc<BTreeSet<String>>>);

/// The empty set every `Scopes(None)` reads as.
static EMPTY: BTreeSet<String> = BTreeSet::new();

impl Scopes {
    fn from_set(set: BTreeSet<String>) -> Self {
        if set.is_empty() {
            Self(None)
        } else {
            Self(Some(Arc::new(set)))
        }
    }

    fn set(&self) -> &BTreeSet<String> {
        self.0.as_deref().unwrap_or(&EMPTY)
    }
}

impl PartialEq for Scopes {
    fn eq(&self, other: &Self) -> bool {
        self.set() == other.set()
    }
}

impl Eq for Scopes {}

impl Hash for Scopes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.set().hash(state);
    }
}

/// A scope string that breaks RFC 6749 §3.3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// A character outside `%x21 / %x23-5B / %x5D-7E` (a quote, a backslash, a control
    /// character, a tab or anything beyond ASCII).
    #[error("invalid character in scope at byte {position}")]
    InvalidCharacter {
        /// Byte offset of the character in the input.
        position: usize,
    },
    /// More tokens than [`Scopes::MAX_TOKENS`].
    #[error("too many scope tokens (at most {max})")]
    TooMany {
        /// The limit.
        max: usize,
    },
}

impl Scopes {
    /// The most tokens a parsed scope string may hold; bounds the work an attacker can cause.
    pub const MAX_TOKENS: usize = 256;

    /// The empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a space-delimited scope string.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] when a character is outside `scope-token` or there are more than
    /// [`Scopes::MAX_TOKENS`] tokens.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        if let Some(position) = text.bytes().position(|b| b != b' ' && !is_scope_char(b)) {
            return Err(ScopeError::InvalidCharacter { position });
        }
        let mut set = BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            set.insert(token.to_owned());
            if set.len() > Self::MAX_TOKENS {
                return Err(ScopeError::TooMany {
                    max: Self::MAX_TOKENS,
                });
            }
        }
        Ok(Self::from_set(set))
    }

    /// Builds a set from tokens, checking each one.
    ///
    /// # Errors
    ///
    /// [`ScopeError::InvalidCharacter`] when a token is empty or holds a character outside
    /// `scope-token` (a space included).
    pub fn try_from_tokens<I, S>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.into();
            if let Some(position) = token.bytes().position(|b| !is_scope_char(b)) {
                return Err(ScopeError::InvalidCharacter { position });
            }
            if token.is_empty() {
                return Err(ScopeError::InvalidCharacter { position: 0 });
            }
            set.insert(token);
        }
        Ok(Self::from_set(set))
    }

    /// Whether `scope` is in the set.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.set().contains(scope)
    }

    /// Whether every scope of `required` is in the set.
    #[must_use]
    pub fn contains_all(&self, required: &Scopes) -> bool {
        required.set().is_subset(self.set())
    }

    /// The scopes of `required` that this set lacks (empty when it has them all).
    #[must_use]
    pub fn missing(&self, required: &Scopes) -> Scopes {
        Scopes::from_set(required.set().difference(self.set()).cloned().collect())
    }

    /// The scopes in both sets: what a client may get when it asks for `requested` and is
    /// allowed `self`.
    #[must_use]
    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes::from_set(self.set().intersection(other.set()).cloned().collect())
    }

    /// Adds a token that is already known to be valid (a constant in code).
    ///
    /// # Errors
    ///
    /// [`ScopeError::InvalidCharacter`] when it is not a valid `scope-token`.
    pub fn insert(&mut self, scope: &str) -> Result<(), ScopeError> {
        let checked = Scopes::try_from_tokens([scope])?;
        let set = Arc::make_mut(self.0.get_or_insert_with(Default::default));
        set.extend(checked.set().iter().cloned());
        Ok(())
    }

    /// Number of scopes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.set().len()
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.set().is_empty()
    }

    /// The scopes, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.set().iter().map(String::as_str)
    }
}

fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl FromStr for Scopes {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scopes::parse(text)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in self.set() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.set().iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a str;
    type IntoIter =
        std::iter::Map<std::collections::btree_set::Iter<'a, String>, fn(&String) -> &str>;

    fn into_iter(self) -> Self::IntoIter {
        self.set().iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_6749_scope_strings() {
        let scopes = Scopes::parse("b a  c a").unwrap();
        assert_eq!(scopes.len(), 3);
        assert_eq!(scopes.to_string(), "a b c");
        assert!(Scopes::parse("").unwrap().is_empty());
        // The full scope-token range, including the edges of each range.
        assert!(Scopes::parse("!#[]~").is_ok());
    }

    #[test]
    fn refuses_characters_outside_scope_token() {
        for bad in ["a\"b", "a\\b", "a\tb", "a\nb", "caf\u{e9}", "a,b\x7f"] {
            assert!(Scopes::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            Scopes::parse("ok \"").unwrap_err(),
            ScopeError::InvalidCharacter { position: 3 }
        );
    }

    #[test]
    fn bounds_the_number_of_tokens() {
        let many: Vec<String> = (0..=Scopes::MAX_TOKENS).map(|i| format!("s{i}")).collect();
        assert!(Scopes::parse(&many.join(" ")).is_err());
        assert!(Scopes::parse(&many[..Scopes::MAX_TOKENS].join(" ")).is_ok());
    }

    #[test]
    fn set_operations() {
        let granted = Scopes::parse("read write").unwrap();
        let required = Scopes::parse("read admin").unwrap();
        assert!(granted.contains("read"));
        assert!(!granted.contains("Read"), "scopes are case-sensitive");
        assert!(!granted.contains_all(&required));
        assert_eq!(granted.missing(&required).to_string(), "admin");
        assert_eq!(granted.intersection(&required).to_string(), "read");
        assert!(granted.contains_all(&Scopes::new()));
    }

    #[test]
    fn clones_share_and_insert_copies_on_write() {
        let original = Scopes::parse("read").unwrap();
        let mut copy = original.clone();
        assert!(Arc::ptr_eq(
            original.0.as_ref().unwrap(),
            copy.0.as_ref().unwrap()
        ));
        copy.insert("write").unwrap();
        assert_eq!(original.to_string(), "read");
        assert_eq!(copy.to_string(), "read write");
        // The empty set compares and hashes the same however it was made.
        assert_eq!(Scopes::new(), Scopes::parse("").unwrap());
        assert_eq!(Scopes::new(), original.missing(&original));
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        assert_eq!(
            state.hash_one(Scopes::new()),
            state.hash_one(Scopes::try_from_tokens(Vec::<String>::new()).unwrap())
        );
    }

    #[test]
    fn tokens_are_checked() {
        assert!(Scopes::try_from_tokens(["a b"]).is_err());
        assert!(Scopes::try_from_tokens([""]).is_err());
        let mut scopes = Scopes::try_from_tokens(["x"]).unwrap();
        scopes.insert("y").unwrap();
        assert!(scopes.insert("bad scope").is_err());
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["x", "y"]);
    }
}
