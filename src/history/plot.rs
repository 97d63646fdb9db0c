//! The picture of a runbook's drills, as SVG: restore time per drill against the RTO line,
//! with the fitted trend carried on to where it meets the RTO when the forecast says it will,
//! and data loss per drill against the RPO line. Drawn with plotters, so the page people look
//! at comes from the same figures `runbook history` prints.

use std::time::{Duration, SystemTime};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::Error;
use super::trend::{self, Forecast};
use crate::run::history::Record;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 620;
const DAY_S: f64 = 86_400.0;

/// The SVG for one runbook's runs (oldest first). `None` when no drill says when it ended.
pub fn svg(title: &str, runs: &[&Record]) -> Result<Option<String>, Error> {
    let dated: Vec<(SystemTime, &Record)> = runs
        .iter()
        .filter(|run| run.mode == "drill")
        .filter_map(|run| Some((run.finished()?, *run)))
        .collect();
    let Some(origin) = dated.first().map(|(at, _)| *at) else {
        return Ok(None);
    };
    let drills: Vec<(f64, &Record)> = dated
        .iter()
        .map(|(at, run)| (at.duration_since(origin).unwrap_or_default().as_secs_f64() / DAY_S, *run))
        .collect();
    let rto = runs.iter().rev().find_map(|run| run.rto_ms).map(|ms| ms as f64 / 1000.0);
    let rpo = runs.iter().rev().find_map(|run| run.rpo_ms).map(|ms| ms as f64 / 1000.0);
    let trend = trend::of(runs, rto.map(|s| (s * 1000.0) as u64));
    let forecast_day = match trend.as_ref().map(|t| &t.forecast) {
        Some(Forecast::Crosses { on }) => humantime::parse_rfc3339(&format!("{on}T00:00:00Z"))
            .ok()
            .map(|at| at.duration_since(origin).unwrap_or_default().as_secs_f64() / DAY_S),
        _ => None,
    };
    let last_day = drills.last().map_or(0.0, |(day, _)| *day);
    let x_end = forecast_day.unwrap_or(last_day).max(last_day) + 1.0;
    let x_range = -1.0..x_end.max(1.0);
    let date = move |day: &f64| {
        let at = origin + Duration::from_secs_f64(day.max(0.0) * DAY_S);
        humantime::format_rfc3339_seconds(at).to_string()[..10].to_string()
    };

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(words)?;
        let (top, bottom) = root.split_vertically(HEIGHT * 3 / 5);

        // Restore time against the RTO.
        let durations: Vec<(f64, f64, bool)> = drills
            .iter()
            .filter_map(|(day, run)| Some((*day, run.duration_ms? as f64 / 1000.0, run.status == "passed")))
            .collect();
        let fit_end = trend.as_ref().map(|t| fitted(t, &drills, x_end));
        let top_max = durations
            .iter()
            .map(|(_, s, _)| *s)
            .chain(rto)
            .chain(fit_end.iter().map(|(_, end)| end.1))
            .fold(0.0_f64, f64::max);
        let unit = Unit::for_seconds(top_max);
        let caption = match (&trend, rto) {
            (Some(trend), Some(_)) => format!("{title}: {}", headline(&trend.forecast)),
            _ => title.to_string(),
        };
        let mut chart = ChartBuilder::on(&top)
            .caption(caption, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range.clone(), 0.0..unit.of(top_max) * 1.15 + 0.001)
            .map_err(words)?;
        chart
            .configure_mesh()
            .x_labels(7)
            .x_label_formatter(&date)
            .y_desc(format!("restore time ({})", unit.name))
            .draw()
            .map_err(words)?;
        let passed: Vec<(f64, f64)> = durations.iter().filter(|d| d.2).map(|(x, s, _)| (*x, unit.of(*s))).collect();
        if !passed.is_empty() {
            chart
                .draw_series(LineSeries::new(passed.clone(), BLUE.stroke_width(2)))
                .map_err(words)?
                .label("drills that passed")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
        }
        chart
            .draw_series(passed.iter().map(|point| Circle::new(*point, 4, BLUE.filled())))
            .map_err(words)?;
        let failed: Vec<(f64, f64)> = durations.iter().filter(|d| !d.2).map(|(x, s, _)| (*x, unit.of(*s))).collect();
        if !failed.is_empty() {
            chart
                .draw_series(failed.iter().map(|point| Cross::new(*point, 6, RED.stroke_width(2))))
                .map_err(words)?
                .label("drills that failed")
                .legend(|(x, y)| Cross::new((x + 9, y), 5, RED.stroke_width(2)));
        }
        if let Some(rto) = rto {
            objective(&mut chart, "RTO", rto, &unit, &x_range)?;
        }
        if let (Some(trend), Some((start, end))) = (&trend, fit_end) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(start.0, unit.of(start.1)), (end.0, unit.of(end.1))],
                    4,
                    4,
                    BLACK.mix(0.6).stroke_width(1),
                ))
                .map_err(words)?
                .label(format!("trend over {} passed drills", trend.drills))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6)));
        }
        legend(&mut chart)?;

        // Data loss against the RPO.
        let losses: Vec<(f64, f64)> = drills
            .iter()
            .filter_map(|(day, run)| Some((*day, run.recovery_point_age_ms? as f64 / 1000.0)))
            .collect();
        let bottom_max = losses.iter().map(|(_, s)| *s).chain(rpo).fold(0.0_f64, f64::max);
        let unit = Unit::for_seconds(bottom_max);
        let mut chart = ChartBuilder::on(&bottom)
            .caption("Data loss per drill", ("sans-serif", 16))
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range.clone(), 0.0..unit.of(bottom_max) * 1.15 + 0.001)
            .map_err(words)?;
        chart
            .configure_mesh()
            .x_labels(7)
            .x_label_formatter(&date)
            .y_desc(format!("data loss ({})", unit.name))
            .draw()
            .map_err(words)?;
        if !losses.is_empty() {
            chart
                .draw_series(losses.iter().map(|(x, s)| Circle::new((*x, unit.of(*s)), 4, BLUE.filled())))
                .map_err(words)?
                .label("data loss")
                .legend(|(x, y)| Circle::new((x + 9, y), 4, BLUE.filled()));
        }
        if let Some(rpo) = rpo {
            objective(&mut chart, "RPO", rpo, &unit, &x_range)?;
        }
        legend(&mut chart)?;
        root.present().map_err(words)?;
    }
    Ok(Some(out))
}

