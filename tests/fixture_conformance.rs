//! The engine, run natively, reproduces onnxruntime's outputs on the fixture bundle.

mod common;

use common::{engine, expected, NOW_MS};
use edgerec::{Engine, RecommendRequest};

const TOLERANCE: f32 = 1e-4;

#[test]
fn user_vectors_match_onnxruntime() {
    let mut engine = engine();
    for case in expected().cases {
        let user = engine
            .user_vector(Some(&case.raw_events()), NOW_MS)
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
    let mut engine = engine();
    for case in &expected.cases {
        let request = RecommendRequest {
            k: expected.k,
            events: Some(case.raw_events()),
            ..Default::default()
        };
        let top = engine.recommend(&request, NOW_MS).unwrap();
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
fn the_session_gives_what_the_same_events_give_statelessly() {
    let expected = expected();
    let case = expected
        .cases
        .iter()
        .find(|c| c.events.len() > 8)
        .expect("a case longer than the window");
    let mut engine = engine();
    let events = case.raw_events();
    let (first, rest) = events.split_at(4);
    engine.observe(first, NOW_MS).unwrap();
    engine.observe(rest, NOW_MS).unwrap();
    assert_eq!(
        engine.session().len(),
        events.len(),
        "the session holds every event (up to 1,000); the encoder reads the last L"
    );
    let from_session = engine
        .recommend(
            &RecommendRequest {
                k: 10,
                ..Default::default()
            },
            NOW_MS,
        )
        .unwrap();
    let stateless = RecommendRequest {
        k: 10,
        events: Some(events.clone()),
        ..Default::default()
    };
    assert_eq!(engine.recommend(&stateless, NOW_MS).unwrap(), from_session);
}

#[test]
fn stateless_calls_leave_the_session_untouched() {
    let expected = expected();
    let mut engine = engine();
    engine
        .observe(&expected.cases[1].raw_events(), NOW_MS)
        .unwrap();
    let before: Vec<_> = engine.session().copied().collect();
    let request = RecommendRequest {
        k: 5,
        events: Some(expected.cases[2].raw_events()),
        ..Default::default()
    };
    engine.recommend(&request, NOW_MS).unwrap();
    assert_eq!(engine.session().copied().collect::<Vec<_>>(), before);
}

fn recommended_ids(engine: &mut Engine, request: &RecommendRequest) -> Vec<String> {
    engine
        .recommend(request, NOW_MS)
        .unwrap()
        .into_iter()
        .map(|r| r.item)
        .collect()
}

#[test]
fn exclude_and_candidates_shape_the_ranking() {
    let expected = expected();
    let case = &expected.cases[2];
    let mut engine = engine();
    let best = case.top[0].item.clone();
    let request = RecommendRequest {
        k: 3,
        exclude: vec![best.clone(), "NOT-IN-CATALOGUE".into()],
        events: Some(case.raw_events()),
        ..Default::default()
    };
    let items = recommended_ids(&mut engine, &request);
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
        events: Some(case.raw_events()),
        ..Default::default()
    };
    let items = recommended_ids(&mut engine, &request);
    assert_eq!(
        items,
        vec![case.top[2].item.clone(), case.top[5].item.clone()],
        "ranked, duplicates once"
    );
}
