//! The command line: every command, flag and help text (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes and secret inputs, shown at the end of `--help`.
const AFTER_HELP: &str = "\
Exit codes:
  0  success (for checks: accepted / valid)
  1  refused: a verification failed, a token or signature would be refused, or the store
     refused the operation (unknown id or user, user exists, key not rotatable)
  2  usage error: bad flags, a secret offered on the command line, a missing input
  3  store or I/O error: database, Redis, a file, the network

Secrets never come from the command line (they would show in `ps` and shell history):
  passwords   --password-stdin, --password-file FILE, $AUTHCTL_PASSWORD, or a prompt
  other       --secret-file FILE, --pepper-file FILE, or the $AUTHCTL_* variable named in
              the command's help
  store URLs  with a password: only from $AUTHCTL_STORE / $AUTHCTL_REDIS
Files holding secrets are created with mode 0600 and never overwritten without --force.

Add --json to any command for one JSON object on stdout (errors stay on stderr).";

/// authctl: the operator's command line for auth-rs.
///
/// Mint and revoke API keys, add users and set passwords, generate JWT signing keys,
/// sign and inspect tokens (with the exact reason a token would be refused), sign and
/// check RFC 9421 HTTP message signatures, and end a user's sessions. Every command runs
/// through the auth-rs crates themselves, so what authctl accepts, your service accepts.
#[derive(Debug, Parser)]
#[command(name = "authctl", version, after_long_help = AFTER_HELP, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Print the result as one JSON object on stdout, for scripts.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Hash a password (argon2id, OWASP parameters) or check one against a hash.
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Create, list, revoke and rotate API keys in a SQL store.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Add users, disable them and set their passwords in a SQL store.
    #[command(subcommand)]
    User(UserCommand),
    /// Generate signing keys, publish a JWKS, sign tokens, and inspect why a token is refused.
    #[command(subcommand)]
    Jwt(JwtCommand),
    /// Sign a request with RFC 9421 HTTP message signatures (hmac-sha256), or check one.
    #[command(subcommand)]
    Hmac(HmacCommand),
    /// List and end a user's server-side sessions in Redis.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Register OAuth 2.0 clients of the token service, list them, rotate their secrets.
    #[command(subcommand)]
    Oauth(OauthCommand),
    /// Print a shell completion script: `authctl completions bash > /etc/bash_completion.d/authctl`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// The shells completions are generated for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
    /// Elvish.
    Elvish,
    /// PowerShell.
    Powershell,
}

// ---------------------------------------------------------------------------------------
// Shared argument groups
// ---------------------------------------------------------------------------------------

/// Where a password comes from. Never the command line.
#[derive(Debug, Args)]
pub(crate) struct PasswordSource {
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password_file")]
    pub(crate) password_stdin: bool,
    /// Read the password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Refused: a password on the command line shows in `ps` and shell history.
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub(crate) password: Option<String>,
}

/// The SQL store.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The database: `sqlite:PATH` (created when missing), `postgres://user@host/db`.
    /// Default: $AUTHCTL_STORE. A URL with a password is taken only from $AUTHCTL_STORE.
    /// The store's migrations run first (create or upgrade its tables).
    #[arg(long, value_name = "URL")]
    pub(crate) store: Option<String>,
    /// PostgreSQL only: the schema holding the tables (it must exist).
    #[arg(long, value_name = "NAME", env = "AUTHCTL_SCHEMA")]
    pub(crate) schema: Option<String>,
}

