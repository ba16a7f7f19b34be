//! Printed views of a model: Keras' `summary()` table and a Mermaid flowchart.
//!
//! The table follows Keras 3 (`keras/src/utils/summary_utils.py`, rendered by `rich` on an
//! 80-column terminal): a `Sequential` lists its layers; a functional model also lists its
//! input layers and, unless it is a plain chain, says what each layer is connected to.

use crate::graph::ValueRef;
use crate::Model;

/// `235,146`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `918.54 KB`: the size of `n` f32 values.
fn byte_size(n: usize) -> String {
    let bytes = n as f64 * 4.0;
    let units = ["B", "KB", "MB", "GB"];
    let power = (0..units.len()).rev().find(|&p| bytes >= 1024f64.powi(p as i32)).unwrap_or(0);
    format!("{:.2} {}", bytes / 1024f64.powi(power as i32), units[power])
}

/// A column of the summary table: its title, its width counting one space of padding on each
/// side, and whether its cells are right-aligned.
struct Column(&'static str, usize, bool);

/// The columns of a chain's table. Keras places them at 45 %, 80 % and 100 % of a 76-character
/// line; `rich` then narrows them to make room for the borders and padding.
const CHAIN_COLUMNS: [Column; 3] =
    [Column("Layer (type)", 33, false), Column("Output Shape", 24, false), Column("Param #", 15, true)];

/// The columns of any other functional model's table (at 30 %, 56 %, 74 % and 100 %).
const GRAPH_COLUMNS: [Column; 4] = [
    Column("Layer (type)", 21, false),
    Column("Output Shape", 19, false),
    Column("Param #", 12, true),
    Column("Connected to", 19, false),
];

/// Splits `text` into lines of at most `width` characters as `rich` does for Keras: at
/// spaces, a word too long for any line on a line of its own, and a line still too long cut
/// with `…`.
fn wrap_cell(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    // A word as `rich` sees it: a run of non-spaces with the spaces after it (and, for the
    // first, before it), as character offsets.
    let mut words = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = start;
        for spaces in [true, false, true] {
            while end < chars.len() && chars[end].is_whitespace() == spaces {
                end += 1;
            }
        }
        words.push((start, end));
        start = end;
    }
    let mut breaks = Vec::new();
    let mut offset = 0;
    for (start, end) in words {
        let length = chars[start..end].iter().rposition(|c| !c.is_whitespace()).map_or(0, |p| p + 1);
        if length > width.saturating_sub(offset) && start > 0 {
            breaks.push(start);
            offset = 0;
        }
        offset += end - start;
    }
    let mut lines = Vec::new();
    let mut from = 0;
    for to in breaks.into_iter().chain([chars.len()]) {
        let line: String = chars[from..to].iter().collect();
        let line = line.trim_end();
        lines.push(match line.chars().count() > width {
            true => line.chars().take(width.saturating_sub(1)).chain(['…']).collect(),
            false => line.to_string(),
        });
        from = to;
    }
    lines
}

/// Keras' table: a heavy header, then each row between light rules. With `wrap`, cells wrap
/// to their column as in Keras; without, each cell is one line (a `Sequential`'s table, kept as
/// it was printed before wrapping, overflows its column instead).
fn table(columns: &[Column], rows: &[Vec<String>], wrap: bool) -> String {
    let rule = |l: char, m: char, r: char, fill: char| {
        let parts: Vec<String> = columns.iter().map(|c| fill.to_string().repeat(c.1)).collect();
        format!("{l}{}{r}\n", parts.join(&m.to_string()))
    };
    let row = |edge: char, cells: &[String]| {
        let lines = |text: &String, width: usize| if wrap { wrap_cell(text, width) } else { vec![text.clone()] };
        let cells: Vec<Vec<String>> = columns.iter().zip(cells).map(|(c, text)| lines(text, c.1 - 2)).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        let mut out = String::new();
        for line in 0..height {
            out.push(edge);
            for (column, cell) in columns.iter().zip(&cells) {
                let (text, width) = (cell.get(line).map_or("", String::as_str), column.1 - 2);
                out += &match column.2 {
                    true => format!(" {text:>width$} {edge}"),
                    false => format!(" {text:<width$} {edge}"),
                };
            }
            out.push('\n');
        }
        out
    };
    let titles: Vec<String> = columns.iter().map(|c| c.0.to_string()).collect();
    let mut out = rule('┏', '┳', '┓', '━') + &row('┃', &titles) + &rule('┡', '╇', '┩', '━');
    for (k, cells) in rows.iter().enumerate() {
        out += &row('│', cells);
        out += &if k + 1 < rows.len() { rule('├', '┼', '┤', '─') } else { rule('└', '┴', '┘', '─') };
    }
    out
}

