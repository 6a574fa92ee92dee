//! The JavaScript boundary: every `#[wasm_bindgen]` item, and nothing but conversion between JS
//! values and the core's types. Errors become JS `Error`s named `EdgerecError` with a `code`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::bundle::{parse_public_key_hex, BundleFiles};
use crate::engine::{Engine, QuoteRequest, RecommendRequest};
use crate::error::Error;
use crate::events::{RawEvent, MAX_EVENTS_PER_CALL};
use crate::pricing::{Objective, PricingSettings};

extern "C" {
    /// The static constructors wasm-ld collects (tract registers its kernels through
    /// `inventory`, which uses them).
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
fn start() {
    // Run the constructors once, here. Without an explicit call, wasm-ld treats the module as a
    // command and re-runs every constructor at the top of every export: each call from JS
    // re-registered tract's kernels (measured: a third of a warm `recommend` with 50 events).
    // SAFETY: called once, at instantiation, before any other export runs.
    unsafe { __wasm_call_ctors() };
    console_error_panic_hook::set_once();
}

fn js_error(err: Error) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name("EdgerecError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&js, &"code".into(), &err.code().into());
    js.into()
}

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        name,
        reason: reason.into(),
    }
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(invalid("result", e.to_string())))
}

/// Reads an array of events, each deserialised on its own so that an error names its index.
fn raw_events(value: &JsValue) -> Result<Vec<RawEvent>, Error> {
    let array = value
        .dyn_ref::<Array>()
        .ok_or_else(|| invalid("events", "expected an array of events"))?;
    let count = array.length() as usize;
    if count > MAX_EVENTS_PER_CALL {
        return Err(Error::TooManyEvents {
            count,
            max: MAX_EVENTS_PER_CALL,
        });
    }
    array
        .iter()
        .enumerate()
        .map(|(index, event)| {
            serde_wasm_bindgen::from_value(event).map_err(|e| Error::InvalidEvent {
                index,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The most keys pinned at once (the wrapper's limit too): a rotation needs two or three.
const MAX_PINNED_KEYS: u32 = 16;

/// The pinned keys: none (`undefined`), one (64 hex digits) or several (an array of them, for a key
/// rotation); anything else, `null` included, is refused rather than read as "no key".
fn pinned_keys(value: &JsValue) -> Result<Vec<[u8; 32]>, Error> {
    let wrong = || {
        invalid(
            "publicKey",
            format!("expected 64 hex digits or an array of 1 to {MAX_PINNED_KEYS} of them"),
        )
    };
    if value.is_undefined() {
        return Ok(Vec::new());
    }
    if let Some(hex) = value.as_string() {
        return Ok(vec![parse_public_key_hex(&hex)?]);
    }
    let array = value.dyn_ref::<Array>().ok_or_else(wrong)?;
    if array.length() == 0 || array.length() > MAX_PINNED_KEYS {
        return Err(wrong());
    }
    array
        .iter()
        .map(|key| parse_public_key_hex(&key.as_string().ok_or_else(wrong)?))
        .collect()
}

fn bundle_files(
    manifest: Vec<u8>,
    signature: Option<Vec<u8>>,
    files: &Object,
    digests: Option<Object>,
) -> Result<BundleFiles, Error> {
    let mut bundle = BundleFiles {
        manifest,
        signature,
        ..BundleFiles::default()
    };
    let digests = digests.map(|d| Object::entries(&d)).unwrap_or_default();
    for entry in digests.iter() {
        let entry = Array::from(&entry);
        let (name, digest) = (entry.get(0).as_string(), entry.get(1).as_string());
        let (Some(name), Some(digest)) = (name, digest) else {
            return Err(invalid(
                "digests",
                "must map file names to hex sha256 strings",
            ));
        };
        bundle.digests.insert(name, digest);
    }
    for entry in Object::entries(files).iter() {
        let entry = Array::from(&entry);
        let name = entry
            .get(0)
            .as_string()
            .ok_or_else(|| invalid("files", "file names must be strings"))?;
        let bytes = entry
            .get(1)
            .dyn_into::<Uint8Array>()
            .map_err(|_| invalid("files", format!("{name:?} must be a Uint8Array")))?;
        bundle.files.insert(name, bytes.to_vec());
    }
    Ok(bundle)
}

/// The engine, as JavaScript sees it. The npm package wraps it; use `Edgerec` from there.
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    /// Shared with the GPU path's pending rankings, which borrow it only between awaits.
    inner: Rc<RefCell<Engine>>,
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Verifies and loads a bundle. `files` maps file names (as in the manifest) to their bytes
    /// (those this build reads, at least); `publicKey`, when given, is the ed25519 key (64 hex
    /// digits), or an array of keys, one of which must have signed the manifest; `pricing`, the
    /// merchant's pricing settings (validated here); `digests`, the hex sha256 of files the caller hashed from their bytes
    /// already (the wrapper, with Web Crypto), so that none is hashed twice.
    #[wasm_bindgen(constructor)]
    pub fn new(
        manifest: Vec<u8>,
        signature: Option<Vec<u8>>,
        files: &Object,
        #[wasm_bindgen(js_name = publicKey)] public_key: JsValue,
        pricing: JsValue,
        digests: Option<Object>,
    ) -> Result<WasmEngine, JsValue> {
        let keys = pinned_keys(&public_key).map_err(js_error)?;
        let settings = pricing_settings(pricing).map_err(js_error)?;
        settings.validate().map_err(js_error)?;
        let bundle = bundle_files(manifest, signature, files, digests).map_err(js_error)?;
        let mut inner = Engine::load(bundle, &keys).map_err(js_error)?;
        inner.set_pricing(settings).map_err(js_error)?;
        Ok(WasmEngine {
            inner: Rc::new(RefCell::new(inner)),
        })
    }

    /// The bundle's manifest, as a plain object.
    pub fn manifest(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.borrow().manifest())
    }

    /// Adds an array of events to the session: all of them, or none if any is invalid.
    pub fn observe(&mut self, events: JsValue) -> Result<(), JsValue> {
        let events = raw_events(&events).map_err(js_error)?;
        self.inner
            .borrow_mut()
            .observe(&events, js_sys::Date::now())
            .map_err(js_error)
    }

    /// Top-k recommendations: `{ k, exclude, candidates, events }`, all optional.
    pub fn recommend(&mut self, request: JsValue) -> Result<JsValue, JsValue> {
        let request = recommend_request(request).map_err(js_error)?;
        let result = self
            .inner
            .borrow_mut()
            .recommend(&request, js_sys::Date::now())
            .map_err(js_error)?;
        to_js(&result)
    }

    /// Quotes for `items` (an array of ids): `{ objective, minMargin, events, sessionKey,
    /// explain }`, all optional.
    pub fn quote(&mut self, items: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        let request = quote_request(items, options).map_err(js_error)?;
        let result = self
            .inner
            .borrow_mut()
            .quote(&request, js_sys::Date::now())
            .map_err(js_error)?;
        to_js(&result)
    }

    /// The user vector for `events`, or for the session when `events` is undefined.
    #[wasm_bindgen(js_name = userVector)]
    pub fn user_vector(&mut self, events: JsValue) -> Result<Vec<f32>, JsValue> {
        let events = optional_events(&events).map_err(js_error)?;
        self.inner
            .borrow_mut()
            .user_vector(events.as_deref(), js_sys::Date::now())
            .map_err(js_error)
    }

    /// The events held in the session, oldest first, as `{ type, item, ts, price }`.
    pub fn session(&self) -> Result<JsValue, JsValue> {
        let engine = self.inner.borrow();
        let catalog = engine.catalog();
        let events: Vec<SessionEvent<'_>> = engine
            .session()
            .map(|e| SessionEvent {
                kind: e.kind,
                item: &catalog.item(e.item).id,
                ts: e.ts,
                price: e.price,
            })
            .collect();
        to_js(&events)
    }

    /// Wipes the session and the prices quoted in it.
    pub fn forget(&mut self) {
        self.inner.borrow_mut().forget();
    }

    /// Where scoring runs now: `"cpu"` or `"gpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> JsValue {
        to_js(&self.inner.borrow().backend()).unwrap_or(JsValue::UNDEFINED)
    }
}

/// Which models the ONNX build runs (an export only that build has: the wrapper tells the builds
/// apart by their exports before it instantiates one).
#[cfg(feature = "onnx")]
#[wasm_bindgen(js_name = onnxRuntime)]
pub fn onnx_runtime() -> String {
    "interest.onnx and price.onnx, by tract-onnx".into()
}

/// The GPU build's additions (cargo feature `gpu`): the browser's WebGPU through wgpu.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Requests a WebGPU device and moves the item table there. Resolves to `{ backend,
    /// adapter }` or `{ backend: "cpu", reason }`: a missing adapter or a failed request leaves
    /// the engine on the CPU, never an error. `allowSoftware`: accept an emulated adapter.
    #[wasm_bindgen(js_name = useGpu)]
    pub fn use_gpu(
        &self,
        #[wasm_bindgen(js_name = allowSoftware)] allow_software: bool,
    ) -> js_sys::Promise {
        let engine = Rc::clone(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            let outcome = match crate::gpu::request_device(allow_software).await {
                Ok((device, info)) => engine.borrow_mut().use_gpu(device).map(|()| info.name),
                Err(e) => Err(e),
            };
            let result = Object::new();
            let set = |key: &str, value: JsValue| Reflect::set(&result, &key.into(), &value);
            let backend = engine.borrow().backend();
            set("backend", to_js(&backend)?)?;
            match outcome {
                Ok(adapter) => set("adapter", adapter.into())?,
                Err(e) => set("reason", e.0.into())?,
            };
            Ok(result.into())
        })
    }

    /// Top-k recommendations, ranked on the GPU when it is in use and suits the request (else on
    /// the CPU); resolves to the same list the CPU gives. A GPU failure falls back to the CPU.
    #[wasm_bindgen(js_name = recommendOnGpu)]
    pub fn recommend_on_gpu(&self, request: JsValue) -> Result<js_sys::Promise, JsValue> {
        let request = recommend_request(request).map_err(js_error)?;
        let (plan, job) = {
            let mut engine = self.inner.borrow_mut();
            let plan = engine
                .plan(&request, js_sys::Date::now())
                .map_err(js_error)?;
            let job = engine.gpu_job(&plan);
            (plan, job)
        };
        let engine = Rc::clone(&self.inner);
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let result = match job {
                Some(job) => {
                    let answer = job.run().await;
                    engine.borrow_mut().complete_on_gpu(&plan, answer)
                }
                None => engine.borrow_mut().rank_on_cpu(&plan),
            };
            to_js(&result.map_err(js_error)?)
        }))
    }

    /// Destroys the GPU device, as a lost device would be: for tests of the fallback.
    #[wasm_bindgen(js_name = loseGpuDevice)]
    pub fn lose_gpu_device(&self) {
        self.inner.borrow().lose_gpu_device();
    }
}

