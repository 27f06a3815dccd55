/* sphinx-deployguide: checklists that remember, and provenance on hover and focus.
 *
 * Consumes the HTML that sphinx_deployguide.ext renders (see the HTML contract):
 *   div.deployguide-checklist[data-deployguide-checklist][data-deployguide-facts-hash]
 *     li.deployguide-step[data-deployguide-step] > input.deployguide-step-box
 *   .deployguide-value[aria-describedby] + span.deployguide-tooltip[role=tooltip][hidden]
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

  /* The provenance popup. The server renders, after each value, a hidden
   * role="tooltip" element that the value names with aria-describedby. It opens on hover
   * and on keyboard focus, below the value or above it when there is no room, shifted to
   * stay inside the viewport; Escape closes it, and the pointer can move onto it
   * (WCAG 1.4.13). It is moved to the end of <body> so no theme container clips it. */
  var EDGE = 8;
  var GAP = 6;
  var openTip = null;
  var openTarget = null;
  var hideTimer = null;

  function placeTip(target, tip) {
    var rects = target.getClientRects();
    var box = rects.length ? rects[0] : target.getBoundingClientRect();
    var width = document.documentElement.clientWidth;
    var height = document.documentElement.clientHeight;
    var w = tip.offsetWidth;
    var h = tip.offsetHeight;
    var top = box.bottom + GAP;
    var side = "bottom";
    if (top + h > height - EDGE && box.top - GAP - h >= EDGE) {
      top = box.top - GAP - h;
      side = "top";
    }
    top = Math.max(EDGE, Math.min(top, height - EDGE - h));
    var left = Math.max(EDGE, Math.min(box.left, width - EDGE - w));
    tip.style.left = left + "px";
    tip.style.top = top + "px";
    tip.setAttribute("data-" + NS + "-placement", side);
  }

  function hideTip() {
    clearTimeout(hideTimer);
    if (openTip) {
      openTip.hidden = true;
    }
    openTip = null;
    openTarget = null;
  }

  function showTip(target, tip) {
    clearTimeout(hideTimer);
    if (openTip && openTip !== tip) {
      hideTip();
    }
    tip.hidden = false;
    openTip = tip;
    openTarget = target;
    placeTip(target, tip);
  }

  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () {
      if (openTarget && openTarget === document.activeElement) {
        return;
      }
      hideTip();
    }, 120);
  }

  function setupValue(el) {
    var tip = document.getElementById(el.getAttribute("aria-describedby") || "");
    if (!tip || tip.getAttribute("role") !== "tooltip") {
      return;
    }
    el.removeAttribute("title"); /* the popup replaces the native tooltip */
    document.body.appendChild(tip);
    var block = el.tagName !== "SPAN"; /* a list block opens on focus only */
    if (!block) {
      el.addEventListener("mouseenter", function () {
        showTip(el, tip);
      });
      el.addEventListener("mouseleave", hideSoon);
    }
    el.addEventListener("focus", function (event) {
      if (event.target === el) {
        showTip(el, tip);
      }
    });
    el.addEventListener("blur", function () {
      if (openTip === tip) {
        hideTip();
      }
    });
    tip.addEventListener("mouseenter", function () {
      clearTimeout(hideTimer);
    });
    tip.addEventListener("mouseleave", hideSoon);
  }

  function setupTooltips() {
    var values = document.querySelectorAll("." + NS + "-value[aria-describedby]");
    for (var i = 0; i < values.length; i++) {
      setupValue(values[i]);
    }
    document.addEventListener("keydown", function (event) {
      if (openTip && (event.key === "Escape" || event.key === "Esc")) {
        hideTip();
      }
    });
    function follow() {
      if (openTip && openTarget) {
        placeTip(openTarget, openTip);
      }
    }
    window.addEventListener("scroll", follow, true);
    window.addEventListener("resize", follow);
  }

  function init() {
    var store = makeStore();
    var prefix = meta("storage-prefix") || NS;
    var pageHash = meta("facts-hash");
    var checklists = document.querySelectorAll("div." + NS + "-checklist");
    for (var i = 0; i < checklists.length; i++) {
      setupChecklist(checklists[i], store, prefix, pageHash);
    }
    setupTooltips();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
