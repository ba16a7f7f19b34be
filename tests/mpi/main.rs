//! Data-parallel training under `mpirun` (feature `mpi`): this test program is both the
//! driver and the worker. Run by `cargo test --features mpi --test mpi`, it starts itself under
//! `mpirun -np 1` and `-np 2` (with `--timeout`, so a hang fails instead of blocking CI) for each
//! scenario and compares what the ranks wrote:
//!
//! - all-reduces of awkward lengths, through shared memory and through MPI's own, give the
//!   exact sums;
//! - an MLP and a convnet with batch normalization, 100 steps: `-np 2` equals `-np 1` to 1e-5
//!   (weights and logged figures), and both ranks hold the same weights;
//! - a panic, or an error returned inside `fit`, injected on rank 1 ends the whole job with a
//!   non-zero code within seconds;
//! - a checkpoint written by rank 0 under `-np 2` resumes under `-np 1` to the weights of an
//!   uninterrupted run.

mod scenarios;

use kensho::checkpoint::load_tensors;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        scenarios::run(&args[2], Path::new(&args[3]));
        return;
    }
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned().unwrap_or_default();
    let tests: [(&str, fn()); 8] = [
        ("shared_memory_sums_are_exact", || sums_are_exact(&[])),
        ("mpi_allreduce_sums_are_exact", || sums_are_exact(&[("KENSHO_MPI_ALLREDUCE", "mpi")])),
        ("mlp_two_ranks_equal_one", || equal_to_one_rank("mlp")),
        ("mlp_with_buckets_during_backward_two_ranks_equal_one", || equal_to_one_rank("mlp_overlap")),
        ("convnet_batch_norm_two_ranks_equal_one", || equal_to_one_rank("convnet")),
        ("panic_on_rank_one_ends_the_job", || failure_ends_the_job("panic")),
        ("error_on_rank_one_ends_the_job", || failure_ends_the_job("error")),
        ("checkpoint_from_two_ranks_resumes_on_one", resume_on_one_rank),
    ];
    for (name, test) in tests.iter().filter(|(n, _)| n.contains(&filter)) {
        let start = Instant::now();
        test();
        println!("test {name} ... ok ({:.1} s)", start.elapsed().as_secs_f64());
    }
}

/// Runs this program's scenario `scenario` on `ranks` ranks writing to `out`; returns the exit
/// status and how long the job took.
fn mpirun(ranks: usize, scenario: &str, out: &Path) -> (ExitStatus, Duration) {
    mpirun_with(ranks, scenario, out, &[])
}

/// [`mpirun`] with environment variables set on every rank.
fn mpirun_with(ranks: usize, scenario: &str, out: &Path, env: &[(&str, &str)]) -> (ExitStatus, Duration) {
    let exe = std::env::current_exe().expect("the test's own path");
    let start = Instant::now();
    let mut command = Command::new("mpirun");
    for (name, value) in env {
        command.args(["-x", &format!("{name}={value}")]);
    }
    let status = command
        .args(["--timeout", "240", "-np", &ranks.to_string()])
        // Shared memory and loopback only; root is allowed (containers, CI).
        .args(["--allow-run-as-root", "--mca", "pml", "ob1", "--mca", "btl", "self,vader"])
        .args(["--mca", "oob_tcp_if_include", "lo"])
        .env("HWLOC_COMPONENTS", "-gl")
        .arg(exe)
        .args(["worker", scenario])
        .arg(out)
        .status()
        .expect("mpirun (install OpenMPI: apt-get install openmpi-bin libopenmpi-dev)");
    (status, start.elapsed())
}

/// A fresh directory for one job's files.
fn job_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kensho-mpi-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every tensor of a weights file, by name.
fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
    load_tensors(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .0
        .into_iter()
        .map(|(n, t)| (n, t.to_vec()))
        .collect()
}

