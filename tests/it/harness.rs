//! An isolated world per test: its own HOME, XDG folders and database, and the real binary.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-123";

pub struct World {
    pub dir: TempDir,
    pub db: PathBuf,
    tokens: HashMap<String, String>,
    /// Made by `init --demo`: accounts use the demo passwords.
    demo: bool,
    /// Extra environment for every command (SMTP settings…).
    pub env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        self
    }
}

pub fn password_of(username: &str) -> String {
    if username == ADMIN { ADMIN_PASSWORD.to_string() } else { format!("{username}-password-123") }
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("data").join("rolo.db");
        World { dir, db, tokens: HashMap::new(), demo: false, env: Vec::new() }
    }

    /// A world on the demo database (`rolo init --demo`).
    pub fn demo() -> World {
        let mut w = World::new();
        w.run(&["init", "--demo"]).ok();
        w.demo = true;
        w
    }

    /// A world on the demo database encrypted with `key` (`rolo init --demo --encrypt`, the key
    /// in ROLO_DB_KEY for every command).
    pub fn encrypted_demo(key: &str) -> World {
        let mut w = World::new();
        w.env.push(("ROLO_DB_KEY".into(), key.into()));
        w.run(&["init", "--demo", "--encrypt"]).ok();
        w.demo = true;
        w
    }

    fn password(&self, user: &str) -> String {
        if self.demo { format!("{user}-demo-password") } else { password_of(user) }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The binary with this world's environment and nothing inherited that could leak in.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rolo"));
        for var in [
            "ROLO_TOKEN",
            "ROLO_PASSWORD",
            "ROLO_NEW_PASSWORD",
            "SENTRY_DSN",
            "ROLO_CONFIG",
            "ROLO_NO_INPUT",
            "DBUS_SESSION_BUS_ADDRESS",
        ] {
            c.env_remove(var);
        }
        c.env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join("config"))
            .env("XDG_DATA_HOME", self.home().join("share"))
            .env("ROLO_DB", &self.db)
            .env("ROLO_TOKEN_STORE", "file")
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        for var in ["ROLO_SMTP_URL", "ROLO_SMTP_FROM"] {
            c.env_remove(var);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run_cmd(&self, mut c: Command, stdin: Option<&str>) -> Out {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c.spawn().expect("spawn rolo");
        if let Some(input) = stdin {
            let mut s = child.stdin.take().expect("stdin");
            let _ = s.write_all(input.as_bytes());
        }
        let o = child.wait_with_output().expect("wait rolo");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Runs `rolo ARGS` with the stored session (if any).
    pub fn run(&self, args: &[&str]) -> Out {
        let mut c = self.command();
        c.args(args);
        self.run_cmd(c, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let mut c = self.command();
        c.args(args);
        self.run_cmd(c, Some(stdin))
    }

    /// Runs as `user`, through a token from `login --print-token` (cached).
    pub fn run_as(&mut self, user: &str, args: &[&str]) -> Out {
        let token = self.token(user);
        let mut c = self.command();
        c.env("ROLO_TOKEN", token).args(args);
        self.run_cmd(c, None)
    }

    /// Runs as `user` with `stdin` as the command's input.
    pub fn run_stdin_as(&mut self, user: &str, args: &[&str], stdin: &str) -> Out {
        let token = self.token(user);
        let mut c = self.command();
        c.env("ROLO_TOKEN", token).args(args);
        self.run_cmd(c, Some(stdin))
    }

    pub fn token(&mut self, user: &str) -> String {
        if let Some(t) = self.tokens.get(user) {
            return t.clone();
        }
        let out = self
            .run_stdin(&["login", "--username", user, "--password-stdin", "--print-token"], &self.password(user))
            .ok();
        let t = out.stdout.trim().to_string();
        assert!(t.starts_with("rolo_at_"), "{out:?}");
        self.tokens.insert(user.to_string(), t.clone());
        t
    }

    /// `rolo init` with the standard admin, without logging in.
    pub fn init_only(&mut self) -> &mut Self {
        self.run_stdin(
            &[
                "init",
                "--admin-username",
                ADMIN,
                "--admin-email",
                "admin@rolo.test",
                "--admin-name",
                "Ada Admin",
                "--password-stdin",
            ],
            ADMIN_PASSWORD,
        )
        .ok();
        self
    }

    /// `rolo init` with the standard admin, then a stored login as that admin.
    pub fn init(&mut self) -> &mut Self {
        self.init_only();
        self.login(ADMIN).ok();
        self
    }

    pub fn login(&self, user: &str) -> Out {
        self.run_stdin(&["login", "--username", user, "--password-stdin"], &self.password(user))
    }

    /// Creates a user with the given roles (as the admin) and the standard password.
    pub fn create_user(&mut self, username: &str, roles: &[&str]) -> Out {
        let email = format!("{username}@rolo.test");
        let name = format!("{} Tester", username);
        let mut args =
            vec!["user", "create", "--username", username, "--email", &email, "--name", &name, "--password-stdin"];
        for r in roles {
            args.push("--role");
            args.push(r);
        }
        let token = self.token(ADMIN);
        let mut c = self.command();
        c.env("ROLO_TOKEN", token).args(&args);
        self.run_cmd(c, Some(&password_of(username)))
    }

    /// On a demo world: a new account with the demo password scheme, made by the demo admin.
    pub fn create_user_as_demo_admin(&mut self, username: &str, role: &str) {
        let email = format!("{username}@rolo.test");
        let token = self.token(ADMIN);
        let mut c = self.command();
        c.env("ROLO_TOKEN", token).env("ROLO_NEW_PASSWORD", format!("{username}-demo-password")).args([
            "user",
            "create",
            "--username",
            username,
            "--email",
            &email,
            "--name",
            username,
            "--role",
            role,
        ]);
        self.run_cmd(c, None).ok();
    }

    pub fn sql(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(&self.db).expect("open db");
        c.busy_timeout(std::time::Duration::from_secs(10)).expect("busy timeout");
        c
    }

    /// Every table but the audit log, as text: "nothing changed" means this is equal.
    pub fn snapshot(&self) -> String {
        let c = self.sql();
        let mut tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit_log') ORDER BY name")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("tables")
            .collect::<Result<_, _>>()
            .expect("rows");
        tables.sort();
        let mut out = String::new();
        for t in tables {
            let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\" ORDER BY 1")).expect("select");
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                        .collect::<Result<Vec<_>, _>>()
                })
                .expect("query");
            for row in rows {
                out.push_str(&format!("{t}: {}\n", row.expect("row").join(" | ")));
            }
        }
        out
    }

    pub fn audit_count(&self, outcome: &str) -> i64 {
        self.sql()
            .query_row("SELECT count(*) FROM audit_log WHERE outcome = ?1", [outcome], |r| r.get(0))
            .expect("count")
    }
}

/// Folds the WAL into the main file so that a plain file copy is complete.
pub fn checkpoint(db: &Path) {
    let c = rusqlite::Connection::open(db).expect("open");
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}
