//! Interaction files in the two formats of `../shared/data`: a sequence per line
//! (`user item item ...`) or an interaction per line (`user item`, a user's lines in time order).
//! The format is recognised from the file: users appear once per line only in the first.

use std::collections::HashMap;

use edgerec::{Error, Result};

/// Each user's items, in time order, as the file's id strings.
#[derive(Debug, Clone)]
pub struct Sequences {
    /// User ids, in the order of the file.
    pub users: Vec<String>,
    /// Item ids per user, oldest first.
    pub items: Vec<Vec<String>>,
}

/// Parses a data file's text.
pub fn parse(text: &str) -> Result<Sequences> {
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
        .collect();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut seqs = Sequences {
        users: Vec::new(),
        items: Vec::new(),
    };
    let repeated = {
        let mut seen = std::collections::HashSet::new();
        lines.iter().any(|f| !seen.insert(f[0]))
    };
    for (n, fields) in lines.iter().enumerate() {
        if fields.len() < 2 {
            return Err(Error::InvalidArgument {
                name: "data",
                reason: format!("line {} has no item", n + 1),
            });
        }
        let row = *index.entry(fields[0]).or_insert_with(|| {
            seqs.users.push(fields[0].to_owned());
            seqs.items.push(Vec::new());
            seqs.users.len() - 1
        });
        let items = if repeated {
            &fields[1..2]
        } else {
            &fields[1..]
        };
        seqs.items[row].extend(items.iter().map(|s| (*s).to_owned()));
    }
    Ok(seqs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_give_the_same_sequences() {
        let a = parse("u1 3 4 5\nu2 7 8 9\n").unwrap();
        let b = parse("u1 3\nu2 7\nu1 4\nu2 8\nu1 5\nu2 9\n").unwrap();
        assert_eq!(a.users, b.users);
        assert_eq!(a.items, b.items);
        assert_eq!(a.items[0], ["3", "4", "5"]);
    }
}