/// One panel of the picture: days across, seconds (in its unit) up.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// An objective's line across the panel, dashed red, with its name and value in the legend.
fn objective(chart: &mut Chart<'_, '_>, name: &str, seconds: f64, unit: &Unit, days: &std::ops::Range<f64>) -> Result<(), Error> {
    let value = crate::duration::Duration::from_millis((seconds * 1000.0) as u64);
    chart
        .draw_series(DashedLineSeries::new(
            vec![(days.start, unit.of(seconds)), (days.end, unit.of(seconds))],
            8,
            5,
            RED.stroke_width(2),
        ))
        .map_err(words)?
        .label(format!("{name} {value}"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(2)));
    Ok(())
}

/// The panel's legend, top left.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), Error> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(words)
}

/// The fitted line from the first passed drill to `x_end`: two (day, seconds) points.
fn fitted(trend: &trend::Trend, drills: &[(f64, &Record)], x_end: f64) -> ((f64, f64), (f64, f64)) {
    let first_day = drills.iter().find(|(_, run)| run.status == "passed").map_or(0.0, |(day, _)| *day);
    let last_day = drills
        .iter()
        .rev()
        .find(|(_, run)| run.status == "passed")
        .map_or(first_day, |(day, _)| *day);
    let (per_day, at_last) = (trend.ms_per_day / 1000.0, trend.fitted_last_ms / 1000.0);
    let at = |day: f64| (at_last + per_day * (day - last_day)).max(0.0);
    ((first_day, at(first_day)), (x_end, at(x_end)))
}

/// The forecast in a few words, for the picture's caption.
fn headline(forecast: &Forecast) -> String {
    match forecast {
        Forecast::Crosses { on } => format!("at this rate past the RTO around {on}"),
        Forecast::AlreadyPast => "at this rate already past the RTO".to_string(),
        Forecast::NotWithinHorizon => "getting slower, not past the RTO within a year".to_string(),
        Forecast::NotRising => "not getting slower".to_string(),
        Forecast::TooFewDrills { needed } => format!("{needed} more passed drills for a forecast"),
        Forecast::NoRto => "no RTO".to_string(),
    }
}

/// Seconds, minutes or hours, whichever keeps the axis readable.
struct Unit {
    name: &'static str,
    seconds: f64,
}

impl Unit {
    fn for_seconds(max: f64) -> Unit {
        match max {
            m if m >= 3.0 * 3600.0 => Unit {
                name: "hours",
                seconds: 3600.0,
            },
            m if m >= 120.0 => Unit {
                name: "minutes",
                seconds: 60.0,
            },
            _ => Unit {
                name: "seconds",
                seconds: 1.0,
            },
        }
    }

    fn of(&self, seconds: f64) -> f64 {
        seconds / self.seconds
    }
}

fn words<E: std::fmt::Debug>(error: E) -> Error {
    Error::Draw(format!("{error:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill(week: u64, minutes: u64, status: &str) -> Record {
        let at = humantime::parse_rfc3339("2026-10-01T03:00:00Z").unwrap() + Duration::from_secs(week * 7 * 86_400);
        Record {
            run_id: format!("r{week}"),
            mode: "drill".into(),
            status: status.into(),
            finished_at: Some(humantime::format_rfc3339_seconds(at).to_string()),
            duration_ms: Some(minutes * 60_000),
            rto_ms: Some(45 * 60_000),
            rpo_ms: Some(15 * 60_000),
            recovery_point_age_ms: Some(4 * 60_000),
            ..Record::default()
        }
    }

    #[test]
    fn the_picture_has_every_drill_the_objectives_and_the_forecast() {
        let mut runs: Vec<Record> = (0..6).map(|week| drill(week, 30 + week, "passed")).collect();
        runs.insert(3, drill(3, 2, "failed"));
        let svg = svg("Restore orders", &runs.iter().collect::<Vec<_>>()).unwrap().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
        assert!(
            svg.contains("Restore orders: at this rate past the RTO around 2027-01-14"),
            "the caption"
        );
        for text in [
            "RTO 45m",
            "RPO 15m",
            "restore time (minutes)",
            "data loss (minutes)",
            "drills that failed",
            "trend over 6 passed drills",
            "2026-10-01",
        ] {
            assert!(svg.contains(text), "no {text:?} in the picture");
        }
        // Six passed drills on the line, seven data-loss points below.
        assert_eq!(svg.matches("<circle").count(), 6 + 7 + 1, "points, plus the legend's");
    }

    #[test]
    fn a_title_cannot_break_out_of_the_picture() {
        let runs = [drill(0, 30, "passed"), drill(1, 31, "passed")];
        let svg = svg("<script>alert(1)</script> & \"x\"", &runs.iter().collect::<Vec<_>>())
            .unwrap()
            .unwrap();
        assert!(!svg.contains("<script>"), "the title is escaped");
    }

    #[test]
    fn no_picture_without_a_dated_drill() {
        let undated = Record {
            mode: "drill".into(),
            ..Record::default()
        };
        assert_eq!(svg("x", &[&undated]).unwrap(), None);
    }
}
