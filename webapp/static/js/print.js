// The print view's Print button: shown only when this script runs, so a browser without
// JavaScript keeps the plain instruction instead of a button that does nothing.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector("[data-print]");
  var instruction = document.querySelector("[data-print-instruction]");
  if (!button) { return; }
  button.hidden = false;
  if (instruction) { instruction.hidden = true; }
  button.addEventListener("click", function () { window.print(); });
});
