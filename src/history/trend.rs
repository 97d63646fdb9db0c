//! Where a runbook's drill times are heading: a least-squares straight line through its passed
//! drills' times, and the day, at that rate, a drill would take longer than the RTO.
//!
//! A line through a handful of points says little, so there is no forecast under
//! [`MIN_DRILLS`], and none further out than [`HORIZON_DAYS`]: beyond that the fit is a guess
//! about a system that will have changed.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::run::history::Record;

/// Fewest passed drills a forecast rests on.
pub const MIN_DRILLS: usize = 5;
/// Furthest ahead of the last drill a forecast may land.
pub const HORIZON_DAYS: f64 = 365.0;

const DAY_MS: f64 = 86_400_000.0;

/// The trend of one runbook's passed drills.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    /// How many passed drills the trend rests on.
    pub drills: usize,
    /// The first and the last of them: when each finished, and how long it took.
    pub first: Point,
    /// The newest.
    pub last: Point,
    /// The fitted change in a drill's time per day, in milliseconds (negative: getting faster).
    pub ms_per_day: f64,
    /// What the fit says about the RTO.
    pub forecast: Forecast,
    /// The fitted line's value at the last passed drill, in milliseconds (for drawing it).
    #[serde(skip)]
    pub fitted_last_ms: f64,
}

/// One drill on the trend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// When it finished (RFC 3339).
    pub at: String,
    /// How long it took.
    pub duration_ms: u64,
}

/// What the straight line says about the RTO.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Forecast {
    /// Fewer than [`MIN_DRILLS`] passed drills: no forecast.
    TooFewDrills {
        /// How many more are needed.
        needed: usize,
    },
    /// The runbook has no RTO to cross.
    NoRto,
    /// Drills are not getting slower.
    NotRising,
    /// At this rate a drill takes longer than the RTO on this day.
    Crosses {
        /// The day (`YYYY-MM-DD`).
        on: String,
    },
    /// The fitted line is past the RTO already, at the last drill.
    AlreadyPast,
    /// Rising, but not past the RTO within [`HORIZON_DAYS`] of the last drill.
    NotWithinHorizon,
}

/// The trend of the passed drills among `runs` (oldest first), against `rto_ms`; `None` with
/// fewer than two passed drills that say when they finished and how long they took.
pub fn of(runs: &[&Record], rto_ms: Option<u64>) -> Option<Trend> {
    let points: Vec<(SystemTime, &Record, u64)> = runs
        .iter()
        .filter(|run| run.mode == "drill" && run.status == "passed")
        .filter_map(|run| Some((run.finished()?, *run, run.duration_ms?)))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let origin = points[0].0;
    let days = |time: SystemTime| time.duration_since(origin).unwrap_or_default().as_secs_f64() * 1000.0 / DAY_MS;
    let xs: Vec<f64> = points.iter().map(|(time, _, _)| days(*time)).collect();
    let ys: Vec<f64> = points.iter().map(|(_, _, ms)| *ms as f64).collect();
    let (slope, intercept) = fit(&xs, &ys);
    let point = |(time, run, ms): &(SystemTime, &Record, u64)| Point {
        at: run
            .finished_at
            .clone()
            .unwrap_or_else(|| humantime::format_rfc3339_seconds(*time).to_string()),
        duration_ms: *ms,
    };
    let last_x = *xs.last().expect("two or more points");
    let forecast = match rto_ms {
        _ if points.len() < MIN_DRILLS => Forecast::TooFewDrills {
            needed: MIN_DRILLS - points.len(),
        },
        None => Forecast::NoRto,
        Some(_) if slope <= 0.0 || !slope.is_finite() => Forecast::NotRising,
        Some(rto) => {
            let crossing = (rto as f64 - intercept) / slope;
            if crossing <= last_x {
                Forecast::AlreadyPast
            } else if crossing - last_x > HORIZON_DAYS {
                Forecast::NotWithinHorizon
            } else {
                let on = origin + Duration::from_secs_f64(crossing * DAY_MS / 1000.0);
                Forecast::Crosses {
                    on: humantime::format_rfc3339_seconds(on).to_string()[..10].to_string(),
                }
            }
        }
    };
    Some(Trend {
        drills: points.len(),
        first: point(&points[0]),
        last: point(points.last().expect("two or more points")),
        ms_per_day: slope,
        forecast,
        fitted_last_ms: intercept + slope * last_x,
    })
}

