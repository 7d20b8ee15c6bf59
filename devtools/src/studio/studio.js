// Ponte Studio's page. It computes nothing itself: every result comes from the server, which runs
// the functions' own code. What a submission or a secret holds is shown as text, never as HTML.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const state = { function: "", chosen: null, letter: null, configOk: false, timer: null };

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "X-Studio-Token": token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ ok: false, message: `HTTP ${response.status}` }));
  return answer;
}

function element(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") made.className = value;
    else if (name.startsWith("on")) made.addEventListener(name.slice(2), value);
    else made.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    made.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return made;
}

function status(id, text, good) {
  const line = $(id);
  line.textContent = text;
  line.className = "status " + (good === undefined ? "" : good ? "good" : "bad");
}

// The configuration editor: JSON syntax is checked as it is typed, the rest by the server.
function configValue() {
  const text = $("config").value;
  try {
    return { value: text.trim() === "" ? {} : JSON.parse(text) };
  } catch (error) {
    return { error: where(text, error) };
  }
}

function where(text, error) {
  // Chromium names the position of the slip; the end of the text when it ran out.
  const match = /position (\d+)/.exec(error.message);
  const before = text.slice(0, match ? Number(match[1]) : text.length);
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return `JSON syntax: ${error.message.replace(/ in JSON at position \d+.*$/, "")} (line ${line}, column ${column})`;
}

function configChanged() {
  const parsed = configValue();
  if (parsed.error) {
    state.configOk = false;
    status("config-status", parsed.error, false);
    updateButtons();
    return;
  }
  status("config-status", "JSON is well formed", true);
  clearTimeout(state.timer);
  state.timer = setTimeout(tryChosen, 250);
}

function updateButtons() {
  $("save").disabled = !state.configOk;
  $("redrive").disabled = !state.letter;
}

async function loadFunctions() {
  const answer = await api("/api/functions");
  if (!answer.ok) {
    status("config-status", answer.message || "the Studio could not be reached", false);
    return;
  }
  const select = $("function");
  for (const f of answer.functions) {
    select.append(element("option", { value: f.name }, `${f.name} (${f.provider})`));
  }
  const sources = $("paste-source");
  sources.append(element("option", { value: "direct" }, "direct call (JSON)"));
  for (const s of answer.functions[0]?.sources || []) sources.append(element("option", { value: s }, s));
  await selectFunction();
}

async function selectFunction() {
  state.function = $("function").value;
  state.chosen = null;
  state.letter = null;
  $("letters").replaceChildren();
  $("result").replaceChildren(element("p", { class: "quiet" }, "Choose a submission."));
  const config = await api(`/api/config?function=${encodeURIComponent(state.function)}`);
  if (config.ok) {
    $("config").value = JSON.stringify(config.webhooks, null, 2);
    $("secret").textContent = `secret ${config.secret_id}`;
    configChanged();
  } else {
    status("config-status", config.message, false);
  }
  const samples = await api(`/api/samples?function=${encodeURIComponent(state.function)}`);
  $("samples").replaceChildren(
    ...(samples.samples || []).map((name) =>
      element("li", {}, element("label", {}, element("input", { type: "radio", name: "sample", value: name, onchange: () => choose({ kind: "sample", name }) }), name)),
    ),
  );
  updateButtons();
}

async function loadLetters() {
  const queue = $("queue").value;
  const answer = await api(`/api/letters?function=${encodeURIComponent(state.function)}&queue=${queue}`);
  if (!answer.ok) {
    $("letters").replaceChildren(element("li", { class: "problem" }, answer.message));
    return;
  }
  if (answer.letters.length === 0) {
    $("letters").replaceChildren(element("li", { class: "quiet" }, "No letters."));
    return;
  }
  $("letters").replaceChildren(
    ...answer.letters.map((letter) =>
      element("li", {},
        element("label", {},
          element("input", { type: "radio", name: "letter", value: letter.message_id, onchange: () => choose({ kind: "letter", message_id: letter.message_id }, queue === "dead_letters" ? letter.message_id : null) }),
          element("span", {}, element("strong", {}, letter.reason), " ", letter.message_id.slice(0, 8), element("div", { class: "error" }, letter.error || "")),
        ),
      ),
    ),
  );
}

function choose(submission, letter = null) {
  state.chosen = submission;
  state.letter = letter;
  updateButtons();
  tryChosen();
}

async function tryChosen() {
  const parsed = configValue();
  if (parsed.error || !state.chosen) {
    if (!parsed.error) {
      // No submission yet: the configuration alone is checked on save.
      state.configOk = true;
      updateButtons();
    }
    return;
  }
  const answer = await api("/api/try", {
    function: state.function,
    webhooks: parsed.value,
    submission: state.chosen,
    show_pii: $("show-pii").checked,
  });
  // The configuration loads when the server got as far as the request (or the answer's
  // stage says the request itself is at fault).
  state.configOk = answer.stage !== undefined && answer.stage !== "configuration";
  updateButtons();
  showResult(answer);
}

function showResult(answer) {
  const result = $("result");
  if (answer.stage === "configuration") {
    result.replaceChildren(
      element("p", { class: "problem" }, answer.message),
      problemsTable(answer.problems.map((p) => ({ field: p.field, problem: p.problem }))),
    );
    return;
  }
  if (answer.stage === "test") {
    result.replaceChildren(element("p", {}, `A test delivery: ${answer.message}`));
    return;
  }
  if (answer.stage !== "result") {
    const error = answer.error || {};
    result.replaceChildren(element("p", { class: "problem" }, `${error.kind || "error"}: ${error.message || answer.message || "no result"}`));
    return;
  }
  const parts = [];
  if (answer.unauthenticated) parts.push(element("p", { class: "quiet" }, answer.unauthenticated));
  answer.submissions.forEach((s, n) => parts.push(...submissionView(s, n, answer.submissions.length)));
  result.replaceChildren(...parts);
}

