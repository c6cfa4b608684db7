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

async function search(event) {
  if (event) event.preventDefault();
  const q = $("q").value;
  if (!q.trim()) return;
  const params = { q, k: 20, language: $("language").value, path: $("path").value };
  $("status").textContent = "searching…";
  try {
    const body = await fetchJson("/search", { method: "POST", headers: { "Content-Type": "application/json" },
                                              body: JSON.stringify(params) });
    results = body.results;
    $("status").textContent = results.length ? `${results.length} results` : "no results";
  } catch (err) {
    results = [];
    $("status").textContent = err.message;
  }
  render();
  if (results.length) select(0);
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
    for (const lang of stats.languages || []) {
      const option = document.createElement("option");
      option.value = option.textContent = lang;
      $("language").append(option);
    }
  } catch (err) { /* the filter stays "any language" */ }
}

$("form").addEventListener("submit", search);
loadLanguages();
