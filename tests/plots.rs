//! The `plot` feature's pictures, read back as XML: each line has one point per epoch or per
//! threshold, the heatmap one cell per (true, predicted) pair, the curves run from (0, 0) to
//! (1, 1) in data terms, the attribution maps one cell per pixel in the right colours, and the
//! texts name what is drawn.

use std::path::{Path, PathBuf};

use kensho::metrics::{roc_curve, ConfusionMatrix};
use kensho::plot::{plot_attributions, plot_confusion_matrix, plot_precision_recall_curve, plot_roc_curve};
use kensho::{History, Logs, Tensor};

/// The stroke colours of training series and curves, of validation series, of chance lines.
const MAIN: &str = "#1F77B4";
const VALIDATION: &str = "#E66E14";
const CHANCE: &str = "#808080";

/// What a picture holds: its polylines (stroke colour, pixel points), rectangles (the count, and
/// the filled ones as (fill colour, x, y)), texts.
struct Svg {
    lines: Vec<(String, Vec<(f64, f64)>)>,
    rects: usize,
    fills: Vec<(String, f64, f64)>,
    texts: Vec<String>,
}

fn read(path: &Path) -> Svg {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: not XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let mut svg = Svg { lines: Vec::new(), rects: 0, fills: Vec::new(), texts: Vec::new() };
    for node in doc.descendants() {
        match node.tag_name().name() {
            "polyline" => {
                let points = node.attribute("points").expect("polyline points");
                let parse = |pair: &str| {
                    let (x, y) = pair.split_once(',').expect("x,y");
                    (x.parse().unwrap(), y.parse().unwrap())
                };
                let stroke = node.attribute("stroke").unwrap_or("").to_string();
                svg.lines.push((stroke, points.split_whitespace().map(parse).collect()));
            }
            "rect" => {
                svg.rects += 1;
                let number = |name: &str| node.attribute(name).expect("rect position").parse().unwrap();
                if let Some(fill) = node.attribute("fill").filter(|f| *f != "none") {
                    svg.fills.push((fill.to_string(), number("x"), number("y")));
                }
            }
            "text" => svg.texts.push(node.text().unwrap_or("").trim().to_string()),
            _ => {}
        }
    }
    svg
}

/// The lines drawn in `stroke`, in drawing order (series before their legend samples).
fn lines<'s>(svg: &'s Svg, stroke: &str) -> Vec<&'s [(f64, f64)]> {
    svg.lines.iter().filter(|(s, _)| s == stroke).map(|(_, l)| l.as_slice()).collect()
}

fn has_text(svg: &Svg, text: &str) -> bool {
    svg.texts.iter().any(|t| t == text)
}

fn history(with_validation: bool) -> History {
    let mut history = History::default();
    for epoch in 0..5 {
        let mut logs = Logs::new();
        logs.set("loss", 1.0 / (epoch as f32 + 1.0));
        logs.set("accuracy", 0.5 + 0.1 * epoch as f32);
        if with_validation {
            logs.set("val_loss", 1.2 / (epoch as f32 + 1.0));
            logs.set("val_accuracy", 0.45 + 0.1 * epoch as f32);
        }
        history.push(epoch, &logs);
    }
    history
}

