//! CronJob schedules as Kubernetes reads them (robfig/cron's standard parser): five fields
//! (minute, hour, day of month, month, day of week) of numbers, names, `*`/`?`, ranges,
//! steps and lists, or a descriptor (`@hourly`, `@daily`, `@every 90m`, …), in a time zone.
//! The syntax is checked here, with robfig's error messages; the times are found by `croner`
//! in the zone from `chrono-tz` (the controller's local zone when none is named).

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};

/// Where a schedule's wall-clock times are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The process's local time zone (a CronJob without `timeZone`).
    Local,
    Named(chrono_tz::Tz),
}

impl Zone {
    /// An IANA zone name as Go's `time.LoadLocation` takes it (`UTC` included).
    pub fn named(name: &str) -> Result<Zone, String> {
        chrono_tz::Tz::from_str(name).map(Zone::Named).map_err(|_| format!("unknown time zone {name}"))
    }
}

#[derive(Debug, Clone)]
enum When {
    Cron(Box<croner::Cron>),
    /// `@every <duration>`: a constant delay, in whole seconds.
    Every(i64),
}

/// A parsed schedule in its zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    when: When,
    zone: Zone,
}

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTES: Bounds = Bounds { min: 0, max: 59, names: &[] };
const HOURS: Bounds = Bounds { min: 0, max: 23, names: &[] };
const DOM: Bounds = Bounds { min: 1, max: 31, names: &[] };
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
};
const DOW: Bounds = Bounds { min: 0, max: 6, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

impl Schedule {
    /// Parses `spec` (an optional `TZ=`/`CRON_TZ=` prefix names its zone); `zone` applies
    /// otherwise.
    pub fn parse(spec: &str, zone: Zone) -> Result<Schedule, String> {
        let mut spec = spec.trim();
        let mut zone = zone;
        if let Some(rest) = spec.strip_prefix("TZ=").or_else(|| spec.strip_prefix("CRON_TZ=")) {
            let (name, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            zone = Zone::named(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
            spec = tail.trim();
        }
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        let standard = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ => spec,
        };
        if let Some(d) = standard.strip_prefix("@every ") {
            let secs = go_duration_seconds(d.trim()).map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
            return Ok(Schedule { when: When::Every(secs.max(1)), zone });
        }
        if standard.starts_with('@') {
            return Err(format!("unrecognized descriptor: {spec}"));
        }
        let fields: Vec<&str> = standard.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
        }
        let mut numeric = Vec::with_capacity(5);
        for (field, bounds) in fields.iter().zip([&MINUTES, &HOURS, &DOM, &MONTHS, &DOW]) {
            numeric.push(normalize_field(field, bounds)?);
        }
        let cron = croner::Cron::from_str(&numeric.join(" ")).map_err(|e| e.to_string())?;
        Ok(Schedule { when: When::Cron(Box::new(cron)), zone })
    }

    /// The first scheduled time strictly after `after` (Unix seconds); None if there is none
    /// (`0 0 30 2 *`).
    pub fn next(&self, after: i64) -> Option<i64> {
        match &self.when {
            When::Every(d) => Some(after + d),
            When::Cron(c) => {
                let utc = DateTime::<Utc>::from_timestamp(after, 0)?;
                match self.zone {
                    Zone::Local => next_in(c, &utc.with_timezone(&chrono::Local)),
                    Zone::Named(tz) => next_in(c, &utc.with_timezone(&tz)),
                }
            }
        }
    }
}

fn next_in<Tz: TimeZone>(cron: &croner::Cron, after: &DateTime<Tz>) -> Option<i64> {
    cron.find_next_occurrence(after, false).ok().map(|t| t.timestamp())
}

/// Unix seconds as RFC 3339 in `zone` (UTC when None), as Go formats `time.RFC3339`.
pub fn format_rfc3339(t: i64, zone: Option<Zone>) -> String {
    fn rfc<Tz: TimeZone>(t: DateTime<Tz>) -> String
    where
        Tz::Offset: std::fmt::Display,
    {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
    let Some(utc) = DateTime::<Utc>::from_timestamp(t, 0) else { return String::new() };
    match zone {
        None => rfc(utc),
        Some(Zone::Local) => rfc(utc.with_timezone(&chrono::Local)),
        Some(Zone::Named(tz)) => rfc(utc.with_timezone(&tz)),
    }
}

/// One field, checked as robfig's `getField` does, with names as numbers and `?` as `*`.
fn normalize_field(field: &str, b: &Bounds) -> Result<String, String> {
    let mut out = Vec::new();
    for expr in field.split(',') {
        let (range, step) = match expr.split('/').collect::<Vec<_>>()[..] {
            [r] => (r, None),
            [r, s] => (r, Some(parse_int(s)?)),
            _ => return Err(format!("too many slashes: {expr}")),
        };
        let parts: Vec<&str> = range.split('-').collect();
        let (start, end, star) = if parts[0] == "*" || parts[0] == "?" {
            if parts.len() > 1 {
                return Err(format!("too many hyphens: {expr}"));
            }
            (b.min, b.max, true)
        } else {
            let start = int_or_name(parts[0], b)?;
            let end = match parts[..] {
                [_] if step.is_some() => b.max,
                [_] => start,
                [_, e] => int_or_name(e, b)?,
                _ => return Err(format!("too many hyphens: {expr}")),
            };
            (start, end, false)
        };
        if start < b.min {
            return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", b.min));
        }
        if end > b.max {
            return Err(format!("end of range ({end}) above maximum ({}): {expr}", b.max));
        }
        if start > end {
            return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
        }
        if step == Some(0) {
            return Err(format!("step of range should be a positive number: {expr}"));
        }
        let base = if star { "*".to_string() } else { format!("{start}-{end}") };
        out.push(match step {
            Some(s) => format!("{base}/{s}"),
            None if star => base,
            None if start == end => start.to_string(),
            None => base,
        });
    }
    Ok(out.join(","))
}

fn int_or_name(s: &str, b: &Bounds) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    match b.names.iter().position(|n| *n == lower) {
        Some(i) => Ok(i as u32 + b.min),
        None => parse_int(s),
    }
}

fn parse_int(s: &str) -> Result<u32, String> {
    match s.parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("negative number ({n}) not allowed: {s}")),
        Ok(n) => u32::try_from(n).map_err(|_| format!("failed to parse int from {s}: value out of range")),
        Err(_) => Err(format!("failed to parse int from {s}: strconv.Atoi: parsing \"{s}\": invalid syntax")),
    }
}

