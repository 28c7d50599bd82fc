// The grades page: a CSV file chosen with the file input is read into the form's text area,
// so uploading and pasting post the same form.
"use strict";
(function () {
  const file = document.getElementById("csv-file");
  const text = document.getElementById("csv");
  if (!file || !text) {
    return;
  }
  file.addEventListener("change", function () {
    const chosen = file.files && file.files[0];
    if (!chosen) {
      return;
    }
    chosen.text().then(function (content) {
      text.value = content;
    });
  });
})();
