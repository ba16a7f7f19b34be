//! The fused sequence against a plain step-by-step reference in f64 (forward), and its
//! backward against central finite differences of the forward for every operand, with and
//! without masks, initial states, recurrent dropout and `go_backwards`.

use super::*;
use crate::{seeded_rng, Rng};

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The states of every step, one sample and one step at a time, in f64 (tanh / sigmoid only).
fn reference(spec: &RecurrentSpec, args: &RecurrentArgs) -> Vec<f32> {
    let (xs, time, features) = (args.x.shape()[0], args.x.shape()[1], args.x.shape()[2]);
    let units = args.recurrent_kernel.shape()[0];
    let g = spec.cell.gates();
    let v = |t: &Tensor| t.to_vec().iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
    let (x, w, uk) = (v(&args.x), v(&args.kernel), v(&args.recurrent_kernel));
    let bias = args.bias.as_ref().map_or(vec![0.0; g * units], v);
    let rbias = args.recurrent_bias.as_ref().map_or(vec![0.0; g * units], v);
    let init: Vec<Vec<f64>> = args.initial_state.iter().map(v).collect();
    let mask = args.mask.as_ref().map(v);
    let drop = args.recurrent_dropout.as_ref().map_or(vec![1.0; xs * units], v);
    let mut out = Vec::new();
    for b in 0..xs {
        let mut h: Vec<f64> = init.first().map_or(vec![0.0; units], |s| s[b * units..(b + 1) * units].to_vec());
        let mut c: Vec<f64> = init.get(1).map_or(vec![0.0; units], |s| s[b * units..(b + 1) * units].to_vec());
        let mut seq = Vec::new();
        for s in 0..time {
            let t = if spec.go_backwards { time - 1 - s } else { s };
            if mask.as_ref().is_none_or(|m| m[b * time + t] != 0.0) {
                let hd: Vec<f64> = (0..units).map(|k| h[k] * drop[b * units + k]).collect();
                let xp = |j: usize| {
                    bias[j]
                        + (0..features).map(|k| x[(b * time + t) * features + k] * w[k * g * units + j]).sum::<f64>()
                };
                let hp = |j: usize| rbias[j] + (0..units).map(|k| hd[k] * uk[k * g * units + j]).sum::<f64>();
                let (mut nh, mut nc) = (vec![0.0; units], c.clone());
                for j in 0..units {
                    match spec.cell {
                        RecurrentCell::SimpleRnn => nh[j] = (xp(j) + hp(j)).tanh(),
                        RecurrentCell::Lstm => {
                            let gate = |k: usize| xp(k * units + j) + hp(k * units + j);
                            let (i, f, cc, o) = (sigmoid(gate(0)), sigmoid(gate(1)), gate(2).tanh(), sigmoid(gate(3)));
                            nc[j] = f * c[j] + i * cc;
                            nh[j] = o * nc[j].tanh();
                        }
                        RecurrentCell::Gru => {
                            let z = sigmoid(xp(j) + hp(j));
                            let r = sigmoid(xp(units + j) + hp(units + j));
                            let hh = (xp(2 * units + j) + r * hp(2 * units + j)).tanh();
                            nh[j] = z * h[j] + (1.0 - z) * hh;
                        }
                    }
                }
                (h, c) = (nh, nc);
            }
            seq.extend(h.iter().copied());
            if spec.cell == RecurrentCell::Lstm {
                seq.extend(c.iter().copied());
            }
        }
        out.extend(seq);
    }
    out.iter().map(|&v| v as f32).collect()
}

