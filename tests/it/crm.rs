//! The CRM core end to end: seed 002's story, validation, formats, the demo database.

use serde_json::{Value, json};

use crate::harness::*;

const LOCATION: &str = "53 Rue du Château, 41120 Candé-sur-Beuvron, France";
const NOTES: &str = "Wedding starts at 3PM, by the river. Catering is organized, reception starts at 5PM. Kate needs to organize the DJ for after party.";

fn ids(v: &Value) -> Vec<i64> {
    v.as_array().expect("array").iter().filter_map(|x| x["id"].as_i64()).collect()
}

#[test]
fn seed_002_story_from_staff_to_the_wedding() {
    let mut w = World::new();
    w.init();
    // Management creates the staff.
    w.create_user("mia", &["management"]).ok();
    for (u, r) in [("bill", "sales"), ("kate", "support"), ("alienor", "support")] {
        let mut c = w.command();
        c.env("ROLO_TOKEN", w.token("mia")).env("ROLO_NEW_PASSWORD", password_of(u)).args([
            "user",
            "create",
            "--username",
            u,
            "--email",
            &format!("{u}@epic.test"),
            "--name",
            &format!("{u} Staff"),
            "--role",
            r,
        ]);
        w.run_cmd(c, None).ok();
    }
    // Sales creates Kevin Casey and becomes his sales contact; Cool Startup LLC is created on the way.
    let kevin = w
        .run_as(
            "bill",
            &[
                "client",
                "create",
                "--name",
                "Kevin Casey",
                "--email",
                "kevin@startup.io",
                "--phone",
                "+678 123 456 78",
                "--company",
                "Cool Startup LLC",
                "--json",
            ],
        )
        .ok()
        .json();
    assert_eq!(kevin["sales_contact"], "bill");
    assert_eq!(kevin["company"], "Cool Startup LLC");
    assert_eq!(kevin["phone"], "+678 123 456 78");
    let john = w
        .run_as(
            "bill",
            &[
                "client",
                "create",
                "--name",
                "John Ouick",
                "--email",
                "john.ouick@gmail.com",
                "--phone",
                "+1 234 567 8901",
                "--json",
            ],
        )
        .ok()
        .json();
    let john_id = john["id"].as_i64().expect("id").to_string();

    // Management creates the contract; it is not signed, so sales cannot create the event.
    let contract = w
        .run_as(
            "mia",
            &[
                "contract",
                "create",
                "--client",
                "john.ouick@gmail.com",
                "--total",
                "12000.00",
                "--due",
                "3000",
                "--json",
            ],
        )
        .ok()
        .json();
    assert_eq!(
        (contract["total"].as_str(), contract["due"].as_str(), contract["currency"].as_str()),
        (Some("12000.00"), Some("3000.00"), Some("EUR"))
    );
    assert_eq!(contract["sales_contact"], "bill");
    let cid = contract["id"].as_i64().expect("id").to_string();
    let event_args = |cid: &str| -> Vec<String> {
        [
            "event",
            "create",
            "--contract",
            cid,
            "--name",
            "John Ouick Wedding",
            "--start",
            "4 Jun 2023 @ 1PM",
            "--end",
            "5 Jun 2023 @ 2AM",
            "--attendees",
            "75",
            "--location",
            LOCATION,
            "--notes",
            NOTES,
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let args = event_args(&cid);
    let refused = w.run_as("bill", &args.iter().map(String::as_str).collect::<Vec<_>>()).code(7);
    assert!(refused.stderr.contains("not signed"), "{refused:?}");

    // After signing, sales creates "John Ouick Wedding".
    w.run_as("bill", &["contract", "sign", &cid]).ok();
    let event = w.run_as("bill", &args.iter().map(String::as_str).collect::<Vec<_>>()).ok().json();
    assert_eq!(event["starts_at"], "2023-06-04T13:00:00.000Z");
    assert_eq!(event["ends_at"], "2023-06-05T02:00:00.000Z");
    assert_eq!(event["attendees"], 75);
    assert_eq!(event["location"], LOCATION);
    assert_eq!(event["notes"], NOTES);
    assert_eq!(event["support_contact"], Value::Null);
    let eid = event["id"].as_i64().expect("id").to_string();

    // It has no support yet.
    let open = w.run_as("mia", &["event", "list", "--no-support", "--json"]).ok().json();
    assert_eq!(ids(&open), vec![event["id"].as_i64().expect("id")]);
    // Management assigns Kate; only a support user can be assigned.
    w.run_as("mia", &["event", "assign", &eid, "--support", "bill"]).code(3);
    w.run_as("mia", &["event", "assign", &eid, "--support", "kate"]).ok();
    assert_eq!(w.run_as("mia", &["event", "list", "--no-support", "--json"]).ok().json(), json!([]));
    let mine = w.run_as("kate", &["event", "list", "--mine", "--json"]).ok().json();
    assert_eq!(ids(&mine), vec![event["id"].as_i64().expect("id")]);
    assert_eq!(mine[0]["support_contact_name"], "kate Staff");

    // Kate updates the notes; another support user cannot.
    w.run_as("kate", &["event", "update", &eid, "--notes", "DJ booked: Les Platines du Cher."]).ok();
    w.token("alienor");
    let before = w.snapshot();
    let denied = w.run_as("alienor", &["event", "update", &eid, "--notes", "Not mine to change"]).code(5);
    assert!(denied.stderr.contains("event:update:any"), "{denied:?}");
    assert_eq!(w.snapshot(), before);

    // The sales contact sees the contract among their unpaid ones.
    let unpaid = w.run_as("bill", &["contract", "list", "--unpaid", "--mine", "--json"]).ok().json();
    assert_eq!(ids(&unpaid), vec![contract["id"].as_i64().expect("id")]);

    // The card reads like the spreadsheet.
    let card = w.run_as("kate", &["event", "show", &eid]).ok().stdout;
    for line in [
        "John Ouick Wedding",
        "John Ouick",
        "john.ouick@gmail.com +1 234 567 8901",
        "4 Jun 2023 @ 1PM",
        "5 Jun 2023 @ 2AM",
        "kate Staff",
        LOCATION,
        "75",
        "DJ booked",
    ] {
        assert!(card.contains(line), "missing {line:?} in\n{card}");
    }
    // The client card shows the company, stage and contracts.
    let shown = w.run_as("bill", &["client", "show", &john_id, "--json"]).ok().json();
    assert_eq!(shown["contracts"][0]["id"], contract["id"]);
    assert_eq!(shown["stage"], "lead");
}

#[test]
fn invalid_input_names_the_field_and_changes_nothing() {
    let mut w = World::new();
    w.init();
    w.create_user("bill", &["sales"]).ok();
    w.create_user("kate", &["support"]).ok();
    w.run_as("bill", &["client", "create", "--name", "Kevin Casey", "--email", "kevin@startup.io"]).ok();
    let k = w
        .run(&["contract", "create", "--client", "kevin@startup.io", "--total", "100", "--signed", "--json"])
        .ok()
        .json();
    let kid = k["id"].as_i64().expect("id").to_string();
    let before = w.snapshot();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["client", "create", "--name", "X", "--email", "not-an-email"], "bill", "email"),
        (vec!["client", "create", "--name", "X", "--email", "x@y.io", "--stage", "hot"], "bill", "stage"),
        (vec!["client", "create", "--name", "X", "--email", "x@y.io", "--phone", "call me"], "bill", "phone"),
        (
            vec!["client", "create", "--name", "X", "--email", "x@y.io", "--first-contact", "2023-02-30"],
            "bill",
            "first contact",
        ),
        (vec!["client", "company", "create", "--name", "Big", "--size", "huge"], "admin", "size"),
        (vec!["client", "company", "create", "--name", "Big", "--time-zone", "Europe/Pariss"], "admin", "time zone"),
        (vec!["client", "company", "create", "--name", "Big", "--business-type", "B2X"], "admin", "business type"),
        (vec!["client", "company", "create", "--name", "Big", "--total-income", "-5"], "admin", "total income"),
        (vec!["client", "interaction", "add", "--client", "kevin@startup.io", "--type", "telepathy"], "bill", "type"),
        (vec!["contract", "create", "--client", "kevin@startup.io", "--total", "100", "--due", "150"], "admin", "due"),
        (vec!["contract", "create", "--client", "kevin@startup.io", "--total", "-100"], "admin", "total"),
        (vec!["contract", "create", "--client", "kevin@startup.io", "--total", "100.123"], "admin", "total"),
        (
            vec!["contract", "create", "--client", "kevin@startup.io", "--total", "100", "--currency", "EURO"],
            "admin",
            "currency",
        ),
        (vec!["contract", "create", "--client", "nobody@nowhere.io", "--total", "100"], "admin", "client"),
        (
            vec!["event", "create", "--contract", &kid, "--name", "E", "--start", "2023-06-05", "--end", "2023-06-04"],
            "bill",
            "end",
        ),
        (
            vec!["event", "create", "--contract", &kid, "--name", "E", "--start", "someday", "--end", "2023-06-04"],
            "bill",
            "start",
        ),
        (
            vec![
                "event",
                "create",
                "--contract",
                &kid,
                "--name",
                "E",
                "--start",
                "2023-06-04",
                "--end",
                "2023-06-05",
                "--attendees",
                "-3",
            ],
            "bill",
            "attendees",
        ),
        (vec!["client", "list", "--sales", "ghost"], "admin", "sales"),
    ];
    for (args, user, field) in cases {
        let out = w.run_as(user, &args);
        assert_eq!(out.code, 3, "{args:?}: {out:?}");
        assert!(out.stderr.contains(&format!("invalid {field}")), "{args:?} should name {field}: {}", out.stderr);
    }
    assert_eq!(w.snapshot(), before, "refused input changed the database");
    // An event needs a support user that exists.
    let e = w
        .run_as(
            "bill",
            &[
                "event",
                "create",
                "--contract",
                &kid,
                "--name",
                "E",
                "--start",
                "2023-06-04",
                "--end",
                "2023-06-05",
                "--json",
            ],
        )
        .ok()
        .json();
    let before_assign = w.snapshot();
    let out = w.run(&["event", "assign", &e["id"].as_i64().expect("id").to_string(), "--support", "ghost"]).code(3);
    assert!(out.stderr.contains("invalid support"), "{out:?}");
    assert_eq!(w.snapshot(), before_assign);
    // Duplicates and forbidden transitions are conflicts.
    w.run_as("bill", &["client", "create", "--name", "K2", "--email", "KEVIN@startup.io"]).code(7);
    w.run(&["contract", "sign", &kid]).code(7);
}

