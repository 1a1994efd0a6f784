package auth

// ConsolePages are the web console's routes: page shells and their script and styles,
// which hold no data (the pages read everything through the API with the user's key, which
// a browser cannot send on a page load). They need no key, like /healthz.
var ConsolePages = []string{
	"GET /", "GET /console", "GET /console/", "GET /console/login", "GET /console/keys",
	"GET /console/topics/:topic", "GET /console/groups/:group", "GET /console/assets/*",
}

func init() {
	for _, r := range ConsolePages {
		openRoutes[r] = true
	}
}
