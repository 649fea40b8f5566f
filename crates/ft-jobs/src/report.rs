//! `report.png`: training loss and learning rate per step, the evaluation metric per evaluation,
//! and the confusion matrix — drawn with plotters' pure-Rust bitmap backend and an embedded
//! DejaVu font, so no system font or graphics library has to be installed.
use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::sync::Once;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only on a malformed font, and this one is compiled in.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the report failed: {e:?}")
}

/// `(x, y)` pairs of `key` from the log records that have it.
fn series(log: &[Value], key: &str) -> Vec<(f64, f64)> {
    log.iter()
        .filter_map(|r| Some((r["step"].as_f64()?, r[key].as_f64()?)))
        .collect()
}

fn line_chart(
    area: &DrawingArea<BitMapBackend, Shift>,
    title: &str,
    points: &[(f64, f64)],
    color: RGBColor,
) -> Result<()> {
    if points.is_empty() {
        area.draw_text(
            &format!("{title}: no data"),
            &("sans-serif", 18).into_text_style(area),
            (20, 20),
        )
        .map_err(err)?;
        return Ok(());
    }
    let (x0, x1) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let pad = ((y1 - y0) * 0.08).max(1e-9);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
        .map_err(err)?;
    // Learning rates live around 1e-5: plain decimals would print them all as 0.0.
    let small = y1.abs().max(y0.abs()) < 1e-2;
    let y_fmt = move |v: &f64| {
        if small {
            format!("{v:.1e}")
        } else {
            format!("{v:.3}")
        }
    };
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))
        .map_err(err)?;
    if points.len() <= 50 {
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(err)?;
    }
    Ok(())
}

fn confusion(
    area: &DrawingArea<BitMapBackend, Shift>,
    labels: &[String],
    counts: &[Vec<u64>],
) -> Result<()> {
    let n = counts.len();
    let areas = area
        .margin(40, 40, 120, 40)
        .split_evenly((n.max(1), n.max(1)));
    let row_max: Vec<u64> = counts
        .iter()
        .map(|r| r.iter().copied().max().unwrap_or(0).max(1))
        .collect();
    area.draw_text(
        "confusion matrix (rows: true, columns: predicted)",
        &("sans-serif", 20).into_text_style(area),
        (20, 10),
    )
    .map_err(err)?;
    for (i, row) in counts.iter().enumerate() {
        for (j, &c) in row.iter().enumerate() {
            let cell = &areas[i * n + j];
            let shade = c as f64 / row_max[i] as f64;
            let blue = RGBColor(
                (255.0 - 200.0 * shade) as u8,
                (255.0 - 150.0 * shade) as u8,
                255,
            );
            cell.fill(&blue).map_err(err)?;
            let (w, h) = cell.dim_in_pixel();
            let text = if i == 0 {
                format!("{}\n{c}", labels.get(j).map(String::as_str).unwrap_or("?"))
            } else {
                c.to_string()
            };
            for (k, line) in text.lines().enumerate() {
                cell.draw_text(
                    line,
                    &("sans-serif", 16).into_text_style(cell),
                    (w as i32 / 2 - 20, h as i32 / 2 - 8 + 18 * k as i32),
                )
                .map_err(err)?;
            }
        }
        if let Some(first) = areas.get(i * n) {
            first
                .draw_text(
                    labels.get(i).map(String::as_str).unwrap_or("?"),
                    &("sans-serif", 14).into_text_style(first),
                    (4, 4),
                )
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Draws the run report from the log records (`train_log.jsonl`'s objects) into `path`.
/// `metric` is the evaluation metric to plot (without `eval_`); `matrix` the final confusion
/// matrix with its class names, for classification.
pub fn draw(
    path: &Path,
    log: &[Value],
    metric: &str,
    matrix: Option<(&[String], &[Vec<u64>])>,
) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (1400, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((2, 2));
    line_chart(
        &panels[0],
        "training loss",
        &series(log, "loss"),
        RGBColor(200, 60, 40),
    )?;
    line_chart(
        &panels[1],
        "learning rate",
        &series(log, "learning_rate"),
        RGBColor(40, 120, 200),
    )?;
    line_chart(
        &panels[2],
        &format!("eval {metric}"),
        &series(log, &format!("eval_{metric}")),
        RGBColor(40, 160, 80),
    )?;
    match matrix {
        Some((labels, counts)) if !counts.is_empty() => confusion(&panels[3], labels, counts)?,
        _ => {
            panels[3]
                .draw_text(
                    "no confusion matrix for this task",
                    &("sans-serif", 18).into_text_style(&panels[3]),
                    (20, 20),
                )
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Just the confusion matrix (`ft eval`).
pub fn draw_confusion(path: &Path, labels: &[String], counts: &[Vec<u64>]) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (700, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    confusion(&root, labels, counts)?;
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn draws_a_png_with_curves_and_a_confusion_matrix() {
        let tmp = tempfile::tempdir().unwrap();
        let log: Vec<Value> = (1..=30)
            .map(|s| json!({"step": s, "loss": 1.0 / s as f64, "learning_rate": 1e-4 * (30 - s) as f64 / 30.0}))
            .chain((1..=3).map(|e| json!({"step": e * 10, "eval_accuracy": 0.6 + 0.1 * e as f64})))
            .collect();
        let labels = vec!["negative".to_string(), "positive".to_string()];
        let counts = vec![vec![40, 10], vec![5, 45]];
        let path = tmp.path().join("report.png");
        draw(&path, &log, "accuracy", Some((&labels, &counts))).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(
            bytes.len() > 10_000,
            "a real picture, not an empty canvas ({} bytes)",
            bytes.len()
        );
    }
}
