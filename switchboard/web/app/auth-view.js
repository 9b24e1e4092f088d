// Sign in / create account.

import { $ } from "./dom.js";

const USERNAME_RE = /^[a-zA-Z0-9_.-]{3,32}$/;

export function mountAuthView(sb) {
  const form = $("auth-form");
  const tabs = { signin: $("tab-signin"), signup: $("tab-signup") };
  const submit = $("auth-submit");
  const error = $("auth-error");
  const username = $("username");
  const password = $("password");
  const displayNameInput = $("display-name");
  let mode = "signin";

  function setMode(next, { focus = false } = {}) {
    mode = next;
    for (const [name, tab] of Object.entries(tabs)) {
      const selected = name === mode;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
    }
    const signup = mode === "signup";
    $("field-display-name").hidden = !signup;
    $("username-hint").hidden = !signup;
    $("password-hint").hidden = !signup;
    password.autocomplete = signup ? "new-password" : "current-password";
    submit.textContent = signup ? "Create account" : "Sign in";
    error.textContent = "";
    for (const input of [username, password]) input.removeAttribute("aria-invalid");
    if (focus) tabs[mode].focus();
  }

  tabs.signin.addEventListener("click", () => setMode("signin"));
  tabs.signup.addEventListener("click", () => setMode("signup"));
  for (const tab of Object.values(tabs)) {
    tab.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        setMode(mode === "signin" ? "signup" : "signin", { focus: true });
      }
    });
  }

  function fail(message, input) {
    error.textContent = message;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    for (const input of [username, password]) input.removeAttribute("aria-invalid");
    const name = username.value.trim();
    if (!USERNAME_RE.test(name)) {
      return fail("Usernames are 3–32 characters: letters, digits, “_”, “.” and “-”.", username);
    }
    if (password.value.length < 8) return fail("Passwords are at least 8 characters.", password);
    submit.disabled = true;
    const label = submit.textContent;
    submit.textContent = mode === "signup" ? "Creating account…" : "Signing in…";
    try {
      if (mode === "signup") {
        await sb.register({ username: name, password: password.value, displayName: displayNameInput.value.trim() || undefined });
      } else {
        await sb.login({ username: name, password: password.value });
      }
      form.reset();
    } catch (err) {
      if (err.code === "invalid_credentials") fail("Wrong username or password.", password);
      else if (err.code === "username_taken") fail("That username is taken. Try another one.", username);
      else if (err.code === "validation_error") fail(err.errors?.[0]?.message || "Please check the form.", null);
      else if (err.code === "network_error") fail("Can't reach the server. Check your connection.", null);
      else fail(err.detail || err.message || "Something went wrong.", null);
    } finally {
      submit.disabled = false;
      submit.textContent = label;
    }
  });

  return {
    show() {
      setMode(mode);
      username.focus();
    },
  };
}
