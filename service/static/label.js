// newstag labelling page (/label): one suggested paragraph at a time, answered with keys.
// Plain JavaScript; talks only to this service's /label/api/..., with the token in the
// Authorization header (never in a URL).  The name is kept in localStorage, the token
// and this session's answers and skips in sessionStorage (this tab only).
// Text from the queue is only ever put in the page as text nodes.
(function () {
  "use strict";

  var TOPICS = JSON.parse(document.body.getAttribute("data-topics") || "[]");
  var BY_KEY = {};  // "1" / "h" -> topic name
  TOPICS.forEach(function (t) {
    if (t.digit) BY_KEY[t.digit] = t.name;
    if (t.letter) BY_KEY[t.letter] = t.name;
  });
  var DISPLAY = {};
  TOPICS.forEach(function (t, i) { DISPLAY[t.name] = { display: t.display, cls: "t-" + (i % 8) }; });

  var NAME_KEY = "newstag.label.name";
  var TOKEN_KEY = "newstag.label.token";
  var SESSION_KEY = "newstag.label.session";
  var SKIPPED_KEY = "newstag.label.skipped";

  var $ = function (id) { return document.getElementById(id); };
  var login = $("login"), errorEl = $("error"), progressEl = $("progress"), itemEl = $("item"), emptyEl = $("empty");

  function load(store, key, fallback) {
    try { var v = store.getItem(key); return v === null ? fallback : JSON.parse(v); } catch (e) { return fallback; }
  }
  function save(store, key, value) {
    try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode: keep it in memory */ }
  }

  var name = load(localStorage, NAME_KEY, "");
  var token = load(sessionStorage, TOKEN_KEY, "");
  var session = load(sessionStorage, SESSION_KEY, []);   // [{id, text, labels, source}], oldest first
  var skipped = load(sessionStorage, SKIPPED_KEY, []);   // item ids
  var current = null;                                     // the item shown
  var lastProgress = null;
  var busy = false;
  var seq = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = !message;
  }

  // Mark the end of an action (tests and the busy flag).
  function settled() {
    busy = false;
    seq += 1;
    document.body.setAttribute("data-seq", String(seq));
  }

  // -- the service ----------------------------------------------------------------

  function call(method, path, payload) {
    var headers = { "Accept": "application/json", "Authorization": "Bearer " + token };
    var init = { method: method, headers: headers, cache: "no-store" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json; charset=utf-8";
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init).then(function (r) {
      return r.json().then(
        function (data) { return { ok: r.ok, status: r.status, data: data }; },
        function () { return { ok: false, status: r.status, data: { error: "the service answered " + r.status + " without JSON" } }; }
      );
    }, function (err) {
      return { ok: false, status: 0, data: { error: "the service could not be reached: " + err } };
    });
  }

  // 401/403: the token is wrong or gone; ask again.  Returns true when handled.
  function authFailed(res) {
    if (res.status !== 401 && res.status !== 403) return false;
    token = "";
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    showLogin(res.status === 403 ? "Wrong token: type it again." : "The token is needed: type it.");
    return true;
  }

  function failed(res, doing) {
    if (authFailed(res)) return;
    showError("Error " + res.status + " " + doing + ": " + (res.data && res.data.error));
  }

  // -- rendering ------------------------------------------------------------------

  function showProgress(p) {
    if (p) lastProgress = p;
    p = lastProgress;
    if (!p) return;
    while (progressEl.firstChild) progressEl.removeChild(progressEl.firstChild);
    var parts = [
      ["Labelled ", p.labelled + " / " + p.queue],
      [" · this session ", String(session.length)],
      [" · skipped ", String(skipped.length)],
      [" · left ", String(p.remaining)]
    ];
    parts.forEach(function (part) {
      progressEl.appendChild(document.createTextNode(part[0]));
      progressEl.appendChild(el("strong", { text: part[1] }));
    });
    if (p.held_by_others) {
      progressEl.appendChild(document.createTextNode(" (" + p.held_by_others + " open in other editors' pages)"));
    }
    progressEl.setAttribute("data-labelled", String(p.labelled));
    progressEl.setAttribute("data-queue", String(p.queue));
    progressEl.setAttribute("data-session", String(session.length));
  }

  function checkboxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#topics input[name=topic]"));
  }

  function ticked() {
    return checkboxes().filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
  }

  function showAnswer() {
    var labels = ticked();
    checkboxes().forEach(function (c) {
      c.closest("tr").classList.toggle("on", c.checked);
    });
    var answer = $("answer");
    answer.textContent = labels.length ? labels.map(function (n) { return DISPLAY[n].display; }).join(" · ") : "none (no topic)";
    answer.className = labels.length ? "" : "none";
  }

  function showItem(item, ticks) {
    current = item;
    showError("");
    if (!item) {
      itemEl.hidden = true;
      emptyEl.hidden = false;
      var p = lastProgress || { remaining: 0, held_by_others: 0 };
      $("empty-text").textContent = p.held_by_others
        ? "Nothing left for you just now: " + p.held_by_others + " paragraph(s) are open in other editors' pages."
        : (p.remaining ? "Nothing left but the paragraphs you skipped." : "The queue is done: every paragraph is labelled.");
      return;
    }
    emptyEl.hidden = true;
    itemEl.hidden = false;
    itemEl.setAttribute("data-id", String(item.id));
    $("article-title").textContent = item.article_title || "(untitled article)";
    $("where").textContent = [item.source, item.article].filter(Boolean).join(" · ");
    $("before").textContent = item.before || "";
    $("paragraph").textContent = item.text;
    $("after").textContent = item.after || "";
    $("reason").textContent = item.reason ? "Suggested because: " + item.reason : "";
    var pre = ticks || item.guess || [];
    checkboxes().forEach(function (c) {
      var topic = c.value;
      c.checked = pre.indexOf(topic) >= 0;
      var row = c.closest("tr");
      var score = item.scores ? item.scores[topic] : undefined;
      var bar = row.querySelector(".bar");
      var value = row.querySelector("td.value");
      bar.style.width = score === undefined ? "0" : (100 * Math.max(0, Math.min(1, score))).toFixed(1) + "%";
      bar.classList.toggle("over", (item.guess || []).indexOf(topic) >= 0);
      value.textContent = score === undefined ? "–" : score.toFixed(2);
      row.querySelector("td.guess-mark").textContent = (item.guess || []).indexOf(topic) >= 0 ? "guess" : "";
    });
    showAnswer();
  }

  function showSession() {
    var list = $("session-list");
    while (list.firstChild) list.removeChild(list.firstChild);
    session.slice().reverse().forEach(function (entry) {
      var labels = entry.labels.length
        ? entry.labels.map(function (n) {
            var d = DISPLAY[n] || { display: n, cls: "" };
            return el("span", { className: "label " + d.cls, text: d.display, "data-topic": n });
          })
        : [el("span", { className: "label none", text: "none" })];
      var snippet = entry.text.length > 60 ? entry.text.slice(0, 60) + "…" : entry.text;
      list.appendChild(el("li", { "data-id": String(entry.id) }, labels.concat([el("span", { className: "snippet", text: snippet })])));
    });
    $("session-count").textContent = String(session.length);
    save(sessionStorage, SESSION_KEY, session);
    save(sessionStorage, SKIPPED_KEY, skipped);
  }

  // -- actions -------------------------------------------------------------------------

  function next() {
    return call("POST", "/label/api/next", { name: name, skip: skipped }).then(function (res) {
      if (!res.ok) { failed(res, "getting the next paragraph"); return; }
      showProgress(res.data.progress);
      showItem(res.data.item);
    });
  }

  function act(fn) {
    if (busy || !name || !token) return;
    busy = true;
    Promise.resolve().then(fn).then(settled, function (err) { showError(String(err)); settled(); });
  }

  function accept() {
    if (!current) return null;
    var item = current, labels = ticked();
    return call("POST", "/label/api/answer", { id: item.id, labels: labels, name: name, skip: skipped }).then(function (res) {
      if (res.status === 409) {  // labelled by someone else meanwhile
        return next().then(function () { showError(res.data.error); });
      }
      if (!res.ok) { failed(res, "saving the answer"); return null; }
      session.push({ id: item.id, text: item.text, labels: res.data.row.labels, source: item.source });
      showSession();
      showProgress(res.data.progress);
      return next();
    });
  }

  function skip() {
    if (!current) return null;
    var item = current;
    return call("POST", "/label/api/skip", { id: item.id, name: name, skip: skipped }).then(function (res) {
      if (!res.ok) { failed(res, "skipping"); return null; }
      if (skipped.indexOf(item.id) < 0) skipped.push(item.id);
      showSession();
      showProgress(res.data.progress);
      return next();
    });
  }

  function undo() {
    if (!session.length) { showError("Nothing to undo in this session."); return null; }
    var last = session[session.length - 1];
    return call("POST", "/label/api/undo", { id: last.id, name: name, skip: skipped }).then(function (res) {
      if (res.status === 409) {  // the row is gone already
        session.pop();
        showSession();
        showError(res.data.error);
        return null;
      }
      if (!res.ok) { failed(res, "undoing"); return null; }
      session.pop();
      showSession();
      showProgress(res.data.progress);
      showItem(res.data.item, last.labels);  // your earlier answer ticked
      return null;
    });
  }

  function none() {
    checkboxes().forEach(function (c) { c.checked = false; });
    showAnswer();
  }

  function toggle(topic) {
    checkboxes().forEach(function (c) { if (c.value === topic) c.checked = !c.checked; });
    showAnswer();
  }

  // -- name and token -------------------------------------------------------------

  function showLogin(message) {
    login.hidden = false;
    itemEl.hidden = true;
    emptyEl.hidden = true;
    $("change-login").hidden = true;
    $("login-name").value = name;
    $("login-token").value = "";
    showError(message || "");
    (name ? $("login-token") : $("login-name")).focus();
  }

  function start() {
    $("who").textContent = "labelling as " + name;
    $("change-login").hidden = false;
    busy = true;
    return call("GET", "/label/api/state").then(function (res) {
      if (!res.ok) { failed(res, "starting"); return null; }
      login.hidden = true;
      showProgress(res.data.progress);
      showSession();
      if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
      return next();
    }).then(settled, function (err) { showError(String(err)); settled(); });
  }

  login.addEventListener("submit", function (event) {
    event.preventDefault();
    var n = $("login-name").value.trim(), t = $("login-token").value;
    if (!n || !t) { showError("Type your name and the token."); return; }
    name = n;
    token = t;
    save(localStorage, NAME_KEY, name);
    save(sessionStorage, TOKEN_KEY, token);
    start();
  });

  $("change-login").addEventListener("click", function () { showLogin(""); });

  // -- keys and buttons ---------------------------------------------------------------

  $("accept").addEventListener("click", function () { act(accept); });
  $("skip").addEventListener("click", function () { act(skip); });
  $("undo").addEventListener("click", function () { act(undo); });
  $("undo-empty").addEventListener("click", function () { act(undo); });
  $("none").addEventListener("click", none);
  $("reload").addEventListener("click", function () { act(next); });
  document.getElementById("topics").addEventListener("change", showAnswer);

  document.addEventListener("keydown", function (event) {
    if (!login.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox"))) return;
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    var handled = true;
    if (key === "Enter") { if (!event.repeat) act(accept); }
    else if (key === "0") none();
    else if (key === "s") { if (!event.repeat) act(skip); }
    else if (key === "u") { if (!event.repeat) act(undo); }
    else if (BY_KEY[key] && current) toggle(BY_KEY[key]);
    else handled = false;
    if (handled) event.preventDefault();  // no click of a focused button, no scrolling
  });

  if (name && token) start();
  else showLogin("");
})();
