// LazAI explorer: keeps the head, tx/s, the latest blocks and the latest transactions live, and
// counts down challenge windows. It only reads /api/head and writes text (never HTML) into the page.
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "";
  var blocks = document.querySelector("[data-live=blocks]");
  var txs = document.querySelector("[data-live=txs]");
  function setText(selector, value) {
    var nodes = document.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = String(value); }
  }
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function renderBlocks(list) {
    if (!blocks || !list) { return; }
    var rows = document.createDocumentFragment();
    list.forEach(function (b) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      var a = document.createElement("a");
      a.href = base + "/block/" + b.height;
      a.textContent = String(b.height);
      td.appendChild(a);
      tr.appendChild(td);
      cell(tr, b.hash.slice(0, 10) + "\u2026" + b.hash.slice(-6)).className = "mono";
      cell(tr, String(b.txs));
      cell(tr, "");
      cell(tr, b.time);
      rows.appendChild(tr);
    });
    blocks.textContent = "";
    blocks.appendChild(rows);
  }
  function linkCell(row, href, label, title) {
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.className = "mono";
    a.href = href;
    a.title = title;
    a.textContent = label;
    td.appendChild(a);
    row.appendChild(td);
  }
  function renderTxs(list) {
    if (!txs || !list) { return; }
    var rows = document.createDocumentFragment();
    if (list.length === 0) {
      var empty = document.createElement("tr");
      var td = cell(empty, "No transactions yet.");
      td.colSpan = 4;
      td.className = "muted";
      rows.appendChild(empty);
    }
    list.forEach(function (t) {
      var tr = document.createElement("tr");
      linkCell(tr, base + "/tx/" + t.hash, t.hashLabel, t.hash);
      linkCell(tr, base + "/address/" + t.from, t.fromLabel, t.from);
      if (t.to) {
        linkCell(tr, base + "/address/" + t.to, t.toLabel, t.to);
      } else {
        cell(tr, "contract creation");
      }
      cell(tr, t.call);
      rows.appendChild(tr);
    });
    txs.textContent = "";
    txs.appendChild(rows);
  }
  function countdowns(head) {
    var nodes = document.querySelectorAll("[data-countdown-end]");
    for (var i = 0; i < nodes.length; i++) {
      var end = Number(nodes[i].getAttribute("data-countdown-end"));
      nodes[i].textContent = head >= end ? "closed" : (end - head) + " blocks left";
    }
  }
  function tick() {
    fetch(base + "/api/head", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (h) {
        if (!h) { return; }
        if (h.height !== null && h.height !== undefined) {
          setText("[data-live=head]", h.height);
          countdowns(h.height);
        }
        setText("[data-live=tps]", h.txPerSec);
        renderBlocks(h.blocks);
        renderTxs(h.txs);
      })
      .catch(function () { /* the node or the explorer is down: keep the last view */ })
      .then(function () { window.setTimeout(tick, 1500); });
  }
  window.setTimeout(tick, 1000);
})();
