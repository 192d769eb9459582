// newstag page: paste an article or a page, see its topics, scores and evidence.
// Plain JavaScript; talks only to this service (POST /classify, POST /tag).
// Text from the user and from the model is only ever put in the page as text nodes.
(function () {
  "use strict";

  var body = document.body;
  var TOPICS = JSON.parse(body.getAttribute("data-topics") || "[]");
  var TOPIC_INDEX = {};
  TOPICS.forEach(function (t, i) { TOPIC_INDEX[t.name] = i; });

  var form = document.getElementById("tag-form");
  var textarea = document.getElementById("text");
  var submit = document.getElementById("submit");
  var statusEl = document.getElementById("status");
  var errorEl = document.getElementById("error");
  var results = document.getElementById("results");

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

  function topicClass(name) {
    var i = TOPIC_INDEX[name];
    return "t-" + ((i === undefined ? TOPICS.length : i) % 8);
  }

  function displayName(name) {
    var i = TOPIC_INDEX[name];
    return i === undefined ? name : TOPICS[i].display;
  }

  // A loose key for matching a model paragraph (normalised: NFKC, simplified, credits
  // removed) to a pasted line: letters and digits only.
  function key(s) {
    return (s.normalize ? s.normalize("NFKC") : s).replace(/[^\p{L}\p{N}]/gu, "");
  }

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
  }

  function clearOutput() {
    errorEl.hidden = true;
    errorEl.textContent = "";
    while (results.firstChild) results.removeChild(results.firstChild);
  }

  // -- rendering ------------------------------------------------------------------

  function renderLabels(labels) {
    var box = el("div", { className: "labels" });
    if (!labels.length) {
      box.appendChild(el("span", { className: "label none", text: "no topic" }));
    }
    labels.forEach(function (name) {
      box.appendChild(el("span", {
        className: "label " + topicClass(name), text: displayName(name), title: name, "data-topic": name
      }));
    });
    return box;
  }

  function renderScores(scores, labels, thresholds) {
    var table = el("table", { className: "scores" });
    Object.keys(scores).forEach(function (name) {
      var score = scores[name];
      var over = labels.indexOf(name) >= 0;
      var bar = el("div", { className: "bar " + topicClass(name) + (over ? " over" : ""), "data-topic": name });
      bar.style.width = (100 * score).toFixed(1) + "%";
      var track = el("div", { className: "track", title: name + " " + score.toFixed(4) }, [bar]);
      if (thresholds && thresholds[name] !== undefined) {
        var mark = el("div", { className: "threshold", title: "threshold " + thresholds[name] });
        mark.style.left = (100 * thresholds[name]).toFixed(1) + "%";
        track.appendChild(mark);
      }
      table.appendChild(el("tr", { "data-topic": name }, [
        el("td", { className: "name " + topicClass(name), text: displayName(name) }),
        el("td", { className: "track-cell" }, [track]),
        el("td", { className: "value", text: score.toFixed(3) })
      ]));
    });
    return table;
  }

  // Terms of the evidence, longest first, as [text, topic] (bigrams "a b" match "ab").
  function evidenceTerms(evidence) {
    var terms = [];
    Object.keys(evidence || {}).forEach(function (topic) {
      (evidence[topic].terms || []).forEach(function (t) {
        var text = t.term.replace(/\s+/g, "");
        // single characters (市, 热) would mark half the text: they stay in "Why these topics"
        if (text.length > 1 && !/^[0-9.,%]+$/.test(text)) terms.push([text, topic]);
      });
    });
    terms.sort(function (a, b) { return b[0].length - a[0].length; });
    return terms;
  }

  // Append `line` to `node`, with every occurrence of an evidence term in a <mark>.
  function appendMarked(node, line, terms) {
    var taken = new Array(line.length);
    var spans = [];
    terms.forEach(function (pair) {
      var from = 0, at;
      while ((at = line.indexOf(pair[0], from)) >= 0) {
        var end = at + pair[0].length, free = true;
        for (var i = at; i < end; i++) if (taken[i]) { free = false; break; }
        if (free) {
          for (var j = at; j < end; j++) taken[j] = true;
          spans.push([at, end, pair[1]]);
        }
        from = at + 1;
      }
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var pos = 0;
    spans.forEach(function (s) {
      if (s[0] > pos) node.appendChild(document.createTextNode(line.slice(pos, s[0])));
      node.appendChild(el("mark", { className: "term " + topicClass(s[2]), text: line.slice(s[0], s[1]), "data-topic": s[2] }));
      pos = s[1];
    });
    if (pos < line.length) node.appendChild(document.createTextNode(line.slice(pos)));
  }

  // lines: [{text, title}] of one article as pasted; evidence: topic -> {paragraphs, terms}.
  // byIndex: the body lines are the model's paragraphs in order (an article pasted alone),
  // so a paragraph that matches no line by its text is found by its place.
  function renderText(lines, evidence, byIndex) {
    var terms = evidenceTerms(evidence);
    var body = lines.filter(function (l) { return !l.title; });  // what evidence indexes count
    var carried = lines.map(function () { return null; });
    Object.keys(evidence || {}).forEach(function (topic) {
      (evidence[topic].paragraphs || []).forEach(function (p) {
        var pk = key(p.text), found = false;
        if (pk.length >= 4) {
          lines.forEach(function (l, i) {
            if (l.title) return;
            var lk = key(l.text);
            // the line holds the paragraph (a lead credit removed), or is a column-cut piece of it
            if (lk.indexOf(pk) >= 0 || (lk.length >= 12 && pk.indexOf(lk) >= 0)) {
              carried[i] = carried[i] || topic;
              found = true;
            }
          });
        }
        if (!found && byIndex && body[p.index]) {
          var i = lines.indexOf(body[p.index]);
          carried[i] = carried[i] || topic;
        }
      });
    });
    var box = el("div", { className: "text" });
    lines.forEach(function (l, i) {
      var p = el("p", { className: (l.title ? "title-line " : "") + (carried[i] ? "evidence " + topicClass(carried[i]) : "") });
      if (carried[i]) p.setAttribute("data-topic", carried[i]);
      appendMarked(p, l.text, terms);
      box.appendChild(p);
    });
    return box;
  }

  function renderWhy(evidence) {
    var topics = Object.keys(evidence || {});
    if (!topics.length) return null;
    var list = el("ul");
    topics.forEach(function (topic) {
      var ev = evidence[topic];
      var terms = el("div", { className: "terms" });
      (ev.terms || []).forEach(function (t) {
        terms.appendChild(el("span", { text: t.term + " (" + t.weight.toFixed(2) + ")" }));
      });
      var paras = (ev.paragraphs || []).map(function (p) {
        return "paragraph " + (p.index + 1) + ": " + p.score.toFixed(2);
      }).join(", ");
      list.appendChild(el("li", {}, [
        el("strong", { className: topicClass(topic), text: displayName(topic) + " " }),
        document.createTextNode(paras),
        terms
      ]));
    });
    return el("details", { className: "why" }, [el("summary", { text: "Why these topics" }), list]);
  }

  function renderResult(result, lines, heading, thresholds, byIndex) {
    var card = el("article", { className: "result" });
    if (heading) card.appendChild(heading);
    card.appendChild(renderLabels(result.labels));
    card.appendChild(renderScores(result.scores, result.labels, thresholds));
    card.appendChild(renderText(lines, result.evidence || {}, byIndex));
    var why = renderWhy(result.evidence);
    if (why) card.appendChild(why);
    return card;
  }

  // -- talking to the service -------------------------------------------------------

  var thresholdsCache = null;

  function getJSON(url) {
    return fetch(url, { headers: { "Accept": "application/json" } }).then(function (r) { return r.json(); });
  }

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8", "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(
        function (data) { return { ok: r.ok, status: r.status, data: data }; },
        function () { return { ok: false, status: r.status, data: { error: "the service answered " + r.status + " without JSON" } }; }
      );
    });
  }

  function tagArticle(text) {
    var lines = text.split(/\r\n|\r|\n/).filter(function (l) { return l.trim(); })
      .map(function (l, i) { return { text: l.trim(), title: i === 0 }; });
    return post("/classify", { text: text }).then(function (res) {
      if (!res.ok) throw res;
      var title = lines.length ? lines[0].text : "";
      var heading = el("h2", { text: title });
      // the headline is the heading; the text below is the body the evidence points into
      results.appendChild(renderResult(res.data, lines.slice(1), heading, thresholdsCache, true));
      return { n: 1, model: res.data.model };
    });
  }

  function tagPage(text) {
    var all = text.split(/\r\n|\r|\n/);
    return post("/tag", { text: text, evidence: true }).then(function (res) {
      if (!res.ok) throw res;
      var articles = res.data.articles;
      if (!articles.length) {
        results.appendChild(el("p", { className: "empty", text: "No article found on this page." }));
      }
      articles.forEach(function (a) {
        var lines = [], titleKey = key(a.title || ""), inTitle = true;
        for (var n = a.lines[0]; n <= a.lines[1]; n++) {
          var line = (all[n - 1] || "").trim();
          if (!line) continue;
          // the headline's lines (kicker, title, subtitle) open the range
          inTitle = inTitle && titleKey.length > 0 && titleKey.indexOf(key(line)) >= 0;
          lines.push({ text: line, title: inTitle });
        }
        var heading = el("h2", { text: a.title || "(untitled)" }, [
          el("span", { className: "where", text: "lines " + a.lines[0] + "–" + a.lines[1] })
        ]);
        results.appendChild(renderResult(a, lines, heading, thresholdsCache, false));
      });
      return { n: articles.length, model: res.data.model };
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearOutput();
    var text = textarea.value;
    if (!text.trim()) {
      showError("Paste an article or a page first.");
      return;
    }
    var mode = form.querySelector("input[name=mode]:checked").value;
    var started = performance.now();
    submit.disabled = true;
    statusEl.textContent = "Tagging…";
    // thresholds of the model answering now (it may have been switched since the last call)
    var ready = getJSON("/model").then(function (m) {
      thresholdsCache = m.thresholds || {};
    }, function () { thresholdsCache = {}; });
    ready.then(function () {
      return mode === "page" ? tagPage(text) : tagArticle(text);
    }).then(function (done) {
      var ms = Math.round(performance.now() - started);
      statusEl.textContent = "Tagged " + done.n + (done.n === 1 ? " article" : " articles") + " in " + ms + " ms · model " + done.model;
      document.getElementById("model-version").textContent = done.model;
    }).catch(function (failure) {
      statusEl.textContent = "";
      if (failure && failure.data && failure.data.error) {
        showError("Error " + failure.status + ": " + failure.data.error);
      } else {
        showError("The service could not be reached: " + failure);
      }
    }).then(function () {
      submit.disabled = false;
      results.setAttribute("data-done", String(Date.now()));
    });
  });

  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : submit.click();
    }
  });

  document.getElementById("clear").addEventListener("click", function () {
    textarea.value = "";
    clearOutput();
    statusEl.textContent = "";
    textarea.focus();
  });
})();
