//! The model bundle: `manifest.json`, its optional ed25519 signature, and the files it lists.
//! Nothing in a bundle is used before its size and sha256 match the manifest and, when the
//! caller pins a public key, the manifest's signature verifies.

mod entries;

pub use entries::{Activation, EncoderSpec, Feature, LowPass, Norm, PriceHeadSpec, PriceResponse};

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::datetime::parse_rfc3339_ms;
use crate::error::{Error, Result};

/// The bundle format version this build writes about and reads: 2 adds the plain-weights form
/// (the manifest's `encoder` and `priceHead` entries and their safetensors files).
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build still reads (its bundles run on the ONNX build).
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// The encoder, in ONNX.
pub const INTEREST_MODEL: &str = "interest.onnx";
/// The item table: embeddings and optional per-item columns.
pub const ITEM_TABLE: &str = "items.safetensors";
/// Item ids (the shop's SKUs) in table order, with display names and categories.
pub const ITEM_LIST: &str = "items.json";
/// The optional price head, in ONNX.
pub const PRICE_MODEL: &str = "price.onnx";

const REQUIRED_FILES: [&str; 2] = [ITEM_TABLE, ITEM_LIST];
const MAX_DIMS: usize = 1024;
const MAX_SEQ_LEN: usize = 512;
/// The largest `release`: JavaScript compares releases as numbers, exact up to 2^53 − 1.
pub const MAX_RELEASE: u64 = (1 << 53) - 1;

/// One file's entry in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Length in bytes.
    pub bytes: u64,
    /// Lower-case hex sha256 of the file's bytes.
    pub sha256: String,
}

/// `manifest.json`: what a bundle holds and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The bundle format version; see [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The model's own version, shown to shops and in explanations of quality.
    pub model_version: String,
    /// The release number: each bundle a key signs numbers higher than the last (0 when absent,
    /// as in manifests older than the field); the wrapper refuses a lower one than it accepted.
    #[serde(default)]
    pub release: u64,
    /// When the bundle stops being valid: an RFC 3339 date-time with a zone; the engine refuses
    /// to load it after that. None: it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Embedding width d.
    pub dims: usize,
    /// Sequence length L the encoder reads.
    pub seq_len: usize,
    /// Rows in the item table.
    pub item_count: usize,
    /// The plain-weights encoder's architecture and weights file (format 2), when the bundle
    /// has that form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderSpec>,
    /// The plain-weights price head's inputs and weights file (format 2), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_head: Option<PriceHeadSpec>,
    /// Every file of the bundle, by name.
    pub files: BTreeMap<String, FileEntry>,
    /// Quality figures measured on this bundle (free-form).
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// Training provenance: data hash, command, commit, hardware, time (free-form).
    #[serde(default)]
    pub training: serde_json::Value,
    /// The differential-privacy guarantee of the weights, when they were trained with DP-SGD;
    /// None: they carry no such guarantee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
}

/// The manifest's `privacy`: the (ε, δ) differential-privacy guarantee of DP-trained weights
/// (docs/privacy.md). It holds for everything that was derived from the training data through
/// the DP training, which is the files in `covers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Privacy {
    /// The unit protected: "shopper", one user's whole history (every event of theirs at once).
    pub unit: String,
    /// The neighbouring datasets the guarantee compares: "add/remove one shopper".
    pub adjacency: String,
    /// ε of the (ε, δ) guarantee, over every training step that led to the released weights.
    pub epsilon: f64,
    /// δ of the (ε, δ) guarantee.
    pub delta: f64,
    /// The privacy accountant that computed ε from the steps: "rdp" or "prv".
    pub accountant: String,
    /// The L2 norm each shopper's gradient was clipped to at every step.
    pub max_grad_norm: f64,
    /// The Gaussian noise's standard deviation, in units of `maxGradNorm`.
    pub noise_multiplier: f64,
    /// The probability with which each shopper was drawn into a step (Poisson sampling).
    pub sample_rate: f64,
    /// Epochs of training (passes of expected size over the shoppers).
    pub epochs: u32,
    /// Noisy gradient steps, each counted by the accountant.
    pub steps: u64,
    /// The bundle files whose contents the guarantee covers (every file of trained weights,
    /// the item table included).
    pub covers: Vec<String>,
    /// The DP library and its version, e.g. "opacus 1.5.4".
    pub library: String,
}

impl Privacy {
    /// Refuses a guarantee that cannot hold: ε not finite or negative, δ outside (0, 1), a sample
    /// rate outside (0, 1], or `covers` naming a file the bundle does not list.
    fn check(&self, files: &BTreeMap<String, FileEntry>) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidManifest(format!("`privacy`: {what}")));
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return bad(format!(
                "`epsilon` must be finite and at least 0, got {}",
                self.epsilon
            ));
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return bad(format!(
                "`delta` must be between 0 and 1, got {}",
                self.delta
            ));
        }
        if !(self.sample_rate > 0.0 && self.sample_rate <= 1.0) {
            return bad(format!(
                "`sampleRate` must be in (0, 1], got {}",
                self.sample_rate
            ));
        }
        if let Some(name) = self.covers.iter().find(|name| !files.contains_key(*name)) {
            return bad(format!(
                "`covers` names {name:?}, which `files` does not list"
            ));
        }
        Ok(())
    }
}

