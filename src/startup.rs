//! Wiring: open the store, apply the declared resources, bootstrap the first user, start the
//! writer, sweeper, config watcher, HTTP server and control socket; shut them down in order.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use crate::clock;
use crate::config::{Backend, Config, StorageConfig};
use crate::control::ControlSocket;
use crate::domain::{now, Password, PasswordHash, Role, Username};
use crate::encoding::hex;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::analytics::Day;
use crate::store::geoip::GeoIp;
use crate::store::records::{Source, UserRecord};
use crate::store::writer::Writer;
use crate::store::{SetupLink, Store, StoreError};
use crate::{api, control, docs, middleware, redirect, ui};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("the configuration cannot be applied: {0}")]
    Declared(String),
    #[error("LINKDOCK_ADMIN_PASSWORD: {0}")]
    AdminPassword(String),
    #[error("cannot watch the config file: {0}")]
    Watch(#[from] notify::Error),
    /// `analytics.geoip_db` is missing or not a MaxMind DB (one line naming the file).
    #[error("{0}")]
    GeoIp(String),
    #[error("cannot start the event writer thread: {0}")]
    Writer(std::io::Error),
    #[error("cannot start the password-checking threads: {0}")]
    Threads(std::io::Error),
    #[error("cannot write the port file {path}: {source}")]
    PortFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no random source: {0}")]
    Random(String),
    #[error("cannot catch the stop signals: {0}")]
    Signals(std::io::Error),
}

pub struct Application {
    bound: SocketAddr,
    server: Server,
    writer: Writer,
    state: web::Data<AppState>,
    sign_in: SignInHint,
    control: Option<ControlSocket>,
    /// Keeps the read models in step with other nodes (PostgreSQL only).
    follower: Option<crate::store::Follower>,
    limits: Option<crate::store::LimitSync>,
    _watcher: Option<notify::RecommendedWatcher>,
}

/// How to sign in, logged right after the listening line.
enum SignInHint {
    Ready(String),
    Created(String),
    Setup(String),
    /// Another node printed the setup link (at that time); it works on every node.
    SetupElsewhere(crate::domain::Timestamp),
}

impl Application {
    pub fn build(mut config: Config, config_path: Option<PathBuf>) -> Result<Self, StartError> {
        // Before anything is opened or bound: a GeoIP file that cannot be read stops the start.
        let geoip = match config.analytics.geoip_path() {
            Some(path) => Some(GeoIp::open(path).map_err(StartError::GeoIp)?),
            None => None,
        };
        let store = open_store(&config.storage)?;
        store
            .apply_declared(config.take_declared())
            .map_err(|e| StartError::Declared(e.to_string()))?;
        let addr = config.server.listen;
        let header_timeout = config.server.header_timeout.0;
        let listener = TcpListener::bind(addr).map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })?;
        let bound = listener.local_addr().map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })?;
        let writer =
            Writer::spawn_with(std::sync::Arc::clone(&store), geoip).map_err(StartError::Writer)?;
        let sink = writer.sink().analytics(config.analytics.enabled);
        let state = web::Data::new(
            AppState::new(config, config_path, store, sink).map_err(StartError::Threads)?,
        );
        let sign_in = bootstrap_first_user(&state, bound)?;
        publish_problem_base(&state, bound);

        let watcher = match &state.config_path {
            Some(path) => {
                let st = state.clone();
                Some(crate::config::watch::watch(path, move || {
                    st.reload();
                    publish_problem_base(&st, bound);
                })?)
            }
            None => None,
        };

        // Before serving: the other nodes learn of this one before it counts any limit.
        let limits = state.store.share_limits();
        let stop = stop_signals().map_err(StartError::Signals)?;
        let st = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(st.clone())
                .wrap(actix_web::middleware::from_fn(middleware::request_context))
                // A keyed `GET /api/v1/links/{id}` that passes every check is answered here,
                // with what `request_context` would have recorded.
                .wrap(middleware::AheadOfRouting::new(
                    st.clone(),
                    api::links::keyed_read,
                ))
                // Short links are answered before routing and the request span.
                .wrap(middleware::AheadOfRouting::new(
                    st.clone(),
                    redirect::short_link,
                ))
                // Outermost: every request body, short links' too, keeps its pace.
                .wrap(middleware::PaceBodies(st.clone()))
                .route("/healthz", web::get().to(api::system::healthz))
                .route("/metrics", web::get().to(api::system::metrics))
                .service(api::scope())
                .configure(docs::configure)
                .configure(ui::configure)
                .service(
                    web::scope("/static").route("/{path:.*}", web::get().to(ui::assets::serve)),
                )
                .route("/", web::get().to(|| async { ui::see_other("/ui/") }))
                // What no route claims (short links were answered before routing).
                .default_service(web::to(redirect::fallback))
        })
        .shutdown_timeout(30)
        .shutdown_signal(stop)
        .client_request_timeout(header_timeout)
        .listen(listener)
        .map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })?
        .run();

        spawn_sweeper(state.clone());
        spawn_sighup(state.clone(), bound);
        let control = listen_for_commands(&state);
        let follower = state.store.follow();
        Ok(Self {
            bound,
            server,
            writer,
            state,
            sign_in,
            control,
            follower,
            limits,
            _watcher: watcher,
        })
    }

    pub fn port(&self) -> u16 {
        self.bound.port()
    }

    /// The address the server is bound to (the real port even when `listen` says 0).
    pub fn bound(&self) -> SocketAddr {
        self.bound
    }

    /// Log how to sign in: the URL, the bootstrap user, or the one-time setup link.
    pub fn log_sign_in(&self) {
        match &self.sign_in {
            SignInHint::Ready(url) => tracing::info!("sign in at {url}"),
            SignInHint::Created(url) => tracing::info!("created user `admin` from LINKDOCK_ADMIN_PASSWORD; sign in at {url}"),
            SignInHint::Setup(url) => tracing::warn!("no user yet: open {url} to choose the first administrator's password (the link works once)"),
            SignInHint::SetupElsewhere(at) => tracing::warn!("no user yet: another node printed the setup link at {at} (it works on every node); a node started 15 minutes after it prints a new one, or set LINKDOCK_ADMIN_PASSWORD"),
        }
    }

    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// Serve until SIGTERM/SIGINT; in-flight requests finish, the control socket closes, then
    /// the writer flushes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(control) = self.control {
            control.close();
        }
        tracing::info!("server stopped; flushing pending events");
        drop(self.follower);
        drop(self.limits);
        self.writer.shutdown();
        drop(self.state);
        tracing::info!("database closed; goodbye");
        result
    }
}

