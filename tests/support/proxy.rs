//! A TCP proxy to stand between a node and PostgreSQL, so a test can cut the node off the
//! database (every connection dropped, new ones refused) and restore it. It runs on its own
//! thread and runtime, so it forwards even while the test blocks.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct Proxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Proxy {
    /// Forward 127.0.0.1:<port> to `target`.
    pub fn start(target: SocketAddr) -> Self {
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (c, cs) = (Arc::clone(&cut), Arc::clone(&conns));
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let accept = async {
                    loop {
                        let Ok((client, _)) = listener.accept().await else {
                            continue;
                        };
                        // The flag is read under the lock `cut` sets it under, so a connection
                        // is either refused here or in the list `cut` aborts.
                        let mut list = cs.lock().unwrap();
                        if c.load(Ordering::SeqCst) {
                            drop(client); // refused while cut
                            continue;
                        }
                        let task = tokio::spawn(forward(client, target));
                        list.retain(|h| !h.is_finished());
                        list.push(task.abort_handle());
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        Self {
            port: port_rx.recv().expect("proxy port"),
            cut,
            conns,
            stop: Some(stop),
        }
    }

    /// Drop every connection and refuse new ones, as a network partition would.
    pub fn cut(&self) {
        let mut list = self.conns.lock().unwrap();
        self.cut.store(true, Ordering::SeqCst);
        for h in list.drain(..) {
            h.abort();
        }
    }

    /// Accept and forward connections again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn forward(mut client: TcpStream, target: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
