package httpapi

import (
	"embed"
	"mime"
	"net/http"
	"path"

	"github.com/labstack/echo/v4"
)

// SwaggerUIVersion is the swagger-ui-dist release embedded for /docs (see
// swaggerui/README.md).
const SwaggerUIVersion = "5.36.0"

// swaggerUI holds the API reference page: Swagger UI's files from npm, pinned and
// committed, so that /docs works without a CDN or any other network.
//
//go:embed swaggerui/index.html swaggerui/init.js swaggerui/swagger-ui-bundle.js swaggerui/swagger-ui.css swaggerui/favicon-32x32.png
var swaggerUI embed.FS

// RegisterDocs serves the API reference at GET /docs: Swagger UI over this node's own
// GET /v1/openapi.json. Like the document, it needs no key.
func RegisterDocs(e *echo.Echo) {
	e.GET("/docs", func(c echo.Context) error { return serveDocsFile(c, "index.html") })
	e.GET("/docs/:file", func(c echo.Context) error {
		file := c.Param("file")
		if file == "" || file == "index.html" {
			// The page's links are relative to /docs.
			return c.Redirect(http.StatusMovedPermanently, "/docs")
		}
		return serveDocsFile(c, file)
	})
}

func serveDocsFile(c echo.Context, name string) error {
	b, err := swaggerUI.ReadFile(path.Join("swaggerui", path.Clean("/"+name)))
	if err != nil {
		return Errorf(http.StatusNotFound, CodeNotFound, "no such file %s", name)
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(b)
	}
	// The files change only with the binary.
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, ctype, b)
}
