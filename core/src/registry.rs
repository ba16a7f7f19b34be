//! [`Registry`]: user classes looked up by class name, so that configurations of user-defined
//! layers, losses, optimizers and metrics can be saved and loaded like the built-in ones.
//!
//! Each family keeps one `static` registry (for example `kensho_layers::register_layer`); a
//! saved configuration names its class, and loading asks the registry for a factory that turns
//! the class's JSON configuration back into an object.

use crate::{Error, Result};
use std::sync::{Arc, RwLock};

/// Builds an object from its JSON configuration.
pub type Factory<T> = Arc<dyn Fn(&serde_json::Value) -> Result<Box<T>> + Send + Sync>;

/// A table of factories by class name, for one family of objects (`what` names the family in
/// errors, such as `"layer"`).
///
/// ```
/// use kensho_core::registry::Registry;
/// static GREETINGS: Registry<String> = Registry::new("greeting");
/// GREETINGS.register("Hello", |config| Ok(Box::new(format!("hello {}", config["name"]))));
/// let made = GREETINGS.make("Hello", &serde_json::json!({ "name": "world" }))?;
/// assert_eq!(*made, "hello \"world\"");
/// assert!(GREETINGS.make("Bye", &serde_json::Value::Null).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub struct Registry<T: ?Sized> {
    what: &'static str,
    entries: RwLock<Vec<(String, Factory<T>)>>,
}

impl<T: ?Sized> Registry<T> {
    /// An empty registry for objects called `what` in messages.
    pub const fn new(what: &'static str) -> Registry<T> {
        Registry { what, entries: RwLock::new(Vec::new()) }
    }

    /// Registers (or replaces) the factory for `class_name`.
    pub fn register(
        &self,
        class_name: &str,
        factory: impl Fn(&serde_json::Value) -> Result<Box<T>> + Send + Sync + 'static,
    ) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(name, _)| name != class_name);
        entries.push((class_name.to_string(), Arc::new(factory)));
    }

    /// Whether `class_name` is registered.
    pub fn contains(&self, class_name: &str) -> bool {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).iter().any(|(name, _)| name == class_name)
    }

    /// Builds an object of the registered class `class_name` from its configuration.
    ///
    /// # Errors
    /// If no class of that name is registered (the message lists the registered ones and says
    /// how to register), or the factory rejects the configuration.
    pub fn make(&self, class_name: &str, config: &serde_json::Value) -> Result<Box<T>> {
        let factory = {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            match entries.iter().find(|(name, _)| name == class_name) {
                Some((_, factory)) => Arc::clone(factory),
                None => {
                    let known: Vec<&str> = entries.iter().map(|(name, _)| name.as_str()).collect();
                    return Err(Error::invalid(
                        format!("{} class", self.what),
                        class_name,
                        format!(
                            "a built-in class or a registered one (registered: [{}]); register user classes \
                             before loading, with register_{}",
                            known.join(", "),
                            self.what
                        ),
                    ));
                }
            }
        };
        factory(config)
    }
}

/// The configuration of a user-defined class: its class name and its own settings as JSON.
/// Serialized as `{"class_name": .., "config": ..}`, like the built-in classes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegisteredConfig {
    /// The class name under which the class was registered.
    pub class_name: String,
    /// The class's settings (`null` when the class has none).
    #[serde(default)]
    pub config: serde_json::Value,
}

#[doc(hidden)]
pub use serde as __serde;
#[doc(hidden)]
pub use serde_json as __serde_json;

/// Implements `Deserialize` for a configuration enum tagged by class name
/// (`{"class_name": .., "config": ..}`): each listed variant reads its own configuration type
/// (so a malformed built-in configuration is reported with serde's message), and any other class
/// name becomes the enum's `Registered(RegisteredConfig)` variant.
#[macro_export]
macro_rules! deserialize_by_class_name {
    ($config:ident { $($variant:ident),* $(,)? }) => {
        impl<'de> $crate::registry::__serde::Deserialize<'de> for $config {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: $crate::registry::__serde::Deserializer<'de>,
            {
                use $crate::registry::__serde::de::Error as _;
                let raw: $crate::registry::RegisteredConfig =
                    $crate::registry::__serde::Deserialize::deserialize(deserializer)?;
                match raw.class_name.as_str() {
                    $(stringify!($variant) => $crate::registry::__serde_json::from_value(raw.config)
                        .map($config::$variant)
                        .map_err(|e| D::Error::custom(format!("{} config: {e}", stringify!($variant)))),)*
                    _ => Ok($config::Registered(raw)),
                }
            }
        }
    };
}