fn temp(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

#[test]
fn history_plot_has_one_line_per_series_with_a_point_per_epoch() {
    let (_dir, path) = temp("history.svg");
    history(true).plot(&path).unwrap();
    let svg = read(&path);
    // Per panel (loss, then accuracy) and colour: the series, 5 points (one per epoch), then its
    // 2-point legend sample.
    let (train, validation) = (lines(&svg, MAIN), lines(&svg, VALIDATION));
    for colour in [&train, &validation] {
        let lengths: Vec<usize> = colour.iter().map(|l| l.len()).collect();
        assert_eq!(lengths, vec![5, 2, 5, 2], "{colour:?}");
        // Epochs run left to right, at the same places in every panel and series.
        assert!(colour[0].windows(2).all(|w| w[1].0 > w[0].0), "{colour:?}");
    }
    let xs = |l: &[(f64, f64)]| l.iter().map(|p| p.0).collect::<Vec<_>>();
    assert_eq!(xs(train[0]), xs(validation[0]));
    // The loss falls (pixel y grows downwards), the accuracy rises; val_loss is above loss.
    assert!(train[0].windows(2).all(|w| w[1].1 > w[0].1), "loss falls: {:?}", train[0]);
    assert!(train[2].windows(2).all(|w| w[1].1 < w[0].1), "accuracy rises: {:?}", train[2]);
    assert!(train[0].iter().zip(validation[0]).all(|(t, v)| v.1 < t.1), "val_loss > loss");
    for text in ["loss", "accuracy", "val_loss", "val_accuracy", "epoch"] {
        assert!(has_text(&svg, text), "no text {text:?} in {:?}", svg.texts);
    }
}

#[test]
fn history_plot_without_validation_has_only_training_lines() {
    let (_dir, path) = temp("history.svg");
    history(false).plot(&path).unwrap();
    let svg = read(&path);
    assert_eq!(lines(&svg, MAIN).iter().map(|l| l.len()).collect::<Vec<_>>(), vec![5, 2, 5, 2]);
    assert!(lines(&svg, VALIDATION).is_empty());
    assert!(!has_text(&svg, "val_loss"));
}

#[test]
fn history_plot_errors_name_the_path() {
    let (_dir, path) = temp("empty.svg");
    let err = History::default().plot(&path).unwrap_err().to_string();
    assert!(err.contains("empty.svg") && err.contains("no epoch"), "{err}");
    assert!(!path.exists());
    let (_dir, path) = temp("missing-dir/history.svg");
    let err = history(true).plot(&path).unwrap_err().to_string();
    assert!(err.contains("missing-dir/history.svg"), "{err}");
}

#[test]
fn confusion_heatmap_has_a_cell_per_pair_in_both_panels() {
    let (_dir, path) = temp("confusion.svg");
    let mut cm = ConfusionMatrix::new(3);
    let y_true = Tensor::from_vec(vec![0., 0., 0., 0., 1., 1., 2., 2.], &[8]).unwrap();
    let y_pred = Tensor::from_vec(vec![0., 0., 0., 1., 1., 2., 2., 2.], &[8]).unwrap();
    cm.update(&y_true, &y_pred).unwrap();
    plot_confusion_matrix(&cm, &["cat", "dog", "bird"], &path).unwrap();
    let svg = read(&path);
    assert_eq!(svg.rects, 1 + 2 * 9, "the background and 3² cells in each of the two panels");
    for name in ["cat", "dog", "bird", "true class", "predicted class", "counts"] {
        assert!(svg.texts.iter().filter(|t| *t == name).count() >= 1, "no {name:?} in {:?}", svg.texts);
    }
    // Each class name labels a row and a column of both panels.
    assert_eq!(svg.texts.iter().filter(|t| *t == "dog").count(), 4, "{:?}", svg.texts);
    // Counts, row by row: 3 1 0 / 0 1 1 / 0 0 2; then rows divided by 4, 2 and 2.
    for value in ["3", "0.75", "0.25", "0.50", "1.00"] {
        assert!(has_text(&svg, value), "no cell {value:?} in {:?}", svg.texts);
    }
}

#[test]
fn confusion_heatmap_checks_the_class_names() {
    let (_dir, path) = temp("confusion.svg");
    let err = plot_confusion_matrix(&ConfusionMatrix::new(3), &["a", "b"], &path).unwrap_err().to_string();
    assert!(err.contains("class_names") && err.contains("2 names") && err.contains("confusion.svg"), "{err}");
    plot_confusion_matrix(&ConfusionMatrix::new(2), &[], &path).unwrap();
    let svg = read(&path);
    assert!(has_text(&svg, "0") && has_text(&svg, "1"));
}

/// Scores of 40 samples that rank positives above negatives most of the time.
fn binary_scores() -> (Tensor, Tensor) {
    let labels: Vec<f32> = (0..40).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let scores: Vec<f32> = (0..40).map(|i| ((i * 7919) % 40) as f32 / 40.0 * 0.6 + labels[i] * 0.35).collect();
    (Tensor::from_vec(labels, &[40]).unwrap(), Tensor::from_vec(scores, &[40]).unwrap())
}

#[test]
fn roc_picture_runs_from_origin_to_one_one_with_every_threshold() {
    let (y, s) = binary_scores();
    let (_dir, path) = temp("roc.svg");
    plot_roc_curve(&y, &s, &path).unwrap();
    let svg = read(&path);
    let roc = roc_curve(&y, &s).unwrap();
    let curve = lines(&svg, MAIN)[0];
    assert_eq!(curve.len(), roc.fpr.len(), "a point per threshold");
    // The chance diagonal, drawn from (0, 0) to (1, 1), fixes those two points in pixels.
    let diagonal = lines(&svg, CHANCE)[0];
    assert!(diagonal[0].0 < diagonal[1].0 && diagonal[0].1 > diagonal[1].1, "{diagonal:?}");
    assert_eq!(curve.first(), diagonal.first(), "the curve starts at (0, 0)");
    assert_eq!(curve.last(), diagonal.last(), "the curve ends at (1, 1)");
    assert!(curve.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 <= w[0].1), "monotone: {curve:?}");
    let auc = kensho::metrics::roc_auc_score(&y, &s).unwrap();
    let legend = format!("ROC (AUC = {auc:.3})");
    assert!(has_text(&svg, &legend), "no {legend:?} in {:?}", svg.texts);
    assert!(has_text(&svg, "false positive rate") && has_text(&svg, "true positive rate"));
}

