//! The one error type of the crate. Every failure a caller can cause is a variant with a
//! message a person can act on and a stable [`Error::code`] that the JS wrapper exposes.

/// Everything that can go wrong in edgerec, from a malformed event to a tampered bundle.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// An event failed validation; `index` is its position in the batch the caller passed.
    #[error("event {index}: {reason}")]
    InvalidEvent {
        /// The event's position in the batch.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// An event or candidate names an item that the bundle's catalogue does not hold.
    #[error("unknown item {item:?}: it is not in this model bundle's catalogue ({context})")]
    UnknownItem {
        /// The id, cut to its first [`Error::ID_SHOWN`] characters (any id longer than an event's
        /// is unknown, and the message stays short whatever the caller sent).
        item: String,
        /// Where it was named (`event 3`, `candidates`, `quote`).
        context: String,
    },

    /// A call carried more events than one call may carry.
    #[error("{count} events in one call; at most {max} are accepted per call")]
    TooManyEvents {
        /// How many the call carried.
        count: usize,
        /// The most one call may carry.
        max: usize,
    },

    /// An argument of `recommend` (or another call) is out of its allowed range.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's or option's name.
        name: &'static str,
        /// Why it is refused.
        reason: String,
    },

    /// The bundle's manifest could not be read.
    #[error("manifest.json is not a valid edgerec manifest: {0}")]
    InvalidManifest(String),

    /// The manifest declares a format version this build of edgerec does not read.
    #[error(
        "bundle format version {found} is not supported: this edgerec reads versions 1 to {supported}"
    )]
    UnsupportedFormatVersion {
        /// The manifest's version.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// A file the manifest requires was not supplied.
    #[error("bundle file {0:?} is missing")]
    MissingFile(String),

    /// A bundle file's byte length differs from the manifest's (a truncated or wrong download).
    #[error("bundle file {file:?} is {actual} bytes; the manifest says {expected}")]
    SizeMismatch {
        /// The file's name.
        file: String,
        /// The manifest's length.
        expected: u64,
        /// The supplied length.
        actual: u64,
    },

    /// A bundle file's sha256 differs from the manifest's (a corrupted or tampered file).
    #[error("bundle file {file:?} has sha256 {actual}; the manifest says {expected}")]
    ChecksumMismatch {
        /// The file's name.
        file: String,
        /// The manifest's sha256.
        expected: String,
        /// The supplied bytes' sha256.
        actual: String,
    },

    /// The caller pinned a public key and the manifest's signature is absent or does not verify.
    #[error("manifest signature rejected: {0}")]
    BadSignature(String),

    /// The manifest's `expires` date-time has passed: the bundle must not be used any more.
    #[error("the bundle expired at {expires}: publish a newer release")]
    BundleExpired {
        /// The manifest's `expires`, as written.
        expires: String,
    },

    /// The item table (`items.safetensors` or `items.json`) is malformed or disagrees with the manifest.
    #[error("invalid item table: {0}")]
    InvalidCatalog(String),

    /// The interest model could not be loaded or does not follow the encoder contract.
    #[error("invalid interest model: {0}")]
    InvalidModel(String),

    /// The bundle's model comes only as ONNX graphs, which this build does not read: the wrapper
    /// loads the ONNX build for it.
    #[error("this build runs plain-weights bundles only: {0}; load edgerec's ONNX build")]
    OnnxBuildRequired(String),

    /// The interest model failed at run time or produced a non-finite user vector.
    #[error("interest model failed: {0}")]
    Inference(String),

    /// The merchant's pricing settings are invalid (rejected when the engine is created).
    #[error("invalid pricing settings: {0}")]
    InvalidPricing(String),

    /// Quotes need what this bundle lacks: a price head, or the catalogue's prices.
    #[error("pricing unavailable: {0}")]
    PricingUnavailable(String),
}

impl Error {
    /// The most characters of an unknown id an error repeats.
    pub const ID_SHOWN: usize = 64;

    /// [`Error::UnknownItem`] for `id`, named where it was met (`context`).
    pub fn unknown_item(id: &str, context: impl Into<String>) -> Error {
        let item = match id.char_indices().nth(Self::ID_SHOWN) {
            Some((cut, _)) => format!("{}…", &id[..cut]),
            None => id.to_owned(),
        };
        Error::UnknownItem {
            item,
            context: context.into(),
        }
    }

    /// A stable machine-readable name for the variant, e.g. `"INVALID_EVENT"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidEvent { .. } => "INVALID_EVENT",
            Error::UnknownItem { .. } => "UNKNOWN_ITEM",
            Error::TooManyEvents { .. } => "TOO_MANY_EVENTS",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::InvalidManifest(_) => "INVALID_MANIFEST",
            Error::UnsupportedFormatVersion { .. } => "UNSUPPORTED_FORMAT_VERSION",
            Error::MissingFile(_) => "MISSING_FILE",
            Error::SizeMismatch { .. } => "SIZE_MISMATCH",
            Error::ChecksumMismatch { .. } => "CHECKSUM_MISMATCH",
            Error::BadSignature(_) => "BAD_SIGNATURE",
            Error::BundleExpired { .. } => "BUNDLE_EXPIRED",
            Error::InvalidCatalog(_) => "INVALID_CATALOG",
            Error::InvalidModel(_) => "INVALID_MODEL",
            Error::OnnxBuildRequired(_) => "ONNX_BUILD_REQUIRED",
            Error::Inference(_) => "INFERENCE_FAILED",
            Error::InvalidPricing(_) => "INVALID_PRICING",
            Error::PricingUnavailable(_) => "PRICING_UNAVAILABLE",
        }
    }
}

/// `text` when at most `chars` characters long, else its start and end around "…", `chars` in all
/// (for messages that repeat a caller's text).
pub fn middle_cut(text: &str, chars: usize) -> String {
    let count = text.chars().count();
    if count <= chars {
        return text.to_owned();
    }
    let head = chars.saturating_sub(1) / 2;
    let tail = chars.saturating_sub(1) - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::{middle_cut, Error};

    #[test]
    fn middle_cut_keeps_start_and_end_within_the_bound() {
        assert_eq!(middle_cut("short", 480), "short");
        let cut = middle_cut(&format!("{}{}", "a".repeat(600), "b".repeat(600)), 480);
        assert_eq!(cut.chars().count(), 480);
        assert!(cut.starts_with(&"a".repeat(239)) && cut.ends_with(&"b".repeat(240)));
        assert_eq!(middle_cut("abcdef", 5), "ab…ef");
    }

    #[test]
    fn an_unknown_id_is_repeated_at_most_id_shown_characters() {
        let short = Error::unknown_item("SKU-9", "quote");
        assert_eq!(
            short.to_string(),
            "unknown item \"SKU-9\": it is not in this model bundle's catalogue (quote)"
        );
        let long = "é".repeat(1_000_000);
        let Error::UnknownItem { item, .. } = Error::unknown_item(&long, "candidates") else {
            unreachable!()
        };
        assert_eq!(item, format!("{}…", "é".repeat(Error::ID_SHOWN)));
        assert!(Error::unknown_item(&long, "candidates").to_string().len() < 300);
    }
}
