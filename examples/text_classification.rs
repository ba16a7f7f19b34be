//! Sentence polarity on the Rotten Tomatoes snippets (12,752 labelled sentences): three models
//! trained on the same fixed 80/20 split and reported side by side, test accuracy and macro F1.
//!
//! - **bag of words**: logistic regression, a Dense softmax on multi-hot word vectors;
//! - **BiLSTM**: Embedding (with the padding mask) -> Bidirectional LSTM -> Dense;
//! - **Transformer**: Embedding + learned positions -> one encoder block (self-attention, Add +
//!   LayerNormalization, feed-forward, Add + LayerNormalization) -> masked mean -> Dense.
//!
//! The data set's terms forbid republishing it, so it is read from a path, never copied here:
//!
//! ```text
//! cargo run --release --example text_classification -- ../shared/datasets/rotten_tomatoes/rotten_tomatoes.csv.gz
//! ```

use kensho::data::{load_labelled_texts, pad_sequences, Side, Tokenizer};
use kensho::prelude::*;
use rand::seq::SliceRandom;

/// Words kept by the tokenizer for the sequence models (the rest become the OOV token).
const VOCABULARY: usize = 10_000;
/// Words of the bag-of-words vectors (the most frequent ones).
const BAG_WORDS: usize = 4_000;
/// Tokens per sentence (longer ones are cut at the end, shorter ones padded with 0).
const LENGTH: usize = 48;
/// Dimensions of the word vectors.
const WIDTH: usize = 64;

fn main() -> Result<()> {
    let path = std::env::args().nth(1).ok_or_else(|| {
        Error::invalid(
            "text_classification: path",
            "no argument",
            "the path of rotten_tomatoes.csv.gz (for example ../shared/datasets/rotten_tomatoes/rotten_tomatoes.csv.gz)",
        )
    })?;
    let (texts, labels) = load_labelled_texts(&path, "text", "label")?;
    let (train, test) = split(texts.len(), 0.8, 42);
    let pick = |rows: &[usize]| -> (Vec<String>, Tensor) {
        (rows.iter().map(|&i| texts[i].clone()).collect(), labels.index_select(0, rows))
    };
    let ((train_texts, y_train), (test_texts, y_test)) = (pick(&train), pick(&test));
    println!("{} training and {} test sentences", train_texts.len(), test_texts.len());

    let mut tokenizer = Tokenizer::new().num_words(VOCABULARY).oov_token("<oov>");
    tokenizer.fit_on_texts(&train_texts);
    let (train_ids, test_ids) = (tokenizer.texts_to_sequences(&train_texts), tokenizer.texts_to_sequences(&test_texts));

    let mut results = Vec::new();
    let (x_train, x_test) = (multi_hot(&train_ids), multi_hot(&test_ids));
    results.push(("bag of words", train_and_test(bag_of_words()?, (&x_train, &y_train), (&x_test, &y_test), 10)?));

    let pad = |ids: &[Vec<usize>]| pad_sequences(ids, Some(LENGTH), Side::Post, Side::Post, 0.0);
    let (x_train, x_test) = (pad(&train_ids)?, pad(&test_ids)?);
    results.push(("BiLSTM", train_and_test(bilstm()?, (&x_train, &y_train), (&x_test, &y_test), 4)?));

    results.push(("Transformer", train_and_test(transformer()?, (&x_train, &y_train), (&x_test, &y_test), 4)?));

    println!();
    for (name, logs) in &results {
        let (accuracy, f1) = (logs.get("accuracy").unwrap_or(0.0), logs.get("f1_score").unwrap_or(0.0));
        println!("{name}: test accuracy: {accuracy:.4} - macro F1: {f1:.4}");
    }
    Ok(())
}

/// A fixed split of `n` rows: a seeded shuffle, the first `fraction` for training.
fn split(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut kensho::core::seeded_rng(seed));
    let at = (n as f64 * fraction) as usize;
    (order[..at].to_vec(), order[at..].to_vec())
}

