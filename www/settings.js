// The shop's pricing settings, chosen for the grocery bundle (www/README.md says why), used by the
// worker to create the engine and by the page to label prices.

/**
 * The revenue objective makes an offer where the price head's demand curve says a lower price
 * raises this shopper's expected revenue; the margin objective, at a 30% gross margin, never
 * does (docs/pricing.md).
 */
export const OBJECTIVE = "revenue";

/** The merchant's guardrails: at most 20% off the list price, never below cost + 5%, the cost taken as 70% of list, prices ending in 9 cents (the default), the EU disclosure. */
export const PRICING = { maxDiscount: 0.2, minMargin: 0.05, defaultCostRatio: 0.7, jurisdiction: "EU", locale: "en" };

/** How the page names the objective. */
export const OBJECTIVE_LABEL = {
  revenue: "expected revenue",
  margin: "expected margin",
  conversion: "chance of a sale",
};
