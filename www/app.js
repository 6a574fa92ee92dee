// The demo shop's page: renders the rows, the aisles, prices and the cart; every computation runs
// in the Web Worker (worker.js), so the page never stalls. The URL's ?device=auto|gpu|cpu picks
// where scoring runs (default auto); ?bundle=/path/ loads another bundle from this server and
// ?key= (64 hex digits) pins the ed25519 key its manifest must be signed with
// (scripts/serve-shop.mjs --bundle sets both).
import { aislePicture } from "./pictures.js";
import { merchantView } from "./merchant.js";
import { OBJECTIVE_LABEL, PERSIST } from "./settings.js";
import { aisleName, displayName, reasonText } from "./shelf.js";

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const pending = new Map();
let nextId = 0;
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const CART_KEY = "edgerec-shop-cart";
/** Set to "off" while the shopper has turned recording off (kept by "Forget everything"). */
const CONSENT_KEY = "edgerec-shop-consent";

/** What a storage failure (`PersistError.code`) means for the shopper. */
const STORAGE_PROBLEM = {
  UNAVAILABLE: "This browser does not let the shop keep your history (a private window?): it is kept for this visit only.",
  BLOCKED: "Another tab holds the shop's storage: your history is kept for this visit only.",
  QUOTA_EXCEEDED: "This device's storage is full: new events are kept for this visit only.",
  RECORDS_SKIPPED: "Some saved events could not be read and were deleted.",
  STORAGE_FAILED: "Your history could not be saved on this device: it is kept for this visit only.",
};

worker.onmessage = ({ data }) => {
  if (data.type === "progress") return showProgress(data.loaded, data.total);
  if (data.type === "storage") return toast(STORAGE_PROBLEM[data.error.code] ?? data.error.message);
  const { resolve, reject } = pending.get(data.id);
  pending.delete(data.id);
  data.error ? reject(Object.assign(new Error(data.error.message), { code: data.error.code })) : resolve(data.result);
};

function call(op, args) {
  return new Promise((resolve, reject) => {
    pending.set(++nextId, { resolve, reject });
    worker.postMessage({ id: nextId, op, args });
  });
}

const state = { items: [], byId: new Map(), quotes: new Map(), cart: loadCart(), aisle: "", open: null, history: 0, pricing: true };

/** The cart, kept in this browser's storage: `[{ item, qty, price, ts }]`. */
function loadCart() {
  try {
    const lines = JSON.parse(localStorage.getItem(CART_KEY) ?? "[]");
    return Array.isArray(lines) ? lines.filter((l) => typeof l?.item === "string" && l.qty > 0) : [];
  } catch {
    return [];
  }
}

function saveCart() {
  if (state.cart.length) localStorage.setItem(CART_KEY, JSON.stringify(state.cart));
  else localStorage.removeItem(CART_KEY);
}

