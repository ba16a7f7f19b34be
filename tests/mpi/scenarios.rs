//! The worker side of the MPI tests: each scenario trains on every rank of the job and writes
//! its weights (`weights.rank{r}.safetensors`) and logged figures (`logs.rank{r}.txt`).

use kensho::mpi::World;
use kensho::parallel::{owned_positions, Communicator, DataParallel};
use kensho::prelude::*;
use std::path::Path;

/// Runs scenario `name`, writing into `out`.
pub fn run(name: &str, out: &Path) {
    kensho::set_num_threads(1);
    let world = World::init().expect("MPI starts");
    let again = World::init().err().expect("a second World is refused").to_string();
    assert!(again.contains("already started"), "{again}");
    let rank = world.rank();
    let history = match name {
        "mlp" => train(mlp(), &world, DataParallel::default(), 2, 64, 3200, &[], out),
        // The buckets sent during backward, on the MPI thread (the default under mpirun, one
        // core per rank, sends them after backward).
        "mlp_overlap" => {
            let parallel = DataParallel { overlap_backward: true, ..Default::default() };
            train(mlp(), &world, parallel, 2, 64, 3200, &[], out)
        }
        "convnet" => train(convnet(), &world, DataParallel::default(), 2, 32, 1600, &[], out),
        "panic" => train(mlp(), &world, DataParallel::default(), 1, 64, 3200, &[3], out),
        // Rank 1's callback fails after the first epoch: an error, not a panic.
        "error" => train(mlp(), &world, DataParallel::default(), 3, 64, 640, &[usize::MAX], out),
        "first_epoch" | "both_epochs" => {
            let epochs = if name == "first_epoch" { 1 } else { 2 };
            train(mlp(), &world, DataParallel::default(), epochs, 64, 1600, &[], out)
        }
        "second_epoch" => {
            let mut model = kensho::load_model(out.join("checkpoint.safetensors")).expect("the checkpoint loads");
            model.set_data_parallel(world.clone()).unwrap();
            let (x, y) = data(1600, model.input_shape().and_then(|s| s.dims()[0]).unwrap_or(20), 7);
            let options = FitOptions { epochs: 2, initial_epoch: 1, batch_size: 64, verbose: 0, ..Default::default() };
            let history = model.fit(&x, &y, options).unwrap();
            model.save_weights(out.join(format!("weights.rank{rank}.safetensors"))).unwrap();
            history
        }
        "sums" => return sums(&world),
        other => panic!("no scenario {other}"),
    };
    let lines: String = history
        .names()
        .iter()
        .flat_map(|n| history.get(n).unwrap().iter().map(move |v| format!("{n} {v}\n")))
        .collect();
    std::fs::write(out.join(format!("logs.rank{rank}.txt")), lines).unwrap();
}

/// All-reduces of awkward lengths (empty, fewer values than ranks, several pieces of the
/// shared window, not a multiple of the ranks) equal, bit for bit, the sums this rank computes
/// itself from what each rank sends; `KENSHO_MPI_ALLREDUCE` says which all-reduce should run.
fn sums(world: &World) {
    let expect_shared = std::env::var("KENSHO_MPI_ALLREDUCE").as_deref() != Ok("mpi") && world.size() > 1;
    assert_eq!(world.uses_shared_memory(), expect_shared);
    // Values with many significant bits, so that a wrong order or a lost value shows.
    let sent = |rank: usize, n: usize| -> Vec<f32> {
        (0..n).map(|i| ((i * 7919 + rank * 104_729) % 1_000_003) as f32 / 977.0 - 511.3).collect()
    };
    for n in [0, 1, 3, 1000, 262_144, 600_001] {
        let sum = world.all_reduce(sent(world.rank(), n)).expect("all-reduce");
        let every: Vec<Vec<f32>> = (0..world.size()).map(|r| sent(r, n)).collect();
        let expected: Vec<f32> = (0..n).map(|i| every.iter().fold(0.0, |a, v| a + v[i])).collect();
        assert_eq!(sum.len(), n);
        let wrong = sum.iter().zip(&expected).position(|(a, b)| a.to_bits() != b.to_bits());
        assert!(wrong.is_none(), "all-reduce of {n} values: position {wrong:?} differs");
        // The sharded step's two operations, on two segments: sums on the owned positions,
        // and every rank's owned positions to every rank.
        let segments = [n / 3, n - n / 3];
        let owned = |rank| owned_positions(&segments, rank, world.size());
        let sum = world.sum_owned(sent(world.rank(), n), &segments).expect("sum_owned");
        for range in owned(world.rank()) {
            let wrong = range.clone().find(|&i| sum[i].to_bits() != expected[i].to_bits());
            assert!(wrong.is_none(), "sum_owned of {n} values: position {wrong:?} differs");
        }
        let gathered = world.gather_owned(sent(world.rank(), n), &segments).expect("gather_owned");
        for (rank, values) in every.iter().enumerate() {
            for range in owned(rank) {
                let wrong = range.clone().find(|&i| gathered[i].to_bits() != values[i].to_bits());
                assert!(wrong.is_none(), "gather_owned of {n} values: position {wrong:?} of rank {rank} differs");
            }
        }
    }
}

