//! Next-purchase evaluation on held-out weeks (the grocery protocol of `../shared/data/README.md`):
//! per household, `recommend` ranks every item from the events before the first held-out week
//! (the last 1,000, as a session holds them: the encoder reads the newest L, the repeat term all), and Recall@K / NDCG@K count the distinct items bought from that week on, repeat purchases
//! included.

use std::collections::HashMap;

use serde::Serialize;

use super::{replayed, StreamCheck};
use edgerec::{Error, Model, RecommendRequest, Result, Session};

/// Households' purchases, each `(item id, week)`, in time order.
#[derive(Debug, Clone)]
pub struct Purchases {
    /// Household ids, in the order of the file.
    pub households: Vec<String>,
    /// Each household's purchases, oldest first.
    pub lines: Vec<Vec<(String, u32)>>,
}

/// Parses `household item week` lines, a household's lines in time order.
pub fn parse(text: &str) -> Result<Purchases> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out = Purchases {
        households: Vec::new(),
        lines: Vec::new(),
    };
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let week = match fields.as_slice() {
            [_, _, week] => week.parse::<u32>().ok(),
            _ => None,
        }
        .ok_or_else(|| Error::InvalidArgument {
            name: "data",
            reason: format!("line {} is not `household item week`", n + 1),
        })?;
        let row = *index.entry(fields[0]).or_insert_with(|| {
            out.households.push(fields[0].to_owned());
            out.lines.push(Vec::new());
            out.households.len() - 1
        });
        out.lines[row].push((fields[1].to_owned(), week));
    }
    Ok(out)
}

/// Recall@K and NDCG@K over the held-out weeks, and how many households were ranked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetMetrics {
    /// Households with purchases both before and from the first held-out week.
    pub households: usize,
    /// The cutoff K.
    pub k: usize,
    /// Mean over households of the share of their held-out items in the top K.
    pub recall: f64,
    /// Mean over households of DCG@K over the ideal DCG of min(K, |held-out items|) hits.
    pub ndcg: f64,
}

/// Ranks every household with purchases on both sides of `from_week`; each goes through `check`.
pub fn evaluate(
    model: &Model,
    data: &Purchases,
    from_week: u32,
    k: usize,
    check: &mut StreamCheck,
) -> Result<SetMetrics> {
    let (mut recall, mut ndcg, mut households) = (0.0, 0.0, 0);
    for lines in &data.lines {
        let before: Vec<&str> = lines
            .iter()
            .filter(|(_, w)| *w < from_week)
            .map(|(i, _)| i.as_str())
            .collect();
        let mut targets: Vec<&str> = lines
            .iter()
            .filter(|(_, w)| *w >= from_week)
            .map(|(i, _)| i.as_str())
            .collect();
        targets.sort_unstable();
        targets.dedup();
        if before.is_empty() || targets.is_empty() {
            continue;
        }
        let events = replayed(before.iter().copied());
        let request = RecommendRequest {
            k,
            ..RecommendRequest::default()
        };
        let mut session = Session::from_events(model, &events, 1e12)?;
        check.user(model, &events, &session.user_vector(model)?)?;
        let top = session.recommend(model, &request)?;
        let discount = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
        let hit_ranks: Vec<usize> = (0..top.len())
            .filter(|&r| targets.binary_search(&top[r].item.as_str()).is_ok())
            .collect();
        let ideal: f64 = (0..k.min(targets.len())).map(discount).sum();
        recall += hit_ranks.len() as f64 / targets.len() as f64;
        ndcg += hit_ranks.iter().map(|&r| discount(r)).sum::<f64>() / ideal;
        households += 1;
    }
    let n = households.max(1) as f64;
    Ok(SetMetrics {
        households,
        k,
        recall: recall / n,
        ndcg: ndcg / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_household_item_week_lines_and_rejects_others() {
        let p = parse("h1 a 1\nh2 b 1\nh1 c 2\n").unwrap();
        assert_eq!(p.households, ["h1", "h2"]);
        assert_eq!(p.lines[0], [("a".to_owned(), 1), ("c".to_owned(), 2)]);
        assert!(parse("h1 a\n").is_err());
        assert!(parse("h1 a week\n").is_err());
    }
}
