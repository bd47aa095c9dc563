//! [`RedisSessionStore`]: sessions in Redis, shared by every instance.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{RedisConnection, RedisError, RedisTime, Scopes, SharedClock};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::Value;

use crate::csrf::CSRF_TOKEN_LEN;
use crate::{
    CsrfToken, SessionHash, SessionInfo, SessionRecord, SessionStore, SessionUpdate, StoreError,
};

// Field names of a session hash. Data keys are stored as `d:<key>`, so no data key can
// overwrite a metadata field.
const USER: &str = "u";
const SCOPES: &str = "sc";
const CREATED: &str = "c";
const AUTHENTICATED: &str = "a";
const LAST_SEEN: &str = "s";
const EXPIRES: &str = "e";
const CSRF: &str = "t";
const DATA: &str = "d:";

/// Helpers shared by the scripts (after [`RedisTime::LUA_BEFORE`]).
const LUA_HELPERS: &str = r"
-- Keeps a user index at least as long as its longest-lived session.
local function keep_index(index, ttl)
  if redis.call('PTTL', index) < tonumber(ttl) then
    redis.call('PEXPIRE', index, ttl)
  end
end
-- ARGV[first..last] in chunks (Lua's unpack has a limit).
local function each_chunk(first, last, f)
  local i = first
  while i <= last do
    local j = math.min(i + 199, last)
    f(unpack(ARGV, i, j))
    i = j + 1
  end
end
-- The live sessions of an index, oldest first; drops members whose record is gone.
-- Each entry: member, created, expires, authenticated (or false), last seen.
local function live_of(index, now, prefix)
  local live = {}
  for _, m in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local r = redis.call('HMGET', prefix .. m, 'c', 'e', 'a', 's')
    if not r[1] or not r[2] or not r[4] then
      redis.call('ZREM', index, m)
    elseif before(now, r[2]) then
      table.insert(live, {m, r[1], r[2], r[3], r[4]})
    end
  end
  table.sort(live, function(x, y)
    if x[2] ~= y[2] then return before(x[2], y[2]) end
    return x[1] < y[1]
  end)
  return live
end
";

/// Adds a record; with a cap, evicts the user's oldest live sessions in the same step.
const INSERT: &str = r"
-- KEYS[1] the record; KEYS[2] its user's index (when it has a user)
-- ARGV: 1 now, 2 TTL ms (0: already expired), 3 cap (0: none), 4 record prefix,
--       5 index prefix, 6 member, 7 score, 8.. field, value, ...
local now, ttl, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local prefix, member = ARGV[4], ARGV[6]
local existing = redis.call('HMGET', KEYS[1], 'e', 'u')
if existing[1] then
  if before(now, existing[1]) then
    return -1
  end
  -- An expired record with the same hash: it goes first.
  redis.call('DEL', KEYS[1])
  if existing[2] then
    redis.call('ZREM', ARGV[5] .. existing[2], member)
  end
end
local evicted = {}
if KEYS[2] and cap > 0 then
  local live = live_of(KEYS[2], now, prefix)
  for i = 1, #live + 1 - cap do
    local x = live[i]
    redis.call('DEL', prefix .. x[1])
    redis.call('ZREM', KEYS[2], x[1])
    for j = 1, 5 do
      table.insert(evicted, x[j])
    end
  end
end
if ttl > 0 then
  each_chunk(8, #ARGV, function(...) redis.call('HSET', KEYS[1], ...) end)
  redis.call('PEXPIRE', KEYS[1], ttl)
  if KEYS[2] then
    redis.call('ZADD', KEYS[2], ARGV[7], member)
    keep_index(KEYS[2], ttl)
  end
end
return evicted
";

/// Applies one request's changes, key by key, to the record as it is now.
const SAVE: &str = r"
-- KEYS[1] the record
-- ARGV: 1 now, 2 touch? ('1'/'0'), 3 touch last seen, 4 touch expires, 5 touch TTL ms,
--       6 index prefix, 7 number of removed fields n, 8..7+n removed fields,
--       8+n.. field, value, ...
local r = redis.call('HMGET', KEYS[1], 'e', 's', 'u')
if not r[1] or not before(ARGV[1], r[1]) then
  return 0
end
local removed = tonumber(ARGV[7])
each_chunk(8 + removed, #ARGV, function(...) redis.call('HSET', KEYS[1], ...) end)
each_chunk(8, 7 + removed, function(...) redis.call('HDEL', KEYS[1], ...) end)
if ARGV[2] == '1' and r[2] and not before(ARGV[3], r[2]) then
  redis.call('HSET', KEYS[1], 's', ARGV[3], 'e', ARGV[4])
  local ttl = tonumber(ARGV[5])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
    if r[3] then
      keep_index(ARGV[6] .. r[3], ttl)
    end
  end
end
return 1
";

/// Deletes a record and its index entry.
const DELETE: &str = r"
-- KEYS[1] the record; ARGV[1] index prefix; ARGV[2] member
local user = redis.call('HGET', KEYS[1], 'u')
local deleted = redis.call('DEL', KEYS[1])
if user then
  redis.call('ZREM', ARGV[1] .. user, ARGV[2])
end
return deleted
";

/// Deletes every session of a user but one.
const DELETE_USER: &str = r"
-- KEYS[1] the user's index; ARGV[1] record prefix; ARGV[2] member to keep (or '')
local deleted = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[2] then
    deleted = deleted + redis.call('DEL', ARGV[1] .. m)
    redis.call('ZREM', KEYS[1], m)
  end
end
return deleted
";

/// Lists a user's live sessions (and drops index entries whose record is gone).
const LIST_USER: &str = r"
-- KEYS[1] the user's index; ARGV[1] now; ARGV[2] record prefix
local out = {}
for _, x in ipairs(live_of(KEYS[1], ARGV[1], ARGV[2])) do
  for j = 1, 5 do
    table.insert(out, x[j])
  end
end
return out
";

fn script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{}{LUA_HELPERS}{body}", RedisTime::LUA_BEFORE))
}

/// A [`SessionStore`] in Redis, shared by every instance behind a load balancer.
///
/// # Layout
///
/// | key | type | holds | TTL |
/// |---|---|---|---|
/// | `<namespace>session:<hash>` | hash | one record: `u` user, `sc` scopes, `c` created, `a` logged in, `s` last seen, `e` expires, `t` CSRF token, `d:<key>` one data value each | until `expires_at` |
/// | `<namespace>session-user:<user>` | sorted set | the user's session hashes, scored by login time | as long as the user's longest session |
///
/// `<hash>` is the [`SessionHash`] in hex: the store never sees a session id. It keeps
/// what the trait gives it (data, CSRF token) as given.
///
/// # Consistency
///
/// Every method is one Redis command or one Lua script, so each is atomic across
/// instances:
///
/// - [`save`](SessionStore::save) writes only the keys a request changed (`HSET` of the set
///   keys, `HDEL` of the removed ones) to the record as it is now: two concurrent requests
///   that change different keys both keep their change; it never recreates a deleted
///   record, and never moves `last_seen` back.
/// - [`insert`](SessionStore::insert) with a per-user cap evicts the user's oldest sessions
///   (by login time) and adds the new one in the same script.
/// - [`delete_user`](SessionStore::delete_user) ("log out everywhere") and
///   [`delete`](SessionStore::delete) keep the user index in step with the records.
///
/// Scripts touch keys they compute from the index, so this store needs a standalone Redis
/// (or a primary behind Sentinel), not Redis Cluster.
///
/// # Expiry
///
/// A record counts as absent once its `expires_at` has passed by the store's
/// [`Clock`](auth_core::Clock), exactly as in [`MemoryStore`](crate::MemoryStore) (give the
/// manager the same clock). TTLs, computed from the same clock, remove records and
/// indexes some time later; nothing needs sweeping.
///
/// # Failures
///
/// Redis down or slow: every method fails with [`StoreError::Unavailable`] within the
/// connection's timeout; the manager answers 503 (fail closed). A call that timed out may
/// or may not have been applied, but never in part.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use auth_core::{RedisConnection, SystemClock};
/// use auth_session::{CookieKey, CookieKeys, RedisSessionStore, SessionManager};
///
/// let redis = RedisConnection::connect("redis://127.0.0.1:6379").await?;
/// let store = RedisSessionStore::new(&redis, SystemClock::shared());
/// # let key = CookieKey::generate()?;
/// let manager = SessionManager::builder(store, CookieKeys::new(key)).build()?;
/// # Ok(())
/// # }
/// ```
pub struct RedisSessionStore {
    redis: RedisConnection,
    clock: SharedClock,
    record_prefix: String,
    index_prefix: String,
    insert: redis::Script,
    save: redis::Script,
    delete: redis::Script,
    delete_user: redis::Script,
    list_user: redis::Script,
}

impl RedisSessionStore {
    /// A store on `redis`, reading time from `clock` (give the manager the same clock).
    #[must_use]
    pub fn new(redis: &RedisConnection, clock: SharedClock) -> Self {
        Self {
            redis: redis.clone(),
            clock,
            record_prefix: redis.key("session:"),
            index_prefix: redis.key("session-user:"),
            insert: script(INSERT),
            save: script(SAVE),
            delete: script(DELETE),
            delete_user: script(DELETE_USER),
            list_user: script(LIST_USER),
        }
    }

    /// The Redis key of the record with `hash`.
    #[must_use]
    pub fn record_key(&self, hash: &SessionHash) -> String {
        let mut key = String::with_capacity(self.record_prefix.len() + 64);
        key.push_str(&self.record_prefix);
        crate::id::push_hex(&mut key, hash.as_bytes());
        key
    }

    /// The Redis key of `user`'s index.
    #[must_use]
    pub fn user_key(&self, user: &str) -> String {
        format!("{}{user}", self.index_prefix)
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)
    }
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn unexpected(what: &str) -> StoreError {
    unavailable(RedisError::Unexpected(what.to_owned()))
}

fn time(text: &str) -> Result<SystemTime, StoreError> {
    RedisTime::decode(text).map_err(unavailable)
}

fn micros(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

fn parse_hash(hex: &str) -> Result<SessionHash, StoreError> {
    let bytes = hex.as_bytes();
    let mut out = [0_u8; 32];
    if bytes.len() != 64 {
        return Err(unexpected("a session hash is not 64 hex digits"));
    }
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |b: u8| match b {
            b'0'..=b'9' => Ok(b - b'0'),
            b'a'..=b'f' => Ok(b - b'a' + 10),
            _ => Err(unexpected("a session hash is not lower-case hex")),
        };
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Ok(SessionHash::from_bytes(out))
}

/// The record from `HGETALL`'s field names and values, read in place: no map, a copy only
/// of what the record keeps. `None` when the record does not exist (no fields).
fn parse_record<'a>(
    hash: SessionHash,
    fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<Option<SessionRecord>, StoreError> {
    let mut fields = fields.into_iter().peekable();
    if fields.peek().is_none() {
        return Ok(None);
    }
    let mut user = None;
    let mut scopes = None;
    let mut created_at = None;
    let mut authenticated_at = None;
    let mut last_seen = None;
    let mut expires_at = None;
    let mut csrf = None;
    let mut data = BTreeMap::new();
    for (name, value) in fields {
        let value = std::str::from_utf8(value).map_err(|_| unexpected("text that is not UTF-8"))?;
        match name {
            b"u" => user = Some(value.to_owned()),
            b"sc" => {
                scopes = Some(Scopes::parse(value).map_err(|_| unexpected("stored scopes"))?);
            }
            b"c" => created_at = Some(time(value)?),
            b"a" => authenticated_at = Some(time(value)?),
            b"s" => last_seen = Some(time(value)?),
            b"e" => expires_at = Some(time(value)?),
            b"t" => {
                let mut token = [0_u8; CSRF_TOKEN_LEN];
                if !matches!(
                    URL_SAFE_NO_PAD.decode_slice(value.as_bytes(), &mut token),
                    Ok(CSRF_TOKEN_LEN)
                ) {
                    return Err(unexpected("a stored CSRF token"));
                }
                csrf = Some(CsrfToken::from_bytes(token));
            }
            _ => {
                if let Some(key) = name.strip_prefix(DATA.as_bytes()) {
                    let key = std::str::from_utf8(key)
                        .map_err(|_| unexpected("text that is not UTF-8"))?;
                    data.insert(key.to_owned(), value.to_owned());
                }
            }
        }
    }
    let missing = |name: &str| unexpected(&format!("a session record has no field {name:?}"));
    Ok(Some(SessionRecord {
        hash,
        user,
        scopes: scopes.ok_or_else(|| missing(SCOPES))?,
        created_at: created_at.ok_or_else(|| missing(CREATED))?,
        authenticated_at,
        last_seen: last_seen.ok_or_else(|| missing(LAST_SEEN))?,
        expires_at: expires_at.ok_or_else(|| missing(EXPIRES))?,
        csrf_token: csrf.ok_or_else(|| missing(CSRF))?,
        data,
    }))
}

/// A field name and its value, borrowed from a reply.
type Field<'a> = (&'a [u8], &'a [u8]);

/// The (name, value) pairs of an `HGETALL` reply: a flat array under RESP2, a map under RESP3.
fn hash_fields(reply: &Value) -> Result<Vec<Field<'_>>, StoreError> {
    fn bytes(value: &Value) -> Result<&[u8], StoreError> {
        match value {
            Value::BulkString(bytes) => Ok(bytes),
            Value::SimpleString(text) => Ok(text.as_bytes()),
            _ => Err(unexpected("a session field of the wrong type")),
        }
    }
    match reply {
        Value::Nil => Ok(Vec::new()),
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks_exact(2)
            .map(|pair| Ok((bytes(&pair[0])?, bytes(&pair[1])?)))
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(name, value)| Ok((bytes(name)?, bytes(value)?)))
            .collect(),
        _ => Err(unexpected("a session record of the wrong type")),
    }
}

fn text(value: &Value) -> Result<Option<String>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => String::from_utf8(bytes.clone())
            .map(Some)
            .map_err(|_| unexpected("text that is not UTF-8")),
        Value::SimpleString(s) => Ok(Some(s.clone())),
        _ => Err(unexpected("a script answer of the wrong type")),
    }
}

