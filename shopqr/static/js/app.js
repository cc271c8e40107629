// Small behaviours htmx does not cover. No build step.
document.addEventListener("htmx:afterSwap", function (event) {
  // Keep a freshly swapped dialog's content scrolled to the top.
  const dialog = event.detail.target.closest && event.detail.target.closest("dialog");
  if (dialog) dialog.scrollTop = 0;
});
