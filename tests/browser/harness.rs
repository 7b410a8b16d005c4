use crate::support::browser::Browser;
use crate::support::spawn_app;

#[tokio::test]
async fn signs_in_through_the_form_and_reads_the_clipboard() {
    let app = spawn_app().await;
    let Some(b) = Browser::start(&app).await else { return };
    b.sign_in().await;
    assert_eq!(b.path().await, "/ui/");
    b.eval("return navigator.clipboard.writeText('hello clipboard');", vec![])
        .await;
    assert_eq!(b.clipboard().await, "hello clipboard");
    b.close().await;
}
