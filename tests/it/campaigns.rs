//! E-mail marketing end to end: the template and media libraries.

use crate::harness::*;

fn write(w: &World, name: &str, text: &str) -> String {
    let p = w.home().join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

#[test]
fn templates_are_versioned_linted_and_previewed_with_real_values() {
    let mut w = World::demo();
    let layout = write(
        &w,
        "layout.html",
        "<html><head><style>p { color: #333 }</style></head><body>{% block body %}{% endblock %}<p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p></body></html>",
    );
    let invite = write(
        &w,
        "invite.html",
        "{% extends \"layout\" %}{% block body %}<p>Bonjour {{ client.first_name }}, secteur « {{ client.sector }} »</p>{% endblock %}",
    );
    let text = write(&w, "invite.txt", "Bonjour {{ client.first_name }}\nSe désabonner : {{ unsubscribe_url }}\n");
    w.run_as("mark", &["campaign", "template", "create", "layout", "--subject", "layout", "--html-file", &layout]).ok();
    w.run_as("mark", &["client", "field", "update", "sector", "--public", "true"]).ok();
    let v1 = w
        .run_as(
            "mark",
            &[
                "campaign",
                "template",
                "create",
                "invite",
                "--subject",
                "Invitation « Fiscalité », {{ client.first_name }}",
                "--html-file",
                &invite,
                "--text-file",
                &text,
                "--json",
            ],
        )
        .ok()
        .json();
    assert_eq!(v1["version"], 1);
    w.run_as("mark", &["campaign", "template", "lint", "invite"]).ok();
    let p = w
        .run_as("mark", &["campaign", "template", "preview", "invite", "--client", "kevin@startup.io", "--json"])
        .ok()
        .json();
    assert_eq!(p["subject"], "Invitation « Fiscalité », Kevin");
    assert!(p["html"].as_str().expect("html").contains("secteur « Tech »"), "{p}");
    assert!(p["html"].as_str().expect("html").contains("style=\"color: #333"), "CSS inlined: {p}");
    // Every update is a new version; the first stays as it was.
    w.run_as("mark", &["campaign", "template", "update", "invite", "--subject", "Nouvelle date"]).ok();
    let v2 = w.run_as("mark", &["campaign", "template", "show", "invite", "--json"]).ok().json();
    let v1 = w.run_as("mark", &["campaign", "template", "show", "invite", "--version", "1", "--json"]).ok().json();
    assert_eq!((v2["version"].as_i64(), v2["subject"].as_str()), (Some(2), Some("Nouvelle date")));
    assert_eq!(v1["subject"], "Invitation « Fiscalité », {{ client.first_name }}");
}

#[test]
fn lint_names_each_planted_problem_and_a_private_field_never_renders() {
    let mut w = World::demo();
    let bad = write(
        &w,
        "bad.html",
        "<p>{{ client.budget }} {{ client.shoe_size }}</p><img src=\"https://x.example/a.png\"><a href=\"http://insecure.example\">x</a>",
    );
    w.run_as("mark", &["campaign", "template", "create", "bad", "--subject", "S", "--html-file", &bad]).ok();
    let out = w.run_as("mark", &["campaign", "template", "lint", "bad", "--json"]).code(3);
    let problems = out.json()["problems"].to_string();
    for needle in [
        "client.budget` is a private field",
        "unknown variable `client.shoe_size`",
        "no unsubscribe link",
        "image without alt",
        "http://insecure.example",
        "no text part",
    ] {
        assert!(problems.contains(needle), "{needle}: {problems}");
    }
    let out = w.run_as("mark", &["campaign", "template", "preview", "bad", "--client", "kevin@startup.io"]).code(3);
    assert!(out.stderr.contains("client.budget"), "{}", out.stderr);
    assert!(!out.stdout.contains("20000"), "the private budget leaked: {}", out.stdout);
}

#[test]
fn media_are_stored_once_by_content() {
    let mut w = World::demo();
    let logo = w.home().join("logo.png");
    std::fs::write(&logo, b"\x89PNG fake image").expect("write");
    let a = w.run_as("mark", &["campaign", "media", "add", logo.to_str().expect("utf-8"), "--json"]).ok().json();
    let b = w
        .run_as(
            "mark",
            &["campaign", "media", "add", logo.to_str().expect("utf-8"), "--name", "logo-copy.png", "--json"],
        )
        .ok()
        .json();
    assert_eq!(a["sha256"], b["sha256"]);
    let blobs: i64 = w.sql().query_row("SELECT count(*) FROM blobs", [], |r| r.get(0)).expect("count");
    assert_eq!(blobs, 1);
    let exe = w.home().join("virus.exe");
    std::fs::write(&exe, b"MZ").expect("write");
    w.run_as("mark", &["campaign", "media", "add", exe.to_str().expect("utf-8")]).code(3);
    w.run_as("bill", &["campaign", "media", "add", logo.to_str().expect("utf-8"), "--name", "x.png"]).code(5);
}
