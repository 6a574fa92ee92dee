// What the shop shows about an item, from the bundle's items.json and the engine's answers: a
// clean name, a short name for sentences, the words of a recommendation's reasons, and a row's
// variety across aisles. Pure functions: the page and the worker both use them.

const SIZE = /^(?:\d[\d./\- ]*\s*)?(?:fl oz|oz|lbs?|ct|ga|gal|l|ml|qt|pt|pk|dz|sq ft|ft|in|yd)\b/i;

/**
 * The source data's size of a produce item is often the supplier's case ("Bananas, 40 lb",
 * "Head lettuce, 24 ct") while the price is per unit or per pound: such a size misleads, so it
 * is not shown. A produce size of 10 lb or more, 10 or more pieces, or a range of counts is a case.
 */
function isCasePack(size, department) {
  if (department !== "PRODUCE") return false;
  const m = /^(\d+(?:\.\d+)?)(-\d+)?\s*(lb|ct)\b/i.exec(size);
  if (!m) return false;
  return Boolean(m[2]) || Number(m[1]) >= 10;
}

/**
 * An item's name for display: `{ title, size, storeBrand, variety }`. The source names read
 * "base[, size][ (store brand)][ · variety N]"; names cut short in the source lose their
 * unclosed bracket, case-pack sizes are dropped, and meat known only by its cut or grade
 * ("Lean", "Premium") gets its aisle in front ("Beef (lean)", "Bacon (premium)").
 */
export function displayName(item) {
  let rest = String(item.name ?? item.id);
  let variety = null;
  rest = rest.replace(/\s*·\s*variety (\d+)$/, (_, n) => ((variety = Number(n)), ""));
  let storeBrand = false;
  rest = rest.replace(/\s*\(store brand\)$/, () => ((storeBrand = true), ""));
  let size = null;
  const comma = rest.lastIndexOf(", ");
  if (comma > 0 && SIZE.test(rest.slice(comma + 2))) {
    size = rest.slice(comma + 2).trim();
    rest = rest.slice(0, comma);
  }
  if (size && isCasePack(size, item.department)) size = null;
  rest = rest.replace(/\s*\((?:bulk&bag|bulk \/ pkg)\)/g, "");
  const open = rest.lastIndexOf("(");
  if (open > 0 && rest.indexOf(")", open) < 0) rest = rest.slice(0, open);
  let title = rest.trim().replace(/\s+/g, " ") || String(item.id);
  const aisle = meatAisle(item);
  if (aisle && !title.toLowerCase().includes(aisle.split(" ")[0].replace(/s$/, ""))) title = `${capitalise(aisle)} (${title.toLowerCase()})`;
  return { title, size, storeBrand, variety };
}

/**
 * The aisle that names a meat item known only by its cut or grade ("Lean" in BEEF, "Premium" in
 * BACON): the category up to a "/" or " - ", in lower case; none for catch-all aisles.
 */
function meatAisle(item) {
  if (!["MEAT", "MEAT-PCKGD"].includes(item.department) || !item.category) return null;
  const aisle = item.category.split(/\/| - /)[0].trim().toLowerCase();
  return ["meat", "miscellaneous", "heat", "frozen meat"].includes(aisle) ? null : aisle;
}

/** The item's name inside a sentence: the title in lower case ("because you added fluid milk"). */
export function shortName(item) {
  const { title } = displayName(item);
  return title.charAt(0).toLowerCase() + title.slice(1);
}

/** An aisle's name in sentence case ("COLD CEREAL" → "Cold cereal"). */
export function aisleName(category) {
  return category ? capitalise(category.toLowerCase()) : "";
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const VERB = { view: "looked at", cart: "added", purchase: "bought" };

/**
 * A recommendation's reasons in words: "Because you added fluid milk and bought eggs". Only the
 * events that raise its score (effect above 0), never the item itself, at most two; `null` when
 * none is left (the caller says what to show then).
 */
export function reasonText(recommended, why, byId) {
  const named = [];
  for (const r of why ?? []) {
    const item = byId.get(r.item);
    const name = item && shortName(item);
    if (r.item === recommended || !(r.effect > 0) || !item || named.some((n) => n.name === name)) continue;
    named.push({ verb: VERB[r.type] ?? "chose", name });
    if (named.length === 2) break;
  }
  if (!named.length) return null;
  if (named.length === 2 && named[0].verb === named[1].verb) return `Because you ${named[0].verb} ${named[0].name} and ${named[1].name}`;
  return `Because you ${named.map((n) => `${n.verb} ${n.name}`).join(" and ")}`;
}

/**
 * `n` of `ranked` (best first) holding at most `perAisle` items of any one aisle
 * (`aisleOf(entry)`), so that a row spans the shop rather than one shelf; when the aisles run out
 * (a catalogue of few aisles), the best of the rest fill the row. In rank order.
 */
export function pickVaried(ranked, aisleOf, n, perAisle) {
  const counts = new Map();
  const picked = new Set();
  for (const entry of ranked) {
    if (picked.size === n) break;
    const aisle = aisleOf(entry) ?? "";
    const count = counts.get(aisle) ?? 0;
    if (count >= perAisle) continue;
    counts.set(aisle, count + 1);
    picked.add(entry);
  }
  for (const entry of ranked) {
    if (picked.size === n) break;
    picked.add(entry);
  }
  return ranked.filter((entry) => picked.has(entry));
}
