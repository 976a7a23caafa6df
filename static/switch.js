/* Switch person on a shared tablet: a name is one tap, then the PIN field has the focus, so
   the keypad is up at once. Without this script the form works the same with one more tap. */
(function () {
  "use strict";
  var people = document.getElementById("switch-people");
  var secret = document.getElementById("secret");
  if (!people || !secret) return;
  people.addEventListener("change", function () { secret.focus(); });
})();