/// Random operands: batch 3, 5 steps, 4 features, 3 units.
fn operands(cell: RecurrentCell, masked: bool, extras: bool, rng: &mut Rng) -> RecurrentArgs {
    let (b, t, f, u) = (3, 5, 4, 3);
    let w = cell.gates() * u;
    let r = |shape: &[usize], rng: &mut Rng| Tensor::rand_uniform(shape, -0.8, 0.8, rng);
    // Sample 0 is right-padded, sample 1 has a hole and a padded start, sample 2 is whole.
    let mask = [1., 1., 1., 0., 0., 0., 1., 0., 1., 1., 1., 1., 1., 1., 1.];
    let drop = (0..b * u).map(|k| if k % 4 == 1 { 0.0 } else { 1.25 }).collect();
    RecurrentArgs {
        x: r(&[b, t, f], rng),
        kernel: r(&[f, w], rng),
        recurrent_kernel: r(&[u, w], rng),
        bias: Some(r(&[w], rng)),
        recurrent_bias: (cell == RecurrentCell::Gru).then(|| r(&[w], rng)),
        initial_state: if extras { (0..cell.states()).map(|_| r(&[b, u], rng)).collect() } else { vec![] },
        mask: masked.then(|| Tensor::from_vec(mask.to_vec(), &[b, t]).unwrap()),
        recurrent_dropout: extras.then(|| Tensor::from_vec(drop, &[b, u]).unwrap()),
    }
}

fn spec(cell: RecurrentCell, go_backwards: bool) -> RecurrentSpec {
    RecurrentSpec {
        cell,
        activation: CellActivation::Tanh,
        recurrent_activation: CellActivation::Sigmoid,
        go_backwards,
    }
}

const CELLS: [RecurrentCell; 3] = [RecurrentCell::SimpleRnn, RecurrentCell::Lstm, RecurrentCell::Gru];

/// (masked, initial states and dropout, go_backwards)
const CASES: [(bool, bool, bool); 4] =
    [(false, false, false), (true, false, false), (false, true, true), (true, true, true)];

#[test]
fn forward_matches_the_step_by_step_reference() {
    let mut rng = seeded_rng(1);
    for cell in CELLS {
        for (masked, extras, backwards) in CASES {
            let (spec, args) = (spec(cell, backwards), operands(cell, masked, extras, &mut rng));
            let got = spec.forward(&args).states;
            let want = Tensor::from_vec(reference(&spec, &args), got.shape()).unwrap();
            assert!(got.allclose(&want, 1e-5, 1e-6), "{cell:?} {masked} {extras} {backwards}:\n{got:?}\n{want:?}");
        }
    }
}

/// The operands as a list (x, kernel, recurrent kernel, bias, recurrent bias, states), and back.
fn as_list(args: &RecurrentArgs) -> Vec<Tensor> {
    let mut list = vec![args.x.clone(), args.kernel.clone(), args.recurrent_kernel.clone()];
    list.extend(args.bias.iter().cloned().chain(args.recurrent_bias.iter().cloned()));
    list.extend(args.initial_state.iter().cloned());
    list
}

fn with_list(args: &RecurrentArgs, list: &[Tensor]) -> RecurrentArgs {
    let mut out = args.clone();
    (out.x, out.kernel, out.recurrent_kernel) = (list[0].clone(), list[1].clone(), list[2].clone());
    let mut k = 3;
    for slot in [&mut out.bias, &mut out.recurrent_bias] {
        if slot.is_some() {
            *slot = Some(list[k].clone());
            k += 1;
        }
    }
    out.initial_state = list[k..].to_vec();
    out
}

#[test]
fn backward_matches_finite_differences_for_every_operand() {
    let mut rng = seeded_rng(2);
    for cell in CELLS {
        for (masked, extras, backwards) in CASES {
            let (spec, args) = (spec(cell, backwards), operands(cell, masked, extras, &mut rng));
            let trace = spec.forward(&args);
            let r = Tensor::rand_uniform(trace.states.shape(), -1.0, 1.0, &mut rng);
            let needs = RecurrentNeeds {
                x: true,
                kernel: true,
                recurrent_kernel: true,
                bias: true,
                recurrent_bias: true,
                initial_state: vec![true; args.initial_state.len()],
            };
            let g = spec.backward(&args, &trace, &r, &needs);
            let mut analytic = vec![g.x.unwrap(), g.kernel.unwrap(), g.recurrent_kernel.unwrap(), g.bias.unwrap()];
            analytic.extend(g.recurrent_bias);
            analytic.extend(g.initial_state.into_iter().map(Option::unwrap));
            let list = as_list(&args);
            assert_eq!(analytic.len(), list.len());
            let project = |list: &[Tensor]| -> f64 {
                let y = spec.forward(&with_list(&args, list)).states.to_vec();
                y.iter().zip(r.to_vec()).map(|(&a, b)| f64::from(a) * f64::from(b)).sum()
            };
            for (i, grad) in analytic.iter().enumerate() {
                for (j, &a) in grad.to_vec().iter().enumerate() {
                    let shifted = |delta: f32| {
                        let mut moved = list.clone();
                        moved[i].add_at(j, delta);
                        project(&moved)
                    };
                    let numeric = (shifted(1e-3) - shifted(-1e-3)) / 2e-3;
                    let ok = (f64::from(a) - numeric).abs() <= 1e-3 + 1e-2 * numeric.abs();
                    assert!(ok, "{cell:?} {masked} {extras} {backwards}: operand {i}[{j}]: {a} vs {numeric}");
                }
            }
        }
    }
}