/// Sessions as the scripts list them: five values each (member, created, expires, logged
/// in, last seen), all of `user`.
fn parse_infos(values: &[Value], user: &str) -> Result<Vec<SessionInfo>, StoreError> {
    if !values.len().is_multiple_of(5) {
        return Err(unexpected("a session listing of the wrong length"));
    }
    let required = |value: &Value| text(value)?.ok_or_else(|| unexpected("a missing field"));
    values
        .chunks(5)
        .map(|entry| {
            let hash = parse_hash(&required(&entry[0])?)?;
            Ok(SessionInfo {
                hash,
                fingerprint: hash.fingerprint(),
                user: Some(user.to_owned()),
                created_at: time(&required(&entry[1])?)?,
                expires_at: time(&required(&entry[2])?)?,
                authenticated_at: text(&entry[3])?.as_deref().map(time).transpose()?,
                last_seen: time(&required(&entry[4])?)?,
            })
        })
        .collect()
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn load(&self, hash: &SessionHash) -> Result<Option<SessionRecord>, StoreError> {
        let key = self.record_key(hash);
        // One `HGETALL`, read as raw values and parsed in place: a `HashMap<String, String>`
        // cost a map and two `String`s per field on every request.
        let reply: Value = self
            .redis
            .run(|mut c| async move { redis::cmd("HGETALL").arg(&key).query_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        let fields = hash_fields(&reply)?;
        let Some(record) = parse_record(*hash, fields)? else {
            return Ok(None);
        };
        Ok((self.clock.now() < record.expires_at).then_some(record))
    }

    async fn insert(
        &self,
        record: SessionRecord,
        max_per_user: Option<usize>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let now = self.clock.now();
        let ttl = RedisTime::ttl_millis(record.expires_at, now).unwrap_or(0);
        let cap = match (&record.user, max_per_user) {
            (Some(_), Some(max)) => max.max(1),
            _ => 0,
        };
        let mut invocation = self.insert.key(self.record_key(&record.hash));
        if let Some(user) = &record.user {
            invocation.key(self.user_key(user));
        }
        invocation
            .arg(RedisTime::encode(now))
            .arg(ttl)
            .arg(cap)
            .arg(&self.record_prefix)
            .arg(&self.index_prefix)
            .arg(record.hash.to_hex())
            .arg(micros(record.created_at).to_string());
        invocation
            .arg(SCOPES)
            .arg(record.scopes.to_string())
            .arg(CREATED)
            .arg(RedisTime::encode(record.created_at))
            .arg(LAST_SEEN)
            .arg(RedisTime::encode(record.last_seen))
            .arg(EXPIRES)
            .arg(RedisTime::encode(record.expires_at))
            .arg(CSRF)
            .arg(URL_SAFE_NO_PAD.encode(record.csrf_token.expose_bytes()));
        if let Some(user) = &record.user {
            invocation.arg(USER).arg(user);
        }
        if let Some(at) = record.authenticated_at {
            invocation.arg(AUTHENTICATED).arg(RedisTime::encode(at));
        }
        for (name, value) in &record.data {
            invocation.arg(format!("{DATA}{name}")).arg(value);
        }
        match self.invoke::<Value>(invocation).await? {
            Value::Int(-1) => Err(StoreError::Duplicate),
            Value::Array(values) => parse_infos(&values, record.user.as_deref().unwrap_or("")),
            _ => Err(unexpected("an insert answer of the wrong type")),
        }
    }

    async fn save(&self, hash: &SessionHash, update: &SessionUpdate) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut invocation = self.save.key(self.record_key(hash));
        invocation.arg(RedisTime::encode(now));
        match update.touch {
            Some(touch) => invocation
                .arg("1")
                .arg(RedisTime::encode(touch.last_seen))
                .arg(RedisTime::encode(touch.expires_at))
                .arg(RedisTime::ttl_millis(touch.expires_at, now).unwrap_or(0)),
            None => invocation.arg("0").arg("").arg("").arg(0),
        };
        invocation.arg(&self.index_prefix);
        // Removed, then set (as MemoryStore applies them): a key in both ends up set.
        let removed: Vec<&String> = update
            .remove
            .iter()
            .filter(|name| !update.set.contains_key(*name))
            .collect();
        invocation.arg(removed.len());
        for name in removed {
            invocation.arg(format!("{DATA}{name}"));
        }
        for (name, value) in &update.set {
            invocation.arg(format!("{DATA}{name}")).arg(value);
        }
        Ok(self.invoke::<i64>(invocation).await? == 1)
    }

    async fn delete(&self, hash: &SessionHash) -> Result<bool, StoreError> {
        let mut invocation = self.delete.key(self.record_key(hash));
        invocation.arg(&self.index_prefix).arg(hash.to_hex());
        Ok(self.invoke::<i64>(invocation).await? > 0)
    }

    async fn delete_user(
        &self,
        user: &str,
        keep: Option<&SessionHash>,
    ) -> Result<usize, StoreError> {
        let mut invocation = self.delete_user.key(self.user_key(user));
        invocation
            .arg(&self.record_prefix)
            .arg(keep.map(SessionHash::to_hex).unwrap_or_default());
        let deleted: u64 = self.invoke(invocation).await?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    async fn list_user(&self, user: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let mut invocation = self.list_user.key(self.user_key(user));
        invocation
            .arg(RedisTime::encode(self.clock.now()))
            .arg(&self.record_prefix);
        let values: Vec<Value> = self.invoke(invocation).await?;
        let mut list = parse_infos(&values, user)?;
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.hash.cmp(&b.hash)));
        Ok(list)
    }
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_through_hex() {
        let hash = SessionHash::from_bytes(std::array::from_fn(|i| (i * 37) as u8));
        assert_eq!(parse_hash(&hash.to_hex()).unwrap(), hash);
        assert!(parse_hash("00").is_err());
        assert!(parse_hash(&"G".repeat(64)).is_err());
    }

    #[test]
    fn records_without_required_fields_are_refused() {
        let hash = SessionHash::from_bytes([7; 32]);
        assert!(matches!(
            parse_record(hash, [(&b"sc"[..], &b"a"[..])]),
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn hgetall_replies_parse_in_place_and_bad_ones_are_refused() {
        let hash = SessionHash::from_bytes([7; 32]);
        let time = "00001700000000000000";
        let token = URL_SAFE_NO_PAD.encode([9_u8; CSRF_TOKEN_LEN]);
        let fields = [
            ("u", "alice"),
            ("sc", "read write"),
            ("c", time),
            ("s", time),
            ("e", time),
            ("t", token.as_str()),
            ("d:cart", "[1,2]"),
            ("d:", "\"empty key\""),
            ("x", "an unknown field is ignored"),
        ];
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let resp2 = Value::Array(
            fields
                .iter()
                .flat_map(|(n, v)| [bulk(n), bulk(v)])
                .collect(),
        );
        let resp3 = Value::Map(fields.iter().map(|(n, v)| (bulk(n), bulk(v))).collect());
        for reply in [&resp2, &resp3] {
            let record = parse_record(hash, hash_fields(reply).unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(record.user.as_deref(), Some("alice"));
            assert_eq!(record.scopes.to_string(), "read write");
            assert_eq!(record.authenticated_at, None);
            assert_eq!(record.csrf_token.expose_bytes(), &[9; CSRF_TOKEN_LEN]);
            assert_eq!(record.data.len(), 2);
            assert_eq!(record.data["cart"], "[1,2]");
        }
        assert_eq!(
            parse_record(hash, hash_fields(&Value::Nil).unwrap()).unwrap(),
            None
        );
        assert_eq!(
            parse_record(hash, hash_fields(&Value::Array(Vec::new())).unwrap()).unwrap(),
            None
        );
        // An odd field count, a field that is not a string, a reply of the wrong type.
        assert!(hash_fields(&Value::Array(vec![bulk("u")])).is_err());
        assert!(hash_fields(&Value::Array(vec![bulk("u"), Value::Int(1)])).is_err());
        assert!(hash_fields(&Value::Int(1)).is_err());
        // Bytes that are not UTF-8, a bad CSRF token.
        assert!(parse_record(hash, [(&b"u"[..], &b"\xff"[..])]).is_err());
        assert!(parse_record(hash, [(&b"t"[..], &b"short"[..])]).is_err());
    }
}
