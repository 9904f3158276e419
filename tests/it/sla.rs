//! SLA clocks end to end, with fixed instants through `--at`: Paris business hours across a
//! weekend and a holiday, warning then breach (each notice queued once), a pause while
//! waiting for the client.

use serde_json::Value;

use crate::harness::*;

fn setup() -> World {
    let mut w = crate::tickets::world("smtp://127.0.0.1:9");
    // Paris office hours with a lunch break; Monday 23 November 2026 is a holiday.
    w.run_as(
        "mia",
        &[
            "ticket",
            "sla",
            "policy",
            "set",
            "urgent",
            "--first-response",
            "2h",
            "--resolution",
            "2d",
            "--warn",
            "75%",
            "--time-zone",
            "Europe/Paris",
            "--hours",
            "mon-fri 09:00-12:00,13:00-18:00",
            "--holiday",
            "2026-11-23",
        ],
    )
    .ok();
    w
}

/// Opens an urgent ticket as kevin and moves its creation to `created` (UTC).
fn ticket_created_at(w: &mut World, subject: &str, created: &str) -> String {
    let id = crate::tickets::open_ticket(w, "kevin", "Cool Site", "urgent", subject);
    let sql = w.sql();
    sql.execute("UPDATE tickets SET created_at = ?2 WHERE id = ?1", rusqlite::params![id, created]).expect("move");
    sql.execute(
        "UPDATE ticket_history SET at = ?2 WHERE ticket_id = ?1 AND old_value IS NULL",
        rusqlite::params![id, created],
    )
    .expect("move");
    id
}

fn sla_outbox(w: &World) -> i64 {
    w.sql().query_row("SELECT count(*) FROM outbox WHERE kind = 'sla'", [], |r| r.get(0)).expect("count")
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|t| t["id"].as_i64().expect("id").to_string()).collect()
}

#[test]
fn business_hours_skip_the_weekend_and_the_holiday_then_warn_then_breach_once() {
    let mut w = setup();
    // Friday 20 November, 17:00 in Paris.
    let id = ticket_created_at(&mut w, "Checkout broken", "2026-11-20T16:00:00.000Z");
    // Monday is a holiday: only Friday's last hour counts (1 h of 2 h).
    let ok = w.run_as("kate", &["ticket", "list", "--sla", "ok", "--at", "2026-11-23T12:00:00Z", "--json"]).ok().json();
    assert_eq!(ids(&ok), vec![id.clone()]);
    let explained =
        w.run_as("kate", &["ticket", "sla", "explain", &id, "--at", "2026-11-23T12:00:00Z", "--json"]).ok().json();
    assert_eq!(explained["first_response"]["elapsed_seconds"], 3600);
    // Tuesday 10:00 Paris (09:00Z) is the first-response deadline.
    assert_eq!(explained["first_response"]["deadline"], "2026-11-24T09:00:00Z");
    assert!(explained["steps"].as_array().is_some_and(|s| s.len() >= 4));

    // Tuesday 09:40 Paris: 1 h 40 of 2 h used, past the 75 % warning.
    let at_risk = "2026-11-24T08:40:00Z";
    let out = w.run_as("kate", &["ticket", "sla", "check", "--at", at_risk, "--json"]).code(10);
    let report = out.json();
    assert_eq!(report["at_risk"], 1);
    assert_eq!(report["alerts"][0]["clock"], "first_response");
    assert_eq!(report["notices_queued"], 2, "to the support team (unassigned)");
    assert_eq!(sla_outbox(&w), 2);
    w.run_as("kate", &["ticket", "sla", "check", "--at", at_risk]).code(10);
    assert_eq!(sla_outbox(&w), 2, "a warning is queued once");
    let listed = w
        .run_as("kate", &["ticket", "list", "--type", "urgent", "--sla", "at-risk,breached", "--at", at_risk, "--json"])
        .ok()
        .json();
    assert_eq!(ids(&listed), vec![id.clone()]);

    // Tuesday 10:30 Paris: breached.
    let breached = "2026-11-24T09:30:00Z";
    let report = w.run_as("kate", &["ticket", "sla", "check", "--at", breached, "--json"]).code(11).json();
    assert_eq!(report["breached"], 1);
    assert_eq!(sla_outbox(&w), 4);
    w.run_as("kate", &["ticket", "sla", "check", "--at", breached]).code(11);
    assert_eq!(sla_outbox(&w), 4, "a breach is queued once");
    let listed = w.run_as("kate", &["ticket", "list", "--sla", "breached", "--at", breached, "--json"]).ok().json();
    assert_eq!(ids(&listed), vec![id.clone()]);
    // Piped table output has no colour codes.
    let table = w.run_as("kate", &["ticket", "list", "--at", breached]).ok().stdout;
    assert!(table.contains("breached") && !table.contains('\u{1b}'), "{table}");
}

