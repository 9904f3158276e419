//! The public interface, pinned: `--help` of every command and the main table and JSON outputs
//! on the demo database. An unintended change fails here; an intended one is reviewed in the
//! snapshot diff (`INSTA_UPDATE=always cargo test` rewrites them).

use clap::CommandFactory;
use serde_json::Value;

use crate::harness::*;

/// Every command path of the tree: `rolo`, `rolo client`, `rolo client list`…
fn commands(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
    out.push((path.clone(), cmd.clone()));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let mut p = path.clone();
        p.push(sub.get_name().to_string());
        commands(sub, p, out);
    }
}

#[test]
fn help_of_every_command() {
    let mut root = rolo::cli::Cli::command().term_width(100);
    root.build();
    let mut all = Vec::new();
    commands(&root, vec!["rolo".into()], &mut all);
    assert!(all.len() > 100, "the tree has {} commands", all.len());
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots/help");
    settings.bind(|| {
        for (path, mut cmd) in all {
            let help = cmd.render_long_help().to_string();
            insta::assert_snapshot!(path.join("-"), help);
        }
    });
}

/// `docs/man/man1/` holds one page per command (`man rolo`, `man rolo-ticket-list`…), generated from
/// the clap tree; a command or flag changed without them fails here
/// (`INSTA_UPDATE=always cargo test` rewrites them too).
#[test]
fn man_pages_are_in_step_with_the_commands() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man/man1");
    let fresh = tempfile::tempdir().expect("dir");
    clap_mangen::generate_to(rolo::cli::Cli::command(), fresh.path()).expect("man pages");
    let read = |d: &std::path::Path| -> std::collections::BTreeMap<String, String> {
        std::fs::read_dir(d)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let text = std::fs::read_to_string(e.path()).expect("page");
                        (e.file_name().to_string_lossy().into_owned(), text)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let generated = read(fresh.path());
    let mut root = rolo::cli::Cli::command();
    root.build();
    let mut all = Vec::new();
    commands(&root, vec!["rolo".into()], &mut all);
    for (path, _) in &all {
        assert!(generated.contains_key(&format!("{}.1", path.join("-"))), "no man page for {}", path.join(" "));
    }
    if std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always") {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("docs/man");
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).expect("write page");
        }
    }
    let committed = read(&dir);
    let stale: Vec<&String> = generated.keys().filter(|k| committed.get(*k) != generated.get(*k)).collect();
    let extra: Vec<&String> = committed.keys().filter(|k| !generated.contains_key(*k)).collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "docs/man is out of step (run INSTA_UPDATE=always cargo test --test it man_pages): stale {stale:?}, extra {extra:?}"
    );
}

#[test]
fn every_argument_of_every_command_has_help() {
    let mut root = rolo::cli::Cli::command();
    root.build();
    let mut all = Vec::new();
    commands(&root, vec!["rolo".into()], &mut all);
    let missing: Vec<String> = all
        .iter()
        .flat_map(|(path, cmd)| {
            cmd.get_arguments()
                .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
                .filter(|a| a.get_help().is_none() && a.get_long_help().is_none())
                .map(move |a| format!("{} {}", path.join(" "), a.get_id()))
        })
        .collect();
    assert!(missing.is_empty(), "arguments without a `///`:\n{}", missing.join("\n"));
    let undocumented: Vec<String> =
        all.iter().filter(|(_, c)| c.get_about().is_none()).map(|(p, _)| p.join(" ")).collect();
    assert!(undocumented.is_empty(), "commands without a `///`:\n{}", undocumented.join("\n"));
}

/// A company's fields are declared once, by `CompanyInput`: the import and export columns are
/// its keys, and the flags of `client company create|update` must be the same list.
#[test]
fn company_flags_are_the_declared_field_list() {
    let root = rolo::cli::Cli::command();
    let create = root
        .find_subcommand("client")
        .and_then(|c| c.find_subcommand("company"))
        .and_then(|c| c.find_subcommand("create"))
        .expect("client company create");
    let globals = ["format", "json", "no_input", "quiet", "db", "config", "help", "version"];
    let flags: Vec<String> =
        create.get_arguments().map(|a| a.get_id().to_string()).filter(|id| !globals.contains(&id.as_str())).collect();
    assert_eq!(flags, rolo::domain::keys_of::<rolo::domain::company::CompanyInput>());
}

/// The days the demo may have been made on (a run across midnight sees two).
fn recent_days() -> [String; 2] {
    let now = chrono::Utc::now();
    [now.format("%Y-%m-%d").to_string(), (now - chrono::Duration::days(1)).format("%Y-%m-%d").to_string()]
}

/// Times that depend on when the demo was made (`2026-12-01 17:47` in a table) become `[now]`.
fn redact_text(text: &str) -> String {
    let mut out = text.to_string();
    for day in recent_days() {
        while let Some(i) = out.find(&day) {
            let end = (i + "YYYY-MM-DD HH:MM".len()).min(out.len());
            out.replace_range(i..end, "[now]");
        }
    }
    out
}

fn redact(v: &mut Value) {
    match v {
        Value::String(s) if recent_days().iter().any(|d| s.starts_with(d.as_str())) => *s = "[now]".into(),
        Value::Object(map) => map.values_mut().for_each(redact),
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[test]
fn main_tables_and_json_on_the_demo() {
    let mut w = World::demo();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots/output");
    let cases: &[(&str, &str, &[&str])] = &[
        ("client-list", "bill", &["client", "list"]),
        ("client-show", "bill", &["client", "show", "kevin@startup.io"]),
        ("contract-list", "bill", &["contract", "list"]),
        ("event-show-109", "kate", &["event", "show", "109"]),
        ("event-list", "kate", &["event", "list"]),
        ("client-company-list", "mia", &["client", "company", "list"]),
        ("client-segment-show", "mark", &["client", "segment", "show", "Warm leads"]),
        ("user-role-permissions", "admin", &["user", "role", "permissions"]),
    ];
    let outputs: Vec<(String, String)> = cases
        .iter()
        .flat_map(|(name, user, args)| {
            let table = redact_text(&w.run_as(user, args).ok().stdout);
            let mut json_args = args.to_vec();
            json_args.push("--json");
            let mut json = w.run_as(user, &json_args).ok().json();
            redact(&mut json);
            let json = serde_json::to_string_pretty(&json).expect("json");
            [(format!("{name}-table"), table), (format!("{name}-json"), json)]
        })
        .collect();
    settings.bind(|| {
        for (name, text) in outputs {
            insta::assert_snapshot!(name, text);
        }
    });
}
