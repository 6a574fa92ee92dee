//! The manifest's model entries, `encoder` and `priceHead` (docs/bundle.md): the bundle contract
//! written once, here, beside the manifest that holds them; what each model makes of its entry
//! is checked where the model loads (`interest::spec`, `pricing::head::plain`).

use serde::{Deserialize, Serialize};

/// The feed-forward layer's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The exact GELU, `x * (1 + erf(x / sqrt 2)) / 2`.
    Gelu,
    /// `max(x, 0)`.
    Relu,
}

/// Where each sub-layer's layer norm sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// After the residual sum: `norm(x + f(x))` (SASRec's form in FMLP-Rec/BSARec).
    Post,
}

/// BSARec's low-pass branch beside each block's attention.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LowPass {
    /// How many of the lowest frequencies of the window's orthonormal real FFT the filter keeps.
    pub frequencies: usize,
    /// The branch's weight against the attention's (the attention gets `1 - alpha`).
    pub alpha: f32,
}

/// The manifest's `encoder`: a SASRec-family encoder whose weights are in the named file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncoderSpec {
    /// The safetensors file of the weights, listed in the manifest's `files`.
    pub weights: String,
    /// Transformer blocks.
    pub blocks: usize,
    /// Attention heads per block; they divide the width `dims`.
    pub heads: usize,
    /// The feed-forward layer's inner width.
    pub ffn_width: usize,
    /// The feed-forward layer's activation.
    pub activation: Activation,
    /// Where the layer norms sit.
    pub norm: Norm,
    /// Every layer norm's epsilon.
    pub layer_norm_epsilon: f32,
    /// What the attention adds to a masked score (a future position, a padding row).
    pub mask_value: f32,
    /// The low-pass branch, when the blocks have one.
    pub low_pass: Option<LowPass>,
    /// The streaming form, when set: each block attends this many positions back (the query's
    /// own included) with a learned bias per head and distance (`blocks.i.rel_bias`) and no
    /// position table, so a new event is encoded at the cost of one position per block. The
    /// window `seqLen` is then `blocks × (reach − 1) + 1`, all a last state depends on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<usize>,
}

/// The manifest's `priceHead`: the plain head's weights file and its inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceHeadSpec {
    /// The safetensors file of the weights, listed in the manifest's `files`.
    pub weights: String,
    /// The demand curve's form; `"logistic-log-price"` is the one there is.
    pub demand: String,
    /// The features, in the order of `feature_weight`.
    pub features: Vec<Feature>,
    /// Departments the head has weights for: every item's department must be below it.
    pub departments: usize,
    /// The shopper-level price response, when the head has one: the elasticity moves with these
    /// signals (`response_weight` in the weights file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<PriceResponse>,
}

/// How the elasticity depends on the shopper: `elasticity = softplus(department_elasticity[d] +
/// Σ response_weight[j] · (signal_j − mean[j]) / std[j])`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceResponse {
    /// The signals, in the order of `response_weight`, `mean` and `std`.
    pub signals: Vec<Feature>,
    /// Each signal's mean in the training examples: the shopper the shop knows nothing about.
    pub mean: Vec<f32>,
    /// Each signal's standard deviation in the training examples (positive).
    pub std: Vec<f32>,
    /// The population's deal share: a shopper's own share is shrunk towards it.
    pub deal_share_prior: f32,
    /// How many purchases' worth of weight the prior carries in a shopper's deal share.
    pub pseudo_lines: f32,
}

/// A feature the price head may read: the bundle lists them, in the order of its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Feature {
    /// The engine's interest score for the item.
    Interest,
    /// Whether the item is on display (0 or 1).
    Display,
    /// Whether the item is in the mailer (0 or 1).
    Mailer,
    /// sin(2π (week − 1) / 52), the week of the year.
    WeekSin,
    /// cos(2π (week − 1) / 52).
    WeekCos,
    /// The share of the shopper's purchases before this week paid below the list price, shrunk
    /// towards the population's (`PriceResponse`); computed on the device from its own events.
    DealShare,
}
