// Polls a queued or running fit's progress and reloads the page when its status changes.
// A file rather than an inline script: the Content-Security-Policy allows only 'self' scripts.
(function () {
  const me = document.currentScript;
  const fitId = me.dataset.fit;
  const status = me.dataset.status;
  (function poll() {
    setTimeout(async function () {
      const s = await (await fetch("/fits/" + fitId + "/status", {credentials: "same-origin"})).json();
      document.getElementById("fit-progress").value = s.progress;
      document.getElementById("fit-percent").textContent = Math.round(s.progress * 100) + " %";
      if (s.status === status) { poll(); } else { location.reload(); }
    }, 1500);
  })();
})();
