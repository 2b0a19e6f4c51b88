// "Check any PDF": show the chosen file's name, accept a dropped file, and say that the check is running.
const form = document.getElementById("verify-form");
const input = form.querySelector("[data-testid=verify-input]");
const zone = form.querySelector("[data-testid=verify-dropzone]");
const chosen = form.querySelector("[data-chosen]");
const submit = form.querySelector("[data-testid=verify-submit]");

input.addEventListener("change", () => { if (input.files.length) chosen.textContent = input.files[0].name; });
for (const type of ["dragenter", "dragover"]) zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("is-over"); });
for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("is-over"));
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  if (!e.dataTransfer.files.length) return;
  input.files = e.dataTransfer.files;
  chosen.textContent = input.files[0].name;
});
form.addEventListener("submit", () => {
  submit.textContent = submit.dataset.busyText;
  submit.setAttribute("aria-busy", "true");
  setTimeout(() => { submit.disabled = true; }, 0);  // after the browser has taken the form's data
});
