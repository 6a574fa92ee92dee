// The merchant's view of one quote: the demand curve the price head gave for this shopper and
// item, the objective's value along it, the price chosen, each guardrail as a line, and the
// reason code. Every number comes from the engine's `quote(items, { explain: true })`; this file
// only draws them.

const REASONS = {
  PERSONAL_DISCOUNT: "a price below the list price serves the objective best, inside every guardrail",
  LIST_PRICE_BEST: "no allowed price below the list price serves the objective better",
  GUARDRAILS_INFEASIBLE: "the guardrails leave no price below the list price",
  MODEL_OUTPUT_UNUSABLE: "the price head's output was unusable, so the list price stands",
  OBJECTIVE_INFEASIBLE: "no allowed price keeps the objective's margin, so the list price stands",
  BUDGET_SPENT: "the session's promotion budget could not cover the offer this item would have had, so the list price stands",
};

/** P(buy at `price`) on the head's curve. */
export function probability(curve, price, list) {
  return 1 / (1 + Math.exp(-(curve.base - curve.elasticity * Math.log(price / list))));
}

/** The objective's value at `price`: expected revenue, expected margin, or the chance of a sale. */
export function objectiveValue(explanation, price, list) {
  const p = probability(explanation.curve, price, list);
  if (explanation.objective === "revenue") return price * p;
  if (explanation.objective === "margin") return (price - explanation.cost) * p;
  return p;
}

/** The guardrails drawn as lines: `[key, label, price]`, those that bound this item. */
export function guardrailLines(quote) {
  const g = quote.explanation.guardrails;
  const lines = [
    ["ceiling", "list price (ceiling)", g.ceiling],
    ["min-margin", "cost + min. margin", g.minMarginPrice],
    ["max-discount", "max. discount", g.maxDiscountPrice],
    ["reference", "30-day low", g.reference],
  ];
  if (g.floorPrice > 0) lines.push(["floor", "merchant's floor", g.floorPrice]);
  if (g.objectiveMinPrice != null) lines.push(["objective-min", "objective's margin", g.objectiveMinPrice]);
  return lines;
}

const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "–");

/** The plot as SVG markup: numbers and fixed text only (safe as HTML). */
export function plot(quote) {
  const e = quote.explanation;
  // A second legend line for the reference shopper's curve, when there is one.
  const legend = e.referenceCurve ? 12 : 0;
  const W = 560, H = 280 + legend, L = 48, R = 48, T = 40, B = 34 + legend;
  const list = quote.listPrice;
  const lines = guardrailLines(quote);
  const lo = Math.min(...lines.map((l) => l[2]), quote.price, e.cost) * 0.95;
  const hi = list * 1.08;
  const x = (p) => L + ((p - lo) / (hi - lo)) * (W - L - R);
  const steps = 120;
  const prices = Array.from({ length: steps + 1 }, (_, i) => lo + ((hi - lo) * i) / steps);
  const probs = prices.map((p) => probability(e.curve, p, list));
  const reference = e.referenceCurve && prices.map((p) => probability(e.referenceCurve, p, list));
  const values = prices.map((p) => objectiveValue(e, p, list));
  const pMax = Math.max(...probs, ...(reference ?? [])) * 1.1;
  // The objective is drawn between its lowest and highest value in view: where it peaks matters, not its level.
  const vMin = Math.min(...values);
  const vMax = Math.max(...values) + (Math.max(...values) - vMin) * 0.1 || 1;
  const yP = (v) => T + (1 - v / pMax) * (H - T - B);
  const yV = (v) => T + (1 - (v - vMin) / (vMax - vMin)) * (H - T - B);
  const path = (ys) => prices.map((p, i) => `${i ? "L" : "M"}${x(p).toFixed(1)},${ys[i].toFixed(1)}`).join("");
  let svg = `<svg viewBox="0 0 ${W} ${H}" class="demand" role="img" aria-label="demand curve with guardrails">`;
  svg += `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="#fbfcfa" stroke="#dde5df"/>`;
  for (const [i, [key, label, price]] of lines.entries()) {
    const at = x(price).toFixed(1);
    svg += `<line data-guardrail="${key}" data-price="${price}" x1="${at}" x2="${at}" y1="${T}" y2="${H - B}" class="guard ${key}"/>`;
    svg += `<text x="${at}" y="${12 + (i % 3) * 11}" class="guard-label ${key}" text-anchor="middle">${label}</text>`;
  }
  svg += `<path d="${path(values.map(yV))}" class="value"/>`;
  if (reference) svg += `<path d="${path(reference.map(yP))}" class="reference-curve"/>`;
  svg += `<path d="${path(probs.map(yP))}" class="curve"/>`;
  const chosen = x(quote.price).toFixed(1);
  svg += `<line data-guardrail="chosen" x1="${chosen}" x2="${chosen}" y1="${T}" y2="${H - B}" class="chosen"/>`;
  svg += `<text x="${chosen}" y="${H - B - 6}" class="chosen-label" text-anchor="start" dx="4">chosen $${fmt(quote.price)}</text>`;
  svg += `<circle cx="${chosen}" cy="${yP(probability(e.curve, quote.price, list)).toFixed(1)}" r="5" class="chosen-dot"/>`;
  for (const p of [lo, (lo + hi) / 2, hi]) {
    svg += `<text x="${x(p).toFixed(1)}" y="${H - B + 16}" text-anchor="middle" class="axis">$${fmt(p)}</text>`;
  }
  svg += `<text x="${L - 6}" y="${T + 4}" text-anchor="end" class="axis">${fmt(100 * pMax, 1)}%</text>`;
  svg += `<text x="${L - 6}" y="${H - B}" text-anchor="end" class="axis">0%</text>`;
  svg += `<text x="${L + 4}" y="${H - 6 - legend}" class="axis">price →   solid: P(buy) for this shopper · dashed: ${e.objective} objective (relative) · green: price chosen</text>`;
  if (reference) svg += `<text x="${L + 4}" y="${H - 6}" class="axis">dotted: P(buy) for a shopper we know nothing about</text>`;
  return `${svg}</svg>`;
}

