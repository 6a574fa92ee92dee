//! Sessions apart from the model: two sessions of one model never see each other's events,
//! user vector or prices; a `SessionStore` keeps its caps in sessions and bytes, evicts the least
//! recently used, drops idle sessions and refuses bad keys; a refused call changes nothing and
//! runs no encoder; the options a caller writes refuse fields they do not know.

mod common;

use common::{expected, grocery, model, view, NOW_MS};
use edgerec::events::{MAX_EVENTS_PER_CALL, SESSION_HISTORY};
use edgerec::pricing::MAX_PRICES_PER_SESSION;
use edgerec::session::store::{MAX_KEY_BYTES, MIN_STORE_BYTES};
use edgerec::{
    Error, PricingSettings, QuoteOptions, RawEvent, RecommendRequest, Session, SessionStore,
    StoreLimits,
};
use serde_json::json;

/// `n` views of the fixture's items, one after another.
fn views(n: usize, offset: usize) -> Vec<RawEvent> {
    (0..n)
        .map(|i| view(&format!("SKU-{:04}", (offset + i) % 60), 1e12 + i as f64))
        .collect()
}

fn limits(max_sessions: usize, max_bytes: usize, idle_minutes: f64) -> StoreLimits {
    StoreLimits {
        max_sessions,
        max_bytes,
        idle_minutes,
    }
}

fn store(limits: StoreLimits) -> SessionStore {
    SessionStore::new(limits).expect("valid limits")
}

/// The keys a store holds, of those given.
fn held<'a>(store: &SessionStore, keys: &[&'a str]) -> Vec<&'a str> {
    keys.iter()
        .copied()
        .filter(|k| store.get(k).is_some())
        .collect()
}

#[test]
fn two_sessions_never_see_each_others_events_or_vectors() {
    let model = model();
    let cases = expected().cases;
    let (first, second) = (cases[1].raw_events(), cases[2].raw_events());
    let alone = |events: &[RawEvent]| {
        Session::from_events(&model, events, NOW_MS)
            .unwrap()
            .user_vector(&model)
            .unwrap()
    };
    let mut a = Session::from_events(&model, &first, NOW_MS).unwrap();
    let mut b = Session::new();
    let va = a.user_vector(&model).unwrap();
    b.observe(&model, &second, NOW_MS).unwrap();
    let vb = b.user_vector(&model).unwrap();
    assert_ne!(va, vb);
    assert_eq!(va, alone(&first));
    assert_eq!(vb, alone(&second));
    // A's cached vector is A's, whatever B encoded since; and B's events are B's.
    assert_eq!(a.user_vector(&model).unwrap(), va);
    assert_eq!(a.events().len(), first.len());
    assert_eq!(b.events().len(), second.len());
    let request = RecommendRequest::default();
    assert_eq!(
        a.recommend(&model, &request).unwrap(),
        Session::from_events(&model, &first, NOW_MS)
            .unwrap()
            .recommend(&model, &request)
            .unwrap()
    );
    // Forgetting B leaves A as it was; a clone goes its own way.
    b.forget();
    assert_eq!(b.events().len(), 0);
    assert_eq!(b.user_vector(&model).unwrap(), alone(&[]));
    assert_eq!(a.user_vector(&model).unwrap(), va);
    let mut copy = a.clone();
    copy.observe(&model, &second, NOW_MS).unwrap();
    assert_ne!(copy.user_vector(&model).unwrap(), va);
    assert_eq!(a.events().len(), first.len());
    assert_eq!(a.user_vector(&model).unwrap(), va);
}

#[test]
fn one_model_serves_sessions_on_several_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    let model = std::sync::Arc::new(model());
    shared(&*model);
    let cases = expected().cases;
    let request = RecommendRequest::default();
    let alone: Vec<_> = cases
        .iter()
        .map(|case| {
            Session::from_events(&model, &case.raw_events(), NOW_MS)
                .unwrap()
                .recommend(&model, &request)
                .unwrap()
        })
        .collect();
    let threads: Vec<_> = cases
        .iter()
        .map(|case| {
            let (model, events, request) = (model.clone(), case.raw_events(), request.clone());
            std::thread::spawn(move || {
                let mut session = Session::from_events(&model, &events, NOW_MS).unwrap();
                (0..20)
                    .map(|_| session.recommend(&model, &request).unwrap())
                    .last()
                    .unwrap()
            })
        })
        .collect();
    for (thread, want) in threads.into_iter().zip(alone) {
        assert_eq!(thread.join().unwrap(), want);
    }
}