#[test]
fn precision_recall_picture_is_a_staircase_with_the_average_precision() {
    let (y, s) = binary_scores();
    let (_dir, path) = temp("pr.svg");
    plot_precision_recall_curve(&y, &s, &path).unwrap();
    let svg = read(&path);
    let pr = kensho::metrics::precision_recall_curve(&y, &s).unwrap();
    let steps = lines(&svg, MAIN)[0];
    assert_eq!(steps.len(), 2 * pr.recall.len() - 1, "two points per threshold after the first");
    // It starts at recall 0 (the left end of the horizontal chance line) and ends at recall 1.
    let chance = lines(&svg, CHANCE)[0];
    assert_eq!((steps[0].0, steps[steps.len() - 1].0), (chance[0].0, chance[1].0));
    assert_eq!(steps[steps.len() - 1].1, chance[1].1, "all samples positive: the share of positives");
    // Each step is vertical then horizontal, recall rising left to right.
    for (i, w) in steps.windows(2).enumerate() {
        if i % 2 == 0 {
            assert_eq!(w[0].0, w[1].0, "vertical step {i}: {steps:?}");
        } else {
            assert!(w[1].0 >= w[0].0 && w[0].1 == w[1].1, "horizontal step {i}: {steps:?}");
        }
    }
    let ap = kensho::metrics::average_precision_score(&y, &s).unwrap();
    let legend = format!("precision-recall (AP = {ap:.3})");
    assert!(has_text(&svg, &legend), "no {legend:?} in {:?}", svg.texts);
    let err = plot_precision_recall_curve(&Tensor::zeros(&[3]), &Tensor::zeros(&[3]), &path).unwrap_err();
    assert!(err.to_string().contains("only class 0"), "{err}");
}

#[test]
fn history_plot_leaves_out_non_finite_values_and_aligns_late_series_to_the_last_epochs() {
    let mut history = History::default();
    for epoch in 0..4 {
        let mut logs = Logs::new();
        logs.set("loss", if epoch == 1 { f32::NAN } else { 1.0 - 0.1 * epoch as f32 });
        if epoch >= 2 {
            logs.set("val_loss", 0.9);
        }
        history.push(epoch, &logs);
    }
    let (_dir, path) = temp("history.svg");
    history.plot(&path).unwrap();
    let svg = read(&path);
    let train = lines(&svg, MAIN);
    let validation = lines(&svg, VALIDATION);
    assert_eq!(train[0].len(), 3, "epoch 2's NaN is left out: {train:?}");
    assert_eq!(validation[0].len(), 2, "{validation:?}");
    // val_loss began at the third epoch: its points sit above the last two training points.
    let xs = |l: &[(f64, f64)]| l.iter().map(|p| p.0).collect::<Vec<_>>();
    assert_eq!(xs(validation[0]), xs(&train[0][1..]));
}

#[test]
fn history_plot_of_one_epoch_draws_one_point() {
    let mut history = History::default();
    let mut logs = Logs::new();
    logs.set("loss", 0.5);
    history.push(0, &logs);
    let (_dir, path) = temp("history.svg");
    history.plot(&path).unwrap();
    let svg = read(&path);
    assert_eq!(lines(&svg, MAIN)[0].len(), 1);
    assert!(has_text(&svg, "1"), "epoch 1 is labelled: {:?}", svg.texts);
}

