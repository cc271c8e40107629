// Small behaviours htmx does not cover. No build step.
// The Content-Security-Policy refuses inline code (onclick=, hx-on, <script> blocks) and eval,
// so templates ask for behaviours with data attributes and the listeners below, on the
// document, serve them (also on content htmx swaps in later).
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

// Dialogs. data-open-dialog="id": a click opens that dialog. data-close-dialog: a click closes
// the dialog it is in. data-open-dialog-after-request="id": opens it when the element's htmx
// request has finished; data-close-dialog-on-success="id": closes it when that request
// succeeded.
function showDialog(id) {
  const dialog = document.getElementById(id);
  if (dialog && !dialog.open) dialog.showModal();
}
function closeDialog(dialog) {
  if (dialog && dialog.open) dialog.close();
}

document.addEventListener("click", function (event) {
  const target = event.target;
  if (!target.closest) return;
  const opener = target.closest("[data-open-dialog]");
  if (opener) showDialog(opener.dataset.openDialog);
  const closer = target.closest("[data-close-dialog]");
  if (closer) closeDialog(closer.closest("dialog"));
  // data-select-on-click: a click selects the whole field (e.g. the KHQR code to copy).
  const field = target.closest("[data-select-on-click]");
  if (field) field.select();
  // data-copy="id": copies that field's value; the button then reads data-copied.
  const copy = target.closest("[data-copy]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copy);
    if (source && navigator.clipboard) navigator.clipboard.writeText(source.value).catch(function () {});
    if (copy.dataset.copied) copy.textContent = copy.dataset.copied;
  }
});

document.addEventListener("htmx:afterRequest", function (event) {
  // The requesting element, also when htmx reports on a parent because it left the page.
  const elt = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.target;
  if (!elt.closest) return;
  const opener = elt.closest("[data-open-dialog-after-request]");
  if (opener) showDialog(opener.dataset.openDialogAfterRequest);
  const closer = elt.closest("[data-close-dialog-on-success]");
  if (closer && event.detail.successful) closeDialog(document.getElementById(closer.dataset.closeDialogOnSuccess));
  // details[data-close-on-success]: folds up (and its form empties) once its request succeeded.
  const details = elt.closest("details[data-close-on-success]");
  if (details && event.detail.successful) {
    details.open = false;
    const form = elt.closest("form");
    if (form) form.reset();
  }
});

// data-history-back: a "Go back" link on an error page returns to the page before it.
document.addEventListener("click", function (event) {
  const back = event.target.closest && event.target.closest("[data-history-back]");
  if (back && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// Forms. data-confirm="question": asks first and submits only on OK (plain forms; htmx
// requests use hx-confirm). data-disable-on-submit: once submitted, its buttons are disabled
// (after the submit, so the pressed button's name and value are still sent).
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (form.matches("[data-disable-on-submit]") && !event.defaultPrevented) {
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    });
  }
});

// data-autosubmit on a field: changing it submits its form (the filters on today's orders).
document.addEventListener("change", function (event) {
  const field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) field.form.submit();
});

// Web Share of the KHQR card image: data-share-image="url" on a hidden button. Where the
// browser can share files (phones), the image is fetched ahead (a share must start right
// after the tap) and the button shown; elsewhere it stays hidden and "Save image" remains.
(function () {
  function canShareFiles() {
    try {
      return !!(navigator.share && navigator.canShare &&
                navigator.canShare({ files: [new File(["x"], "x.png", { type: "image/png" })] }));
    } catch (e) {
      return false;
    }
  }
  const files = {};
  function prepare(root) {
    if (!root.querySelectorAll || !canShareFiles()) return;
    root.querySelectorAll("[data-share-image]").forEach(function (button) {
      const url = button.dataset.shareImage;
      if (!files[url]) {
        files[url] = fetch(url, { credentials: "same-origin" })
          .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.blob(); })
          .then(function (blob) { return new File([blob], button.dataset.shareName, { type: "image/png" }); });
        files[url].catch(function () {});
      }
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { prepare(document); });
  document.addEventListener("htmx:load", function (event) { prepare(event.target); });
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-share-image]");
    if (!button || !files[button.dataset.shareImage]) return;
    const status = button.closest(".pay-here") && button.closest(".pay-here").querySelector(".share-status");
    const label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = button.dataset.shareBusy || label;
    if (status) status.textContent = "";
    files[button.dataset.shareImage]
      .then(function (file) { return navigator.share({ files: [file], title: button.dataset.shareTitle }); })
      .catch(function (error) {
        if (error && error.name === "AbortError") return;  // the guest closed the share sheet
        delete files[button.dataset.shareImage];  // fetched again on the next try
        prepare(button.parentNode);
        if (status) status.textContent = button.dataset.shareFailed || "";
      })
      .finally(function () {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        button.textContent = label;
      });
  });
})();

