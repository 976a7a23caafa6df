/* The food-safety forms on a kitchen tablet: fewer taps, the same rules as the server.
   - "All normal" fills the yes/no checks a routine entry has (never an answer already given).
   - Fields whose required_if rule does not hold are moot: hidden, and not posted.
   - The 4D findings are shown before Save (POST /api/v1/safety/<kind>/check stores nothing).
   - Earlier items are suggested (a supplier's, for a delivery), and a known item fills in how it
     came or was handled last time (service.KNOWN_THINGS); measured values are always typed.
   - The shift health check: a symptom that bars food work sends the person off; a count.
   Everything works without this script; it only saves taps. */
(function () {
  "use strict";

  function field(form, name) { return form.elements.namedItem(name); }

  function raw(form, name) {
    var el = field(form, name);
    if (!el) return null;
    if (el.length !== undefined && !el.tagName) {  // radios (a RadioNodeList)
      for (var i = 0; i < el.length; i++) if (el[i].checked && !el[i].disabled) return el[i].value;
      return null;
    }
    if (el.disabled || el.type === "file" || el.value === "") return null;
    return el.value;
  }

  function entryForm(form) {
    var types = JSON.parse(form.getAttribute("data-types") || "{}");
    var known = JSON.parse(form.getAttribute("data-known") || "{}");
    var key = form.getAttribute("data-known-key"), group = form.getAttribute("data-known-group");

    function things() { return known[group ? raw(form, group) || "" : ""] || {}; }
    var ruled = form.querySelectorAll("[data-rule]");

    function typed(name) {
      var v = raw(form, name), t = types[name];
      if (v === null) return null;
      if (t === "bool") return v === "true";
      if (t === "number" || t === "integer") { var n = Number(v.replace(",", ".")); return isNaN(n) ? v : n; }
      if (t === "supplier" || t === "unit" || t === "staff" || t === "dish") return Number(v);
      return v;
    }

    function ruleValue(name) {
      var parts = name.split("."), v = typed(parts[0]);
      if (parts[1] && v !== null) {
        var sel = field(form, parts[0]), opt = sel && sel.selectedOptions ? sel.selectedOptions[0] : null;
        v = opt ? opt.getAttribute("data-" + parts[1]) : null;
      }
      return v;
    }

    function holds(rule) {
      var v = ruleValue(rule.field);
      if (rule["in"]) return rule["in"].indexOf(v) >= 0;
      if (rule.above !== undefined) return typeof v === "number" && v > rule.above;
      if (rule.present !== undefined) return v !== null;
      return false;
    }

    function needed(rules) {
      return [].concat(rules).some(function (r) { return holds(r) && !(r.unless && holds(r.unless)); });
    }

    function collapse() {
      for (var pass = 0; pass < 3; pass++) {  // a hidden field may make another moot
        ruled.forEach(function (box) {
          var show = needed(JSON.parse(box.getAttribute("data-rule"))) || box.classList.contains("has-error");
          box.hidden = !show;
          box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !show; });
        });
      }
    }

    function fillNormal(button) {
      var normal = JSON.parse(button.getAttribute("data-normal"));
      Object.keys(normal).forEach(function (name) {
        var el = field(form, name), want = String(normal[name]);
        if (!el) return;
        if (el.length !== undefined && !el.tagName) {
          for (var i = 0; i < el.length; i++) if (el[i].checked) return;  // answered already
          for (var j = 0; j < el.length; j++) if (el[j].value === want) el[j].checked = true;
        } else if (el.value === "") {
          el.value = want;
        }
      });
      changed();
    }

    function suggestItems() {
      var list = document.getElementById("item-suggestions");
      if (!list) return;
      var items = things();
      list.innerHTML = "";
      Object.keys(items).forEach(function (name) {
        var option = document.createElement("option");
        option.value = name;
        list.appendChild(option);
      });
    }

    function knownItem() {
      var how = things()[raw(form, key) || ""];
      if (!how) return;
      Object.keys(how).forEach(function (name) {
        var el = field(form, name);
        if (!el || raw(form, name) !== null) return;
        if (el.length !== undefined && !el.tagName) {
          for (var i = 0; i < el.length; i++) if (el[i].value === String(how[name])) el[i].checked = true;
        } else {
          el.value = how[name];
        }
      });
    }

    var preview = form.querySelector("[data-findings]"), timer = null, asked = 0;

    function entry() {
      var body = {};
      Object.keys(types).forEach(function (name) {
        if (types[name] === "photo") return;
        var v = typed(name);
        if (v !== null) body[name] = v;
      });
      var when = raw(form, "occurred_at"), first = raw(form, "occurred_default");
      if (when && when !== first) body.occurred_at = when;
      return body;
    }

    function show(title, lines, warn) {
      preview.hidden = false;
      preview.className = "findings-preview" + (warn ? " warn-card" : "");
      preview.innerHTML = "";
      var h = document.createElement("h2");
      h.textContent = title;
      preview.appendChild(h);
      var ul = document.createElement("ul");
      lines.forEach(function (line) {
        var li = document.createElement("li");
        li.textContent = line;
        ul.appendChild(li);
      });
      preview.appendChild(ul);
    }

    function labelOf(name) {  // the field's own label, in the page's language
      var box = form.querySelector("[data-field='" + name + "']");
      var label = box && box.querySelector("legend, label");
      return label ? label.textContent.replace(/[*·].*$/, "").trim() : null;
    }

    function check() {
      var url = form.getAttribute("data-check-url"), mine = ++asked;
      if (!url || !preview) return;
      fetch(url, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
                  body: JSON.stringify(entry())})
        .then(function (r) { return r.json().then(function (data) { return [r.status, data]; }); })
        .then(function (answer) {
          if (mine !== asked) return;  // a later check is on its way
          var status = answer[0], data = answer[1], msg = preview.dataset;
          if (status === 200 && data.verdict === "pass") show(msg.pass, [], false);
          else if (status === 200) {
            show(msg.fail, data.findings.map(function (f) { return f.item + " · " + f.message + " — " + f.action; }), true);
          }
          else if (status === 422 && data.errors) {
            show(msg.todo, Object.keys(data.errors).map(function (k) { return labelOf(k) || data.errors[k]; }), false);
          }
        })
        .catch(function () { preview.hidden = true; });
    }

    function changed(event) {
      if (event && event.target && group && event.target.name === group) suggestItems();
      if (event && event.target && key && event.target.name === key) knownItem();
      collapse();
      clearTimeout(timer);
      timer = setTimeout(check, 350);
    }

    form.addEventListener("change", changed);
    form.addEventListener("input", function (event) {
      if (key && event.target.name === key) { knownItem(); collapse(); }
    });
    var button = form.querySelector("[data-normal]");
    if (button) button.addEventListener("click", function () { fillNormal(button); });
    suggestItems();
    collapse();
  }

  function shiftCheck(form) {
    var count = form.querySelector("[data-shift-count]");

    function recount() {
      var on = form.querySelectorAll(".on-duty input:checked").length;
      var exceptions = 0;
      form.querySelectorAll(".person").forEach(function (row) {
        if (row.querySelector(".on-duty input").checked && row.querySelector(".exc input:checked")) exceptions++;
      });
      if (count) count.textContent = count.dataset.template.replace("{on}", on).replace("{ex}", exceptions);
    }

    // Another shift chosen: its people move up, ticked; the others' go into the fold, unticked
    // (unless an exception was tapped for them). People with no shift set stay where they are.
    function regroup(shift) {
      var main = form.querySelector("[data-on-shift]"), fold = form.querySelector("[data-other-shifts]");
      if (!main || !fold) return;
      form.querySelectorAll(".person[data-shift]:not([data-shift=''])").forEach(function (row) {
        var on = row.querySelector(".on-duty input"), mine = row.dataset.shift === shift;
        (mine ? main : fold).appendChild(row);
        if (mine) on.checked = !row.hasAttribute("data-checked-today") && row.dataset.staff !== checkerId();
        else if (!row.querySelector(".exc input:checked")) on.checked = false;
      });
      var empty = main.querySelector("[data-empty]");
      if (empty) empty.hidden = !!main.querySelector(".person");
      var summary = form.querySelector(".other-shifts summary");
      var others = fold.querySelectorAll(".person").length;
      summary.textContent = summary.dataset.template.replace("{n}", others);
      summary.parentNode.hidden = others === 0;
    }

    function checkerId() {
      var checker = form.querySelector("[name='checked_by']");
      return checker ? checker.value : "";
    }

    form.addEventListener("change", function (event) {
      var box = event.target, row = box.closest(".person");
      if (row && box.checked && box.hasAttribute("data-bars")) {
        row.querySelector("input[name$='-unfit']").checked = true;  // sick: off food work
      }
      if (row && box.checked && box.closest(".exceptions")) {
        row.querySelector(".on-duty input").checked = true;  // an exception is about someone on duty
      }
      if (box.name === "shift") regroup(box.value);
      if (box.name === "checked_by") {
        var checker = form.querySelector(".person[data-staff='" + box.value + "'] .on-duty input");
        if (checker) checker.checked = false;  // nobody checks themselves
      }
      recount();
    });
    recount();
  }

  var entry = document.querySelector("form.safety-form[data-kind]");
  if (entry) entryForm(entry);
  var shift = document.querySelector("form[data-shift-check]");
  if (shift) shiftCheck(shift);
})();
