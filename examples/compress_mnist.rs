//! Model compression on MNIST (issue 17): magnitude pruning to 80 % sparsity, and knowledge
//! distillation into students with a quarter of their teacher's parameters.
//!
//! 1. **Dense baseline**: the W2 MLP (784 → Dense 256 ReLU → Dense 128 ReLU → Dense 10,
//!    softmax cross-entropy on the logits), 8 epochs of Adam 1e-3 in batches of 100 (600 steps
//!    per epoch).
//! 2. **Pruned**: the same model, seed and batch order, trained for the same 8 epochs with
//!    [`PruneLowMagnitude`] and `PolynomialDecay(0 → 0.8)` from step 600 to step 3000 (epochs
//!    2–5, every 100 steps, tfmot's default frequency), then 3 epochs under the masks. Pruning
//!    during the same budget compares like with like: the pruned model gets exactly the updates
//!    the dense one gets, where fine-tuning the trained baseline (tfmot's guide) would give it
//!    extra epochs. Every kernel ends at 80 % zeros (biases are kept); its summary lists them.
//! 3. **Distillation**, from two teachers: the dense baseline above (235,146 parameters), and
//!    the W3 convnet (Conv2D 32 → MaxPool → Conv2D 64 → MaxPool → Dropout 0.25 → Dense 128 →
//!    Dense 10, 225,034 parameters, 3 epochs). Each teacher gets a student 784 → Dense h ReLU →
//!    Dense 10 with h chosen for a quarter of its parameters (74 and 71 units), trained twice
//!    per seed (seeds 1, 2, 3) with the same initial weights, epochs and batch order: alone on
//!    the hard labels, and by a [`Distiller`] with alpha 0.1 and temperature 3 (a tenth hard
//!    labels, nine tenths the teacher's softened logits, as in Keras' "Knowledge Distillation"
//!    example; a second argument sets another temperature). Besides the test accuracies the
//!    program prints how often each student predicts the teacher's class.
//!
//! Seeds are fixed, so a run on the same number of threads prints the same figures each time.
//! The data are read from a folder (not shipped with kensho: MNIST is CC BY-SA): the first
//! argument, else `$KENSHO_DATA/mnist`, else `~/.cache/kensho/mnist`; the folder holds the four
//! IDX files, plain or gzip'd.
//!
//! Run: `cargo run --release --example compress_mnist -- path/to/mnist [temperature]`

use kensho::callbacks::PruneLowMagnitude;
use kensho::data::mnist;
use kensho::prelude::*;
use kensho::{Distiller, PolynomialDecay};
use std::path::PathBuf;

/// Epochs of the dense, pruned and student models.
const EPOCHS: usize = 8;
/// Epochs of the convnet teacher.
const CONVNET_EPOCHS: usize = 3;
/// 60,000 images in batches of 100: 600 steps per epoch.
const BATCH: usize = 100;
const STEPS_PER_EPOCH: u64 = 600;
/// The weight of the hard labels in distillation.
const ALPHA: f32 = 0.1;
/// The distillation temperature unless the second argument gives one.
const TEMPERATURE: f32 = 3.0;
/// The seeds of the students' initial weights.
const STUDENT_SEEDS: [u64; 3] = [1, 2, 3];

/// An MLP on images of shape `input` (flattened first when they are not flat) with ReLU hidden
/// layers of `hidden` units, ending in 10 logits.
fn mlp(seed: u64, input: &[usize], hidden: &[usize]) -> Model {
    let mut net = Sequential::new().seed(seed).add(Input::new(input));
    if input.len() > 1 {
        net = net.add(Flatten::new());
    }
    for &units in hidden {
        net = net.add(Dense::new(units).activation(Activation::Relu));
    }
    net.add(Dense::new(10)).into_model()
}

/// The W3 convnet, ending in 10 logits.
fn convnet() -> Model {
    Sequential::new()
        .seed(7)
        .add(Input::new(&[28, 28, 1]))
        .add(Conv2d::new(32, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(64, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dropout::new(0.25))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10))
        .into_model()
}