impl Manifest {
    /// Parses and checks a manifest: format version first, then the schema and its ranges.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::InvalidManifest(e.to_string()))?;
        let version = value
            .get("formatVersion")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| Error::InvalidManifest("missing numeric `formatVersion`".into()))?;
        if !(u64::from(OLDEST_FORMAT_VERSION)..=u64::from(FORMAT_VERSION)).contains(&version) {
            return Err(Error::UnsupportedFormatVersion {
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| Error::InvalidManifest(e.to_string()))?;
        manifest.check_ranges()?;
        Ok(manifest)
    }

    fn check_ranges(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidManifest(what));
        if self.dims == 0 || self.dims > MAX_DIMS {
            return bad(format!("`dims` must be 1 to {MAX_DIMS}, got {}", self.dims));
        }
        if self.seq_len == 0 || self.seq_len > MAX_SEQ_LEN {
            return bad(format!(
                "`seqLen` must be 1 to {MAX_SEQ_LEN}, got {}",
                self.seq_len
            ));
        }
        if self.item_count == 0 {
            return bad("`itemCount` must be at least 1".into());
        }
        if self.release > MAX_RELEASE {
            return bad(format!("`release` must be at most {MAX_RELEASE}"));
        }
        if let Some(expires) = self.expires.as_deref() {
            if parse_rfc3339_ms(expires).is_none() {
                return bad(format!(
                    "`expires` must be an RFC 3339 date-time with a zone, such as 2027-01-31T00:00:00Z, got {expires:?}"
                ));
            }
        }
        if let Some(name) = self.files.keys().find(|name| !is_safe_file_name(name)) {
            return bad(format!(
                "`files` lists {name:?}: file names must be plain names inside the bundle folder"
            ));
        }
        for name in REQUIRED_FILES {
            if !self.files.contains_key(name) {
                return bad(format!("`files` does not list {name:?}"));
            }
        }
        if let Some(spec) = &self.encoder {
            spec.check(self.dims, self.seq_len)?;
        }
        if let Some(privacy) = &self.privacy {
            privacy.check(&self.files)?;
        }
        let weights = [
            ("encoder.weights", self.encoder.as_ref().map(|e| &e.weights)),
            (
                "priceHead.weights",
                self.price_head.as_ref().map(|p| &p.weights),
            ),
        ];
        for (field, name) in weights {
            if let Some(name) = name.filter(|name| !self.files.contains_key(*name)) {
                return bad(format!(
                    "`{field}` names {name:?}, which `files` does not list"
                ));
            }
        }
        if self.encoder.is_none() && !self.files.contains_key(INTEREST_MODEL) {
            return bad(format!(
                "the bundle has no encoder: `files` lists no {INTEREST_MODEL:?} and there is no `encoder` entry"
            ));
        }
        for (name, entry) in &self.files {
            let hex_ok = entry.sha256.len() == 64
                && entry
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok {
                return bad(format!(
                    "`files.{name}.sha256` must be 64 lower-case hex digits"
                ));
            }
        }
        Ok(())
    }

    /// Refuses a manifest whose `expires` is at or before `now_ms` (milliseconds since the Unix
    /// epoch).
    pub fn check_expiry(&self, now_ms: f64) -> Result<()> {
        match self.expires.as_deref() {
            Some(expires) if parse_rfc3339_ms(expires).is_some_and(|at| at <= now_ms) => {
                Err(Error::BundleExpired {
                    expires: expires.to_owned(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// A name inside the bundle's folder: ASCII letters, digits, `.`, `_` and `-`, not starting with
/// a dot, so never a path (`/`, `\`, `..`) or a hidden file.
fn is_safe_file_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    bytes.next().is_some_and(plain) && bytes.all(|b| plain(b) || b == b'.')
}

/// A bundle as received: the manifest's bytes, its signature if one was shipped, and files by name.
#[derive(Debug, Clone, Default)]
pub struct BundleFiles {
    /// The exact bytes of `manifest.json`.
    pub manifest: Vec<u8>,
    /// The bytes of `manifest.sig` (a raw 64-byte ed25519 signature), if the bundle has one.
    pub signature: Option<Vec<u8>>,
    /// The other files, by their names in the manifest: those the build reads, at least.
    pub files: HashMap<String, Vec<u8>>,
    /// Lower-case hex sha256 digests of some of `files`, computed from their bytes by the
    /// platform (Web Crypto in the wrapper), so that no file is hashed twice; a file without one
    /// is hashed here.
    pub digests: HashMap<String, String>,
}

impl BundleFiles {
    /// Reads a bundle folder: `manifest.json`, `manifest.sig` when present, and the files the
    /// manifest lists (unverified: [`VerifiedBundle::verify`] checks them).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_dir(dir: &std::path::Path) -> Result<BundleFiles> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|_| Error::MissingFile(name.to_owned()))
        };
        let manifest = read("manifest.json")?;
        let signature = std::fs::read(dir.join("manifest.sig")).ok();
        let mut files = HashMap::new();
        for name in Manifest::parse(&manifest)?.files.keys() {
            files.insert(name.clone(), read(name)?);
        }
        Ok(BundleFiles {
            manifest,
            signature,
            files,
            digests: HashMap::new(),
        })
    }
}

/// A bundle whose manifest parsed and whose files all match it.
#[derive(Debug)]
pub struct VerifiedBundle {
    /// The parsed manifest.
    pub manifest: Manifest,
    files: HashMap<String, Vec<u8>>,
}

impl VerifiedBundle {
    /// Verifies the signature (when keys are pinned: any one of `public_keys` may have signed),
    /// parses the manifest, refuses it once expired at `now_ms` (milliseconds since the Unix
    /// epoch), and checks the size and sha256 of every given file it lists. A listed file that
    /// was not given is missing only if the build reads it ([`VerifiedBundle::file`]): the
    /// default build needs no ONNX.
    pub fn verify(
        bundle: BundleFiles,
        public_keys: &[[u8; 32]],
        now_ms: f64,
    ) -> Result<VerifiedBundle> {
        if !public_keys.is_empty() {
            verify_signature(&bundle.manifest, bundle.signature.as_deref(), public_keys)?;
        }
        let manifest = Manifest::parse(&bundle.manifest)?;
        manifest.check_expiry(now_ms)?;
        let mut files = bundle.files;
        files.retain(|name, _| manifest.files.contains_key(name));
        for (name, bytes) in &files {
            let digest = bundle.digests.get(name).map(String::as_str);
            check_file(name, &manifest.files[name], bytes, digest)?;
        }
        Ok(VerifiedBundle { manifest, files })
    }

    /// Whether the manifest lists a file and it was given.
    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// The verified bytes of a file the manifest lists.
    pub fn file(&self, name: &str) -> Result<&[u8]> {
        self.files
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::MissingFile(name.to_owned()))
    }
}

/// Checks one file's length and sha256 against its manifest entry; `digest` is its sha256 when
/// the platform computed it already.
pub fn check_file(name: &str, entry: &FileEntry, bytes: &[u8], digest: Option<&str>) -> Result<()> {
    let actual = bytes.len() as u64;
    if actual != entry.bytes {
        return Err(Error::SizeMismatch {
            file: name.to_owned(),
            expected: entry.bytes,
            actual,
        });
    }
    let digest = digest.map_or_else(|| sha256_hex(bytes), str::to_owned);
    if digest != entry.sha256 {
        return Err(Error::ChecksumMismatch {
            file: name.to_owned(),
            expected: entry.sha256.clone(),
            actual: digest,
        });
    }
    Ok(())
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses a pinned public key given as 64 hex digits.
pub fn parse_public_key_hex(hex: &str) -> Result<[u8; 32]> {
    let invalid = || Error::InvalidArgument {
        name: "publicKey",
        reason: "expected an ed25519 public key as 64 hex digits".into(),
    };
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(invalid());
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| invalid())?;
        *byte = u8::from_str_radix(text, 16).map_err(|_| invalid())?;
    }
    Ok(key)
}

/// Checks that one of the pinned `keys` signed `manifest`: several keys are pinned while a
/// merchant rotates from one to the next.
fn verify_signature(manifest: &[u8], signature: Option<&[u8]>, keys: &[[u8; 32]]) -> Result<()> {
    let keys = keys
        .iter()
        .map(|key| {
            VerifyingKey::from_bytes(key).map_err(|_| Error::InvalidArgument {
                name: "publicKey",
                reason: "not a valid ed25519 public key".into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let signature = signature.ok_or_else(|| {
        Error::BadSignature(
            "a public key is pinned, so every bundle must be signed, and this one has no manifest.sig"
                .into(),
        )
    })?;
    let signature = Signature::from_slice(signature).map_err(|_| {
        Error::BadSignature(format!(
            "manifest.sig must be 64 bytes, got {}",
            signature.len()
        ))
    })?;
    if keys
        .iter()
        .any(|key| key.verify_strict(manifest, &signature).is_ok())
    {
        return Ok(());
    }
    Err(Error::BadSignature(
        "the signature does not match manifest.json and any pinned key".into(),
    ))
}