impl Model {
    /// Whether the model comes from the functional API (`Model::new`), read from its name,
    /// which model files keep: every model not built by a `Sequential` is functional.
    fn is_functional(&self) -> bool {
        self.name() != "sequential"
    }

    /// The calls that appear in a `Sequential`'s summary: the first call of each layer, except
    /// input declarations (which, as in Keras, do not appear).
    fn shown_calls(&self) -> Vec<usize> {
        let calls = &self.graph.calls;
        (0..calls.len())
            .filter(|&c| calls[..c].iter().all(|p| p.layer != calls[c].layer))
            .filter(|&c| !self.graph.layers[calls[c].layer].is_input())
            .collect()
    }

    /// A value's per-sample shape as Keras prints it, `(None, 28, 28)`, or `?` before build.
    fn shape_text(&self, value: ValueRef) -> String {
        self.graph.shape_of(value).map_or("?".to_string(), |s| s.with_batch())
    }

    /// The shapes of all of a call's outputs: one shape, or `[(None, 3), (None, 4)]`.
    fn outputs_text(&self, call: usize) -> String {
        let count = self.graph.call_shapes.as_ref().and_then(|s| s.get(call)).map_or(1, Vec::len);
        let shapes: Vec<String> = (0..count).map(|output| self.shape_text(ValueRef::Call { call, output })).collect();
        match shapes.len() {
            1 => shapes[0].clone(),
            _ => format!("[{}]", shapes.join(", ")),
        }
    }

    /// A layer's weight count (parameters and state), or `0 (unbuilt)`.
    fn count_text(&self, layer: usize) -> String {
        let layer = &self.graph.layers[layer];
        let count: usize = layer.params().iter().chain(layer.state().iter()).map(|p| p.value.len()).sum();
        if self.is_built() {
            thousands(count)
        } else {
            "0 (unbuilt)".to_string()
        }
    }

    /// The layers of a functional model in Keras' order, and whether Keras prints the model as
    /// a chain (without the "Connected to" column).
    ///
    /// Keras gives each call a depth, its distance from the outputs (the most over the calls
    /// that read it; a shared layer's later calls at least as deep as its earlier ones), lists
    /// layers from the deepest, those of equal depth in the order a depth-first walk from the
    /// outputs meets them, and prints a chain when each depth has one call, reading at most one
    /// value, and no layer is called twice.
    fn keras_layer_order(&self) -> (Vec<usize>, bool) {
        let (layers, calls) = (&self.graph.layers, &self.graph.calls);
        let (mut met, mut layers_met) = (vec![usize::MAX; layers.len()], 0);
        let mut seen = vec![false; calls.len()];
        let mut finished = Vec::with_capacity(calls.len());
        for &output in &self.graph.outputs {
            let (mut stack, mut next) = (Vec::<(usize, usize)>::new(), Some(output));
            loop {
                if let Some(ValueRef::Call { call, .. }) = next.take()
                    && !seen[call]
                {
                    seen[call] = true;
                    if met[calls[call].layer] == usize::MAX {
                        met[calls[call].layer] = layers_met;
                        layers_met += 1;
                    }
                    stack.push((call, 0));
                }
                let Some((call, read)) = stack.last_mut() else { break };
                match calls[*call].inputs.get(*read) {
                    Some(&input) => {
                        *read += 1;
                        next = Some(input);
                    }
                    None => {
                        finished.push(*call);
                        stack.pop();
                    }
                }
            }
        }
        let mut call_depth: Vec<Option<usize>> = vec![None; calls.len()];
        let mut layer_depth: Vec<Option<usize>> = vec![None; layers.len()];
        for &c in finished.iter().rev() {
            let depth = call_depth[c].unwrap_or(0).max(layer_depth[calls[c].layer].unwrap_or(0));
            (call_depth[c], layer_depth[calls[c].layer]) = (Some(depth), Some(depth));
            for &input in &calls[c].inputs {
                if let ValueRef::Call { call, .. } = input {
                    call_depth[call] = Some(call_depth[call].map_or(depth + 1, |d| d.max(depth + 1)));
                }
            }
        }
        let mut order: Vec<usize> = (0..layers.len()).collect();
        order.sort_by_key(|&l| (std::cmp::Reverse(layer_depth[l]), met[l]));
        let reads = |c: usize| if layers[calls[c].layer].is_input() { 0 } else { calls[c].inputs.len() };
        let chain = finished.iter().all(|&c| {
            let alone = finished.iter().filter(|&&o| call_depth[o] == call_depth[c]).count() == 1;
            let once = finished.iter().filter(|&&o| calls[o].layer == calls[c].layer).count() == 1;
            alone && once && reads(c) <= 1
        });
        (order, chain)
    }

