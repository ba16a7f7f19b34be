//! Large parameters are updated in chunks on the kernel threads; the result must not depend on
//! the thread count. One test in this binary, since the thread count is process-wide.

use kensho_autograd::{Grads, Param};
use kensho_core::Tensor;
use kensho_optim::{Adam, Optimizer, RmsProp};

fn run(threads: usize, mut opt: Box<dyn Optimizer>) -> Vec<f32> {
    kensho_core::set_num_threads(threads);
    let mut rng = kensho_core::seeded_rng(9);
    let mut w = Param::new("w", Tensor::rand_uniform(&[300, 700], -1.0, 1.0, &mut rng));
    for step in 0..3 {
        let mut grads = Grads::new();
        grads.insert(w.id(), Tensor::rand_uniform(&[300, 700], -1.0, 1.0, &mut kensho_core::seeded_rng(step)));
        opt.step(&mut [&mut w], &grads);
    }
    w.value.to_vec()
}

#[test]
fn updates_are_identical_on_one_and_two_threads() {
    let one = run(1, Box::new(Adam::new(1e-2)));
    let two = run(2, Box::new(Adam::new(1e-2)));
    assert_eq!(one, two);
    let start = Tensor::rand_uniform(&[300, 700], -1.0, 1.0, &mut kensho_core::seeded_rng(9)).to_vec();
    assert_ne!(one, start, "the parameter moved");
    assert_eq!(
        run(1, Box::new(RmsProp::new(1e-2).centered(true))),
        run(2, Box::new(RmsProp::new(1e-2).centered(true)))
    );
}
