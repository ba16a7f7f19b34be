//! Data-parallel training without MPI: ranks as threads of this process, joined by an
//! in-process [`Communicator`] written here. Two ranks must train exactly as one process does
//! (to 1e-5 over 100 steps, an MLP and a convnet with synchronised batch normalization), with
//! every rank holding the same weights and logs, with any bucket size, the buckets started
//! during backward or after it; and the shards of a batch cover it once. (`tests/mpi` runs the same under `mpirun`.)

mod common;

use common::BatchProbe;
use kensho::parallel::{shard_rows, Communicator, DataParallel, Pending};
use kensho::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

/// Ranks that are threads: each collective deposits every rank's values, waits for all, and
/// reads them all. All-reduces started early are run when waited for (the ranks wait in the
/// same order, so they still meet).
struct Threads {
    rank: usize,
    size: usize,
    shared: Arc<(Mutex<Vec<Vec<f32>>>, Barrier)>,
}

impl Threads {
    fn group(size: usize) -> Vec<Arc<Threads>> {
        watchdog();
        let shared = Arc::new((Mutex::new(vec![Vec::new(); size]), Barrier::new(size)));
        (0..size).map(|rank| Arc::new(Threads { rank, size, shared: shared.clone() })).collect()
    }

    fn exchange(shared: &(Mutex<Vec<Vec<f32>>>, Barrier), rank: usize, values: Vec<f32>) -> Vec<Vec<f32>> {
        shared.0.lock().unwrap()[rank] = values;
        shared.1.wait();
        let all = shared.0.lock().unwrap().clone();
        shared.1.wait();
        all
    }
}

impl Communicator for Threads {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn start_all_reduce(&self, values: Vec<f32>) -> kensho::Result<Pending> {
        let (shared, rank) = (self.shared.clone(), self.rank);
        Ok(Pending::new(move || {
            let all = Threads::exchange(&shared, rank, values);
            Ok((0..all[0].len()).map(|i| all.iter().map(|v| v[i]).sum()).collect())
        }))
    }
    fn all_gather(&self, values: Vec<f32>) -> kensho::Result<Vec<Vec<f32>>> {
        Ok(Threads::exchange(&self.shared, self.rank, values))
    }
    fn broadcast(&self, values: Vec<f32>, root: usize) -> kensho::Result<Vec<f32>> {
        Ok(Threads::exchange(&self.shared, self.rank, values).swap_remove(root))
    }
    fn abort(&self, message: &str) -> ! {
        panic!("{message}")
    }
}

const SIZE: usize = 2;

/// Ends this test program if it runs for more than five minutes: ranks that wait for each
/// other forever (a collective called on one rank only) fail the run instead of hanging CI.
fn watchdog() {
    static START: std::sync::Once = std::sync::Once::new();
    START.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_secs(300));
            eprintln!("data_parallel: still running after 300 s; the ranks are waiting for each other");
            std::process::exit(1);
        });
    });
}

/// `n` samples of 12 features and their class among 3.
fn data(n: usize) -> (Tensor, Tensor) {
    let x = Tensor::rand_uniform(&[n, 12], -1.0, 1.0, &mut kensho::core::seeded_rng(3));
    let labels: Vec<f32> = x
        .to_vec()
        .chunks(12)
        .map(|r| {
            let score = |c: usize| r.iter().enumerate().map(|(i, v)| v * (((i + 2 * c) % 3) as f32 - 1.0)).sum::<f32>();
            (0..3).max_by(|&a, &b| score(a).total_cmp(&score(b))).unwrap() as f32
        })
        .collect();
    (x, Tensor::from_vec(labels, &[n]).unwrap())
}

fn mlp() -> Sequential {
    Sequential::new().seed(2).add(Input::new(&[12])).add(Dense::new(16).activation(Activation::Relu)).add(Dense::new(3))
}

/// Batch normalization after a bias-free convolution (a bias there has a zero gradient, whose
/// rounding noise Adam would amplify differently for each split of the batch).
fn convnet() -> Sequential {
    Sequential::new()
        .seed(4)
        .add(Input::new(&[12]))
        .add(Reshape::new(&[3, 4, 1]))
        .add(Conv2d::new(4, [2, 2]).use_bias(false))
        .add(BatchNormalization::new())
        .add(ActivationLayer::new(Activation::Relu))
        .add(Flatten::new())
        .add(Dense::new(3))
}

