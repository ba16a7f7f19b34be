//! A character-level language model: an LSTM learns to continue the Rotten Tomatoes sentences
//! one character at a time, reports the validation perplexity after each epoch, then writes new
//! sentences at two temperatures.
//!
//! Training reads windows of 64 characters and predicts each next character. Sampling uses a
//! second model made of the same layers (same names, so the trained weights load into it) that
//! takes one character and the LSTM's state `h`, `c` and gives the next character's
//! probabilities and the new state: each step costs one character, never the whole prefix again.
//!
//! ```text
//! cargo run --release --example char_rnn -- ../shared/datasets/rotten_tomatoes/rotten_tomatoes.csv.gz
//! ```

use kensho::callbacks::{Callback, Control};
use kensho::data::load_labelled_texts;
use kensho::prelude::*;
use rand::Rng as _;

/// Characters per training window.
const WINDOW: usize = 64;
/// The LSTM's state size.
const UNITS: usize = 256;
/// Dimensions of the character vectors.
const WIDTH: usize = 32;

/// Characters to ids (1..; 0 is left for padding) and back.
struct Alphabet {
    chars: Vec<char>,
}

impl Alphabet {
    fn of(text: &str) -> Alphabet {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Alphabet { chars }
    }
    fn size(&self) -> usize {
        self.chars.len() + 1
    }
    fn id(&self, c: char) -> usize {
        self.chars.binary_search(&c).map_or(0, |i| i + 1)
    }
    fn char(&self, id: usize) -> char {
        self.chars.get(id.wrapping_sub(1)).copied().unwrap_or('?')
    }
}

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| Error::invalid("char_rnn: path", "no argument", "the path of rotten_tomatoes.csv.gz"))?;
    let (texts, _) = load_labelled_texts(&path, "text", "label")?;
    let text: String = texts.iter().map(|t| format!("{}\n", t.to_lowercase())).collect();
    let alphabet = Alphabet::of(&text);
    let ids: Vec<usize> = text.chars().map(|c| alphabet.id(c)).collect();
    // The first 90 % of the text trains, the rest validates.
    let at = ids.len() * 9 / 10;
    let (train, validation) = (windows(&ids[..at]), windows(&ids[at..]));
    println!(
        "{} characters, an alphabet of {}, {} training windows",
        ids.len(),
        alphabet.size() - 1,
        train.0.shape()[0]
    );

    let mut model = language_model(alphabet.size(), Shape::new(vec![Some(WINDOW)]), false)?;
    model.compile(Adam::new(2e-3), losses::SparseCategoricalCrossentropy::new(), vec![])?;
    println!("{}", model.summary());
    let mut perplexity = Perplexity;
    let options = FitOptions {
        epochs: 4,
        batch_size: 64,
        validation_many: Some((validation.0.into(), validation.1.into())),
        verbose: 2,
        callbacks: vec![&mut perplexity],
        ..Default::default()
    };
    model.fit(&train.0, &train.1, options)?;

    // The sampler: the same layers, one character at a time, with the state as inputs.
    let weights = std::env::temp_dir().join(format!("kensho-char-rnn-{}.safetensors", std::process::id()));
    model.save_weights(&weights)?;
    let mut sampler = language_model(alphabet.size(), Shape::new(vec![Some(1)]), true)?;
    sampler.load_weights(&weights)?;
    std::fs::remove_file(&weights).ok();
    for temperature in [0.5, 1.0] {
        println!("\ntemperature {temperature}:");
        for seed in ["this movie ", "the best "] {
            println!("  {}", sample(&sampler, &alphabet, seed, 120, temperature, 7)?);
        }
    }
    Ok(())
}

