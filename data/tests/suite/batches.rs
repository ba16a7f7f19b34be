//! Batches as lists of tensors: [`TensorDataset::from_lists`] with several inputs and targets,
//! its errors, and the loader over such a data set, through the public API only.

use kensho_data::{Batch, DataLoader, Dataset, Tensor, TensorDataset};

/// `[rows, ..tail]` filled with `start, start + 1, ...`, so every row is distinct.
fn counting(start: f32, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|v| start + v as f32).collect(), shape).unwrap()
}

fn two_by_two() -> (Vec<Tensor>, Vec<Tensor>) {
    let inputs = vec![counting(0.0, &[6, 2, 3]), counting(100.0, &[6])];
    let targets = vec![counting(200.0, &[6, 4]), counting(300.0, &[6, 1])];
    (inputs, targets)
}

#[test]
fn from_lists_gathers_every_input_and_target_like_index_select() {
    let (inputs, targets) = two_by_two();
    let ds = TensorDataset::from_lists(inputs.clone(), targets.clone()).unwrap();
    assert_eq!(ds.len(), 6);
    assert_eq!((ds.inputs().len(), ds.targets().len()), (2, 2));
    for indices in [vec![5, 0, 3], vec![2], vec![1, 1, 4, 0, 2, 5]] {
        let batch = ds.batch(&indices).unwrap();
        assert_eq!(batch.rows(), indices.len());
        assert_eq!((batch.inputs.len(), batch.targets.len()), (2, 2));
        for (got, all) in batch.inputs.iter().zip(&inputs).chain(batch.targets.iter().zip(&targets)) {
            let expected = all.index_select(0, &indices);
            assert_eq!(got.shape(), expected.shape());
            assert_eq!(got.to_vec(), expected.to_vec());
        }
    }
    // the order of the lists is kept: inputs[1] is the second tensor given
    assert_eq!(ds.batch(&[4]).unwrap().inputs[1].to_vec(), vec![104.0]);
    assert_eq!(ds.batch(&[4]).unwrap().targets[1].to_vec(), vec![304.0]);
}

#[test]
fn from_lists_names_the_tensor_its_shape_and_the_expected_rows_when_rows_disagree() {
    let (mut inputs, targets) = two_by_two();
    inputs[1] = Tensor::zeros(&[5]);
    let err = TensorDataset::from_lists(inputs, targets).unwrap_err().to_string();
    assert!(err.contains("inputs[1]") && err.contains("[5]") && err.contains("6 rows"), "{err}");
    assert!(err.contains("inputs[0] [6, 2, 3]"), "{err}");

    let (inputs, mut targets) = two_by_two();
    targets[1] = Tensor::zeros(&[7, 1]);
    let err = TensorDataset::from_lists(inputs, targets).unwrap_err().to_string();
    assert!(err.contains("targets[1]") && err.contains("[7, 1]") && err.contains("6 rows"), "{err}");
}

#[test]
fn from_lists_rejects_rank_0_tensors_and_an_empty_input_list() {
    let (inputs, mut targets) = two_by_two();
    targets[0] = Tensor::zeros(&[]);
    let err = TensorDataset::from_lists(inputs, targets).unwrap_err().to_string();
    assert!(err.contains("targets[0]") && err.contains("item axis"), "{err}");

    let err = TensorDataset::from_lists(vec![], vec![Tensor::zeros(&[3])]).unwrap_err().to_string();
    assert!(err.contains("inputs") && err.contains("at least one input"), "{err}");
}

#[test]
fn from_lists_accepts_no_target_for_data_to_predict_on() {
    let ds = TensorDataset::from_lists(vec![counting(0.0, &[4, 2])], vec![]).unwrap();
    let batch = ds.batch(&[3, 1]).unwrap();
    assert!(batch.targets.is_empty());
    assert_eq!(batch.inputs[0].to_vec(), vec![6.0, 7.0, 2.0, 3.0]);
}

#[test]
fn new_keeps_the_one_input_one_target_case_short() {
    let ds = TensorDataset::new(counting(0.0, &[3, 2]), counting(10.0, &[3])).unwrap();
    let batch = ds.batch(&[1]).unwrap();
    assert_eq!((batch.inputs.len(), batch.targets.len()), (1, 1));
    assert_eq!((batch.inputs[0].to_vec(), batch.targets[0].to_vec()), (vec![2.0, 3.0], vec![11.0]));
    let built = Batch::new(counting(0.0, &[2, 5]), counting(0.0, &[2]));
    assert_eq!((built.inputs.len(), built.targets.len(), built.rows()), (1, 1, 2));
}

#[test]
fn loader_over_several_inputs_and_targets_covers_every_row_once_per_epoch() {
    let (inputs, targets) = two_by_two();
    let ds = TensorDataset::from_lists(inputs, targets).unwrap();
    let loader = DataLoader::new(ds, 4).unwrap().shuffle(1).prefetch(1);
    let mut seen: Vec<f32> = Vec::new();
    for batch in loader.epoch(0) {
        let batch = batch.unwrap();
        assert_eq!((batch.inputs.len(), batch.targets.len()), (2, 2));
        // the rows of every tensor belong to the same items
        let ids = batch.inputs[1].to_vec();
        let target_ids: Vec<f32> = batch.targets[1].to_vec().iter().map(|v| v - 200.0).collect();
        assert_eq!(ids, target_ids);
        seen.extend(ids);
    }
    seen.sort_by(f32::total_cmp);
    assert_eq!(seen, vec![100.0, 101.0, 102.0, 103.0, 104.0, 105.0]);
}