#[test]
fn every_listing_speaks_json_and_csv_and_empty_is_fine() {
    let mut w = World::demo();
    for (cmd, header) in [
        (vec!["client", "list"], "id,full_name,email,phone,company,stage,sales_contact,last_contact_at"),
        (vec!["client", "company", "list"], "id,name,size,industry,business_type,country,sales_owner,clients"),
        (vec!["client", "interaction", "list"], "id,at,type,client_name,author,notes"),
        (vec!["contract", "list"], "id,client_name,sales_contact,total,due,currency,signed,created_at"),
        (vec!["event", "list"], "id,name,client_name,starts_at,ends_at,support_contact,location,attendees"),
    ] {
        let mut json_args = cmd.clone();
        json_args.extend(["--format", "json"]);
        let v = w.run_as("admin", &json_args).ok().json();
        assert!(v.as_array().is_some_and(|a| !a.is_empty()), "{cmd:?}");
        let mut csv_args = cmd.clone();
        csv_args.extend(["--format", "csv"]);
        let csv = w.run_as("admin", &csv_args).ok().stdout;
        assert_eq!(csv.lines().next(), Some(header), "{cmd:?}");
        assert_eq!(csv.lines().count(), v.as_array().map_or(0, Vec::len) + 1, "{cmd:?}: one row per record");
    }
    let empty = w.run_as("admin", &["client", "list", "--search", "zzzz-nobody", "--json"]).ok();
    assert_eq!(empty.stdout.trim(), "[]");
    let empty = w.run_as("admin", &["contract", "list", "--client", "nobody@nowhere.io", "--format", "csv"]).ok();
    assert_eq!(empty.stdout.lines().count(), 1);
}