/// Windows of `WINDOW` ids and, for each, the ids one step later: `([n, WINDOW], [n, WINDOW])`.
fn windows(ids: &[usize]) -> (Tensor, Tensor) {
    let starts: Vec<usize> = (0..ids.len().saturating_sub(WINDOW + 1)).step_by(WINDOW).collect();
    let take = |offset: usize| -> Vec<f32> {
        starts.iter().flat_map(|&s| ids[s + offset..s + offset + WINDOW].iter().map(|&i| i as f32)).collect()
    };
    let n = starts.len();
    (
        Tensor::from_vec(take(0), &[n, WINDOW]).expect("n windows"),
        Tensor::from_vec(take(1), &[n, WINDOW]).expect("n windows"),
    )
}

/// `ids -> Embedding -> LSTM -> Dense softmax over the alphabet`. For training (`stateful`
/// false) the LSTM reads whole windows and gives every step's output; the sampler (`stateful`
/// true) reads one step with the state `h`, `c` as inputs and also gives the new state. The
/// layers have the same names in both, so weights saved from one load into the other.
fn language_model(alphabet: usize, length: Shape, stateful: bool) -> Result<Model> {
    let ids = Input::with_shape(length).with_name("ids");
    let vectors = Embedding::new(alphabet, WIDTH).named("chars").on(&ids)?;
    let lstm = Lstm::new(UNITS).return_sequences(!stateful).return_state(stateful).named("lstm");
    let next = Dense::new(alphabet).activation(Activation::Softmax).named("next");
    if !stateful {
        let out = next.on(&lstm.on(&vectors)?)?;
        return Model::with_seed(&[&ids], &[&out], 5);
    }
    let (h, c) = (Input::new(&[UNITS]).with_name("h"), Input::new(&[UNITS]).with_name("c"));
    let outputs = lstm.call_symbolic(&[&vectors, &h, &c])?;
    let probabilities = next.on(&outputs[0])?;
    Model::with_seed(&[&ids, &h, &c], &[&probabilities, &outputs[1], &outputs[2]], 5)
}

/// Continues `seed` by `length` characters, drawing each from the sampler's probabilities
/// sharpened (temperature < 1) or flattened (> 1), stopping at the end of a sentence.
fn sample(
    sampler: &Model,
    alphabet: &Alphabet,
    seed: &str,
    length: usize,
    temperature: f32,
    rng_seed: u64,
) -> Result<String> {
    let mut rng = kensho::core::seeded_rng(rng_seed);
    let (mut h, mut c) = (Tensor::zeros(&[1, UNITS]), Tensor::zeros(&[1, UNITS]));
    let mut text = seed.to_string();
    let mut probabilities = Tensor::zeros(&[1, alphabet.size()]);
    let feed = |id: usize, h: &mut Tensor, c: &mut Tensor| -> Result<Tensor> {
        let x = Tensor::from_vec(vec![id as f32], &[1, 1])?;
        let mut out = sampler.predict_many([&x, &*h, &*c], 1)?;
        *c = out.pop().expect("c");
        *h = out.pop().expect("h");
        Ok(out.pop().expect("probabilities"))
    };
    for ch in seed.chars() {
        probabilities = feed(alphabet.id(ch), &mut h, &mut c)?;
    }
    for _ in 0..length {
        let weights: Vec<f32> = probabilities.iter().map(|p| p.max(1e-12).powf(1.0 / temperature)).collect();
        let mut pick = rng.random::<f32>() * weights.iter().sum::<f32>();
        let id = weights.iter().position(|&w| {
            pick -= w;
            pick <= 0.0
        });
        let ch = alphabet.char(id.unwrap_or(weights.len() - 1));
        if ch == '\n' {
            break;
        }
        text.push(ch);
        probabilities = feed(alphabet.id(ch), &mut h, &mut c)?;
    }
    Ok(text)
}

/// Prints the validation perplexity, `exp(val_loss)`, after each epoch.
struct Perplexity;

impl Callback for Perplexity {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _model: &mut Model) -> Result<Control> {
        if let Some(loss) = logs.get("val_loss") {
            println!("epoch {}: validation perplexity {:.2}", epoch + 1, loss.exp());
        }
        Ok(Control::Continue)
    }
}
