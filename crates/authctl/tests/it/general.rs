//! Help, completions, exit codes of usage errors, and secrets refused on the command line.

use crate::support::authctl;

#[test]
fn help_teaches_the_exit_codes_and_the_secret_inputs() {
    let out = authctl(["--help"]).run().ok();
    for text in [
        "Exit codes:",
        "0  success",
        "1  refused",
        "2  usage error",
        "3  store or I/O error",
        "--password-stdin",
        "$AUTHCTL_STORE",
        "0600",
        "--json",
    ] {
        assert!(
            out.stdout.contains(text),
            "--help lacks {text:?}:\n{}",
            out.stdout
        );
    }
    // Every command and subcommand has help that runs.
    for args in [
        vec!["password", "hash"],
        vec!["password", "verify"],
        vec!["apikey", "create"],
        vec!["apikey", "list"],
        vec!["apikey", "revoke"],
        vec!["apikey", "rotate"],
        vec!["user", "add"],
        vec!["user", "disable"],
        vec!["user", "enable"],
        vec!["user", "passwd"],
        vec!["jwt", "keygen"],
        vec!["jwt", "jwks"],
        vec!["jwt", "sign"],
        vec!["jwt", "inspect"],
        vec!["hmac", "sign"],
        vec!["hmac", "verify"],
        vec!["session", "list"],
        vec!["session", "revoke"],
        vec!["oauth", "client", "add"],
        vec!["oauth", "client", "list"],
        vec!["oauth", "client", "rotate-secret"],
        vec!["oauth", "client", "disable"],
        vec!["completions"],
    ] {
        let mut full = args.clone();
        full.push("--help");
        let out = authctl(&full).run().ok();
        assert!(
            out.stdout.contains("Usage: authctl"),
            "{args:?}: {}",
            out.stdout
        );
    }
    let inspect = authctl(["jwt", "inspect", "--help"]).run().ok();
    assert!(inspect.stdout.contains("exactly why"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef authctl"),
        ("fish", "complete -c authctl"),
    ] {
        let out = authctl(["completions", shell]).run().ok();
        assert!(out.stdout.contains(marker), "{shell}: {}", out.stdout);
        assert!(out.stdout.contains("apikey"), "{shell} lacks subcommands");
    }
}

#[test]
fn usage_errors_exit_2() {
    authctl(["no-such-command"]).run().code(2);
    authctl(["apikey", "create"]).run().code(2);
    authctl(["jwt", "keygen", "--alg", "none", "--out", "x"])
        .run()
        .code(2);
}

#[test]
fn secrets_on_the_command_line_are_refused() {
    let out = authctl(["password", "hash", "--password", "hunter2hunter2"])
        .run()
        .code(2);
    assert!(
        out.stderr.contains("never taken from the command line"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2"));

    let out = authctl([
        "hmac",
        "verify",
        "--key-id",
        "k",
        "--secret",
        "s3cr3t",
        "GET",
        "https://a.example/",
    ])
    .run()
    .code(2);
    assert!(
        out.stderr.contains("never taken from the command line"),
        "{}",
        out.stderr
    );

    // A store URL with a password: only from the environment.
    let out = authctl([
        "apikey",
        "list",
        "--owner",
        "x",
        "--store",
        "postgres://admin:pa55word@127.0.0.1:1/db",
    ])
    .run()
    .code(2);
    assert!(out.stderr.contains("AUTHCTL_STORE"), "{}", out.stderr);
    assert!(!out.stderr.contains("pa55word"));
    let out = authctl([
        "session",
        "list",
        "--user",
        "u",
        "--redis",
        "redis://:pw@127.0.0.1:1",
    ])
    .run()
    .code(2);
    assert!(out.stderr.contains("AUTHCTL_REDIS"), "{}", out.stderr);
}

#[test]
fn unreachable_stores_exit_3() {
    // Nothing listens on port 1; the store's own timeout bounds the wait.
    let out = authctl(["--json", "apikey", "list", "--owner", "x"])
        .env("AUTHCTL_STORE", "postgres://postgres@127.0.0.1:1/test")
        .run()
        .code(3);
    assert_eq!(out.error_json()["kind"], "store");
    authctl([
        "session",
        "list",
        "--user",
        "u",
        "--redis",
        "redis://127.0.0.1:1",
    ])
    .run()
    .code(3);
    authctl(["jwt", "jwks", "/nonexistent/key.pem"])
        .run()
        .code(3);
}
