//! End to end: the parameter gradients of a small two-layer classifier
//! (`x [5,4] → ·W1 [4,6] + b1 → tanh → ·W2 [6,3] + b2 → sparse softmax cross-entropy → mean`)
//! match central finite differences computed by hand, parameter by parameter, element by element.

use kensho_autograd::{Param, Tape, Var};
use kensho_core::{seeded_rng, Tensor};

const LABELS: [usize; 5] = [0, 2, 1, 2, 0];

struct Net {
    w1: Param,
    b1: Param,
    w2: Param,
    b2: Param,
}

impl Net {
    fn new(seed: u64) -> Net {
        let mut rng = seeded_rng(seed);
        let mut u = |name: &str, shape: &[usize], scale: f32| {
            Param::new(name, Tensor::rand_uniform(shape, -scale, scale, &mut rng))
        };
        Net { w1: u("w1", &[4, 6], 0.8), b1: u("b1", &[6], 0.3), w2: u("w2", &[6, 3], 0.8), b2: u("b2", &[3], 0.3) }
    }

    fn params(&self) -> [&Param; 4] {
        [&self.w1, &self.b1, &self.w2, &self.b2]
    }

    fn param_mut(&mut self, k: usize) -> &mut Param {
        [&mut self.w1, &mut self.b1, &mut self.w2, &mut self.b2].into_iter().nth(k).expect("4 params")
    }

    fn loss<'t>(&self, tape: &'t Tape, x: &Tensor) -> Var<'t> {
        let h = tape.constant(x.clone()).matmul(tape.param(&self.w1)).add(tape.param(&self.b1)).tanh();
        let logits = h.matmul(tape.param(&self.w2)).add(tape.param(&self.b2));
        logits.sparse_softmax_cross_entropy(&LABELS).mean_all()
    }

    /// The loss with no gradient recording.
    fn loss_value(&self, x: &Tensor) -> f64 {
        let tape = Tape::no_grad();
        f64::from(self.loss(&tape, x).value().item())
    }
}

fn inputs() -> Tensor {
    Tensor::rand_uniform(&[5, 4], -1.0, 1.0, &mut seeded_rng(42))
}

#[test]
fn two_layer_param_gradients_match_finite_differences() {
    let x = inputs();
    let mut net = Net::new(7);
    let tape = Tape::new();
    let loss = net.loss(&tape, &x);
    let value = f64::from(loss.value().item());
    assert!(value.is_finite() && value > 0.0);
    assert!((value - net.loss_value(&x)).abs() < 1e-6, "the no-grad tape computes the same loss");
    let grads = tape.backward(loss);
    assert_eq!(grads.len(), 4, "every parameter gets a gradient");
    let analytic: Vec<Vec<f32>> = net
        .params()
        .iter()
        .map(|p| {
            let g = grads.get(p.id()).unwrap_or_else(|| panic!("no gradient for {}", p.name()));
            assert_eq!(g.shape(), p.value.shape(), "gradient shape of {}", p.name());
            g.to_vec()
        })
        .collect();

    let eps = 1e-3f32;
    let mut failures = Vec::new();
    for (k, want) in analytic.iter().enumerate() {
        for (j, &a) in want.iter().enumerate() {
            let mut shifted = |delta: f32| {
                let original = net.param_mut(k).value.clone();
                net.param_mut(k).value.as_mut_slice()[j] += delta;
                let l = net.loss_value(&x);
                net.param_mut(k).value = original;
                l
            };
            let (plus, minus) = (shifted(eps), shifted(-eps));
            let numeric = (plus - minus) / (2.0 * f64::from(eps));
            if (f64::from(a) - numeric).abs() > 1e-3 + 1e-2 * numeric.abs() {
                failures.push(format!("{}[{j}]: analytic {a} vs numeric {numeric}", net.params()[k].name()));
            }
        }
    }
    assert!(failures.is_empty(), "gradients off:\n{}", failures.join("\n"));
}

#[test]
fn two_layer_gradients_are_not_trivially_small() {
    // Guards the test above against passing vacuously (all gradients ~0 within atol).
    let x = inputs();
    let net = Net::new(7);
    let tape = Tape::new();
    let grads = tape.backward(net.loss(&tape, &x));
    for p in net.params() {
        let g = grads.get(p.id()).unwrap();
        let max = g.to_vec().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max > 1e-2, "{}: largest gradient {max}", p.name());
    }
}