/// Open the configured backend: the redb file in the data dir, or the PostgreSQL database
/// (whose URL the config check made sure of).
pub fn open_store(storage: &StorageConfig) -> Result<std::sync::Arc<Store>, StoreError> {
    match (storage.backend, &storage.postgres_url) {
        (Backend::Redb, _) => Store::open(&storage.data_dir),
        (Backend::Postgres, Some(url)) => {
            // The data dir still holds the control socket (and direct backups).
            crate::store::private_dir(&storage.data_dir)?;
            Store::open_postgres(url.expose_secret())
        }
        (Backend::Postgres, None) => Err(StoreError::Conflict(
            "storage.backend is postgres but no URL is set: set storage.postgres_url or LINKDOCK_DATABASE_URL".into(),
        )),
    }
}

/// How to sign in. The links name `public_url`, or else the address actually bound.
fn bootstrap_first_user(st: &AppState, bound: SocketAddr) -> Result<SignInHint, StartError> {
    let public = st.config.current().server.base_url(bound);
    if st.store.user_count()? > 0 {
        return Ok(SignInHint::Ready(format!("{public}/ui/")));
    }
    if let Ok(pw) = std::env::var("LINKDOCK_ADMIN_PASSWORD") {
        let pw = Password::parse(pw).map_err(|e| StartError::AdminPassword(e.message))?;
        let rec = UserRecord::new(
            Username::parse("admin").map_err(|e| StartError::AdminPassword(e.message))?,
            PasswordHash::new(&pw, &st.rng)
                .map_err(|_| StartError::Random("for a password salt".into()))?,
            Source::Api,
            Role::Admin,
        );
        let by = crate::audit::By::new(
            crate::audit::Actor::system("first start (LINKDOCK_ADMIN_PASSWORD)"),
            None,
        );
        st.store.create_first_user(&rec, &by)?;
        return Ok(SignInHint::Created(format!("{public}/ui/")));
    }
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&st.rng, &mut b)
        .map_err(|_| StartError::Random("for the setup link".into()))?;
    let token = hex(&b);
    Ok(match st.store.issue_setup(&token)? {
        SetupLink::Issued => SignInHint::Setup(format!("{public}/ui/setup?token={token}")),
        SetupLink::IssuedElsewhere { at } => SignInHint::SetupElsewhere(at),
        SetupLink::NotNeeded => SignInHint::Ready(format!("{public}/ui/")),
    })
}

