//! A bounded gate in front of tokio's blocking pool.

use std::sync::Arc;

use platform_ports::identity::HashError;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

/// Runs CPU-bound closures on tokio's blocking pool, at most `permits` at a time.
///
/// tokio's blocking pool itself is large (hundreds of threads), so without a
/// bound a burst of logins would occupy every core with argon2 and starve the
/// async workers. Waiting callers queue on the semaphore (fairly, in order).
#[derive(Debug)]
pub(crate) struct BlockingGate {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

impl BlockingGate {
    /// A gate letting `permits` closures run at once (at least one).
    pub(crate) fn new(permits: usize) -> Self {
        let permits = permits.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            semaphore: Arc::new(Semaphore::new(permits)),
            permits,
        }
    }

    /// Waits for a permit, then runs `work` on the blocking pool.
    ///
    /// # Errors
    /// [`HashError::Unavailable`] when the gate is closed, there is no tokio
    /// runtime, or the work panicked or was cancelled by a runtime shutdown.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let runtime = Handle::try_current().map_err(unavailable)?;
        let permit = Arc::clone(&self.semaphore).acquire_owned().await.map_err(unavailable)?;
        runtime
            .spawn_blocking(move || {
                // The permit moves into the closure: a caller that stops waiting
                // does not stop the hash, so the bound must hold until the CPU work ends.
                let _permit = permit;
                work()
            })
            .await
            .map_err(unavailable)
    }

    /// Refuses new work from now on; work already admitted finishes.
    pub(crate) fn close(&self) {
        self.semaphore.close();
    }

    /// Closures admitted and not yet finished.
    pub(crate) fn running(&self) -> usize {
        self.permits - self.semaphore.available_permits()
    }
}

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> HashError {
    HashError::Unavailable(Box::new(err))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Runs `tasks` closures through a gate of `permits`, returning the most that ran at once.
    async fn peak_concurrency(permits: usize, tasks: usize) -> usize {
        let gate = Arc::new(BlockingGate::new(permits));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
            handles.push(tokio::spawn(async move {
                gate.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(15));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        for handle in handles {
            handle.await.unwrap().unwrap();
        }
        peak.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_permit_serializes_the_work() {
        assert_eq!(peak_concurrency(1, 8).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_more_than_the_permits_run_at_once() {
        let peak = peak_concurrency(3, 12).await;
        assert!((1..=3).contains(&peak), "peak {peak}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_caller_keeps_its_permit_until_the_work_ends() {
        let gate = Arc::new(BlockingGate::new(1));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let caller = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.run(move || {
                    started_tx.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(200));
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        assert_eq!(gate.running(), 1, "the work still runs, so its permit is held");
        // Once the work ends the permit comes back and the gate admits the next caller.
        gate.run(|| ()).await.unwrap();
        assert_eq!(gate.running(), 0);
    }

    #[tokio::test]
    async fn a_closed_gate_is_unavailable() {
        let gate = BlockingGate::new(2);
        gate.close();
        assert!(matches!(gate.run(|| ()).await, Err(HashError::Unavailable(_))));
    }

    #[test]
    fn without_a_runtime_it_is_unavailable() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};

        let gate = BlockingGate::new(1);
        let mut future = std::pin::pin!(gate.run(|| ()));
        // Polled by hand: any tokio executor would provide the runtime under test.
        let polled = future.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(matches!(polled, Poll::Ready(Err(HashError::Unavailable(_)))));
    }
}
