//! The guides under `docs/` are tested: every line of every ```sh block runs, as written, with
//! bash, on a fresh demo database, in order; it must exit 0 (or the code a trailing
//! `# → exit N` names). A `# as USER` line runs what follows with that demo user's session
//! (`# as nobody`: none). Other blocks (```text, ```ini, ```cron…) are configuration and
//! examples for other programs, shown, not run.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::*;

struct Line {
    number: usize,
    user: Option<String>,
    command: String,
    exit: i32,
}

fn runnable_lines(markdown: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut in_other = false;
    let mut user: Option<String> = None;
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in markdown.lines().enumerate() {
        let line = raw.trim_end();
        if let Some(info) = line.trim_start().strip_prefix("```") {
            if in_sh || in_other {
                in_sh = false;
                in_other = false;
            } else if info.trim() == "sh" {
                in_sh = true;
            } else {
                in_other = true;
            }
            continue;
        }
        if !in_sh {
            continue;
        }
        if let Some((start, mut text)) = pending.take() {
            text.push('\n');
            text.push_str(line);
            if line.ends_with('\\') {
                pending = Some((start, text));
            } else {
                out.push(finish(start, user.clone(), &text));
            }
            continue;
        }
        let t = line.trim();
        if let Some(who) = t.strip_prefix("# as ") {
            user = (who.trim() != "nobody").then(|| who.trim().to_string());
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.ends_with('\\') {
            pending = Some((i + 1, line.to_string()));
        } else {
            out.push(finish(i + 1, user.clone(), line));
        }
    }
    out
}

/// A line and the exit code its `# → exit N` comment expects (0 without one).
fn finish(number: usize, user: Option<String>, text: &str) -> Line {
    let (command, exit) = match text.rsplit_once("# → exit ") {
        Some((cmd, code)) => (cmd.trim_end().to_string(), code.trim().parse().expect("an exit code")),
        None => (text.to_string(), 0),
    };
    Line { number, user, command, exit }
}

fn run_guide(name: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines = runnable_lines(&text);
    let mut w = World::demo();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rolo")).parent().expect("bin dir").to_path_buf();
    let path_var = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    for line in &lines {
        let token = line.user.as_ref().map(|u| w.token(u));
        let template = w.command();
        let mut c = Command::new("bash");
        for (k, v) in template.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c.env("PATH", &path_var).current_dir(w.home()).arg("-c").arg(&line.command);
        c.stdin(Stdio::null());
        if let Some(t) = token {
            c.env("ROLO_TOKEN", t);
        }
        let out = w.run_cmd(c, None);
        assert_eq!(
            out.code,
            line.exit,
            "docs/{name}:{} as {}: `{}`\nstdout: {}\nstderr: {}",
            line.number,
            line.user.as_deref().unwrap_or("nobody"),
            line.command,
            out.stdout,
            out.stderr
        );
    }
    lines.len()
}

#[test]
fn every_command_of_the_staff_guide_runs_as_written() {
    assert!(run_guide("staff-guide.md") >= 40);
}

#[test]
fn every_command_of_the_administrators_guide_runs_as_written() {
    assert!(run_guide("admin-guide.md") >= 15);
}

#[test]
fn the_reader_understands_what_runs() {
    let lines = runnable_lines(
        "x\n```sh\n# as bill\nrolo client list \\\n  --mine\nrolo a # → exit 5\n```\n```text\nnot run\n```\n```sh\n# as nobody\nrolo b\n```\n",
    );
    let seen: Vec<(usize, Option<&str>, &str, i32)> =
        lines.iter().map(|l| (l.number, l.user.as_deref(), l.command.as_str(), l.exit)).collect();
    assert_eq!(
        seen,
        [
            (4, Some("bill"), "rolo client list \\\n  --mine", 0),
            (6, Some("bill"), "rolo a", 5),
            (13, None, "rolo b", 0)
        ]
    );
}
