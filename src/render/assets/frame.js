// newswire widget, framed: tells the host page how tall the list is, so the
// host's snippet can size the <iframe> to it. The list itself needs no script.
(() => {
  "use strict";
  if (window.parent === window) return;
  let last = 0;
  const send = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ newswire: "resize", height }, "*");
  };
  addEventListener("load", send);
  if ("ResizeObserver" in window) new ResizeObserver(send).observe(document.documentElement);
  send();
})();
