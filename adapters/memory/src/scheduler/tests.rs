use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{Datelike, Timelike, Utc, Weekday};
use platform_ports::BoxError;
use platform_ports::jobs::{CronJob, JobError, Scheduler};
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use super::{MemoryScheduler, parse_spec};

/// Reports each run; fails every run when `fail` is set.
struct Ticker {
    ticks: mpsc::UnboundedSender<Instant>,
    fail: bool,
}

fn ticker(fail: bool) -> (Arc<Ticker>, mpsc::UnboundedReceiver<Instant>) {
    let (ticks, rx) = mpsc::unbounded_channel();
    (Arc::new(Ticker { ticks, fail }), rx)
}

#[async_trait]
impl CronJob for Ticker {
    async fn run(&self) -> Result<(), BoxError> {
        self.ticks.send(Instant::now())?;
        if self.fail {
            Err("cron job failed on purpose".into())
        } else {
            Ok(())
        }
    }
}

async fn tick(rx: &mut mpsc::UnboundedReceiver<Instant>) -> Instant {
    timeout(Duration::from_millis(1500), rx.recv())
        .await
        .expect("no tick within 1.5 s")
        .unwrap()
}

#[tokio::test]
async fn an_every_second_job_keeps_ticking_even_when_it_fails() {
    let scheduler = MemoryScheduler::new();
    scheduler.start().await.unwrap();
    let (job, mut ticks) = ticker(true);
    scheduler.schedule("heartbeat", "* * * * * *", job).await.unwrap();

    let first = tick(&mut ticks).await;
    let second = tick(&mut ticks).await;
    let gap = second - first;
    assert!(
        gap >= Duration::from_millis(500) && gap <= Duration::from_millis(1500),
        "ticks {gap:?} apart"
    );
    scheduler.stop().await.unwrap();
}

#[tokio::test]
async fn schedules_wait_for_start() {
    let scheduler = MemoryScheduler::new();
    let (job, mut ticks) = ticker(false);
    scheduler.schedule("early", "* * * * * *", job).await.unwrap();
    assert!(
        timeout(Duration::from_millis(1100), ticks.recv()).await.is_err(),
        "ran before start"
    );

    scheduler.start().await.unwrap();
    tick(&mut ticks).await;
    scheduler.stop().await.unwrap();
}

#[tokio::test]
async fn unschedule_stops_the_job() {
    let scheduler = MemoryScheduler::new();
    scheduler.start().await.unwrap();
    let (job, mut ticks) = ticker(false);
    scheduler.schedule("heartbeat", "* * * * * *", job).await.unwrap();
    tick(&mut ticks).await;

    assert!(scheduler.unschedule("heartbeat").await.unwrap());
    // The aborted task drops the job, which closes the channel; or nothing comes.
    assert!(matches!(
        timeout(Duration::from_millis(1200), ticks.recv()).await,
        Err(_) | Ok(None)
    ));
    assert!(!scheduler.unschedule("heartbeat").await.unwrap());
    assert!(scheduler.names().is_empty());
}

#[tokio::test]
async fn stop_aborts_every_schedule_and_is_final() {
    let scheduler = MemoryScheduler::new();
    scheduler.start().await.unwrap();
    let (job, mut ticks) = ticker(false);
    scheduler.schedule("heartbeat", "* * * * * *", job).await.unwrap();
    scheduler.stop().await.unwrap();

    // The aborted task drops the job, which closes the channel; or nothing comes.
    assert!(matches!(
        timeout(Duration::from_millis(1200), ticks.recv()).await,
        Err(_) | Ok(None)
    ));
    let late = scheduler.schedule("late", "* * * * * *", ticker(false).0).await;
    assert!(matches!(late, Err(JobError::Closed)));
}

#[tokio::test]
async fn dropping_the_last_clone_stops_every_schedule() {
    let scheduler = MemoryScheduler::new();
    let service = scheduler.clone();
    service.start().await.unwrap();
    let (job, mut ticks) = ticker(false);
    scheduler.schedule("heartbeat", "* * * * * *", job).await.unwrap();
    tick(&mut ticks).await;
    drop((scheduler, service));

    // The aborted task drops the job, which closes the channel.
    assert!(matches!(
        timeout(Duration::from_millis(1200), ticks.recv()).await,
        Ok(None)
    ));
}

#[tokio::test]
async fn a_name_is_scheduled_once() {
    let scheduler = MemoryScheduler::new();
    scheduler
        .schedule("report", "0 3 * * *", ticker(false).0)
        .await
        .unwrap();
    let again = scheduler.schedule("report", "0 4 * * *", ticker(false).0).await;
    assert!(matches!(again, Err(JobError::AlreadyRegistered(name)) if name == "report"));
    assert_eq!(scheduler.names(), ["report"]);
}

#[tokio::test]
async fn invalid_specs_are_refused() {
    let scheduler = MemoryScheduler::new();
    for spec in [
        "",
        "not a cron",
        "* * * *",
        "0 0 0 1 1 * 2030",
        "61 * * * * *",
        "0 0 30 2 *",
        "* * * * * * * *",
    ] {
        let result = scheduler.schedule("bad", spec, ticker(false).0).await;
        match result {
            Err(JobError::InvalidCron { spec: got, reason }) => {
                assert_eq!(got, spec);
                assert!(!reason.is_empty());
            }
            other => panic!("`{spec}` gave {other:?}"),
        }
    }
    assert!(scheduler.names().is_empty());
}

#[test]
fn five_fields_run_on_the_minute_with_posix_weekdays() {
    let every_five = parse_spec("*/5 * * * *").unwrap();
    let next = every_five.find_next_occurrence(&Utc::now(), false).unwrap();
    assert_eq!((next.second(), next.minute() % 5), (0, 0));

    // In POSIX cron 1 is Monday (Quartz-style parsers read it as Sunday).
    let monday = parse_spec("0 9 * * 1")
        .unwrap()
        .find_next_occurrence(&Utc::now(), false)
        .unwrap();
    assert_eq!((monday.weekday(), monday.hour(), monday.minute()), (Weekday::Mon, 9, 0));

    let with_seconds = parse_spec("30 15 10 * * *")
        .unwrap()
        .find_next_occurrence(&Utc::now(), false)
        .unwrap();
    assert_eq!(
        (with_seconds.hour(), with_seconds.minute(), with_seconds.second()),
        (10, 15, 30)
    );

    let hourly = parse_spec("@hourly")
        .unwrap()
        .find_next_occurrence(&Utc::now(), false)
        .unwrap();
    assert_eq!((hourly.minute(), hourly.second()), (0, 0));
}
