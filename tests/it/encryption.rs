//! Encryption at rest (SQLCipher) through the real binary: nothing readable in the file, its
//! WAL or a backup; a wrong or missing key is exit 4 in one line before anything runs; encrypt,
//! decrypt and rekey; backups verify and restore under the key.

use crate::harness::*;

const KEY: &str = "4f1d0c2b9a8877665544332211ffeeddccbbaa99887766554433221100ffeedd";
const EMAILS: &[&[u8]] = &[b"kevin@startup.io", b"agathe.mercier@mufflins.fr", b"john.ouick@gmail.com"];

fn readable(path: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    EMAILS
        .iter()
        .filter(|n| bytes.windows(n.len()).any(|w| w == **n))
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

fn set_key(w: &mut World, key: Option<&str>) {
    w.env.retain(|(k, _)| k != "ROLO_DB_KEY");
    if let Some(k) = key {
        w.env.push(("ROLO_DB_KEY".into(), k.into()));
    }
}

#[test]
fn an_encrypted_database_reads_only_with_its_key() {
    let mut w = World::encrypted_demo(KEY);
    // Writes through the commands land in the WAL first: it is encrypted too. (A reader held
    // open here keeps the WAL from being folded in and removed when the command ends.)
    let reader = rusqlite::Connection::open(&w.db).expect("open");
    reader.pragma_update(None, "key", format!("x'{KEY}'")).expect("key");
    reader.execute_batch("BEGIN; SELECT count(*) FROM clients;").expect("read");
    w.run_as("bill", &["client", "create", "--name", "Zoé O'Hara", "--email", "zoe@exemple.fr"]).ok();
    let wal = w.db.with_extension("db-wal");
    assert!(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0), "a WAL to scan");
    assert_eq!(readable(&wal), Vec::<String>::new(), "WAL");
    drop(reader);
    assert_eq!(readable(&w.db), Vec::<String>::new(), "database file");
    let backup = w.run_as("admin", &["backup", "create", "--json"]).ok().json();
    let backup = std::path::PathBuf::from(backup["path"].as_str().expect("path"));
    assert_eq!(readable(&backup), Vec::<String>::new(), "backup");
    w.run_as("admin", &["backup", "verify", backup.to_str().expect("utf-8")]).ok();
    let clients = w.run_as("bill", &["client", "list", "--json"]).ok().json();
    assert!(clients.as_array().is_some_and(|a| a.len() > 5));

    // A wrong key, or none: exit 4, one line, before anything runs (no audit entry either).
    let audit_before = w.run_as("admin", &["audit", "verify", "--json"]).ok().json()["entries"].clone();
    for key in [Some("not-the-key"), Some("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), None] {
        set_key(&mut w, key);
        for args in
            [&["client", "list"][..], &["audit", "verify"], &["backup", "list"], &["login", "--username", "admin"]]
        {
            let out = w.run(args).code(4);
            assert_eq!(out.stderr.trim().lines().count(), 1, "{key:?} {args:?}: {out:?}");
            assert!(out.stderr.contains("key"), "{out:?}");
        }
    }
    set_key(&mut w, Some(KEY));
    assert_eq!(w.run_as("admin", &["audit", "verify", "--json"]).ok().json()["entries"], audit_before);

    // Only an admin changes the encryption; rekey makes a new key, shown once.
    assert_eq!(w.run_as("mia", &["db", "rekey"]).code, 5);
    let rekeyed = w.run_as("admin", &["db", "rekey", "--json"]).ok().json();
    let new_key = rekeyed["key"].as_str().expect("the new key, shown once").to_string();
    assert_eq!(w.run(&["client", "list"]).code, 4, "the old key no longer opens it");
    set_key(&mut w, Some(&new_key));
    w.run_as("bill", &["client", "list"]).ok();
    assert_eq!(readable(&w.db), Vec::<String>::new());

    // Decrypt: a plain SQLite file again; encrypt it back under ROLO_DB_KEY.
    w.run_as("admin", &["db", "decrypt"]).ok();
    assert_eq!(readable(&w.db).len(), EMAILS.len(), "in clear after decrypt");
    set_key(&mut w, None);
    w.run_as("bill", &["client", "list"]).ok();
    set_key(&mut w, Some(KEY));
    let done = w.run_as("admin", &["db", "encrypt", "--json"]).ok().json();
    assert_eq!((done["encrypted"].as_bool(), done["key"].as_str()), (Some(true), None), "{done}");
    assert_eq!(readable(&w.db), Vec::<String>::new());
    w.run_as("admin", &["db", "encrypt"]).code(7);

    // A backup under the current key restores.
    let b = w.run_as("admin", &["backup", "create", "--json"]).ok().json();
    w.run_as("bill", &["client", "create", "--name", "After Backup", "--email", "after@exemple.fr"]).ok();
    w.run_as("admin", &["backup", "restore", b["path"].as_str().expect("path"), "--yes"]).ok();
    let emails = w.run_as("bill", &["client", "list", "--json"]).ok().json().to_string();
    assert!(emails.contains("zoe@exemple.fr") && !emails.contains("after@exemple.fr"), "{emails}");
    assert_eq!(readable(&w.db), Vec::<String>::new());
}

/// Without ROLO_DB_KEY, `init --encrypt` keeps a new key in the real system keyring (GNOME
/// Keyring on a private D-Bus session) and every later command finds it there; `db decrypt`
/// takes it out again.
#[test]
fn the_key_of_an_encrypted_database_lives_in_the_keyring() {
    if !crate::token_store::keyring_available() {
        return;
    }
    let w = World::new();
    let rolo = env!("CARGO_BIN_EXE_rolo");
    let script = format!(
        r#"set -e
eval "$(printf '\n' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
"{rolo}" init --demo --encrypt --format json > /dev/null
printf 'admin-demo-password\n' | "{rolo}" login --username admin --password-stdin
echo "before: $("{rolo}" client list --format csv | grep -c 'kevin@startup.io')"
key=$(secret-tool lookup service rolo username "dbkey:$(realpath "$ROLO_DB")")
echo "keyring holds ${{#key}} characters"
"{rolo}" db decrypt
if secret-tool lookup service rolo username "dbkey:$(realpath "$ROLO_DB")" >/dev/null; then echo "key still there"; else echo "key removed"; fi
echo "after: $("{rolo}" client list --format csv | grep -c 'kevin@startup.io')"
"#
    );
    let out = w.run_cmd(crate::token_store::in_dbus_session(&w.command(), &script), None);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("kept in: system keyring"), "{out:?}");
    assert!(out.stdout.contains("keyring holds 64 characters"), "{out:?}");
    assert!(out.stdout.contains("key removed"), "{out:?}");
    assert!(out.stdout.contains("before: 1") && out.stdout.contains("after: 1"), "{out:?}");
}