#[derive(Serialize)]
struct SessionEvent<'a> {
    #[serde(rename = "type")]
    kind: crate::events::EventKind,
    item: &'a str,
    ts: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
}

fn optional_events(value: &JsValue) -> Result<Option<Vec<RawEvent>>, Error> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        raw_events(value).map(Some)
    }
}

fn recommend_request(value: JsValue) -> Result<RecommendRequest, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(RecommendRequest::default());
    }
    if !value.is_object() {
        return Err(invalid("request", "expected an object such as { k: 10 }"));
    }
    let events =
        Reflect::get(&value, &"events".into()).map_err(|_| invalid("events", "unreadable"))?;
    let mut request: RecommendRequest =
        serde_wasm_bindgen::from_value(value).map_err(|e| invalid("request", e.to_string()))?;
    request.events = optional_events(&events)?;
    Ok(request)
}

fn pricing_settings(value: JsValue) -> Result<PricingSettings, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(PricingSettings::default());
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| Error::InvalidPricing(e.to_string()))
}

/// `quote`'s options but `events`, which is read event by event.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct QuoteOptions {
    objective: Option<String>,
    min_margin: Option<f64>,
    session_key: Option<String>,
    explain: bool,
}

fn quote_request(items: JsValue, options: JsValue) -> Result<QuoteRequest, Error> {
    let items: Vec<String> = serde_wasm_bindgen::from_value(items)
        .map_err(|_| invalid("items", "expected an array of item ids"))?;
    let (parsed, events) = if options.is_undefined() || options.is_null() {
        (QuoteOptions::default(), None)
    } else {
        if !options.is_object() {
            return Err(invalid(
                "options",
                "expected an object such as { objective: \"margin\" }",
            ));
        }
        let events = Reflect::get(&options, &"events".into())
            .map_err(|_| invalid("events", "unreadable"))?;
        let parsed: QuoteOptions = serde_wasm_bindgen::from_value(options)
            .map_err(|e| invalid("options", e.to_string()))?;
        (parsed, optional_events(&events)?)
    };
    let objective = match (parsed.objective.as_deref(), parsed.min_margin) {
        (None | Some("margin"), None) => Objective::Margin,
        (Some("revenue"), None) => Objective::Revenue,
        (Some("conversion"), Some(min_margin)) => Objective::Conversion { min_margin },
        (Some("conversion"), None) => {
            return Err(invalid("minMargin", "the conversion objective needs one"))
        }
        (Some("margin" | "revenue") | None, Some(_)) => {
            return Err(invalid(
                "minMargin",
                "only the conversion objective takes one",
            ))
        }
        (Some(other), _) => {
            return Err(invalid(
                "objective",
                format!("expected margin, revenue or conversion, got {other:?}"),
            ))
        }
    };
    Ok(QuoteRequest {
        items,
        objective: Some(objective),
        events,
        session_key: parsed.session_key,
        explain: parsed.explain,
    })
}
