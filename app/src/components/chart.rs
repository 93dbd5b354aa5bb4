//! A small SVG trend chart: a KPI's measurements over time with its target
//! as a dashed line. The geometry is a pure function ([`layout`]) so it is
//! tested natively.

use leptos::prelude::*;

/// Chart width and height in SVG user units.
pub const WIDTH: f64 = 320.0;
/// See [`WIDTH`].
pub const HEIGHT: f64 = 120.0;
/// Inner margin, so dots and the target line are never clipped.
const PAD: f64 = 10.0;

/// Where everything goes, in SVG user units (y grows downwards).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The measurements as `(x, y)`, in time order.
    pub points: Vec<(f64, f64)>,
    /// The target line's `y`.
    pub target_y: f64,
    /// Smallest and largest value on the vertical axis.
    pub range: (f64, f64),
}

impl Layout {
    /// The `points` attribute of the trend polyline.
    pub fn polyline(&self) -> String {
        self.points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Lays out `points` (time in ms, value) and `target` in a
/// [`WIDTH`] × [`HEIGHT`] box. The vertical range spans every value and the
/// target; one point (or all at one time) sits in the middle horizontally.
pub fn layout(points: &[(u64, f64)], target: f64) -> Layout {
    let mut points: Vec<(u64, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(at, _)| *at);
    let target = if target.is_finite() { target } else { 0.0 };
    let (mut low, mut high) = points.iter().fold((target, target), |(lo, hi), (_, v)| {
        (lo.min(*v), hi.max(*v))
    });
    if (high - low).abs() < f64::EPSILON {
        low -= 1.0;
        high += 1.0;
    }
    let first = points.first().map_or(0, |p| p.0);
    let last = points.last().map_or(0, |p| p.0);
    let span = last.saturating_sub(first);
    let x = |at: u64| {
        if span == 0 {
            WIDTH / 2.0
        } else {
            PAD + (at - first) as f64 / span as f64 * (WIDTH - 2.0 * PAD)
        }
    };
    let y = |value: f64| PAD + (high - value) / (high - low) * (HEIGHT - 2.0 * PAD);
    Layout {
        points: points.iter().map(|&(at, v)| (x(at), y(v))).collect(),
        target_y: y(target),
        range: (low, high),
    }
}

/// A KPI's trend with its target line. `points` are (time ms, value).
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
pub fn TrendChart(
    /// The measurements, (time in ms, value).
    points: Vec<(u64, f64)>,
    /// The target value.
    target: f64,
    /// Accessible description, for example the KPI's name.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let geometry = layout(&points, target);
    let polyline = geometry.polyline();
    let dots = geometry
        .points
        .iter()
        .map(|&(cx, cy)| view! { <circle class="chart-dot" cx=format!("{cx:.1}") cy=format!("{cy:.1}") r="3"/> })
        .collect_view();
    let ty = format!("{:.1}", geometry.target_y);
    view! {
        <svg
            class="trend-chart"
            data-testid="kpi-chart"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            role="img"
            aria-label=format!("{label}: trend against target {target}")
        >
            <line
                class="chart-target"
                data-testid="kpi-target-line"
                x1="0"
                x2=WIDTH.to_string()
                y1=ty.clone()
                y2=ty
            />
            <polyline class="chart-line" data-testid="kpi-trend" points=polyline/>
            {dots}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_spans_the_box_and_target_sits_on_the_scale() {
        let layout = layout(&[(2_000, 30.0), (1_000, 10.0), (3_000, 20.0)], 40.0);
        assert_eq!(layout.range, (10.0, 40.0));
        // Sorted by time, first at the left pad, last at the right pad.
        assert_eq!(layout.points[0], (PAD, HEIGHT - PAD));
        assert_eq!(layout.points[2].0, WIDTH - PAD);
        // The target is the highest value: at the top pad.
        assert_eq!(layout.target_y, PAD);
        assert_eq!(layout.polyline().split(' ').count(), 3);
    }

    #[test]
    fn degenerate_inputs_do_not_divide_by_zero() {
        let one = layout(&[(5, 3.0)], 3.0);
        assert_eq!(one.points, vec![(WIDTH / 2.0, HEIGHT / 2.0)]);
        assert_eq!(one.target_y, HEIGHT / 2.0);
        let none = layout(&[], f64::NAN);
        assert!(none.points.is_empty() && none.target_y.is_finite());
        let odd = layout(&[(1, f64::INFINITY), (2, 1.0)], 2.0);
        assert_eq!(odd.points.len(), 1);
    }
}
