// Swagger UI for /api/openapi.json. Requests made from here carry the page's session cookie but no CSRF
// header, so writes need "Authorize" with a bearer token from POST /api/v1/auth/login.
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    persistAuthorization: false,
  });
})();
