// newswire console: the scrape editor's live preview. As the editor types,
// the form is sent (with the session's CSRF token) to /console/preview.json
// and the answer drawn with elements and text nodes only: whatever a page
// or a feed holds is never parsed as HTML here. Also: deletions ask first.
(() => {
  "use strict";
  for (const f of document.querySelectorAll("form[data-confirm]")) {
    f.addEventListener("submit", (e) => { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
  }
  const form = document.getElementById("preview-form");
  const out = document.getElementById("preview-result");
  if (!form || !out) return;
  const csrf = form.querySelector("input[name=csrf]").value;
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const body = () => {
    const f = new FormData(form);
    const list = {};
    for (const k of ["item", "time", "title", "link"]) {
      const v = String(f.get("list." + k) || "").trim();
      if (v) list[k] = v;
    }
    const ask = { url: String(f.get("url") || "").trim() };
    if (list.item) {
      ask.scrape = { list };
      const c = String(f.get("category") || "").trim();
      if (c) ask.scrape.category = c;
    }
    return ask;
  };
  const draw = (status, doc) => {
    out.replaceChildren();
    for (const m of form.querySelectorAll("[data-match]")) { m.textContent = ""; m.classList.remove("none"); }
    if (status !== 200) {
      out.appendChild(el("p", (doc && doc.detail) || "HTTP " + status, "error"));
      if (doc && doc.field) {
        const m = form.querySelector(`[data-match="${CSS.escape(String(doc.field).replace(/^scrape\./, ""))}"]`);
        // 422: it parsed, and matched nothing on the page; 400: it does not parse.
        if (m) { m.textContent = status === 422 ? "matches nothing" : "invalid"; m.classList.add("none"); }
      }
      return;
    }
    const head = el("p");
    head.appendChild(el("strong", doc.kind));
    head.appendChild(document.createTextNode(" " + (doc.title || "") + " "));
    head.appendChild(el("span", doc.url, "muted"));
    out.appendChild(head);
    if (Array.isArray(doc.selectors) && doc.selectors.length) {
      const t = el("table");
      const hr = el("tr");
      for (const h of ["Selector", "CSS", "Matched", "Sample"]) hr.appendChild(el("th", h));
      t.appendChild(el("thead")).appendChild(hr);
      const tb = t.appendChild(el("tbody"));
      for (const p of doc.selectors) {
        const tr = el("tr", undefined, p.matched === 0 ? "none" : "");
        tr.appendChild(el("td", p.field));
        tr.appendChild(el("td")).appendChild(el("code", p.css));
        tr.appendChild(el("td", p.matched, "num"));
        tr.appendChild(el("td", p.sample || ""));
        tb.appendChild(tr);
        const m = form.querySelector(`[data-match="${CSS.escape(p.field)}"]`);
        if (m) {
          m.textContent = p.matched === 0 ? "matches nothing" : p.matched + " matched";
          if (p.matched === 0) m.classList.add("none");
        }
      }
      out.appendChild(t);
    }
    if (Array.isArray(doc.feeds) && doc.feeds.length) {
      const ul = el("ul", undefined, "found");
      for (const f of doc.feeds) {
        const li = el("li", f.format + ": " + (f.title || "") + " ");
        li.appendChild(el("code", f.url));
        const b = el("button", "Preview its items");
        b.type = "button";
        b.addEventListener("click", () => {
          form.querySelector("input[name=url]").value = f.url;
          run();
        });
        li.appendChild(document.createTextNode(" "));
        li.appendChild(b);
        ul.appendChild(li);
      }
      out.appendChild(ul);
    }
    const hidden = (parent, name, value) => {
      const i = el("input");
      i.type = "hidden"; i.name = name; i.value = value;
      parent.appendChild(i);
      return i;
    };
    const labelled = (parent, text, name, value, attrs) => {
      const l = el("label", text + " ");
      const i = el("input");
      i.name = name; i.value = value;
      for (const [k, v] of Object.entries(attrs || {})) i.setAttribute(k, v);
      l.appendChild(i);
      parent.appendChild(l);
    };
    if (doc.kind === "feed" || doc.kind === "scrape") {
      // Saved as the API saves it: checked, written, fetched once.
      const host = (() => { try { return new URL(doc.url).hostname; } catch (_) { return ""; } })();
      const name = host.replace(/^www\./, "").toLowerCase().replace(/[^a-z0-9]/g, "-").replace(/^-+|-+$/g, "") || "source";
      const scrape = doc.kind === "scrape";
      const save = el("form", undefined, "add");
      save.method = "post";
      save.action = scrape ? "/console/scrapes/add" : "/console/sources/add";
      save.id = scrape ? "save-scrape" : "save-source";
      hidden(save, "csrf", csrf);
      hidden(save, "url", doc.url);
      labelled(save, "Name", "name", name, { pattern: "[a-z0-9-]+", required: "" });
      if (scrape) {
        // The selectors as typed when it is saved.
        const copies = ["list.item", "list.time", "list.title", "list.link", "category"].map((k) => [k, hidden(save, k, "")]);
        save.addEventListener("submit", () => {
          const f = new FormData(form);
          for (const [k, i] of copies) i.value = String(f.get(k) || "");
        });
      } else {
        labelled(save, "Also in categories", "categories", "", { placeholder: "world, tech" });
      }
      save.appendChild(el("button", scrape ? "Save scrape" : "Save source"));
      out.appendChild(save);
    }
    if (Array.isArray(doc.items) && doc.items.length) {
      const ol = el("ol", undefined, "items");
      for (const i of doc.items) {
        const li = el("li");
        li.appendChild(el("strong", i.title));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("time", i.published));
        ol.appendChild(li);
      }
      out.appendChild(ol);
    }
  };
  let timer = 0, asked = 0;
  const run = () => {
    // A run asked for directly (a found feed's button, the Preview button)
    // supersedes one the typing scheduled: the blur of the address field on
    // that same click fires "change", whose late redraw would otherwise wipe
    // the save form the editor is already filling in.
    clearTimeout(timer);
    const ask = body();
    if (!ask.url) return;
    const n = ++asked;
    fetch("/console/preview.json", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(ask),
    })
      .then((r) => r.json().then((doc) => [r.status, doc], () => [r.status, null]))
      .then(([status, doc]) => { if (n === asked) draw(status, doc); })
      .catch((e) => { if (n === asked) draw(0, { detail: String(e) }); });
  };
  // "change" too: a field emptied or filled by the browser fires no input.
  for (const ev of ["input", "change"]) {
    form.addEventListener(ev, () => { clearTimeout(timer); timer = setTimeout(run, 300); });
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
})();
