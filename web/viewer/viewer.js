// The page viewer: search the library, list the pages that matched with their snippets, and draw every hit's
// words on the page image. It reads only the public API: /search (IIIF Content Search 2.0), a book's
// manifest (IIIF Presentation 3) and autocomplete (2.0). Boxes are placed in percent of the canvas (the page's
// own pixels, in which every box is given), so they stay on their words at any zoom and window size.
"use strict";

const api = new URL("..", document.baseURI); // the viewer is served at {API}/viewer/
const state = { hits: [], current: -1, next: null, manifests: new Map(), zoom: 1, config: { auth: "public" } };
const $ = (id) => document.getElementById(id);

function xywh(target) {
  // "CANVAS#xywh=x,y,w,h" -> { canvas, box: [x, y, w, h] }
  const [canvas, fragment] = String(target.id || target).split("#xywh=");
  return { canvas, box: fragment.split(",").map(Number) };
}

function bookAndPage(canvas) {
  const match = new URL(canvas).pathname.match(/\/iiif\/([^/]+)\/canvas\/([^/]+)$/);
  return match ? { book: decodeURIComponent(match[1]), page: decodeURIComponent(match[2]) } : null;
}

async function get(url) {
  await state.configured;  // how to sign depends on config.json, which may still be on its way
  const iam = state.config.auth === "iam";
  const target = iam ? window.sigv4.canonicalUrl(url) : url;  // send exactly what is signed
  const signed = iam ? await window.sigv4.headers(target, state.config.region) : {};
  const response = await fetch(target, { headers: signed });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function hitsOf(answer) {
  // Every item is one hit (one word, or a phrase with several targets); its snippet is the contextualizing
  // annotation whose source is the item.
  const snippets = new Map();
  for (const page of answer.annotations || []) {
    for (const note of page.items || []) {
      const targets = [].concat(note.target);
      for (const target of targets) {
        const selector = [].concat(target.selector || [])[0] || {};
        snippets.set(target.source, selector);
      }
    }
  }
  return (answer.items || []).map((item) => {
    const targets = [].concat(item.target).map(xywh);
    const where = bookAndPage(targets[0].canvas);
    const quote = snippets.get(item.id) || {};
    return { id: item.id, ...where, canvas: targets[0].canvas, boxes: targets.map((t) => t.box),
      before: quote.prefix || "", match: quote.exact || (item.body && item.body.value) || "", after: quote.suffix || "" };
  });
}

function snippetButton(hit, index) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "snippet";
  button.dataset.index = index;
  const mark = document.createElement("mark");
  mark.textContent = hit.match;
  button.append("…" + hit.before, mark, hit.after + "…");
  button.addEventListener("click", () => show(index));
  return button;
}

function render(fresh) {
  const list = $("pages");
  if (fresh) list.replaceChildren();
  let book = null, page = null, group = null;
  const start = fresh ? 0 : list.querySelectorAll(".snippet").length;
  state.hits.slice(start).forEach((hit, offset) => {
    if (hit.book !== book) {
      book = hit.book;
      const heading = document.createElement("li");
      heading.className = "book";
      heading.textContent = book;
      list.append(heading);
      page = null;
    }
    if (hit.page !== page) {
      page = hit.page;
      group = document.createElement("li");
      group.className = "page-result";
      const title = document.createElement("h3");
      title.textContent = `p. ${page}`;
      group.append(title);
      list.append(group);
    }
    group.append(snippetButton(hit, start + offset));
  });
}

async function search(event) {
  if (event) event.preventDefault();
  // A search ends the typing: drop the suggestion still waiting on its timer or on its answer.
  clearTimeout(suggestTimer);
  suggestAsked += 1;
  hideSuggestions();
  const q = $("q").value.trim();
  if (!q) return;
  const url = new URL("search", api);
  url.searchParams.set("q", q);
  if ($("book").value) url.searchParams.set("book", $("book").value);
  await load(url.href, true);
}

async function load(url, fresh) {
  $("status").textContent = "Searching…";
  try {
    const answer = await get(url);
    const hits = hitsOf(answer);
    state.hits = fresh ? hits : state.hits.concat(hits);
    state.next = answer.next ? answer.next.id || answer.next : null;
    const total = (answer.partOf && answer.partOf.total) ?? state.hits.length;
    $("status").textContent = total ? `${total} hit(s)` : "No page matches.";
    render(fresh);
    $("more").hidden = !state.next;
    if (fresh && state.hits.length) await show(0);
    if (fresh && !state.hits.length) $("page").hidden = true;
  } catch (error) {
    $("status").textContent = `Search failed: ${error.message}`;
  }
}

async function manifestOf(book) {
  if (!state.manifests.has(book)) {
    state.manifests.set(book, get(new URL(`iiif/${encodeURIComponent(book)}/manifest`, api).href));
  }
  return state.manifests.get(book);
}

async function show(index) {
  if (index < 0 || index >= state.hits.length) return;
  state.current = index;
  const hit = state.hits[index];
  const manifest = await manifestOf(hit.book);
  const canvas = manifest.items.find((c) => c.id === hit.canvas);
  if (!canvas) return;
  const body = canvas.items[0].items[0].body;
  const image = $("image");
  if (image.dataset.canvas !== canvas.id) {
    image.src = body.id;
    image.alt = `Page ${hit.page} of ${hit.book}`;
    image.dataset.canvas = canvas.id;
  }
  $("page").hidden = false;
  $("page-title").textContent = `${hit.book}, p. ${hit.page}`;
  $("position").textContent = `${index + 1} of ${state.hits.length}`;
  const mirador = new URL("mirador/", api);
  mirador.searchParams.set("manifest", manifest.id);
  $("open-mirador").href = mirador.href;
  drawBoxes(canvas);
  for (const button of document.querySelectorAll(".snippet")) {
    button.setAttribute("aria-current", String(Number(button.dataset.index) === index));
  }
}