/// The control socket for `linkdock backup`. Without it the server still runs; the command
/// then says that no server answered.
fn listen_for_commands(st: &web::Data<AppState>) -> Option<ControlSocket> {
    let data_dir = st.config.current().storage.data_dir.clone();
    match control::listen(&data_dir, st.clone().into_inner()) {
        Ok(socket) => {
            tracing::debug!(socket = %socket.path().display(), "control socket listening");
            Some(socket)
        }
        Err(e) => {
            tracing::warn!(
                socket = %control::socket_path(&data_dir).display(),
                error = %e,
                "cannot listen on the control socket; `linkdock backup` will not reach this server (use POST /api/v1/backup)"
            );
            None
        }
    }
}

fn spawn_sweeper(st: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        loop {
            let every: Duration = st.config.current().keys.sweep_interval.0;
            actix_web::rt::time::sleep(every).await;
            let st2 = st.clone();
            let swept = web::block(move || {
                let at = now();
                if let Err(e) = st2.store.prune_sessions(at) {
                    tracing::error!(error = %e, "pruning expired sessions failed; retrying at the next sweep");
                }
                let keep = st2.config.current().audit.retention_secs();
                match st2.store.prune_audit(at.plus_secs(-keep)) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(entries = n, "activity log: dropped entries past audit.retention_days"),
                    Err(e) => tracing::error!(error = %e, "pruning the activity log failed; retrying at the next sweep"),
                }
                if let Err(e) = st2.store.prune_usage(at) {
                    tracing::error!(error = %e, "pruning old key usage failed; retrying at the next sweep");
                }
                let keep = st2.config.current().analytics.retention_days;
                match st2.store.prune_link_days(Day::of(at).minus(keep.saturating_sub(1))) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(link_days = n, "analytics: dropped days past analytics.retention_days"),
                    Err(e) => tracing::error!(error = %e, "pruning analytics failed; retrying at the next sweep"),
                }
                st2.store.expire_keys(at)
            })
            .await;
            Metrics::inc(&st.metrics.sweeper_runs);
            match swept {
                Ok(Ok(keys)) => {
                    for k in keys {
                        tracing::info!(key = k.id, prefix = %k.prefix, "API key expired");
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "key sweeper failed"),
                Err(_) => return,
            }
        }
    });
}

/// Problem `type` URLs start with the URL people are told to open; `public_url` may change on
/// a reload.
fn publish_problem_base(st: &AppState, bound: SocketAddr) {
    crate::error::set_problem_base(&st.config.current().server.base_url(bound));
}

/// SIGTERM or SIGINT: finish what is in flight, then stop. Caught here, before the port file
/// says the server is up: actix would install its own handlers only once the server is first
/// polled, and a SIGTERM sent in between killed the process without a flush.
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        futures_util::future::select(Box::pin(term.recv()), Box::pin(int.recv())).await;
        tracing::info!("stop signal received; finishing requests in flight");
    })
}

fn spawn_sighup(st: web::Data<AppState>, bound: SocketAddr) {
    #[cfg(unix)]
    actix_web::rt::spawn(async move {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            let st2 = st.clone();
            let reloaded = web::block(move || {
                st2.reload();
                publish_problem_base(&st2, bound);
            });
            if reloaded.await.is_err() {
                return; // the blocking pool is gone: the server is stopping
            }
        }
    });
}

/// Run the server until SIGTERM/SIGINT: the `serve` command. With `port_file`, the bound port
/// is written there once the server listens, for supervisors and tests.
pub fn serve(
    config: Config,
    config_path: Option<PathBuf>,
    port_file: Option<&Path>,
) -> Result<(), String> {
    if std::env::var_os(clock::TEST_SWITCH).is_some_and(|v| v == "1") {
        clock::make_movable();
        tracing::warn!(
            "{}=1: the clock can be moved through the control socket; for tests only",
            clock::TEST_SWITCH
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, config_path.clone()).map_err(|e| e.to_string())?;
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            port = app.port(),
            data = %app.state().store.path().display(),
            config = %config_path.as_ref().map_or_else(|| "embedded defaults".to_owned(), |p| p.display().to_string()),
            "linkdock listening on {}",
            app.bound()
        );
        if let Some(path) = port_file {
            write_port_file(path, app.port()).map_err(|e| e.to_string())?;
        }
        app.log_sign_in();
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// Write the port to a temporary file and rename it into place, so a reader never sees half.
fn write_port_file(path: &Path, port: u16) -> Result<(), StartError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, port.to_string())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| StartError::PortFile {
            path: path.to_owned(),
            source,
        })
}
