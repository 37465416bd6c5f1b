//! The overview's charts, drawn on the server as SVG by `plotters` with only its SVG backend.
//!
//! Why plotters rather than charts-rs: built with `default-features = false` and
//! `svg_backend`, it pulls no font, image or rendering crate (plotters, plotters-backend,
//! plotters-svg, num-traits), and without its `ttf` feature it needs no system font: labels
//! are SVG `<text>` the browser draws, sized by plotters' own estimate. charts-rs embeds a
//! font and its layout engine (fontdue) to measure text, and more for PNG output.
//!
//! Every chart is a [`Chart`]: the SVG and the rows of a table that says the same in text
//! (the page shows both: a screen reader or a text browser reads the table). Bars only; no
//! colour carries meaning alone (the table and the legend words do).

use plotters::{coord::ranged1d::SegmentValue, prelude::*};

/// A drawn chart and its text alternative.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The SVG document (an `<svg>` element), ready to inline.
    pub svg: String,
}

/// Chart size in CSS pixels (the SVG scales down with its container).
const WIDTH: u32 = 720;
const HEIGHT: u32 = 260;

/// The bars' colours: a dark blue and a light one (contrast above 3:1 on white for the dark,
/// the light one always drawn under a dark series or beside its words).
const DARK: RGBColor = RGBColor(0x1f, 0x4e, 0x79);
const LIGHT: RGBColor = RGBColor(0x9d, 0xc3, 0xe6);
const ACCENT: RGBColor = RGBColor(0xb4, 0x3c, 0x1e);

fn draw_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {e:?}")
}

/// Makes the SVG scale with its container: plotters writes a fixed `width`/`height`; the
/// `viewBox` it also writes keeps the drawing's proportions.
fn responsive(svg: String) -> String {
    svg.replacen(&format!("width=\"{WIDTH}\" height=\"{HEIGHT}\""), "width=\"100%\"", 1)
}

/// Two bar series per day: `back` (light, full width) and `front` (dark, narrower, over it),
/// labelled by `labels` (one per day).
pub fn daily_bars(
    labels: &[String],
    back: &[u64],
    front: &[u64],
    back_name: &str,
    front_name: &str,
) -> anyhow::Result<Chart> {
    let days = u32::try_from(labels.len()).unwrap_or(u32::MAX).max(1);
    let top = back.iter().chain(front).copied().max().unwrap_or(0).max(1);
    let top = top + top / 10 + 1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d((0u32..days).into_segmented(), 0u64..top)
            .map_err(draw_error)?;
        let label = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                labels.get(*i as usize).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(labels.len().min(10))
            .x_label_formatter(&label)
            .y_labels(5)
            .label_style(("sans-serif", 13).into_font().color(&BLACK))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(LIGHT.filled())
                    .margin(1)
                    .data(back.iter().enumerate().map(|(i, v)| (i as u32, *v))),
            )
            .map_err(draw_error)?
            .label(back_name)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], LIGHT.filled()));
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(DARK.filled())
                    .margin(4)
                    .data(front.iter().enumerate().map(|(i, v)| (i as u32, *v))),
            )
            .map_err(draw_error)?
            .label(front_name)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], DARK.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 13).into_font().color(&BLACK))
            .draw()
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(Chart { svg: responsive(svg) })
}

/// One horizontal bar per name, its length `values` on a scale up to `max` (100 for rates),
/// each bar labelled by its name.
pub fn horizontal_bars(names: &[String], values: &[f64], max: f64, unit: &str) -> anyhow::Result<Chart> {
    let rows = u32::try_from(names.len()).unwrap_or(u32::MAX).max(1);
    let max = if max > 0.0 { max } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(170)
            .build_cartesian_2d(0f64..max, (0u32..rows).into_segmented())
            .map_err(draw_error)?;
        let label = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                names.get(*i as usize).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        };
        let unit = unit.to_owned();
        let x_label = move |v: &f64| format!("{v:.0}{unit}");
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(names.len().max(1))
            .y_label_formatter(&label)
            .x_labels(5)
            .x_label_formatter(&x_label)
            .label_style(("sans-serif", 13).into_font().color(&BLACK))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(
                Histogram::horizontal(&chart)
                    .style(ACCENT.filled())
                    .margin(6)
                    .data(values.iter().enumerate().map(|(i, v)| (i as u32, *v))),
            )
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(Chart { svg: responsive(svg) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_labels_and_no_fixed_size() {
        let labels: Vec<String> = (1..=30).map(|d| format!("12-{d:02}")).collect();
        let mut paid = vec![0u64; 30];
        paid[29] = 5000;
        let chart = daily_bars(&labels, &paid, &vec![0u64; 30], "paid", "refunded").unwrap();
        assert!(chart.svg.starts_with("<svg"), "{}", &chart.svg[..80.min(chart.svg.len())]);
        assert!(chart.svg.contains("width=\"100%\""));
        // plotters writes each text on a line of its own inside `<text>`.
        let text = |svg: &str, words: &str| svg.contains(&format!(">\n{words}\n<"));
        assert!(text(&chart.svg, "paid") && text(&chart.svg, "refunded"), "the legend's words");
        let bars =
            horizontal_bars(&["nova_send".into(), "mypvit".into()], &[50.0, 100.0], 100.0, " %").unwrap();
        assert!(text(&bars.svg, "nova_send") && text(&bars.svg, "mypvit"), "the bars' names");
        // More paid, a taller bar: the drawing follows the data.
        paid[29] = 2500;
        assert_ne!(daily_bars(&labels, &paid, &vec![0u64; 30], "paid", "refunded").unwrap().svg, chart.svg);
    }
}
