// The search page: queries /search, shows /units/ID?html=1 for the selected result.
"use strict";
const $ = (id) => document.getElementById(id);
let results = [];
let selected = -1;

function text(tag, cls, value) {
  const el = document.createElement(tag);
  el.className = cls;
  el.textContent = value;
  return el;
}

async function fetchJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// The page's address holds the search (q, k, language, path, tests): a result can be linked,
// bookmarked and reloaded, and back/forward return to earlier searches.
const FILTERS = ["language", "path", "tests"];
let k = 20;
let latest = 0;  // the newest search: an older answer arriving late is dropped

function formParams() {
  const params = new URLSearchParams({ q: $("q").value });
  if (k !== 20) params.set("k", k);
  for (const name of FILTERS) {
    if ($(name).value && !(name === "tests" && $(name).value === "rank")) params.set(name, $(name).value);
  }
  return params;
}

function fillForm(params) {
  $("q").value = params.get("q") || "";
  k = Number.parseInt(params.get("k"), 10) || 20;
  const language = params.get("language") || "";
  if (language && ![...$("language").options].some((o) => o.value === language)) {
    const option = document.createElement("option");
    option.value = option.textContent = language;
    $("language").append(option);
  }
  $("language").value = language;
  $("path").value = params.get("path") || "";
  $("tests").value = params.get("tests") || "rank";
}

async function search(event) {
  if (event) event.preventDefault();
  if (!$("q").value.trim()) return;
  const params = formParams();
  if (event && location.search !== `?${params}`) history.pushState(null, "", `?${params}`);
  await run(params);
}

async function run(params) {
  const mine = ++latest;
  $("status").textContent = "searching…";
  let found = [];
  let status;
  try {  // POST: a pasted snippet may be longer than a server reads in a URL
    const body = await fetchJson("/search", { method: "POST", headers: { "Content-Type": "application/json" },
                                              body: JSON.stringify({ k, ...Object.fromEntries(params) }) });
    found = body.results;
    status = found.length ? `${found.length} results` : "no results";
  } catch (err) {
    status = err.message;
  }
  if (mine !== latest) return;
  results = found;
  $("status").textContent = status;
  render();
  if (results.length) select(0);
}

async function fromAddress() {
  const params = new URLSearchParams(location.search);
  fillForm(params);
  if ($("q").value.trim()) await run(formParams());
  else { latest++; results = []; render(); $("status").textContent = ""; }
}

function render() {
  const list = $("results");
  list.replaceChildren();
  $("code").replaceChildren();
  // an index of several repositories: say which one (the last folder of the result's root)
  const severalRoots = new Set(results.map((r) => r.root)).size > 1;
  results.forEach((r, i) => {
    const li = document.createElement("li");
    li.dataset.id = r.id;
    const repo = severalRoots && r.root ? `${r.root.split("/").pop()}: ` : "";
    li.append(text("div", "name", r.name),
              text("div", "where", `${repo}${r.path}:${r.start_line}-${r.end_line} · ${r.kind} · ${r.language}`),
              text("div", "score", `score ${r.score.toFixed(3)}`));
    li.addEventListener("click", () => select(i));
    list.append(li);
  });
}

async function select(i) {
  if (i < 0 || i >= results.length) return;
  selected = i;
  const items = $("results").children;
  for (const li of items) li.classList.remove("selected");
  items[i].classList.add("selected");
  items[i].scrollIntoView({ block: "nearest" });
  const r = results[i];
  try {
    const unit = await fetchJson(`/units/${r.id}?html=1`);
    if (selected !== i) return;  // the user moved on meanwhile
    const box = $("code");
    box.replaceChildren(text("p", "title", `${unit.path}:${unit.start_line}-${unit.end_line}  ${unit.name}`));
    box.insertAdjacentHTML("beforeend", unit.highlighted);  // pygments escapes the code
  } catch (err) {
    $("code").replaceChildren(text("p", "error", err.message));
  }
}

document.addEventListener("keydown", (event) => {
  const typing = document.activeElement && document.activeElement.tagName === "INPUT";
  if (event.key === "ArrowDown") { event.preventDefault(); select(Math.min(selected + 1, results.length - 1)); }
  else if (event.key === "ArrowUp") { event.preventDefault(); select(Math.max(selected - 1, 0)); }
  else if (event.key === "Enter" && !typing && selected >= 0) { select(selected); }
  else if (event.key === "/" && !typing) { event.preventDefault(); $("q").focus(); }
});

async function loadLanguages() {
  try {
    const stats = await fetchJson("/stats");
    const known = new Set([...$("language").options].map((o) => o.value));
    for (const lang of (stats.languages || []).filter((l) => !known.has(l))) {
      const option = document.createElement("option");
      option.value = option.textContent = lang;
      $("language").append(option);
    }
  } catch (err) { /* the filter stays "any language" */ }
}

$("form").addEventListener("submit", search);
window.addEventListener("popstate", fromAddress);
loadLanguages().then(fromAddress);
