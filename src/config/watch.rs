//! Follow the config file. The watch is on its directory, filtered by file name, because
//! editors save by writing a new file and renaming it over the old one, which would silently
//! end a watch placed on the file itself.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// How long the file must stay unchanged (no event, same size, time and bytes) before it is
/// read for a reload. Longer than the gap between the writes of a save done in several
/// steps (truncate, then write; or half, then the rest), so a half-written file is never
/// applied.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Call `on_change` after each (settled) change of `path`. Keep the returned watcher alive.
pub fn watch(
    path: &Path,
    on_change: impl Fn() + Send + 'static,
) -> notify::Result<RecommendedWatcher> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let name = path.file_name().map(ToOwned::to_owned);
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let Ok(ev) = ev else { return };
        if ev.kind.is_access() {
            return;
        }
        if ev.paths.iter().any(|p| p.file_name() == name.as_deref()) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    std::thread::Builder::new()
        .name("linkdock-config-watch".into())
        .spawn(move || {
            // Ends when the watcher (and with it the sender) is dropped.
            while rx.recv().is_ok() {
                if !settled(&rx, &path, SETTLE) {
                    return;
                }
                on_change();
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

/// Wait until `path` has been still for `settle`: no event and the same [`Snapshot`] at both
/// ends of the wait. False when the watcher is gone.
fn settled(rx: &mpsc::Receiver<()>, path: &Path, settle: Duration) -> bool {
    let mut seen = Snapshot::of(path);
    loop {
        match rx.recv_timeout(settle) {
            Ok(()) => while rx.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {
                let now = Snapshot::of(path);
                if now == seen {
                    return true;
                }
                seen = now;
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return false,
        }
        seen = Snapshot::of(path);
    }
}

/// What the file looks like now: size, modification time and bytes (a config file is small).
/// `None` while it does not exist (between an editor's delete and rename).
#[derive(PartialEq, Eq)]
struct Snapshot(Option<(u64, Option<SystemTime>, Vec<u8>)>);

impl Snapshot {
    fn of(path: &Path) -> Self {
        let meta = std::fs::metadata(path).ok();
        let bytes = std::fs::read(path).ok();
        Self(
            meta.zip(bytes)
                .map(|(m, b)| (m.len(), m.modified().ok(), b)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_still_written_to_is_not_settled_until_it_stops_changing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "a").unwrap();
        let (tx, rx) = mpsc::channel();
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                for text in ["ab", "abc", "abcd"] {
                    std::thread::sleep(Duration::from_millis(30));
                    std::fs::write(&path, text).unwrap();
                    tx.send(()).unwrap();
                }
                tx
            })
        };
        assert!(settled(&rx, &path, Duration::from_millis(100)));
        // It settled only after the last write.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abcd");
        drop(writer.join().unwrap());
        assert!(
            !settled(&rx, &path, Duration::from_millis(10)),
            "watcher gone"
        );
    }
}
