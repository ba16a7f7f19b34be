//! The fused recurrent op on the tape against central finite differences (the public
//! [`gradcheck`]): every input (sequence, kernel, recurrent kernel, bias, recurrent bias,
//! initial states) of each cell, with and without a mask, forwards and backwards, and with a
//! transposed (non-contiguous) sequence.

use kensho_autograd::{gradcheck, RecurrentWeights, Var};
use kensho_core::{seeded_rng, CellActivation, RecurrentCell, RecurrentSpec, Tensor};

fn spec(cell: RecurrentCell, go_backwards: bool) -> RecurrentSpec {
    RecurrentSpec {
        cell,
        activation: CellActivation::Tanh,
        recurrent_activation: CellActivation::Sigmoid,
        go_backwards,
    }
}

/// The op on `v = [x, kernel, recurrent kernel, bias, (recurrent bias), states..]`.
fn run<'t>(spec: &RecurrentSpec, v: &[Var<'t>], mask: Option<&Tensor>) -> Var<'t> {
    let gru = spec.cell == RecurrentCell::Gru;
    let weights = RecurrentWeights {
        kernel: v[1],
        recurrent_kernel: v[2],
        bias: Some(v[3]),
        recurrent_bias: gru.then(|| v[4]),
        initial_state: v[if gru { 5 } else { 4 }..].to_vec(),
    };
    v[0].recurrent(spec, &weights, mask.cloned(), None)
}

#[test]
fn every_input_of_every_cell_passes_gradcheck() {
    let mut rng = seeded_rng(7);
    let (b, t, f, u) = (2, 4, 3, 3);
    let mask = Tensor::from_vec(vec![1., 1., 0., 1., 0., 1., 1., 0.], &[b, t]).unwrap();
    for cell in [RecurrentCell::SimpleRnn, RecurrentCell::Lstm, RecurrentCell::Gru] {
        let w = cell.gates() * u;
        let mut r = |shape: &[usize]| Tensor::rand_uniform(shape, -0.9, 0.9, &mut rng);
        let mut inputs = vec![r(&[b, t, f]), r(&[f, w]), r(&[u, w]), r(&[w])];
        if cell == RecurrentCell::Gru {
            inputs.push(r(&[w]));
        }
        for _ in 0..cell.states() {
            inputs.push(r(&[b, u]));
        }
        for (masked, backwards) in [(false, false), (true, false), (true, true)] {
            let (spec, m) = (spec(cell, backwards), masked.then_some(&mask));
            gradcheck(&inputs, |v| run(&spec, v, m)).unwrap_or_else(|e| panic!("{cell:?} {masked} {backwards}: {e}"));
        }
        // A transposed sequence: [time, batch, features] viewed as [batch, time, features].
        let mut moved = inputs.clone();
        moved[0] = r(&[t, b, f]).permute(&[1, 0, 2]);
        assert!(!moved[0].is_contiguous());
        let spec = spec(cell, false);
        gradcheck(&moved, |v| run(&spec, v, None)).unwrap_or_else(|e| panic!("{cell:?} transposed: {e}"));
    }
}
