//! Text to integer sequences, as Keras: a word-level [`Tokenizer`] and [`pad_sequences`].

use std::collections::HashMap;

use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::persist::CheckState;

/// Which end of a sequence [`pad_sequences`] pads or truncates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// At the start (Keras' default, `"pre"`).
    #[default]
    Pre,
    /// At the end (`"post"`).
    Post,
}

/// Pads (or truncates) sequences to one length, as Keras' `pad_sequences`: the result is
/// `[sequences, maxlen]` with `maxlen = None` meaning the longest sequence. `padding` says where
/// `value` goes in short sequences, `truncating` which end is cut from long ones.
///
/// # Errors
/// `maxlen = Some(0)`.
///
/// ```
/// use kensho_data::{pad_sequences, Side};
/// let seqs = vec![vec![1, 2, 3], vec![4]];
/// let pre = pad_sequences(&seqs, None, Side::Pre, Side::Pre, 0.0)?;
/// assert_eq!(pre.to_vec(), vec![1.0, 2.0, 3.0, 0.0, 0.0, 4.0]);
/// let post = pad_sequences(&seqs, Some(2), Side::Post, Side::Post, -1.0)?;
/// assert_eq!(post.to_vec(), vec![1.0, 2.0, 4.0, -1.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub fn pad_sequences<S: AsRef<[usize]>>(
    sequences: &[S],
    maxlen: Option<usize>,
    padding: Side,
    truncating: Side,
    value: f32,
) -> Result<Tensor> {
    if maxlen == Some(0) {
        return Err(Error::invalid("pad_sequences: maxlen", 0, "a length of at least 1, or None for the longest"));
    }
    let len = maxlen.unwrap_or_else(|| sequences.iter().map(|s| s.as_ref().len()).max().unwrap_or(0));
    let mut out = vec![value; sequences.len() * len];
    for (row, seq) in out.chunks_mut(len.max(1)).zip(sequences) {
        let seq = seq.as_ref();
        let kept = match truncating {
            Side::Pre => &seq[seq.len().saturating_sub(len)..],
            Side::Post => &seq[..seq.len().min(len)],
        };
        let start = match padding {
            Side::Pre => len - kept.len(),
            Side::Post => 0,
        };
        row[start..start + kept.len()].iter_mut().zip(kept).for_each(|(o, &t)| *o = t as f32);
    }
    Tensor::from_vec(out, &[sequences.len(), len])
}

/// Keras' default `filters`: characters removed (replaced by the separator) before splitting.
pub const DEFAULT_FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/// A word-level tokenizer, as Keras' `Tokenizer` with its defaults: lower-cases, replaces the
/// characters of [`DEFAULT_FILTERS`] by spaces, splits on spaces, and numbers words from 1 by
/// decreasing frequency (ties in order of first appearance). Index 0 is left for padding.
///
/// With [`Tokenizer::num_words`]`(n)`, only words with an index below `n` are kept in sequences.
/// With [`Tokenizer::oov_token`], the out-of-vocabulary token takes index 1 and replaces words
/// that are unknown or beyond `num_words`; without it such words are dropped.
///
/// ```
/// use kensho_data::Tokenizer;
/// let mut tok = Tokenizer::new().oov_token("<OOV>");
/// tok.fit_on_texts(&["The cat sat.", "The dog sat!"]);
/// assert_eq!(tok.word_index()["the"], 2);
/// assert_eq!(tok.texts_to_sequences(&["the bird sat"]), vec![vec![2, 1, 3]]);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Tokenizer {
    num_words: Option<usize>,
    oov_token: Option<String>,
    lower: bool,
    filters: String,
    /// Word counts in order of first appearance.
    counts: Vec<(String, usize)>,
    word_index: HashMap<String, usize>,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Tokenizer {
            num_words: None,
            oov_token: None,
            lower: true,
            filters: DEFAULT_FILTERS.to_string(),
            counts: Vec::new(),
            word_index: HashMap::new(),
        }
    }
}

impl Tokenizer {
    /// A tokenizer with Keras' defaults (no word limit, no OOV token, lower-casing, default filters).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep only words with an index below `n` in sequences (Keras' `num_words`).
    pub fn num_words(mut self, n: usize) -> Self {
        self.num_words = Some(n);
        self
    }

    /// The token standing for unknown words; it gets index 1.
    pub fn oov_token(mut self, token: impl Into<String>) -> Self {
        self.oov_token = Some(token.into());
        self
    }

    /// Lower-case texts before splitting (`true` by default).
    pub fn lower(mut self, lower: bool) -> Self {
        self.lower = lower;
        self
    }

    /// The characters to filter out (default [`DEFAULT_FILTERS`]).
    pub fn filters(mut self, filters: impl Into<String>) -> Self {
        self.filters = filters.into();
        self
    }

    /// The words of one text after lower-casing and filtering, as Keras' `text_to_word_sequence`.
    pub fn split(&self, text: &str) -> Vec<String> {
        let text = if self.lower { text.to_lowercase() } else { text.to_string() };
        let cleaned: String = text.chars().map(|c| if self.filters.contains(c) { ' ' } else { c }).collect();
        cleaned.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect()
    }

