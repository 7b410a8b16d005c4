use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::support::{call, eventually, expect, spawn_app, spawn_with, Options, Session};

fn csv_form(csv: &str) -> Form {
    Form::new().part(
        "file",
        Part::bytes(csv.as_bytes().to_vec())
            .file_name("links.csv")
            .mime_str("text/csv")
            .unwrap(),
    )
}

async fn import(admin: &Session, query: &str, csv: &str, status: u16) -> serde_json::Value {
    let res = admin
        .post(&format!("/api/v1/links/import{query}"))
        .multipart(csv_form(csv))
        .send()
        .await
        .unwrap();
    expect(res, status).await
}

#[tokio::test]
async fn import_validates_rows_one_by_one_and_export_round_trips() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin.domain("b.example.com").await;
    admin.post_json("/api/v1/links", json!({"domain": "go.example.com", "slug": "taken", "destination_url": "https://e.com"}), 201).await;
    let csv = "domain,slug,destination_url,title,tags,redirect_code,expires_at\n\
        go.example.com,docs,https://example.com/docs,Docs,a;b,301,\n\
        ,gen-domain,https://example.com/q,,,,\n\
        go.example.com,taken,https://example.com/dup,,,,\n\
        go.example.com,bad,javascript:alert(1),,,,\n\
        go.example.com,,https://example.com/generated,,,,2099-01-01T00:00:00Z\n\
        nope.example.com,x,https://example.com,,,,\n\
        b.example.com,old,https://example.com/old,,,307,2001-01-01T00:00:00Z\n";
    let r = import(&admin, "?domain=go.example.com", csv, 200).await;
    assert_eq!(r["created"], 4, "{r}");
    assert_eq!(r["skipped"], 1, "{r}");
    assert_eq!(r["failed"], 2, "{r}");
    assert_eq!(r["errors"][0]["row"], 5);
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("destination_url"));
    assert_eq!(r["errors"][1]["row"], 7);

    let docs = call(admin.get("/api/v1/links?search=docs"), 200).await;
    assert_eq!(docs["items"][0]["tags"], json!(["a", "b"]));
    assert_eq!(docs["items"][0]["redirect_code"], 301);

    let res = admin.get("/api/v1/links/export").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("text/csv"));
    let today = &time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()[..10];
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"links-all-{today}.csv\"").as_str()
    );
    let exported = res.text().await.unwrap();
    assert!(
        exported.starts_with("domain,slug,destination_url,title,tags,redirect_code,expires_at\n")
    );
    assert_eq!(exported.lines().count(), 6, "{exported}");
    let res = admin
        .get("/api/v1/links/export?domain=B.Example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"links-b.example.com-{today}.csv\"").as_str(),
        "the file is named after the domain, as stored"
    );
    let only_b = expect(res, 200).await;
    assert_eq!(only_b.as_str().unwrap().lines().count(), 2);

    // Into an empty instance: the same links.
    let other = spawn_app().await;
    let admin2 = other.admin().await;
    admin2.domain("go.example.com").await;
    admin2.domain("b.example.com").await;
    let r = import(&admin2, "", &exported, 200).await;
    assert_eq!(r["created"], 5, "{r}");
    let again = call(admin2.get("/api/v1/links/export"), 200).await;
    assert_eq!(again.as_str().unwrap(), exported);
}

