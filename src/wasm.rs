//! The JavaScript boundary: every `#[wasm_bindgen]` item, and nothing but conversion between JS
//! values and the core's types. Errors become JS `Error`s named `EdgerecError` with a `code`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::bundle::{parse_public_key_hex, BundleFiles};
use crate::error::{middle_cut, Error};
use crate::events::{check_event_count, RawEvent};
use crate::model::Model;
use crate::pricing::{PricingSettings, QuoteOptions};
use crate::ranking::{Backend, RecommendRequest};
use crate::session::store::{SessionStore, StoreLimits};
use crate::session::Session;

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

/// The most characters of an error message that reach JS: a message that repeats caller text
/// (serde's "unknown field `…`", "invalid type: string …") keeps its start and its end.
const MESSAGE_CHARS: usize = 480;

fn js_error(err: Error) -> JsValue {
    let js = js_sys::Error::new(&middle_cut(&err.to_string(), MESSAGE_CHARS));
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

thread_local! {
    /// `JSON.stringify`'s replacer: a number JSON cannot write (NaN, ±Infinity) becomes its name,
    /// a string, so that reading it fails as a type error naming the field instead of reading
    /// `null` (which would pass for an absent optional field).
    static REPLACER: Closure<dyn Fn(JsValue, JsValue) -> JsValue> =
        Closure::new(|_key: JsValue, value: JsValue| match value.as_f64() {
            Some(n) if !n.is_finite() => JsValue::from_str(&n.to_string()),
            _ => value,
        });
}

/// A caller's value as JSON (`None` for `undefined` and `null`): read once, by `JSON.stringify`,
/// so that a getter that throws or a hostile proxy fails here, as `INVALID_ARGUMENT` naming
/// `name`, before any state is touched; and so that serde sees every field, unknown ones
/// included (reading a JS object field by field would never see a misspelt one).
fn json_of(name: &'static str, value: &JsValue) -> Result<Option<serde_json::Value>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let text = REPLACER
        .with(|replacer| js_sys::JSON::stringify_with_replacer(value, replacer.as_ref()))
        .map_err(|e| invalid(name, format!("could not be read: {}", thrown(&e))))?;
    let text = JsValue::from(text)
        .as_string()
        .ok_or_else(|| invalid(name, "is not a JSON value"))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| invalid(name, e.to_string()))
}