/// The hidden width of a 784-h-10 MLP whose `795 h + 10` parameters come closest to a quarter
/// of `params`.
fn quarter_width(params: usize) -> usize {
    ((params as f64 / 4.0 - 10.0) / 795.0).round() as usize
}

/// Compiles `model` for training on the hard labels alone.
fn compile(model: &mut Model) -> Result<()> {
    let loss = losses::SparseCategoricalCrossentropy::from_logits();
    model.compile(Adam::new(1e-3), loss, vec![Box::new(metrics::Accuracy::new())])
}

/// `epochs` epochs, one line each, the same batch order for every run.
fn options<'a>(epochs: usize, callbacks: Vec<&'a mut dyn Callback>) -> FitOptions<'a> {
    FitOptions { epochs, batch_size: BATCH, verbose: 2, seed: 1, callbacks, ..Default::default() }
}

/// The accuracy of `logits` against the labels `y`.
fn accuracy(logits: &Tensor, y: &Tensor) -> f32 {
    let labels = y.to_vec();
    let predicted = logits.argmax_indices(1);
    predicted.iter().zip(&labels).filter(|(p, l)| **p as f32 == **l).count() as f32 / labels.len() as f32
}

/// The share of rows where two models predict the same class.
fn agreement(a: &Tensor, b: &Tensor) -> f32 {
    let (a, b) = (a.argmax_indices(1), b.argmax_indices(1));
    a.iter().zip(&b).filter(|(p, q)| p == q).count() as f32 / a.len() as f32
}

/// The training and test images (scaled to [0, 1]) and labels.
struct Data {
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
}

impl Data {
    /// The same images with each one of shape `shape`.
    fn reshaped(&self, shape: &[isize]) -> Result<Data> {
        let with_rows = |rows: isize| [&[rows][..], shape].concat();
        Ok(Data {
            x_train: self.x_train.reshape(&with_rows(-1))?,
            y_train: self.y_train.clone(),
            x_test: self.x_test.reshape(&with_rows(-1))?,
            y_test: self.y_test.clone(),
        })
    }
}

/// A student's test accuracy and agreement with the teacher, per seed, as one line: the mean
/// accuracy, then each seed's accuracy and agreement.
fn seeds_line(what: &str, results: &[(f32, f32)]) -> String {
    let mean = results.iter().map(|r| r.0).sum::<f32>() / results.len() as f32;
    let each: Vec<String> =
        results.iter().map(|(a, g)| format!("{a:.4} (agrees with the teacher on {:.2} %)", 100.0 * g)).collect();
    format!("{what} test accuracy: {mean:.4} (mean of seeds {STUDENT_SEEDS:?}: {})", each.join(", "))
}

