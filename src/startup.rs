//! Wiring: open the store, apply the declared resources, bootstrap the first user, start the
//! writer, sweeper, config watcher and HTTP server; shut them down in order.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};

use crate::auth::limiter::FailureLimiter;
use crate::auth::password;
use crate::config::{Config, SharedConfig};
use crate::domain::{now, Password, Username};
use crate::keys::hex;
use crate::metrics::Metrics;
use crate::store::records::{Source, UserRecord};
use crate::store::writer::{EventSink, Writer};
use crate::store::{Store, StoreError};
use crate::{api, docs, redirect, telemetry, ui};

/// Everything a request may need, shared by all workers.
pub struct AppState {
    pub config: SharedConfig,
    pub store: Arc<Store>,
    pub events: EventSink,
    pub limiter: FailureLimiter,
    pub metrics: Metrics,
    pub setup: SetupGate,
    pub rng: ring::rand::SystemRandom,
    pub config_path: Option<PathBuf>,
}

/// The one-time setup link, open only while there is no user.
#[derive(Default)]
pub struct SetupGate(Mutex<Option<String>>);

impl SetupGate {
    pub fn accepts(&self, token: &str) -> bool {
        let guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard
            .as_deref()
            .is_some_and(|t| crate::auth::session::same_secret(t, token))
    }

    pub fn close(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn open(&self, token: String) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token);
    }
}

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
}

pub struct Application {
    port: u16,
    server: Server,
    writer: Writer,
    state: web::Data<AppState>,
    sign_in: SignInHint,
    _watcher: Option<notify::RecommendedWatcher>,
}

/// How to sign in, logged right after the listening line.
enum SignInHint {
    Ready(String),
    Created(String),
    Setup(String),
}

impl Application {
    pub fn build(config: Config, config_path: Option<PathBuf>) -> Result<Self, StartError> {
        let store = Store::open(&config.storage.data_dir)?;
        store
            .apply_declared(&config.declared())
            .map_err(|e| StartError::Declared(e.to_string()))?;
        let addr = config.server.listen;
        let listener = TcpListener::bind(addr).map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Listen {
                addr: addr.to_string(),
                source,
            })?
            .port();
        let writer = Writer::spawn(Arc::clone(&store));
        let state = web::Data::new(AppState {
            config: SharedConfig::new(config),
            store,
            events: writer.sink(),
            limiter: FailureLimiter::default(),
            metrics: Metrics::default(),
            setup: SetupGate::default(),
            rng: ring::rand::SystemRandom::new(),
            config_path,
        });
        let sign_in = bootstrap_first_user(&state)?;

        let watcher = match &state.config_path {
            Some(path) => {
                let st = state.clone();
                Some(crate::config::watch::watch(path, move || reload(&st))?)
            }
            None => None,
        };

        let st = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(st.clone())
                .app_data(api::query_config())
                .app_data(api::path_config())
                .app_data(web::PayloadConfig::new(api::JSON_LIMIT))
                .app_data(web::FormConfig::default().limit(64 * 1024))
                .wrap(middleware::from_fn(telemetry::request_context))
                .route("/healthz", web::get().to(api::system::healthz))
                .route("/metrics", web::get().to(api::system::metrics))
                .service(web::scope("/api/v1").configure(api::configure))
                .configure(docs::configure)
                .configure(ui::configure)
                .service(
                    web::scope("/static").route("/{path:.*}", web::get().to(ui::assets::serve)),
                )
                .route("/", web::get().to(|| async { ui::see_other("/ui/") }))
                // Short links are whatever no route above claimed: `/{slug}` as a resource
                // would cost a regex match on every request.
                .default_service(web::to(redirect::fallback))
        })
        .shutdown_timeout(30)
        .listen(listener)
        .map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })?
        .run();

        spawn_sweeper(state.clone());
        spawn_sighup(state.clone());
        Ok(Self {
            port,
            server,
            writer,
            state,
            sign_in,
            _watcher: watcher,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Log how to sign in: the URL, the bootstrap user, or the one-time setup link.
    pub fn log_sign_in(&self) {
        match &self.sign_in {
            SignInHint::Ready(url) => tracing::info!("sign in at {url}"),
            SignInHint::Created(url) => tracing::info!("created user `admin` from LINKDOCK_ADMIN_PASSWORD; sign in at {url}"),
            SignInHint::Setup(url) => tracing::warn!("no user yet: open {url} to choose the first administrator's password (the link works once)"),
        }
    }

    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// Serve until SIGTERM/SIGINT; in-flight requests finish, then the writer flushes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        tracing::info!("server stopped; flushing pending events");
        self.writer.shutdown();
        drop(self.state);
        tracing::info!("database closed; goodbye");
        result
    }
}

