//! The attention mask of a [`MultiHeadAttention`](super::MultiHeadAttention) call, by Keras'
//! rule (`_compute_attention_mask`): query `i` may attend to key `j` where every mask that is
//! present allows it, a logical AND of
//!
//! - the query's mask at `i` (a padded query attends to nothing: its row of scores is zero),
//! - the value's mask and the key's mask at `j` (padded keys receive no attention),
//! - the causal mask `j <= i` when `use_causal_mask` is set,
//! - an explicit attention mask `[batch, T_q, T_k]` given as an input (nonzero allows).

use kensho_core::Tensor;

/// The sources of one call's attention mask; each tensor mask is 1 (or nonzero) where real.
pub(super) struct MaskSources<'a> {
    /// The query's mask, `[batch, T_q]`.
    pub(super) query: Option<&'a Tensor>,
    /// The value's mask, `[batch, T_k]`.
    pub(super) value: Option<&'a Tensor>,
    /// The key's mask, `[batch, T_k]`.
    pub(super) key: Option<&'a Tensor>,
    /// An explicit mask, `[batch, T_q, T_k]`, each of the last two axes possibly of size 1.
    pub(super) explicit: Option<&'a Tensor>,
    /// Whether query `i` may only see keys `j <= i`.
    pub(super) causal: bool,
}

/// Whether a tensor holds a nonzero value at `[b, i, j]`, broadcasting axes of size 1.
fn allows(t: &Tensor, data: &[f32], index: [usize; 3]) -> bool {
    let shape = t.shape();
    let at = |axis: usize| if shape[axis] == 1 { 0 } else { index[axis] };
    data[(at(0) * shape[1] + at(1)) * shape[2] + at(2)] != 0.0
}

impl MaskSources<'_> {
    /// The attention mask `[batch, T_q, T_k]` (`[1, T_q, T_k]` when only the causal mask is
    /// present), 1 where query `i` may attend to key `j` and 0 elsewhere; `None` when nothing
    /// masks.
    ///
    /// # Panics
    /// If a mask does not fit the batch and lengths (the model checks them at its boundary).
    pub(super) fn combine(&self, batch: usize, t_q: usize, t_k: usize) -> Option<Tensor> {
        let per_sample = [self.query, self.value, self.key, self.explicit].iter().any(Option::is_some);
        if !per_sample && !self.causal {
            return None;
        }
        let rows = |m: Option<&Tensor>, len: usize, what: &str| {
            m.map(|m| {
                assert_eq!(m.shape(), [batch, len], "MultiHeadAttention: the {what} mask does not fit");
                m.to_contiguous()
            })
        };
        let query = rows(self.query, t_q, "query");
        let value = rows(self.value, t_k, "value");
        let key = rows(self.key, t_k, "key");
        let explicit = self.explicit.map(|m| {
            let s = m.shape();
            assert!(
                s.len() == 3 && s.iter().zip([batch, t_q, t_k]).all(|(&d, want)| d == want || d == 1),
                "MultiHeadAttention: attention mask {s:?} does not fit [{batch}, {t_q}, {t_k}]"
            );
            m.to_contiguous()
        });
        let data = |t: &Option<Tensor>| t.as_ref().map(|t| t.as_slice().expect("contiguous").to_vec());
        let (qd, vd, kd, ed) = (data(&query), data(&value), data(&key), data(&explicit));
        let samples = if per_sample { batch } else { 1 };
        let mut out = Vec::with_capacity(samples * t_q * t_k);
        for b in 0..samples {
            for i in 0..t_q {
                let query_ok = qd.as_ref().is_none_or(|q| q[b * t_q + i] != 0.0);
                for j in 0..t_k {
                    let ok = query_ok
                        && vd.as_ref().is_none_or(|v| v[b * t_k + j] != 0.0)
                        && kd.as_ref().is_none_or(|k| k[b * t_k + j] != 0.0)
                        && (!self.causal || j <= i)
                        && explicit.as_ref().zip(ed.as_deref()).is_none_or(|(t, d)| allows(t, d, [b, i, j]));
                    out.push(if ok { 1.0 } else { 0.0 });
                }
            }
        }
        Some(Tensor::from_vec(out, &[samples, t_q, t_k]).expect("sized to fit"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_combine_by_and() {
        let query = Tensor::from_vec(vec![1., 1., 0.], &[1, 3]).unwrap();
        let value = Tensor::from_vec(vec![1., 0., 1.], &[1, 3]).unwrap();
        let sources = MaskSources { query: Some(&query), value: Some(&value), key: None, explicit: None, causal: true };
        let m = sources.combine(1, 3, 3).unwrap();
        assert_eq!(m.to_vec(), [1., 0., 0., 1., 0., 0., 0., 0., 0.]);
        let causal = MaskSources { query: None, value: None, key: None, explicit: None, causal: true };
        assert_eq!(causal.combine(4, 2, 3).unwrap().shape(), [1, 2, 3]);
        let none = MaskSources { query: None, value: None, key: None, explicit: None, causal: false };
        assert!(none.combine(4, 2, 3).is_none());
    }
}
