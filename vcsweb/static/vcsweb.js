// Small behaviours htmx does not cover: keyboard shortcuts for inline edits,
// the CSRF header, upload progress and drag-and-drop. No inline scripts are
// allowed by the Content-Security-Policy, so all of it lives here.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Every htmx request that changes something carries the token as a header,
  // whichever fragment it came from.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") {
      event.detail.headers["X-CSRFToken"] = csrfToken();
    }
  });

  // Escape cancels an inline edit; Ctrl+Enter saves a multi-line one.
  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("form.desc.editing");
    if (!form) return;
    if (event.key === "Escape") {
      event.preventDefault();
      var cancel = form.querySelector(".cancel");
      if (cancel) cancel.click();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) &&
               event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // Put the caret at the end of a field that was just opened for editing.
  document.addEventListener("htmx:afterSettle", function (event) {
    var field = event.detail.elt.querySelector &&
      event.detail.elt.querySelector("form.desc.editing [name=description]");
    if (field && document.activeElement === field) {
      var end = field.value.length;
      field.setSelectionRange(end, end);
    }
  });

  // Closing an editor (Escape, Cancel, a save) puts the focus back on the
  // description that opened it, so a keyboard user carries on from there
  // instead of from the top of the page. Focus that moved elsewhere while
  // the request ran stays where it is.
  var closing = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.target;
    if (!form || !form.matches || !form.matches("form.desc.editing")) return;
    var active = document.activeElement;
    closing = !active || active === document.body || form.contains(active) ?
      form.id : null;
  });

  // After the settle, when htmx has made the new description clickable.
  document.addEventListener("htmx:afterSettle", function (event) {
    var shown = event.detail.elt;
    if (!closing || shown.id !== closing) return;
    closing = null;
    if (shown.matches("form")) return;
    var opener = shown.querySelector(".desc-text");
    if (opener) opener.focus();
  });

  // A failure htmx could not swap (the server or a proxy was down) still
  // tells the person, instead of leaving the page looking unchanged.
  document.addEventListener("htmx:sendError", function () {
    showToast("The server could not be reached. Nothing was saved; try again.");
  });

  function showToast(text) {
    var toast = document.getElementById("server-error");
    if (!toast) return;
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 8000);
  }

  // Upload: progress bar, file names, drag-and-drop.
  function chosenText(files) {
    if (!files || !files.length) return "";
    var names = Array.prototype.map.call(files, function (f) { return f.name; });
    return names.length === 1 ? names[0] : names.length + " files: " + names.join(", ");
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "upload-files") {
      var chosen = document.getElementById("upload-chosen");
      if (chosen) chosen.textContent = chosenText(event.target.files);
    }
  });

  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest(".dropzone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("dragging");
  });

  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest(".dropzone");
    if (zone) zone.classList.remove("dragging");
  });

  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest(".dropzone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var progress = document.getElementById("upload-progress");
    if (!progress || event.target.id !== "upload-form" || !event.detail.total) return;
    progress.hidden = false;
    progress.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    progress.textContent = progress.value + "%";
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.target.id !== "upload-form") return;
    var progress = document.getElementById("upload-progress");
    if (progress) progress.hidden = true;
    if (event.detail.successful) {
      event.target.querySelector("#upload-files").value = "";
      event.target.querySelector("#upload-message").value = "";
      event.target.querySelector("#upload-replace").checked = false;
      document.getElementById("upload-chosen").textContent = "";
    }
  });
})();

// Plain forms that make a commit: one submission per click, and Ctrl+Enter
// in their text area submits them.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-submit-once")) return;
    if (form.dataset.submitted) {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = true;
    });
  });

  // A page shown again from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      delete form.dataset.submitted;
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    });
  });

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (field.tagName !== "TEXTAREA" || field.closest("form.desc")) return;
    var form = field.closest("form[data-submit-once]");
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();

// What someone typed into a description is kept in this tab until it is
// saved or cancelled, so a save refused because the session ended (the
// browser goes to the sign-in page) loses nothing: opening the same
// description again brings the text back.
(function () {
  "use strict";
  var PREFIX = "vcsweb-draft:";

  function key(form) {
    return PREFIX + form.getAttribute("action");
  }

  function editing(element) {
    return element && element.matches && element.matches("form.desc.editing");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!editing(form) || event.detail.requestConfig.verb !== "put") return;
    var field = form.querySelector("[name=description]");
    try {
      sessionStorage.setItem(key(form), field.value);
    } catch (ignored) {
      // Storage full or disabled: the save itself still goes ahead.
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (editing(form) && event.detail.successful) {
      sessionStorage.removeItem(key(form));
    }
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("form.desc.editing .cancel");
    if (cancel) sessionStorage.removeItem(key(cancel.closest("form")));
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt;
    var forms = editing(root) ? [root] : root.querySelectorAll ?
      root.querySelectorAll("form.desc.editing") : [];
    Array.prototype.forEach.call(forms, function (form) {
      var draft = sessionStorage.getItem(key(form));
      var field = form.querySelector("[name=description]");
      if (draft === null || !field || field.value === draft) return;
      field.value = draft;
      var note = document.createElement("p");
      note.className = "hint draft";
      note.setAttribute("role", "status");
      note.textContent = "Restored what you typed before; it is not saved yet.";
      form.appendChild(note);
    });
  });
})();

