//! When a CronJob should have started a Job (the controller's `mostRecentScheduleTime`,
//! `nextScheduleTime`, `nextScheduleTimeDuration`), and the Job it starts then
//! (`getJobFromTemplate2`). Times are Unix seconds; pure over the CronJob and `now`.

use std::time::Duration;

use k8s_openapi::api::batch::v1::CronJob;
use serde_json::{json, Value};
use skiff_api::cron::{format_rfc3339, Schedule, Zone};

use crate::machinery::writer::CRONJOBS;
use crate::podutil::controller_ref;

/// The annotation with the time a Job was scheduled for.
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// More than this many missed start times is reported as too many.
const MANY_MISSED: i64 = 100;

/// How late after a scheduled time the controller looks (client-go timers are not exact).
const NEXT_SCHEDULE_DELTA_MS: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    None,
    Few,
    Many,
}

/// The zone a CronJob's schedule is read in (the controller's own when it names none).
pub fn zone(cj: &CronJob) -> Result<Zone, String> {
    match cj.spec.as_ref().and_then(|s| s.time_zone.as_deref()) {
        Some(tz) => Zone::named(tz),
        None => Ok(Zone::Local),
    }
}

/// The CronJob's parsed schedule in its zone.
pub fn schedule(cj: &CronJob) -> Result<Schedule, String> {
    let spec = cj.spec.as_ref().map_or("", |s| s.schedule.as_str());
    Schedule::parse(spec, zone(cj)?)
}

/// The last schedule time (or the creation time) the search starts from, the most recent
/// scheduled time not after `now` since then (None if none is due), and how many were missed.
/// With `deadline`, times older than `startingDeadlineSeconds` are not looked at.
pub fn most_recent(
    cj: &CronJob,
    now: i64,
    sched: &Schedule,
    deadline: bool,
) -> Result<(i64, Option<i64>, Missed), String> {
    let status = cj.status.as_ref();
    let mut earliest = status
        .and_then(|s| s.last_schedule_time.as_ref())
        .or(cj.metadata.creation_timestamp.as_ref())
        .map_or(now, |t| t.0.as_second());
    if let Some(d) = cj.spec.as_ref().and_then(|s| s.starting_deadline_seconds).filter(|_| deadline) {
        earliest = earliest.max(now - d);
    }
    let Some(t1) = sched.next(earliest) else { return Ok((earliest, None, Missed::None)) };
    if now < t1 {
        return Ok((earliest, None, Missed::None));
    }
    let Some(t2) = sched.next(t1).filter(|t2| now >= *t2) else { return Ok((earliest, Some(t1), Missed::None)) };
    let between = t2 - t1;
    if between < 1 {
        return Err("time difference between two schedules is less than 1 second".into());
    }
    // Roughly how many were missed; then search only the last stretch.
    let missed = (now - t1) / between + 1;
    let mut recent = None;
    let mut t = sched.next(t1 + (missed - 2) * between);
    while let Some(x) = t.filter(|x| *x <= now) {
        recent = Some(x);
        t = sched.next(x);
    }
    let missed = if missed > MANY_MISSED { Missed::Many } else { Missed::Few };
    Ok((earliest, recent, missed))
}

/// How long until the next scheduled time after the most recent one (a little after it).
pub fn requeue_after(cj: &CronJob, now_ms: i64, sched: &Schedule) -> Option<Duration> {
    let now = now_ms.div_euclid(1000);
    let from = match most_recent(cj, now, sched, false) {
        Err(_) => now,
        Ok((_, Some(t), _)) => t,
        Ok((earliest, None, Missed::None)) => earliest,
        Ok((_, None, _)) => now,
    };
    let next = sched.next(from)?;
    let ms = (next * 1000 + NEXT_SCHEDULE_DELTA_MS - now_ms).max(0);
    Some(Duration::from_millis(ms as u64))
}

/// `<cronjob>-<scheduled time in minutes>`: one name per scheduled time, so a time is never
/// run twice.
pub fn job_name(cj: &CronJob, scheduled: i64) -> String {
    format!("{}-{}", cj.metadata.name.as_deref().unwrap_or(""), scheduled.div_euclid(60))
}

