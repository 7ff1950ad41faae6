// newswire embed builder: as the options change, reloads the preview and
// rewrites the snippets with this page's own address. Without a script the
// form still previews (it targets the frame) and the snippets stay as served.
(() => {
  "use strict";
  const form = document.getElementById("nw-builder");
  if (!form) return;
  const frame = document.getElementById("nw-preview");
  const pick = document.getElementById("nw-feed");
  const frameCode = document.getElementById("nw-snippet-frame");
  const scriptCode = document.getElementById("nw-snippet-script");
  const params = () => {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      const value = String(v).trim();
      // Defaults say nothing: the snippet stays short.
      if (value === "" || (k === "theme" && value === "auto") || (k === "time" && value === "1")) continue;
      q.append(k, value);
    }
    return q;
  };
  const update = () => {
    const page = new URL(pick ? pick.value : form.getAttribute("action"), location.href);
    form.setAttribute("action", page.pathname);
    const q = params();
    page.search = q.toString();
    frame.src = page.href;
    const js = new URL(page.pathname.replace(/\.html$/, ".js"), page);
    let attrs = "";
    for (const [k, v] of q) attrs += ` data-${k}="${v.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}"`;
    frameCode.textContent =
      `<iframe src="${page.href.replace(/"/g, "%22")}" title="Headlines" data-newswire style="width:100%;border:0" height="420"></iframe>\n` +
      `<script>addEventListener("message", e => { if (e.origin !== "${page.origin}" || !e.data || e.data.newswire !== "resize") return;\n` +
      `  for (const f of document.querySelectorAll("iframe[data-newswire]")) if (f.contentWindow === e.source) f.style.height = e.data.height + "px"; });</script>`;
    scriptCode.textContent = `<script src="${js.href}"${attrs} async></script>`;
  };
  let timer = 0;
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  });
  form.addEventListener("change", update);
  if (pick) pick.addEventListener("change", update);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    update();
  });
  addEventListener("message", (e) => {
    if (e.source === frame.contentWindow && e.data && e.data.newswire === "resize") {
      frame.style.height = Math.min(1200, e.data.height) + "px";
    }
  });
  update();
})();