    /// Keras' "Connected to" cell of a layer: every value that each of its calls reads, as
    /// `layer[call][output]` (`call` counting the calls of that layer), or `-` for an input.
    fn connected_text(&self, layer: usize) -> String {
        let calls = &self.graph.calls;
        let mut sources = Vec::new();
        for call in calls.iter().filter(|c| c.layer == layer && !self.graph.layers[layer].is_input()) {
            for &input in &call.inputs {
                if let ValueRef::Call { call: from, output } = input {
                    let source = calls[from].layer;
                    let node = calls[..from].iter().filter(|c| c.layer == source).count();
                    sources.push(format!("{}[{node}][{output}]", self.graph.layers[source].name()));
                }
            }
        }
        if sources.is_empty() {
            "-".to_string()
        } else {
            sources.join(", ")
        }
    }

    /// Keras' summary table: each layer's name and type, output shape and parameter count, then
    /// the totals split into trainable and non-trainable.
    ///
    /// A `Sequential` lists its layers. A functional model ([`Model::new`]) also lists its input
    /// layers (`input_layer (InputLayer)`) and, unless it is a plain chain, adds Keras' column
    /// "Connected to", which names the values each layer reads as `layer[call][output]` (a
    /// shared layer is one row that lists the inputs of all its calls). Its long cells wrap.
    ///
    /// When some kernel of the model holds weights that are exactly zero, as after
    /// [`PruneLowMagnitude`](crate::callbacks::PruneLowMagnitude), lines below the totals give
    /// every kernel's sparsity (the kernels of all the model's layers, biases aside):
    ///
    /// ```text
    ///  Kernel sparsity (weights exactly zero):
    ///    dense.kernel: 80.0 % (160,563 of 200,704)
    ///    dense_1.kernel: 80.0 % (26,214 of 32,768)
    /// ```
    ///
    /// Otherwise (any model that was not pruned) the summary is Keras' alone.
    ///
    /// ```
    /// use kensho::prelude::*;
    /// let mut model = Sequential::new()
    ///     .add(Input::new(&[784]))
    ///     .add(Dense::new(256).activation(Activation::Relu))
    ///     .add(Dense::new(128).activation(Activation::Relu))
    ///     .add(Dense::new(10).activation(Activation::Softmax));
    /// model.build_model()?;
    /// assert!(model.summary().contains("Total params: 235,146"));
    ///
    /// // A residual connection: `add` reads the input `x` and the output of `dense`.
    /// let x = Input::new(&[8]).with_name("x");
    /// let h = Dense::new(8).on(&x)?;
    /// let residual = Model::new(&[&x], &[&Add::new().on_all(&[&x, &h])?])?;
    /// let summary = residual.summary();
    /// assert!(summary.contains("│ x (InputLayer)      │ (None, 8)         │          0 │ -                 │"));
    /// assert!(summary.contains("│ add (Add)           │ (None, 8)         │          0 │ x[0][0],          │"));
    /// assert!(summary.contains("│                     │                   │            │ dense[0][0]       │"));
    /// # Ok::<(), kensho::Error>(())
    /// ```
    pub fn summary(&self) -> String {
        let calls = &self.graph.calls;
        let last_call = |layer: usize| calls.iter().rposition(|c| c.layer == layer);
        let mut out = format!("Model: \"{}\"\n", self.name());
        if self.is_functional() {
            let (order, chain) = self.keras_layer_order();
            let rows: Vec<Vec<String>> = order
                .iter()
                .map(|&l| {
                    let layer = &self.graph.layers[l];
                    let mut cells = vec![
                        format!("{} ({})", layer.name(), layer.kind()),
                        last_call(l).map_or("?".to_string(), |c| self.outputs_text(c)),
                        self.count_text(l),
                    ];
                    if !chain {
                        cells.push(self.connected_text(l));
                    }
                    cells
                })
                .collect();
            out += &if chain { table(&CHAIN_COLUMNS, &rows, true) } else { table(&GRAPH_COLUMNS, &rows, true) };
        } else {
            let rows: Vec<Vec<String>> = self
                .shown_calls()
                .into_iter()
                .map(|c| {
                    let layer = &self.graph.layers[calls[c].layer];
                    let shape = self.shape_text(ValueRef::Call { call: c, output: 0 });
                    vec![format!("{} ({})", layer.name(), layer.kind()), shape, self.count_text(calls[c].layer)]
                })
                .collect();
            out += &table(&CHAIN_COLUMNS, &rows, true);
        }
        let total = self.count_params();
        let trainable: usize = self.params().iter().filter(|p| p.trainable).map(|p| p.value.len()).sum();
        out += &format!(" Total params: {} ({})\n", thousands(total), byte_size(total));
        out += &format!(" Trainable params: {} ({})\n", thousands(trainable), byte_size(trainable));
        out += &format!(" Non-trainable params: {} ({})\n", thousands(total - trainable), byte_size(total - trainable));
        out + &self.sparsity_text()
    }