const pct = (share) => `${Math.round(100 * share)}%`;
/** An expected amount: in cents below a dollar (an expected discount is often a fraction of a cent). */
const amount = (v) => (v < 1 ? `${fmt(100 * v)}¢` : `$${fmt(v)}`);

/**
 * What the shopper's own purchases did to the price, in words: their deal share and the purchases
 * it comes from, their price response against a shopper the device knows nothing about, and the
 * promotion budget; nothing for a head without a shopper-level response or a quote without a budget.
 */
function shopperRows(e) {
  const rows = [];
  if (e.shopper) {
    const { purchases, discounted, dealShare } = e.shopper;
    rows.push(["Deal share", purchases
      ? `${pct(dealShare)}: ${discounted} of ${purchases} ${purchases === 1 ? "purchase" : "purchases"} with a price before this week were paid below list (shrunk towards the average shopper's share)`
      : `${pct(dealShare)}: no purchase with a price before this week, so the average shopper's share`]);
  }
  if (e.curve && e.referenceCurve) {
    const [own, ref] = [e.curve.elasticity, e.referenceCurve.elasticity];
    const words = own > ref * 1.01 ? "responds more to price than" : own < ref * 0.99 ? "responds less to price than" : "responds to price as much as";
    rows.push(["Price response", `${words} a shopper we know nothing about (elasticity ${fmt(own)} against ${fmt(ref)})`]);
  }
  if (e.budget) {
    rows.push(["Promotion budget", `this price commits ${amount(e.budget.spend)} of expected discount (the discount × P(buy) at the price); ${amount(e.budget.remaining)} of this session's budget is left`]);
  }
  return rows;
}

/** The whole view: the plot, the figures beside it, and the reason in words. */
export function merchantView(quote, objectiveLabel) {
  const e = quote.explanation;
  if (!e) return "<p>No explanation for this price.</p>";
  const rows = [
    ["Objective", `${e.objective} (maximise ${objectiveLabel})`],
    ["Price chosen", `$${fmt(quote.price)} (${quote.personalised ? "personalised" : "list price"})`],
    ["Reason code", `<code>${quote.reason}</code>: ${REASONS[quote.reason] ?? ""}`],
    ...guardrailLines(quote).map(([, label, price]) => [label, `$${fmt(price)}`]),
    ["Cost assumed", `$${fmt(e.cost)}`],
    ["Allowed cent endings", e.priceEndings.map((c) => String(c).padStart(2, "0")).join(", ")],
  ];
  if (e.curve) {
    rows.push(
      ["Demand curve", `P(buy at p) = σ(${fmt(e.curve.base)} − ${fmt(e.curve.elasticity)} · ln(p / list))`],
      ["P(buy) at list / chosen", `${fmt(100 * probability(e.curve, quote.listPrice, quote.listPrice), 2)}% / ${fmt(100 * probability(e.curve, quote.price, quote.listPrice), 2)}%`],
    );
  }
  if (e.interest != null) rows.push(["Interest score", fmt(e.interest, 3)]);
  rows.push(...shopperRows(e));
  const table = rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("");
  return `${e.curve ? plot(quote) : "<p>The price head's output was unusable: no curve to draw.</p>"}<table class="figures">${table}</table>`;
}