/// The largest difference between two weight files, asserting they hold the same tensors.
fn max_difference(a: &Path, b: &Path) -> f32 {
    let (a, b) = (weights(a), weights(b));
    assert_eq!(a.iter().map(|(n, _)| n).collect::<Vec<_>>(), b.iter().map(|(n, _)| n).collect::<Vec<_>>());
    a.iter().zip(&b).flat_map(|((_, x), (_, y))| x.iter().zip(y).map(|(p, q)| (p - q).abs())).fold(0.0, f32::max)
}

/// The logged figures a worker wrote (`name value` lines).
fn figures(path: &Path) -> Vec<(String, f32)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let (name, value) = l.split_once(' ').expect("name value");
            (name.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

fn equal_to_one_rank(scenario: &str) {
    let (one, two) = (job_dir(&format!("{scenario}-1")), job_dir(&format!("{scenario}-2")));
    assert!(mpirun(1, scenario, &one).0.success(), "{scenario} on one rank failed");
    assert!(mpirun(2, scenario, &two).0.success(), "{scenario} on two ranks failed");
    let rank = |dir: &Path, r: usize| dir.join(format!("weights.rank{r}.safetensors"));
    let diff = max_difference(&rank(&one, 0), &rank(&two, 0));
    println!("{scenario}: largest weight difference between -np 1 and -np 2 after 100 steps: {diff:e}");
    assert!(diff <= 1e-5, "{scenario}: -np 2 differs from -np 1 by {diff}");
    assert_eq!(max_difference(&rank(&two, 0), &rank(&two, 1)), 0.0, "{scenario}: the two ranks' weights differ");
    let (logs_one, logs_two) = (figures(&one.join("logs.rank0.txt")), figures(&two.join("logs.rank0.txt")));
    assert_eq!(logs_one.len(), logs_two.len());
    for ((name, a), (name_two, b)) in logs_one.iter().zip(&logs_two) {
        assert_eq!(name, name_two);
        assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{scenario}: {name} is {a} on one rank, {b} on two");
    }
    assert_eq!(logs_two, figures(&two.join("logs.rank1.txt")), "{scenario}: rank 1 logged other figures than rank 0");
}

/// The all-reduce (through shared memory, or MPI's own with `env`) gives exact sums, on two
/// ranks and on one.
fn sums_are_exact(env: &[(&str, &str)]) {
    for ranks in [2, 1] {
        let dir = job_dir(&format!("sums-{ranks}-{}", env.len()));
        assert!(mpirun_with(ranks, "sums", &dir, env).0.success(), "the sums on {ranks} ranks ({env:?}) failed");
    }
}

/// A panic, or an error inside `fit`, on rank 1 ends the job with a failure.
fn failure_ends_the_job(scenario: &str) {
    let dir = job_dir(scenario);
    let (status, took) = mpirun(2, scenario, &dir);
    assert!(!status.success(), "the job with a failing rank ({scenario}) exited with success");
    // The other rank waits in an all-reduce for the failed one: only MPI_Abort ends it.
    assert!(took < Duration::from_secs(30), "the job took {took:?} to end after the {scenario}");
    assert!(!dir.join("weights.rank0.safetensors").exists(), "rank 0 finished training alone");
}

fn resume_on_one_rank() {
    let (split, whole) = (job_dir("resume-first"), job_dir("resume-whole"));
    assert!(mpirun(2, "first_epoch", &split).0.success());
    assert!(split.join("checkpoint.safetensors").exists(), "rank 0 wrote no checkpoint");
    assert!(mpirun(1, "second_epoch", &split).0.success());
    assert!(mpirun(1, "both_epochs", &whole).0.success());
    let diff = max_difference(&split.join("weights.rank0.safetensors"), &whole.join("weights.rank0.safetensors"));
    println!("resume: largest difference from the uninterrupted run: {diff:e}");
    assert!(diff <= 1e-5, "the resumed run differs by {diff}");
}
