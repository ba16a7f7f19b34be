//! A two-tower recommender: predict the rating a user gives an item from the two ids alone,
//! on a synthetic ratings set whose noise floor is known.
//!
//! The ratings come from a seeded low-rank model: each user and each item has 4 latent
//! factors and a bias, and `rating = mean + user bias + item bias + dot(user, item) + noise`
//! with Gaussian noise of standard deviation 0.5. No model can beat that noise on unseen
//! pairs, so a test RMSE near 0.5 means the model has recovered the factors; predicting the
//! mean rating for every pair is the baseline to beat.
//!
//! The model has two inputs, the user and the item, each one-hot encoded. kensho has no
//! `Embedding` layer yet, so each tower is a `Dense` layer without bias on the one-hot vector,
//! which computes the same thing: row `id` of its kernel is the id's embedding. The towers are
//! joined with `Dot`, and one-unit towers give the user and item biases, added with `Add`.
//!
//! Run: `cargo run --release --example recommender`

use kensho::core::seeded_rng;
use kensho::data::to_categorical;
use kensho::prelude::*;

const USERS: usize = 200;
const ITEMS: usize = 150;
const RANK: usize = 4;
const RATINGS: usize = 20_000;
const TRAIN: usize = 16_000;
const MEAN_RATING: f32 = 3.5;
const NOISE_SIGMA: f32 = 0.5;

/// Ratings of distinct (user, item) pairs drawn from the seeded low-rank model: user ids,
/// item ids and ratings, each `[RATINGS]`, in random order.
fn synthetic_ratings(seed: u64) -> Result<(Tensor, Tensor, Tensor)> {
    let mut rng = seeded_rng(seed);
    // Factors of std 0.7 make the dot product's std about 1 (4 terms of variance 0.7^4).
    let user_factors = Tensor::rand_normal(&[USERS, RANK], 0.0, 0.7, &mut rng).to_vec();
    let item_factors = Tensor::rand_normal(&[ITEMS, RANK], 0.0, 0.7, &mut rng).to_vec();
    let user_bias = Tensor::rand_normal(&[USERS], 0.0, 0.5, &mut rng).to_vec();
    let item_bias = Tensor::rand_normal(&[ITEMS], 0.0, 0.5, &mut rng).to_vec();
    let noise = Tensor::rand_normal(&[RATINGS], 0.0, NOISE_SIGMA, &mut rng).to_vec();

    let pairs = rand::seq::index::sample(&mut rng, USERS * ITEMS, RATINGS);
    let (mut users, mut items, mut ratings) = (Vec::new(), Vec::new(), Vec::new());
    for (pair, noise) in pairs.iter().zip(noise) {
        let (u, i) = (pair / ITEMS, pair % ITEMS);
        let u_factors = &user_factors[u * RANK..(u + 1) * RANK];
        let i_factors = &item_factors[i * RANK..(i + 1) * RANK];
        let affinity: f32 = u_factors.iter().zip(i_factors).map(|(a, b)| a * b).sum();
        users.push(u as f32);
        items.push(i as f32);
        ratings.push(MEAN_RATING + user_bias[u] + item_bias[i] + affinity + noise);
    }
    Ok((
        Tensor::from_vec(users, &[RATINGS])?,
        Tensor::from_vec(items, &[RATINGS])?,
        Tensor::from_vec(ratings, &[RATINGS, 1])?,
    ))
}

/// The RMSE of predicting the constant `prediction` for every rating.
fn rmse_of_constant(ratings: &Tensor, prediction: f32) -> f32 {
    let squares: f32 = ratings.iter().map(|r| (r - prediction).powi(2)).sum();
    (squares / ratings.len() as f32).sqrt()
}

fn main() -> Result<()> {
    let (user_ids, item_ids, ratings) = synthetic_ratings(7)?;
    let users = to_categorical(&user_ids, Some(USERS))?;
    let items = to_categorical(&item_ids, Some(ITEMS))?;
    // The pairs are in random order: the first TRAIN train, the rest test.
    let split = |t: &Tensor| (t.slice_axis(0, 0, TRAIN), t.slice_axis(0, TRAIN, RATINGS));
    let ((users_train, users_test), (items_train, items_test)) = (split(&users), split(&items));
    let (ratings_train, ratings_test) = split(&ratings);
    println!("{USERS} users, {ITEMS} items, {TRAIN} training and {} test ratings", RATINGS - TRAIN);

    let user = Input::new(&[USERS]).with_name("user");
    let item = Input::new(&[ITEMS]).with_name("item");
    let user_tower = Dense::new(RANK).use_bias(false).named("user_tower").on(&user)?;
    let item_tower = Dense::new(RANK).use_bias(false).named("item_tower").on(&item)?;
    let affinity = Dot::new(1).named("affinity").on_all(&[&user_tower, &item_tower])?;
    let user_bias = Dense::new(1).use_bias(false).named("user_bias").on(&user)?;
    // This tower's own bias is the global offset, the mean rating.
    let item_bias = Dense::new(1).named("item_bias").on(&item)?;
    let rating = Add::new().named("rating").on_all(&[&affinity, &user_bias, &item_bias])?;
    let mut model = Model::with_seed(&[&user, &item], &[&rating], 42)?;
    println!("{}", model.summary());

    model.compile(Adam::new(5e-3), losses::MeanSquaredError, vec![Box::new(metrics::RootMeanSquaredError::new())])?;
    let options = FitOptions { epochs: 40, batch_size: 64, validation_split: 0.1, verbose: 2, ..Default::default() };
    model.fit([("user", &users_train), ("item", &items_train)], &ratings_train, options)?;

    let logs = model.evaluate([("user", &users_test), ("item", &items_test)], &ratings_test)?;
    let train_mean = ratings_train.mean_all();
    println!("\ntest RMSE");
    println!("  two-tower model:                   {:.4}", logs.get("rmse").unwrap_or(f32::NAN));
    println!("  noise floor (the noise's sigma):   {NOISE_SIGMA:.4}");
    println!("  baseline (the train mean, {train_mean:.2}):   {:.4}", rmse_of_constant(&ratings_test, train_mean));
    Ok(())
}
