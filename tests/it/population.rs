//! Population management end to end: custom fields, consent, groups, segments, and the imports
//! and exports of companies, contracts and events (CSV, JSON lines, the support team's .xlsx).

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::*;

fn file(w: &World, name: &str, bytes: &[u8]) -> String {
    let p: PathBuf = w.home().join(name);
    std::fs::write(&p, bytes).expect("write");
    p.display().to_string()
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

/// The demo with its own population cleared, then a choice, a number, a date and a yes/no
/// field; everyone logged in.
fn with_fields() -> World {
    let mut w = World::demo();
    w.sql()
        .execute_batch(
            "INSERT INTO consent_ledger (client_id, consent, previous, source, detail, created_at)
               SELECT id, 'unknown', consent, 'manual', 'test fixture', '2026-01-01T00:00:00Z'
               FROM clients WHERE consent <> 'unknown';
             UPDATE clients SET fields = '{}', consent = 'unknown'; DELETE FROM client_fields;
             DELETE FROM client_group_members; DELETE FROM client_groups; DELETE FROM client_segments;",
        )
        .expect("clear the demo population");
    for u in ["admin", "bill", "sam", "kate", "mark"] {
        w.token(u);
    }
    let choices = "Retail,Hôtellerie,Secteur public";
    w.run_as("mark", &["client", "field", "create", "sector", "--type", "choice", "--choices", choices]).ok();
    w.run_as("mark", &["client", "field", "create", "budget", "--type", "number", "--label", "Budget (€)"]).ok();
    w.run_as("mark", &["client", "field", "create", "birthday", "--type", "date", "--personal-data"]).ok();
    w.run_as("mark", &["client", "field", "create", "vip", "--type", "bool", "--public"]).ok();
    w
}

fn show(w: &mut World, client: &str) -> Value {
    w.run_as("admin", &["client", "show", client, "--json"]).ok().json()
}

#[test]
fn field_values_are_typed_validated_shown_and_cleared() {
    let mut w = with_fields();
    let kevin = "kevin@startup.io";
    w.run_as(
        "bill",
        &[
            "client",
            "update",
            kevin,
            "--field",
            "sector=hôtellerie",
            "--field",
            "budget=12 500,50",
            "--field",
            "birthday=04/06/1990",
            "--field",
            "vip=oui",
            "--consent",
            "granted",
        ],
    )
    .ok();
    let c = show(&mut w, kevin);
    assert_eq!(c["fields"]["sector"], "Hôtellerie");
    assert_eq!(c["fields"]["budget"], 12500.5);
    assert_eq!(c["fields"]["birthday"], "1990-06-04");
    assert_eq!(c["fields"]["vip"], true);
    assert_eq!(c["consent"], "granted");
    let card = w.run_as("admin", &["client", "show", kevin]).ok().stdout;
    assert!(card.contains("Budget (€)") && card.contains("Hôtellerie"), "{card}");

    // Every bad value is a clear error naming the field, and changes nothing.
    let before = w.snapshot();
    for (arg, field, says) in [
        ("sector=Banking", "sector", "Retail, Hôtellerie, Secteur public"),
        ("budget=lots", "budget", "not a number"),
        ("birthday=31/02/1990", "birthday", "not a date"),
        ("vip=maybe", "vip", "yes or no"),
        ("colour=red", "field", "not a client field"),
    ] {
        let out = w.run_as("bill", &["client", "update", kevin, "--field", arg]).code(3);
        assert!(out.stderr.contains(field) && out.stderr.contains(says), "{arg}: {out:?}");
    }
    let out = w.run_as("bill", &["client", "update", kevin, "--consent", "perhaps"]).code(3);
    assert!(out.stderr.contains("unknown, granted, withdrawn"), "{out:?}");
    assert!(w.snapshot() == before, "the database changed");

    // An empty value clears; a mandatory field must be given and cannot be cleared.
    w.run_as("bill", &["client", "update", kevin, "--field", "vip="]).ok();
    assert!(show(&mut w, kevin)["fields"].get("vip").is_none());
    w.run_as("mark", &["client", "field", "update", "sector", "--mandatory"]).ok();
    let out = w.run_as("bill", &["client", "create", "--name", "No Sector", "--email", "ns@x.io"]).code(3);
    assert!(out.stderr.contains("sector") && out.stderr.contains("mandatory"), "{out:?}");
    w.run_as("bill", &["client", "create", "--name", "Sector", "--email", "s@x.io", "--field", "sector=retail"]).ok();
    w.run_as("bill", &["client", "update", kevin, "--field", "sector="]).code(3);

    // Narrowing the choices under stored values is refused; the registry counts the values.
    let out = w.run_as("mark", &["client", "field", "update", "sector", "--choices", "Retail"]).code(7);
    assert!(out.stderr.contains("Hôtellerie"), "{out:?}");
    let fields = w.run_as("mark", &["client", "field", "list", "--json"]).ok().json();
    let sector = fields.as_array().expect("list").iter().find(|f| f["key"] == "sector").expect("sector").clone();
    assert_eq!((sector["filled"].as_i64(), sector["mandatory"].as_bool()), (Some(2), Some(true)));

    // Keys are checked; system fields stay; deleting a community field removes its values.
    w.run_as("mark", &["client", "field", "create", "email", "--type", "text"]).code(3);
    w.run_as("mark", &["client", "field", "create", "Bad Key"]).code(3);
    w.run_as("mark", &["client", "field", "create", "ref", "--origin", "system"]).ok();
    w.run_as("mark", &["client", "field", "delete", "ref", "--yes"]).code(7);
    w.run_as("mark", &["client", "field", "delete", "budget", "--yes"]).ok();
    assert!(show(&mut w, kevin)["fields"].get("budget").is_none());
    let raw: i64 = w
        .sql()
        .query_row("SELECT count(*) FROM clients WHERE fields LIKE '%budget%'", [], |r| r.get(0))
        .expect("count");
    assert_eq!(raw, 0);
}

#[test]
fn imports_fill_fields_and_groups_and_re_running_changes_nothing() {
    let mut w = with_fields();
    let csv = file(
        &w,
        "leads.csv",
        "name;email;Secteur d'activité;budget;consent\nÉlodie Brûlé;elodie@hotel-du-lac.fr;Hôtellerie;\"1 200,5\";granted\nPaul \"Le Grand\" Martin;paul@retail.fr;retail;300;\n"
            .as_bytes(),
    );
    let map = file(&w, "map.toml", "[columns]\n\"Secteur d'activité\" = \"sector\"\n".as_bytes());
    let args = ["client", "import", &csv, "--map", &map, "--group", "Salon 2026", "--format", "json"];
    let r = w.run_as("mark", &args).ok().json();
    assert_eq!((r["created"].as_i64(), r["grouped"].as_i64()), (Some(2), Some(2)), "{r}");
    let elodie = show(&mut w, "elodie@hotel-du-lac.fr");
    assert_eq!(elodie["fields"]["sector"], "Hôtellerie");
    assert_eq!(elodie["fields"]["budget"], 1200.5);
    assert_eq!(elodie["consent"], "granted");
    assert_eq!(elodie["groups"][0], "Salon 2026");
    let group = w.run_as("mark", &["client", "group", "show", "Salon 2026", "--json"]).ok().json();
    assert_eq!((group["kind"].as_str(), group["members"].as_i64()), (Some("imported"), Some(2)));

    let before = w.snapshot();
    let again = w.run_as("mark", &args).ok().json();
    assert_eq!((again["created"].as_i64(), again["grouped"].as_i64()), (Some(0), Some(0)), "{again}");
    let normalise = |s: String| s.lines().filter(|l| !l.contains("client.import")).collect::<Vec<_>>().join("\n");
    assert!(normalise(w.snapshot()) == normalise(before), "a second run changed data");

    // A bad field value in the middle names its line and field; nothing is written.
    let bad = file(&w, "bad.csv", b"name,email,sector\nA,a@x.io,Retail\nB,b@x.io,Banking\nC,c@x.io,\n");
    let before = w.snapshot();
    let r = w.run_as("mark", &["client", "import", &bad, "--group", "Salon 2026", "--format", "json"]).code(3).json();
    assert_eq!((r["rejections"][0]["line"].as_i64(), r["rejections"][0]["field"].as_str()), (Some(3), Some("sector")));
    assert!(w.snapshot() == before, "the database changed");

    // The export carries the fields and consent, and re-imports as is.
    let exported = w.run_as("admin", &["client", "export"]).ok().stdout;
    assert!(exported.starts_with("name,email,phone,company,stage,first_contact,last_contact,sales_contact,consent,birthday,budget,sector,vip\n"), "{exported}");
    let path = file(&w, "export.csv", exported.as_bytes());
    let r = w.run_as("admin", &["client", "import", &path, "--on-duplicate", "update", "--format", "json"]).ok().json();
    assert_eq!((r["updated"].as_i64(), r["created"].as_i64()), (Some(0), Some(0)), "{r}");
    // Sales may import but not fill groups (group:manage).
    w.run_as("bill", &["client", "import", &csv, "--group", "Mine"]).code(5);
}

#[test]
fn segments_select_count_and_freeze_with_bound_values_only() {
    let mut w = with_fields();
    w.run_as("bill", &["client", "update", "kevin@startup.io", "--field", "budget=20000", "--consent", "granted"]).ok();
    w.run_as("sam", &["client", "update", "leon.dupre@acme-evenements.be", "--field", "budget=5000"]).ok();
    let count = |w: &mut World, filter: &str| -> i64 {
        let out = w.run_as("mark", &["client", "segment", "show", "--filter", filter, "--count", "--json"]);
        assert_eq!(out.code, 0, "{filter}: {out:?}");
        out.json()["count"].as_i64().expect("count")
    };
    assert_eq!(count(&mut w, "budget >= 10000"), 1);
    assert_eq!(count(&mut w, "budget < 10000 or budget is empty"), count(&mut w, "not budget >= 10000"));
    assert_eq!(count(&mut w, "company = \"Acme Événements\""), 1);
    assert_eq!(count(&mut w, "company = 'ACME Événements'"), 1);
    assert_eq!(count(&mut w, "name ~ \"o'brien\""), 1);
    assert_eq!(count(&mut w, "stage in (won, opportunity) and sales = bill"), 3);
    assert_eq!(count(&mut w, "consent = granted and last_contact < -365d"), 1);
    assert_eq!(count(&mut w, "first_contact >= 2023-01-01 and phone is not empty"), 3);
    // Hostile values are values: nothing matches, nothing breaks.
    assert_eq!(count(&mut w, "name = \"x' OR 1=1 --\" or email = \"\\\"); DROP TABLE clients; --\""), 0);
    let all = w.run_as("mark", &["client", "list", "--json"]).ok().json();
    assert_eq!(count(&mut w, "not name = \"x' OR 1=1 --\""), all.as_array().map_or(0, |a| a.len() as i64));

    // Bad filters are clear errors (exit 3) and save nothing.
    let before = w.snapshot();
    for (filter, says) in [
        ("stage = rich", "subscriber, lead"),
        ("budget = lots", "not a number"),
        ("group = Nowhere", "no group `Nowhere`"),
        ("stage = lead and (", "ends too soon"),
        ("colour = red", "neither a client column"),
    ] {
        let out = w.run_as("mark", &["client", "segment", "create", "S", "--filter", filter]).code(3);
        assert!(out.stderr.contains(says), "{filter}: {out:?}");
    }
    assert!(w.snapshot() == before, "the database changed");

    // A saved segment lists what it counts, follows the data, and freezes into a group.
    w.run_as("mark", &["client", "segment", "create", "Big budgets", "--filter", "budget >= 1000"]).ok();
    let r = w.run_as("mark", &["client", "segment", "show", "Big budgets", "--json"]).ok().json();
    assert_eq!((r["count"].as_i64(), r["clients"].as_array().map(Vec::len)), (Some(2), Some(2)));
    let g =
        w.run_as("mark", &["client", "segment", "freeze", "Big budgets", "--into", "Q4 push", "--json"]).ok().json();
    assert_eq!((g["members"].as_i64(), g["segment"].as_str()), (Some(2), Some("budget >= 1000")));
    w.run_as("bill", &["client", "update", "john.ouick@gmail.com", "--field", "budget=3000"]).ok();
    assert_eq!(count(&mut w, "budget >= 1000"), 3);
    assert_eq!(count(&mut w, "group = \"Q4 push\""), 2, "a frozen group does not move");
    w.run_as("mark", &["client", "segment", "freeze", "Big budgets", "--into", "Q4 push"]).code(7);
}

#[test]
fn merge_moves_group_memberships_and_client_accounts_keep_their_tickets() {
    let mut w = World::demo();
    w.token("admin");
    // The demo's own population: a saved segment over consent and stage, and its groups.
    let warm = w.run_as("admin", &["client", "segment", "show", "Warm leads", "--json"]).ok().json();
    let names: Vec<&str> =
        warm["clients"].as_array().expect("clients").iter().filter_map(|c| c["full_name"].as_str()).collect();
    assert_eq!(names, ["Agathe Mercier", "Léon Dupré"]);
    w.run_as("admin", &["client", "group", "delete", "Clients 2023", "--yes"]).ok();
    w.run_as("admin", &["client", "group", "create", "Newsletter"]).ok();
    w.run_as("admin", &["client", "group", "create", "Both"]).ok();
    w.run_as("admin", &["client", "group", "add", "Newsletter", "john.ouick@gmail.com"]).ok();
    w.run_as("admin", &["client", "group", "add", "Both", "john.ouick@gmail.com", "kevin@startup.io"]).ok();
    w.run_as("admin", &["client", "merge", "kevin@startup.io", "john.ouick@gmail.com", "--yes"]).ok();
    let kevin = w.run_as("admin", &["client", "show", "kevin@startup.io", "--json"]).ok().json();
    assert_eq!(kevin["groups"], serde_json::json!(["Both", "Newsletter"]));
    let both = w.run_as("admin", &["client", "group", "show", "Both", "--json"]).ok().json();
    assert_eq!(both["members"], 1);
}

#[test]
fn companies_contracts_and_events_export_and_re_import_as_is() {
    let mut w = World::demo();
    for u in ["admin", "bill"] {
        w.token(u);
    }
    for (cmd, sub) in
        [(vec!["client", "company"], "companies"), (vec!["contract"], "contracts"), (vec!["event"], "events")]
    {
        for format in ["csv", "json"] {
            let mut export = cmd.clone();
            export.extend(["export", "--format", format]);
            let text = w.run_as("admin", &export).ok().stdout;
            assert!(text.lines().count() >= 3, "{sub}: {text}");
            let path = file(&w, &format!("{sub}.{format}"), text.as_bytes());
            let mut import = cmd.clone();
            import.extend(["import", path.as_str(), "--on-duplicate", "update", "--format", "json"]);
            let before = w.snapshot();
            let r = w.run_as("admin", &import).ok().json();
            assert_eq!((r["created"].as_i64(), r["updated"].as_i64()), (Some(0), Some(0)), "{sub} {format}: {r}");
            assert_eq!(r["unchanged"].as_u64(), r["rows_read"].as_u64(), "{sub} {format}: {r}");
            let strip = |s: String| s.lines().filter(|l| !l.contains("\"import\"")).collect::<Vec<_>>().join("\n");
            assert!(strip(w.snapshot()) == strip(before), "{sub} {format}: the database changed");
        }
    }
    // Changed rows update through the same rules as the commands.
    let companies =
        file(&w, "co.csv", "name;size;industry\nLou Bouzin;medium;Événementiel\nNouvelle Société;small;\n".as_bytes());
    let r = w
        .run_as("admin", &["client", "company", "import", &companies, "--on-duplicate", "update", "--json"])
        .ok()
        .json();
    assert_eq!((r["created"].as_i64(), r["updated"].as_i64()), (Some(1), Some(1)), "{r}");
    let co = w.run_as("admin", &["client", "company", "show", "Lou Bouzin", "--json"]).ok().json();
    assert_eq!(co["industry"], "Événementiel");

    // A contract file with a bad row in the middle imports nothing and names the row.
    let contracts =
        file(&w, "k.csv", b"client,total,due\nkevin@startup.io,100,0\nkevin@startup.io,100,200\nnobody@x.io,5,\n");
    let before = w.snapshot();
    let r = w.run_as("admin", &["contract", "import", &contracts, "--json"]).code(3).json();
    let lines: Vec<i64> =
        r["rejections"].as_array().expect("rejections").iter().filter_map(|x| x["line"].as_i64()).collect();
    assert_eq!(lines, vec![3, 4], "{r}");
    assert_eq!(r["rejections"][0]["field"], "due");
    assert!(w.snapshot() == before, "the database changed");
}

#[test]
fn the_support_teams_xlsx_sheet_imports_with_the_rules_of_event_create() {
    let mut w = World::demo();
    for u in ["admin", "bill", "kate", "mark"] {
        w.token(u);
    }
    let sheet = fixture("events.xlsx");
    // Only the client's sales contact creates events; admins update them.
    let before = w.snapshot();
    let r = w.run_as("admin", &["event", "import", &sheet, "--json"]).code(3).json();
    assert_eq!((r["format"].as_str(), r["rejections"][0]["line"].as_i64()), (Some("xlsx"), Some(3)), "{r}");
    assert!(w.snapshot() == before, "the database changed");
    w.run_as("mark", &["event", "import", &sheet]).code(5);
    w.run_as("kate", &["event", "import", &sheet]).code(5);

    let dry = w.run_as("bill", &["event", "import", &sheet, "--dry-run", "--json"]).ok().json();
    assert_eq!((dry["created"].as_i64(), dry["written"].as_bool()), (Some(1), Some(false)));
    assert!(w.snapshot() == before, "the database changed");
    let r = w.run_as("bill", &["event", "import", &sheet, "--json"]).ok().json();
    assert_eq!((r["created"].as_i64(), r["skipped"].as_i64()), (Some(1), Some(1)), "{r}");
    let e = w.run_as("bill", &["event", "show", "2001", "--json"]).ok().json();
    assert_eq!(e["name"], "John Ouick Anniversary");
    assert_eq!(e["location"], "Château de Candé, « salle d'honneur »");
    assert_eq!(e["notes"], "Dîner assis; \"DJ\" à 22h");
    assert_eq!((e["starts_at"].as_str(), e["attendees"].as_i64()), (Some("2026-12-12T18:30:00.000Z"), Some(40)));

    // Run again: nothing changes. With updates, the admin may reassign support from a sheet.
    let before = w.snapshot();
    let r = w.run_as("admin", &["event", "import", &sheet, "--on-duplicate", "update", "--json"]).ok().json();
    assert_eq!(r["unchanged"], 2, "{r}");
    let strip = |s: String| s.lines().filter(|l| !l.contains("\"import\"")).collect::<Vec<_>>().join("\n");
    assert!(strip(w.snapshot()) == strip(before), "the database changed");
    let reassign = file(&w, "assign.csv", b"Event ID,Contract ID,Event name,Event date start,Event date end,Support contact\n1023,412,Lou Bouzin General Assembly,2023-05-05 15:00,2023-05-05 17:00,kate\n");
    w.run_as("bill", &["event", "import", &reassign, "--on-duplicate", "update"]).code(3);
    w.run_as("admin", &["event", "import", &reassign, "--on-duplicate", "update"]).ok();
    let e = w.run_as("admin", &["event", "show", "1023", "--json"]).ok().json();
    assert_eq!(e["support_contact"], "kate");
    // Not a workbook, though it claims to be one.
    let fake = file(&w, "fake.xlsx", b"PK\x03\x04 not really a zip");
    let out = w.run_as("admin", &["event", "import", &fake]).code(3);
    assert!(out.stderr.contains(".xlsx"), "{out:?}");
}

/// `rolo client privacy export`: one JSON document with a format version, written 0600, every
/// section of the person filled from what the commands recorded; sales may not export.
#[test]
fn the_privacy_export_is_one_private_json_document() {
    use std::os::unix::fs::PermissionsExt;
    let mut w = World::demo();
    w.run_as(
        "bill",
        &[
            "client",
            "interaction",
            "add",
            "--client",
            "kevin@startup.io",
            "--type",
            "meeting",
            "--notes",
            "Café à Lyon",
        ],
    )
    .ok();
    w.run_as("mark", &["mail", "suppression", "add", "kevin@startup.io", "--reason", "manual"]).ok();
    // A note that looks like JSON is still a note.
    w.run_as(
        "bill",
        &["client", "interaction", "add", "--client", "kevin@startup.io", "--type", "email", "--notes", "[1, 2]"],
    )
    .ok();
    let file = w.home().join("kevin.json");
    w.run_as("mia", &["client", "privacy", "export", "kevin@startup.io", "-o", &file.display().to_string()]).ok();
    let mode = std::fs::metadata(&file).expect("file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    assert_eq!(doc["format"], "rolo-privacy-export");
    assert_eq!(doc["format_version"], 1);
    assert!(doc["interactions"].as_array().is_some_and(|a| a.iter().any(|i| i["notes"] == "Café à Lyon")), "{doc}");
    assert!(doc["suppressions"].as_array().is_some_and(|a| a.len() == 1));
    assert!(doc["interactions"].as_array().is_some_and(|a| a.iter().any(|i| i["notes"] == "[1, 2]")), "{doc}");
    assert!(doc["client"][0]["fields"].is_object(), "custom fields as JSON");
    assert!(doc["send_log"].as_array().is_some_and(|a| !a.is_empty()));
    let stdout = w.run_as("admin", &["client", "privacy", "export", "1"]).ok().json();
    assert_eq!(stdout["client"][0]["email"], "kevin@startup.io");
    assert_eq!(w.run_as("bill", &["client", "privacy", "export", "kevin@startup.io"]).code, 5);
    assert_eq!(w.run_as("mia", &["client", "privacy", "export", "nobody@nowhere.example"]).code, 6);
}
