// A published month of the service index: rendered by the server from the frozen snapshot
// (no token needed); the script only draws the navigation.
import { chrome, page } from "../app.js";

page(async () => {
  chrome();
});