#[test]
fn two_sessions_never_see_each_others_prices() {
    let model = grocery();
    let items: Vec<String> = (0..30)
        .map(|row| model.catalog().item(row).id.clone())
        .collect();
    let events = |rows: std::ops::Range<usize>| -> Vec<RawEvent> {
        rows.map(|row| RawEvent {
            kind: Some("purchase".into()),
            ..view(&model.catalog().item(row).id, 1e12 + row as f64)
        })
        .collect()
    };
    let revenue = QuoteOptions {
        objective: Some("revenue".into()),
        explain: true,
        ..QuoteOptions::default()
    };
    let margin = QuoteOptions {
        explain: true,
        ..QuoteOptions::default()
    };
    let mut store = store(StoreLimits::default());
    let quote = |store: &mut SessionStore, key: &str, options: &QuoteOptions| {
        store
            .with(key, NOW_MS, |s| {
                s.observe(&model, &events(0..5), NOW_MS)?;
                s.quote(&model, &items, options, NOW_MS)
            })
            .unwrap()
    };
    let a = quote(&mut store, "a", &revenue);
    let b = quote(&mut store, "b", &margin);
    // A remembered its revenue prices; B, with the same events, is priced for its own objective.
    for (qa, qb) in a.iter().zip(&b) {
        assert_eq!(qa.explanation.as_ref().unwrap().objective, "revenue");
        assert_eq!(
            qb.explanation.as_ref().unwrap().objective,
            "margin",
            "{qb:?}"
        );
    }
    let mut alone = Session::from_events(&model, &events(0..5), NOW_MS).unwrap();
    assert_eq!(b, alone.quote(&model, &items, &margin, NOW_MS).unwrap());
    // Each key keeps its own, whatever the other asked since.
    assert_eq!(quote(&mut store, "a", &margin), a);
    assert_eq!(quote(&mut store, "b", &revenue), b);
    // A forgotten session prices anew.
    store
        .with("a", NOW_MS, |s| {
            s.forget();
            Ok(())
        })
        .unwrap();
    assert_eq!(quote(&mut store, "a", &margin), b);
}

#[test]
fn a_store_keeps_its_caps_over_ten_thousand_keys() {
    let model = model();
    let caps = limits(64, MIN_STORE_BYTES, 30.0);
    let mut store = store(caps.clone());
    let one = views(1, 0);
    for i in 0..10_000 {
        let key = format!("shopper-{i}");
        let held = store
            .with(&key, NOW_MS + i as f64, |s| {
                s.observe(&model, &one, NOW_MS)?;
                Ok(s.events().len())
            })
            .unwrap();
        assert_eq!(held, 1, "a new key starts a new session");
        let stats = store.stats();
        assert!(stats.sessions <= caps.max_sessions, "{stats:?}");
        assert!(stats.bytes <= caps.max_bytes, "{stats:?}");
        assert!(store.get(&key).is_some(), "the key just used is kept");
    }
    let stats = store.stats();
    assert_eq!(stats.sessions, 64);
    assert_eq!(stats.limits, caps);
    // The newest 64 are the ones held.
    assert!(store.get("shopper-9936").is_some());
    assert!(store.get("shopper-9935").is_none());
    for i in 9936..10_000 {
        assert!(store.remove(&format!("shopper-{i}")));
    }
    assert!(!store.remove("shopper-0"));
    assert_eq!(store.stats().sessions, 0);
    assert_eq!(store.stats().bytes, 0, "every byte counted is uncounted");
}

