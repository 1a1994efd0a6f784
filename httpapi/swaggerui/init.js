// The reference of the node that serves this page: its own OpenAPI document, tried
// against the node itself (the first server is the page's own origin).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: function () {
      // "Try it out" goes to this node unless another server is picked.
      var spec = window.ui.specSelectors.specJson().toJS();
      spec.servers = [{ url: window.location.origin, description: "this node" }].concat(spec.servers || []);
      window.ui.specActions.updateJsonSpec(spec);
    },
  });
});
