// Upload of the signing official's PKCS#12 (and signature image) on /me/signing.
import { api, showMessage, whileBusy } from "./http.js";

const form = document.getElementById("credential-form");
const area = document.getElementById("credential-messages");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  if (!form.elements.signature_image.files.length) data.delete("signature_image");
  const button = form.querySelector("button[type=submit]");
  try {
    await whileBusy(button, () => api("PUT", "/api/v1/me/signing-credential", data));
    showMessage(area, form.dataset.msgDone, "success");
    setTimeout(() => window.location.reload(), 600);
  } catch (err) {
    showMessage(area, err.message);
  }
});