// data-print: a click opens the browser's print dialog (the e-receipt).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});

// Every htmx action a person starts (a tap, a submit, a change: not a poll) shows that it is
// working: the element is marked aria-busy and its buttons are disabled, with a spinner (CSS),
// until the answer is in. A request that fails (no network, a timeout, a 5xx) leaves a toast
// that says so, with a Retry button that repeats the action. The texts come from data-msg-*
// on <body>, in the page's language. (4xx answers are messages for the person: swapped in.)
(function () {
  let failed = null;  // the last action that failed: {elt, event, submitter}
  function userAction(detail) {
    const cfg = detail.requestConfig || {};
    return !!(cfg.triggeringEvent && cfg.triggeringEvent.isTrusted !== undefined &&
              cfg.triggeringEvent.type !== "every" && cfg.triggeringEvent.type !== "load");
  }
  function busyButtons(elt) {
    if (elt.matches("button")) return [elt];
    return Array.prototype.slice.call(elt.querySelectorAll("button:not([disabled])"));
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (!elt || !userAction(event.detail)) return;
    elt.setAttribute("aria-busy", "true");
    const buttons = busyButtons(elt);
    buttons.forEach(function (button) { button.disabled = true; button.classList.add("is-busy"); });
    elt._shopqrBusy = buttons;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = event.detail.elt;
    if (!elt || !elt._shopqrBusy) return;
    elt.removeAttribute("aria-busy");
    elt._shopqrBusy.forEach(function (button) { button.disabled = false; button.classList.remove("is-busy"); });
    elt._shopqrBusy = null;
  });
  function fail(event) {
    const detail = event.detail;
    if (!detail.elt || !userAction(detail)) return;  // a poll simply tries again
    const trigger = detail.requestConfig.triggeringEvent;
    failed = { elt: detail.elt, type: trigger.type, submitter: trigger.submitter || null };
    const body = document.body.dataset;
    const offline = navigator.onLine === false || event.type !== "htmx:responseError";
    // inside an open dialog the page behind it is inert: the toast goes into the dialog
    const dialog = detail.elt.closest("dialog[open]");
    let region = dialog ? dialog.querySelector(".retry-region") : document.getElementById("toast");
    if (!region && dialog) {
      region = document.createElement("div");
      region.className = "toast-region retry-region";
      dialog.append(region);
    }
    if (!region) return;
    region.innerHTML = "";
    const toast = document.createElement("div");
    toast.className = "toast toast-error toast-sticky";
    toast.setAttribute("role", "alert");
    const text = document.createElement("span");
    text.textContent = offline ? body.msgOffline : body.msgFailed;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "btn btn-small toast-retry";
    retry.dataset.retry = "";
    retry.textContent = body.msgRetry;
    toast.append(text, retry);
    region.append(toast);
  }
  document.addEventListener("htmx:sendError", fail);
  document.addEventListener("htmx:timeout", fail);
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status >= 500) fail(event);
  });
  document.addEventListener("click", function (event) {
    const retry = event.target.closest && event.target.closest("[data-retry]");
    if (!retry || !failed) return;
    const action = failed;
    failed = null;
    const toast = retry.closest(".toast");
    if (toast) toast.remove();
    if (!document.body.contains(action.elt)) return;
    if (action.elt.matches("form")) action.elt.requestSubmit(action.submitter || undefined);
    else if (action.type === "click") action.elt.click();
    else htmx.trigger(action.elt, action.type);
  });
})();

