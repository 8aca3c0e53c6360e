// The desk's few behaviours that need a script: countdowns that tick on the server's clock,
// and live refresh of panels when the event stream says something changed.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="server-now"]');
  // How far the screen's clock is from the server's: deadlines are kept by the server.
  var skew = meta && meta.content ? Date.parse(meta.content) - Date.now() : 0;
  var zh = document.documentElement.lang !== "en";

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function format(seconds) {
    var late = seconds < 0, s = Math.abs(Math.floor(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var text = (h > 0 ? h + ":" : "") + two(m) + ":" + two(r);
    if (h >= 48) text = Math.floor(h / 24) + (zh ? " 天 " : " d ") + (h % 24) + (zh ? " 小时" : " h");
    return late ? (zh ? "已超时 " : "overdue ") + text : text;
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (!isNaN(due)) el.textContent = format((due - now) / 1000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSwap", tick);
  window.fabuDesk = { format: format, tick: tick };
})();