/// `[sentences, BAG_WORDS]`: 1 where the sentence holds the word (ids below `BAG_WORDS`).
fn multi_hot(ids: &[Vec<usize>]) -> Tensor {
    let mut data = vec![0.0; ids.len() * BAG_WORDS];
    for (row, sentence) in data.chunks_mut(BAG_WORDS).zip(ids) {
        sentence.iter().filter(|&&id| id < BAG_WORDS).for_each(|&id| row[id] = 1.0);
    }
    Tensor::from_vec(data, &[ids.len(), BAG_WORDS]).expect("rows of BAG_WORDS")
}

/// Compiles with Adam, sparse cross-entropy, accuracy and macro F1; trains (keeping the best
/// epoch on the validation tenth); evaluates on the test set.
fn train_and_test(
    mut model: Model,
    train: (&Tensor, &Tensor),
    test: (&Tensor, &Tensor),
    epochs: usize,
) -> Result<Logs> {
    let metrics: Vec<Box<dyn kensho::metrics::Metric>> =
        vec![Box::new(metrics::Accuracy::new()), Box::new(metrics::F1Score::new(2, metrics::Average::Macro))];
    model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::new(), metrics)?;
    println!("\n{}", model.summary());
    // Small data overfits quickly: keep the weights of the epoch with the best validation loss.
    let mut best = EarlyStopping::new("val_loss").patience(1).restore_best_weights(true);
    let options = FitOptions {
        epochs,
        batch_size: 32,
        validation_split: 0.1,
        verbose: 2,
        callbacks: vec![&mut best],
        ..Default::default()
    };
    model.fit(train.0, train.1, options)?;
    model.evaluate(test.0, test.1)
}

/// Logistic regression on the multi-hot vectors.
fn bag_of_words() -> Result<Model> {
    let words = Input::new(&[BAG_WORDS]);
    let out = Dense::new(2).activation(Activation::Softmax).kernel_regularizer(Regularizer::l2(1e-4)).on(&words)?;
    Ok(Model::with_seed(&[&words], &[&out], 1)?.with_name("bag_of_words"))
}

/// Token ids -> word vectors that carry the padding mask.
fn embedded(ids: &SymbolicTensor) -> Result<SymbolicTensor> {
    Embedding::new(VOCABULARY, WIDTH).mask_zero(true).on(ids)
}

/// Embedding -> Bidirectional LSTM (the last states of both directions) -> Dense.
fn bilstm() -> Result<Model> {
    let ids = Input::new(&[LENGTH]);
    let states = Bidirectional::new(Lstm::new(32)).on(&embedded(&ids)?)?;
    let out = Dense::new(2).activation(Activation::Softmax).on(&Dropout::new(0.5).on(&states)?)?;
    Ok(Model::with_seed(&[&ids], &[&out], 2)?.with_name("bilstm"))
}

/// Embedding + positions -> one Transformer encoder block -> masked mean -> Dense.
fn transformer() -> Result<Model> {
    let ids = Input::new(&[LENGTH]);
    let words = embedded(&ids)?;
    let positions = PositionEmbedding::new(LENGTH).on(&words)?;
    let x = Add::new().on_all(&[&words, &positions])?;
    let attended = MultiHeadAttention::new(4, WIDTH / 4).dropout(0.1).on_all(&[&x, &x])?;
    let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &attended])?)?;
    let hidden = Dense::new(2 * WIDTH).activation(Activation::Relu).on(&x)?;
    let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &Dense::new(WIDTH).on(&hidden)?])?)?;
    let pooled = Dropout::new(0.3).on(&GlobalAveragePooling1d::new().on(&x)?)?;
    let out = Dense::new(2).activation(Activation::Softmax).on(&pooled)?;
    Ok(Model::with_seed(&[&ids], &[&out], 3)?.with_name("transformer"))
}