function showProgress(loaded, total) {
  const pct = total ? Math.round((100 * loaded) / total) : 0;
  $("progress").setAttribute("aria-valuenow", String(pct));
  $("progress-bar").style.width = `${pct}%`;
  $("progress-text").textContent = `Downloading the recommendation model… ${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
}

function showError(e) {
  $("error").hidden = false;
  $("error").textContent = `Something went wrong: ${e.message}${e.code ? ` (${e.code})` : ""}`;
}

let toastTimer;
function toast(text) {
  $("toast").textContent = text;
  $("toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => ($("toast").hidden = true), 4000);
}

const el = (tag, className, text) => Object.assign(document.createElement(tag), className ? { className } : {}, text === undefined ? {} : { textContent: text });

/** A price as the shopper sees it, with the quote's figures in data attributes for the tests. */
function priceBlock(id) {
  const q = state.quotes.get(id);
  const box = el("div", "price");
  if (!q) return box;
  Object.assign(box.dataset, {
    item: id, price: String(q.price), list: String(q.listPrice), reference: String(q.referencePrice),
    discount: String(q.discountPct), personalised: String(q.personalised), reason: q.reason,
  });
  box.append(el("span", "now", money.format(q.price)));
  // A discount is shown only against the 30-day low (EU Omnibus rule), and only when it is a real one.
  if (q.discountPct >= 1) {
    box.append(el("span", "was", money.format(q.referencePrice)), el("span", "off", `−${Math.round(q.discountPct)}%`));
  }
  if (q.personalised) {
    box.append(el("span", "offer", "Your offer"));
    if (q.disclosure) box.append(el("span", "disclosure", q.disclosure));
  }
  return box;
}

function nameBlock(item) {
  const name = displayName(item);
  const h3 = el("h3", "", name.title);
  const details = [name.size, name.storeBrand ? "store brand" : null, name.variety ? `variety ${name.variety}` : null].filter(Boolean);
  return [h3, el("p", "size", details.join(" · "))];
}

/** Why an item is in a row, in words. */
function reasonFor(row, rec) {
  if (row === "buy-again") {
    const { bought = 0 } = rec.had ?? {};
    if (bought > 1) return `You bought this ${bought} times`;
    return bought ? "You bought this before" : "You added this to a cart before";
  }
  const words = reasonText(rec.item, rec.why, state.byId);
  if (words) return words;
  return state.history ? "Picked from your shopping so far" : "Popular with shoppers here";
}

function card(id, row, rec) {
  const item = state.byId.get(id);
  const article = el("article", "card");
  article.dataset.item = id;
  if (row) article.dataset.row = row;
  const picture = el("div", "pic");
  picture.innerHTML = aislePicture(item.category ?? "", item.department ?? "");
  article.append(picture, el("span", "aisle", aisleName(item.category)), ...nameBlock(item), priceBlock(id));
  if (rec) article.append(el("p", "why", reasonFor(row, rec)));
  const actions = el("div", "actions");
  const view = el("button", "", "View");
  view.type = "button";
  view.onclick = () => openProduct(id);
  const add = el("button", "primary add", inCart(id) ? `Add (${inCart(id)} in cart)` : "Add to cart");
  add.type = "button";
  add.onclick = () => addToCart(id);
  actions.append(view, add);
  article.append(actions);
  return article;
}

const inCart = (id) => state.cart.find((l) => l.item === id)?.qty ?? 0;

function aisleItems() {
  return state.items.filter((i) => !state.aisle || i.category === state.aisle).slice(0, 24).map((i) => i.id);
}

function renderRow(section, row, recs) {
  $(section).hidden = !recs.length;
  $(section).querySelector(".grid").replaceChildren(...recs.map((r) => card(r.item, row, r)));
}

function applySnapshot(snap) {
  for (const q of snap.quotes) state.quotes.set(q.item, q);
  state.history = snap.history;
  state.pricing = snap.pricing;
  if (!snap.pricing) $("objective").textContent = "No prices: this bundle has no price head";
  $("backend").textContent = snap.backend === "gpu" ? "WebGPU" : "CPU";
  renderRow("with-cart", "with-cart", snap.withCart);
  renderRow("offers", "offers", snap.offers);
  $("offers-count").textContent = `${snap.offerCount} of the ${snap.offerPool} items picked for you have an offer.`;
  renderRow("buy-again", "buy-again", snap.buyAgain.map((r) => ({ ...r, had: snap.had[r.item] })));
  renderRow("discover", "discover", snap.discover);
  $("discover").hidden = false;
  $("discover-title").textContent = snap.history ? "Discover: new to you" : "Popular at Corner Grocer";
  $("discover-hint").textContent = snap.history
    ? "Items you have not looked at yet, chosen from what you did here, from across the aisles."
    : "Look at or add a few products and these rows follow what you do.";
  $("products").replaceChildren(...aisleItems().map((id) => card(id)));
  if (state.open) $("product-price").replaceWith(Object.assign(priceBlock(state.open), { id: "product-price" }));
  renderMerchant();
  renderCart();
}

async function refresh() {
  applySnapshot(await call("snapshot", { shown: aisleItems(), cart: cartForWorker() }));
}

const cartForWorker = () => state.cart.map(({ item, ts }) => ({ item, ts }));

async function record(events) {
  try {
    applySnapshot(await call("observe", { events, shown: aisleItems(), cart: cartForWorker() }));
  } catch (e) {
    showError(e);
  }
}

function openProduct(id) {
  const item = state.byId.get(id);
  const name = displayName(item);
  state.open = id;
  $("product-picture").innerHTML = aislePicture(item.category ?? "", item.department ?? "");
  $("product-aisle").textContent = [aisleName(item.department), aisleName(item.category)].filter(Boolean).join(" › ");
  $("product-name").textContent = name.title;
  $("product-size").textContent = [name.size, name.storeBrand ? "store brand" : null].filter(Boolean).join(" · ");
  $("product-price").replaceWith(Object.assign(priceBlock(id), { id: "product-price" }));
  renderMerchant();
  renderCart();
  $("product").showModal();
  record([{ type: "view", item: id, ts: Date.now() }]);
}

function renderMerchant() {
  const q = state.open && state.quotes.get(state.open);
  $("merchant").hidden = !q;
  if (q) $("merchant-body").innerHTML = merchantView(q, OBJECTIVE_LABEL[q.explanation?.objective] ?? "");
}

function addToCart(id) {
  const q = state.quotes.get(id);
  const now = Date.now();
  const line = state.cart.find((l) => l.item === id);
  if (line) line.qty += 1;
  else state.cart.push({ item: id, qty: 1, price: q?.price, ts: now });
  saveCart();
  renderCart();
  const name = displayName(state.byId.get(id)).title;
  toast(`Added ${name}${q ? ` at ${money.format(q.price)}` : ""}. Your cart: ${cartCount()} ${cartCount() === 1 ? "item" : "items"}, ${money.format(cartTotal())}.`);
  $("open-cart").classList.remove("bump");
  void $("open-cart").offsetWidth; // restart the animation
  $("open-cart").classList.add("bump");
  record([{ type: "cart", item: id, ts: now, ...(q ? { price: q.price } : {}) }]);
}

const cartCount = () => state.cart.reduce((n, l) => n + l.qty, 0);
const cartTotal = () => state.cart.reduce((sum, l) => sum + (l.price ?? 0) * l.qty, 0);

function renderCart() {
  $("cart-count").textContent = String(cartCount());
  $("cart-sum").textContent = state.cart.length ? money.format(cartTotal()) : "";
  $("cart-lines").replaceChildren(...state.cart.map((line) => {
    const li = el("li", "line");
    li.dataset.item = line.item;
    const name = displayName(state.byId.get(line.item) ?? { id: line.item });
    li.append(el("span", "qty", `${line.qty} ×`), el("span", "name", name.title), el("span", "amount", line.price === undefined ? "" : money.format(line.price * line.qty)));
    const less = el("button", "", "−");
    less.type = "button";
    less.setAttribute("aria-label", `one fewer ${name.title}`);
    less.onclick = () => {
      line.qty -= 1;
      state.cart = state.cart.filter((l) => l.qty > 0);
      saveCart();
      refresh().catch(showError);
    };
    li.append(less);
    return li;
  }));
  if (!state.cart.length) $("cart-lines").replaceChildren(el("li", "muted", "Your cart is empty."));
  $("cart-total").textContent = money.format(cartTotal());
  $("checkout").disabled = !state.cart.length;
  for (const button of document.querySelectorAll(".card .add")) {
    const n = inCart(button.closest(".card").dataset.item);
    button.textContent = n ? `Add (${n} in cart)` : "Add to cart";
  }
  // The product page's button says so too (the message is behind the open dialog).
  const n = state.open ? inCart(state.open) : 0;
  $("product-add").textContent = n ? `Added: ${n} in cart · add one more` : "Add to cart";
}

async function checkout() {
  const now = Date.now();
  const lines = state.cart;
  const events = lines.flatMap((l, i) => Array.from({ length: l.qty }, (_, k) => ({
    type: "purchase", item: l.item, ts: now + i * 10 + k, ...(l.price === undefined ? {} : { price: l.price }),
  })));
  const total = cartTotal();
  state.cart = [];
  saveCart();
  $("cart").close();
  $("order-number").textContent = `Order ${now.toString(36).toUpperCase()}, ${new Date(now).toLocaleString()}`;
  $("order-lines").replaceChildren(...lines.map((l) => el("li", "", `${l.qty} × ${displayName(state.byId.get(l.item) ?? { id: l.item }).title}: ${money.format((l.price ?? 0) * l.qty)}`)));
  $("order-total").textContent = money.format(total);
  $("confirmation").showModal();
  if (events.length) await record(events);
}

/** The privacy panel: the consent switch, what is stored and for how long, every event held, any storage problem. */
function renderPrivacy({ events, persistence }) {
  $("consent").checked = persistence.consent;
  const limits = `each kept ${PERSIST.days} days at most, the newest ${PERSIST.maxEvents.toLocaleString("en-US")} at most`;
  $("storage").textContent = persistence.storage === "indexeddb"
    ? `${persistence.stored} ${persistence.stored === 1 ? "event" : "events"} stored in this browser (IndexedDB), ${limits}.`
    : persistence.consent
      ? "Nothing is stored: this browser's storage cannot be used, so your events are kept in memory for this visit only."
      : "Recording is off: nothing is stored on this device; this visit's events are kept in memory until you leave.";
  $("storage-error").hidden = !persistence.error;
  $("storage-error").textContent = persistence.error ? STORAGE_PROBLEM[persistence.error.code] ?? persistence.error.message : "";
  $("events").replaceChildren(...events.map((e) => {
    const item = state.byId.get(e.item);
    return el("li", "", `${new Date(e.ts).toLocaleString()}: ${{ view: "looked at", cart: "added", purchase: "bought" }[e.type]} ${item ? displayName(item).title : e.item}`);
  }));
  if (!events.length) $("events").replaceChildren(el("li", "", "No events: this device holds nothing about you."));
}

/** The model's differential-privacy guarantee (its manifest's `privacy`) in plain words, or that it has none. */
function modelPrivacyText(privacy) {
  if (!privacy) {
    return "The model was trained on other shoppers' histories without differential privacy: it carries no formal guarantee that it reveals nothing about any one of them.";
  }
  const delta = privacy.delta.toExponential(0).replace("e-", " × 10^-");
  return `The model was trained with differential privacy: ε = ${privacy.epsilon.toFixed(2)}, δ = ${delta} per shopper ` +
    `(${privacy.accountant.toUpperCase()} accountant, ${privacy.library}). Whether or not any one shopper's whole history ` +
    "was in its training data changes the chance of anything it could reveal by at most a factor of " +
    `e^ε ≈ ${Number(Math.exp(privacy.epsilon).toPrecision(3)).toLocaleString("en-US")}, except with probability δ.`;
}

