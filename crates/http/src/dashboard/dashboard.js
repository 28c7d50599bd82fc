// The teachers' live dashboard (lticontainer): follows /hub/dashboard/<activity>/events
// (Server-Sent Events) and redraws. No external code; every value is set as text, never as HTML.
"use strict";
(function () {
  const root = document.getElementById("dash");
  const status = document.getElementById("status");
  const MAX_FEED = 50;
  let board = { cells: [], students: new Map(), feed: [] };

  const key = (c) => c.filename + "\u0000" + c.codenum;
  const label = (c) => (c.filename ? c.filename + " · " : "") + c.codenum;
  const time = (ms) => new Date(ms).toLocaleTimeString();
  const isOk = (s) => s === "ok";
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function cellOrder(a, b) {
    if (a.filename !== b.filename) return a.filename < b.filename ? -1 : 1;
    const na = /^\d+$/.test(a.codenum) ? Number(a.codenum) : Infinity;
    const nb = /^\d+$/.test(b.codenum) ? Number(b.codenum) : Infinity;
    if (na !== nb) return na - nb;
    return a.codenum < b.codenum ? -1 : a.codenum > b.codenum ? 1 : 0;
  }

  function load(view) {
    board = { cells: view.cells, students: new Map(), feed: view.feed };
    for (const s of view.students) {
      const cells = new Map();
      for (const [c, t] of s.cells) cells.set(key(c), t);
      board.students.set(s.user, { cells, steps: s.steps });
    }
    draw();
  }

  function add(run) {
    if (!board.cells.some((c) => key(c) === key(run))) {
      board.cells.push({ filename: run.filename, codenum: run.codenum });
      board.cells.sort(cellOrder);
    }
    let s = board.students.get(run.user);
    if (!s) {
      s = { cells: new Map(), steps: [] };
      board.students.set(run.user, s);
    }
    const t = s.cells.get(key(run)) || { ok: 0, error: 0, last: "" };
    if (isOk(run.status)) t.ok += 1; else t.error += 1;
    t.last = run.status;
    s.cells.set(key(run), t);
    s.steps.push(run);
    if (s.steps.length > 256) s.steps.shift();
    board.feed.push(run);
    if (board.feed.length > MAX_FEED) board.feed.shift();
    draw();
  }

  function drawGrid() {
    const table = document.getElementById("grid");
    table.replaceChildren();
    const head = el("tr");
    head.append(el("th", "", "Student"));
    for (const c of board.cells) head.append(el("th", "", label(c)));
    head.append(el("th", "", "OK"), el("th", "", "Error"));
    table.append(head);
    const users = [...board.students.keys()].sort();
    const perCell = new Map();
    for (const u of users) {
      const s = board.students.get(u);
      const row = el("tr");
      row.append(el("th", "", u));
      let ok = 0, error = 0;
      for (const c of board.cells) {
        const t = s.cells.get(key(c));
        const td = el("td");
        if (t) {
          td.className = isOk(t.last) ? "ok" : "error";
          td.textContent = (isOk(t.last) ? "✔" : "✖") + (t.ok + t.error > 1 ? " " + t.ok + "/" + (t.ok + t.error) : "");
          td.title = u + ", " + label(c) + ": " + t.ok + " ok, " + t.error + " error";
          td.dataset.ok = t.ok;
          td.dataset.error = t.error;
          td.dataset.last = t.last;
          ok += t.ok; error += t.error;
          const p = perCell.get(key(c)) || { ok: 0, error: 0 };
          if (isOk(t.last)) p.ok += 1; else p.error += 1;
          perCell.set(key(c), p);
        }
        td.dataset.user = u;
        td.dataset.filename = c.filename;
        td.dataset.codenum = c.codenum;
        row.append(td);
      }
      row.append(el("td", "num", String(ok)), el("td", "num", String(error)));
      table.append(row);
    }
    const foot = el("tr", "sum");
    foot.append(el("th", "", "Students OK / error"));
    for (const c of board.cells) {
      const p = perCell.get(key(c)) || { ok: 0, error: 0 };
      const td = el("td", "", p.ok + " / " + p.error);
      td.dataset.codenum = c.codenum;
      td.dataset.filename = c.filename;
      foot.append(td);
    }
    table.append(foot);
  }

  function drawProgress() {
    const box = document.getElementById("progress");
    box.replaceChildren();
    for (const u of [...board.students.keys()].sort()) {
      const line = el("div", "line");
      line.append(el("span", "who", u));
      const steps = el("span", "steps");
      for (const st of board.students.get(u).steps) {
        const b = el("span", "step " + (isOk(st.status) ? "ok" : "error"), st.codenum);
        b.title = time(st.at_ms) + " " + label(st) + ": " + st.status;
        steps.append(b);
      }
      line.append(steps);
      box.append(line);
    }
  }

  function drawFeed() {
    const list = document.getElementById("feed");
    list.replaceChildren();
    for (const r of [...board.feed].reverse()) {
      const li = el("li", isOk(r.status) ? "ok" : "error");
      li.append(el("time", "", time(r.at_ms)), " ", el("b", "", r.user), " ran " + label(r) + ": " + r.status);
      li.dataset.user = r.user;
      li.dataset.codenum = r.codenum;
      li.dataset.status = r.status;
      list.append(li);
    }
  }

  function draw() {
    drawGrid();
    drawProgress();
    drawFeed();
    document.getElementById("empty").hidden = board.students.size > 0;
  }

  const source = new EventSource(root.dataset.events);
  source.addEventListener("open", () => { status.textContent = "Live"; status.className = "live"; });
  source.addEventListener("board", (e) => load(JSON.parse(e.data)));
  source.addEventListener("run", (e) => add(JSON.parse(e.data)));
  source.addEventListener("end", (e) => {
    source.close();
    status.textContent = e.data;
    status.className = "ended";
  });
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.CLOSED) {
      status.textContent = "Reconnecting…";
      status.className = "";
    }
  });
})();