#[test]
fn the_demo_database_holds_seed_002_exactly() {
    let mut w = World::demo();
    let accounts = w.run(&["init", "--demo", "--json"]).ok().json();
    assert!(accounts.as_array().is_some_and(|a| a.len() >= 7), "a second init --demo lists the accounts again");
    let e109 = w.run_as("kate", &["event", "show", "109", "--json"]).ok().json();
    assert_eq!(e109["name"], "John Ouick Wedding");
    assert_eq!(e109["contract_id"], 652);
    assert_eq!(e109["client_name"], "John Ouick");
    assert_eq!(e109["client_email"], "john.ouick@gmail.com");
    assert_eq!(e109["client_phone"], "+1 234 567 8901");
    assert_eq!(e109["support_contact_name"], "Kate Hastroff");
    assert_eq!(e109["location"], LOCATION);
    assert_eq!(e109["attendees"], 75);
    assert_eq!(e109["notes"], NOTES);
    let card = w.run_as("kate", &["event", "show", "1023"]).ok().stdout;
    for line in [
        "Lou Bouzin General Assembly",
        "412",
        "Lou Bouzin",
        "Jacky Blangier jacky@loubouzin.grd + 666 12345",
        "5 May 2023 @ 3PM",
        "5 May 2023 @ 5PM",
        "Aliénor Vichum",
        "Salle des fêtes de Mufflins",
        "200",
        "Assemblée générale des actionnaires (~200 personnes).",
    ] {
        assert!(card.contains(line), "missing {line:?} in\n{card}");
    }
    let kevin = w.run_as("bill", &["client", "show", "kevin@startup.io", "--json"]).ok().json();
    assert_eq!(kevin["company"], "Cool Startup LLC");
    assert_eq!(kevin["sales_contact_name"], "Bill Boquet");
    assert_eq!(kevin["first_contact_at"], "2021-04-18T00:00:00.000Z");
    assert_eq!(kevin["last_contact_at"], "2023-03-29T00:00:00.000Z");
    // Leads at every stage.
    for stage in ["subscriber", "lead", "qualified", "opportunity", "won", "lost"] {
        let n = w.run_as("mia", &["client", "list", "--stage", stage, "--json"]).ok().json();
        assert!(n.as_array().is_some_and(|a| !a.is_empty()), "no {stage}");
    }
    // The client account is linked to its client contact.
    let k = w.run_as("admin", &["user", "show", "kevin", "--json"]).ok().json();
    assert_eq!(k["client_id"], kevin["id"]);
}

