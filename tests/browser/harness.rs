use crate::support::browser::Browser;
use crate::support::spawn_app;

#[tokio::test]
async fn signs_in_through_the_form_and_reads_the_clipboard() {
    let app = spawn_app().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    assert_eq!(b.path().await, "/ui/");
    b.eval(
        "return navigator.clipboard.writeText('hello clipboard');",
        vec![],
    )
    .await;
    assert_eq!(b.clipboard().await, "hello clipboard");
    b.close().await;
}

#[tokio::test]
async fn first_run_setup_page_creates_the_administrator_and_signs_in() {
    let app = crate::support::spawn_with(crate::support::Options {
        no_admin: true,
        ..Default::default()
    })
    .await;
    app.wait_for_log("/ui/setup?token=", 10).await;
    let logs = app.logs();
    let token: String = logs
        .split("/ui/setup?token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.goto(&format!("/ui/setup?token={token}")).await;
    assert_eq!(b.text("h1").await, "Welcome to linkdock");
    b.fill("#username", "owner").await;
    b.fill("#password", "a-long-password").await;
    b.fill("#confirm", "a-different-one").await;
    b.click("form button[type=submit]").await;
    b.wait_text("p.error", "differ").await;
    assert_eq!(
        b.value("#username").await,
        "owner",
        "the name stays after an error"
    );
    b.fill("#password", "a-long-password").await;
    b.fill("#confirm", "a-long-password").await;
    b.click("form button[type=submit]").await;
    b.wait_for_path(|p| p == "/ui/").await;
    b.wait_text("nav.sidebar", "owner").await;
    // The link works once.
    b.goto(&format!("/ui/setup?token={token}")).await;
    b.wait_text("h1", "Setup is not available").await;
    b.close().await;
    // And the new password signs in.
    let session = app.sign_in_as("owner", "a-long-password").await;
    assert!(!session.csrf.is_empty());
}