/// What a JS exception says: its `name: message` (each read through `Reflect`, so that a getter
/// that throws is caught), a thrown string itself, or a placeholder.
fn thrown(e: &JsValue) -> String {
    let text = |key: &str| {
        Reflect::get(e, &key.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    match (text("name"), text("message"), e.as_string()) {
        (Some(name), Some(message), _) => format!("{name}: {message}"),
        (_, _, Some(text)) => text,
        _ => "an exception without a message".into(),
    }
}

/// Reads a caller's options object into `T`, which refuses fields it does not know; `undefined`
/// or `null` give its defaults.
fn options<T: serde::de::DeserializeOwned + Default>(
    name: &'static str,
    value: JsValue,
) -> Result<T, Error> {
    match json_of(name, &value)? {
        None => Ok(T::default()),
        Some(object @ serde_json::Value::Object(_)) => {
            serde_json::from_value(object).map_err(|e| invalid(name, e.to_string()))
        }
        Some(_) => Err(invalid(name, "expected an object")),
    }
}

/// Reads an array of events, each on its own so that an error names its index.
fn raw_events(value: &JsValue) -> Result<Vec<RawEvent>, Error> {
    let Some(serde_json::Value::Array(array)) = json_of("events", value)? else {
        return Err(invalid("events", "expected an array of events"));
    };
    check_event_count(array.len())?;
    array
        .into_iter()
        .enumerate()
        .map(|(index, event)| {
            serde_json::from_value(event).map_err(|e| Error::InvalidEvent {
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
            .ok_or_else(|| invalid("bundle", "file names must be strings"))?;
        let bytes = entry
            .get(1)
            .dyn_into::<Uint8Array>()
            .map_err(|_| invalid("bundle", format!("file {name:?}: expected a Uint8Array")))?;
        bundle.files.insert(name, bytes.to_vec());
    }
    Ok(bundle)
}

/// The engine, as JavaScript sees it: one model, the page's own shopper, and a bounded store of
/// other shoppers' sessions by key. Every call names its session: `undefined` for the engine's
/// own shopper (no key reaches it), or a key of the store. The npm package wraps it; use
/// `Edgerec` from there.
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    /// Shared with the GPU path's pending rankings, which borrow it only between awaits.
    inner: Rc<RefCell<Inner>>,
}

/// What a [`WasmEngine`] holds.
struct Inner {
    model: Model,
    own: Session,
    store: SessionStore,
    #[cfg(feature = "gpu")]
    gpu: crate::gpu::GpuPath,
}

impl Inner {
    /// Runs `call` on the session `key` names: the engine's own for `None`, else the store's.
    fn with_session<T>(
        &mut self,
        key: Option<&str>,
        call: impl FnOnce(&Model, &mut Session) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Inner {
            model, own, store, ..
        } = self;
        match key {
            None => call(model, own),
            Some(key) => store.with(key, js_sys::Date::now(), |session| call(model, session)),
        }
    }

    /// Runs `call` on a session of `events` when the caller sent them (for that call only; no
    /// session is touched), else on the session `key` names. Both at once is an error.
    fn with_events_or_session<T>(
        &mut self,
        key: Option<&str>,
        events: Option<Vec<RawEvent>>,
        call: impl FnOnce(&Model, &mut Session) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match events {
            None => self.with_session(key, call),
            Some(_) if key.is_some() => Err(invalid(
                "events",
                "a call names a session or sends events, not both",
            )),
            Some(events) => {
                let mut once = Session::from_events(&self.model, &events, js_sys::Date::now())?;
                call(&self.model, &mut once)
            }
        }
    }
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Verifies and loads a bundle. `files` maps file names (as in the manifest) to their bytes
    /// (those this build reads, at least); `publicKey`, when given, is the ed25519 key (64 hex
    /// digits), or an array of keys, one of which must have signed the manifest; `pricing`, the
    /// merchant's pricing settings; `digests`, the hex sha256 of files the caller hashed from
    /// their bytes already (the wrapper, with Web Crypto), so that none is hashed twice;
    /// `sessions`, the caps of the store of keyed sessions (`{ maxSessions, maxBytes,
    /// idleMinutes }`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        manifest: Vec<u8>,
        signature: Option<Vec<u8>>,
        files: &Object,
        #[wasm_bindgen(js_name = publicKey)] public_key: JsValue,
        pricing: JsValue,
        digests: Option<Object>,
        sessions: JsValue,
    ) -> Result<WasmEngine, JsValue> {
        let keys = pinned_keys(&public_key).map_err(js_error)?;
        let settings = pricing_settings(pricing).map_err(js_error)?;
        let limits = options::<StoreLimits>("sessions", sessions).map_err(js_error)?;
        let store = SessionStore::new(limits).map_err(js_error)?;
        let bundle = bundle_files(manifest, signature, files, digests).map_err(js_error)?;
        let model = Model::load(bundle, &keys, settings).map_err(js_error)?;
        Ok(WasmEngine {
            inner: Rc::new(RefCell::new(Inner {
                model,
                own: Session::new(),
                store,
                #[cfg(feature = "gpu")]
                gpu: crate::gpu::GpuPath::default(),
            })),
        })
    }

    /// The bundle's manifest, as a plain object.
    pub fn manifest(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.borrow().model.manifest())
    }

    /// Refuses (`TOO_MANY_EVENTS`) a call of `count` events before the wrapper copies them.
    #[wasm_bindgen(js_name = checkEventCount)]
    pub fn check_event_count(&self, count: f64) -> Result<(), JsValue> {
        // A JS array's length is below 2^32; the cast saturates on anything larger.
        check_event_count(count as usize).map_err(js_error)
    }

    /// Adds an array of events to a session: all of them, or none if any is invalid.
    pub fn observe(&mut self, session: Option<String>, events: JsValue) -> Result<(), JsValue> {
        let events = raw_events(&events).map_err(js_error)?;
        self.inner
            .borrow_mut()
            .with_session(session.as_deref(), |model, s| {
                s.observe(model, &events, js_sys::Date::now())
            })
            .map_err(js_error)
    }

    /// Top-k recommendations for a session, or for `events` when given: `request` is `{ k,
    /// exclude, candidates, explain }`, all optional.
    pub fn recommend(
        &mut self,
        session: Option<String>,
        request: JsValue,
        events: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request = options::<RecommendRequest>("options", request).map_err(js_error)?;
        let events = optional_events(&events).map_err(js_error)?;
        let result = self
            .inner
            .borrow_mut()
            .with_events_or_session(session.as_deref(), events, |model, s| {
                s.recommend(model, &request)
            })
            .map_err(js_error)?;
        to_js(&result)
    }

    /// Quotes for `items` (an array of ids) in a session, or for `events` when given (then
    /// remembered nowhere): `options` is `{ objective, minMargin, explain }`, all optional.
    pub fn quote(
        &mut self,
        session: Option<String>,
        items: JsValue,
        options: JsValue,
        events: JsValue,
    ) -> Result<JsValue, JsValue> {
        let items = item_ids(items).map_err(js_error)?;
        let options = self::options::<QuoteOptions>("options", options).map_err(js_error)?;
        let events = optional_events(&events).map_err(js_error)?;
        let result = self
            .inner
            .borrow_mut()
            .with_events_or_session(session.as_deref(), events, |model, s| {
                s.quote(model, &items, &options, js_sys::Date::now())
            })
            .map_err(js_error)?;
        to_js(&result)
    }

    /// Why each of `items` would be recommended to a session (or for `events` when given): the
    /// events whose absence lowers its score most.
    pub fn explain(
        &mut self,
        session: Option<String>,
        items: JsValue,
        events: JsValue,
    ) -> Result<JsValue, JsValue> {
        let items = item_ids(items).map_err(js_error)?;
        let events = optional_events(&events).map_err(js_error)?;
        let result = self
            .inner
            .borrow_mut()
            .with_events_or_session(session.as_deref(), events, |model, s| {
                s.explain(model, &items)
            })
            .map_err(js_error)?;
        to_js(&result)
    }

    /// The user vector of a session, or of `events` when given.
    #[wasm_bindgen(js_name = userVector)]
    pub fn user_vector(
        &mut self,
        session: Option<String>,
        events: JsValue,
    ) -> Result<Vec<f32>, JsValue> {
        let events = optional_events(&events).map_err(js_error)?;
        self.inner
            .borrow_mut()
            .with_events_or_session(session.as_deref(), events, |model, s| s.user_vector(model))
            .map_err(js_error)
    }

    /// The events a session holds, oldest first, as `{ type, item, ts, price }` (none for a key
    /// the store does not hold; no session is created).
    pub fn events(&self, session: Option<String>) -> Result<JsValue, JsValue> {
        let inner = self.inner.borrow();
        let held = match session.as_deref() {
            None => Some(&inner.own),
            Some(key) => inner.store.get(key),
        };
        let catalog = inner.model.catalog();
        let events: Vec<SessionEvent<'_>> = held
            .into_iter()
            .flat_map(Session::events)
            .map(|e| SessionEvent {
                kind: e.kind,
                item: &catalog.item(e.item).id,
                ts: e.ts,
                price: e.price,
            })
            .collect();
        to_js(&events)
    }

    /// Wipes a session: its events, its cached vector and the prices quoted in it (a keyed
    /// session leaves the store).
    pub fn forget(&mut self, session: Option<String>) {
        let mut inner = self.inner.borrow_mut();
        match session.as_deref() {
            None => inner.own.forget(),
            Some(key) => {
                inner.store.remove(key);
            }
        }
    }

    /// The store of keyed sessions: `{ sessions, bytes, limits }`.
    #[wasm_bindgen(js_name = sessionStats)]
    pub fn session_stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().store.stats())
    }

    /// Where scoring runs now: `"cpu"` or `"gpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> JsValue {
        to_js(&self.inner.borrow().backend()).unwrap_or(JsValue::UNDEFINED)
    }
}

