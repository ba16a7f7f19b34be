//! `summary()` and `to_mermaid()` of functional models: Keras' "Connected to" table for a
//! graph, its chain table (with the input layers) for a functional chain, and a `Sequential`'s
//! table unchanged.
//!
//! The expected tables below are written by hand from Keras 3's rules
//! (`keras/src/utils/summary_utils.py` rendered by `rich` on an 80-column terminal): the
//! columns are 21, 19, 12 and 19 characters wide with their padding (33, 24 and 15 for a
//! chain), a cell wraps at its spaces, a word too long for its column goes on a line of its own
//! and is cut with `…`, and layers are listed from the farthest from the outputs.

use kensho::prelude::*;

/// Input -> Dense -> Dense -> Add with the input.
fn residual_block() -> Model {
    let x = Input::new(&[8]);
    let h = Dense::new(8).activation(Activation::Relu).on(&x).unwrap();
    let h = Dense::new(8).on(&h).unwrap();
    let y = Add::new().on_all(&[&x, &h]).unwrap();
    Model::new(&[&x], &[&y]).unwrap()
}

/// Two inputs concatenated, then a Dense head.
fn two_inputs() -> Model {
    let a = Input::new(&[3]).with_name("a");
    let b = Input::new(&[5]).with_name("b");
    let joined = Concatenate::new(-1).on_all(&[&a, &b]).unwrap();
    let y = Dense::new(2).on(&joined).unwrap();
    Model::new(&[&a, &b], &[&y]).unwrap()
}

/// One Dense called on two inputs, the two results subtracted (a siamese pair).
fn siamese() -> Model {
    let left = Input::new(&[4]).with_name("left");
    let right = Input::new(&[4]).with_name("right");
    let tower = Dense::new(3).shared();
    let (l, r) = (tower.on(&left).unwrap(), tower.on(&right).unwrap());
    let y = Subtract::new().on_all(&[&l, &r]).unwrap();
    Model::new(&[&left, &right], &[&y]).unwrap()
}

/// The rows of a table (the lines between the header rule and the totals).
fn rows(summary: &str) -> Vec<&str> {
    summary.lines().skip(4).take_while(|l| !l.starts_with(" Total")).collect()
}

#[test]
fn residual_block_prints_keras_connected_to_table() {
    // Written by hand from Keras' rules (see the module comment): `input_layer (InputLayer)`
    // is too wide for 19 characters and wraps at its space; `input_layer[0][0],` is one word
    // too wide for 17, so it takes a line and is cut with `…`.
    let expected = "\
Model: \"functional\"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ input_layer         │ (None, 8)         │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense (Dense)       │ (None, 8)         │         72 │ input_layer[0][0] │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense_1 (Dense)     │ (None, 8)         │         72 │ dense[0][0]       │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add (Add)           │ (None, 8)         │          0 │ input_layer[0][0… │
│                     │                   │            │ dense_1[0][0]     │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 144 (576.00 B)
 Trainable params: 144 (576.00 B)
 Non-trainable params: 0 (0.00 B)
";
    assert_eq!(residual_block().summary(), expected);
}

#[test]
fn two_inputs_list_both_inputs_and_the_merge_reads_both() {
    let summary = two_inputs().summary();
    assert_eq!(
        rows(&summary),
        [
            "│ a (InputLayer)      │ (None, 3)         │          0 │ -                 │",
            "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
            "│ b (InputLayer)      │ (None, 5)         │          0 │ -                 │",
            "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
            "│ concatenate         │ (None, 8)         │          0 │ a[0][0], b[0][0]  │",
            "│ (Concatenate)       │                   │            │                   │",
            "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
            "│ dense (Dense)       │ (None, 2)         │         18 │ concatenate[0][0] │",
            "└─────────────────────┴───────────────────┴────────────┴───────────────────┘",
        ],
        "{summary}"
    );
}

#[test]
fn a_shared_layer_is_one_row_listing_each_call_and_its_params_count_once() {
    let model = siamese();
    let summary = model.summary();
    // One row for the layer, its inputs from both calls; the merge reads its calls 0 and 1.
    assert_eq!(
        rows(&summary),
        [
            "│ left (InputLayer)   │ (None, 4)         │          0 │ -                 │",
            "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
            "│ right (InputLayer)  │ (None, 4)         │          0 │ -                 │",
            "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
            "│ dense (Dense)       │ (None, 3)         │         15 │ left[0][0],       │",
            "│                     │                   │            │ right[0][0]       │",
            "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
            "│ subtract (Subtract) │ (None, 3)         │          0 │ dense[0][0],      │",
            "│                     │                   │            │ dense[1][0]       │",
            "└─────────────────────┴───────────────────┴────────────┴───────────────────┘",
        ],
        "{summary}"
    );
    assert_eq!(model.count_params(), 15);
    assert!(summary.contains(" Total params: 15 (60.00 B)\n"), "{summary}");
}

#[test]
fn a_layer_called_on_its_own_output_is_read_by_call_index() {
    let x = Input::new(&[4]);
    let twice = Dense::new(4).shared();
    let once = twice.on(&x).unwrap();
    let y = Dense::new(1).on(&twice.on(&once).unwrap()).unwrap();
    let summary = Model::new(&[&x], &[&y]).unwrap().summary();
    assert!(
        summary.contains("│ dense_1 (Dense)     │ (None, 1)         │          5 │ dense[1][0]       │"),
        "{summary}"
    );
    assert!(summary.contains(" Total params: 25 "), "{summary}");
}

