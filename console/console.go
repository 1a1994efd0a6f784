// Package console serves Floe's web console at /console: a few server-rendered pages
// (html/template) whose small script reads and changes everything through the same HTTP
// API, with the same API keys, as any other client. The key a person signs in with stays
// in the browser tab (sessionStorage) and goes out only as the API's bearer token, so the
// console adds nothing to trust. Every asset is embedded: it works with no network beyond
// the node, and loads no third-party code.
package console

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed assets
var assets embed.FS

//go:embed templates/*.html
var templates embed.FS

// Config describes what the pages show about the node.
type Config struct {
	// Version is the floe version in the page footer.
	Version string
}

// page is what one page template is given.
type page struct {
	Title   string
	Page    string
	Name    string
	Version string
}

// contentSecurityPolicy allows the console's own script, styles and API calls only.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Register adds the console's routes: the pages under /console and their assets, and a
// redirect from / to the console.
func Register(e *echo.Echo, cfg Config) error {
	tmpl, err := template.ParseFS(templates, "templates/*.html")
	if err != nil {
		return err
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return err
	}
	files := http.StripPrefix("/console/assets/", http.FileServer(http.FS(static)))
	e.GET("/console/assets/*", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	render := func(pageName, title, param string) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Type", "text/html; charset=utf-8")
			p := page{Title: title, Page: pageName, Version: cfg.Version}
			if param != "" {
				p.Name = c.Param(param)
				p.Title = title + " " + p.Name
			}
			c.Response().WriteHeader(http.StatusOK)
			return tmpl.ExecuteTemplate(c.Response(), "layout.html", p)
		}
	}
	toConsole := func(c echo.Context) error { return c.Redirect(http.StatusFound, "/console/") }
	e.GET("/", toConsole)
	e.GET("/console", toConsole)
	e.GET("/console/", render("overview", "Overview", ""))
	e.GET("/console/login", render("login", "Sign in", ""))
	e.GET("/console/topics/:topic", render("topic", "Topic", "topic"))
	e.GET("/console/groups/:group", render("group", "Group", "group"))
	e.GET("/console/keys", render("keys", "API keys", ""))
	return nil
}