/// A 20-32-16-4 MLP.
fn mlp() -> Sequential {
    Sequential::new()
        .seed(5)
        .add(Input::new(&[20]))
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dense::new(16).activation(Activation::Tanh))
        .add(Dense::new(4))
}

/// A small convnet with batch normalization on 20 inputs seen as 4 x 5 x 1 images. The
/// convolution has no bias, as usual before batch normalization: the true gradient of such a
/// bias is 0, and Adam would turn its rounding noise (which differs with the split of the
/// batch) into full-size steps.
fn convnet() -> Sequential {
    Sequential::new()
        .seed(9)
        .add(Input::new(&[20]))
        .add(Reshape::new(&[4, 5, 1]))
        .add(Conv2d::new(6, [3, 3]).padding(Padding::Same).use_bias(false))
        .add(BatchNormalization::new())
        .add(ActivationLayer::new(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(4))
}

/// `n` samples of 20 features and their class among 4 (the largest of four fixed sums).
fn data(n: usize, features: usize, seed: u64) -> (Tensor, Tensor) {
    let x = Tensor::rand_uniform(&[n, features], -1.0, 1.0, &mut kensho::core::seeded_rng(seed));
    let labels: Vec<f32> = x
        .to_vec()
        .chunks(features)
        .map(|row| {
            let score =
                |c: usize| row.iter().enumerate().map(|(i, v)| v * (((i * 7 + c * 3) % 5) as f32 - 2.0)).sum::<f32>();
            (0..4).max_by(|&a, &b| score(a).total_cmp(&score(b))).unwrap() as f32
        })
        .collect();
    (x, Tensor::from_vec(labels, &[n]).unwrap())
}

/// Fails on rank 1 (the injected failure): panics at the given steps, or with `usize::MAX`
/// among them, returns an error at the end of the first epoch.
struct PanicAt(Vec<usize>, usize);

impl Callback for PanicAt {
    fn on_batch_end(&mut self, _epoch: usize, step: usize, _logs: &Logs) -> Control {
        if self.1 == 1 && self.0.contains(&step) {
            panic!("injected failure on rank 1 at step {step}");
        }
        Control::Continue
    }

    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _model: &mut Model) -> kensho::Result<Control> {
        match self.1 == 1 && self.0.contains(&usize::MAX) {
            true => Err(kensho::Error::invalid("injected callback", "rank 1", "no failure")),
            false => Ok(Control::Continue),
        }
    }
}

/// Trains `model` on every rank and writes this rank's weights; rank 0 also writes the
/// checkpoint of the last epoch.
#[allow(clippy::too_many_arguments)]
fn train(
    mut model: Sequential,
    world: &std::sync::Arc<World>,
    parallel: DataParallel,
    epochs: usize,
    batch_size: usize,
    n: usize,
    panic_at: &[usize],
    out: &Path,
) -> History {
    let rank = world.rank();
    model
        .compile(
            Adam::new(0.01),
            losses::SparseCategoricalCrossentropy::from_logits(),
            vec![Box::new(metrics::SparseCategoricalAccuracy::new())],
        )
        .unwrap();
    model.set_data_parallel_with(world.clone(), parallel).unwrap();
    let (x, y) = data(n, 20, 7);
    let (vx, vy) = data(200, 20, 8);
    let mut checkpoint = ModelCheckpoint::new(out.join("checkpoint.safetensors").to_string_lossy());
    let mut panic = PanicAt(panic_at.to_vec(), rank);
    let options = FitOptions {
        epochs,
        batch_size,
        validation_data: Some((&vx, &vy)),
        verbose: 0,
        callbacks: vec![&mut checkpoint, &mut panic],
        ..Default::default()
    };
    let history = model.fit(&x, &y, options).unwrap();
    // On several ranks the gradients went through MPI (the sharding itself is tested in
    // tests/data_parallel.rs); one rank trains as a single process, without communication.
    assert_eq!(model.communication_wait() > std::time::Duration::ZERO, world.size() > 1);
    model.save_weights(out.join(format!("weights.rank{rank}.safetensors"))).unwrap();
    history
}
