// Live staff screens (kitchen, POS): connection banner, new-order sound, banner and flash,
// wake lock, card ages, the kitchen's station choice, and actions held back while offline.
// The socket itself is htmx's ws extension; messages are out-of-band fragments (the kitchen:
// the whole board on connect, then only the cards, counters and lists an event changed).
(function () {
  const conn = document.getElementById("connection");
  const sound = document.getElementById("new-order-sound");
  const toggle = document.getElementById("sound-toggle");
  const banner = document.getElementById("new-order-banner");
  const offlineNotice = document.getElementById("offline-notice");
  const SOUND_KEY = "shopqr.kitchen.sound";
  const STATION_KEY = "shopqr.kitchen.station";
  let soundOn = false;
  let known = null;
  let bannerTimer = null;
  let offline = false;

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }
  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  // The station this screen shows is remembered on the device: opening the kitchen without
  // ?station= goes to the remembered one.
  const picker = document.querySelector("[data-station-picker]");
  if (picker) {
    const params = new URLSearchParams(window.location.search);
    const remembered = stored(STATION_KEY);
    if (!params.has("station") && remembered && remembered !== picker.dataset.current &&
        picker.querySelector('[data-station="' + remembered + '"]')) {
      window.location.replace(picker.dataset.base + "?station=" + encodeURIComponent(remembered));
      return;
    }
    store(STATION_KEY, picker.dataset.current);
    picker.addEventListener("click", function (event) {
      const link = event.target.closest("[data-station]");
      if (link) store(STATION_KEY, link.dataset.station);
    });
  }

  function cardIds() {
    return new Set(Array.from(document.querySelectorAll("#kitchen-rail .kitchen-card, [data-new-order]"))
      .map(function (el) { return el.id; }));
  }

  function showBanner(card) {
    if (!banner || !card) return;
    banner.textContent = banner.dataset.text.replace("{label}", card.dataset.label || "");
    banner.hidden = false;
    clearTimeout(bannerTimer);
    bannerTimer = setTimeout(function () { banner.hidden = true; }, 8000);
  }

  function playSound() {
    if (!soundOn || !sound) return;
    sound.currentTime = 0;
    sound.play().catch(function () {});
  }

  function announceNew() {
    const now = cardIds();
    if (known !== null) {
      let fresh = null;
      now.forEach(function (id) {
        if (!known.has(id)) {
          const el = document.getElementById(id);
          if (el) { el.classList.add("flash"); fresh = el; }
        }
      });
      if (fresh) {
        playSound();
        showBanner(fresh);
        document.body.dataset.lastNew = String(Date.now());
      }
    }
    known = now;
  }

  // Sound: remembered on the device. A reload starts with sound on; if the browser still
  // wants a tap first, the first tap anywhere unlocks it.
  function setSound(on) {
    soundOn = on;
    store(SOUND_KEY, on ? "on" : "off");
    if (toggle) {
      toggle.textContent = on ? toggle.dataset.on : toggle.dataset.off;
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }
  function unlockAudio() {
    if (!sound) return;
    sound.muted = true;
    sound.play().then(function () { sound.pause(); sound.currentTime = 0; sound.muted = false; })
      .catch(function () {
        sound.muted = false;
        document.addEventListener("pointerdown", unlockAudio, { once: true });
      });
  }
  if (toggle) {
    toggle.addEventListener("click", function () {
      setSound(!soundOn);
      if (soundOn) unlockAudio();
      requestWakeLock();
    });
    if (stored(SOUND_KEY) === "on") { setSound(true); unlockAudio(); }
  }

  // Offline: the board's action buttons are disabled; a tap says why instead of failing.
  function setOffline(value) {
    offline = value;
    if (conn) conn.dataset.state = value ? "offline" : "online";
    document.body.classList.toggle("is-offline", value);
    document.querySelectorAll("#kitchen-board button").forEach(function (button) {
      if (value) button.setAttribute("aria-disabled", "true");
      else button.removeAttribute("aria-disabled");
    });
    if (!value && offlineNotice) offlineNotice.hidden = true;
  }
  document.addEventListener("click", function (event) {
    if (!offline || !event.target.closest) return;
    const button = event.target.closest("#kitchen-board button");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    if (offlineNotice) offlineNotice.hidden = false;
  }, true);
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (offline && elt && elt.closest && elt.closest("#kitchen-board")) {
      event.preventDefault();
      if (offlineNotice) offlineNotice.hidden = false;
    }
  });

  document.body.addEventListener("htmx:wsOpen", function () { setOffline(false); });
  document.body.addEventListener("htmx:wsClose", function (evt) {
    setOffline(true);
    // 1008: this sign-in ended (signed out, PIN reset or locked, removed). The socket does not
    // come back; reloading shows the PIN pad. (1012, a restart, reconnects by itself.)
    const closed = evt.detail && evt.detail.event;
    if (closed && closed.code === 1008) window.location.reload();
  });
  document.body.addEventListener("htmx:wsError", function () { setOffline(true); });
  document.body.addEventListener("htmx:wsAfterMessage", function () {
    announceNew();
    ages();
    if (offline) setOffline(true);  // cards swapped in while offline stay disabled
  });

  // A delta whose place on the rail is missing (this screen missed something): resync.
  const live = document.querySelector("[data-board-url]");
  document.body.addEventListener("htmx:oobErrorNoTarget", function (event) {
    const content = event.detail && event.detail.content;
    if (live && content && content.dataset && content.dataset.kitchenInsert) {
      htmx.ajax("GET", live.dataset.boardUrl, { target: "#kitchen-board", swap: "outerHTML" })
        .then(function () { known = cardIds(); ages(); });
    }
  });
  document.addEventListener("DOMContentLoaded", function () { known = cardIds(); ages(); });

  let wakeLock = null;
  function requestWakeLock() {
    if (!("wakeLock" in navigator) || wakeLock) return;
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      lock.addEventListener("release", function () { wakeLock = null; });
    }).catch(function () {});
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") requestWakeLock();
  });
  requestWakeLock();

  // Card ages and colours, from the payment time on the card and the shop's thresholds.
  function ages() {
    const board = document.getElementById("kitchen-board");
    const warn = Number((board && board.dataset.warn) || 8);
    const late = Number((board && board.dataset.late) || 15);
    document.querySelectorAll(".kitchen-card[data-paid-at]").forEach(function (card) {
      const paid = Number(card.dataset.paidAt);
      if (!paid) return;
      const mins = Math.max(0, Math.floor((Date.now() - paid) / 60000));
      const out = card.querySelector(".age-value");
      if (out) out.textContent = String(mins);
      card.classList.toggle("slow", mins >= warn && mins < late);
      card.classList.toggle("late", mins >= late);
    });
  }
  setInterval(ages, 30000);
})();
