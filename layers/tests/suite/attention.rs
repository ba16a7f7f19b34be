//! LayerNormalization, MultiHeadAttention and PositionEmbedding: the conformance harness,
//! references computed by plain loops in f64 (layer normalization by its formula, attention
//! as Keras and PyTorch define it), causal and padding masks, configs, and the PyTorch layout
//! (keys, shapes, and `nn.MultiheadAttention`'s own formula on the stacked tensors).

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Tensor};
use kensho_layers::testing::{check_layer, check_layer_inputs};
use kensho_layers::{Ctx, Layer, LayerConfig, LayerNormalization, MultiHeadAttention, PositionEmbedding, Shape};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, -1.0, 1.0, &mut seeded_rng(seed))
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((f64::from(*g) - w).abs() <= tol * (1.0 + w.abs()), "element {i}: {g} vs {w}");
    }
}

/// The layer's outputs on `xs` with `masks`, in inference.
fn call(layer: &dyn Layer, xs: &[Tensor], masks: &[Option<Tensor>]) -> Vec<Tensor> {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let vars: Vec<_> = xs.iter().map(|x| tape.constant(x.clone())).collect();
    layer.call(&vars, masks, &cx).iter().map(|v| v.value()).collect()
}

fn built_mha(layer: MultiHeadAttention, shapes: &[&[usize]]) -> MultiHeadAttention {
    let mut layer = layer.with_name("mha");
    let shapes: Vec<Shape> = shapes.iter().map(|s| Shape::known(s)).collect();
    layer.build_inputs(&shapes, &mut seeded_rng(4)).unwrap();
    // Non-zero biases, so that the reference checks them too.
    for p in layer.params_mut() {
        if p.name().ends_with("bias") {
            p.value = rand(p.value.shape(), 9);
        }
    }
    layer
}

#[test]
fn layer_normalization_passes_check_layer() {
    check_layer(&mut LayerNormalization::new(), &[4, 5], 3, 10).unwrap();
    check_layer(&mut LayerNormalization::new().axes(&[-2, -1]), &[3, 4], 2, 24).unwrap();
    // Not the trailing axes: the composed path.
    check_layer(&mut LayerNormalization::new().axis(1), &[3, 4], 2, 6).unwrap();
    check_layer(&mut LayerNormalization::new().center(false).scale(false), &[6], 3, 0).unwrap();
}

#[test]
fn layer_normalization_matches_its_formula() {
    // [[1, 2, 3, 4]]: mean 2.5, variance 1.25: (x - 2.5) / sqrt(1.25 + 1e-3) = ±1.341, ±0.447.
    let mut ln = LayerNormalization::new().with_name("ln");
    ln.build(&Shape::known(&[4]), &mut seeded_rng(0)).unwrap();
    let y = call(&ln, &[t(&[1., 2., 3., 4.], &[1, 4])], &[None]);
    assert_close(&y[0].to_vec(), &[-1.341_104_3, -0.447_034_8, 0.447_034_8, 1.341_104_3], 1e-5);
    // Random rows with a large offset, gamma and beta, against the formula in f64.
    let (rows, n) = (6, 7);
    let x = rand(&[2, 3, n], 1).add_scalar(300.0);
    let mut ln = LayerNormalization::new().with_name("ln");
    ln.build(&Shape::known(&[3, n]), &mut seeded_rng(0)).unwrap();
    let (gamma, beta) = (rand(&[n], 2), rand(&[n], 3));
    ln.params_mut()[0].value = gamma.clone();
    ln.params_mut()[1].value = beta.clone();
    let (xv, g, b) = (x.to_vec(), gamma.to_vec(), beta.to_vec());
    let mut want = Vec::new();
    for r in 0..rows {
        let row: Vec<f64> = xv[r * n..(r + 1) * n].iter().map(|&v| f64::from(v)).collect();
        let mean = row.iter().sum::<f64>() / n as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        for j in 0..n {
            want.push((row[j] - mean) / (var + 1e-3).sqrt() * f64::from(g[j]) + f64::from(b[j]));
        }
    }
    assert_close(&call(&ln, &[x], &[None])[0].to_vec(), &want, 2e-4);
}