// ---------------------------------------------------------------------------------------
// password
// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub(crate) enum PasswordCommand {
    /// Hash a password with argon2id at the OWASP parameters (m=19456 KiB, t=2, p=1) and
    /// print the PHC string, e.g. for an htpasswd-style file or a user import.
    ///
    /// Example: `printf %s "$PW" | authctl password hash --password-stdin`
    Hash {
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Check a password against a PHC hash. Exit 0 when it matches (and say whether the
    /// hash should be upgraded), 1 when it does not.
    ///
    /// Example: `authctl password verify --hash-file alice.phc < pw.txt --password-stdin`
    Verify {
        /// The PHC string (argon2id, or bcrypt with the feature) to check against.
        /// Default: $AUTHCTL_PASSWORD_HASH.
        #[arg(long, value_name = "FILE")]
        hash_file: Option<PathBuf>,
        #[command(flatten)]
        password: PasswordSource,
    },
}

// ---------------------------------------------------------------------------------------
// apikey
// ---------------------------------------------------------------------------------------

/// How keys are hashed and formatted: must match the service.
#[derive(Debug, Args)]
pub(crate) struct KeyConfig {
    /// The key prefix the service expects (e.g. `myapp_live`): keys are
    /// `<prefix>_<43 random>_<checksum>`.
    #[arg(long, env = "AUTHCTL_APIKEY_PREFIX", value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// The service's pepper (at least 32 bytes), when it hashes keys with HMAC-SHA256.
    /// Default: $AUTHCTL_APIKEY_PEPPER. Without one, keys are hashed with SHA-256.
    #[arg(long, value_name = "FILE")]
    pub(crate) pepper_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApikeyCommand {
    /// Create a key. The key is printed once, on stdout; only its hash is stored.
    ///
    /// Example: `authctl apikey create --store sqlite:app.db --prefix myapp_live
    /// --owner billing --name export --scopes "invoices:read" --expires-in 90d`
    Create {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        config: KeyConfig,
        /// Who the key belongs to (the principal's subject).
        #[arg(long)]
        owner: String,
        /// A name for the key (e.g. what it is for).
        #[arg(long)]
        name: String,
        /// Space-delimited scopes the key grants.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Lifetime: `90d`, `12h`, `30m`, `45s` (default: one year).
        #[arg(long, value_name = "DURATION", conflicts_with = "never_expires")]
        expires_in: Option<String>,
        /// The key never expires.
        #[arg(long)]
        never_expires: bool,
    },
    /// List an owner's keys (metadata only: a key cannot be shown again).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// The owner whose keys to list.
        #[arg(long)]
        owner: String,
    },
    /// Revoke a key by id: refused from the next request on.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The key id (from `create` or `list`).
        id: String,
    },
    /// Rotate a key: a successor is created (printed once) and the old key keeps working
    /// for the grace period.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        config: KeyConfig,
        /// The key id.
        id: String,
        /// How long the old key keeps working: `1d`, `2h`, `0s` (default 1d).
        #[arg(long, value_name = "DURATION", default_value = "1d")]
        grace: String,
    },
}

// ---------------------------------------------------------------------------------------
// user
// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user with a password (hashed with argon2id before it reaches the store).
    ///
    /// Example: `authctl user add alice --scopes "orders:read" --store sqlite:app.db`
    /// (prompts for the password twice)
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// The user name (also the user's id).
        username: String,
        /// Space-delimited scopes the user is granted.
        #[arg(long, default_value = "")]
        scopes: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Disable a user: every login is refused until `user enable`.
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        /// The user name.
        username: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[command(flatten)]
        store: StoreArgs,
        /// The user name.
        username: String,
    },
    /// Set a user's password.
    Passwd {
        #[command(flatten)]
        store: StoreArgs,
        /// The user name.
        username: String,
        #[command(flatten)]
        password: PasswordSource,
    },
}

// ---------------------------------------------------------------------------------------
// jwt
// ---------------------------------------------------------------------------------------

