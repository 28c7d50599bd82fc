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
  var text = null;
  var dismissed = null;
  function show(now) {
    if (!now || now === dismissed) {
      if (bar) { bar.remove(); bar = null; }
      text = now;
      return;
    }
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "lticontainer-notice";
      bar.setAttribute("role", "alert");
      bar.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:2147483647;" +
        "background:#b00020;color:#fff;font:14px/1.4 sans-serif;padding:6px 40px 6px 12px;" +
        "text-align:center;box-shadow:0 2px 4px rgba(0,0,0,.3)";
      var words = document.createElement("span");
      var close = document.createElement("button");
      close.type = "button";
      close.textContent = "\u00d7";
      close.title = "Hide until something new";
      close.setAttribute("aria-label", close.title);
      close.style.cssText = "position:absolute;right:8px;top:2px;background:none;border:0;" +
        "color:#fff;font:20px/1 sans-serif;cursor:pointer";
      // Hidden, the bar frees JupyterLab's menu; a new notice shows it again.
      close.addEventListener("click", function () { dismissed = text; show(null); });
      bar.appendChild(words);
      bar.appendChild(close);
      document.body.appendChild(bar);
    }
    text = now;
    bar.firstChild.textContent = now;
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