    /// The lines below the totals of a model with pruned kernels: each kernel's share of weights
    /// that are exactly zero, or nothing when no kernel has a zero (Keras' table unchanged).
    fn sparsity_text(&self) -> String {
        let kernels = crate::pruning::kernel_zeros(self, |_| true);
        if kernels.iter().all(|(_, zeros, _)| *zeros == 0) {
            return String::new();
        }
        let mut out = " Kernel sparsity (weights exactly zero):\n".to_string();
        for (name, zeros, len) in kernels {
            let percent = 100.0 * zeros as f64 / len as f64;
            out += &format!("   {name}: {percent:.1} % ({} of {})\n", thousands(zeros), thousands(len));
        }
        out
    }
    /// The model as a Mermaid `graph TD` flowchart (input, each layer with its output shape,
    /// output), which renders in GitHub, GitLab and most Markdown viewers.
    pub fn to_mermaid(&self) -> String {
        let graph = &self.graph;
        let mut out = String::from("graph TD\n");
        // The diagram node showing each value: an input node, or the node of the call that made
        // it (an input declaration passes its input's node on).
        let node_of = |v: ValueRef, nodes: &[String]| match v {
            ValueRef::Input(i) => format!("input{i}"),
            ValueRef::Call { call, .. } => nodes[call].clone(),
        };
        // With several inputs each input node carries its name, so they can be told apart.
        let names = self.input_names();
        for (i, name) in names.iter().enumerate() {
            let label = if names.len() > 1 { format!("{name} (Input)") } else { "Input".to_string() };
            out += &format!("    input{i}[\"{label}<br/>{}\"]\n", self.shape_text(ValueRef::Input(i)));
        }
        let mut nodes: Vec<String> = Vec::with_capacity(graph.calls.len());
        for (c, call) in graph.calls.iter().enumerate() {
            let layer = &graph.layers[call.layer];
            if layer.is_input() {
                let passed = node_of(call.inputs[0], &nodes);
                nodes.push(passed);
                continue;
            }
            let id = format!("call{c}");
            let shape = self.shape_text(ValueRef::Call { call: c, output: 0 });
            out += &format!("    {id}[\"{} ({})<br/>{shape}\"]\n", layer.name(), layer.kind());
            for &v in &call.inputs {
                out += &format!("    {} --> {id}\n", node_of(v, &nodes));
            }
            nodes.push(id);
        }
        for (o, &v) in graph.outputs.iter().enumerate() {
            out += &format!("    output{o}[\"Output<br/>{}\"]\n", self.shape_text(v));
            out += &format!("    {} --> output{o}\n", node_of(v, &nodes));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting_matches_keras() {
        assert_eq!(thousands(235146), "235,146");
        assert_eq!(thousands(999), "999");
        assert_eq!(byte_size(235146), "918.54 KB");
        assert_eq!(byte_size(0), "0.00 B");
    }

    #[test]
    fn cells_wrap_as_rich_wraps_them_for_keras() {
        // Cells of the tables in keras.io's functional API guide (17 characters wide).
        assert_eq!(
            wrap_cell("lstm[0][0], lstm_1[0][0], tags[0][0]", 17),
            ["lstm[0][0],", "lstm_1[0][0],", "tags[0][0]"]
        );
        assert_eq!(wrap_cell("conv2d_11[0][0], max_pooling2d[0][0]", 17), ["conv2d_11[0][0],", "max_pooling2d[0]…"]);
        assert_eq!(wrap_cell("(None, 30, 30, 32)", 17), ["(None, 30, 30,", "32)"]);
        assert_eq!(wrap_cell("embedding (Embedding)", 19), ["embedding", "(Embedding)"]);
        assert_eq!(wrap_cell("input_layer[0][0]", 17), ["input_layer[0][0]"]);
        assert_eq!(wrap_cell("a_very_long_name (Dense)", 10), ["a_very_lo…", "(Dense)"]);
        assert_eq!(wrap_cell("-", 17), ["-"]);
        assert_eq!(wrap_cell("", 17), [""]);
    }
}