#[test]
fn search_ignores_case_and_accents_and_reads_phone_digits() {
    let mut w = World::demo();
    let find = |w: &mut World, text: &str| -> Vec<String> {
        let v = w.run_as("mia", &["client", "list", "--search", text, "--json"]).ok().json();
        v.as_array().expect("array").iter().filter_map(|c| c["full_name"].as_str().map(String::from)).collect()
    };
    assert_eq!(find(&mut w, "leon dupre"), vec!["Leon Dupre", "Léon Dupré"]);
    assert_eq!(find(&mut w, "O'BRIEN"), vec!["Zoë O'Brien"]);
    assert_eq!(find(&mut w, "66612345"), vec!["Jacky Blangier"]);
    assert_eq!(find(&mut w, "678 123"), vec!["K. Casey", "Kevin Casey"]);
    assert_eq!(find(&mut w, "cool startup"), vec!["K. Casey", "Kevin Casey"]);
    assert_eq!(find(&mut w, "\"; DROP TABLE clients; --"), Vec::<String>::new());
    assert_eq!(find(&mut w, "zz"), Vec::<String>::new());
    // A renamed company is found under its new name.
    w.run_as("admin", &["client", "company", "update", "Cool Startup LLC", "--name", "Très Cool Inc"]).ok();
    assert_eq!(find(&mut w, "tres cool"), vec!["K. Casey", "Kevin Casey"]);
}

#[test]
fn interactions_move_the_last_contact_and_stages_keep_their_history() {
    let mut w = World::demo();
    w.run_as(
        "bill",
        &[
            "client",
            "interaction",
            "add",
            "--client",
            "zoe.obrien@example.ie",
            "--type",
            "phone call",
            "--date",
            "2026-01-15 10:00",
            "--notes",
            "Interested in a gala.",
        ],
    )
    .ok();
    let z = w.run_as("bill", &["client", "show", "zoe.obrien@example.ie", "--json"]).ok().json();
    assert_eq!(z["last_contact_at"], "2026-01-15T10:00:00.000Z");
    assert_eq!(z["interactions"][0]["type"], "phone_call");
    w.run_as("bill", &["client", "stage", "zoe.obrien@example.ie", "qualified"]).ok();
    w.run_as("bill", &["client", "stage", "zoe.obrien@example.ie", "won"]).ok();
    w.run_as("bill", &["client", "stage", "zoe.obrien@example.ie", "won"]).code(7);
    let z = w.run_as("bill", &["client", "show", "zoe.obrien@example.ie", "--json"]).ok().json();
    assert_eq!(z["customer"], true);
    let history: Vec<&str> =
        z["stage_history"].as_array().expect("array").iter().filter_map(|h| h["to"].as_str()).collect();
    assert_eq!(history, vec!["lead", "qualified", "won"]);
}

#[test]
fn contracts_follow_their_client_to_a_new_sales_contact() {
    let mut w = World::demo();
    let before = w.run_as("sam", &["contract", "list", "--mine", "--json"]).ok().json();
    assert_eq!(before, json!([]));
    w.run_as("mia", &["client", "update", "john.ouick@gmail.com", "--sales-contact", "sam"]).ok();
    let after = w.run_as("sam", &["contract", "list", "--mine", "--unpaid", "--json"]).ok().json();
    assert_eq!(ids(&after), vec![652]);
    assert_eq!(after[0]["sales_contact"], "sam");
    // Sam may now update it; Bill no longer may.
    w.run_as("sam", &["contract", "update", "652", "--due", "0"]).ok();
    w.run_as("bill", &["contract", "update", "652", "--due", "10"]).code(5);
}