/// The least-squares line through the points: (slope, intercept). Points all at one moment
/// have no slope.
fn fit(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let spread: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    if spread == 0.0 {
        return (0.0, mean_y);
    }
    let slope = xs.iter().zip(ys).map(|(x, y)| (x - mean_x) * (y - mean_y)).sum::<f64>() / spread;
    (slope, mean_y - slope * mean_x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drill that finished `day` days after 1 October 2026 (day 1 is 1 October).
    fn drill(day: u32, minutes: u64, status: &str) -> Record {
        let first = humantime::parse_rfc3339("2026-10-01T03:00:00Z").unwrap();
        let at = first + Duration::from_secs(u64::from(day - 1) * 86_400);
        Record {
            run_id: format!("r{day}"),
            mode: "drill".into(),
            status: status.into(),
            finished_at: Some(humantime::format_rfc3339_seconds(at).to_string()),
            duration_ms: Some(minutes * 60_000),
            ..Record::default()
        }
    }

    fn trend(runs: &[Record], rto_minutes: Option<u64>) -> Option<Trend> {
        of(&runs.iter().collect::<Vec<_>>(), rto_minutes.map(|m| m * 60_000))
    }

    #[test]
    fn a_steady_climb_crosses_the_rto_where_the_line_says() {
        // One minute slower a week, from 30m on 1 October: 45m is reached 15 weeks in.
        let runs: Vec<Record> = (0..6).map(|week| drill(1 + week * 7, 30 + u64::from(week), "passed")).collect();
        let trend = trend(&runs, Some(45)).unwrap();
        assert_eq!(trend.drills, 6);
        assert!((trend.ms_per_day - 60_000.0 / 7.0).abs() < 1.0, "{}", trend.ms_per_day);
        assert_eq!(trend.forecast, Forecast::Crosses { on: "2027-01-14".into() });
    }

    #[test]
    fn no_forecast_from_too_few_drills_without_an_rto_or_when_not_rising() {
        let rising: Vec<Record> = (0..4).map(|day| drill(1 + day, 30 + u64::from(day), "passed")).collect();
        assert_eq!(trend(&rising, Some(45)).unwrap().forecast, Forecast::TooFewDrills { needed: 1 });
        let mut five = rising.clone();
        five.push(drill(9, 35, "passed"));
        assert_eq!(trend(&five, None).unwrap().forecast, Forecast::NoRto);
        let falling: Vec<Record> = (0..5).map(|day| drill(1 + day, 40 - u64::from(day), "passed")).collect();
        assert_eq!(trend(&falling, Some(45)).unwrap().forecast, Forecast::NotRising);
        let flat: Vec<Record> = (0..5).map(|day| drill(1 + day, 30, "passed")).collect();
        assert_eq!(trend(&flat, Some(45)).unwrap().forecast, Forecast::NotRising);
    }

    #[test]
    fn failed_runs_are_not_on_the_trend_and_a_slow_climb_is_beyond_the_horizon() {
        let mut runs: Vec<Record> = (0..5).map(|day| drill(1 + day, 30, "passed")).collect();
        runs.push(drill(7, 500, "failed"));
        runs.push(drill(8, 31, "passed"));
        let trend = trend(&runs, Some(45_000)).unwrap();
        assert_eq!(trend.drills, 6);
        assert_eq!(trend.forecast, Forecast::NotWithinHorizon);
        assert!(self::trend(&runs[..1], Some(45)).is_none());
    }

    #[test]
    fn a_line_already_past_the_rto_says_so() {
        let runs: Vec<Record> = (0..5).map(|day| drill(1 + day, 40 + 3 * u64::from(day), "passed")).collect();
        assert_eq!(trend(&runs, Some(45)).unwrap().forecast, Forecast::AlreadyPast);
    }
}
