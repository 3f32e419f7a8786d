//! The trace output of a test: one global subscriber at TRACE that writes each thread's
//! events to that thread's buffer.

use std::sync::{Arc, Mutex};

/// The trace output of the calling thread (each test runs on its own thread).
///
/// One global subscriber at TRACE writes every thread's output to that thread's buffer:
/// per-test subscribers (`set_default`) race over the global callsite cache when tests run
/// in parallel, and lose events.
#[derive(Clone)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static THREAD_LOG: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

impl Capture {
    pub fn start() -> Capture {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| ThreadWriter)
                .with_ansi(false)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .init();
        });
        let capture = Capture(Arc::new(Mutex::new(Vec::new())));
        THREAD_LOG.with(|log| *log.borrow_mut() = Some(capture.clone()));
        capture
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Writes to the calling thread's [`Capture`], if it has one.
pub struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        THREAD_LOG.with(|log| {
            if let Some(capture) = &*log.borrow() {
                capture.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