/// The algorithms keys can be generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyAlg {
    /// ECDSA P-256 with SHA-256 (recommended).
    #[value(name = "ES256")]
    Es256,
    /// ECDSA P-384 with SHA-384.
    #[value(name = "ES384")]
    Es384,
    /// Ed25519.
    #[value(name = "EdDSA")]
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[value(name = "RS256")]
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[value(name = "RS384")]
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[value(name = "RS512")]
    Rs512,
    /// RSASSA-PSS with SHA-256.
    #[value(name = "PS256")]
    Ps256,
    /// RSASSA-PSS with SHA-384.
    #[value(name = "PS384")]
    Ps384,
    /// RSASSA-PSS with SHA-512.
    #[value(name = "PS512")]
    Ps512,
    /// HMAC with SHA-256 (a shared secret: never published in a JWKS).
    #[value(name = "HS256")]
    Hs256,
    /// HMAC with SHA-384.
    #[value(name = "HS384")]
    Hs384,
    /// HMAC with SHA-512.
    #[value(name = "HS512")]
    Hs512,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JwtCommand {
    /// Generate a signing key: the private key goes to FILE (mode 0600), the public JWK to
    /// stdout (or --jwk-out).
    ///
    /// The key file is PKCS#8 PEM with `kid:` and `alg:` lines above it (HMAC: a `secret:`
    /// line, base64url), so `jwt sign` and `jwt jwks` need no more flags. The kid defaults
    /// to the key's RFC 7638 thumbprint.
    ///
    /// Example: `authctl jwt keygen --alg ES256 --out signing.pem`
    Keygen {
        /// The algorithm the key is bound to.
        #[arg(long, value_enum)]
        alg: KeyAlg,
        /// Where to write the private key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The key id (default: the RFC 7638 thumbprint; HMAC: random).
        #[arg(long)]
        kid: Option<String>,
        /// RSA modulus size.
        #[arg(long, default_value = "2048", value_parser = ["2048", "3072", "4096"])]
        bits: String,
        /// Also write the public JWK to FILE.
        #[arg(long, value_name = "FILE")]
        jwk_out: Option<PathBuf>,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Print the public JWKS of key files (private or public PEM), to publish at
    /// `/.well-known/jwks.json`. HMAC keys are never published.
    ///
    /// Example: `authctl jwt jwks current.pem next.pem > jwks.json`
    Jwks {
        /// Key files.
        #[arg(required = true, value_name = "KEY_FILE")]
        keys: Vec<PathBuf>,
    },
    /// Sign a token: claims from flags, or a JSON object from a file (or `-` for stdin).
    ///
    /// Example: `authctl jwt sign --key signing.pem --sub alice --iss https://id.example
    /// --aud orders --claim scope="orders:read" --ttl 15m`
    Sign {
        #[command(flatten)]
        key: KeyFileArgs,
        /// The subject (`sub`).
        #[arg(long)]
        sub: Option<String>,
        /// The issuer (`iss`).
        #[arg(long)]
        iss: Option<String>,
        /// An audience (`aud`); repeat for several.
        #[arg(long)]
        aud: Vec<String>,
        /// Lifetime: `exp` = now + TTL (`15m`, `1h`, ...).
        #[arg(long, default_value = "15m", value_name = "DURATION")]
        ttl: String,
        /// The `typ` header (e.g. `at+jwt` for RFC 9068 access tokens).
        #[arg(long)]
        typ: Option<String>,
        /// A private claim NAME=VALUE; VALUE is JSON when it parses as JSON, else a string.
        #[arg(long, value_name = "NAME=VALUE")]
        claim: Vec<String>,
        /// A JSON object of claims, from FILE or `-` (stdin). `sub`, `iss` and `aud` in it
        /// are used when the flags are absent; `exp`, `iat`, `nbf`, `jti` are always set here.
        #[arg(long, value_name = "FILE")]
        claims: Option<PathBuf>,
    },
    /// Decode a token and say whether the auth-rs verifier would accept it, and if not,
    /// exactly why (its audit reason: jwt_expired, jwt_bad_signature, jwt_bad_alg, ...).
    ///
    /// The header and claims are shown even when the token is refused. Without --jwks or
    /// --key, only the checks that need no key run, and the verdict is `unverified`.
    /// Exit 0 only when the token is accepted.
    ///
    /// Example: `authctl jwt inspect - --jwks https://id.example/jwks.json --iss
    /// https://id.example --aud orders < token.txt`
    Inspect {
        /// The token, or `-` (default) to read it from stdin or $AUTHCTL_TOKEN. A live token
        /// on the command line shows in `ps` and shell history: prefer `-`.
        #[arg(default_value = "-")]
        token: String,
        /// The issuer's JWKS: an https:// URL (http:// for loopback) or a file.
        #[arg(long, value_name = "URL|FILE")]
        jwks: Option<String>,
        /// A key file (as written by `jwt keygen`, or a PEM); repeat for several. The way
        /// to check HMAC tokens.
        #[arg(long, value_name = "FILE")]
        key: Vec<PathBuf>,
        /// An accepted issuer; once given, `iss` is required.
        #[arg(long)]
        iss: Vec<String>,
        /// An accepted audience; once given, `aud` is required.
        #[arg(long)]
        aud: Vec<String>,
        /// The required `typ` (e.g. `at+jwt`).
        #[arg(long)]
        typ: Option<String>,
        /// Clock-skew leeway in seconds (at most 60).
        #[arg(long, default_value_t = 30)]
        leeway: u64,
    },
}

/// A key file and what to override in it.
#[derive(Debug, Args)]
pub(crate) struct KeyFileArgs {
    /// The signing key file (from `jwt keygen`, or any PKCS#8 / PKCS#1 PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// The kid (default: the file's `kid:` line, else the RFC 7638 thumbprint).
    #[arg(long)]
    pub(crate) kid: Option<String>,
    /// The algorithm (default: the file's `alg:` line, else from the key type; RSA: RS256).
    #[arg(long, value_enum)]
    pub(crate) alg: Option<KeyAlg>,
}

// ---------------------------------------------------------------------------------------
// hmac
// ---------------------------------------------------------------------------------------

/// The shared key of an HMAC signature.
#[derive(Debug, Args)]
pub(crate) struct HmacKeyArgs {
    /// The key id (`keyid`) the server knows the secret by.
    #[arg(long)]
    pub(crate) key_id: String,
    /// The shared secret (at least 32 bytes): the file's bytes, one trailing newline
    /// removed. Default: $AUTHCTL_HMAC_SECRET.
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_file: Option<PathBuf>,
    /// Refused: a secret on the command line shows in `ps` and shell history.
    #[arg(long, hide = true)]
    pub(crate) secret: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HmacCommand {
    /// Sign a request: print the `Signature-Input`, `Signature` (and `Content-Digest`)
    /// headers, or with --curl a ready curl command.
    ///
    /// Covers @method, @target-uri, any --cover fields, and the body through
    /// Content-Digest; adds created, a random nonce and keyid (what the auth-rs verifier
    /// requires by default).
    ///
    /// Example: `authctl hmac sign --key-id billing-1 --secret-file billing.key POST
    /// https://api.example.com/orders --body order.json --header "Content-Type:
    /// application/json" --cover content-type --curl | sh`
    Sign {
        #[command(flatten)]
        key: HmacKeyArgs,
        /// The HTTP method.
        method: String,
        /// The absolute request URL.
        url: String,
        /// The request body, from FILE.
        #[arg(long, value_name = "FILE")]
        body: Option<PathBuf>,
        /// A request header "Name: value" (repeat); needed for every --cover field.
        #[arg(long, value_name = "NAME: VALUE")]
        header: Vec<String>,
        /// Also cover this header field (repeat).
        #[arg(long, value_name = "FIELD")]
        cover: Vec<String>,
        /// Print a curl command instead of the headers.
        #[arg(long)]
        curl: bool,
    },
    /// Check a signed request as the auth-rs verifier would (default policy), and say why
    /// it would be refused. Exit 0 when it verifies, 1 when refused.
    ///
    /// Example: `authctl hmac verify --key-id billing-1 --secret-file billing.key POST
    /// https://api.example.com/orders --body order.json --header "Signature-Input: ..."
    /// --header "Signature: ..." --header "Content-Digest: ..."`
    Verify {
        #[command(flatten)]
        key: HmacKeyArgs,
        /// The HTTP method.
        method: String,
        /// The absolute request URL.
        url: String,
        /// The request body, from FILE.
        #[arg(long, value_name = "FILE")]
        body: Option<PathBuf>,
        /// A request header "Name: value" (repeat): at least Signature-Input and Signature.
        #[arg(long, value_name = "NAME: VALUE")]
        header: Vec<String>,
        /// The oldest `created` accepted, in seconds.
        #[arg(long, default_value_t = 300)]
        max_age: u64,
    },
}

// ---------------------------------------------------------------------------------------
// session
// ---------------------------------------------------------------------------------------

/// The Redis holding the sessions.
#[derive(Debug, Args)]
pub(crate) struct RedisArgs {
    /// The Redis URL (`redis://host:6379/0`). Default: $AUTHCTL_REDIS. A URL with a
    /// password is taken only from $AUTHCTL_REDIS.
    #[arg(long, value_name = "URL")]
    pub(crate) redis: Option<String>,
    /// The application's key prefix.
    #[arg(long, env = "AUTHCTL_REDIS_NAMESPACE", default_value = "auth:")]
    pub(crate) namespace: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// List a user's live sessions (fingerprints and times; never a session id).
    ///
    /// Example: `authctl session list --user alice --redis redis://127.0.0.1:6379`
    List {
        #[command(flatten)]
        redis: RedisArgs,
        /// The user.
        #[arg(long)]
        user: String,
    },
    /// End one session of a user (by fingerprint, from `list`) or all of them ("log out
    /// everywhere", e.g. after a password change).
    ///
    /// Example: `authctl session revoke --user alice --all --redis redis://127.0.0.1:6379`
    Revoke {
        #[command(flatten)]
        redis: RedisArgs,
        /// The user.
        #[arg(long)]
        user: String,
        /// The session's fingerprint (or hash), from `session list`.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        session: Option<String>,
        /// Every session of the user.
        #[arg(long)]
        all: bool,
    },
}

// ---------------------------------------------------------------------------------------
// oauth
// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub(crate) enum OauthCommand {
    /// The token service's registered clients (auth-oauth2's SQL client registry).
    #[command(subcommand)]
    Client(ClientCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client. A confidential client's secret (256 random bits) is printed
    /// once, on stdout; only its SHA-256 is stored.
    ///
    /// Example: `authctl oauth client add billing --grant client_credentials --scopes
    /// "orders:read" --audience https://api.example.com/orders --store sqlite:app.db`
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// The client id.
        id: String,
        /// A grant it may use: client_credentials (default), authorization_code,
        /// refresh_token; repeat for several.
        #[arg(long, value_name = "GRANT")]
        grant: Vec<String>,
        /// Space-delimited scopes it may be granted.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Space-delimited scopes it gets when it asks for none.
        #[arg(long, value_name = "SCOPES")]
        default_scopes: Option<String>,
        /// An audience it may get tokens for (the first is the default); repeat.
        #[arg(long, value_name = "URI")]
        audience: Vec<String>,
        /// A redirect URI (authorization code grant), compared exactly; repeat.
        #[arg(long, value_name = "URI")]
        redirect_uri: Vec<String>,
        /// Client credentials responses carry a refresh token.
        #[arg(long)]
        refresh_tokens: bool,
        /// A public client (a browser or native app: no secret, PKCE required).
        #[arg(long)]
        public: bool,
    },
    /// List the registered clients (never a secret or its hash).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give a confidential client a new secret, printed once. The old one stops working at
    /// once, on every instance.
    RotateSecret {
        #[command(flatten)]
        store: StoreArgs,
        /// The client id.
        id: String,
    },
    /// Disable a client: it can no longer authenticate.
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        /// The client id.
        id: String,
    },
}
