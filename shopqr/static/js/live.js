// Live staff screens (kitchen, POS): connection banner, new-order sound and flash, wake lock,
// card ages. The socket itself is htmx's ws extension; messages are out-of-band fragments.
(function () {
  const conn = document.getElementById("connection");
  const sound = document.getElementById("new-order-sound");
  const toggle = document.getElementById("sound-toggle");
  let soundOn = false;
  let known = null;

  function queueIds() {
    return new Set(Array.from(document.querySelectorAll("#col-queued .kitchen-card, [data-new-order]"))
      .map(function (el) { return el.id; }));
  }

  function announceNew() {
    const now = queueIds();
    if (known !== null) {
      let fresh = false;
      now.forEach(function (id) {
        if (!known.has(id)) {
          fresh = true;
          const el = document.getElementById(id);
          if (el) el.classList.add("flash");
        }
      });
      if (fresh && soundOn && sound) { sound.currentTime = 0; sound.play().catch(function () {}); }
      if (fresh) document.body.dataset.lastNew = String(Date.now());
    }
    known = now;
  }

  if (toggle) {
    toggle.addEventListener("click", function () {
      soundOn = !soundOn;
      toggle.textContent = soundOn ? toggle.dataset.on : toggle.dataset.off;
      if (soundOn && sound) sound.play().then(function () { sound.pause(); sound.currentTime = 0; })
        .catch(function () {});
      requestWakeLock();
    });
  }

  document.body.addEventListener("htmx:wsOpen", function () { if (conn) conn.dataset.state = "online"; });
  document.body.addEventListener("htmx:wsClose", function (evt) {
    if (conn) conn.dataset.state = "offline";
    // 1008: this sign-in ended (signed out, PIN reset or locked, removed). The socket does not
    // come back; reloading shows the PIN pad. (1012, a restart, reconnects by itself.)
    const closed = evt.detail && evt.detail.event;
    if (closed && closed.code === 1008) window.location.reload();
  });
  document.body.addEventListener("htmx:wsError", function () { if (conn) conn.dataset.state = "offline"; });
  document.body.addEventListener("htmx:wsAfterMessage", announceNew);
  document.addEventListener("DOMContentLoaded", function () { known = queueIds(); });

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

  function ages() {
    document.querySelectorAll(".kitchen-card[data-paid-at]").forEach(function (card) {
      const paid = Number(card.dataset.paidAt);
      if (!paid) return;
      const mins = Math.max(0, Math.floor((Date.now() - paid) / 60000));
      const out = card.querySelector(".age-value");
      if (out) out.textContent = String(mins);
      card.classList.toggle("slow", mins >= 8 && mins < 15);
      card.classList.toggle("late", mins >= 15);
    });
  }
  setInterval(ages, 30000);
})();
