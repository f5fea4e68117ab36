// Password page: whether the pod has a login password (for the identity
// provider's login page, where Solid apps send their owner), and setting,
// changing or removing it. The password is never shown or read back: the
// server keeps only a hash and says when it was last set. Without a
// password the login page takes the owner key.

import { getJSON, request, sendJSON } from "../api.js";
import { Status, busy, field, h, replace, timeEl } from "../dom.js";

// Bounds the server enforces (at least 12 characters, at most 1024 bytes).
export const minPasswordChars = 12;
export const maxPasswordBytes = 1024;

// passwordError checks a new password as the server will; "" when fine.
export function passwordError(pw) {
  if (pw === "") return "Enter the new password.";
  if ([...pw].length < minPasswordChars) return `Use at least ${minPasswordChars} characters.`;
  if (new TextEncoder().encode(pw).length > maxPasswordBytes) return `Use at most ${maxPasswordBytes} bytes.`;
  return "";
}

export function passwordPage({ main, session, signal }) {
  document.title = `Password · ${session.pod} · podserver console`;
  const url = session.root + "settings/password";
  const status = new Status();
  const state = h("p", { id: "password-state" }, "Reading…");
  // No name attributes: nothing here is ever part of a form submission.
  const pwIn = h("input", { type: "password", autocomplete: "new-password", spellcheck: "false", maxlength: String(maxPasswordBytes) });
  const againIn = h("input", { type: "password", autocomplete: "new-password", spellcheck: "false", maxlength: String(maxPasswordBytes) });
  const pwF = field("New password", pwIn, `At least ${minPasswordChars} characters. A long passphrase is best.`);
  const againF = field("New password again", againIn);
  const saveBtn = h("button", { type: "submit" }, "Set password");
  const form = h("form", { class: "card", "aria-labelledby": "password-form-title", novalidate: true },
    h("h2", { id: "password-form-title" }, "Set a password"), pwF.el, againF.el, h("div", { class: "actions" }, saveBtn));
  const removeArea = h("div", { class: "actions" });
  const removeCard = h("section", { class: "card", "aria-labelledby": "password-remove-title", hidden: true },
    h("h2", { id: "password-remove-title" }, "Remove the password"),
    h("p", { class: "hint" }, "Logging in to apps then takes the owner key. Apps you allowed stay allowed."),
    removeArea);
  main.append(
    h("h1", {}, "Password"),
    h("p", { class: "intro" }, "When a Solid app asks you to log in, this server's login page takes the pod name and either this password or an owner key. The server stores only a hash of the password."),
    status.el, h("section", { class: "card", "aria-labelledby": "password-state-title" },
      h("h2", { id: "password-state-title" }, "Current state"), state),
    form, removeCard);

  pwIn.addEventListener("input", () => pwF.setError(pwIn.value ? passwordError(pwIn.value) : ""));
  againIn.addEventListener("input", () => againF.setError(""));

  // load reads whether a password is set; done is the message to show after.
  async function load(done) {
    status.busy("Reading the password state…");
    try {
      const { json } = await getJSON(url, { signal, headers: { Accept: "application/json" } });
      status.ok(done || "");
      render(json);
    } catch (e) {
      if (signal.aborted) return;
      replace(state, h("span", { class: "muted" }, "Unknown: the server did not say."));
      status.error(e);
    }
  }

  function render(json) {
    const set = Boolean(json.set);
    state.dataset.set = set ? "true" : "false";
    if (set) {
      replace(state, h("span", { class: "yes" }, "A password is set"), json.updated ? [" (last changed ", timeEl(json.updated), ")."] : ".");
    } else {
      replace(state, h("span", { class: "muted" }, "No password is set: logging in to apps takes the owner key."));
    }
    removeCard.hidden = !set;
    showRemove();
    labels();
  }

  // labels names the form for the state shown (after busy() has put the
  // button's old label back).
  function labels() {
    const set = state.dataset.set === "true";
    document.getElementById("password-form-title").textContent = set ? "Change the password" : "Set a password";
    saveBtn.textContent = set ? "Change password" : "Set password";
  }

  function showRemove() {
    const remove = h("button", { type: "button", class: "danger" }, "Remove password");
    remove.addEventListener("click", () => confirmRemove(remove));
    replace(removeArea, remove);
  }

  function confirmRemove(remove) {
    const yes = h("button", { type: "button", class: "danger" }, "Yes, remove");
    const no = h("button", { type: "button", class: "secondary" }, "Keep");
    replace(removeArea, h("span", { class: "confirm" }, "Remove the password? It stops working at once."), yes, no);
    yes.focus();
    no.addEventListener("click", () => {
      replace(removeArea, remove);
      remove.focus();
    });
    yes.addEventListener("click", () => busy(yes, "Removing…", status, async () => {
      await request(url, { method: "DELETE", signal });
      await load("Removed the password.");
      pwIn.focus();
    }));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const pw = pwIn.value;
    const err = passwordError(pw);
    pwF.setError(err);
    againF.setError("");
    if (err) return pwIn.focus();
    if (againIn.value !== pw) {
      againF.setError("The two passwords differ.");
      return againIn.focus();
    }
    const was = state.dataset.set === "true";
    busy(saveBtn, "Saving…", status, async () => {
      await sendJSON("PUT", url, { password: pw }, { ctype: "application/json", signal });
      pwIn.value = "";
      againIn.value = "";
      await load(was ? "Changed the password." : "Set the password.");
    }).then(labels);
  });

  load();
}
