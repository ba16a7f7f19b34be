//! [`Tensors`]: the data given for a model's inputs or targets, as one tensor, a list in order,
//! or tensors by name (Keras' dictionaries), and its resolution against the model's names.

use kensho_core::{Error, Result, Tensor};

/// Data for a model's inputs (or its targets): one tensor, tensors in order, or tensors by the
/// name of the input (or output) they feed. Anything that converts into it can be passed to
/// [`Model::fit`](crate::Model::fit), [`Model::evaluate`](crate::Model::evaluate) and
/// [`Model::predict_many`](crate::Model::predict_many): `&x`, `[&a, &b]`, `vec![a, b]`,
/// `[("user", &u), ("item", &i)]`. Tensors share their buffers, so nothing is copied.
#[derive(Clone, Debug)]
pub enum Tensors {
    /// One tensor per input (or output), in order.
    List(Vec<Tensor>),
    /// Tensors by input (or output) name.
    Named(Vec<(String, Tensor)>),
}

impl Tensors {
    /// The tensors in the order of `names`, the model's input or output names (`what` says
    /// which, for the messages).
    pub(crate) fn resolve(self, names: &[String], what: &str) -> Result<Vec<Tensor>> {
        match self {
            Tensors::List(list) if list.len() == names.len() => Ok(list),
            Tensors::List(list) => Err(Error::invalid(
                format!("number of {what} tensors"),
                list.len(),
                format!("{} (one per model {what}: {names:?})", names.len()),
            )),
            Tensors::Named(named) => {
                if let Some((name, _)) = named.iter().find(|(n, _)| !names.contains(n)) {
                    return Err(Error::invalid(
                        format!("{what} name"),
                        name,
                        format!("one of the model's {what}s {names:?}"),
                    ));
                }
                names
                    .iter()
                    .map(|name| {
                        let mut found = named.iter().filter(|(n, _)| n == name);
                        match (found.next(), found.next()) {
                            (Some((_, t)), None) => Ok(t.clone()),
                            (None, _) => Err(Error::invalid(
                                format!("{what} \"{name}\""),
                                "no tensor",
                                format!("a tensor for every {what} {names:?}"),
                            )),
                            (Some(_), Some(_)) => {
                                Err(Error::invalid(format!("{what} \"{name}\""), "two tensors", "one tensor"))
                            }
                        }
                    })
                    .collect()
            }
        }
    }
}

impl From<&Tensor> for Tensors {
    fn from(t: &Tensor) -> Tensors {
        Tensors::List(vec![t.clone()])
    }
}

impl From<Tensor> for Tensors {
    fn from(t: Tensor) -> Tensors {
        Tensors::List(vec![t])
    }
}

impl From<Vec<Tensor>> for Tensors {
    fn from(list: Vec<Tensor>) -> Tensors {
        Tensors::List(list)
    }
}

impl From<&[Tensor]> for Tensors {
    fn from(list: &[Tensor]) -> Tensors {
        Tensors::List(list.to_vec())
    }
}

impl From<&[&Tensor]> for Tensors {
    fn from(list: &[&Tensor]) -> Tensors {
        Tensors::List(list.iter().map(|&t| t.clone()).collect())
    }
}

impl<const N: usize> From<[&Tensor; N]> for Tensors {
    fn from(list: [&Tensor; N]) -> Tensors {
        Tensors::List(list.iter().map(|&t| t.clone()).collect())
    }
}

impl<const N: usize> From<[(&str, &Tensor); N]> for Tensors {
    fn from(named: [(&str, &Tensor); N]) -> Tensors {
        Tensors::Named(named.iter().map(|&(n, t)| (n.to_string(), t.clone())).collect())
    }
}

impl From<&[(&str, &Tensor)]> for Tensors {
    fn from(named: &[(&str, &Tensor)]) -> Tensors {
        Tensors::Named(named.iter().map(|&(n, t)| (n.to_string(), t.clone())).collect())
    }
}

impl From<Vec<(String, Tensor)>> for Tensors {
    fn from(named: Vec<(String, Tensor)>) -> Tensors {
        Tensors::Named(named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["user".to_string(), "item".to_string()]
    }

    #[test]
    fn named_tensors_follow_the_model_order() {
        let (u, i) = (Tensor::ones(&[2, 1]), Tensor::zeros(&[2, 1]));
        let resolved = Tensors::from([("item", &i), ("user", &u)]).resolve(&names(), "input").unwrap();
        assert_eq!(resolved[0].to_vec(), [1.0, 1.0]);
        assert_eq!(resolved[1].to_vec(), [0.0, 0.0]);
    }

    #[test]
    fn wrong_counts_and_names_are_errors_naming_the_model_names() {
        let t = Tensor::ones(&[2, 1]);
        let few = Tensors::from(&t).resolve(&names(), "input").unwrap_err().to_string();
        assert!(few.contains("number of input tensors") && few.contains("\"user\""), "{few}");
        let unknown = Tensors::from([("users", &t), ("item", &t)]).resolve(&names(), "input").unwrap_err();
        assert!(unknown.to_string().contains("users"), "{unknown}");
        let missing = Tensors::from([("user", &t)]).resolve(&names(), "input").unwrap_err();
        assert!(missing.to_string().contains("\"item\""), "{missing}");
        let twice = Tensors::from([("user", &t), ("user", &t), ("item", &t)]).resolve(&names(), "input");
        assert!(twice.unwrap_err().to_string().contains("two tensors"));
    }
}
