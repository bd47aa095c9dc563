//! What every command shares: the failure type and exit codes, output, secret inputs,
//! private files, durations and times.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::Secret;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::cli::PasswordSource;

/// Exit code: a verification failed or the operation was refused.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// Exit code: bad usage (clap uses 2 as well).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: a store, network or file error.
pub(crate) const EXIT_STORE: u8 = 3;

/// Why a command failed, which decides the exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Exit 1: refused (the reason code, when there is one, and a sentence).
    Refused {
        reason: &'static str,
        message: String,
    },
    /// Exit 2: usage.
    Usage(String),
    /// Exit 3: store, network or I/O.
    Store(String),
}

impl Failure {
    pub(crate) fn refused(reason: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            reason,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    pub(crate) fn store(message: impl fmt::Display) -> Self {
        Self::Store(message.to_string())
    }

    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::Refused { .. } => EXIT_REFUSED,
            Self::Usage(_) => EXIT_USAGE,
            Self::Store(_) => EXIT_STORE,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Refused { .. } => "refused",
            Self::Usage(_) => "usage",
            Self::Store(_) => "store",
        }
    }

    /// Prints the failure on stderr (JSON with `--json`) and gives the exit code.
    pub(crate) fn report(&self, json: bool) -> ExitCode {
        let message = match self {
            Self::Refused { message, .. } | Self::Usage(message) | Self::Store(message) => message,
        };
        if json {
            let mut value = serde_json::json!({"error": message, "kind": self.kind()});
            if let Self::Refused { reason, .. } = self {
                value["reason"] = Value::from(*reason);
            }
            eprintln!("{value}");
        } else {
            eprintln!("authctl: {message}");
        }
        ExitCode::from(self.code())
    }
}

/// A command's result.
pub(crate) type Result<T, E = Failure> = std::result::Result<T, E>;

/// A decision a check command reached: printed by the command, then the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Exit 0.
    Ok,
    /// Exit 1 (already explained on stdout).
    Refused,
}

/// Prints results: JSON on one line with `--json`, text otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    pub(crate) json: bool,
}

impl Out {
    /// Prints `value` as JSON, or `text()` for people.
    pub(crate) fn emit(self, value: &Value, text: impl FnOnce() -> String) {
        // A closed pipe (`authctl ... | head`) is not an error worth a panic.
        let mut stdout = io::stdout().lock();
        let _ = if self.json {
            writeln!(stdout, "{value}")
        } else {
            let text = text();
            if text.ends_with('\n') {
                write!(stdout, "{text}")
            } else {
                writeln!(stdout, "{text}")
            }
        };
    }

    /// A note for people on stderr (nothing with `--json`).
    pub(crate) fn note(self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Secret inputs
// ---------------------------------------------------------------------------------------

/// The environment variable a password is read from.
pub(crate) const PASSWORD_ENV: &str = "AUTHCTL_PASSWORD";

/// Reads a password: `--password-stdin`, `--password-file`, `$AUTHCTL_PASSWORD`, or a
/// prompt on the terminal (twice when `confirm`).
pub(crate) fn read_password(source: &PasswordSource, confirm: bool) -> Result<Zeroizing<String>> {
    if source.password.is_some() {
        return Err(Failure::usage(
            "passwords are never taken from the command line: use --password-stdin, \
             --password-file FILE, $AUTHCTL_PASSWORD or the prompt",
        ));
    }
    let password = if source.password_stdin {
        first_line(&mut io::stdin().lock(), "standard input")?
    } else if let Some(path) = &source.password_file {
        let file = File::open(path)
            .map_err(|e| Failure::store(format!("cannot read {}: {e}", path.display())))?;
        first_line(&mut io::BufReader::new(file), &path.display().to_string())?
    } else if let Some(value) = std::env::var_os(PASSWORD_ENV) {
        Zeroizing::new(
            value
                .into_string()
                .map_err(|_| Failure::usage(format!("${PASSWORD_ENV} is not valid UTF-8")))?,
        )
    } else {
        let first = prompt("Password: ")?;
        if confirm {
            let second = prompt("Repeat the password: ")?;
            if *first != *second {
                return Err(Failure::usage("the two passwords differ"));
            }
        }
        first
    };
    if password.is_empty() {
        return Err(Failure::usage("the password is empty"));
    }
    Ok(password)
}

fn prompt(text: &str) -> Result<Zeroizing<String>> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| {
            Failure::usage(format!(
                "no password given and no terminal to ask on ({e}): use --password-stdin, \
             --password-file FILE or ${PASSWORD_ENV}"
            ))
        })
}

fn first_line(reader: &mut dyn BufRead, what: &str) -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    reader
        .read_line(&mut line)
        .map_err(|e| Failure::store(format!("cannot read {what}: {e}")))?;
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(line)
}

