// Command floe is the Floe message broker: one binary, any set of roles.
package main

import (
	"os"

	"github.com/floemq/floe/services"
)

func main() {
	os.Exit(services.Main(os.Args[1:], os.Stdout, os.Stderr))
}
