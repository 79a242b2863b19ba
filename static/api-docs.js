// Starts the vendored Swagger UI on the API's own document (served by /api/docs).
// Everything it loads comes from this service: no validator badge (validatorUrl: null),
// no outside fonts or images.
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