async function showPrivacy() {
  renderPrivacy(await call("privacy"));
  $("privacy").showModal();
}

/** The consent switch: remembered on this device, and passed to the engine (off deletes what was stored). */
async function setConsent(on) {
  if (on) localStorage.removeItem(CONSENT_KEY);
  else localStorage.setItem(CONSENT_KEY, "off");
  renderPrivacy(await call("consent", { on }));
}

async function exportEvents() {
  const blob = new Blob([await call("export")], { type: "application/json" });
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "my-shop-events.json" });
  a.click();
  URL.revokeObjectURL(a.href);
}

async function forget() {
  await call("forget");
  state.cart = [];
  saveCart();
  state.quotes.clear();
  $("privacy").close();
  await refresh();
}

/** The bundle to load: `?bundle=/path/` on this server, else the grocery bundle. */
function bundleUrl() {
  const asked = new URLSearchParams(location.search).get("bundle");
  if (asked && asked.startsWith("/") && !asked.startsWith("//")) return asked.endsWith("/") ? asked : `${asked}/`;
  return "/models/grocery/";
}

async function start() {
  const device = new URLSearchParams(location.search).get("device") ?? "auto";
  const publicKey = new URLSearchParams(location.search).get("key") ?? undefined;
  const consent = localStorage.getItem(CONSENT_KEY) !== "off";
  const ready = await call("init", { device, bundleUrl: bundleUrl(), publicKey, consent });
  $("progress").hidden = true;
  state.items = ready.items;
  state.byId = new Map(ready.items.map((i) => [i.id, i]));
  $("model").textContent = `model ${ready.modelVersion}${publicKey ? " · signature verified" : ""}`;
  $("model-privacy").textContent = modelPrivacyText(ready.privacy);
  const budget = ready.budget ? `, a promotion budget of ${Math.round(100 * ready.budget.share)}% of expected sales` : "";
  $("objective").textContent = `Prices: personalised for ${OBJECTIVE_LABEL[ready.objective]}${budget}, at most ${Math.round(100 * ready.pricing.maxDiscount)}% off`;
  $("objective").dataset.objective = ready.objective;
  const aisles = [...new Set(ready.items.map((i) => i.category).filter(Boolean))].sort();
  $("aisle").replaceChildren(new Option("Most bought", ""), ...aisles.map((a) => new Option(aisleName(a), a)));
  $("aisle").onchange = () => { state.aisle = $("aisle").value; refresh().catch(showError); };
  $("product-add").onclick = () => state.open && addToCart(state.open);
  $("product").onclose = () => { state.open = null; };
  $("open-cart").onclick = () => $("cart").showModal();
  $("checkout").onclick = () => checkout().catch(showError);
  $("open-privacy").onclick = () => showPrivacy().catch(showError);
  $("consent").onchange = () => setConsent($("consent").checked).catch(showError);
  // The switch flipped in another tab: this tab's engine follows (writing, or deleting and stopping).
  addEventListener("storage", (e) => {
    if (e.key === CONSENT_KEY || e.key === null) call("consent", { on: localStorage.getItem(CONSENT_KEY) !== "off" }).catch(showError);
  });
  $("export").onclick = () => exportEvents().catch(showError);
  $("forget").onclick = () => forget().catch(showError);
  for (const button of document.querySelectorAll("[data-close]")) button.onclick = () => button.closest("dialog").close();
  await refresh();
  document.body.dataset.ready = "true";
}

start().catch(showError);
