// Runs before the page paints (a plain, blocking script): apply the saved theme and language so the
// page never flashes in the wrong one. Everything else is in app.js.
(function () {
  var root = document.documentElement;
  var theme = null;
  var lang = null;
  try {
    theme = localStorage.getItem("transcriber.theme");
    lang = localStorage.getItem("transcriber.lang");
  } catch (e) {
    // Storage can be disabled; the defaults apply.
  }
  if (theme !== "light" && theme !== "dark") {
    theme = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  root.dataset.theme = theme;
  root.lang = lang === "en" ? "en" : "ru";
})();
