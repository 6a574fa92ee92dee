// The shop's settings: pricing, chosen for the grocery bundle (www/README.md says why), used by the
// worker to create the engine and by the page to label prices; where the shopper's events are kept.

/**
 * Expected margin, with a promotion budget: the margin objective alone never discounts at a 30%
 * gross margin (docs/pricing.md); with `BUDGET` the session may spend 3% of the expected revenue at
 * list price of the items it is quoted on expected discounts, where they cost the least margin per
 * unit of discount for this shopper (www/README.md says why not the revenue objective).
 */
export const OBJECTIVE = "margin";

/** The promotion budget of each session: `quote(items, { budget })`. */
export const BUDGET = { share: 0.03 };

/** The merchant's guardrails: at most 20% off the list price, never below cost + 5%, the cost taken as 70% of list, prices ending in 9 cents (the default), the EU disclosure. */
export const PRICING = { maxDiscount: 0.2, minMargin: 0.05, defaultCostRatio: 0.7, jurisdiction: "EU", locale: "en" };

/** How the page names the objective. */
export const OBJECTIVE_LABEL = {
  revenue: "expected revenue",
  margin: "expected margin",
  conversion: "chance of a sale",
};

/**
 * The shopper's events on this device (`Edgerec.create({ persist })`): the shop's own database,
 * kept 30 days, at most 1,000 events (the engine's session); the page shows both figures.
 */
export const PERSIST = { name: "edgerec-shop", days: 30, maxEvents: 1000 };
