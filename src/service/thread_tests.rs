//! A server serves requests from several threads at once: each takes a connection from the
//! pool, builds its own `Session` on it and calls the same services as the CLI.

use std::sync::Arc;

use super::testing;
use super::{auth, client};
use crate::db::pool::Pool;
use crate::domain::client::ClientInput;
use crate::secrets::Secret;

#[test]
fn sessions_on_pooled_connections_serve_requests_from_several_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rolo.db");
    testing::demo().copy_to_file(&path).expect("demo on disk");
    let pool = Pool::open(&path, 4).expect("pool");
    // A login on the main thread; each request presents the token, as an HTTP client would.
    let (_, issued) = {
        let db = pool.get().expect("connection");
        auth::login(&db, "bill", &Secret::new("bill-demo-password".into())).expect("login")
    };
    let token = Arc::new(issued.tokens.access.expose().clone());
    std::thread::scope(|scope| {
        for worker in 0..6 {
            let (pool, token) = (Arc::clone(&pool), Arc::clone(&token));
            scope.spawn(move || {
                for request in 0..10 {
                    let db = pool.get().expect("connection");
                    let creds = auth::Credentials { access: Some(Secret::new(token.to_string())), refresh: None };
                    let session = auth::resume(&db, &creds).expect("session").session;
                    let email = format!("w{worker}r{request}@threads.test");
                    let input = ClientInput { name: Some(email.clone()), email: Some(email), ..Default::default() };
                    client::create(&session, &input).expect("create");
                    client::list(&session, &Default::default()).expect("list");
                }
            });
        }
    });
    let db = pool.get().expect("connection");
    let bill = testing::session_as(&db, "bill");
    let search = crate::domain::client::ListFilter { search: Some("@threads.test".into()), ..Default::default() };
    assert_eq!(client::list(&bill, &search).expect("list").len(), 60);
    assert!(pool.idle() <= 4, "the pool keeps at most its size idle");
}
