// Small behaviours htmx does not cover. No build step.
document.addEventListener("htmx:afterSwap", function (event) {
  // Keep a freshly swapped dialog's content scrolled to the top.
  const dialog = event.detail.target.closest && event.detail.target.closest("dialog");
  if (dialog) dialog.scrollTop = 0;
});

// KHQR countdowns: data-expires is the expiry in ms, data-now the server's clock at render.
(function () {
  function tick() {
    document.querySelectorAll(".countdown[data-expires]").forEach(function (el) {
      if (!el.dataset.offset) el.dataset.offset = String(Number(el.dataset.now) - Date.now());
      const left = Math.max(0, Number(el.dataset.expires) - (Date.now() + Number(el.dataset.offset)));
      const s = Math.floor(left / 1000);
      const out = el.querySelector(".countdown-value");
      if (out) out.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      if (left === 0) el.classList.add("expired");
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();

// PIN pad: the on-screen keys type into the PIN field.
document.addEventListener("click", function (event) {
  const key = event.target.closest && event.target.closest(".pin-key[data-key]");
  if (!key) return;
  const input = key.closest("form").querySelector(".pin-input");
  if (key.dataset.key === "clear") input.value = input.value.slice(0, -1);
  else if (input.value.length < 6) input.value += key.dataset.key;
  input.focus();
});