#[test]
fn a_functional_chain_prints_the_chain_table_with_its_input_layer() {
    // Keras prints a functional model without branches, merges or shared layers in the
    // Sequential layout, but lists its InputLayer.
    let x = Input::new(&[4]);
    let y = Dense::new(2).on(&x).unwrap();
    let summary = Model::new(&[&x], &[&y]).unwrap().summary();
    assert_eq!(
        summary,
        "\
Model: \"functional\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ input_layer (InputLayer)        │ (None, 4)              │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 2)              │            10 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 10 (40.00 B)
 Trainable params: 10 (40.00 B)
 Non-trainable params: 0 (0.00 B)
"
    );
}

#[test]
fn sequential_summary_is_unchanged() {
    // Today's Sequential table: no input row, no "Connected to".
    let model =
        Sequential::new().add(Input::new(&[8])).add(Dense::new(8).activation(Activation::Relu)).add(Dense::new(8));
    assert_eq!(
        model.summary(),
        "\
Model: \"sequential\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 8)              │            72 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 8)              │            72 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 144 (576.00 B)
 Trainable params: 144 (576.00 B)
 Non-trainable params: 0 (0.00 B)
"
    );
}

#[test]
fn saved_models_print_the_same_summary_when_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let sequential = Sequential::new().add(Input::new(&[3])).add(Dense::new(2));
    for (model, file) in [(residual_block(), "residual"), (siamese(), "siamese"), (sequential.into_model(), "seq")] {
        let path = dir.path().join(format!("{file}.safetensors"));
        model.save(&path).unwrap();
        assert_eq!(kensho::load_model(&path).unwrap().summary(), model.summary(), "{file}");
    }
}

#[test]
fn mermaid_draws_branches_merges_and_each_call_of_a_shared_layer() {
    let mermaid = residual_block().to_mermaid();
    assert_eq!(
        mermaid,
        "graph TD
    input0[\"Input<br/>(None, 8)\"]
    call1[\"dense (Dense)<br/>(None, 8)\"]
    input0 --> call1
    call2[\"dense_1 (Dense)<br/>(None, 8)\"]
    call1 --> call2
    call3[\"add (Add)<br/>(None, 8)\"]
    input0 --> call3
    call2 --> call3
    output0[\"Output<br/>(None, 8)\"]
    call3 --> output0
"
    );
    let mermaid = two_inputs().to_mermaid();
    assert!(mermaid.contains("input0[\"a (Input)<br/>(None, 3)\"]"), "{mermaid}");
    assert!(mermaid.contains("input1[\"b (Input)<br/>(None, 5)\"]"), "{mermaid}");
    for edge in ["input0 --> call2", "input1 --> call2", "call2 --> call3", "call3 --> output0"] {
        assert!(mermaid.contains(edge), "missing {edge} in\n{mermaid}");
    }
    let mermaid = siamese().to_mermaid();
    assert_eq!(mermaid.matches("[\"dense (Dense)<br/>(None, 3)\"]").count(), 2, "{mermaid}");
    for edge in ["input0 --> call2", "input1 --> call3", "call2 --> call4", "call3 --> call4", "call4 --> output0"] {
        assert!(mermaid.contains(edge), "missing {edge} in\n{mermaid}");
    }
}

#[test]
fn layers_are_listed_from_the_farthest_from_the_outputs_as_in_keras() {
    // The topology of the ticket model of Keras' functional API guide (with Dense layers in
    // place of its Embedding and LSTM): Keras lists `tags` after the layers of the two deeper
    // branches, though it was made first.
    let tags = Input::new(&[12]).with_name("tags");
    let title = Input::new(&[10]).with_name("title");
    let body = Input::new(&[10]).with_name("body");
    let t = Dense::new(4).on(&Dense::new(4).on(&title).unwrap()).unwrap();
    let b = Dense::new(4).on(&Dense::new(4).on(&body).unwrap()).unwrap();
    let joined = Concatenate::new(-1).on_all(&[&t, &b, &tags]).unwrap();
    let priority = Dense::new(1).named("priority").on(&joined).unwrap();
    let department = Dense::new(4).named("department").on(&joined).unwrap();
    let model = Model::new(&[&title, &body, &tags], &[&priority, &department]).unwrap();
    let summary = model.summary();
    let names: Vec<&str> = rows(&summary)
        .iter()
        .filter_map(|r| r.strip_prefix("│ ")?.split(' ').next().filter(|n| !n.is_empty() && !n.starts_with('(')))
        .collect();
    assert_eq!(
        names,
        ["title", "body", "dense", "dense_2", "dense_1", "dense_3", "tags", "concatenate", "priority", "department"],
        "{summary}"
    );
    assert!(
        summary.contains("│ concatenate         │ (None, 20)        │          0 │ dense_1[0][0],    │"),
        "{summary}"
    );
}

#[test]
fn a_sequential_wraps_long_names_as_keras_does() {
    // 40 characters in a column of 31: rich breaks the line at the space.
    let model = Sequential::new().add(Input::new(&[6])).add(BatchNormalization::new());
    let summary = model.summary();
    assert!(
        summary.contains("│ batch_normalization             │ (None, 6)              │            24 │\n"),
        "{summary}"
    );
    assert!(
        summary.contains("│ (BatchNormalization)            │                        │               │\n"),
        "{summary}"
    );
}
