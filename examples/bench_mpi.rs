//! Benchmark of data-parallel training on MPI (issue 18): W2 of the shared `WORKLOADS.md`
//! (784-256-128-10, Adam 1e-3) at a global batch of 512, one rank per process with one kernel
//! thread each. Prints one JSON object per figure on stdout (rank 0 only), as `bench` does.
//!
//! Run, back to back:
//! ```text
//! cargo build --release --features mpi --example bench_mpi
//! mpirun -np 1 target/release/examples/bench_mpi     # one process: the baseline
//! mpirun -np 2 target/release/examples/bench_mpi     # two ranks
//! ```
//! (as root add `--allow-run-as-root`; on one host `--mca btl self,vader` keeps to shared memory.)
//!
//! Figures (each the median of `--reps` repetitions, 3 by default, of one shuffled epoch of 60,000
//! synthetic samples, 118 steps, after a warm-up of 5 steps on a fresh model):
//! - `train_samples_per_s`: `fit` on the ranks with the default options: under `mpirun`, which
//!   binds each rank to one core, the gradient buckets start after backward (no core is free
//!   for them during it), and the optimizer step is sharded (each rank updates its share of
//!   each parameter, then the ranks exchange the shares);
//! - `train_samples_per_s_overlap`: the same with the buckets started during backward;
//! - `train_samples_per_s_whole_steps`: every rank making the whole optimizer step;
//! - `exposed_wait_us_per_step` (and `_overlap`, `_whole_steps`): the time a step waited for
//!   its gradient sums after backward ([`Model::communication_wait`]);
//! - `allreduce_us`: one all-reduce of the model's 235,146 gradient values alone;
//! - with one rank, also `train_samples_per_s_alone`: `fit` without any communicator, and
//!   `step_ms_batch{512,256,64,32,8}`: the time of one train step of one process at the whole
//!   batch and at the batch that each of 2, 8, 16 and 64 hosts would get of a global batch of
//!   512 (for the projection in BENCHMARKS.md).

use kensho::mpi::World;
use kensho::parallel::{Communicator, DataParallel};
use kensho::prelude::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

const SAMPLES: usize = 60_000;
const BATCH: usize = 512;

fn main() -> Result<()> {
    kensho::set_num_threads(1);
    let world = World::init()?;
    let reps = std::env::args()
        .skip_while(|a| a != "--reps")
        .nth(1)
        .map_or(3, |r| r.parse().unwrap_or_else(|_| panic!("--reps takes a number, got {r}")));
    let mut rng = kensho::core::seeded_rng(42);
    let x = Tensor::rand_uniform(&[SAMPLES, 784], 0.0, 1.0, &mut rng);
    let labels: Vec<f32> =
        Tensor::rand_uniform(&[SAMPLES], 0.0, 10.0, &mut rng).to_vec().iter().map(|v| v.floor()).collect();
    let y = Tensor::from_vec(labels, &[SAMPLES])?;
    let steps = SAMPLES.div_ceil(BATCH) as f64;

    let mut figures: Vec<(String, Vec<f64>)> = Vec::new();
    let mut record = |name: String, value: f64| match figures.iter_mut().find(|(n, _)| *n == name) {
        Some((_, values)) => values.push(value),
        None => figures.push((name, vec![value])),
    };
    for _ in 0..reps {
        let variants = [
            ("", DataParallel::default()),
            ("_overlap", DataParallel { overlap_backward: true, ..Default::default() }),
            ("_whole_steps", DataParallel { shard_optimizer: false, ..Default::default() }),
        ];
        for (suffix, options) in variants {
            let (rate, wait) = epoch(&x, &y, Some((&world, options)))?;
            record(format!("train_samples_per_s{suffix}"), rate);
            record(format!("exposed_wait_us_per_step{suffix}"), wait / steps * 1e6);
        }
        if world.size() == 1 {
            record("train_samples_per_s_alone".into(), epoch(&x, &y, None)?.0);
            let batches = [("step_ms_batch512", 512), ("step_ms_batch256", 256), ("step_ms_batch64", 64)];
            for (name, rows) in batches.into_iter().chain([("step_ms_batch32", 32), ("step_ms_batch8", 8)]) {
                record(name.into(), step_seconds(&x, &y, rows)? * 1e3);
            }
        }
        record("allreduce_us".into(), allreduce_seconds(&world)? * 1e6);
    }
    if world.rank() == 0 {
        for (name, values) in &figures {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            // One decimal for rates and microseconds, three for milliseconds.
            let round = |v: f64| if v < 100.0 { (v * 1e3).round() / 1e3 } else { (v * 10.0).round() / 10.0 };
            let object = json!({
                "workload": "D", "ranks": world.size(), "threads": 1, "global_batch": BATCH,
                "figure": name, "value": round(sorted[sorted.len() / 2]),
                "reps": values.iter().map(|&v| round(v)).collect::<Vec<_>>(),
            });
            println!("{object}");
        }
    }
    Ok(())
}

/// One epoch of `fit` on a fresh W2 model (after 5 warm-up steps): samples per second and the
/// seconds spent waiting for all-reduces after backward.
fn epoch(x: &Tensor, y: &Tensor, parallel: Option<(&Arc<World>, DataParallel)>) -> Result<(f64, f64)> {
    let mut model = w2()?;
    if let Some((world, options)) = parallel {
        model.set_data_parallel_with(world.clone(), options)?;
    }
    let options = || FitOptions { batch_size: BATCH, verbose: 0, ..Default::default() };
    model.fit(x.slice_axis(0, 0, 5 * BATCH), y.slice_axis(0, 0, 5 * BATCH), options())?;
    let waited_before = model.communication_wait();
    let start = Instant::now();
    model.fit(x, y, options())?;
    let seconds = start.elapsed().as_secs_f64();
    Ok((SAMPLES as f64 / seconds, (model.communication_wait() - waited_before).as_secs_f64()))
}

/// The mean time of a train step of one process on batches of `rows` rows (100 steps, after
/// 10 of warm-up).
fn step_seconds(x: &Tensor, y: &Tensor, rows: usize) -> Result<f64> {
    let mut model = w2()?;
    let batch = |i: usize| (x.slice_axis(0, i * rows, (i + 1) * rows), y.slice_axis(0, i * rows, (i + 1) * rows));
    for i in 0..10 {
        let (bx, by) = batch(i);
        model.train_step(&bx, &by, None, i as u64)?;
    }
    let start = Instant::now();
    for i in 10..110 {
        let (bx, by) = batch(i);
        model.train_step(&bx, &by, None, i as u64)?;
    }
    Ok(start.elapsed().as_secs_f64() / 100.0)
}

/// The W2 model, compiled with Adam 1e-3.
fn w2() -> Result<Model> {
    let mut model = Sequential::new()
        .seed(0)
        .add(Input::new(&[784]))
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10))
        .into_model();
    model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::from_logits(), vec![])?;
    Ok(model)
}

/// The median time of one all-reduce of W2's 235,146 gradient values, over 50 (the buffers
/// are made before the clock starts).
fn allreduce_seconds(world: &World) -> Result<f64> {
    let mut times = Vec::new();
    for _ in 0..50 {
        let values = vec![1.0; 235_146];
        let start = Instant::now();
        std::hint::black_box(world.all_reduce(values)?);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
