// Package archtest holds no code: its test enforces the layering of docs/architecture.md
// ("imports point down, never up or sideways") on the import graph `go list` reports, so a
// wrong import fails `go test ./...` instead of waiting for a reviewer.
//
// The rules are a table in arch_test.go; add a row to add a rule.
package archtest