#[test]
fn a_session_at_its_largest_fits_the_smallest_store() {
    // Every event it may hold, and a price remembered, with its explanation, for every item it
    // may remember: MIN_STORE_BYTES is documented as room for that.
    let model = grocery();
    let rows = 0..model.catalog().len().min(MAX_PRICES_PER_SESSION);
    let items: Vec<String> = rows
        .clone()
        .map(|row| model.catalog().item(row).id.clone())
        .collect();
    let events: Vec<RawEvent> = (0..SESSION_HISTORY)
        .map(|i| view(&items[i % items.len()], 1e12 + i as f64))
        .collect();
    let mut store = store(limits(10, MIN_STORE_BYTES, 30.0));
    let conversion = QuoteOptions {
        objective: Some("conversion".into()),
        min_margin: Some(0.05),
        explain: true,
        ..QuoteOptions::default()
    };
    store
        .with("largest", NOW_MS, |s| {
            for batch in events.chunks(MAX_EVENTS_PER_CALL) {
                s.observe(&model, batch, NOW_MS)?;
            }
            s.quote(&model, &items, &conversion, NOW_MS)
        })
        .unwrap();
    let stats = store.stats();
    assert_eq!(stats.sessions, 1);
    let session = store.get("largest").unwrap();
    assert_eq!(session.events().len(), SESSION_HISTORY);
    assert!(
        stats.bytes <= MIN_STORE_BYTES,
        "{} bytes for one session, above {MIN_STORE_BYTES}",
        stats.bytes
    );
}

#[test]
fn a_store_keeps_its_byte_cap_with_large_sessions() {
    let model = model();
    let caps = limits(100_000, MIN_STORE_BYTES, 30.0);
    let mut store = store(caps.clone());
    let full = views(1000, 0);
    let per_session = Session::from_events(&model, &full, NOW_MS)
        .unwrap()
        .approx_bytes();
    assert!(
        per_session > Session::new().approx_bytes() + 1000 * 16,
        "events count: {per_session}"
    );
    let mut fewest = usize::MAX;
    for i in 0..300 {
        store
            .with(&format!("big-{i}"), NOW_MS, |s| {
                s.observe(&model, &full, NOW_MS)
            })
            .unwrap();
        let stats = store.stats();
        assert!(stats.bytes <= caps.max_bytes, "{stats:?}");
        fewest = fewest.min(300 - stats.sessions);
    }
    let stats = store.stats();
    assert!(
        stats.sessions < 300 && stats.sessions >= caps.max_bytes / (2 * per_session),
        "{stats:?} with {per_session} bytes a session"
    );
    assert!(stats.bytes + per_session * 2 > caps.max_bytes, "{stats:?}");
    assert!(fewest > 0);
}

#[test]
fn the_least_recently_used_session_goes_first() {
    let mut store = store(limits(3, MIN_STORE_BYTES, 30.0));
    let touch = |store: &mut SessionStore, key: &str| store.with(key, NOW_MS, |_| Ok(())).unwrap();
    let keys = ["a", "b", "c", "d", "e"];
    for key in ["a", "b", "c"] {
        touch(&mut store, key);
    }
    touch(&mut store, "a");
    // Reading a session is not a use.
    assert!(store.get("b").is_some());
    touch(&mut store, "d");
    assert_eq!(
        held(&store, &keys),
        ["a", "c", "d"],
        "b was the least recent"
    );
    touch(&mut store, "e");
    assert_eq!(held(&store, &keys), ["a", "d", "e"]);
    assert!(store.remove("d"));
    touch(&mut store, "b");
    assert_eq!(
        held(&store, &keys),
        ["a", "b", "e"],
        "room made by remove is used"
    );
    assert_eq!(store.stats().sessions, 3);
}

#[test]
fn idle_sessions_are_dropped_after_their_idle_time() {
    let model = model();
    let mut store = store(limits(100, MIN_STORE_BYTES, 1.0));
    let minute = 60_000.0;
    let t0 = NOW_MS - 10.0 * minute;
    let keys = ["a", "b", "c", "d"];
    let observe = |store: &mut SessionStore, key: &str, now: f64| {
        store
            .with(key, now, |s| {
                s.observe(&model, &views(1, 0), NOW_MS)?;
                Ok(s.events().len())
            })
            .unwrap()
    };
    observe(&mut store, "a", t0);
    observe(&mut store, "b", t0 + 0.5 * minute);
    observe(&mut store, "c", t0 + minute);
    assert_eq!(
        held(&store, &keys),
        ["a", "b", "c"],
        "idle for exactly the idle time: kept"
    );
    observe(&mut store, "c", t0 + minute + 1.0);
    assert_eq!(held(&store, &keys), ["b", "c"], "a idled out");
    // A key used again in time keeps its session; one that idled out starts anew.
    assert_eq!(observe(&mut store, "b", t0 + 1.4 * minute), 2);
    assert_eq!(observe(&mut store, "a", t0 + 1.4 * minute), 1);
    observe(&mut store, "d", t0 + 5.0 * minute);
    assert_eq!(held(&store, &keys), ["d"]);
    assert_eq!(store.stats().sessions, 1);
}

