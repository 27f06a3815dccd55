/* sphinx-deployguide: checklists that remember, and provenance on hover and focus.
 *
 * Consumes the HTML that sphinx_deployguide.ext renders (see the HTML contract):
 *   div.deployguide-checklist[data-deployguide-checklist][data-deployguide-facts-hash]
 *     li.deployguide-step[data-deployguide-step] > input.deployguide-step-box
 *   span.deployguide-value[title]
 * Ticks live in localStorage under "<prefix>:<checklist>:<step>:<facts hash>", so a
 * reload keeps them, editing another step keeps them, and new facts (a new chart
 * version) start a fresh checklist. When storage is unavailable the checklist still
 * works in memory, without errors.
 */
(function () {
  "use strict";

  var NS = "deployguide";

  function meta(name) {
    var el = document.querySelector('meta[name="' + NS + "-" + name + '"]');
    return el ? el.getAttribute("content") || "" : "";
  }

  /* A key/value store that prefers localStorage and falls back to memory whenever
   * localStorage is missing or throws (private mode, quota, disabled storage). */
  function makeStore() {
    var memory = Object.create(null);
    var local = null;
    try {
      local = window.localStorage;
      var probe = NS + ":probe";
      local.setItem(probe, "1");
      local.removeItem(probe);
    } catch (err) {
      local = null;
    }
    return {
      persistent: function () {
        return local !== null;
      },
      get: function (key) {
        if (key in memory) {
          return memory[key];
        }
        if (local) {
          try {
            return local.getItem(key);
          } catch (err) {
            local = null;
          }
        }
        return null;
      },
      set: function (key, value) {
        memory[key] = value;
        if (local) {
          try {
            if (value === null) {
              local.removeItem(key);
            } else {
              local.setItem(key, value);
            }
          } catch (err) {
            local = null;
          }
        }
      },
      /* Keys of localStorage that start with `start` (empty when storage is unusable). */
      keysStartingWith: function (start) {
        var found = [];
        if (!local) {
          return found;
        }
        try {
          for (var i = 0; i < local.length; i++) {
            var key = local.key(i);
            if (key !== null && key.indexOf(start) === 0) {
              found.push(key);
            }
          }
        } catch (err) {
          local = null;
          return [];
        }
        return found;
      },
    };
  }

  var idCounter = 0;
  function ensureId(el, base) {
    if (!el.id) {
      idCounter += 1;
      el.id = NS + "-" + base + "-" + idCounter;
    }
    return el.id;
  }

  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) {
      el.className = className;
    }
    if (text) {
      el.textContent = text;
    }
    return el;
  }

  /* Give every checkbox a real <label> (a larger click target); its accessible name
   * is the step's text, through aria-labelledby (the server sets it; else we do). */
  function ensureLabel(step, box) {
    if (box.labels && box.labels.length) {
      return;
    }
    var label = make("label", NS + "-step-check");
    label.setAttribute("for", ensureId(box, "box"));
    box.parentNode.insertBefore(label, box);
    label.appendChild(box);
    if (!box.hasAttribute("aria-labelledby")) {
      var body = step.querySelector("." + NS + "-step-body");
      if (body) {
        box.setAttribute("aria-labelledby", ensureId(body, "step-body"));
      }
    }
  }

  function setupChecklist(root, store, prefix, pageHash) {
    var checklistId = root.getAttribute("data-" + NS + "-checklist") || root.id || "";
    var hash = root.getAttribute("data-" + NS + "-facts-hash") || pageHash || "";
    var keyStart = prefix + ":" + checklistId + ":";
    var steps = [];
    var stepEls = root.querySelectorAll("li." + NS + "-step");
    for (var i = 0; i < stepEls.length; i++) {
      var box = stepEls[i].querySelector("input." + NS + "-step-box");
      var stepId = stepEls[i].getAttribute("data-" + NS + "-step");
      if (!box || !stepId) {
        continue;
      }
      box.disabled = false;
      ensureLabel(stepEls[i], box);
      steps.push({ el: stepEls[i], box: box, key: keyStart + stepId + ":" + hash });
    }
    if (!steps.length) {
      return;
    }

    /* Ticks saved under another facts hash belong to an older world: drop them. */
    var current = {};
    steps.forEach(function (s) {
      current[s.key] = true;
    });
    store.keysStartingWith(keyStart).forEach(function (key) {
      var cut = key.lastIndexOf(":");
      if (!current[key] && cut > keyStart.length && key.slice(cut + 1) !== hash) {
        store.set(key, null);
      }
    });

    var controls = make("div", NS + "-controls");
    var progress = make("p", NS + "-progress");
    progress.setAttribute("aria-live", "polite");
    var reset = make("button", NS + "-reset", "Reset");
    reset.type = "button";
    var title = root.querySelector("." + NS + "-checklist-title");
    reset.setAttribute(
      "aria-label",
      "Reset " + (title ? title.textContent.trim() : "checklist") + ": untick every step"
    );
    controls.appendChild(progress);
    controls.appendChild(reset);
    var list = root.querySelector("." + NS + "-steps") || steps[0].el.parentNode;
    list.parentNode.insertBefore(controls, list);

    var next = null;
    var nextUrl = root.getAttribute("data-" + NS + "-next-url");
    if (nextUrl) {
      next = make("p", NS + "-next");
      next.setAttribute("aria-live", "polite");
      next.hidden = true;
      next.appendChild(document.createTextNode("Next: "));
      var link = make("a", "", root.getAttribute("data-" + NS + "-next-title") || nextUrl);
      link.setAttribute("href", nextUrl);
      next.appendChild(link);
      root.appendChild(next);
    }

    var storageNote = null;
    if (!store.persistent()) {
      storageNote = make(
        "p",
        NS + "-storage-note",
        "This browser does not let the page save your ticks: they last until you leave the page."
      );
      root.appendChild(storageNote);
    }

    function render() {
      var done = 0;
      steps.forEach(function (s) {
        if (s.box.checked) {
          done += 1;
        }
        s.el.classList.toggle(NS + "-step-done", s.box.checked);
      });
      progress.textContent = done + " of " + steps.length + " done";
      root.classList.toggle(NS + "-complete", done === steps.length);
      if (next) {
        next.hidden = done !== steps.length;
      }
    }

    function load() {
      steps.forEach(function (s) {
        s.box.checked = store.get(s.key) === "1";
      });
      render();
    }

    steps.forEach(function (s) {
      s.box.addEventListener("change", function () {
        store.set(s.key, s.box.checked ? "1" : null);
        render();
      });
    });
    reset.addEventListener("click", function () {
      steps.forEach(function (s) {
        s.box.checked = false;
        store.set(s.key, null);
      });
      render();
    });
    /* Another tab ticked or reset this checklist: follow it. */
    window.addEventListener("storage", function (event) {
      if (event.key === null || event.key.indexOf(keyStart) === 0) {
        load();
      }
    });
    load();
  }

  /* Provenance as a tooltip that also shows on keyboard focus (a native title only
   * shows on hover), and as the accessible description of the value. */
  function setupValue(el) {
    var text = el.getAttribute("title");
    if (!text) {
      return;
    }
    var tip = make("span", NS + "-provenance-text", text);
    tip.id = ensureId(el, "value") + "-provenance";
    tip.hidden = true;
    el.parentNode.insertBefore(tip, el.nextSibling);
    var described = el.getAttribute("aria-describedby");
    el.setAttribute("aria-describedby", described ? described + " " + tip.id : tip.id);
    el.setAttribute("data-" + NS + "-provenance", text);
    el.removeAttribute("title");
    if (!el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "0");
    }
  }

  function init() {
    var store = makeStore();
    var prefix = meta("storage-prefix") || NS;
    var pageHash = meta("facts-hash");
    var checklists = document.querySelectorAll("div." + NS + "-checklist");
    for (var i = 0; i < checklists.length; i++) {
      setupChecklist(checklists[i], store, prefix, pageHash);
    }
    var values = document.querySelectorAll("." + NS + "-value[title]");
    for (var j = 0; j < values.length; j++) {
      setupValue(values[j]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
