//! Every update rule gives the same bits in its wide-vector copy
//! ([`kensho_core::with_wide_vectors`], which the step uses) as in the plain build, on a length
//! that fills whole vectors and leaves a tail, with clipping and weight decay on.

use super::sealed::{Plumbing, Rule};
use super::Hyper;
use crate::{Adagrad, Adam, RmsProp, Sgd};
use kensho_core::Tensor;

/// Three updates of a parameter of 1,003 elements, plainly and in the wide copy.
fn assert_same_bits<P: Plumbing>(optimizer: P) {
    let rule = optimizer.rule();
    let mut rng = kensho_core::seeded_rng(3);
    let start = Tensor::rand_uniform(&[1003], -1.0, 1.0, &mut rng);
    let gradients: Vec<Vec<f32>> =
        (0..3).map(|_| Tensor::rand_uniform(&[1003], -2.0, 2.0, &mut rng).to_vec()).collect();
    let run = |wide: bool| {
        let mut w = start.to_vec();
        let mut slots: Vec<Vec<f32>> = rule.fresh_slots(&start).iter().map(Tensor::to_vec).collect();
        for (step, g) in (1..).zip(&gradients) {
            // Clipping at 1.5 touches about a quarter of the gradients.
            let h = Hyper { lr: 0.01, step, scale: 1.0, clip: 1.5, weight_decay: 0.004 };
            let mut slices: Vec<&mut [f32]> = slots.iter_mut().map(Vec::as_mut_slice).collect();
            if wide {
                kensho_core::with_wide_vectors(|| rule.update(&mut w, g, &mut slices, &h));
            } else {
                rule.update(&mut w, g, &mut slices, &h);
            }
        }
        (w, slots)
    };
    let (plain, wide) = (run(false), run(true));
    assert_ne!(plain.0, start.to_vec(), "{}: the parameter moved", P::NAME);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&plain.0), bits(&wide.0), "{}: parameter", P::NAME);
    for (a, b) in plain.1.iter().zip(&wide.1) {
        assert_eq!(bits(a), bits(b), "{}: slot", P::NAME);
    }
}

#[test]
fn every_rule_gives_the_same_bits_in_every_vector_width() {
    assert_same_bits(Sgd::new(0.1).momentum(0.9).nesterov(true));
    assert_same_bits(RmsProp::new(0.01).momentum(0.5).centered(true));
    assert_same_bits(Adagrad::new(0.1));
    assert_same_bits(Adam::new(0.01));
    assert_same_bits(Adam::new(0.01).amsgrad(true));
}
