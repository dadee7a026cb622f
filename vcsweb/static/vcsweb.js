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