#[test]
fn keys_of_no_bytes_or_too_many_are_refused() {
    let mut store = store(StoreLimits::default());
    let longest = "k".repeat(MAX_KEY_BYTES);
    let accents = "é".repeat(MAX_KEY_BYTES / 2);
    for key in [
        String::new(),
        "k".repeat(MAX_KEY_BYTES + 1),
        "é".repeat(MAX_KEY_BYTES / 2 + 1),
    ] {
        let mut ran = false;
        let err = store
            .with(&key, NOW_MS, |_| {
                ran = true;
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    name: "session",
                    ..
                }
            ),
            "{} bytes: {err}",
            key.len()
        );
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(!ran, "the call ran for a refused key");
    }
    assert_eq!(store.stats().sessions, 0);
    assert_eq!(store.stats().bytes, 0);
    for key in [&longest, &accents, &"x".to_owned()] {
        store.with(key, NOW_MS, |_| Ok(())).unwrap();
    }
    assert_eq!(store.stats().sessions, 3);
}

/// A call on a session, as a store runs it.
type SessionCall<'a> = dyn Fn(&mut Session) -> edgerec::Result<()> + 'a;

#[test]
fn a_failed_call_leaves_the_session_unchanged() {
    let model = model();
    let mut store = store(StoreLimits::default());
    store
        .with("a", NOW_MS, |s| s.observe(&model, &views(3, 0), NOW_MS))
        .unwrap();
    let before = store.stats();
    let bytes = store.get("a").unwrap().approx_bytes();
    let failures: [&SessionCall; 4] = [
        &|s| s.observe(&model, &[view("SKU-0001", 1.0), view("nope", 2.0)], NOW_MS),
        &|s| {
            s.recommend(
                &model,
                &RecommendRequest {
                    k: 0,
                    ..RecommendRequest::default()
                },
            )
            .map(drop)
        },
        &|s| {
            s.quote(
                &model,
                &["SKU-0001".into()],
                &QuoteOptions::default(),
                NOW_MS,
            )
            .map(drop)
        },
        &|s| s.explain(&model, &["nope".into()]).map(drop),
    ];
    for (i, call) in failures.iter().enumerate() {
        assert!(store.with("a", NOW_MS, call).is_err(), "call {i}");
        let session = store.get("a").unwrap();
        assert_eq!(session.events().len(), 3, "call {i}");
        assert_eq!(session.approx_bytes(), bytes, "call {i}");
        assert_eq!(store.stats(), before, "call {i}");
    }
}

#[test]
fn a_refused_request_runs_no_encoder() {
    // The fixture has no price head: its quotes are refused before the encoder runs, however many
    // events the session holds. A vector encoded would be kept, and counted in the session's bytes.
    let model = model();
    let mut session = Session::from_events(&model, &views(20, 3), NOW_MS).unwrap();
    let unencoded = session.approx_bytes();
    let err = session
        .quote(
            &model,
            &["SKU-0001".into()],
            &QuoteOptions::default(),
            NOW_MS,
        )
        .unwrap_err();
    assert_eq!(err.code(), "PRICING_UNAVAILABLE", "{err}");
    assert_eq!(session.approx_bytes(), unencoded, "the encoder ran");
    let bad_k = RecommendRequest {
        k: 61,
        ..RecommendRequest::default()
    };
    assert!(session.recommend(&model, &bad_k).is_err());
    assert_eq!(session.approx_bytes(), unencoded, "the encoder ran");
    // What the probe sees when the encoder does run.
    session.user_vector(&model).unwrap();
    assert!(session.approx_bytes() > unencoded);
}

#[test]
fn explain_leaves_the_cached_vector_as_it_was() {
    let model = model();
    let events = views(12, 7);
    let mut session = Session::from_events(&model, &events, NOW_MS).unwrap();
    let user = session.user_vector(&model).unwrap();
    let bytes = session.approx_bytes();
    let items: Vec<String> = (0..5).map(|i| format!("SKU-{:04}", i * 11)).collect();
    let why = session.explain(&model, &items).unwrap();
    assert_eq!(why.len(), items.len());
    assert!(why.iter().any(|reasons| !reasons.is_empty()));
    assert_eq!(session.approx_bytes(), bytes);
    assert_eq!(session.user_vector(&model).unwrap(), user);
    assert_eq!(session.events().len(), events.len());
    // And it explains what recommend would: the same reasons for the same items.
    let top = session
        .recommend(
            &model,
            &RecommendRequest {
                k: 4,
                explain: true,
                ..RecommendRequest::default()
            },
        )
        .unwrap();
    let ids: Vec<String> = top.iter().map(|r| r.item.clone()).collect();
    let again = session.explain(&model, &ids).unwrap();
    for (rec, reasons) in top.iter().zip(&again) {
        assert_eq!(rec.why.as_ref(), Some(reasons));
    }
}

