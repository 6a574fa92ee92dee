//! The core, run natively, reproduces onnxruntime's outputs on the fixture bundle.

mod common;

use common::{expected, model, NOW_MS};
use edgerec::{Model, RawEvent, RecommendRequest, Recommendation, Session};

const TOLERANCE: f32 = 1e-4;

/// The recommendations for a fresh session holding `events`.
fn recommend(
    model: &Model,
    events: &[RawEvent],
    request: &RecommendRequest,
) -> Vec<Recommendation> {
    Session::from_events(model, events, NOW_MS)
        .unwrap()
        .recommend(model, request)
        .unwrap()
}

#[test]
fn user_vectors_match_onnxruntime() {
    let model = model();
    for case in expected().cases {
        let user = Session::from_events(&model, &case.raw_events(), NOW_MS)
            .unwrap()
            .user_vector(&model)
            .unwrap();
        assert_eq!(user.len(), case.user.len(), "{}", case.name);
        for (got, want) in user.iter().zip(&case.user) {
            assert!(
                (got - want).abs() <= TOLERANCE,
                "{}: {got} vs {want}",
                case.name
            );
        }
    }
}

#[test]
fn top_k_matches_the_independent_ranking() {
    let expected = expected();
    let model = model();
    for case in &expected.cases {
        let request = RecommendRequest {
            k: expected.k,
            ..Default::default()
        };
        let top = recommend(&model, &case.raw_events(), &request);
        let got: Vec<&str> = top.iter().map(|r| r.item.as_str()).collect();
        let want: Vec<&str> = case.top.iter().map(|r| r.item.as_str()).collect();
        assert_eq!(got, want, "{}", case.name);
        for (g, w) in top.iter().zip(&case.top) {
            assert!(
                (g.score - w.score).abs() <= TOLERANCE,
                "{}: {} vs {}",
                case.name,
                g.score,
                w.score
            );
        }
    }
}

#[test]
fn events_observed_in_batches_give_what_they_give_at_once() {
    let expected = expected();
    let case = expected
        .cases
        .iter()
        .find(|c| c.events.len() > 8)
        .expect("a case longer than the window");
    let model = model();
    let mut session = Session::new();
    let events = case.raw_events();
    let (first, rest) = events.split_at(4);
    session.observe(&model, first, NOW_MS).unwrap();
    session.observe(&model, rest, NOW_MS).unwrap();
    assert_eq!(
        session.events().len(),
        events.len(),
        "the session holds every event (up to 1,000); the encoder reads the last L"
    );
    let request = RecommendRequest {
        k: 10,
        ..Default::default()
    };
    let observed = session.recommend(&model, &request).unwrap();
    assert_eq!(recommend(&model, &events, &request), observed);
}

#[test]
fn another_sessions_calls_leave_a_session_untouched() {
    let expected = expected();
    let model = model();
    let mut session =
        Session::from_events(&model, &expected.cases[1].raw_events(), NOW_MS).unwrap();
    let before: Vec<_> = session.events().copied().collect();
    let request = RecommendRequest {
        k: 5,
        ..Default::default()
    };
    let top = session.recommend(&model, &request).unwrap();
    recommend(&model, &expected.cases[2].raw_events(), &request);
    assert_eq!(session.events().copied().collect::<Vec<_>>(), before);
    assert_eq!(session.recommend(&model, &request).unwrap(), top);
}

fn recommended_ids(model: &Model, events: &[RawEvent], request: &RecommendRequest) -> Vec<String> {
    recommend(model, events, request)
        .into_iter()
        .map(|r| r.item)
        .collect()
}

#[test]
fn exclude_and_candidates_shape_the_ranking() {
    let expected = expected();
    let case = &expected.cases[2];
    let model = model();
    let best = case.top[0].item.clone();
    let request = RecommendRequest {
        k: 3,
        exclude: vec![best.clone(), "NOT-IN-CATALOGUE".into()],
        ..Default::default()
    };
    let items = recommended_ids(&model, &case.raw_events(), &request);
    let want: Vec<String> = case.top[1..4].iter().map(|t| t.item.clone()).collect();
    assert_eq!(items, want);

    let pool = vec![
        case.top[5].item.clone(),
        case.top[2].item.clone(),
        case.top[5].item.clone(),
    ];
    let request = RecommendRequest {
        k: 10,
        candidates: Some(pool),
        ..Default::default()
    };
    let items = recommended_ids(&model, &case.raw_events(), &request);
    assert_eq!(
        items,
        vec![case.top[2].item.clone(), case.top[5].item.clone()],
        "ranked, duplicates once"
    );
}