fn bootstrap_first_user(st: &AppState) -> Result<SignInHint, StartError> {
    let public = st.config.current().server.public_url.as_str().to_owned();
    if st.store.user_count()? > 0 {
        return Ok(SignInHint::Ready(format!("{public}/ui/")));
    }
    if let Ok(pw) = std::env::var("LINKDOCK_ADMIN_PASSWORD") {
        let pw = Password::parse(pw).map_err(|e| StartError::AdminPassword(e.message))?;
        let rec = UserRecord {
            username: Username::parse("admin").map_err(|e| StartError::AdminPassword(e.message))?,
            password_hash: password::hash(&pw, &st.rng).as_str().to_owned(),
            source: Source::Api,
            created_at: now(),
        };
        st.store.create_first_user(&rec)?;
        return Ok(SignInHint::Created(format!("{public}/ui/")));
    }
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&st.rng, &mut b)
        .map_err(|_| StartError::AdminPassword("no random source".into()))?;
    let token = hex(&b);
    st.setup.open(token.clone());
    Ok(SignInHint::Setup(format!(
        "{public}/ui/setup?token={token}"
    )))
}

/// Re-read the config file: parse and validate it whole, apply the declared resources in one
/// transaction, then swap. Anything wrong keeps the running configuration.
pub fn reload(st: &AppState) {
    let Some(path) = &st.config_path else { return };
    let running = st.config.current();
    let next = match Config::load(Some(path)) {
        Ok(c) => c,
        Err(e) => {
            Metrics::inc(&st.metrics.config_reload_errors);
            tracing::error!(error = %e, "config change refused; keeping the running configuration");
            return;
        }
    };
    if next == **running {
        return;
    }
    for field in running.restart_only_changes(&next) {
        tracing::warn!(
            setting = field,
            "this setting changed in the file but needs a restart to take effect"
        );
    }
    let next = next.keeping_restart_only(&running);
    match st.store.apply_declared(&next.declared()) {
        Ok(report) => {
            for host in &report.kept {
                tracing::warn!(domain = %host, "domain removed from the config file is kept because links or keys use it");
            }
        }
        Err(e) => {
            Metrics::inc(&st.metrics.config_reload_errors);
            tracing::error!(error = %e, "config change refused; keeping the running configuration");
            return;
        }
    }
    telemetry::set_level(next.log.level);
    st.config.replace(next);
    Metrics::inc(&st.metrics.config_reloads);
    tracing::info!(path = %path.display(), "configuration reloaded");
}

fn spawn_sweeper(st: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        loop {
            let every: Duration = st.config.current().keys.sweep_interval.0;
            actix_web::rt::time::sleep(every).await;
            let st2 = st.clone();
            let swept = web::block(move || {
                let at = now();
                let _ = st2.store.prune_sessions(at);
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

fn spawn_sighup(st: web::Data<AppState>) {
    #[cfg(unix)]
    actix_web::rt::spawn(async move {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            let st2 = st.clone();
            let _ = web::block(move || reload(&st2)).await;
        }
    });
}
