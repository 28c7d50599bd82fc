// lticontainer: the hub's notices inside JupyterLab (the time limit coming, the server stopped,
// memory near the limit). The hub's proxy adds this script to the pages of JupyterLab and
// Notebook it serves; the script asks the hub what to say and shows it in a bar at the top.
(function () {
  "use strict";
  var me = document.currentScript;
  var user = me && me.getAttribute("data-user");
  if (!user) { return; }
  var url = "/hub/notice/" + encodeURIComponent(user);
  var bar = null;
  function show(text) {
    if (!text) {
      if (bar) { bar.remove(); bar = null; }
      return;
    }
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "lticontainer-notice";
      bar.setAttribute("role", "alert");
      bar.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:2147483647;" +
        "background:#b00020;color:#fff;font:14px/1.4 sans-serif;padding:6px 12px;" +
        "text-align:center;box-shadow:0 2px 4px rgba(0,0,0,.3)";
      document.body.appendChild(bar);
    }
    bar.textContent = text;
  }
  function schedule(secs) {
    setTimeout(poll, Math.max(2, Math.min(secs || 60, 60)) * 1000);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (n) {
        if (n) { show(n.notices.join(" ")); }
        schedule(n ? n.next_poll_secs : 60);
      }, function () { schedule(30); });
  }
  if (document.body) { poll(); } else { document.addEventListener("DOMContentLoaded", poll); }
})();
