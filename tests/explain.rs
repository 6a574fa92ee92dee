//! `explain`: each recommendation names the recent events whose absence lowers its score most,
//! and each effect is exactly that fall in score.

mod common;

use common::grocery;
use edgerec::explain::MAX_REASONS;
use edgerec::{Model, RawEvent, RecommendRequest, Recommendation, Session};

const NOW_MS: f64 = 1_800_000_000_000.0;

fn events(model: &Model, rows: &[usize]) -> Vec<RawEvent> {
    rows.iter()
        .enumerate()
        .map(|(i, &row)| RawEvent {
            kind: Some(if i % 2 == 0 { "view" } else { "purchase" }.into()),
            item: Some(model.catalog().item(row).id.clone()),
            ts: Some(1_700_000_000_000.0 + i as f64),
            price: None,
        })
        .collect()
}

/// The recommendations for a fresh session holding `history`.
fn recommend(
    model: &Model,
    history: &[RawEvent],
    request: &RecommendRequest,
) -> Vec<Recommendation> {
    Session::from_events(model, history, NOW_MS)
        .unwrap()
        .recommend(model, request)
        .unwrap()
}

#[test]
fn reasons_are_the_events_whose_absence_costs_the_most() {
    let model = grocery();
    let history = events(&model, &[12, 40, 40, 301, 77, 1500]);
    let explained = recommend(
        &model,
        &history,
        &RecommendRequest {
            k: 8,
            explain: true,
            ..RecommendRequest::default()
        },
    );
    let plain = recommend(
        &model,
        &history,
        &RecommendRequest {
            k: 8,
            ..RecommendRequest::default()
        },
    );
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
            let rescored = recommend(
                &model,
                &without,
                &RecommendRequest {
                    k: 1,
                    candidates: Some(vec![rec.item.clone()]),
                    ..RecommendRequest::default()
                },
            );
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
    let model = grocery();
    let top = recommend(
        &model,
        &[],
        &RecommendRequest {
            k: 3,
            explain: true,
            ..RecommendRequest::default()
        },
    );
    assert!(top.iter().all(|r| r.why.as_deref() == Some(&[][..])));
    let ids: Vec<String> = top.iter().map(|r| r.item.clone()).collect();
    let why = Session::new().explain(&model, &ids).unwrap();
    assert!(why.iter().all(Vec::is_empty));
}

#[test]
fn explain_gives_the_reasons_recommend_gives() {
    let model = grocery();
    let mut session =
        Session::from_events(&model, &events(&model, &[5, 90, 5, 2100, 64]), NOW_MS).unwrap();
    let top = session
        .recommend(
            &model,
            &RecommendRequest {
                k: 6,
                explain: true,
                ..RecommendRequest::default()
            },
        )
        .unwrap();
    let ids: Vec<String> = top.iter().map(|r| r.item.clone()).collect();
    let why = session.explain(&model, &ids).unwrap();
    assert_eq!(why.len(), ids.len());
    for (rec, reasons) in top.iter().zip(&why) {
        assert_eq!(rec.why.as_ref(), Some(reasons), "{}", rec.item);
    }
    let err = session
        .explain(&model, &["no-such-sku".to_owned()])
        .unwrap_err();
    assert_eq!(err.code(), "UNKNOWN_ITEM", "{err}");
}
