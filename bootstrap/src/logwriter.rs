//! The log writer: lines are appended to a shared buffer and a background
//! thread writes the buffer out every few milliseconds (or sooner when it
//! fills). A request never waits on the output, and — unlike a channel per
//! line — logging a line wakes no thread, so a logged request costs no
//! context switch.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How often buffered lines are written out.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Past this many buffered bytes the writer thread is woken at once.
const WAKE_AT: usize = 256 * 1024;
/// Past this, lines are dropped (and counted) rather than held in memory:
/// an output that cannot keep up must not take the process down.
const MAX_BUFFERED: usize = 16 * 1024 * 1024;

struct Shared {
    buffer: Mutex<Vec<u8>>,
    wake: Condvar,
    closed: AtomicBool,
    /// Set by the line that asked for a flush, cleared when the worker takes
    /// the buffer: one wake-up (one futex syscall) per batch, not one per line
    /// for every line written between the ask and the swap.
    woken: AtomicBool,
    dropped: AtomicU64,
}

/// The `MakeWriter` handed to the fmt layer.
#[derive(Clone)]
pub(crate) struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the writer thread (after a last flush) when dropped.
pub(crate) struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread over `out`.
pub(crate) fn batch_writer(out: Box<dyn Write + Send>) -> io::Result<(BatchWriter, FlushGuard)> {
    let shared = Arc::new(Shared {
        buffer: Mutex::new(Vec::with_capacity(64 * 1024)),
        wake: Condvar::new(),
        closed: AtomicBool::new(false),
        woken: AtomicBool::new(false),
        dropped: AtomicU64::new(0),
    });
    let worker = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || run(&worker, out))?;
    Ok((
        BatchWriter {
            shared: Arc::clone(&shared),
        },
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn run(shared: &Shared, mut out: Box<dyn Write + Send>) {
    let mut spare = Vec::with_capacity(64 * 1024);
    loop {
        let closed = {
            let Ok(guard) = shared.buffer.lock() else { return };
            let (mut guard, _) = match shared.wake.wait_timeout(guard, FLUSH_EVERY) {
                Ok(woken) => woken,
                Err(_) => return,
            };
            std::mem::swap(&mut *guard, &mut spare);
            shared.woken.store(false, Ordering::Relaxed);
            shared.closed.load(Ordering::Acquire)
        };
        if !spare.is_empty() {
            // Nowhere to report a failing log output but stderr.
            if let Err(err) = out.write_all(&spare).and_then(|()| out.flush()) {
                let _ = writeln!(io::stderr(), "log output failed: {err}");
            }
            spare.clear();
        }
        let dropped = shared.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "{{\"level\":\"WARN\",\"message\":\"{dropped} log lines dropped: the output could not keep up\"}}"
            );
        }
        if closed {
            return;
        }
    }
}

/// One event's writer: appends to the shared buffer.
pub(crate) struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Ok(mut buffer) = self.shared.buffer.lock() else {
            return Ok(bytes.len());
        };
        if buffer.len() + bytes.len() > MAX_BUFFERED {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(bytes.len());
        }
        buffer.extend_from_slice(bytes);
        if buffer.len() >= WAKE_AT && !self.shared.woken.swap(true, Ordering::Relaxed) {
            self.shared.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { shared: &self.shared }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_reaches_the_output_by_the_time_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(Box::new(sink.clone())).unwrap();
        for i in 0..10_000 {
            writeln!(writer.make_writer(), "line {i}").unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 10_000);
        assert!(text.ends_with("line 9999\n"));
    }

    #[test]
    fn lines_are_written_without_waiting_for_shutdown() {
        let sink = Sink::default();
        let (writer, _guard) = batch_writer(Box::new(sink.clone())).unwrap();
        writeln!(writer.make_writer(), "hello").unwrap();
        std::thread::sleep(FLUSH_EVERY * 4);
        assert_eq!(&*sink.0.lock().unwrap(), b"hello\n");
    }
}
