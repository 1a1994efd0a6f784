package domain

import (
	"regexp"
	"strings"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,127}$`)

// ValidName reports whether s is a valid user-chosen name (topics, groups, lite topics,
// tags): 1–127 characters of [A-Za-z0-9_-].
func ValidName(s string) bool { return nameRE.MatchString(s) }

// CheckName returns an ErrInvalidName error naming kind ("topic") for an invalid name.
func CheckName(kind, s string) error {
	if !ValidName(s) {
		return FieldErrorf(ErrInvalidName, kind, "%s %q must be 1-127 characters of [A-Za-z0-9_-]", kind, s)
	}
	return nil
}

// MaxIDLen bounds an id a client hands in: message ids (a producer may choose one; the
// RocketMQ clients' are 34 hex digits), transaction ids and key ids.
const MaxIDLen = 64

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s has the shape of an id: 1–64 characters of [A-Za-z0-9_-].
// Every id Floe hands out has it, so another shape names nothing and must not reach the
// store (Postgres refuses a NUL or invalid UTF-8 with an error that is no client's business).
func ValidID(s string) bool { return idRE.MatchString(s) }

// CheckID returns an ErrBadRequest error naming field ("transaction id") for an id that
// is not ValidID.
func CheckID(field, s string) error {
	if !ValidID(s) {
		return FieldErrorf(ErrBadRequest, field, "%s %q must be 1-%d characters of [A-Za-z0-9_-]", field, s, MaxIDLen)
	}
	return nil
}

// SystemPrefix starts the names of system topics, such as %DLQ%group.
const SystemPrefix = "%"

// CheckReadableTopic accepts a user topic name or a system one (%DLQ%<group>), for routes
// that read; system topics cannot be created or sent to.
func CheckReadableTopic(topic string) error {
	if rest, ok := strings.CutPrefix(topic, "%DLQ%"); ok {
		return CheckName("topic", rest)
	}
	return CheckName("topic", topic)
}
