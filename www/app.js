// The demo shop's page: renders products, recommendations and prices; every computation runs in
// the Web Worker (worker.js), so the page never stalls. The URL's ?device=auto|gpu|cpu picks
// where scoring runs (default auto).
const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const pending = new Map();
let nextId = 0;
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

worker.onmessage = ({ data }) => {
  if (data.type === "progress") return showProgress(data.loaded, data.total);
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

const state = { items: [], byId: new Map(), quotes: new Map(), cart: [], aisle: "", open: null };

function showProgress(loaded, total) {
  const pct = total ? Math.round((100 * loaded) / total) : 0;
  $("progress").setAttribute("aria-valuenow", String(pct));
  $("progress-bar").style.width = `${pct}%`;
  $("progress-text").textContent = `Downloading the recommendation model… ${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
}

function showError(e) {
  $("error").hidden = false;
  $("error").textContent = `Something went wrong: ${e.message}`;
}

function priceBlock(id) {
  const q = state.quotes.get(id);
  const box = document.createElement("div");
  box.className = "price";
  if (!q) return box;
  box.dataset.item = id;
  box.dataset.price = String(q.price);
  box.dataset.list = String(q.listPrice);
  box.dataset.reference = String(q.referencePrice);
  box.dataset.discount = String(q.discountPct);
  box.dataset.personalised = String(q.personalised);
  const now = Object.assign(document.createElement("span"), { className: "now", textContent: money.format(q.price) });
  box.append(now);
  if (q.discountPct > 0) {
    box.append(Object.assign(document.createElement("span"), { className: "was", textContent: money.format(q.referencePrice) }));
    box.append(Object.assign(document.createElement("span"), { className: "off", textContent: `−${q.discountPct}%` }));
  }
  if (q.disclosure) box.append(Object.assign(document.createElement("span"), { className: "disclosure", textContent: q.disclosure }));
  return box;
}

function card(id, why) {
  const item = state.byId.get(id);
  const el = document.createElement("article");
  el.className = "card";
  el.dataset.item = id;
  el.innerHTML = `<span class="aisle"></span><h3></h3>`;
  el.querySelector(".aisle").textContent = item.category ?? "";
  el.querySelector("h3").textContent = item.name ?? id;
  el.append(priceBlock(id));
  if (why) {
    const details = document.createElement("details");
    details.className = "why";
    details.innerHTML = "<summary>Why this?</summary>";
    const list = document.createElement("ul");
    for (const r of why) {
      const li = document.createElement("li");
      li.textContent = `You ${{ view: "looked at", cart: "added", purchase: "bought" }[r.type]} ${state.byId.get(r.item)?.name ?? r.item} (+${r.effect.toFixed(2)})`;
      list.append(li);
    }
    if (!why.length) list.innerHTML = "<li>Popular with shoppers: you have no history here yet.</li>";
    details.append(list);
    el.append(details);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  const view = Object.assign(document.createElement("button"), { type: "button", textContent: "View" });
  view.onclick = () => openProduct(id);
  const add = Object.assign(document.createElement("button"), { type: "button", className: "primary", textContent: "Add to cart" });
  add.onclick = () => addToCart(id);
  actions.append(view, add);
  el.append(actions);
  return el;
}

function aisleItems() {
  return state.items.filter((i) => !state.aisle || i.category === state.aisle).slice(0, 24).map((i) => i.id);
}

async function refresh(snapshot) {
  const shown = aisleItems();
  const snap = snapshot ?? (await call("snapshot", { shown }));
  for (const q of snap.quotes) state.quotes.set(q.item, q);
  $("backend").textContent = snap.backend === "gpu" ? "WebGPU" : "CPU";
  $("recommended").replaceChildren(...snap.recommended.map((r) => card(r.item, r.why)));
  $("products").replaceChildren(...shown.map((id) => card(id)));
  renderCart();
}

async function record(events) {
  try {
    await refresh(await call("observe", { events, shown: aisleItems() }));
  } catch (e) {
    showError(e);
  }
}

function openProduct(id) {
  const item = state.byId.get(id);
  state.open = id;
  $("product-aisle").textContent = `${item.department ?? ""} › ${item.category ?? ""}`;
  $("product-name").textContent = item.name ?? id;
  $("product-price").replaceWith(Object.assign(priceBlock(id), { id: "product-price" }));
  $("product").showModal();
  record([{ type: "view", item: id, ts: Date.now() }]);
}

function addToCart(id) {
  const q = state.quotes.get(id);
  state.cart.push({ item: id, price: q?.price });
  record([{ type: "cart", item: id, ts: Date.now(), ...(q ? { price: q.price } : {}) }]);
}

function renderCart() {
  $("cart-count").textContent = String(state.cart.length);
  $("cart-lines").replaceChildren(...state.cart.map(({ item, price }) => {
    const li = document.createElement("li");
    li.textContent = `${state.byId.get(item)?.name ?? item} — ${price === undefined ? "" : money.format(price)}`;
    return li;
  }));
  $("cart-total").textContent = money.format(state.cart.reduce((sum, l) => sum + (l.price ?? 0), 0));
}

async function checkout() {
  const now = Date.now();
  const events = state.cart.map((l, i) => ({ type: "purchase", item: l.item, ts: now + i, ...(l.price === undefined ? {} : { price: l.price }) }));
  state.cart = [];
  $("cart").close();
  if (events.length) await record(events);
}

async function showPrivacy() {
  const events = await call("events");
  $("events").replaceChildren(...events.map((e) => {
    const li = document.createElement("li");
    li.textContent = `${new Date(e.ts).toLocaleString()} — ${e.type}: ${state.byId.get(e.item)?.name ?? e.item}`;
    return li;
  }));
  if (!events.length) $("events").innerHTML = "<li>No events: this device holds nothing about you.</li>";
  $("privacy").showModal();
}

async function exportEvents() {
  const blob = new Blob([JSON.stringify(await call("events"), null, 2)], { type: "application/json" });
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "my-shop-events.json" });
  a.click();
  URL.revokeObjectURL(a.href);
}

async function forget() {
  await call("forget");
  state.cart = [];
  state.quotes.clear();
  $("privacy").close();
  await refresh();
}

async function start() {
  const device = new URLSearchParams(location.search).get("device") ?? "auto";
  const ready = await call("init", { device });
  $("progress").hidden = true;
  state.items = ready.items;
  state.byId = new Map(ready.items.map((i) => [i.id, i]));
  $("model").textContent = `model ${ready.modelVersion}`;
  const aisles = [...new Set(ready.items.map((i) => i.category).filter(Boolean))].sort();
  $("aisle").replaceChildren(new Option("Most bought", ""), ...aisles.map((a) => new Option(a.toLowerCase(), a)));
  $("aisle").onchange = () => { state.aisle = $("aisle").value; refresh().catch(showError); };
  $("product-add").onclick = () => state.open && addToCart(state.open);
  $("open-cart").onclick = () => $("cart").showModal();
  $("checkout").onclick = () => checkout();
  $("open-privacy").onclick = () => showPrivacy().catch(showError);
  $("export").onclick = () => exportEvents().catch(showError);
  $("forget").onclick = () => forget().catch(showError);
  for (const button of document.querySelectorAll("[data-close]")) button.onclick = () => button.closest("dialog").close();
  await refresh();
  document.body.dataset.ready = "true";
}

start().catch(showError);