/// A Go duration (`1h30m`, `90s`, `1.5h`) in whole seconds.
fn go_duration_seconds(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration \"{s}\"");
    if s == "0" {
        return Ok(0);
    }
    let mut rest = s;
    let mut nanos = 0f64;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration \"{s}\"")),
            u => return Err(format!("time: unknown unit \"{u}\" in duration \"{s}\"")),
        };
        nanos += value * scale;
        rest = &rest[unit_len..];
    }
    Ok((nanos / 1e9) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn utc() -> Zone {
        Zone::named("UTC").unwrap()
    }

    fn next(spec: &str, zone: Zone, after: &str) -> String {
        let t = Schedule::parse(spec, zone).unwrap().next(at(after)).unwrap();
        format_rfc3339(t, Some(zone))
    }

    #[test]
    fn standard_fields_names_steps_and_descriptors() {
        assert_eq!(next("*/5 * * * *", utc(), "2026-03-29T00:31:00Z"), "2026-03-29T00:35:00Z");
        assert_eq!(next("0 9 * * MON-FRI", utc(), "2026-11-21T10:00:00Z"), "2026-11-23T09:00:00Z");
        assert_eq!(next("30 2 1 jan ?", utc(), "2026-11-21T10:00:00Z"), "2027-01-01T02:30:00Z");
        assert_eq!(next("5/20 * * * *", utc(), "2026-01-01T00:30:00Z"), "2026-01-01T00:45:00Z");
        assert_eq!(next("@hourly", utc(), "2026-01-01T00:30:00Z"), "2026-01-01T01:00:00Z");
        assert_eq!(next("@midnight", utc(), "2026-01-01T00:30:00Z"), "2026-01-02T00:00:00Z");
        assert_eq!(next("@every 1h30m", utc(), "2026-01-01T00:30:00Z"), "2026-01-01T02:00:00Z");
        // Day of month and day of week both restricted: either matches.
        assert_eq!(next("0 0 13 * 5", utc(), "2026-11-01T00:00:00Z"), "2026-11-06T00:00:00Z");
        assert!(Schedule::parse("0 0 30 2 *", utc()).unwrap().next(at("2026-01-01T00:00:00Z")).is_none());
    }

    #[test]
    fn time_zones_move_the_wall_clock() {
        let ny = Zone::named("America/New_York").unwrap();
        assert_eq!(next("0 9 * * *", ny, "2026-11-21T12:00:00Z"), "2026-11-21T09:00:00-05:00");
        let t = Schedule::parse("0 9 * * *", ny).unwrap().next(at("2026-11-21T12:00:00Z")).unwrap();
        assert_eq!(format_rfc3339(t, None), "2026-11-21T14:00:00Z");
        let s = Schedule::parse("TZ=Asia/Tokyo 0 9 * * *", utc()).unwrap();
        assert_eq!(format_rfc3339(s.next(at("2026-11-21T12:00:00Z")).unwrap(), None), "2026-11-22T00:00:00Z");
        assert_eq!(Zone::named("Mars/Olympus").unwrap_err(), "unknown time zone Mars/Olympus");
    }

    #[test]
    fn errors_read_as_robfig_cron_writes_them() {
        let err = |s: &str| Schedule::parse(s, utc()).unwrap_err();
        assert_eq!(err("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
        assert_eq!(err("0 0 * * 7"), "end of range (7) above maximum (6): 7");
        assert_eq!(err("60 * * * *"), "end of range (60) above maximum (59): 60");
        assert_eq!(err("0 0 0 * *"), "beginning of range (0) below minimum (1): 0");
        assert_eq!(err("5-2 * * * *"), "beginning of range (5) beyond end of range (2): 5-2");
        assert_eq!(err("*/0 * * * *"), "step of range should be a positive number: */0");
        assert_eq!(err("x * * * *"), "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
        assert_eq!(err("@fortnightly"), "unrecognized descriptor: @fortnightly");
        assert_eq!(err(""), "empty spec string");
        assert!(err("@every soon").starts_with("failed to parse duration @every soon"));
    }
}