impl Inner {
    fn backend(&self) -> Backend {
        #[cfg(feature = "gpu")]
        if self.gpu.in_use() {
            return Backend::Gpu;
        }
        Backend::Cpu
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
                Ok((device, info)) => {
                    let mut inner = engine.borrow_mut();
                    let Inner { model, gpu, .. } = &mut *inner;
                    gpu.use_device(device, model.catalog()).map(|()| info.name)
                }
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

    /// Top-k recommendations for a session (or `events`), ranked on the GPU when it is in use and
    /// suits the request (else on the CPU); resolves to the same list the CPU gives. A GPU
    /// failure falls back to the CPU.
    #[wasm_bindgen(js_name = recommendOnGpu)]
    pub fn recommend_on_gpu(
        &self,
        session: Option<String>,
        request: JsValue,
        events: JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        let request = options::<RecommendRequest>("options", request).map_err(js_error)?;
        let events = optional_events(&events).map_err(js_error)?;
        let (plan, job) = {
            let mut inner = self.inner.borrow_mut();
            let plan = inner
                .with_events_or_session(session.as_deref(), events, |model, s| {
                    s.plan(model, &request)
                })
                .map_err(js_error)?;
            let Inner { model, gpu, .. } = &mut *inner;
            let job = plan.gpu_job(model, gpu);
            (plan, job)
        };
        let engine = Rc::clone(&self.inner);
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let result = match job {
                Some(job) => {
                    let answer = job.run().await;
                    let mut inner = engine.borrow_mut();
                    let Inner { model, gpu, .. } = &mut *inner;
                    plan.complete_on_gpu(model, gpu, answer)
                }
                None => {
                    let inner = engine.borrow();
                    plan.recommendations(&inner.model, plan.rank_on_cpu(&inner.model))
                }
            };
            to_js(&result.map_err(js_error)?)
        }))
    }

    /// Destroys the GPU device, as a lost device would be: for tests of the fallback.
    #[wasm_bindgen(js_name = loseGpuDevice)]
    pub fn lose_gpu_device(&self) {
        self.inner.borrow().gpu.lose_device();
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

fn pricing_settings(value: JsValue) -> Result<PricingSettings, Error> {
    options("pricing", value).map_err(|e| match e {
        Error::InvalidArgument { reason, .. } => Error::InvalidPricing(reason),
        other => other,
    })
}

/// Reads an array of item ids.
fn item_ids(value: JsValue) -> Result<Vec<String>, Error> {
    json_of("items", &value)?
        .and_then(|ids| serde_json::from_value(ids).ok())
        .ok_or_else(|| invalid("items", "expected an array of item ids"))
}