#[test]
fn dedupe_finds_the_planted_duplicates_and_merge_keeps_everything() {
    let mut w = World::demo();
    let suspects = w.run_as("mia", &["client", "dedupe", "--json"]).ok().json();
    let reasons: Vec<(String, String)> = suspects
        .as_array()
        .expect("array")
        .iter()
        .map(|s| (s["other_email"].as_str().unwrap_or("").to_string(), s["reason"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(
        reasons.iter().any(|(e, r)| e == "john.ouick+events@gmail.com" && r.starts_with("same mailbox")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|(e, r)| e == "kcasey@startup.io" && r.starts_with("same phone")), "{reasons:?}");
    assert!(
        reasons.iter().any(|(e, r)| e == "l.dupre@acme-evenements.be" && r.starts_with("same name")),
        "{reasons:?}"
    );
    assert_eq!(suspects[0]["score"], 95, "strongest first");

    // Give the duplicate a contract and an interaction, then merge it into Kevin.
    let dup = w.run_as("mia", &["client", "show", "kcasey@startup.io", "--json"]).ok().json();
    let dup_id = dup["id"].as_i64().expect("id").to_string();
    w.run_as("mia", &["contract", "create", "--client", &dup_id, "--total", "100"]).ok();
    w.run_as(
        "bill",
        &["client", "interaction", "add", "--client", &dup_id, "--type", "email", "--notes", "From the old card"],
    )
    .ok();
    // bill owns both cards; sam may not merge them; a client is not merged into itself.
    w.run_as("sam", &["client", "merge", "kevin@startup.io", &dup_id, "--yes"]).code(5);
    w.run_as("bill", &["client", "merge", "kevin@startup.io", "kevin@startup.io", "--yes"]).code(7);
    w.run_as("bill", &["client", "merge", "kevin@startup.io", &dup_id]).code(2);
    let merged = w.run_as("bill", &["client", "merge", "kevin@startup.io", &dup_id, "--yes", "--json"]).ok().json();
    assert_eq!((merged["contracts_moved"].as_i64(), merged["interactions_moved"].as_i64()), (Some(1), Some(1)));
    w.run_as("bill", &["client", "show", &dup_id]).code(6);
    let kevin = w.run_as("bill", &["client", "show", "kevin@startup.io", "--json"]).ok().json();
    assert_eq!(kevin["contracts"].as_array().map(Vec::len), Some(2));
    assert!(kevin["interactions"].as_array().expect("list").iter().any(|i| i["notes"] == "From the old card"));
    assert_eq!(kevin["first_contact_at"], "2021-04-18T00:00:00.000Z", "the earlier first contact is kept");
    let log = w.run_as("admin", &["audit", "list", "--action", "client.merge", "--json"]).ok().json();
    assert_eq!(log.as_array().map(Vec::len), Some(1));
    // The client account of Kevin still points at the kept card.
    let account = w.run_as("admin", &["user", "show", "kevin", "--json"]).ok().json();
    assert_eq!(account["client_id"], kevin["id"]);
}

#[test]
fn the_population_dashboard_and_company_suggestions() {
    let mut w = World::demo();
    let s = w.run_as("mia", &["client", "stats", "--json"]).ok().json();
    let total = s["clients"].as_i64().expect("clients");
    let by_stage: i64 = s["by_stage"].as_array().expect("stages").iter().filter_map(|c| c["clients"].as_i64()).sum();
    assert_eq!(by_stage, total, "every client is at one stage");
    assert_eq!(s["customers"], s["by_stage"][4]["clients"]);
    assert_eq!(s["duplicates_suspected"], 3);
    assert_eq!(s["completeness"]["sales_contact"], 100);
    let months: i64 =
        s["growth_by_month"].as_array().expect("months").iter().filter_map(|c| c["clients"].as_i64()).sum();
    assert_eq!(months, total);
    assert!(w.run_as("mia", &["client", "stats"]).ok().stdout.contains("likely duplicate"));

    let suggestions = w.run_as("mia", &["client", "company", "suggest", "--json"]).ok().json();
    let acme =
        suggestions.as_array().expect("rows").iter().find(|s| s["domain"] == "acme-evenements.be").expect("acme");
    assert_eq!(acme["existing_company"], "Acme Événements");
    assert_eq!(acme["examples"], json!(["l.dupre@acme-evenements.be"]));
    // Webmail addresses never make a company.
    assert!(suggestions.as_array().expect("rows").iter().all(|s| s["domain"] != "gmail.com"));
}
