//! The sharded step of data-parallel training: two ranks each updating their half of every
//! parameter with `step_part`, then exchanging halves (weights and state), end with the same
//! bits as one `step` on the whole parameters.

use kensho_autograd::{Grads, Param};
use kensho_core::Tensor;
use kensho_optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};

/// Rank `rank`'s half of `len` elements.
fn half(len: usize, rank: usize) -> std::ops::Range<usize> {
    len * rank / 2..len * (rank + 1) / 2
}

/// Copies `from`'s half `rank` into `into`.
fn take_half(into: &mut Tensor, from: &Tensor, rank: usize) {
    let range = half(into.len(), rank);
    let mut values = into.to_vec();
    values[range.clone()].copy_from_slice(&from.to_vec()[range]);
    *into = Tensor::from_vec(values, into.shape()).unwrap();
}

fn assert_parts_equal_whole(make: fn() -> Box<dyn Optimizer>) {
    let mut rng = kensho_core::seeded_rng(5);
    let start = [Tensor::rand_uniform(&[7, 9], -1.0, 1.0, &mut rng), Tensor::rand_uniform(&[5], -1.0, 1.0, &mut rng)];
    let params = || vec![Param::new("kernel", start[0].clone()), Param::new("bias", start[1].clone())];
    let (mut whole, mut whole_opt) = (params(), make());
    let mut ranks = [(params(), make()), (params(), make())];
    assert!(whole_opt.updates_elementwise(), "{}", whole_opt.name());
    for step in 0..3 {
        let grads_for = |ps: &[Param]| {
            let mut grads = Grads::new();
            for (i, p) in ps.iter().enumerate() {
                let mut rng = kensho_core::seeded_rng(100 + step * 10 + i as u64);
                grads.insert(p.id(), Tensor::rand_uniform(p.value.shape(), -2.0, 2.0, &mut rng));
            }
            grads
        };
        let grads = grads_for(&whole);
        whole_opt.step(&mut whole.iter_mut().collect::<Vec<_>>(), &grads);
        for (rank, (ps, opt)) in ranks.iter_mut().enumerate() {
            let grads = grads_for(ps);
            opt.step_part(&mut ps.iter_mut().collect::<Vec<_>>(), &grads, &|len| half(len, rank));
        }
        // The exchange: each rank takes the other's half of every parameter.
        let [(a, _), (b, _)] = &mut ranks;
        for (pa, pb) in a.iter_mut().zip(b.iter_mut()) {
            take_half(&mut pa.value, &pb.value.clone(), 1);
            take_half(&mut pb.value, &pa.value.clone(), 0);
        }
    }
    let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for (rank, (ps, _)) in ranks.iter().enumerate() {
        for (p, w) in ps.iter().zip(&whole) {
            assert_eq!(bits(&p.value), bits(&w.value), "{} rank {rank}: {}", whole_opt.name(), p.name());
        }
    }
    assert_ne!(bits(&whole[0].value), bits(&start[0]), "the parameters moved");
    // Each rank's state is right on its own half.
    let refs: Vec<&Param> = whole.iter().collect();
    let whole_state = whole_opt.state(&refs);
    for (rank, (ps, opt)) in ranks.iter().enumerate() {
        let refs: Vec<&Param> = ps.iter().collect();
        for ((name, mine), (_, right)) in opt.state(&refs).iter().zip(&whole_state) {
            let range = if name == "iterations" { 0..2 } else { half(mine.len(), rank) };
            assert_eq!(bits(mine)[range.clone()], bits(right)[range], "{} rank {rank}: {name}", whole_opt.name());
        }
    }
}

#[test]
fn two_halves_of_a_step_equal_the_whole_step() {
    assert_parts_equal_whole(|| Box::new(Adam::new(0.01).weight_decay(0.01).clipvalue(1.5)));
    assert_parts_equal_whole(|| Box::new(Adam::new(0.01).amsgrad(true)));
    assert_parts_equal_whole(|| Box::new(RmsProp::new(0.01).momentum(0.5).centered(true)));
    assert_parts_equal_whole(|| Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)));
    assert_parts_equal_whole(|| Box::new(Adagrad::new(0.1)));
}

#[test]
fn clipping_by_norm_is_not_elementwise() {
    assert!(!Adam::new(0.01).clipnorm(1.0).updates_elementwise());
    assert!(!Sgd::new(0.01).global_clipnorm(1.0).updates_elementwise());
    assert!(Sgd::new(0.01).clipvalue(1.0).updates_elementwise());
}