// The order page: when the order turns ready, the tab's title says so and the phone vibrates
// (where it can), once per order.
function shopqrReady(vibrate) {
  const status = document.querySelector(".order-status[data-ready-title]");
  if (!status || !/:ready$/.test(status.dataset.status || "")) return;
  document.title = status.dataset.readyTitle;
  const key = "shopqr-ready-" + status.id;
  if (!vibrate || sessionStorage.getItem(key)) return;
  sessionStorage.setItem(key, "1");
  if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
}
document.addEventListener("DOMContentLoaded", function () { shopqrReady(false); });
document.addEventListener("htmx:afterSettle", function () { shopqrReady(true); });
// The option sheet (templates/_option_sheet.html, guest and POS): the Add button shows the
// running price (base price and ticked options' extras, times the quantity); a multi-select
// group's other checkboxes are disabled at its maximum; below a minimum the Add button is
// disabled and the group says why. The server checks everything again.
function formatMoney(amount, currency) {
  if (currency === "KHR") return Math.round(amount).toLocaleString("en-US") + "\u17db";
  const cents = Math.round(amount * 100);
  const sign = cents < 0 ? "-" : "";
  return sign + "$" + (Math.abs(cents) / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function refreshOptionSheet(form) {
  const scale = form.dataset.currency === "KHR" ? 1 : 100;
  let unit = Math.round(Number(form.dataset.basePrice) * scale);
  let short = false;
  form.querySelectorAll("fieldset.option-group").forEach(function (group) {
    const boxes = group.querySelectorAll("input[type=checkbox], input[type=radio]");
    let ticked = 0;
    boxes.forEach(function (box) {
      if (box.checked) {
        ticked += 1;
        unit += Math.round(Number(box.dataset.extra || 0) * scale);
      }
    });
    if (!group.hasAttribute("data-multi")) return;
    const max = Number(group.dataset.max), min = Number(group.dataset.min);
    boxes.forEach(function (box) { box.disabled = !box.checked && ticked >= max; });
    group.classList.toggle("at-max", ticked >= max);
    const message = group.querySelector("[data-rule-message]");
    if (message) message.hidden = ticked >= min;
    if (ticked < min) short = true;
  });
  const qtyField = form.querySelector("input[name=quantity]");
  const qty = Math.max(1, Math.min(50, parseInt(qtyField && qtyField.value, 10) || 1));
  const price = form.querySelector("[data-running-price]");
  if (price) price.textContent = formatMoney(unit * qty / scale, form.dataset.currency);
  const add = form.querySelector("[data-add-button]");
  if (add) add.disabled = short;
}

document.addEventListener("change", function (event) {
  const form = event.target.closest && event.target.closest("[data-option-sheet]");
  if (form) refreshOptionSheet(form);
});
document.addEventListener("input", function (event) {
  const form = event.target.closest && event.target.closest("[data-option-sheet]");
  if (form && event.target.name === "quantity") refreshOptionSheet(form);
});
document.addEventListener("click", function (event) {
  const step = event.target.closest && event.target.closest("[data-step]");
  if (!step) return;
  const field = step.closest(".stepper").querySelector("input[name=quantity]");
  const next = (parseInt(field.value, 10) || 1) + Number(step.dataset.step);
  field.value = String(Math.max(Number(field.min || 1), Math.min(Number(field.max || 50), next)));
  field.dispatchEvent(new Event("change", { bubbles: true }));
});
function refreshAllOptionSheets(root) {
  (root || document).querySelectorAll("[data-option-sheet]").forEach(refreshOptionSheet);
}
document.addEventListener("htmx:afterSwap", function () { refreshAllOptionSheets(); });
document.addEventListener("DOMContentLoaded", function () { refreshAllOptionSheets(); });

// The shared cart: when another phone at the table (or the cashier, or a checkout) changed it,
// the watcher's answer says "cart-changed"; an open cart panel then reloads.
document.addEventListener("cart-changed", function () {
  const dialog = document.getElementById("cart-dialog");
  const badge = document.getElementById("cart-badge");
  if (dialog && dialog.open && badge) htmx.ajax("GET", badge.getAttribute("hx-get"),
                                                { target: "#cart-panel", swap: "outerHTML" });
});

// The guest menu's category bar marks the category in view (aria-current, styled in CSS) and
// keeps its link in sight in the bar. An IntersectionObserver watches a line just below the
// sticky bar: the section across that line (or the first, above it) is the one in view. At the
// end of the page the last category is (a short last category never reaches the line). A
// tapped category stays marked until the guest scrolls away from where the tap jumped to.
(function () {
  let observer = null;
  function setup() {
    const nav = document.querySelector(".category-nav");
    if (!nav || !("IntersectionObserver" in window)) return;
    const links = Array.from(nav.querySelectorAll("a[href^='#cat-']"));
    const byId = {};
    links.forEach(function (a) { byId[a.getAttribute("href").slice(1)] = a; });
    const sections = links.map(function (a) {
      return document.getElementById(a.getAttribute("href").slice(1));
    }).filter(Boolean);
    if (!sections.length) return;
    let current = null;
    function mark(section) {
      if (!section || section === current) return;
      current = section;
      links.forEach(function (a) { a.removeAttribute("aria-current"); });
      const link = byId[section.id];
      if (!link) return;
      link.setAttribute("aria-current", "true");
      const left = link.offsetLeft - nav.offsetLeft;
      if (left < nav.scrollLeft || left + link.offsetWidth > nav.scrollLeft + nav.clientWidth) {
        nav.scrollLeft = Math.max(0, left - 16);
      }
    }
    function atEnd() {
      return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2;
    }
    function watch() {
      if (observer) observer.disconnect();
      const line = nav.offsetHeight + 16;
      observer = new IntersectionObserver(function (entries) {
        if (tapped || atEnd()) return;
        // a section crossed the line: the last one whose top is above it is in view
        if (entries.length) mark(acrossTheLine());
      }, { rootMargin: "-" + line + "px 0px -" + Math.max(0, window.innerHeight - line - 1) + "px 0px" });
      sections.forEach(function (section) { observer.observe(section); });
    }
    function acrossTheLine() {
      const line = nav.offsetHeight + 16;
      let found = sections[0];
      sections.forEach(function (section) {
        if (section.getBoundingClientRect().top <= line) found = section;
      });
      return found;
    }
    let tapped = null;
    let landedAt = null;
    nav.addEventListener("click", function (event) {
      const link = event.target.closest && event.target.closest("a[href^='#cat-']");
      const section = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!section) return;
      tapped = section;
      landedAt = null;
      mark(section);
    });
    function jumpedTo(section) {  // the page is where a tap on its link puts it
      const margin = parseFloat(getComputedStyle(section).scrollMarginTop) || 0;
      return Math.abs(section.getBoundingClientRect().top - margin) < 4 || atEnd();
    }
    mark(acrossTheLine());
    watch();
    let ended = false;
    window.addEventListener("scroll", function () {
      if (tapped) {
        if (landedAt === null && jumpedTo(tapped)) landedAt = window.scrollY;
        if (landedAt !== null && Math.abs(window.scrollY - landedAt) < 4) return;
        tapped = null;
        mark(acrossTheLine());
      }
      const end = atEnd();
      if (end) mark(sections[sections.length - 1]);
      else if (ended) mark(acrossTheLine());  // back from the end: the line did not move
      ended = end;
    }, { passive: true });
    window.addEventListener("resize", watch);
  }
  document.addEventListener("DOMContentLoaded", setup);
})();

// --- The POS till (templates/pos/index.html, docs/pos.md) ---
// data-tabs on a container: its [data-tab] buttons pick which [data-pane] shows (the CSS hides
// the others on a tablet; a wide screen shows them all). The choice is kept for the tab.
(function () {
  function show(box, name) {
    box.dataset.active = name;
    box.querySelectorAll("[data-tab]").forEach(function (tab) {
      tab.setAttribute("aria-pressed", tab.dataset.tab === name ? "true" : "false");
    });
    try { sessionStorage.setItem("shopqr-" + box.dataset.tabs, name); } catch (e) { /* private mode */ }
  }
  document.addEventListener("click", function (event) {
    const tab = event.target.closest && event.target.closest("[data-tab]");
    const box = tab && tab.closest("[data-tabs]");
    if (box) show(box, tab.dataset.tab);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-tabs]").forEach(function (box) {
      let kept = box.dataset.open || null;  // the server asked for a tab (data-open)
      if (!kept) {
        try { kept = sessionStorage.getItem("shopqr-" + box.dataset.tabs); } catch (e) { /* none */ }
      }
      if (kept && box.querySelector("[data-tab='" + kept + "']")) show(box, kept);
    });
  });
})();

