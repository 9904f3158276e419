//! The session token in a real OS keyring: GNOME Keyring's Secret Service on a private D-Bus
//! session. `.ci/run` installs `gnome-keyring` and `dbus`; on CI a missing tool is a failure,
//! elsewhere the test says it could not run.

use std::process::Command;

use crate::harness::*;

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// Whether a Secret Service can be started here; on CI its absence is a failure, not a skip.
pub fn keyring_available() -> bool {
    let ok = have("dbus-run-session") && have("gnome-keyring-daemon");
    if !ok {
        assert!(std::env::var("CI").is_err(), "CI must provide dbus-run-session and gnome-keyring-daemon");
        eprintln!("SKIPPED: no dbus-run-session/gnome-keyring-daemon on this machine");
    }
    ok
}

/// `sh -c script` in a private D-Bus session, with the environment of `base` (a world's
/// command and its extra variables).
pub fn in_dbus_session(base: &Command, script: &str) -> Command {
    let mut c = Command::new("dbus-run-session");
    c.args(["--", "sh", "-c", script]);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

#[test]
fn with_the_keyring_store_no_file_holds_the_raw_token() {
    if !keyring_available() {
        return;
    }
    let mut w = World::new();
    w.init();
    // Forget the file-store login made by init.
    w.run(&["logout"]).ok();
    let rolo = env!("CARGO_BIN_EXE_rolo");
    let script = format!(
        r#"set -e
eval "$(printf '\n' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
printf '%s\n' "$PW" | "{rolo}" login --username admin --password-stdin
"{rolo}" whoami --format json
# A second command in the same session reads the token back from the keyring.
"{rolo}" user list --format csv >/dev/null
if command -v secret-tool >/dev/null; then secret-tool lookup service rolo username "db:$ROLO_DB_REAL" | head -c 20; echo; fi
"#
    );
    let mut c = w.command();
    c.env("ROLO_TOKEN_STORE", "keyring")
        .env("PW", ADMIN_PASSWORD)
        .env("ROLO_DB_REAL", std::fs::canonicalize(&w.db).expect("canonical"));
    let out = w.run_cmd(in_dbus_session(&c, &script), None);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\"username\": \"admin\""), "{out:?}");
    assert!(out.stderr.contains("system keyring"), "login must say where the session went: {out:?}");
    if have("secret-tool") {
        assert!(out.stdout.contains("{\"access\":\"rolo_at_"), "the keyring holds the session: {out:?}");
    }
    // No file in Rolo's config and data directories, nor the database folder, holds a raw token.
    checkpoint(&w.db);
    let dirs = [
        w.home().join("config").join("rolo"),
        w.home().join("share").join("rolo"),
        w.db.parent().expect("db dir").to_path_buf(),
    ];
    let files: Vec<_> = dirs.iter().flat_map(|d| files_under(d)).collect();
    assert!(!files.is_empty());
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("rolo_at_") && !text.contains("rolo_rt_"), "raw token in {}", f.display());
    }
    assert!(
        !files_under(&w.home().join("config")).iter().any(|p| p.extension().is_some_and(|e| e == "token")),
        "no token file with the keyring store"
    );
}

#[test]
fn the_file_store_is_0600_and_announced_when_no_keyring_answers() {
    let mut w = World::new();
    w.init_only();
    // Automatic choice with no D-Bus session at all: the file, with a warning.
    let mut c = w.command();
    c.env_remove("ROLO_TOKEN_STORE")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("XDG_RUNTIME_DIR", w.home().join("no-runtime"))
        .args(["login", "--username", ADMIN, "--password-stdin"]);
    let out = w.run_cmd(c, Some(ADMIN_PASSWORD)).ok();
    assert!(out.stderr.contains("no system keyring is reachable"), "{out:?}");
    let token_file = files_under(&w.home().join("config"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "token"))
        .expect("token file");
    assert_eq!(mode_of(&token_file), 0o600);
    assert_eq!(mode_of(token_file.parent().expect("dir")), 0o700);
    // Later commands find it without probing the keyring again.
    let mut c = w.command();
    c.env_remove("ROLO_TOKEN_STORE").env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus").arg("whoami");
    w.run_cmd(c, None).ok();
    let _ = w.token(ADMIN);
}

#[test]
fn a_keyring_login_is_not_shadowed_by_an_old_token_file_and_script_logouts_keep_it() {
    if !keyring_available() {
        return;
    }
    let mut w = World::new();
    w.init(); // leaves a token file (ROLO_TOKEN_STORE=file)
    let rolo = env!("CARGO_BIN_EXE_rolo");
    // Automatic choice with a keyring: the login goes there and the old file goes away; a
    // script's logout (ROLO_TOKEN) revokes its own session only.
    let script = format!(
        r#"set -e
eval "$(printf '\n' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
printf '%s\n' "$PW" | "{rolo}" login --username admin --password-stdin
ls "$XDG_CONFIG_HOME/rolo/sessions" | grep -c token || true
t=$(printf '%s\n' "$PW" | "{rolo}" login --username admin --password-stdin --print-token)
ROLO_TOKEN=$t "{rolo}" logout
"{rolo}" whoami --format json
"#
    );
    let mut c = in_dbus_session(&w.command(), &script);
    c.env_remove("ROLO_TOKEN_STORE").env("PW", ADMIN_PASSWORD);
    let out = w.run_cmd(c, None);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("0\n"), "the old token file must be gone: {out:?}");
    assert!(
        out.stdout.contains("\"username\": \"admin\""),
        "the stored keyring login survives a script logout: {out:?}"
    );
}