/// The rows of a report's errors, in order.
fn error_rows(r: &serde_json::Value) -> Vec<u64> {
    r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn import_errors_name_the_spreadsheet_row_in_lf_crlf_and_multi_line_files() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let q = "?domain=go.example.com";

    // LF, with a blank line: spreadsheets show it as row 4, so the record after it is row 5.
    let lf = "slug,destination_url\n\
        lf-1,https://example.com/1\n\
        lf-bad-1,javascript:alert(1)\n\
        \n\
        lf-bad-2,ftp://example.com/2\n\
        lf-2,https://example.com/2\n";
    let r = import(&admin, q, lf, 200).await;
    assert_eq!(
        (r["created"].as_u64(), r["failed"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    assert_eq!(error_rows(&r), [3, 5], "{r}");

    // CRLF, as Excel on Windows saves it: rows 6, 7 and 8 fail.
    let mut crlf = String::from("slug,destination_url\r\n");
    for i in 2..=5 {
        crlf.push_str(&format!("crlf-{i},https://example.com/{i}\r\n"));
    }
    for i in 6..=8 {
        crlf.push_str(&format!("crlf-bad-{i},javascript:alert({i})\r\n"));
    }
    let r = import(&admin, q, &crlf, 200).await;
    assert_eq!(
        (r["created"].as_u64(), r["failed"].as_u64()),
        (Some(4), Some(3)),
        "{r}"
    );
    assert_eq!(error_rows(&r), [6, 7, 8], "{r}");
    // One record: row 2, never the header's row 1; also without a line end after it.
    for one in [
        "slug,destination_url\r\ncrlf-one,javascript:alert(1)\r\n",
        "slug,destination_url\r\ncrlf-one,javascript:alert(1)",
    ] {
        let r = import(&admin, q, one, 200).await;
        assert_eq!(error_rows(&r), [2], "{one:?}: {r}");
    }

    // Quoted cells that span lines: each record is one row. The title of row 2 is trimmed to
    // one line and kept; row 3's holds a line break, which a title may not.
    let multi = "slug,destination_url,title\n\
        ml-1,https://example.com/m1,\"Spans\n\n\"\n\
        ml-bad-1,https://example.com/m2,\"two\nlines\"\n\
        ml-bad-2,javascript:alert(1),Bad\n\
        ml-2,https://example.com/m3,\"\r\nAlso\r\n\"\n\
        ml-bad-3,ftp://example.com/m4,\n";
    let r = import(&admin, q, multi, 200).await;
    assert_eq!(
        (r["created"].as_u64(), r["failed"].as_u64()),
        (Some(2), Some(3)),
        "{r}"
    );
    assert_eq!(error_rows(&r), [3, 4, 6], "{r}");
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("title:"));
    let m1 = call(admin.get("/api/v1/links?search=ml-1"), 200).await;
    assert_eq!(m1["items"][0]["title"], "Spans");
}

#[tokio::test]
async fn import_refuses_bad_files_big_files_and_out_of_scope_rows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("a.example.com").await;
    admin.domain("b.example.com").await;
    let p = import(
        &admin,
        "",
        "domain,slug,url\na.example.com,x,https://e.com\n",
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("url"), "{p}");
    let res = admin
        .post("/api/v1/links/import")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let key = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "a only", "domains": ["a.example.com"]}),
            201,
        )
        .await;
    let key = key["key"].as_str().unwrap();
    // The scope is judged first, row by row: a domain outside it looks exactly like one that
    // does not exist, so a key cannot probe which hostnames exist.
    let csv = "domain,destination_url\na.example.com,https://e.com/1\nb.example.com,https://e.com/2\nnope.example.com,https://e.com/3\nb.example.com,not a url\n";
    let res = app
        .http
        .post(app.url("/api/v1/links/import"))
        .bearer_auth(key)
        .multipart(csv_form(csv))
        .send()
        .await
        .unwrap();
    let r = expect(res, 200).await;
    assert_eq!(
        (r["created"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(3)),
        "{r}"
    );
    let message = |i: usize| r["errors"][i]["message"].as_str().unwrap().to_owned();
    assert_eq!(
        message(0).replace("b.example.com", "X"),
        message(1).replace("nope.example.com", "X"),
        "out of scope and unknown read the same: {r}"
    );
    assert_eq!(
        message(2),
        message(0),
        "scope is judged before the URL: {r}"
    );
    let list = call(admin.get("/api/v1/links"), 200).await;
    assert_eq!(list["total"], 1, "only the row in scope");
    for domain in ["b.example.com", "nope.example.com"] {
        let res = app
            .http
            .post(app.url(&format!("/api/v1/links/import?domain={domain}")))
            .bearer_auth(key)
            .multipart(csv_form("destination_url\nhttps://e.com/4\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{domain}");
    }
    let res = app
        .http
        .get(app.url("/api/v1/links/export"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let small = crate::support::spawn_with(crate::support::Options {
        extra_toml: "\n[import]\nmax_bytes = 2048\n".into(),
        ..Default::default()
    })
    .await;
    let admin = small.admin().await;
    let big = format!(
        "destination_url\n{}",
        "https://example.com/a-long-path\n".repeat(200)
    );
    let res = admin
        .post("/api/v1/links/import")
        .multipart(csv_form(&big))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn playground_history_is_per_user_bounded_and_never_holds_a_key() {
    let app = crate::support::spawn_with(crate::support::Options {
        extra_toml: "\n[playground]\nhistory_limit_per_user = 3\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "pg"}), 201)
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    for i in 0..5 {
        let e = admin
            .post_json("/api/v1/playground/history", json!({"method": "GET", "path": "/api/v1/links", "query": format!("offset={i}"), "status": 200, "duration_ms": 3, "key_prefix": &key[..12]}), 201)
            .await;
        assert_eq!(e["query"], format!("offset={i}"));
    }
    let h = call(admin.get("/api/v1/playground/history"), 200).await;
    assert_eq!(h["total"], 3);
    assert_eq!(h["items"][0]["query"], "offset=4");
    for (field, value) in [
        ("body", json!(format!("{{\"k\": \"{key}\"}}"))),
        ("query", json!(format!("key={key}"))),
        ("key_prefix", json!(key)),
    ] {
        let mut body =
            json!({"method": "POST", "path": "/api/v1/links", "status": 200, "duration_ms": 1});
        body[field] = value;
        let p = admin
            .post_json("/api/v1/playground/history", body, 400)
            .await;
        assert_eq!(p["errors"][0]["field"], field);
        assert!(
            !p.to_string().contains(&key[12..]),
            "the refusal does not echo the key"
        );
    }
    let res = app
        .http
        .get(app.url("/api/v1/playground/history"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "keys cannot read history");
    call(admin.delete("/api/v1/playground/history"), 204).await;
    let h = call(admin.get("/api/v1/playground/history"), 200).await;
    assert_eq!(h["total"], 0);
}

#[tokio::test]
async fn an_import_lists_at_most_a_hundred_row_errors_and_counts_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // 5,000 one-column rows that all fail: the answer stays small.
    let csv = format!("destination_url\n{}", "x\n".repeat(5_000));
    let r = import(&admin, "", &csv, 200).await;
    assert_eq!(r["failed"], 5_000);
    assert_eq!(r["errors"].as_array().unwrap().len(), 100);
    assert_eq!(r["errors"][0]["row"], 2);
    assert_eq!(r["errors"][99]["row"], 101);
    assert_eq!(r["errors_truncated"], 4_900);
    // Many good rows land in several chunks, every one of them.
    admin.domain("bulk.example.com").await;
    let mut csv = String::from("slug,destination_url\n");
    for i in 0..5_000 {
        csv.push_str(&format!("s{i},https://example.com/{i}\n"));
    }
    let r = import(&admin, "?domain=bulk.example.com", &csv, 200).await;
    assert_eq!(
        (r["created"].as_u64(), r["failed"].as_u64()),
        (Some(5_000), Some(0)),
        "{r}"
    );
    assert_eq!(r["errors_truncated"], 0);
}

#[tokio::test]
async fn exported_cells_that_a_spreadsheet_would_run_are_guarded_and_round_trip() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    for (slug, title) in [
        ("-minus", "=HYPERLINK(\"http://evil\",\"x\")"),
        ("plain", "'=quoted already"),
    ] {
        admin
            .post_json(
                "/api/v1/links",
                json!({"domain": "go.example.com", "slug": slug, "destination_url": "https://example.com/", "title": title}),
                201,
            )
            .await;
    }
    let res = admin.get("/api/v1/links/export").send().await.unwrap();
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"links-all-"));
    let exported = res.text().await.unwrap();
    assert!(exported.contains("'-minus"), "{exported}");
    assert!(exported.contains("\"'=HYPERLINK("), "{exported}");
    assert!(exported.contains("''=quoted already"), "{exported}");
    for line in exported.lines().skip(1) {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "an unguarded cell in {line}"
            );
        }
    }
    let other = spawn_app().await;
    let admin2 = other.admin().await;
    admin2.domain("go.example.com").await;
    let r = import(&admin2, "", &exported, 200).await;
    assert_eq!(r["created"], 2, "{r}");
    let minus = call(admin2.get("/api/v1/links?search=-minus"), 200).await;
    assert_eq!(minus["items"][0]["slug"], "-minus");
    assert_eq!(
        minus["items"][0]["title"],
        "=HYPERLINK(\"http://evil\",\"x\")"
    );
    let quoted = call(admin2.get("/api/v1/links?search=plain"), 200).await;
    assert_eq!(quoted["items"][0]["title"], "'=quoted already");
}

#[tokio::test]
async fn a_cell_longer_than_any_value_fails_its_row_and_the_other_rows_are_created() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let huge = "a".repeat(2 << 20);
    let csv = format!(
        "slug,destination_url,title\n\
         first,https://example.com/1,ok\n\
         long,https://example.com/{huge},x\n\
         quoted,https://example.com/3,\"{huge}\"\n\
         last,https://example.com/4,ok\n"
    );
    let r = import(&admin, "?domain=go.example.com", &csv, 200).await;
    assert_eq!(
        (r["created"].as_u64(), r["failed"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    assert_eq!(
        r["errors"],
        json!([
            {"row": 3, "message": "destination_url: is longer than 8192 bytes, more than any value of it can be"},
            {"row": 4, "message": "title: is longer than 8192 bytes, more than any value of it can be"},
        ])
    );
    let list = call(admin.get("/api/v1/links"), 200).await;
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["last", "first"]);
}

#[tokio::test]
async fn imports_beyond_the_limit_wait_briefly_then_get_429_with_retry_after() {
    use std::io::{Read, Write};

    let app = spawn_with(Options {
        extra_toml: "\n[import]\nmax_concurrent = 1\nqueue_wait = \"100ms\"\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "importer"}), 201)
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    // An import whose upload is still arriving holds the one slot.
    let boundary = "held-import";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\ndestination_url\n"
    );
    let tail = format!("https://example.com/held\n\r\n--{boundary}--\r\n");
    let mut held = std::net::TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    write!(
        held,
        "POST /api/v1/links/import?domain=go.example.com HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        head.len() + tail.len()
    )
    .unwrap();
    held.flush().unwrap();
    let next = || {
        app.http
            .post(app.url("/api/v1/links/import?domain=go.example.com"))
            .bearer_auth(&key)
            .multipart(csv_form("destination_url\nhttps://example.com/next\n"))
            .send()
    };
    // Once the held import has its slot, the next one waits `queue_wait`, then is refused.
    let refused = eventually(10, || async {
        let res = next().await.unwrap();
        (res.status() == 429).then_some(res)
    })
    .await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let p = expect(refused, 429).await;
    assert_eq!(p["status"], 429);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("import.max_concurrent"),
        "{p}"
    );
    // The held import finishes and frees its slot.
    held.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    held.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"created\":1"), "{answer}");
    let r = expect(next().await.unwrap(), 200).await;
    assert_eq!(r["created"], 1);
}