/// The error serde gives for `value` as a `T`, which must be a refusal naming `field`.
fn refused_naming<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    value: serde_json::Value,
    field: &str,
) {
    let err = serde_json::from_value::<T>(value.clone()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("unknown field `{field}`")),
        "{value}: {err}"
    );
}

#[test]
fn unknown_fields_are_refused_naming_the_field() {
    let request: RecommendRequest = serde_json::from_value(
        json!({ "k": 3, "exclude": ["SKU-0001"], "candidates": null, "explain": true }),
    )
    .unwrap();
    assert_eq!((request.k, request.explain), (3, true));
    refused_naming::<RecommendRequest>(json!({ "k": 3, "events": [] }), "events");
    refused_naming::<RecommendRequest>(json!({ "explain": true, "K": 3 }), "K");

    let options: QuoteOptions = serde_json::from_value(
        json!({ "objective": "conversion", "minMargin": 0.1, "explain": true }),
    )
    .unwrap();
    assert_eq!(options.min_margin, Some(0.1));
    refused_naming::<QuoteOptions>(json!({ "sessionKey": "a" }), "sessionKey");
    refused_naming::<QuoteOptions>(
        json!({ "objective": "margin", "min_margin": 0.1 }),
        "min_margin",
    );

    let limits: StoreLimits =
        serde_json::from_value(json!({ "maxSessions": 5, "idleMinutes": 2 })).unwrap();
    assert_eq!(
        limits,
        StoreLimits {
            max_sessions: 5,
            idle_minutes: 2.0,
            ..StoreLimits::default()
        }
    );
    refused_naming::<StoreLimits>(json!({ "maxSession": 5 }), "maxSession");
    refused_naming::<StoreLimits>(json!({ "maxBytes": 1_000_000_000, "ttl": 5 }), "ttl");

    let event: RawEvent =
        serde_json::from_value(json!({ "type": "view", "item": "SKU-0001", "ts": 1, "price": 2 }))
            .unwrap();
    assert_eq!(event.kind.as_deref(), Some("view"));
    refused_naming::<RawEvent>(
        json!({ "type": "view", "item": "SKU-0001", "ts": 1, "qty": 2 }),
        "qty",
    );
    refused_naming::<RawEvent>(json!({ "kind": "view", "item": "SKU-0001" }), "kind");

    refused_naming::<PricingSettings>(json!({ "maxDiscount": 0.2, "currency": "EUR" }), "currency");
}

#[test]
fn store_limits_out_of_range_are_refused_naming_the_limit() {
    let ok = StoreLimits::default();
    SessionStore::new(ok.clone()).unwrap();
    for (limits, name) in [
        (
            StoreLimits {
                max_sessions: 0,
                ..ok.clone()
            },
            "maxSessions",
        ),
        (
            StoreLimits {
                max_sessions: 1_000_001,
                ..ok.clone()
            },
            "maxSessions",
        ),
        (
            StoreLimits {
                max_bytes: MIN_STORE_BYTES - 1,
                ..ok.clone()
            },
            "maxBytes",
        ),
        (
            StoreLimits {
                idle_minutes: 0.0,
                ..ok.clone()
            },
            "idleMinutes",
        ),
        (
            StoreLimits {
                idle_minutes: -1.0,
                ..ok.clone()
            },
            "idleMinutes",
        ),
        (
            StoreLimits {
                idle_minutes: f64::NAN,
                ..ok.clone()
            },
            "idleMinutes",
        ),
        (
            StoreLimits {
                idle_minutes: f64::INFINITY,
                ..ok.clone()
            },
            "idleMinutes",
        ),
    ] {
        let err = SessionStore::new(limits.clone()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: n, .. } if n == name),
            "{limits:?}: {err}"
        );
    }
}