// Category tabs and the search field narrow the till's products (all of them are on the page).
(function () {
  function filter(menu) {
    const active = menu.querySelector("[data-category-tab][aria-pressed=true]");
    const category = active ? active.dataset.categoryTab : "all";
    const search = menu.querySelector("[data-product-search]");
    const words = search ? search.value.trim().toLowerCase() : "";
    let shown = 0;
    menu.querySelectorAll(".pos-product[data-category]").forEach(function (product) {
      const visible = words ? product.dataset.name.indexOf(words) !== -1
        : (category === "all" || product.dataset.category === category);
      product.hidden = !visible;
      if (visible) shown += 1;
    });
    const none = menu.querySelector("[data-no-results]");
    if (none) none.hidden = shown > 0;
  }
  document.addEventListener("click", function (event) {
    const tab = event.target.closest && event.target.closest("[data-category-tab]");
    if (!tab) return;
    const menu = tab.closest(".pos-menu");
    menu.querySelectorAll("[data-category-tab]").forEach(function (other) {
      other.setAttribute("aria-pressed", other === tab ? "true" : "false");
    });
    const search = menu.querySelector("[data-product-search]");
    if (search) search.value = "";
    filter(menu);
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-product-search]")) {
      filter(event.target.closest(".pos-menu"));
    }
  });
})();

