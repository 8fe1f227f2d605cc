// The login page: the OpenID Connect providers (VNeID for citizens, the province's single
// sign-on for officers), the demo users (development) or a token from the identity provider.
import { $, api, chrome, claims, clearToken, getToken, hide, homeFor, page, ROLE_LABELS, setToken, showError } from "../app.js";

function next(user) {
  const target = new URLSearchParams(location.search).get("next");
  // Only a path on this site: never an absolute URL from the query string.
  if (target && target.startsWith("/ui/") && !target.startsWith("//")) return target;
  return homeFor(user);
}

async function signIn(token) {
  setToken(token);
  const user = claims();
  if (!user) {
    clearToken();
    throw new Error("Mã truy cập không đọc được hoặc đã hết hạn.");
  }
  try {
    await api("/procedures"); // any valid token may read the catalog: proves the API accepts it
  } catch (err) {
    clearToken();
    throw err;
  }
  location.assign(next(user));
}

page(async () => {
  const signedIn = claims();
  // Back from the provider (or already signed in): straight to the user's pages.
  if (signedIn && !getToken() && !document.querySelector("#signin-error")) {
    location.replace(next(signedIn));
    return;
  }
  chrome();
  const target = new URLSearchParams(location.search).get("next");
  if (target) {
    for (const link of document.querySelectorAll("a.sso-button")) {
      link.href = `${link.pathname}?next=${encodeURIComponent(target)}`;
    }
  }
  for (const el of document.querySelectorAll("[data-role-label]")) {
    el.textContent = ROLE_LABELS[el.dataset.roleLabel] || el.dataset.roleLabel;
  }
  const error = $("#login-error");
  for (const button of document.querySelectorAll(".user-button")) {
    button.addEventListener("click", async () => {
      hide(error);
      button.disabled = true;
      try {
        const res = await fetch("/ui/dev-login", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept-Language": "vi" },
          body: JSON.stringify({ sub: button.dataset.sub }),
        });
        if (!res.ok) throw new Error((await res.json()).error?.message || res.statusText);
        await signIn((await res.json()).token);
      } catch (err) {
        showError(error, err);
      } finally {
        button.disabled = false;
      }
    });
  }
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(error);
    const token = $("#token").value.trim();
    if (!token) {
      showError(error, new Error("Nhập mã truy cập."));
      $("#token").setAttribute("aria-invalid", "true");
      return;
    }
    try {
      await signIn(token);
    } catch (err) {
      showError(error, err);
    }
  });
});
