//! Printed views of a model: Keras' `summary()` table and a Mermaid flowchart.

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

impl Model {
    /// The calls that appear in summaries and diagrams: the first call of each layer, except
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

    /// Keras' summary table: each layer's name and type, output shape and parameter count, then
    /// the totals split into trainable and non-trainable.
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
    /// # Ok::<(), kensho::Error>(())
    /// ```
    pub fn summary(&self) -> String {
        let widths = [33, 24, 15];
        let line = |l: char, m: char, r: char, fill: char| {
            let parts: Vec<String> = widths.iter().map(|&w| fill.to_string().repeat(w)).collect();
            format!("{l}{}{r}\n", parts.join(&m.to_string()))
        };
        let row = |edge: char, cells: [String; 3]| {
            format!(
                "{edge} {:<w0$} {edge} {:<w1$} {edge} {:>w2$} {edge}\n",
                cells[0],
                cells[1],
                cells[2],
                w0 = widths[0] - 2,
                w1 = widths[1] - 2,
                w2 = widths[2] - 2
            )
        };
        let mut out = format!("Model: \"{}\"\n", self.name());
        out += &line('┏', '┳', '┓', '━');
        out += &row('┃', ["Layer (type)".into(), "Output Shape".into(), "Param #".into()]);
        out += &line('┡', '╇', '┩', '━');
        let shown = self.shown_calls();
        for (k, &c) in shown.iter().enumerate() {
            let layer = &self.graph.layers[self.graph.calls[c].layer];
            let shape = self.shape_text(ValueRef::Call { call: c, output: 0 });
            let count: usize = layer.params().iter().chain(layer.state().iter()).map(|p| p.value.len()).sum();
            let count = if self.is_built() { thousands(count) } else { "0 (unbuilt)".to_string() };
            out += &row('│', [format!("{} ({})", layer.name(), layer.kind()), shape, count]);
            out +=
                &if k + 1 < shown.len() { line('├', '┼', '┤', '─') } else { line('└', '┴', '┘', '─') };
        }
        let total = self.count_params();
        let trainable: usize = self.params().iter().filter(|p| p.trainable).map(|p| p.value.len()).sum();
        out += &format!(" Total params: {} ({})\n", thousands(total), byte_size(total));
        out += &format!(" Trainable params: {} ({})\n", thousands(trainable), byte_size(trainable));
        out += &format!(" Non-trainable params: {} ({})\n", thousands(total - trainable), byte_size(total - trainable));
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
        for i in 0..graph.num_inputs {
            out += &format!("    input{i}[\"Input<br/>{}\"]\n", self.shape_text(ValueRef::Input(i)));
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
}