function drawBoxes(canvas) {
  const layer = $("boxes");
  layer.replaceChildren();
  state.hits.forEach((hit, index) => {
    if (hit.canvas !== canvas.id) return;
    for (const [x, y, w, h] of hit.boxes) {
      const box = document.createElement("div");
      box.className = "box" + (index === state.current ? " current" : "");
      box.dataset.hit = index;
      Object.assign(box.style, {
        left: `${(100 * x) / canvas.width}%`, top: `${(100 * y) / canvas.height}%`,
        width: `${(100 * w) / canvas.width}%`, height: `${(100 * h) / canvas.height}%`,
      });
      layer.append(box);
    }
  });
  const current = layer.querySelector(".box.current");
  if (current) current.scrollIntoView({ block: "center", inline: "center" });
}

function zoom(factor) {
  state.zoom = Math.min(8, Math.max(0.25, state.zoom * factor));
  $("figure").style.width = `${100 * state.zoom}%`;
  const current = document.querySelector(".box.current");
  if (current) current.scrollIntoView({ block: "center", inline: "center" });
}

// --- autocomplete: terms of the chosen book (or of the library) starting with the word being typed

let suggestTimer = null;
let suggestAsked = 0; // which suggestion request is the latest: an older answer is not shown
function hideSuggestions() {
  $("suggestions").hidden = true;
  $("q").setAttribute("aria-expanded", "false");
}

async function suggest() {
  const words = $("q").value.split(/\s+/);
  const last = words[words.length - 1].replace(/^[-"]+|"+$/g, "");
  if (last.length < 2) return hideSuggestions();
  const book = $("book").value;
  const url = new URL(book ? `iiif/${encodeURIComponent(book)}/autocomplete/2` : "autocomplete", api);
  url.searchParams.set("q", last);
  try {
    const asked = ++suggestAsked;
    const terms = (await get(url.href)).items || [];
    if (asked !== suggestAsked) return;
    const list = $("suggestions");
    list.replaceChildren(...terms.slice(0, 10).map((term, i) => {
      const option = document.createElement("li");
      option.role = "option";
      option.id = `suggestion-${i}`;
      option.textContent = term.value;
      option.addEventListener("mousedown", (e) => { e.preventDefault(); pick(term.value); });
      return option;
    }));
    list.hidden = !terms.length;
    $("q").setAttribute("aria-expanded", String(!!terms.length));
  } catch {
    hideSuggestions();
  }
}

function pick(value) {
  const words = $("q").value.split(/\s+/);
  words[words.length - 1] = words[words.length - 1].replace(/[^-"]*$/, value);
  $("q").value = words.join(" ");
  hideSuggestions();
  $("q").focus();
}

function moveInSuggestions(step) {
  const options = [...$("suggestions").children];
  if ($("suggestions").hidden || !options.length) return false;
  const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  const next = (at + step + options.length) % options.length;
  options.forEach((o, i) => o.setAttribute("aria-selected", String(i === next)));
  $("q").setAttribute("aria-activedescendant", options[next].id);
  return true;
}

// --- wiring

async function configure() {
  state.config = await fetch("config.json").then((r) => (r.ok ? r.json() : { auth: "public" })).catch(() => ({ auth: "public" }));
  if (state.config.auth === "iam") {
    $("signing").hidden = false;
    $("save-credentials").addEventListener("click", () => window.sigv4.remember($("akid").value, $("secret").value, $("token").value));
  }
}

async function start() {
  // The keys work from the first moment: wiring comes before anything that waits on the network.
  state.configured = configure();
  $("search").addEventListener("submit", search);
  $("more").addEventListener("click", () => state.next && load(state.next, false));
  $("next").addEventListener("click", () => show(state.current + 1));
  $("prev").addEventListener("click", () => show(state.current - 1));
  $("zoom-in").addEventListener("click", () => zoom(1.25));
  $("zoom-out").addEventListener("click", () => zoom(0.8));
  $("q").addEventListener("input", () => { clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 150); });
  $("q").addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && moveInSuggestions(1)) e.preventDefault();
    else if (e.key === "ArrowUp" && moveInSuggestions(-1)) e.preventDefault();
    else if (e.key === "Escape") hideSuggestions();
    else if (e.key === "Enter") {
      const chosen = $("suggestions").querySelector('[aria-selected="true"]');
      if (chosen && !$("suggestions").hidden) { e.preventDefault(); pick(chosen.textContent); }
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input, select, textarea")) return;
    if (e.key === "j" || e.key === "ArrowRight") show(state.current + 1);
    else if (e.key === "k" || e.key === "ArrowLeft") show(state.current - 1);
    else if (e.key === "+" || e.key === "=") zoom(1.25);
    else if (e.key === "-") zoom(0.8);
    else if (e.key === "/") { e.preventDefault(); $("q").focus(); }
  });
  try {
    for (const { book } of (await get(new URL("books", api).href)).books || []) {
      $("book").append(new Option(book, book));
    }
  } catch { /* the list of books is a convenience: searching works without it */ }
  document.documentElement.dataset.ready = "true";
  const asked = new URLSearchParams(location.search);
  if (asked.get("book")) $("book").value = asked.get("book");
  if (asked.get("q")) { $("q").value = asked.get("q"); await search(); }
}

window.viewer = { state, show, search };
start();
