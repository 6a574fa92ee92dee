//! `explain`: each recommendation names the recent events whose absence lowers its score most,
//! and each effect is exactly that fall in score.

use std::path::PathBuf;

use edgerec::explain::MAX_REASONS;
use edgerec::{BundleFiles, Engine, RawEvent, RecommendRequest};

const NOW_MS: f64 = 1_800_000_000_000.0;

fn grocery() -> Engine {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/grocery");
    Engine::load(BundleFiles::read_dir(&dir).unwrap(), None).unwrap()
}

fn events(engine: &Engine, rows: &[usize]) -> Vec<RawEvent> {
    rows.iter()
        .enumerate()
        .map(|(i, &row)| RawEvent {
            kind: Some(if i % 2 == 0 { "view" } else { "purchase" }.into()),
            item: Some(engine.catalog().item(row).id.clone()),
            ts: Some(1_700_000_000_000.0 + i as f64),
            price: None,
        })
        .collect()
}

#[test]
fn reasons_are_the_events_whose_absence_costs_the_most() {
    let mut engine = grocery();
    let history = events(&engine, &[12, 40, 40, 301, 77, 1500]);
    let explained = engine
        .recommend(
            &RecommendRequest {
                k: 8,
                explain: true,
                events: Some(history.clone()),
                ..RecommendRequest::default()
            },
            NOW_MS,
        )
        .unwrap();
    let plain = engine
        .recommend(
            &RecommendRequest {
                k: 8,
                events: Some(history.clone()),
                ..RecommendRequest::default()
            },
            NOW_MS,
        )
        .unwrap();
    assert_eq!(
        explained
            .iter()
            .map(|r| (&r.item, r.score))
            .collect::<Vec<_>>(),
        plain.iter().map(|r| (&r.item, r.score)).collect::<Vec<_>>(),
        "explaining changes no ranking"
    );
    assert!(plain.iter().all(|r| r.why.is_none()));
    let mut explained_any = false;
    for rec in &explained {
        let why = rec.why.as_ref().expect("asked for reasons");
        assert!(why.len() <= MAX_REASONS);
        assert!(
            why.windows(2).all(|w| w[0].effect >= w[1].effect),
            "largest effect first"
        );
        for reason in why {
            explained_any = true;
            assert!(reason.effect > 0.0);
            let index = history
                .iter()
                .position(|e| e.ts == Some(reason.ts))
                .expect("a session event");
            assert_eq!(history[index].item.as_deref(), Some(reason.item.as_str()));
            let mut without = history.clone();
            without.remove(index);
            let rescored = engine
                .recommend(
                    &RecommendRequest {
                        k: 1,
                        candidates: Some(vec![rec.item.clone()]),
                        events: Some(without),
                        ..RecommendRequest::default()
                    },
                    NOW_MS,
                )
                .unwrap();
            assert_eq!(
                reason.effect,
                rec.score - rescored[0].score,
                "{} without {}",
                rec.item,
                reason.item
            );
        }
    }
    assert!(explained_any, "some recommendation has a reason");
}

#[test]
fn an_empty_session_explains_nothing() {
    let mut engine = grocery();
    let top = engine
        .recommend(
            &RecommendRequest {
                k: 3,
                explain: true,
                ..RecommendRequest::default()
            },
            NOW_MS,
        )
        .unwrap();
    assert!(top.iter().all(|r| r.why.as_deref() == Some(&[][..])));
}
