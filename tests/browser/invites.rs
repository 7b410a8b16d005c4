//! Invites in the browser: an admin makes a link and copies it, someone else opens it in a
//! fresh session, picks a name and password, and lands signed in.

use crate::support::browser::Browser;
use crate::support::{spawn_with, Options};

#[tokio::test]
async fn an_admin_invites_someone_who_joins_and_lands_signed_in() {
    // No public_url: the link names the address the server is really bound to.
    let app = spawn_with(Options {
        public_url: Some(String::new()),
        ..Default::default()
    })
    .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/invites").await;
    b.wait_text("#invites-body", "No pending invites").await;
    b.eval(
        "document.getElementById('invite-role').value = 'viewer';",
        vec![],
    )
    .await;
    b.click("#invite-create").await;
    b.visible("#invite-url").await;
    b.wait_text("#invite-created .warning", "shown only once")
        .await;
    let shown = b.value("#invite-url").await;
    b.click("#invite-copy").await;
    b.wait_text("#invite-copy-status", "clipboard").await;
    let url = b.clipboard().await;
    assert_eq!(url, shown);
    assert!(
        url.starts_with(&format!("{}/ui/invite?token=", app.base)),
        "{url}"
    );
    b.wait_text("#invites-body", "viewer").await;

    // Someone else, in a session of their own.
    b.client.delete_all_cookies().await.unwrap();
    b.client.goto(&url).await.unwrap();
    b.wait_text("h1", "Join linkdock").await;
    b.fill("#username", "vera").await;
    b.fill("#password", "vera-password-1").await;
    b.fill("#confirm", "vera-password-1").await;
    b.click("form button[type=submit]").await;
    b.wait_for_path(|p| p == "/ui/").await;
    b.wait_text(".signout", "vera").await;

    // The link worked once.
    b.client.goto(&url).await.unwrap();
    b.wait_text("#invite-state", "already been used").await;
    app.sign_in_as("vera", "vera-password-1").await;
    b.close().await;
}