/// The Job for `scheduled`: the template's labels, annotations and spec, the scheduled time
/// (in the CronJob's zone, UTC without one) and a controller reference.
pub fn job_from_template(cj: &CronJob, scheduled: i64) -> Value {
    let template = cj.spec.as_ref().map(|s| &s.job_template);
    let meta = template.and_then(|t| t.metadata.as_ref());
    let mut annotations = serde_json::to_value(meta.and_then(|m| m.annotations.clone()).unwrap_or_default())
        .unwrap_or_else(|_| json!({}));
    let tz = cj.spec.as_ref().and_then(|s| s.time_zone.as_deref()).and_then(|tz| Zone::named(tz).ok());
    annotations[SCHEDULED_TIMESTAMP] = json!(format_rfc3339(scheduled, tz));
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(cj, scheduled),
            "annotations": annotations,
            "ownerReferences": [controller_ref(CRONJOBS, &cj.metadata)],
        },
        "spec": template.and_then(|t| t.spec.as_ref()).map(serde_json::to_value).and_then(Result::ok)
            .unwrap_or_else(|| json!({})),
    });
    if let Some(labels) = meta.and_then(|m| m.labels.as_ref()).filter(|l| !l.is_empty()) {
        job["metadata"]["labels"] = json!(labels);
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        s.parse::<k8s_openapi::jiff::Timestamp>().unwrap().as_second()
    }

    fn cj(schedule: &str, created: &str, last: Option<&str>, deadline: Option<i64>) -> CronJob {
        serde_json::from_value(json!({
            "metadata": {"name": "hello", "namespace": "d", "uid": "cj-uid", "creationTimestamp": created},
            "spec": {"schedule": schedule, "timeZone": "UTC", "startingDeadlineSeconds": deadline,
                "jobTemplate": {"metadata": {"labels": {"team": "a"}},
                    "spec": {"template": {"spec": {"containers": []}}}}},
            "status": {"lastScheduleTime": last},
        }))
        .unwrap()
    }

    #[test]
    fn the_most_recent_unmet_time_is_found_and_misses_counted() {
        let c = cj("*/1 * * * *", "2026-11-21T10:00:30Z", None, None);
        let s = schedule(&c).unwrap();
        assert_eq!(most_recent(&c, at("2026-11-21T10:00:50Z"), &s, true).unwrap().1, None);
        let (_, t, m) = most_recent(&c, at("2026-11-21T10:01:10Z"), &s, true).unwrap();
        assert_eq!((t, m), (Some(at("2026-11-21T10:01:00Z")), Missed::None));
        let (_, t, m) = most_recent(&c, at("2026-11-21T10:05:10Z"), &s, true).unwrap();
        assert_eq!((t, m), (Some(at("2026-11-21T10:05:00Z")), Missed::Few));
        let (_, _, m) = most_recent(&c, at("2026-11-22T10:05:10Z"), &s, true).unwrap();
        assert_eq!(m, Missed::Many);
        // Already run at 10:05: nothing is due until 10:06.
        let ran = cj("*/1 * * * *", "2026-11-21T10:00:30Z", Some("2026-11-21T10:05:00Z"), None);
        assert_eq!(most_recent(&ran, at("2026-11-21T10:05:40Z"), &s, true).unwrap().1, None);
        let wait = requeue_after(&ran, at("2026-11-21T10:05:40Z") * 1000, &s).unwrap();
        assert_eq!(wait, Duration::from_millis(20_100));
    }

    #[test]
    fn a_starting_deadline_bounds_how_far_back_the_controller_looks() {
        let c = cj("0 * * * *", "2026-11-21T08:30:00Z", None, Some(60));
        let s = schedule(&c).unwrap();
        assert_eq!(most_recent(&c, at("2026-11-21T10:00:30Z"), &s, true).unwrap().1, Some(at("2026-11-21T10:00:00Z")));
        assert_eq!(most_recent(&c, at("2026-11-21T10:02:00Z"), &s, true).unwrap().1, None, "too late for 10:00");
    }

    #[test]
    fn jobs_are_named_by_minute_and_carry_the_template() {
        let c = cj("*/1 * * * *", "2026-11-21T10:00:30Z", None, None);
        let job = job_from_template(&c, at("2026-11-21T10:01:00Z"));
        assert_eq!(job["metadata"]["name"], format!("hello-{}", at("2026-11-21T10:01:00Z") / 60));
        assert_eq!(job["metadata"]["labels"]["team"], "a");
        assert_eq!(job["metadata"]["annotations"][SCHEDULED_TIMESTAMP], "2026-11-21T10:01:00Z");
        assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
        assert!(job["spec"]["template"].is_object());
    }
}
