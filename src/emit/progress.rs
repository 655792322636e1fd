//! A progress line on stderr for runs that take more than a second, only on
//! a terminal, never in CI or with `-q`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::pipeline::{FILES_DONE, FILES_TOTAL};

/// How long a run goes before the progress line appears. Tests shorten it
/// with `PULLSMITH_PROGRESS_AFTER_MS` instead of making a slow run.
fn delay() -> Duration {
    std::env::var("PULLSMITH_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis)
}

pub struct Progress {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    pub fn start(quiet: bool) -> Progress {
        let wanted = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = wanted.then(|| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let started = Instant::now();
                let delay = delay();
                let mut shown = false;
                // The time is looked at before the stop, so that a run that took
                // `delay` shows the line even when this thread wakes only at its end.
                loop {
                    if started.elapsed() >= delay {
                        let done = FILES_DONE.load(Ordering::Relaxed);
                        let total = FILES_TOTAL.load(Ordering::Relaxed);
                        eprint!("\rpullsmith: {done}/{total} files");
                        let _ = std::io::stderr().flush();
                        shown = true;
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                if shown {
                    eprint!("\r\x1b[K");
                }
            })
        });
        Progress { stop, handle }
    }

    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