/// The diverging scale's ends and the image's ink, as the SVG writes them.
const POSITIVE: &str = "#B2182B";
const NEGATIVE: &str = "#2166AC";
const INK: &str = "#000000";
/// The bands of each map's colour bar.
const BAR_STEPS: usize = 40;

/// A 5 x 4 "image" with its largest value at row 1, column 2, and two signed maps: one peaking
/// at +3 (row 4, column 0), one at -2 (row 0, column 3) with +1 elsewhere.
fn attribution_inputs() -> (Tensor, Tensor, Tensor) {
    let image = Tensor::from_vec((0..20).map(|i| if i == 6 { 9.0 } else { (i % 3) as f32 }).collect(), &[5, 4, 1]);
    let up = Tensor::from_vec((0..20).map(|i| if i == 16 { 3.0 } else { (i as f32 - 10.0) / 10.0 }).collect(), &[5, 4]);
    let down = Tensor::from_vec((0..20).map(|i| if i == 3 { -2.0 } else { 1.0 }).collect(), &[5, 4, 1]);
    (image.unwrap(), up.unwrap(), down.unwrap())
}

#[test]
fn attribution_picture_has_a_cell_per_pixel_and_the_extreme_colours_at_the_extremes() {
    let (image, up, down) = attribution_inputs();
    let (_dir, path) = temp("attributions.svg");
    plot_attributions(&image, &[("saliency", &up), ("integrated gradients", &down)], "digit 7", &path).unwrap();
    let svg = read(&path);
    // The background, 20 cells and a frame per panel, and per map a colour bar of bands and its
    // outline.
    assert_eq!(svg.rects, 1 + 3 * (20 + 1) + 2 * (BAR_STEPS + 1));
    for text in ["digit 7", "input", "saliency", "integrated gradients", "3.00", "-3.00", "2.00", "-2.00", "0"] {
        assert!(has_text(&svg, text), "no text {text:?} in {:?}", svg.texts);
    }
    // Filled rectangles in drawing order: the image's 20 cells, then for each map its 20 cells
    // (row by row from the top) and its colour bar's bands (from the top).
    let cells = &svg.fills[1..];
    assert_eq!(cells.len(), 20 + 2 * (20 + BAR_STEPS));
    let start = |p: usize| if p == 0 { 0 } else { 20 + (p - 1) * (20 + BAR_STEPS) };
    let panel = |p: usize| &cells[start(p)..start(p) + 20];
    let at = |p: usize, i: usize| panel(p)[i].0.as_str();
    assert_eq!(at(0, 6), INK, "the image's largest value is black");
    assert_eq!(at(0, 0), "#FFFFFF", "the image's smallest value is white");
    assert_eq!(at(1, 16), POSITIVE);
    assert_eq!(at(1, 10), "#FFFFFF", "0 is white");
    assert_eq!(at(2, 3), NEGATIVE);
    let strictly_between = |p: usize, i: usize, end: &str| at(p, i) != end && at(p, i) != "#FFFFFF";
    assert!((0..20).filter(|&i| i != 16 && i != 10).all(|i| strictly_between(1, i, POSITIVE)), "{:?}", panel(1));
    // +1 against a scale of 2: the positive colour halfway to white, in the other panel.
    assert!((0..20).filter(|&i| i != 3).all(|i| at(2, i) == at(2, 4) && strictly_between(2, i, POSITIVE)));
    // Row 0 is at the top, and the cells are square and side by side.
    for p in 0..3 {
        assert!(panel(p)[4].2 > panel(p)[0].2 && panel(p)[1].1 > panel(p)[0].1, "{:?}", panel(p));
        assert_eq!(panel(p)[1].1 - panel(p)[0].1, panel(p)[4].2 - panel(p)[0].2, "square cells");
    }
    assert!(panel(1)[0].1 > panel(0)[3].1 && panel(2)[0].1 > panel(1)[3].1, "panels left to right");
    // Each colour bar runs from the positive colour at the top to the negative one at the bottom,
    // right of its map.
    for p in 1..3 {
        let bar = &cells[start(p) + 20..start(p) + 20 + BAR_STEPS];
        assert_eq!((bar[0].0.as_str(), bar[BAR_STEPS - 1].0.as_str()), (POSITIVE, NEGATIVE), "{bar:?}");
        assert!(bar[BAR_STEPS - 1].2 > bar[0].2 && bar[0].1 > panel(p)[3].1, "{bar:?}");
    }
}

