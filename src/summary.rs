//! Printed views of a model: Keras' `summary()` table and a Mermaid flowchart.

use crate::Sequential;

/// `(None, 28, 28)`: a per-sample shape with Keras' batch placeholder.
fn keras_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = std::iter::once("None".to_string()).chain(shape.iter().map(|d| d.to_string())).collect();
    format!("({})", dims.join(", "))
}

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

impl Sequential {
    /// The layers that appear in summaries (the input declaration does not, as in Keras).
    fn shown_layers(&self) -> Vec<(usize, &dyn kensho_layers::Layer)> {
        self.layers()
            .iter()
            .enumerate()
            .filter(|(_, l)| l.kind() != "InputLayer")
            .map(|(i, l)| (i, l.as_ref()))
            .collect()
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
        let mut out = "Model: \"sequential\"\n".to_string();
        out += &line('┏', '┳', '┓', '━');
        out += &row('┃', ["Layer (type)".into(), "Output Shape".into(), "Param #".into()]);
        out += &line('┡', '╇', '┩', '━');
        let shown = self.shown_layers();
        for (k, (i, layer)) in shown.iter().enumerate() {
            let shape = self.layer_output_shapes().map_or("?".to_string(), |s| keras_shape(&s[*i]));
            let count: usize = layer.params().iter().map(|p| p.value.len()).sum();
            let built = self.layer_output_shapes().is_some();
            let count = if built { thousands(count) } else { "0 (unbuilt)".to_string() };
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
        let shapes = self.layer_output_shapes();
        let mut out = String::from("graph TD\n");
        let input = self.input_shape().map_or("?".to_string(), keras_shape);
        out += &format!("    input[\"Input<br/>{input}\"]\n");
        let mut previous = "input".to_string();
        for (i, layer) in self.shown_layers() {
            let shape = shapes.map_or("?".to_string(), |s| keras_shape(&s[i]));
            let id = format!("layer{i}");
            out += &format!("    {id}[\"{} ({})<br/>{shape}\"]\n", layer.name(), layer.kind());
            out += &format!("    {previous} --> {id}\n");
            previous = id;
        }
        let output = self.output_shape().map_or("?".to_string(), keras_shape);
        out += &format!("    output[\"Output<br/>{output}\"]\n    {previous} --> output\n");
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