#[test]
fn waiting_for_the_client_pauses_the_clocks() {
    let mut w = setup();
    // Tuesday 24 November, 09:00 in Paris.
    let id = ticket_created_at(&mut w, "Export fails", "2026-11-24T08:00:00.000Z");
    w.run_as("kate", &["ticket", "status", &id, "waiting_client"]).ok();
    w.run_as("kevin", &["ticket", "reply", &id, "--body", "Here is the file."]).ok();
    // Waiting from Tuesday 10:00 to Wednesday 09:00 (Paris).
    let sql = w.sql();
    sql.execute("UPDATE ticket_history SET at = '2026-11-24T09:00:00.000Z' WHERE ticket_id = ?1 AND new_value = 'waiting_client'", [&id]).expect("move");
    sql.execute("UPDATE ticket_history SET at = '2026-11-25T08:00:00.000Z' WHERE ticket_id = ?1 AND old_value = 'waiting_client'", [&id]).expect("move");
    drop(sql);

    let paused =
        w.run_as("kate", &["ticket", "list", "--sla", "paused", "--at", "2026-11-24T12:00:00Z", "--json"]).ok().json();
    assert_eq!(ids(&paused), vec![id.clone()]);
    // Wednesday 11:00 Paris: 1 h on Tuesday + 2 h on Wednesday ran; Tuesday 10:00-18:00 (7 business hours) was paused.
    let e = w.run_as("kate", &["ticket", "sla", "explain", &id, "--at", "2026-11-25T10:00:00Z", "--json"]).ok().json();
    assert_eq!(e["resolution"]["elapsed_seconds"], 3 * 3600);
    assert_eq!(e["resolution"]["paused_seconds"], 7 * 3600);
    assert_eq!(e["resolution"]["state"], "ok");
    // 16 h target (2 working days of 8 h): 13 h left → Thursday 26, 17:00 Paris.
    assert_eq!(e["resolution"]["deadline"], "2026-11-26T16:00:00Z");
}

#[test]
fn policies_are_validated_and_only_managers_change_them() {
    let mut w = setup();
    w.run_as("mia", &["ticket", "sla", "policy", "set", "urgent", "--time-zone", "Mars/Olympus"]).code(3);
    w.run_as("mia", &["ticket", "sla", "policy", "set", "urgent", "--hours", "weekdays"]).code(3);
    w.run_as("mia", &["ticket", "sla", "policy", "set", "urgent", "--warn", "150%"]).code(3);
    w.run_as("mia", &["ticket", "sla", "policy", "set", "sometimes", "--warn", "50%"]).code(3);
    w.run_as("mia", &["ticket", "sla", "policy", "set", "urgent", "--first-response", "0m"]).code(3);
    w.run_as("kate", &["ticket", "sla", "policy", "set", "urgent", "--warn", "50%"]).code(5);
    let list = w.run_as("kate", &["ticket", "sla", "policy", "list", "--json"]).ok().json();
    assert_eq!(list[0]["type"], "urgent");
    assert_eq!(list[0]["first_response_minutes"], 120);
    assert_eq!(list[0]["resolution_minutes"], 960);
    assert_eq!(list[0]["calendar"]["time_zone"], "Europe/Paris");
}
