//! The floor: the cheapest actix-web 4 server that gives the same answers linkdock's hot paths
//! give, in its own process (this bench binary, re-run with `__floor PORT_FILE`) with actix's
//! default worker count. Every linkdock figure is compared with its floor route, measured in
//! the same run on the same machine.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};

/// The argument that makes this binary run the floor server instead of the suites.
pub const ARG: &str = "__floor";

pub const LOCATION: &str = "https://example.com/documentation";
pub const NOT_FOUND: &str = "not found";
pub const JSON: &str = r#"{"id":1,"slug":"docs","ok":1}"#;
const _: () = assert!(JSON.len() == 29 && NOT_FOUND.len() == 9);
/// The hot link as linkdock answers `GET /api/v1/links/{id}` (the seeded link, its clicks at
/// 0), with an `X-Request-Id` as linkdock sends: the keyed read against a floor that writes
/// as many bytes, to tell the answer's size from linkdock's work.
pub const LINK_JSON: &str = r#"{"id":1,"domain":"go.example.com","slug":"docs","short_url":"http://go.example.com/docs","destination_url":"https://example.com/documentation","title":"Documentation","tags":["docs"],"redirect_code":302,"expires_at":null,"clicks":0,"created_at":"2026-12-03T07:00:00Z","updated_at":"2026-12-03T07:00:00Z"}"#;

/// Serve `/302`, `/404`, `GET /json`, `GET /json-link` and `POST /json` until killed; the port goes to `port_file`.
pub fn serve(port_file: &Path) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the floor");
    let port = listener.local_addr().expect("floor address").port();
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| {
            App::new()
                .route(
                    "/302",
                    web::get().to(|| async {
                        HttpResponse::Found()
                            .insert_header(("location", LOCATION))
                            .finish()
                    }),
                )
                .route(
                    "/404",
                    web::get().to(|| async {
                        HttpResponse::NotFound()
                            .content_type("text/plain")
                            .body(NOT_FOUND)
                    }),
                )
                .route(
                    "/json-link",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .insert_header(("x-request-id", "0123456789abcdef"))
                            .body(LINK_JSON)
                    }),
                )
                // The keyed write's floor is the same JSON, 201, whatever was posted. One
                // resource: a second `/json` would never be reached (the first answers 405).
                .service(
                    web::resource("/json")
                        .route(web::get().to(|| async {
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(JSON)
                        }))
                        .route(web::post().to(|| async {
                            HttpResponse::Created()
                                .content_type("application/json")
                                .body(JSON)
                        })),
                )
        })
        .listen(listener)
        .expect("floor listens")
        .run();
        // Written whole, then renamed: a reader never sees half a number.
        let tmp = port_file.with_extension("tmp");
        std::fs::write(&tmp, port.to_string()).expect("write the floor's port");
        std::fs::rename(&tmp, port_file).expect("write the floor's port");
        server.await.expect("floor server");
    });
}

/// The floor server process; dropping it kills it.
pub struct Floor {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Floor {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port_file = dir.path().join("port");
        let child = Command::new(std::env::current_exe().expect("this bench binary"))
            .arg(ARG)
            .arg(&port_file)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the floor");
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok());
            if let Some(port) = port {
                break port;
            }
            assert!(Instant::now() < deadline, "the floor did not start");
            std::thread::sleep(Duration::from_millis(5));
        };
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
