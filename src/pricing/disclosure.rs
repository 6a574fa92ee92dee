//! The text a shop shows beside a personalised price, by jurisdiction and language.

use super::settings::Jurisdiction;

/// New York's Algorithmic Pricing Disclosure Act: this exact text, in capitals.
pub const NEW_YORK: &str = "THIS PRICE WAS SET BY AN ALGORITHM USING YOUR PERSONAL DATA";

/// The disclosure for a personalised price. The EU text states what the Consumer Rights Directive
/// asks (art. 6(1)(ea)): that the price was personalised on the basis of automated decision-making.
pub fn disclosure(jurisdiction: Jurisdiction, locale: &str) -> &'static str {
    let language = locale
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase();
    match jurisdiction {
        Jurisdiction::NewYork => NEW_YORK,
        Jurisdiction::Eu | Jurisdiction::Other => match language.as_str() {
            "de" => "Dieser Preis wurde auf Grundlage automatisierter Entscheidungsfindung für Sie personalisiert.",
            "fr" => "Ce prix a été personnalisé pour vous sur la base d'une prise de décision automatisée.",
            "es" => "Este precio se ha personalizado para usted a partir de una toma de decisiones automatizada.",
            "it" => "Questo prezzo è stato personalizzato per te sulla base di un processo decisionale automatizzato.",
            "nl" => "Deze prijs is voor u gepersonaliseerd op basis van geautomatiseerde besluitvorming.",
            _ => "This price was personalised for you on the basis of automated decision-making.",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_by_jurisdiction_and_language() {
        assert_eq!(disclosure(Jurisdiction::NewYork, "de"), NEW_YORK);
        assert!(disclosure(Jurisdiction::Eu, "de-AT").starts_with("Dieser Preis"));
        assert!(disclosure(Jurisdiction::Eu, "xx").starts_with("This price"));
    }
}
