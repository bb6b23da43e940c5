//! One attempt at a handler, shared by the bus, the job queue and the
//! scheduler: panics become errors, errors become text, and failed attempts
//! wait an exponential backoff.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use platform_ports::BoxError;
use platform_ports::events::{error_chain, panic_message};

/// Runs `attempt`, turning an error or a panic into its message so one bad
/// handler cannot take down the task that runs it.
pub(crate) async fn run_guarded<F>(attempt: F) -> Result<(), String>
where
    F: Future<Output = Result<(), BoxError>>,
{
    // The handler's state is not observed after a panic: the attempt is only reported.
    match AssertUnwindSafe(attempt).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(error_chain(err.as_ref())),
        Err(panic) => Err(format!("handler panicked: {}", panic_message(panic.as_ref()))),
    }
}

/// The wait before retry number `retry` (1 for the first): `initial` doubled
/// each time, never more than `max`.
pub(crate) fn backoff(initial: Duration, max: Duration, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{backoff, run_guarded};

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ms = Duration::from_millis;
        let waits: Vec<_> = (1..=6).map(|n| backoff(ms(50), ms(1000), n)).collect();
        assert_eq!(waits, [ms(50), ms(100), ms(200), ms(400), ms(800), ms(1000)]);
        assert_eq!(backoff(ms(50), ms(1000), 200), ms(1000));
    }

    #[tokio::test]
    async fn errors_and_panics_become_text() {
        let chained = std::io::Error::other("outer");
        assert_eq!(run_guarded(async { Err("nope".into()) }).await, Err("nope".to_owned()));
        assert_eq!(run_guarded(async { Ok(()) }).await, Ok(()));
        let panicked = run_guarded(async {
            if chained.kind() == std::io::ErrorKind::Other {
                panic!("boom");
            }
            Ok(())
        })
        .await;
        assert_eq!(panicked, Err("handler panicked: boom".to_owned()));
    }
}