#[test]
fn masked_steps_carry_the_states_and_take_no_gradient() {
    let mut rng = seeded_rng(3);
    let (spec, args) = (spec(RecurrentCell::Lstm, false), operands(RecurrentCell::Lstm, true, false, &mut rng));
    let states = spec.forward(&args).states.to_vec();
    // Sample 0 is padded from step 3: its states at steps 3 and 4 repeat step 2's.
    let row = |b: usize, s: usize| states[(b * 5 + s) * 6..(b * 5 + s + 1) * 6].to_vec();
    assert_eq!(row(0, 3), row(0, 2));
    assert_eq!(row(0, 4), row(0, 2));
    // Sample 1 starts padded: zeros at step 0.
    assert_eq!(row(1, 0), vec![0.0; 6]);
    let trace = spec.forward(&args);
    let d = Tensor::ones(trace.states.shape());
    let needs = RecurrentNeeds { x: true, ..RecurrentNeeds::default() };
    let dx = spec.backward(&args, &trace, &d, &needs).x.unwrap();
    let dx_row = |b: usize, s: usize| dx.slice_axis(0, b, b + 1).slice_axis(1, s, s + 1).to_vec();
    assert_eq!(dx_row(0, 4), vec![0.0; 4]);
    assert_eq!(dx_row(1, 0), vec![0.0; 4]);
    assert_eq!(dx_row(1, 2), vec![0.0; 4]);
    assert!(dx_row(1, 1).iter().all(|&v| v != 0.0));
}

#[test]
fn row_shards_on_several_threads_give_the_single_thread_result_bit_for_bit() {
    let mut rng = seeded_rng(5);
    for cell in CELLS {
        let (b, t, f, u) = (5, 40, 6, 32);
        let w = cell.gates() * u;
        let r = |shape: &[usize], rng: &mut Rng| Tensor::rand_uniform(shape, -0.5, 0.5, rng);
        let args = RecurrentArgs {
            x: r(&[b, t, f], &mut rng),
            kernel: r(&[f, w], &mut rng),
            recurrent_kernel: r(&[u, w], &mut rng),
            bias: Some(r(&[w], &mut rng)),
            recurrent_bias: (cell == RecurrentCell::Gru).then(|| r(&[w], &mut rng)),
            initial_state: (0..cell.states()).map(|_| r(&[b, u], &mut rng)).collect(),
            mask: Some(Tensor::from_fn(&[b, t], |i| f32::from(u8::from((i[0] + i[1]) % 7 != 3)))),
            recurrent_dropout: None,
        };
        let spec = spec(cell, true);
        let needs = RecurrentNeeds {
            x: true,
            kernel: true,
            recurrent_kernel: true,
            bias: true,
            recurrent_bias: true,
            initial_state: vec![true; cell.states()],
        };
        let run = || {
            let trace = spec.forward(&args);
            let d = Tensor::from_fn(trace.states.shape(), |i| (i[1] as f32 * 0.37 + i[2] as f32).sin());
            let g = spec.backward(&args, &trace, &d, &needs);
            (trace.states, g.x.unwrap(), g.recurrent_kernel.unwrap(), g.initial_state[0].clone().unwrap())
        };
        let threaded = crate::threads::pool().in_place_scope(|_| run()); // shards when 2+ threads
        let alone = crate::threads::pool().install(run); // inside the pool: one shard
        assert!(threaded == alone, "{cell:?}");
    }
}
