// Public procedure search: the page is rendered on the server (it works without scripts, on
// any phone); this only fills the header and sends the filters as soon as one is chosen.
import { $, chrome, page } from "../app.js";

page(async () => {
  chrome();
  const form = $("#search-form");
  for (const select of form.querySelectorAll("select")) {
    select.addEventListener("change", () => form.requestSubmit());
  }
});
