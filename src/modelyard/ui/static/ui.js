// Progressive enhancement only: every page works without this file.
// Forms marked data-confirm ask before they post (promote, rollback, set traffic, reject).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); }
});
// Rows of a table marked data-href open their link on Enter, so a keyboard reaches them too.
document.addEventListener("keydown", function (event) {
  var row = event.target.closest && event.target.closest("tr[data-href]");
  if (row && event.key === "Enter") { window.location = row.getAttribute("data-href"); }
});