// "/" anywhere outside a field goes to the search box, as on most sites.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    var box = document.getElementById("search-q") || document.getElementById("site-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();

// Live updates. A page that shows something others may change opens an
// event stream (<main sse-connect>, htmx's SSE extension) that tells it when
// a description it shows is saved or a commit lands. The page then fetches
// the changed part again; what someone is typing is never replaced: an open
// editor shows "changed by X meanwhile" instead, and the version it started
// from makes a save ask before overwriting anything.
//   data-live="tip"          refresh on every commit (a folder shows the tip)
//   data-live="commit"       refresh when a commit changes this page's path
//   data-live="description"  refresh when a description shown in it is saved
//   data-live="keep"         a form: show a notice instead of refreshing
// A page in a hidden tab closes its stream and opens it again, from where it
// was, when the tab is shown: over HTTP/1.1 a browser opens at most six
// connections to a site, so open streams would keep further tabs from loading.
(function () {
  "use strict";
  if (!window.htmx) return;

  var position = null;   // the stream's last event id: where to resume
  var current = null;    // the stream open now; a page holds one at most
  var paused = null;     // the element whose sse-connect a hidden tab took off
  var sources = new WeakSet();
  var refreshing = new WeakSet();
  var flash = {};
  var kept = [];

  // A stream opened again (after an error, or when a hidden tab is shown)
  // resumes from the last event this page saw instead of from when the page
  // was loaded.
  htmx.createEventSource = function (url) {
    if (position !== null) {
      var parts = position.split(":");
      var resume = new URL(url, window.location.href);
      resume.searchParams.set("since", parts[0]);
      if (parts.length > 1) resume.searchParams.set("tip", parts[1]);
      url = resume.pathname + resume.search;
    }
    if (current) current.close();
    current = new EventSource(url, { withCredentials: true });
    return current;
  };

  // Without its sse-connect attribute the extension leaves the element
  // alone (its retries included); htmx.process sees the attribute change.
  function pause() {
    var element = document.querySelector("[sse-connect]");
    if (!element) return;
    paused = { element: element, url: element.getAttribute("sse-connect") };
    element.removeAttribute("sse-connect");
    htmx.process(element);
    if (current) current.close();
    current = null;
    showStatus("Paused", "Live updates pause while this tab is hidden " +
      "and catch up when it is shown");
  }

  function resume() {
    if (!paused) return;
    var state = paused;
    paused = null;
    state.element.setAttribute("sse-connect", state.url);
    htmx.process(state.element);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") pause(); else resume();
  });
  // A page opened in a background tab connects only once it is shown.
  if (document.visibilityState === "hidden") pause();

  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail.source;
    showStatus("Live", "Changes others make appear on this page as they happen");
    if (sources.has(source)) return;
    sources.add(source);
    source.addEventListener("description", handle(onDescription));
    source.addEventListener("commit", handle(onCommit));
    source.addEventListener("stale", handle(onStale));
  });

  document.addEventListener("htmx:sseError", function () {
    showStatus("Reconnecting…", "Live updates were interrupted; trying again");
  });

  function handle(react) {
    return function (event) {
      if (event.lastEventId) position = event.lastEventId;
      react(JSON.parse(event.data));
    };
  }

  function regions(kind) {
    return document.querySelectorAll('[data-live~="' + kind + '"]');
  }

  function onDescription(change) {
    var shown = document.getElementById(change.target);
    if (!shown) return;
    if (shown.matches("form.desc.editing")) {
      var version = shown.querySelector("[name=version]");
      // A save of its own in flight answers for itself.
      var own = shown.classList.contains("htmx-request");
      if (version && !own && Number(version.value) < change.version) {
        notice(shown, "Changed by " + change.by +
          " meanwhile — your text is kept; saving will ask you to resolve.");
      }
      return;
    }
    var region = shown.closest('[data-live~="description"]');
    if (region) {
      refresh(region);
    } else if (Number(shown.dataset.version || 0) < change.version) {
      var here = window.location.pathname + window.location.search;
      flash[change.target] = true;
      refresh(shown, change.url + "?next=" + encodeURIComponent(here));
    }
  }

  // A description someone else saved lights up as one's own save does.
  document.addEventListener("htmx:afterSettle", function (event) {
    var element = event.detail.elt;
    if (element.id && flash[element.id]) {
      delete flash[element.id];
      if (element.matches(".desc")) element.classList.add("saved");
    }
  });

  function onCommit(commit) {
    regions("tip").forEach(function (region) { refresh(region); });
    if (!commit.here) return;
    var by = commit.author || "Someone";
    regions("keep").forEach(function (form) {
      notice(form, "Changed by " + by + " meanwhile (commit " + commit.short +
        ") — your text is kept; saving will ask you to resolve.");
    });
    regions("commit").forEach(function (region) {
      if (commit.gone) {
        banner(region, by + " deleted or moved " + commit.path + " in commit " +
          commit.short + ".", false);
      } else {
        refresh(region);
      }
    });
  }

  function onStale() {
    ["tip", "commit", "description"].forEach(function (kind) {
      regions(kind).forEach(function (region) { refresh(region); });
    });
  }

  // Fetch a part of the page again and put it in place (outerHTML).
  function refresh(element, url) {
    url = url || element.dataset.liveUrl || element.getAttribute("hx-get");
    refreshing.add(element);
    return htmx.ajax("GET", url, {
      source: element,
      target: element,
      swap: "outerHTML",
      select: "#" + element.id,
    });
  }

  // A refresh nobody clicked for never leaves the page or shows an error
  // page in its place: a session that ended, a folder that is gone or a
  // server that is down leave a note instead.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var element = event.detail.elt;
    if (!refreshing.has(element)) return;
    refreshing.delete(element);
    var status = event.detail.xhr.status;
    if (status < 400 && document.body.contains(element)) return;
    event.preventDefault();
    if (document.body.contains(element)) {
      banner(element, status === 401 ?
        "Your session has ended: sign in again to see the latest changes." :
        "This changed meanwhile and could not be shown again.", true);
    }
  });

  // Open description editors inside a part being replaced are taken out
  // first and put back in place of the fresh display, text and caret intact.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!event.detail.shouldSwap || !target.querySelectorAll) return;
    var active = document.activeElement;
    Array.prototype.forEach.call(target.querySelectorAll("form.desc.editing"), function (form) {
      var focused = form.contains(active) ? active : null;
      kept.push({
        form: form,
        region: target.id,
        focused: focused,
        start: focused && focused.selectionStart,
        end: focused && focused.selectionEnd,
      });
      form.remove();
    });
  });

  document.addEventListener("htmx:afterSwap", function () {
    var restore = kept;
    kept = [];
    restore.forEach(function (state) {
      var spot = document.getElementById(state.form.id);
      if (spot) {
        spot.replaceWith(state.form);
      } else {
        var region = document.getElementById(state.region);
        if (!region) return;
        region.prepend(state.form);
        notice(state.form, "This was renamed or deleted meanwhile; your text is kept here.");
      }
      if (state.focused) {
        state.focused.focus();
        if (state.start !== null && state.focused.setSelectionRange) {
          state.focused.setSelectionRange(state.start, state.end);
        }
      }
    });
  });

  function notice(form, text) {
    var note = form.querySelector(".live-notice");
    if (!note) {
      note = document.createElement("p");
      note.className = "live-notice";
      note.setAttribute("role", "status");
      var fields = form.querySelector(".desc-fields");
      if (fields) fields.after(note); else form.prepend(note);
    }
    note.textContent = text;
  }

  function banner(region, text, reload) {
    var note = region.querySelector(".live-banner");
    if (!note) {
      note = document.createElement("p");
      note.className = "banner live-banner";
      note.setAttribute("role", "status");
      region.prepend(note);
    }
    note.textContent = text;
    if (reload) {
      note.append(" ");
      var link = document.createElement("a");
      link.href = window.location.href;
      link.textContent = "Reload the page";
      note.appendChild(link);
    }
  }

  function showStatus(text, title) {
    var status = document.getElementById("live-status");
    if (!status) {
      var bar = document.querySelector(".topbar .topnav");
      if (!bar) return;
      status = document.createElement("span");
      status.id = "live-status";
      status.className = "live-status";
      bar.before(status);
    }
    status.textContent = text;
    status.title = title;
    status.classList.toggle("offline", text !== "Live");
  }
})();
