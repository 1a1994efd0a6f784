package reader_test

import (
	"os"
	"testing"

	"github.com/floemq/floe/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.PostgresCleanup()
	os.Exit(code)
}
