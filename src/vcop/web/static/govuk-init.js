/* Start GOV.UK Frontend's components: the service navigation's "Menu" button on narrow screens,
 * error summaries, radios. A module script, loaded from this site (the Content-Security-Policy
 * allows no inline script); without it every page still works and the navigation stays open. */
import { initAll } from "./vendor/govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