/// Runs `work` on every rank of a fresh thread group, each on its own thread, and gives back
/// what each returned, in rank order.
fn on_every_rank<T: Send + 'static>(work: impl Fn(Arc<Threads>) -> T + Send + Clone + 'static) -> Vec<T> {
    let ranks: Vec<_> = Threads::group(SIZE)
        .into_iter()
        .map(|comm| {
            let work = work.clone();
            std::thread::spawn(move || work(comm))
        })
        .collect();
    ranks.into_iter().map(|r| r.join().unwrap()).collect()
}

/// Trains `build()` for 100 steps (2 epochs of 50 batches of 16), on `comm` if given; returns
/// the weights and the logs. `options.bucket_values` of 1 also leaves the metrics out (the
/// ranks then only sum their losses).
fn train(build: fn() -> Sequential, comm: Option<Arc<Threads>>, options: DataParallel) -> (Vec<Tensor>, History) {
    let mut model = build();
    let metrics: Vec<Box<dyn kensho::metrics::Metric>> = match options.bucket_values {
        1 => Vec::new(),
        _ => vec![Box::new(metrics::SparseCategoricalAccuracy::new())],
    };
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::from_logits(), metrics).unwrap();
    if let Some(comm) = comm {
        model.set_data_parallel_with(comm, options).unwrap();
    }
    let (x, y) = data(800);
    let (vx, vy) = data(70);
    let fit =
        FitOptions { epochs: 2, batch_size: 16, validation_data: Some((&vx, &vy)), verbose: 0, ..Default::default() };
    let history = model.fit(&x, &y, fit).unwrap();
    // The weights, then the optimizer state (whole on every rank after a sharded fit).
    let mut tensors = model.get_weights();
    tensors.extend(model.optimizer().unwrap().state(&model.params()).into_iter().map(|(_, t)| t));
    (tensors, history)
}

fn max_difference(a: &[Tensor], b: &[Tensor]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(p, q)| p.to_vec().into_iter().zip(q.to_vec()).map(|(u, v)| (u - v).abs()))
        .fold(0.0, f32::max)
}

fn two_ranks_equal_one(build: fn() -> Sequential, options: DataParallel) {
    let (alone, alone_logs) = train(build, None, options.clone());
    let on_rank = options.clone();
    let results = on_every_rank(move |comm| train(build, Some(comm), on_rank.clone()));
    let difference = max_difference(&alone, &results[0].0);
    assert!(difference <= 1e-5, "two ranks differ from one process by {difference}");
    assert_eq!(max_difference(&results[0].0, &results[1].0), 0.0, "the ranks' weights differ");
    for name in alone_logs.names() {
        let (one, two) = (alone_logs.get(name).unwrap(), results[0].1.get(name).unwrap());
        for (a, b) in one.iter().zip(two) {
            assert!((a - b).abs() <= 1e-5, "{name}: {a} in one process, {b} on two ranks");
        }
        assert_eq!(two, results[1].1.get(name).unwrap(), "{name} differs between the ranks");
    }
}

#[test]
fn two_ranks_train_an_mlp_as_one_process() {
    two_ranks_equal_one(mlp, DataParallel::default());
}

#[test]
fn two_ranks_train_with_small_buckets_and_without_overlap_as_one_process() {
    two_ranks_equal_one(mlp, DataParallel { bucket_values: 20, overlap_backward: true, ..Default::default() });
    two_ranks_equal_one(mlp, DataParallel { bucket_values: 20, overlap_backward: false, ..Default::default() });
}

#[test]
fn two_ranks_train_with_whole_optimizer_steps_as_one_process() {
    two_ranks_equal_one(mlp, DataParallel { shard_optimizer: false, ..Default::default() });
    two_ranks_equal_one(convnet, DataParallel { bucket_values: 20, shard_optimizer: false, ..Default::default() });
}

#[test]
fn two_ranks_without_metrics_sum_their_losses_as_one_process() {
    two_ranks_equal_one(mlp, DataParallel { bucket_values: 1, ..Default::default() });
}

#[test]
fn synchronised_batch_normalization_trains_as_one_process() {
    two_ranks_equal_one(convnet, DataParallel::default());
}

