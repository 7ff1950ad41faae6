// newswire widget, scripted: <script src=".../embed/world.js" data-limit="5" async>
// renders a feed's headlines after the tag, in a shadow root so that the host
// page's styles and the widget's never meet. Items become elements and text
// nodes (textContent, setAttribute on checked URLs): no item text is ever
// parsed as HTML, and nothing is evaluated. Styles are a constructed
// stylesheet, which a host's Content-Security-Policy style-src does not
// govern; the host's CSP needs script-src and connect-src for this site only.
(() => {
  const script = document.currentScript;
  if (!script || !script.src) return;
  const own = new URL(script.src);
  const data = new URL(own.pathname.replace(/\.js$/, ".json"), own);
  const names = ["limit", "filter", "filterout", "category", "since", "theme", "summary", "image", "time"];
  for (const [k, v] of own.searchParams) if (names.includes(k)) data.searchParams.append(k, v);
  for (const k of names) {
    const v = script.getAttribute("data-" + k);
    if (v === null) continue;
    data.searchParams.delete(k);
    // Repeatable words: data-filter="morocco|rabat".
    for (const part of ["filter", "filterout", "category"].includes(k) ? v.split("|") : [v]) {
      data.searchParams.append(k, part);
    }
  }
  const host = document.createElement("div");
  host.className = "newswire-widget";
  script.parentNode.insertBefore(host, script.nextSibling);
  const root = host.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(NEWSWIRE_CSS);
    root.adoptedStyleSheets = [sheet];
  }
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const web = (u) => {
    try {
      const p = new URL(u).protocol;
      return p === "https:" || p === "http:";
    } catch (_) {
      return false;
    }
  };
  const link = (href, text) => {
    if (!href || !web(href)) return document.createTextNode(text);
    const a = el("a", "", text);
    a.setAttribute("href", href);
    a.setAttribute("target", "_blank");
    a.setAttribute("rel", "noopener");
    return a;
  };
  const render = (doc) => {
    const box = el("section", "nw");
    box.setAttribute("data-theme", ["light", "dark", "auto"].includes(doc.theme) ? doc.theme : "auto");
    const h = el("h2");
    h.appendChild(link(doc.home_page_url, String(doc.title || "")));
    box.appendChild(h);
    const items = Array.isArray(doc.items) ? doc.items : [];
    if (items.length === 0) box.appendChild(el("p", "empty", "No headlines."));
    const list = el("ol");
    for (const it of items) {
      const li = el("li");
      if (it.image && web(it.image)) {
        const img = el("img");
        img.setAttribute("src", it.image);
        img.setAttribute("alt", "");
        img.setAttribute("loading", "lazy");
        img.setAttribute("referrerpolicy", "no-referrer");
        li.appendChild(img);
      }
      li.appendChild(link(it.url, String(it.title || "")));
      const meta = el("span", "meta");
      if (doc.time !== false) {
        const t = el("time", "", String(it.when || ""));
        t.setAttribute("datetime", String(it.date_published || ""));
        meta.appendChild(t);
        meta.appendChild(document.createTextNode(" · "));
      }
      meta.appendChild(document.createTextNode(String(it.source || "")));
      li.appendChild(meta);
      if (it.summary) li.appendChild(el("p", "", String(it.summary)));
      list.appendChild(li);
    }
    if (items.length) box.appendChild(list);
    root.replaceChildren(box);
  };
  let ttl = 300;
  const load = () =>
    fetch(data, { mode: "cors", credentials: "omit" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then((doc) => {
        ttl = Math.max(60, Number(doc.ttl) || ttl);
        render(doc);
      })
      .catch((e) => {
        if (!root.firstChild) root.appendChild(el("p", "", "Headlines unavailable."));
        console.warn("newswire widget:", e);
      })
      .finally(() => setTimeout(load, ttl * 1000));
  load();
})();