    /// Counts the words of `texts` (can be called several times) and rebuilds the vocabulary.
    pub fn fit_on_texts<S: AsRef<str>>(&mut self, texts: &[S]) {
        let mut position: HashMap<String, usize> =
            self.counts.iter().enumerate().map(|(i, (w, _))| (w.clone(), i)).collect();
        for text in texts {
            for word in self.split(text.as_ref()) {
                match position.get(&word) {
                    Some(&i) => self.counts[i].1 = self.counts[i].1.saturating_add(1), // a loaded count may be huge
                    None => {
                        position.insert(word.clone(), self.counts.len());
                        self.counts.push((word, 1));
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..self.counts.len()).collect();
        order.sort_by(|&a, &b| self.counts[b].1.cmp(&self.counts[a].1)); // stable: ties keep first appearance
        let offset = if self.oov_token.is_some() { 2 } else { 1 };
        self.word_index =
            order.iter().enumerate().map(|(rank, &i)| (self.counts[i].0.clone(), rank + offset)).collect();
        if let Some(oov) = &self.oov_token {
            self.word_index.insert(oov.clone(), 1);
        }
    }

    /// Word → index (from 1), including the OOV token if any.
    pub fn word_index(&self) -> &HashMap<String, usize> {
        &self.word_index
    }

    /// The number of distinct words seen (the OOV token not included).
    pub fn vocabulary_size(&self) -> usize {
        self.counts.len()
    }

    /// Each text as word indices, applying `num_words` and the OOV token.
    pub fn texts_to_sequences<S: AsRef<str>>(&self, texts: &[S]) -> Vec<Vec<usize>> {
        let oov = self.oov_token.as_ref().map(|_| 1);
        let limit = self.num_words.unwrap_or(usize::MAX);
        texts
            .iter()
            .map(|text| {
                self.split(text.as_ref())
                    .iter()
                    .filter_map(|w| match self.word_index.get(w) {
                        Some(&i) if i < limit => Some(i),
                        _ => oov,
                    })
                    .collect()
            })
            .collect()
    }

    /// Sequences back to space-joined words (unknown indices are skipped, as in Keras).
    pub fn sequences_to_texts(&self, sequences: &[Vec<usize>]) -> Vec<String> {
        let index_word: HashMap<usize, &str> = self.word_index.iter().map(|(w, &i)| (i, w.as_str())).collect();
        let limit = self.num_words.unwrap_or(usize::MAX);
        sequences
            .iter()
            .map(|seq| {
                let words: Vec<&str> =
                    seq.iter().filter(|&&i| i < limit).filter_map(|i| index_word.get(i).copied()).collect();
                words.join(" ")
            })
            .collect()
    }
}

impl CheckState for Tokenizer {
    fn check_state(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::HashSet::with_capacity(self.counts.len());
        if let Some((word, _)) = self.counts.iter().find(|(w, _)| !seen.insert(w.as_str())) {
            return Err(format!("the word {word:?} is counted twice, expected each word once"));
        }
        match self.word_index.iter().find(|&(_, &i)| i == 0) {
            Some((word, _)) => Err(format!("the word {word:?} has index 0, expected 1 or more (0 is padding)")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_sequences_matches_keras_defaults() {
        // keras.utils.pad_sequences([[1,2,3,4],[5]], maxlen=3) -> [[2,3,4],[0,0,5]]
        let t = pad_sequences(&[vec![1, 2, 3, 4], vec![5]], Some(3), Side::Pre, Side::Pre, 0.0).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_vec(), vec![2.0, 3.0, 4.0, 0.0, 0.0, 5.0]);
        // truncating="post", padding="post" -> [[1,2,3],[5,0,0]]
        let t = pad_sequences(&[vec![1, 2, 3, 4], vec![5]], Some(3), Side::Post, Side::Post, 0.0).unwrap();
        assert_eq!(t.to_vec(), vec![1.0, 2.0, 3.0, 5.0, 0.0, 0.0]);
        assert!(pad_sequences(&[vec![1]], Some(0), Side::Pre, Side::Pre, 0.0).is_err());
    }

    #[test]
    fn tokenizer_matches_keras() {
        // Keras: t = Tokenizer(); t.fit_on_texts(["The cat, the hat.", "A cat!"])
        // word_index == {'the': 1, 'cat': 2, 'hat': 3, 'a': 4}
        let mut t = Tokenizer::new();
        t.fit_on_texts(&["The cat, the hat.", "A cat!"]);
        let wi = t.word_index();
        assert_eq!((wi["the"], wi["cat"], wi["hat"], wi["a"]), (1, 2, 3, 4));
        assert_eq!(t.texts_to_sequences(&["a cat in the hat"]), vec![vec![4, 2, 1, 3]]);
        // num_words=3 keeps indices 1 and 2 only
        let limited = t.clone().num_words(3);
        assert_eq!(limited.texts_to_sequences(&["a cat in the hat"]), vec![vec![2, 1]]);
        assert_eq!(limited.sequences_to_texts(&[vec![2, 1, 3]]), vec!["cat the".to_string()]);
    }

    #[test]
    fn oov_token_takes_index_one_and_replaces_unknown_and_rare_words() {
        let mut t = Tokenizer::new().oov_token("<unk>").num_words(3);
        t.fit_on_texts(&["b b a", "c"]);
        assert_eq!(t.word_index()["<unk>"], 1);
        assert_eq!(t.word_index()["b"], 2);
        assert_eq!(t.texts_to_sequences(&["b a zzz"]), vec![vec![2, 1, 1]]);
        assert_eq!(t.vocabulary_size(), 3);
    }
}