// Quick cash (pos/_partials.html cash_tender): data-cash-set-usd / -khr set a field,
// data-cash-add-usd / -khr add a note to it, data-cash-clear empties both; then the change
// preview asks the server (the field's own htmx trigger).
document.addEventListener("click", function (event) {
  const button = event.target.closest && event.target.closest(".quick-btn");
  if (!button) return;
  const form = button.closest("[data-tender]");
  if (!form) return;
  const fields = { usd: form.querySelector("input[name=usd]"), khr: form.querySelector("input[name=khr]") };
  const d = button.dataset;
  function money(name, value) {
    if (name === "khr") return String(Math.round(value));
    return Number(value).toFixed(2);
  }
  ["usd", "khr"].forEach(function (name) {
    const key = name.charAt(0).toUpperCase() + name.slice(1);
    const set = d["cashSet" + key], add = d["cashAdd" + key];
    const field = fields[name];
    if (!field) return;
    if (d.cashClear !== undefined) field.value = "";
    else if (set !== undefined) field.value = Number(set) ? money(name, Number(set)) : "";
    else if (add !== undefined) field.value = money(name, (Number(field.value.replace(/,/g, "")) || 0) + Number(add));
    else return;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
});

// details[data-confirm-open]: opening it asks first ("Take cash instead" on a KHQR order).
document.addEventListener("click", function (event) {
  const summary = event.target.closest && event.target.closest("details[data-confirm-open] > summary");
  if (!summary) return;
  const details = summary.parentElement;
  if (!details.open && !window.confirm(details.dataset.confirmOpen)) event.preventDefault();
});

// [data-auto-print]: the receipt right after cash was taken opens the print dialog once.
document.addEventListener("DOMContentLoaded", function () {
  if (!document.querySelector("[data-auto-print]")) return;
  const key = "shopqr-printed-" + location.pathname;
  try {
    if (sessionStorage.getItem(key)) return;  // back on the page later: no second print
    sessionStorage.setItem(key, "1");
  } catch (e) { /* private mode: print anyway */ }
  setTimeout(function () { window.print(); }, 300);
});

// A live update of the POS (the websocket swaps a region out-of-band) must not wipe what the
// cashier is typing: the cash fields of an awaiting order keep their values, the change preview
// its text, and the focused field its focus and caret, when the same ids come back.
(function () {
  const KEPT = ".pos-order input[name=usd], .pos-order input[name=khr], .pos-order output.change-preview";
  let focused = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail && event.detail.target;
    const fragment = event.detail && event.detail.fragment;
    if (!target || !fragment || !fragment.querySelectorAll) return;
    target.querySelectorAll(KEPT).forEach(function (old) {
      if (!old.id) return;
      const fresh = fragment.querySelector("#" + CSS.escape(old.id));
      if (!fresh) return;
      if (old.tagName === "OUTPUT") {
        fresh.textContent = old.textContent;
      } else if (old.value) {
        fresh.value = old.value;
        fresh.setAttribute("value", old.value);
      }
    });
    const active = document.activeElement;
    if (active && active.id && target.contains(active) && active.matches(KEPT)) {
      focused = { id: active.id, start: active.selectionStart, end: active.selectionEnd };
    }
  });
  // A cash field that holds an amount but shows no change: typed into before htmx had set the
  // field up (a quick cashier on a slow tablet), or replaced by a live update while its preview
  // was on the way (the answer went to the replaced output). Once htmx has set the field up,
  // ask for the change again. (Not by an "input" event: htmx took the typed amount as the
  // field's starting value, and its "changed" check would drop the event.)
  document.addEventListener("htmx:load", function (event) {
    const root = event.detail && event.detail.elt;
    if (!root || !root.querySelectorAll) return;
    const asked = new Set();
    root.querySelectorAll("form input[name=usd][hx-post], form input[name=khr][hx-post]").forEach(function (field) {
      const preview = field.form.querySelector("output.change-preview");
      if (!field.value || !preview || preview.textContent.trim() || asked.has(preview)) return;
      asked.add(preview);  // one request per order, with both fields (hx-include)
      htmx.ajax("POST", field.getAttribute("hx-post"), {
        source: field, target: "#" + CSS.escape(preview.id), swap: "outerHTML" });
    });
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!focused) return;
    const again = document.getElementById(focused.id);
    if (again && document.activeElement !== again) {
      again.focus();
      try { again.setSelectionRange(focused.start, focused.end); } catch (e) { /* type without a caret */ }
    }
    focused = null;
  });
})();

// The table map's clocks (templates/pos/_tablemap.html): data-since is the group's first order
// in ms, data-now the server's clock when drawn; the minutes tick here, with no request.
(function () {
  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (el) {
      if (!el.dataset.offset) el.dataset.offset = String(Number(el.dataset.now) - Date.now());
      const mins = Math.max(0, Math.floor((Date.now() + Number(el.dataset.offset) - Number(el.dataset.since)) / 60000));
      const out = el.querySelector(".since-value");
      if (!out) return;
      out.textContent = mins < 60 ? el.dataset.fmtMin.replace("{m}", mins)
        : el.dataset.fmtHour.replace("{h}", Math.floor(mins / 60)).replace("{m}", String(mins % 60).padStart(2, "0"));
      el.classList.toggle("long", mins >= 90);
    });
  }
  setInterval(tick, 15000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:load", tick);
  document.body && document.body.addEventListener("htmx:wsAfterMessage", tick);
})();
