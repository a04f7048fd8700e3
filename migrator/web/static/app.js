// migrate ui: the little the pages need besides htmx (no inline script: the CSP forbids it).
// Step 2: the provider list fills the server fields from its preset and shows them only for
// "other server"; the login follows the address by the provider's rule (iCloud: the part before @).
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function loginFor(form, address) {
    if ((form === "local-part" || form === "id") && address.indexOf("@") > 0) {
      return address.slice(0, address.lastIndexOf("@"));
    }
    return address;
  }

  function setupAccount() {
    var provider = byId("provider");
    if (!provider || provider.dataset.ready) { return; }
    provider.dataset.ready = "1";
    var address = byId("address"), host = byId("host"), port = byId("port"), security = byId("security");
    var login = byId("login"), server = byId("server-fields"), loginField = byId("login-field");
    var loginTouched = false;

    function option() { return provider.options[provider.selectedIndex]; }

    function apply(fromPreset) {
      var o = option(), other = o.value === "other";
      server.hidden = !other;
      loginField.hidden = !(other || o.dataset.userForm === "id");
      byId("login-word").textContent = o.dataset.loginWord;
      byId("password-word").textContent = o.dataset.passwordWord;
      var url = byId("password-url"), help = byId("password-help");
      url.textContent = o.dataset.url || "";
      url.href = o.dataset.url || "#";
      help.hidden = !o.dataset.url;
      if (!other && fromPreset) {
        host.value = o.dataset.host;
        port.value = o.dataset.port;
        security.value = o.dataset.security;
      }
      if (!loginTouched) { login.value = loginFor(o.dataset.userForm, address.value.trim()); }
    }

    provider.addEventListener("change", function () { apply(true); });
    address.addEventListener("input", function () { apply(false); });
    login.addEventListener("input", function () { loginTouched = login.value !== ""; });
    security.addEventListener("change", function () {
      if (port.value === "993" || port.value === "143") { port.value = security.value === "tls" ? "993" : "143"; }
    });
    apply(option().value !== "other");
  }

  document.addEventListener("DOMContentLoaded", setupAccount);
  document.addEventListener("htmx:load", setupAccount);
})();
