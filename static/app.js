// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Copy an invite link: <button data-copy="#input-id">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || "✓";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  // Ask before a destructive form is sent: <form data-confirm="…">
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  }, true);
  // Show / hide a password: <button type="button" data-toggle-password="#id">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-toggle-password]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-toggle-password"));
    if (!input) return;
    var show = input.type === "password";
    input.type = show ? "text" : "password";
    button.setAttribute("aria-pressed", show ? "true" : "false");
  });
})();

// --- chats --------------------------------------------------------------------------------
(function () {
  "use strict";
  var live = false; // the SSE stream is up: the poller rests

  // A message can arrive twice (our own post, then the live update): keep one, in place.
  function dedupe(list) {
    var seen = {};
    Array.prototype.slice.call(list.querySelectorAll(":scope > li.msg")).forEach(function (item) {
      var earlier = seen[item.id];
      if (earlier) { earlier.replaceWith(item); }
      seen[item.id] = item;
    });
    var empty = document.getElementById("empty");
    if (empty && list.querySelector("li.msg")) empty.remove();
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 200;
  }

  // Tell the server what has been seen (the newest message on screen).
  var lastSent = 0;
  function markRead() {
    var poller = document.getElementById("poller");
    if (!poller || document.hidden) return;
    var newest = 0;
    document.querySelectorAll("#messages > li.msg").forEach(function (li) {
      newest = Math.max(newest, parseInt(li.getAttribute("data-id"), 10) || 0);
    });
    if (!newest || newest <= lastSent) return;
    lastSent = newest;
    var token = JSON.parse(document.body.getAttribute("hx-headers:inherited") || "{}")["X-CSRFToken"];
    var body = new FormData();
    body.append("last", String(newest));
    fetch(poller.getAttribute("data-read-url"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": token || "" }
    }).catch(function () { lastSent = 0; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("messages");
    if (!list) return;
    var stick = true;
    new MutationObserver(function () {
      dedupe(list);
      if (stick) window.scrollTo(0, document.body.scrollHeight);
      markRead();
    }).observe(list, { childList: true });
    window.addEventListener("scroll", function () { stick = nearBottom(); }, { passive: true });
    var unread = document.getElementById("unread");
    if (location.hash) { /* the browser scrolls to the anchor */ }
    else if (unread) { unread.scrollIntoView(); stick = false; }
    else { window.scrollTo(0, document.body.scrollHeight); }
    markRead();
    document.addEventListener("visibilitychange", markRead);
  });

  // htmx starts as soon as its (deferred) script runs, before the hx-sse extension's script
  // has registered: hand the live-stream elements to htmx again now that it has. Elements
  // already connected are left as they are (the extension checks).
  function connectStreams() {
    if (!window.htmx) return;
    document.querySelectorAll("[hx-sse\\:connect]").forEach(function (elt) {
      if (!(elt._htmx && elt._htmx.sse)) window.htmx.process(elt);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connectStreams);
  else connectStreams();

  // The poller rests while the stream is connected.
  document.addEventListener("htmx:sse:after:connection", function () { live = true; });
  document.addEventListener("htmx:sse:close", function () { live = false; });
  document.addEventListener("htmx:sse:error", function () { live = false; });
  function streamUp() {
    // the hx-sse extension keeps its connection on the element while it reads the stream
    var elt = document.getElementById("live");
    var sse = elt && elt._htmx && elt._htmx.sse;
    return live || Boolean(sse && sse.reader && sse.status === 200);
  }
  document.addEventListener("htmx:before:request", function (event) {
    var elt = event.target;
    if (elt && elt.id === "poller" && streamUp()) event.preventDefault();
  });

  // Reply: fill the composer's quote without leaving the page.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-reply]");
    var composer = document.getElementById("composer");
    if (link && composer) {
      event.preventDefault();
      composer.querySelector("[name=reply_to]").value = link.getAttribute("data-reply");
      var box = composer.querySelector(".replying");
      box.querySelector("[data-reply-name]").textContent = link.getAttribute("data-reply-name");
      box.querySelector("[data-reply-text]").textContent = link.getAttribute("data-reply-text");
      box.hidden = false;
      var menu = link.closest("details");
      if (menu) menu.open = false;
      composer.querySelector("textarea").focus();
      return;
    }
    var cancel = event.target.closest("[data-reply-cancel]");
    if (cancel && composer) {
      event.preventDefault();
      composer.querySelector("[name=reply_to]").value = "";
      composer.querySelector(".replying").hidden = true;
    }
  });

  // Close a message's «⋯» menu once something in it was pressed; one menu open at a time.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.classList || !menu.classList.contains("msg-menu") || !menu.open) return;
    document.querySelectorAll("details.msg-menu[open]").forEach(function (other) {
      if (other !== menu) other.open = false;
    });
    // near the bottom of the screen the menu opens upwards, clear of the composer
    menu.classList.remove("up");
    var panel = menu.querySelector(".menu");
    var composer = document.getElementById("composer");
    var floor = composer ? composer.getBoundingClientRect().top : window.innerHeight;
    if (panel && panel.getBoundingClientRect().bottom > Math.min(floor, window.innerHeight - 70)) {
      menu.classList.add("up");
      if (panel.getBoundingClientRect().top < 0) panel.scrollIntoView({ block: "nearest" });
    }
  }, true);

  // The composer: grows with the text; Ctrl+Enter sends; shows the chosen files.
  function grow(area) {
    area.style.height = "auto";
    area.style.height = Math.min(area.scrollHeight, 200) + "px";
  }
  function showChosen(input) {
    var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    var label = input.form && input.form.querySelector("[data-files-chosen]");
    if (label) label.textContent = names.length ? "📎 " + names.join(", ") : "";
  }
  document.addEventListener("input", function (event) {
    var area = event.target;
    if (area.matches && area.matches("#composer textarea")) grow(area);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("#composer textarea")) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("#composer input[type=file]")) showChosen(input);
  });

  // Each message is sent with a token of its own (client_token): sent again because its answer
  // was lost, it is the same message, not a second one. A new, empty composer (the page, or the
  // one that comes back after a message went) gets a new token; a composer that comes back with
  // what was typed keeps the token it was sent with.
  function newToken() {
    if (window.crypto && window.crypto.randomUUID) {
      try { return window.crypto.randomUUID(); } catch (e) { /* not a secure context */ }
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  function freshTokens(all) {
    var which = all ? "#composer [name=client_token]" : "#composer [name=client_token][data-fresh]";
    document.querySelectorAll(which).forEach(function (input) {
      input.value = newToken();
      input.removeAttribute("data-fresh");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { freshTokens(false); });
  else freshTokens(false);
  document.addEventListener("htmx:after:swap", function () { freshTokens(false); });
  document.addEventListener("submit", function () { freshTokens(false); }, true); // before htmx reads the form
  // a page brought back by the back button: what it sends next is a new message
  window.addEventListener("pageshow", function (event) { if (event.persisted) freshTokens(true); });

  // The server could not save (503), or the person sent too many posts with files for now
  // (429): the composer comes back with the text, and the photos and files chosen stay chosen —
  // the file input is carried over into it (a page can't refill one). Only a message that went
  // clears them (its fresh composer).
  document.addEventListener("htmx:before:swap", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var composer = document.getElementById("composer");
    if (!ctx || !ctx.response || !composer || ctx.sourceElement !== composer) return;
    var input = composer.querySelector("input[type=file]");
    var status = ctx.response.status;
    var keep = (status === 503 || status === 429) && input && input.files && input.files.length;
    ctx.sferumComposer = { kept: keep ? input : null };
  });
  document.addEventListener("htmx:after:swap", function (event) {
    var done = event.detail && event.detail.ctx && event.detail.ctx.sferumComposer;
    var composer = document.getElementById("composer");
    if (!done || !composer) return;
    var area = composer.querySelector("textarea");
    if (area && area.value) grow(area);
    var input = composer.querySelector("input[type=file]");
    if (!done.kept || !input || input === done.kept) return;
    input.replaceWith(done.kept);
    showChosen(done.kept);
  });
})();

// --- invites: «Распечатать» on the poster: <button type="button" data-print> ------------------
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});