/// A secret from `file`, else from the environment variable `env`: the bytes, with one
/// trailing newline (`\n` or `\r\n`) removed.
pub(crate) fn read_secret(
    file: Option<&Path>,
    env: &str,
    on_argv: bool,
    what: &str,
) -> Result<Option<Secret>> {
    if on_argv {
        return Err(Failure::usage(format!(
            "a {what} is never taken from the command line: use --secret-file FILE or ${env}"
        )));
    }
    let mut bytes = match file {
        Some(path) => Zeroizing::new(
            fs::read(path)
                .map_err(|e| Failure::store(format!("cannot read {}: {e}", path.display())))?,
        ),
        None => match std::env::var_os(env) {
            Some(value) => Zeroizing::new(value.into_encoded_bytes()),
            None => return Ok(None),
        },
    };
    let len = bytes.len();
    if bytes.ends_with(b"\r\n") {
        bytes.truncate(len - 2);
    } else if bytes.ends_with(b"\n") {
        bytes.truncate(len - 1);
    }
    if bytes.is_empty() {
        return Err(Failure::usage(format!("the {what} is empty")));
    }
    Ok(Some(Secret::new(bytes.to_vec())))
}

/// Reads a whole file, or stdin for `-`.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::store(format!("cannot read standard input: {e}")))?;
        Ok(buf)
    } else {
        fs::read(path).map_err(|e| Failure::store(format!("cannot read {}: {e}", path.display())))
    }
}

/// A URL from the flag, else from `env`. A URL with a password is refused on the command
/// line (it would show in `ps`).
pub(crate) fn url_from(flag: Option<&str>, env: &str, flag_name: &str) -> Result<String> {
    if let Some(url) = flag {
        if url_has_password(url) {
            return Err(Failure::usage(format!(
                "{flag_name} carries a password: pass that URL in ${env} instead"
            )));
        }
        return Ok(url.to_owned());
    }
    std::env::var(env)
        .map_err(|_| Failure::usage(format!("no {flag_name} given and ${env} is not set")))
}

fn url_has_password(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.password().is_some())
}

// ---------------------------------------------------------------------------------------
// Output files
// ---------------------------------------------------------------------------------------

/// Writes `contents` to a new file at `path`, mode 0600 on Unix. An existing file is an
/// error unless `force` (then it is replaced by a fresh 0600 file).
pub(crate) fn write_private_file(path: &Path, contents: &[u8], force: bool) -> Result<()> {
    write_new_file(path, contents, force, 0o600)
}

/// Writes a public file (mode 0644 on Unix) under the same no-overwrite rule.
pub(crate) fn write_public_file(path: &Path, contents: &[u8], force: bool) -> Result<()> {
    write_new_file(path, contents, force, 0o644)
}

fn write_new_file(path: &Path, contents: &[u8], force: bool, mode: u32) -> Result<()> {
    if force {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Failure::store(format!(
                    "cannot replace {}: {e}",
                    path.display()
                )));
            }
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Failure::usage(format!(
                "{} exists: not overwritten (use --force)",
                path.display()
            ))
        } else {
            Failure::store(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::store(format!("cannot write {}: {e}", path.display())))
}

// ---------------------------------------------------------------------------------------
// Durations and times
// ---------------------------------------------------------------------------------------

/// `90d`, `12h`, `30m`, `45s` (a plain number is seconds).
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| Failure::usage(format!("invalid duration {text:?} (e.g. 90d, 12h, 30m)")))?;
    let seconds = match unit {
        "s" => Some(value),
        "m" => value.checked_mul(60),
        "h" => value.checked_mul(3600),
        "d" => value.checked_mul(86_400),
        "w" => value.checked_mul(7 * 86_400),
        _ => None,
    }
    .ok_or_else(|| {
        Failure::usage(format!(
            "invalid duration {text:?}: use a number with s, m, h, d or w"
        ))
    })?;
    Ok(Duration::from_secs(seconds))
}

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// RFC 3339 in UTC (`2026-11-28T11:42:00Z`) for Unix seconds.
pub(crate) fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms", days_from_civil inverse).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A time for people: RFC 3339, or `-`.
pub(crate) fn when(time: Option<SystemTime>) -> String {
    time.map_or_else(|| "-".to_owned(), |t| rfc3339(unix(t)))
}

/// A time for JSON: Unix seconds, or `null`.
pub(crate) fn when_json(time: Option<SystemTime>) -> Value {
    time.map_or(Value::Null, |t| Value::from(unix(t)))
}

/// A single-threaded Tokio runtime for the store commands.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::store(format!("cannot start the async runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(
            parse_duration("90d").unwrap(),
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn passwords_in_urls_are_detected() {
        assert!(url_has_password("postgres://u:secret@db/x"));
        assert!(!url_has_password("postgres://u@db/x"));
        assert!(!url_has_password("sqlite:app.db"));
    }
}
