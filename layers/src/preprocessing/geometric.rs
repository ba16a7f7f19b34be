//! What the geometric augmentations ([`RandomTranslation`](crate::RandomTranslation),
//! [`RandomRotation`](crate::RandomRotation), [`RandomZoom`](crate::RandomZoom)) share: one layer
//! core, parameterised by how each draws an image's map ([`DrawTransform`], implemented by the
//! layer's config), and written once by `geometric_layer!`: the resampling setters, the
//! build-time checks, the training-only forward pass that gives each image its own map, the
//! config and the PyTorch layout; `geometric_config!` declares the configs' shared fields.

use super::resample::{affine_transform, Affine};
use super::{FillMode, Interpolation};
use crate::layer::Ctx;
use kensho_autograd::Var;
use kensho_core::{Result, Rng};

/// How a geometric augmentation draws its transform, implemented by its config.
pub(crate) trait DrawTransform {
    /// Checks the factors; the errors name `owner` (`Kind "name"`) and the argument.
    fn check(&self, owner: &str) -> Result<()>;

    /// The map of one image of `height` x `width`, drawn from `rng`.
    fn draw(&self, rng: &mut Rng, height: usize, width: usize) -> Affine;
}

/// The forward pass of a geometric augmentation: in training, each image resampled through its
/// own map drawn by `transform` (in batch order, from the model's generator); the identity in
/// inference.
pub(crate) fn augment<'t>(
    x: Var<'t>,
    cx: &Ctx<'t>,
    transform: &impl DrawTransform,
    resampling: (Interpolation, FillMode, f32),
) -> Var<'t> {
    if !cx.training {
        return x;
    }
    let shape = x.shape();
    let mut rng = cx.rng.borrow_mut();
    let maps: Vec<Affine> = (0..shape[0]).map(|_| transform.draw(&mut rng, shape[1], shape[2])).collect();
    let (interpolation, fill_mode, fill_value) = resampling;
    affine_transform(x, &maps, interpolation, fill_mode, fill_value)
}

/// The configuration struct of a geometric layer: the fields given (its name and factors), then
/// the resampling fields every geometric layer has, with Keras' names and defaults
/// (`fill_mode`, `interpolation`, `fill_value`) and the declared `input_shape`.
macro_rules! geometric_config {
    ($(#[$meta:meta])* pub struct $config:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $config {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// How the uncovered points are filled (default `reflect`).
            #[serde(default)]
            pub fill_mode: $crate::FillMode,
            /// How the image is read between pixels (default `bilinear`).
            #[serde(default)]
            pub interpolation: $crate::Interpolation,
            /// The value of the uncovered points with `fill_mode` `constant`.
            #[serde(default)]
            pub fill_value: f32,
            /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
            #[serde(default)]
            pub input_shape: Option<$crate::Shape>,
        }
    };
}

pub(crate) use geometric_config;

/// The builder setters and the [`Layer`](crate::Layer) implementation of the geometric layer
/// `$layer`, whose `config` (of type `$config`, the payload of `LayerConfig::$layer`) has
/// `name`, `fill_mode`, `interpolation`, `fill_value` and `input_shape`, and implements
/// [`DrawTransform`].
macro_rules! geometric_layer {
    ($layer:ident, $config:ident) => {
        impl $layer {
            /// A layer from its configuration.
            pub fn from_config(config: $config) -> $layer {
                $layer { config }
            }

            /// Sets how the uncovered points are filled.
            pub fn fill_mode(mut self, fill_mode: $crate::FillMode) -> $layer {
                self.config.fill_mode = fill_mode;
                self
            }

            /// Sets the interpolation.
            pub fn interpolation(mut self, interpolation: $crate::Interpolation) -> $layer {
                self.config.interpolation = interpolation;
                self
            }

            /// Sets the value of the uncovered points for [`FillMode::Constant`](crate::FillMode::Constant).
            pub fn fill_value(mut self, fill_value: f32) -> $layer {
                self.config.fill_value = fill_value;
                self
            }

            /// Declares the per-sample input shape (on the first layer of a model).
            pub fn input_shape(mut self, shape: &[usize]) -> $layer {
                self.config.input_shape = Some($crate::Shape::known(shape));
                self
            }

            /// Gives the layer a name instead of the automatic one (Keras' `name=`).
            pub fn with_name(mut self, name: &str) -> $layer {
                $crate::Layer::set_name(&mut self, name);
                self
            }
        }

        impl $crate::Layer for $layer {
            fn name(&self) -> &str {
                &self.config.name
            }

            fn set_name(&mut self, name: &str) {
                self.config.name = name.to_string();
            }

            fn kind(&self) -> &'static str {
                stringify!($layer)
            }

            fn build(
                &mut self,
                input_shape: &$crate::Shape,
                _rng: &mut kensho_core::Rng,
            ) -> kensho_core::Result<$crate::Shape> {
                let owner = format!("{} \"{}\"", self.kind(), self.config.name);
                $crate::preprocessing::geometric::DrawTransform::check(&self.config, &owner)?;
                $crate::preprocessing::require_image(self.kind(), &self.config.name, input_shape)?;
                Ok(input_shape.clone())
            }

            fn forward<'t>(&self, x: kensho_autograd::Var<'t>, cx: &$crate::Ctx<'t>) -> kensho_autograd::Var<'t> {
                let c = &self.config;
                $crate::preprocessing::geometric::augment(x, cx, c, (c.interpolation, c.fill_mode, c.fill_value))
            }

            fn config(&self) -> $crate::LayerConfig {
                $crate::LayerConfig::$layer(self.config.clone())
            }

            fn declared_input_shape(&self) -> Option<$crate::Shape> {
                self.config.input_shape.clone()
            }

            fn torch_layout(&self) -> Option<$crate::TorchLayout> {
                Some($crate::preprocessing::torch_layout())
            }
        }
    };
}

pub(crate) use geometric_layer;