/// The slugs of an export's rows, in file order.
fn exported_slugs(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn export_takes_the_list_search_and_filters_and_holds_what_the_list_shows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin.domain("b.example.com").await;
    for (domain, slug, dest, title, tags) in [
        (
            "go.example.com",
            "docs",
            "https://example.com/documentation",
            "Docs",
            json!(["team"]),
        ),
        (
            "go.example.com",
            "blog",
            "https://blog.example.com/",
            "Our Blog",
            json!(["Team", "news"]),
        ),
        (
            "go.example.com",
            "sale",
            "https://shop.example.com/DOCS-sale",
            "Summer",
            json!([]),
        ),
        (
            "b.example.com",
            "docs",
            "https://b.example.com/docs",
            "B docs",
            json!(["team"]),
        ),
        (
            "b.example.com",
            "misc",
            "https://example.org/",
            "Ünïcode Title",
            json!([]),
        ),
    ] {
        admin
            .post_json(
                "/api/v1/links",
                json!({"domain": domain, "slug": slug, "destination_url": dest, "title": title, "tags": tags}),
                201,
            )
            .await;
    }
    for (query, expected) in [
        ("", vec!["docs", "blog", "sale", "docs", "misc"]),
        ("?search=DOCS", vec!["docs", "sale", "docs"]),
        ("?search=docs&domain=go.example.com", vec!["docs", "sale"]),
        ("?tag=team", vec!["docs", "blog", "docs"]),
        ("?tag=TEAM&domain=b.example.com", vec!["docs"]),
        ("?search=blog&tag=news", vec!["blog"]),
        ("?search=ünïcode", vec!["misc"]),
        (
            "?search=&tag=&domain=",
            vec!["docs", "blog", "sale", "docs", "misc"],
        ),
        ("?search=nothing-like-this", vec![]),
    ] {
        let csv = call(admin.get(&format!("/api/v1/links/export{query}")), 200).await;
        let csv = csv.as_str().unwrap();
        assert_eq!(exported_slugs(csv), expected, "export{query}: {csv}");
        // The same links as the list for the same query (which is newest first).
        let sep = if query.is_empty() { "?" } else { "&" };
        let list = call(
            admin.get(&format!("/api/v1/links{query}{sep}limit=100")),
            200,
        )
        .await;
        let mut listed: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["slug"].as_str().unwrap().to_owned())
            .collect();
        listed.reverse();
        assert_eq!(listed, expected, "list{query}");
    }

    // A key scoped to one domain exports only its links, whatever it searches for.
    let key = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "scoped", "domains": ["b.example.com"]}),
            201,
        )
        .await;
    let res = app
        .http
        .get(app.url("/api/v1/links/export?search=docs"))
        .bearer_auth(key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let csv = expect(res, 200).await;
    assert_eq!(exported_slugs(csv.as_str().unwrap()), vec!["docs"]);
    assert!(csv.as_str().unwrap().contains("b.example.com,docs"));

    // A domain that is not a host name is a 400 problem naming the field.
    let res = admin
        .get("/api/v1/links/export?domain=https://go.example.com/&search=docs")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem = res.json::<serde_json::Value>().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "domain", "{problem}");
}