function submissionView(s, n, count) {
  const parts = [];
  if (count > 1) parts.push(element("h3", {}, `Submission ${n + 1}${s.submission_id ? ` (${s.submission_id})` : ""}`));
  if (s.routes) {
    parts.push(element("h3", {}, "Routes"));
    parts.push(element("table", {},
      element("tr", {}, element("th", {}, "route"), element("th", {}, "when"), element("th", {}, "")),
      ...s.routes.map((r) => element("tr", {},
        element("td", {}, r.name),
        element("td", {}, element("code", {}, r.when || "(always)")),
        element("td", {}, r.taken ? element("span", { class: "badge good" }, "taken") : element("span", { class: "badge" }, r.error ? `could not be told: ${r.error}` : r.holds ? "holds" : "does not hold")),
      )),
    ));
  }
  if (s.skipped) parts.push(element("p", {}, `Skipped by route ${s.route}: nothing is sent.`));
  if (s.problems) {
    parts.push(element("h3", { class: "problem" }, "Problems: nothing would be sent"));
    parts.push(problemsTable(s.problems.map((p) => ({ ...p, from: causes(s, p.field) }))));
  }
  if (s.error) parts.push(element("p", { class: "problem" }, `${s.error.kind}: ${s.error.message}`));
  if (s.request) {
    parts.push(element("h3", {}, "Request it would send"));
    parts.push(element("p", {}, element("code", {}, `POST ${s.request.url}`)));
    parts.push(element("pre", { id: n === 0 ? "request-body" : undefined }, JSON.stringify(s.request.body, null, 2)));
  }
  for (const t of s.targets || []) {
    parts.push(element("h3", {}, `Handed to ${t.function} (its mapping ${t.mapping})`));
    const r = t.result;
    if (!r) {
      parts.push(element("p", { class: "quiet" }, t.note || ""));
    } else if (r.request) {
      parts.push(element("p", {}, element("code", {}, `POST ${r.request.url}`)));
      parts.push(element("pre", {}, JSON.stringify(r.request.body, null, 2)));
    } else if (r.problems) {
      parts.push(problemsTable(r.problems.map((p) => ({ ...p, from: causes(r, p.field) }))));
    } else {
      const error = r.error || {};
      parts.push(element("p", { class: "problem" }, `${error.kind || r.stage || "error"}: ${error.message || r.message || ""}`));
    }
  }
  if (s.fields) {
    parts.push(element("h3", {}, `Mapping: ${s.mapping}`));
    parts.push(element("table", {},
      element("tr", {}, element("th", {}, "field"), element("th", {}, "written"), element("th", {}, "value"), element("th", {}, "from the answers")),
      ...s.fields.map((f) => element("tr", {},
        element("td", {}, element("code", {}, f.path)),
        element("td", {}, element("code", {}, f.written)),
        element("td", {}, f.problem ? element("span", { class: "problem" }, f.problem) : String(f.value ?? "")),
        element("td", {}, f.from.map((a) => `${a.name} = ${a.value}`).join("; ")),
      )),
    ));
  }
  if (s.answers) {
    parts.push(element("h3", {}, "Answers"));
    parts.push(element("table", {},
      ...s.answers.map((a) => element("tr", {}, element("td", {}, a.name), element("td", {}, String(a.value)))),
    ));
  }
  return parts;
}

// The answers that fed the field a problem is about.
function causes(s, field) {
  const leaf = (s.fields || []).find((f) => f.path === field);
  return leaf ? leaf.from.map((a) => `${a.name} = ${a.value}`).join("; ") : "";
}

function problemsTable(problems) {
  return element("table", { class: "problems" },
    element("tr", {}, element("th", {}, "where"), element("th", {}, "problem"), element("th", {}, "from the answers")),
    ...problems.map((p) => element("tr", {},
      element("td", {}, element("code", {}, p.field)),
      element("td", { class: "problem" }, p.problem),
      element("td", {}, p.from || ""),
    )),
  );
}

async function save() {
  const parsed = configValue();
  if (parsed.error) return;
  status("action-status", "Saving…");
  const answer = await api("/api/save", { function: state.function, webhooks: parsed.value });
  if (answer.ok) {
    status("action-status", `${answer.message}. To roll back: ${answer.rollback}`, true);
  } else {
    status("action-status", `${answer.message}${answer.problems ? ": " + answer.problems.map((p) => `${p.field}: ${p.problem}`).join("; ") : ""}`, false);
  }
}

async function redrive() {
  if (!state.letter) return;
  status("action-status", "Sending back…");
  const answer = await api("/api/redrive", { function: state.function, message_ids: [state.letter] });
  status("action-status", answer.message, answer.ok);
  if (answer.ok) {
    state.letter = null;
    updateButtons();
  }
}

function showTab(name) {
  for (const button of document.querySelectorAll(".tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== `tab-${name}`;
}

document.addEventListener("DOMContentLoaded", () => {
  $("function").addEventListener("change", selectFunction);
  $("config").addEventListener("input", configChanged);
  $("show-pii").addEventListener("change", tryChosen);
  $("load-letters").addEventListener("click", loadLetters);
  $("save").addEventListener("click", save);
  $("redrive").addEventListener("click", redrive);
  $("try-paste").addEventListener("click", () =>
    choose({ kind: "paste", source: $("paste-source").value, query: $("paste-query").value, headers: $("paste-headers").value, body: $("paste-body").value }),
  );
  for (const button of document.querySelectorAll(".tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
  loadFunctions();
});
