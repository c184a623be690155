// Renders the formulas of the page with the local KaTeX (docs/hooks/offline.py adds it).
// pymdownx.arithmatex (generic mode) wraps each formula in an element of class
// "arithmatex": inline as \( ... \), display as \[ ... \].
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".arithmatex").forEach(function (element) {
    var tex = element.textContent.trim();
    var display = tex.startsWith("\\[");
    tex = tex.slice(2, -2);
    katex.render(tex, element, { displayMode: display, throwOnError: false });
  });
});