#[test]
fn attribution_picture_checks_its_inputs() {
    let (image, up, down) = attribution_inputs();
    let (_dir, path) = temp("attributions.svg");
    let error =
        |image: &Tensor, maps: &[(&str, &Tensor)]| plot_attributions(image, maps, "", &path).unwrap_err().to_string();
    let err = error(&image, &[]);
    assert!(err.contains("maps") && err.contains("no map") && err.contains("attributions.svg"), "{err}");
    let err = error(&Tensor::zeros(&[1, 5, 4, 1]), &[("a", &up)]);
    assert!(err.contains("image") && err.contains("[1, 5, 4, 1]") && err.contains("[height, width]"), "{err}");
    let err = error(&Tensor::zeros(&[5, 4, 3]), &[("a", &up)]);
    assert!(err.contains("[5, 4, 3]"), "{err}");
    let err = error(&image, &[("a", &up), ("wide", &Tensor::zeros(&[5, 5]))]);
    assert!(err.contains("maps[1] (\"wide\")") && err.contains("[5, 5]") && err.contains("[5, 4]"), "{err}");
    let mut values = down.to_vec();
    values[7] = f32::NAN;
    let err = error(&image, &[("nan", &Tensor::from_vec(values, &[5, 4]).unwrap())]);
    assert!(err.contains("maps[0] (\"nan\")") && err.contains("index 7") && err.contains("finite"), "{err}");
    let mut values = image.to_vec();
    values[0] = f32::INFINITY;
    let err = error(&Tensor::from_vec(values, &[5, 4]).unwrap(), &[("a", &up)]);
    assert!(err.contains("image") && err.contains("inf"), "{err}");
    assert!(!path.exists(), "nothing is written on an error");
}

#[test]
fn attribution_picture_of_an_all_zero_map_is_white() {
    let (image, _, _) = attribution_inputs();
    let (_dir, path) = temp("zero.svg");
    plot_attributions(&image, &[("nothing", &Tensor::zeros(&[5, 4]))], "", &path).unwrap();
    let svg = read(&path);
    assert!(svg.fills[21..41].iter().all(|(fill, _, _)| fill == "#FFFFFF"), "{:?}", &svg.fills[21..41]);
    assert!(!has_text(&svg, "digit 7"));
}

#[test]
fn attribution_picture_of_a_model_explained_by_kensho_explain() {
    use kensho::explain::{integrated_gradients, saliency, Target};
    use kensho::prelude::*;
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[6, 5, 1]))
        .add(Conv2d::new(2, [3, 3]).activation(Activation::Tanh))
        .add(Flatten::new())
        .add(Dense::new(3));
    model.build_model().unwrap();
    let x = Tensor::rand_uniform(&[2, 6, 5, 1], 0.0, 1.0, &mut kensho::core::seeded_rng(4));
    let grads = saliency(&model, &x, Target::Predicted).unwrap();
    let ig = integrated_gradients(&model, &x, None, 16, Target::Predicted).unwrap();
    // The second image of the batch, as the docs say: one row, then its batch axis dropped.
    let one = |t: &Tensor| t.slice_axis(0, 1, 2).squeeze(0);
    let (_dir, path) = temp("explained.svg");
    plot_attributions(&one(&x), &[("saliency", &one(&grads)), ("integrated gradients", &one(&ig))], "", &path).unwrap();
    let svg = read(&path);
    assert_eq!(svg.rects, 1 + 3 * (30 + 1) + 2 * (BAR_STEPS + 1), "6 x 5 cells per panel");
    // The colour bar after the map's title is labelled with its largest |value|, to 3 digits.
    let largest = one(&ig).iter().fold(0.0_f64, |m, v| m.max(f64::from(v).abs()));
    let title = svg.texts.iter().position(|t| t == "integrated gradients").unwrap();
    let label: f64 = svg.texts[title + 1].parse().unwrap();
    assert!((label - largest).abs() <= 5e-3 * largest, "{label} against {largest}");
    assert_eq!(svg.texts[title + 2..title + 4], ["0".to_string(), format!("-{}", svg.texts[title + 1])]);
}
