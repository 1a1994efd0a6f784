package objstore_test

import (
	"testing"

	"github.com/floemq/floe/internal/testenv"
)

func TestMain(m *testing.M) {
	defer testenv.MinIOCleanup()
	m.Run()
}
