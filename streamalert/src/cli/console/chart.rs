//! The overview's chart: deliveries per hour by state, as an inline SVG of stacked bars.

use super::page::escape;
use crate::ledger::{DeliveryState, HourlyDeliveries};
use std::fmt::Write as _;

/// The states charted, bottom to top, with their colours (those of the stylesheet).
const STATES: [(DeliveryState, &str); 4] = [
    (DeliveryState::Sent, "#2e7d32"),
    (DeliveryState::Pending, "#1565c0"),
    (DeliveryState::Failed, "#ef6c00"),
    (DeliveryState::Dead, "#c62828"),
];

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 44.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;

/// Per hour from `first_hour` (seconds since the epoch, an hour's start), `hours` of them, the
/// count of each of [`STATES`]; activity outside those hours is left out.
fn per_hour(activity: &[HourlyDeliveries], first_hour: i64, hours: usize) -> Vec<[u64; 4]> {
    let mut bars = vec![[0; 4]; hours];
    for entry in activity {
        let Some(column) = STATES.iter().position(|(state, _)| *state == entry.state) else {
            continue;
        };
        let index = (entry.hour - first_hour).div_euclid(3600);
        if let Some(bar) = usize::try_from(index).ok().and_then(|i| bars.get_mut(i)) {
            bar[column] += entry.count;
        }
    }
    bars
}

/// An hour's start as `MM-DD HH:00` (UTC).
fn hour_label(hour: i64) -> String {
    chrono::DateTime::from_timestamp(hour, 0)
        .map(|t| t.format("%m-%d %H:00").to_string())
        .unwrap_or_default()
}

/// The chart of `hours` hours from `first_hour`, as an `<svg>` element with a title per bar.
pub(super) fn svg(activity: &[HourlyDeliveries], first_hour: i64, hours: usize) -> String {
    let bars = per_hour(activity, first_hour, hours);
    let highest = bars
        .iter()
        .map(|bar| bar.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_height = HEIGHT - TOP - BOTTOM;
    let (scale, bar_width) = (
        plot_height / highest as f64,
        (WIDTH - LEFT - 8.0) / bars.len().max(1) as f64,
    );
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"deliveries per hour by state\" xmlns=\"http://www.w3.org/2000/svg\">\
         <text x=\"4\" y=\"{}\">{highest}</text><text x=\"4\" y=\"{}\">0</text>\
         <line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#8c959f\"/>",
        TOP + 10.0,
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM,
        WIDTH - 8.0,
        HEIGHT - BOTTOM,
    );
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * bar_width;
        let hour = first_hour + i64::try_from(i).unwrap_or_default() * 3600;
        let mut y = HEIGHT - BOTTOM;
        let counts: Vec<String> = STATES
            .iter()
            .zip(bar)
            .map(|((state, _), n)| format!("{state} {n}"))
            .collect();
        let _ = write!(
            svg,
            "<g><title>{} UTC: {}</title>",
            hour_label(hour),
            escape(&counts.join(", "))
        );
        for ((_, colour), &n) in STATES.iter().zip(bar) {
            if n == 0 {
                continue;
            }
            let height = n as f64 * scale;
            y -= height;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{colour}\"/>",
                (bar_width - 1.0).max(0.5)
            );
        }
        // An invisible full-height rectangle, so that an empty hour has a title too.
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{TOP}\" width=\"{bar_width:.1}\" height=\"{plot_height}\" fill=\"transparent\"/></g>"
        );
    }
    let last = first_hour + i64::try_from(hours.saturating_sub(1)).unwrap_or_default() * 3600;
    let _ = write!(
        svg,
        "<text x=\"{LEFT}\" y=\"{}\">{} UTC</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} UTC</text></svg>",
        HEIGHT - 6.0,
        hour_label(first_hour),
        WIDTH - 8.0,
        HEIGHT - 6.0,
        hour_label(last)
    );
    svg
}

/// The chart's legend.
pub(super) fn legend() -> String {
    STATES
        .iter()
        .map(|(state, colour)| {
            format!("<span><svg width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" fill=\"{colour}\"/></svg> {state}</span>")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: i64, state: DeliveryState, count: u64) -> HourlyDeliveries {
        HourlyDeliveries { hour, state, count }
    }

    #[test]
    fn hours_are_bucketed_and_activity_outside_the_window_is_left_out() {
        let first = 1_796_436_000;
        let activity = [
            at(first - 3600, DeliveryState::Sent, 9),
            at(first, DeliveryState::Sent, 3),
            at(first, DeliveryState::Dead, 1),
            at(first + 2 * 3600, DeliveryState::Failed, 2),
            at(first + 3 * 3600, DeliveryState::Pending, 7),
        ];
        let bars = per_hour(&activity, first, 3);
        assert_eq!(bars, vec![[3, 0, 0, 1], [0, 0, 0, 0], [0, 0, 2, 0]]);
        let svg = svg(&activity, first, 3);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(
            svg.contains("<title>12-05 02:00 UTC: sent 3, pending 0, failed 0, dead 1</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<text x=\"4\" y=\"20\">4</text>"),
            "the highest bar: {svg}"
        );
        assert_eq!(svg.matches("<g>").count(), 3);
    }
}