/// Keras' multi-head attention in plain loops (f64): the projections, the scaled scores, the
/// softmax over the keys that `allowed(b, i, j)` lets query `i` see (none: zeros), the values
/// weighted and the output projection.
fn reference(
    mha: &MultiHeadAttention,
    q: &Tensor,
    v: &Tensor,
    allowed: impl Fn(usize, usize, usize) -> bool,
) -> Vec<f64> {
    let w: Vec<Vec<f64>> =
        mha.params().iter().map(|p| p.value.to_vec().iter().map(|&x| f64::from(x)).collect()).collect();
    let (wq, bq, wk, bk, wv, bv, wo, bo) = (&w[0], &w[1], &w[2], &w[3], &w[4], &w[5], &w[6], &w[7]);
    let [heads, dim] = mha.params()[1].value.shape().try_into().unwrap();
    let d_out = bo.len();
    let (qs, vs) = (q.shape(), v.shape());
    let (batch, t_q, d_q, t_k, d_v) = (qs[0], qs[1], qs[2], vs[1], vs[2]);
    let (qd, vd): (Vec<f64>, Vec<f64>) =
        (q.to_vec().iter().map(|&x| x.into()).collect(), v.to_vec().iter().map(|&x| x.into()).collect());
    // project(x, t, d, w, b)[t][h * dim + e]
    let project = |x: &[f64], b_: usize, len: usize, d: usize, w: &[f64], bias: &[f64]| -> Vec<Vec<f64>> {
        (0..len)
            .map(|s| {
                (0..heads * dim)
                    .map(|o| bias[o] + (0..d).map(|c| x[(b_ * len + s) * d + c] * w[c * heads * dim + o]).sum::<f64>())
                    .collect()
            })
            .collect()
    };
    let mut out = Vec::new();
    for b in 0..batch {
        let (pq, pk, pv) =
            (project(&qd, b, t_q, d_q, wq, bq), project(&vd, b, t_k, d_v, wk, bk), project(&vd, b, t_k, d_v, wv, bv));
        for (i, q_row) in pq.iter().enumerate() {
            let mut context = vec![0.0; heads * dim];
            for h in 0..heads {
                let keys: Vec<usize> = (0..t_k).filter(|&j| allowed(b, i, j)).collect();
                let scores: Vec<f64> = keys
                    .iter()
                    .map(|&j| {
                        (0..dim).map(|e| q_row[h * dim + e] * pk[j][h * dim + e]).sum::<f64>() / (dim as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (&j, s) in keys.iter().zip(&scores) {
                    for e in 0..dim {
                        context[h * dim + e] += (s - max).exp() / total * pv[j][h * dim + e];
                    }
                }
            }
            out.extend(
                (0..d_out).map(|o| bo[o] + (0..heads * dim).map(|c| context[c] * wo[c * d_out + o]).sum::<f64>()),
            );
        }
    }
    out
}

#[test]
fn multi_head_attention_passes_check_layer() {
    let params = |d_q: usize, d_k: usize, d_v: usize, h: usize, k: usize, v: usize, out: usize| {
        (d_q + d_k) * h * k + 2 * h * k + d_v * h * v + h * v + h * v * out + out
    };
    let n = params(6, 6, 6, 2, 3, 3, 6);
    check_layer_inputs(&mut MultiHeadAttention::new(2, 3), &[&[4, 6], &[5, 6]], 2, n).unwrap();
    let n = params(6, 3, 7, 2, 3, 2, 6);
    check_layer_inputs(&mut MultiHeadAttention::new(2, 3).value_dim(2), &[&[4, 6], &[5, 7], &[5, 3]], 2, n).unwrap();
    let causal = MultiHeadAttention::new(3, 2).use_causal_mask(true).return_attention_scores(true).dropout(0.3);
    check_layer_inputs(&mut causal.output_shape(4), &[&[4, 5], &[4, 5]], 2, params(5, 5, 5, 3, 2, 2, 4)).unwrap();
    let no_bias = MultiHeadAttention::new(2, 2).use_bias(false);
    check_layer_inputs(&mut no_bias.clone(), &[&[3, 4], &[3, 4]], 2, 4 * 4 * 4).unwrap();
}

#[test]
fn multi_head_attention_matches_a_plain_reference() {
    let mha = built_mha(MultiHeadAttention::new(2, 3).output_shape(5), &[&[4, 6], &[5, 7]]);
    let (q, v) = (rand(&[2, 4, 6], 1), rand(&[2, 5, 7], 2));
    let y = call(&mha, &[q.clone(), v.clone()], &[None, None]);
    assert_eq!(y[0].shape(), [2, 4, 5]);
    assert_close(&y[0].to_vec(), &reference(&mha, &q, &v, |_, _, _| true), 1e-4);
    // Padded values, a causal mask and an explicit mask combine by AND.
    let mha = built_mha(MultiHeadAttention::new(2, 3).use_causal_mask(true), &[&[5, 6], &[5, 6], &[5, 6], &[5, 5]]);
    let (q, v) = (rand(&[2, 5, 6], 3), rand(&[2, 5, 6], 4));
    let value_mask = t(&[1., 1., 1., 0., 1., 1., 0., 1., 1., 1.], &[2, 5]);
    let explicit = Tensor::from_fn(&[2, 5, 5], |i| if (i[1] + 2 * i[2]) % 7 == 3 { 0.0 } else { 1.0 });
    let masks = [None, Some(value_mask.clone()), None, None];
    let y = call(&mha, &[q.clone(), v.clone(), v.clone(), explicit.clone()], &masks);
    let (vm, em) = (value_mask.to_vec(), explicit.to_vec());
    let allowed = |b: usize, i: usize, j: usize| j <= i && vm[b * 5 + j] == 1.0 && em[(b * 5 + i) * 5 + j] == 1.0;
    assert_close(&y[0].to_vec(), &reference(&mha, &q, &v, allowed), 1e-4);
}

#[test]
fn attention_scores_are_the_probabilities() {
    let mha = built_mha(MultiHeadAttention::new(2, 3).return_attention_scores(true), &[&[3, 4], &[5, 4]]);
    let y =
        call(&mha, &[rand(&[2, 3, 4], 1), rand(&[2, 5, 4], 2)], &[Some(t(&[1., 1., 0., 1., 1., 1.], &[2, 3])), None]);
    assert_eq!(y[1].shape(), [2, 2, 3, 5]);
    let sums = y[1].sum_axes(&[3], false).to_vec();
    // Query 2 of sample 0 is padded: its rows are zero in both heads; the others sum to 1.
    for (k, s) in sums.iter().enumerate() {
        let padded = k / 6 == 0 && k % 3 == 2;
        assert!((s - if padded { 0.0 } else { 1.0 }).abs() < 1e-5, "{sums:?}");
    }
}

#[test]
fn a_causal_mask_ignores_the_future() {
    let mha = built_mha(MultiHeadAttention::new(2, 4).use_causal_mask(true), &[&[6, 8], &[6, 8]]);
    let x = rand(&[2, 6, 8], 5);
    let before = call(&mha, &[x.clone(), x.clone()], &[None, None]).remove(0);
    let mut data = x.to_vec();
    for v in &mut data[(6 + 3) * 8..(6 + 4) * 8] {
        *v += 1.5; // token 3 of sample 1
    }
    let x2 = t(&data, &[2, 6, 8]);
    let after = call(&mha, &[x2.clone(), x2], &[None, None]).remove(0);
    let (a, b) = (before.to_vec(), after.to_vec());
    for (pos, (ra, rb)) in a.chunks(8).zip(b.chunks(8)).enumerate() {
        let (sample, step) = (pos / 6, pos % 6);
        let changes = ra.iter().zip(rb).any(|(u, v)| (u - v).abs() > 1e-6);
        assert_eq!(changes, sample == 1 && step >= 3, "sample {sample}, step {step}");
    }
}

#[test]
fn padded_keys_change_nothing() {
    // Self-attention on sequences of 3 real tokens padded to 5: the real positions equal the
    // layer on the 3 tokens alone, whatever the padding holds.
    let mha = built_mha(MultiHeadAttention::new(2, 3), &[&[5, 6], &[5, 6]]);
    let real = rand(&[1, 3, 6], 6);
    let alone = call(&mha, &[real.clone(), real.clone()], &[None, None]).remove(0);
    let mask = t(&[1., 1., 1., 0., 0.], &[1, 5]);
    for seed in [7, 8] {
        let padded = Tensor::concat(&[real.clone(), rand(&[1, 2, 6], seed).mul_scalar(10.0)], 1);
        let y = call(&mha, &[padded.clone(), padded], &[Some(mask.clone()), Some(mask.clone())]).remove(0);
        let kept = y.slice_axis(1, 0, 3).to_contiguous();
        assert!(kept.allclose(&alone, 1e-5, 1e-6), "{:?} vs {:?}", kept.to_vec(), alone.to_vec());
    }
    // The output carries the query's mask.
    let tape = Tape::no_grad();
    let xv = tape.constant(Tensor::zeros(&[1, 5, 6]));
    assert_eq!(mha.compute_mask(&[xv, xv], &[Some(mask.clone()), None]), [Some(mask)]);
}

#[test]
fn position_embedding_passes_check_layer_and_broadcasts_the_table() {
    check_layer(&mut PositionEmbedding::new(6), &[4, 3], 2, 18).unwrap();
    let mut pe = PositionEmbedding::new(6).with_name("pos");
    pe.build(&Shape::new(vec![None, Some(3)]), &mut seeded_rng(0)).unwrap();
    assert_eq!(pe.params()[0].name(), "pos.embeddings");
    let y = call(&pe, &[rand(&[2, 4, 3], 1)], &[None]).remove(0);
    let table = pe.params()[0].value.slice_axis(0, 0, 4).to_contiguous();
    assert_eq!(y.slice_axis(0, 1, 2).reshape_to(&[4, 3]), table);
    let err = PositionEmbedding::new(6).build(&Shape::known(&[7, 3]), &mut seeded_rng(0)).unwrap_err();
    assert!(err.to_string().contains("sequence_length"), "{err}");
}

#[test]
fn configs_round_trip_with_keras_names() {
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(LayerNormalization::new().axes(&[-2, -1]).epsilon(1e-5).center(false).with_name("ln")),
        Box::new(MultiHeadAttention::new(4, 8).value_dim(6).dropout(0.1).use_causal_mask(true).with_name("mha")),
        Box::new(PositionEmbedding::new(64).with_name("pos")),
    ];
    for (layer, class) in layers.iter().zip(["LayerNormalization", "MultiHeadAttention", "PositionEmbedding"]) {
        let json = serde_json::to_value(layer.config()).unwrap();
        assert_eq!(json["class_name"], class);
        let back: LayerConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, layer.config());
        assert_eq!(back.to_layer().unwrap().kind(), class);
    }
    // Keras writes `axis` as an integer or a list; missing fields take Keras' defaults.
    let json = r#"{"class_name": "LayerNormalization", "config": {"name": "ln", "axis": 1}}"#;
    let LayerConfig::LayerNormalization(c) = serde_json::from_str(json).unwrap() else { panic!("wrong class") };
    assert_eq!((c.axis, c.epsilon, c.center), (vec![1], 1e-3, true));
}

#[test]
fn build_errors_name_the_layer_and_the_fix() {
    let mut mha = MultiHeadAttention::new(2, 3).with_name("mha");
    let err = mha.build_inputs(&[Shape::known(&[4, 6])], &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(err.contains("mha") && err.contains("[query, value]"), "{err}");
    let err = mha.build_inputs(&[Shape::known(&[6]), Shape::known(&[6])], &mut seeded_rng(0)).unwrap_err();
    assert!(err.to_string().contains("[time, features]"), "{err}");
    let err = mha
        .build_inputs(&[Shape::known(&[4, 6]), Shape::known(&[5, 6]), Shape::known(&[3, 6])], &mut seeded_rng(0))
        .unwrap_err();
    assert!(err.to_string().contains("same length"), "{err}");
    let err = LayerNormalization::new().axis(0).build(&Shape::known(&[4]), &mut seeded_rng(0)).unwrap_err();
    assert!(err.to_string().contains("batch axis"), "{err}");
}

/// The layer's weights as PyTorch's `state_dict`: each weight laid out by its transform, the
/// blocks of one key summed (as the checkpoint code writes them), keys in first-seen order.
fn state_dict(layer: &dyn Layer) -> Vec<(String, Tensor)> {
    let layout = layer.torch_layout().expect("a PyTorch equivalent");
    let mut out: Vec<(String, Tensor)> = Vec::new();
    for (p, w) in layer.params().iter().zip(&layout.weights) {
        let value = w.transform.to_torch(&p.value);
        match out.iter_mut().find(|(k, _)| *k == w.name) {
            Some((_, t)) => *t = t.add(&value),
            None => out.push((w.name.clone(), value)),
        }
    }
    out
}

/// `torch.nn.MultiheadAttention(E, heads, batch_first=True)(q, k, v)` in plain loops (f64),
/// from its `state_dict`.
fn torch_mha(sd: &[(String, Tensor)], heads: usize, q: &Tensor, k: &Tensor, v: &Tensor) -> Vec<f64> {
    let get = |name: &str| -> Vec<f64> {
        sd.iter().find(|(n, _)| n == name).unwrap().1.to_vec().iter().map(|&x| f64::from(x)).collect()
    };
    let (w_in, b_in, w_out, b_out) =
        (get("in_proj_weight"), get("in_proj_bias"), get("out_proj.weight"), get("out_proj.bias"));
    let e = b_out.len();
    let hd = e / heads;
    let (batch, t_q, t_k) = (q.shape()[0], q.shape()[1], k.shape()[1]);
    // F.linear(x, W[block], b[block]) for rows of x.
    let linear = |x: &Tensor, block: usize| -> Vec<Vec<f64>> {
        let xv = x.to_vec();
        xv.chunks(e)
            .map(|row| {
                (0..e)
                    .map(|o| {
                        let r = block * e + o;
                        b_in[r] + row.iter().enumerate().map(|(c, &xc)| f64::from(xc) * w_in[r * e + c]).sum::<f64>()
                    })
                    .collect()
            })
            .collect()
    };
    let (pq, pk, pv) = (linear(q, 0), linear(k, 1), linear(v, 2));
    let mut out = Vec::new();
    for b in 0..batch {
        for i in 0..t_q {
            let mut context = vec![0.0; e];
            for h in 0..heads {
                let s: Vec<f64> = (0..t_k)
                    .map(|j| {
                        let dot: f64 = (0..hd).map(|d| pq[b * t_q + i][h * hd + d] * pk[b * t_k + j][h * hd + d]).sum();
                        dot / (hd as f64).sqrt()
                    })
                    .collect();
                let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = s.iter().map(|x| (x - max).exp()).sum();
                for (j, sj) in s.iter().enumerate() {
                    for d in 0..hd {
                        context[h * hd + d] += (sj - max).exp() / total * pv[b * t_k + j][h * hd + d];
                    }
                }
            }
            out.extend((0..e).map(|o| b_out[o] + (0..e).map(|c| context[c] * w_out[o * e + c]).sum::<f64>()));
        }
    }
    out
}

#[test]
fn the_pytorch_layout_is_nn_multihead_attention() {
    let mha = built_mha(MultiHeadAttention::new(2, 3), &[&[4, 6], &[5, 6]]);
    let sd = state_dict(&mha);
    let keys: Vec<(&str, &[usize])> = sd.iter().map(|(k, t)| (k.as_str(), t.shape())).collect();
    assert_eq!(
        keys,
        [
            ("in_proj_weight", &[18, 6][..]),
            ("in_proj_bias", &[18]),
            ("out_proj.weight", &[6, 6]),
            ("out_proj.bias", &[6])
        ]
    );
    // The same tensors in PyTorch's formula compute the layer's function.
    let (q, v) = (rand(&[2, 4, 6], 1), rand(&[2, 5, 6], 2));
    let y = call(&mha, &[q.clone(), v.clone()], &[None, None]).remove(0);
    assert_close(&y.to_vec(), &torch_mha(&sd, 2, &q, &v, &v), 1e-4);
    // Loading takes each weight's block back.
    let layout = mha.torch_layout().unwrap();
    for (p, w) in mha.params().iter().zip(&layout.weights) {
        let file = &sd.iter().find(|(n, _)| *n == w.name).unwrap().1;
        assert_eq!(w.transform.from_torch(file, p.value.shape()), p.value, "{}", p.name());
    }
    // A key and a value of other widths: PyTorch's kdim / vdim projections; no biases.
    let mha = built_mha(MultiHeadAttention::new(2, 3).use_bias(false), &[&[4, 6], &[5, 5], &[5, 4]]);
    let keys: Vec<(String, Vec<usize>)> = state_dict(&mha).into_iter().map(|(k, t)| (k, t.shape().to_vec())).collect();
    let want = [
        ("q_proj_weight", vec![6, 6]),
        ("k_proj_weight", vec![6, 4]),
        ("v_proj_weight", vec![6, 5]),
        ("out_proj.weight", vec![6, 6]),
    ];
    assert_eq!(keys, want.map(|(k, s)| (k.to_string(), s)));
    // No PyTorch equivalent: heads * key_dim != E, value_dim != key_dim, another output size.
    for layer in [
        MultiHeadAttention::new(2, 4),
        MultiHeadAttention::new(2, 3).value_dim(2),
        MultiHeadAttention::new(2, 3).output_shape(5),
    ] {
        assert!(built_mha(layer, &[&[4, 6], &[5, 6]]).torch_layout().is_none());
    }
}

#[test]
fn the_pytorch_layout_of_layer_norm_and_positions() {
    let built = |layer: LayerNormalization| {
        let mut layer = layer.with_name("ln");
        layer.build(&Shape::known(&[3, 4]), &mut seeded_rng(0)).unwrap();
        layer.torch_layout().map(|l| l.weights.into_iter().map(|w| w.name).collect::<Vec<_>>())
    };
    assert_eq!(built(LayerNormalization::new()), Some(vec!["weight".to_string(), "bias".to_string()]));
    assert_eq!(built(LayerNormalization::new().axes(&[1, 2])), Some(vec!["weight".to_string(), "bias".to_string()]));
    assert_eq!(built(LayerNormalization::new().center(false)), Some(vec!["weight".to_string()]));
    assert_eq!(built(LayerNormalization::new().center(false).scale(false)), Some(vec![]));
    assert_eq!(built(LayerNormalization::new().scale(false)), None);
    assert_eq!(built(LayerNormalization::new().axis(1)), None);
    let mut pe = PositionEmbedding::new(8);
    pe.build(&Shape::known(&[5, 3]), &mut seeded_rng(0)).unwrap();
    assert_eq!(state_dict(&pe)[0].0, "weight");
    assert_eq!(state_dict(&pe)[0].1.shape(), [8, 3]);
}