#[test]
fn each_rank_runs_its_share_of_each_batch() {
    static LARGEST: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
    on_every_rank(|comm| {
        let rank = comm.rank;
        let mut model = mlp().add(BatchProbe::new(&LARGEST[rank], true));
        model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
        model.set_data_parallel(comm).unwrap();
        let (x, y) = data(100);
        let options = FitOptions { batch_size: 40, verbose: 0, ..Default::default() };
        model.fit(&x, &y, options).unwrap();
        // Evaluation splits its batches too.
        model.evaluate_batched(&x, &y, 64).unwrap();
    });
    // Global batches of 40 (and 20 last): 20 rows per rank; evaluation's 64: 32 per rank.
    assert_eq!(LARGEST.each_ref().map(|l| l.load(Ordering::Relaxed)), [32, 32]);
}

#[test]
fn the_shards_of_a_batch_cover_each_row_once() {
    for rows in 0..40 {
        for size in 1..6 {
            let mut covered = vec![0; rows];
            for rank in 0..size {
                let range = shard_rows(rows, rank, size);
                assert!(range.len() + 1 >= rows / size && range.len() <= rows.div_ceil(size));
                range.for_each(|r| covered[r] += 1);
            }
            assert!(covered.iter().all(|&c| c == 1), "rows {rows} on {size} ranks: {covered:?}");
        }
    }
}

#[test]
fn a_batch_norm_model_rejects_batches_smaller_than_the_ranks() {
    let results = on_every_rank(|comm| {
        let mut model = convnet();
        model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
        model.set_data_parallel(comm).unwrap();
        let (x, y) = data(33); // batches of 16, 16 and 1: one rank would get no row of the last
        model.fit(&x, &y, FitOptions { batch_size: 16, verbose: 0, ..Default::default() }).unwrap_err()
    });
    for error in results {
        assert!(error.to_string().contains("batch_normalization"), "{error}");
    }
}

#[test]
fn masking_models_are_refused() {
    let comm = Threads::group(SIZE).swap_remove(0);
    let mut model =
        Sequential::new().add(Input::new(&[5])).add(Embedding::new(10, 4).mask_zero(true)).add(Flatten::new());
    let error = model.set_data_parallel(comm).unwrap_err();
    assert!(error.to_string().contains("masks"), "{error}");
}

#[test]
fn fit_loader_on_two_ranks_trains_as_one_process() {
    use kensho::data::{DataLoader, TensorDataset};
    fn train_loader(comm: Option<Arc<Threads>>) -> (Vec<Tensor>, Vec<f32>) {
        let mut model = mlp();
        model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
        if let Some(comm) = comm {
            model.set_data_parallel(comm).unwrap();
        }
        let (x, y) = data(300);
        let loader = DataLoader::new(TensorDataset::new(x, y).unwrap(), 20).unwrap().shuffle(5).prefetch(1);
        let history = model.fit_loader(&loader, FitOptions { epochs: 3, verbose: 0, ..Default::default() }).unwrap();
        (model.get_weights(), history.get("loss").unwrap().to_vec())
    }
    let (alone, alone_loss) = train_loader(None);
    let results = on_every_rank(|comm| train_loader(Some(comm)));
    assert!(max_difference(&alone, &results[0].0) <= 1e-5);
    for (a, b) in alone_loss.iter().zip(&results[1].1) {
        assert!((a - b).abs() <= 1e-5, "loss {a} in one process, {b} on two ranks");
    }
}

#[test]
fn each_rank_checks_a_share_of_the_data_and_all_report_the_first_bad_value() {
    let errors = on_every_rank(|comm| {
        let mut model = mlp();
        model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
        model.set_data_parallel(comm).unwrap();
        let (x, y) = data(40);
        let mut values = x.to_vec();
        values[30 * 12 + 4] = f32::NAN; // row 30: in rank 1's half
        let x = Tensor::from_vec(values, &[40, 12]).unwrap();
        model.fit(&x, &y, FitOptions { verbose: 0, ..Default::default() }).unwrap_err().to_string()
    });
    assert!(errors[0].contains("NaN at row 30, column 4"), "{}", errors[0]);
    assert_eq!(errors[0], errors[1]);
}