/// Trains, for each seed, a quarter-size student alone and distilled from `teacher` (already
/// trained, outputting logits, reading images as `data` holds them); returns the report lines.
fn distil(name: &str, mut teacher: Model, data: &Data, temperature: f32) -> Result<Vec<String>> {
    let teacher_logits = teacher.predict_batched(&data.x_test, 1000)?;
    let (teacher_params, hidden) = (teacher.count_params(), quarter_width(teacher.count_params()));
    let input: Vec<usize> = data.x_train.shape()[1..].to_vec();
    let (mut alone, mut distilled) = (Vec::new(), Vec::new());
    let mut student_params = 0;
    for seed in STUDENT_SEEDS {
        println!("\n== {name} teacher: student 784-{hidden}-10 (seed {seed}) alone, on the hard labels ==");
        let mut student = mlp(seed, &input, &[hidden]);
        compile(&mut student)?;
        student.fit(&data.x_train, &data.y_train, options(EPOCHS, vec![]))?;
        let logits = student.predict_batched(&data.x_test, 1000)?;
        alone.push((accuracy(&logits, &data.y_test), agreement(&logits, &teacher_logits)));

        println!("\n== {name} teacher: the same student distilled (alpha {ALPHA}, temperature {temperature}) ==");
        let mut distiller = Distiller::new(teacher, mlp(seed, &input, &[hidden])).alpha(ALPHA).temperature(temperature);
        distiller.compile(Adam::new(1e-3), vec![])?;
        distiller.fit(&data.x_train, &data.y_train, options(EPOCHS, vec![]))?;
        let student;
        (teacher, student) = distiller.into_parts();
        let logits = student.predict_batched(&data.x_test, 1000)?;
        distilled.push((accuracy(&logits, &data.y_test), agreement(&logits, &teacher_logits)));
        student_params = student.count_params();
    }
    Ok(vec![
        format!("-- distillation from the {name} --"),
        format!(
            "parameters: teacher {teacher_params}, student 784-{hidden}-10 {student_params} ({:.1} % of the teacher)",
            100.0 * student_params as f64 / teacher_params as f64
        ),
        format!("teacher test accuracy: {:.4}", accuracy(&teacher_logits, &data.y_test)),
        seeds_line("student alone", &alone),
        seeds_line("distilled student", &distilled),
    ])
}

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let temperature = match std::env::args().nth(2) {
        Some(t) => t.parse().map_err(|_| Error::invalid("temperature", t, "a number such as 3"))?,
        None => TEMPERATURE,
    };
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(dir.as_deref())?;
    // Raw pixels 0..=255, as Keras' `load_data()`: scale to [0, 1].
    let images = Data { x_train: x_train / 255.0, y_train, x_test: x_test / 255.0, y_test };
    let flat = images.reshaped(&[784])?;
    println!("train: {:?}, test: {:?}", flat.x_train.shape(), flat.x_test.shape());
    let started = std::time::Instant::now();

    println!("\n== dense baseline: 784-256-128-10 ==");
    let mut dense = mlp(7, &[784], &[256, 128]);
    compile(&mut dense)?;
    dense.fit(&flat.x_train, &flat.y_train, options(EPOCHS, vec![]))?;
    let dense_accuracy = accuracy(&dense.predict_batched(&flat.x_test, 1000)?, &flat.y_test);

    println!("\n== pruned: the same model, seed and epochs, pruned to 80 % during epochs 2-5 ==");
    let mut pruned = mlp(7, &[784], &[256, 128]);
    compile(&mut pruned)?;
    let schedule = PolynomialDecay::new(0.0, 0.8, STEPS_PER_EPOCH, 5 * STEPS_PER_EPOCH)?;
    let mut prune = PruneLowMagnitude::new(schedule);
    pruned.fit(&flat.x_train, &flat.y_train, options(EPOCHS, vec![&mut prune]))?;
    let pruned_accuracy = accuracy(&pruned.predict_batched(&flat.x_test, 1000)?, &flat.y_test);
    println!("{}", pruned.summary());

    let mut report = vec![
        format!("dense test accuracy: {dense_accuracy:.4}"),
        format!("pruned test accuracy: {pruned_accuracy:.4}"),
    ];
    for (name, sparsity) in kensho::sparsity(&pruned) {
        report.push(format!("sparsity: {name} {:.1} %", 100.0 * sparsity));
    }
    report.extend(distil("784-256-128-10 MLP (the dense baseline)", dense, &flat, temperature)?);

    println!("\n== convnet teacher: the W3 convnet, {CONVNET_EPOCHS} epochs ==");
    let grid = images.reshaped(&[28, 28, 1])?;
    let mut teacher = convnet();
    compile(&mut teacher)?;
    teacher.fit(&grid.x_train, &grid.y_train, options(CONVNET_EPOCHS, vec![]))?;
    report.extend(distil("W3 convnet", teacher, &grid, temperature)?);

    println!("\n== results on the 10,000 test images ({:.0} s) ==", started.elapsed().as_secs_f64());
    for line in report {
        println!("{line}");
    }
    Ok(())
}
