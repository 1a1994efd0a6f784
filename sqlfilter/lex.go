package sqlfilter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenKind says what a token is.
type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokInt
	tokFloat

	// Keywords.
	tokNot
	tokAnd
	tokOr
	tokBetween
	tokIn
	tokIs
	tokNull
	tokTrue
	tokFalse
	tokContains
	tokStartsWith
	tokEndsWith

	// Punctuation.
	tokEq
	tokNe
	tokLt
	tokLe
	tokGt
	tokGe
	tokLParen
	tokRParen
	tokComma
	tokPlus
	tokMinus
)

// keywords maps the upper-case spelling of each keyword to its kind.
var keywords = map[string]tokenKind{
	"NOT":        tokNot,
	"AND":        tokAnd,
	"OR":         tokOr,
	"BETWEEN":    tokBetween,
	"IN":         tokIn,
	"IS":         tokIs,
	"NULL":       tokNull,
	"TRUE":       tokTrue,
	"FALSE":      tokFalse,
	"CONTAINS":   tokContains,
	"STARTSWITH": tokStartsWith,
	"ENDSWITH":   tokEndsWith,
}

// punctuation is how each punctuation token is written.
var punctuation = map[tokenKind]string{
	tokEq:     "=",
	tokNe:     "<>",
	tokLt:     "<",
	tokLe:     "<=",
	tokGt:     ">",
	tokGe:     ">=",
	tokLParen: "(",
	tokRParen: ")",
	tokComma:  ",",
	tokPlus:   "+",
	tokMinus:  "-",
}

// token is one lexical token of an expression.
type token struct {
	kind tokenKind
	// pos is the byte offset of the token's first byte.
	pos int
	// text is the identifier, the number as written (without an L suffix), the keyword as
	// written, or the string's value: without its quotes, each doubled quote made single.
	text string
}

// describe names the token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "the end"
	case tokIdent:
		return "property " + t.text
	case tokString:
		return "the string " + quote(t.text)
	case tokInt, tokFloat:
		return "the number " + t.text
	}
	if p, ok := punctuation[t.kind]; ok {
		return "'" + p + "'"
	}
	return strings.ToUpper(t.text)
}

// lex splits expr into tokens, ending with a tokEOF at len(expr).
func lex(expr string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(expr) && expr[i+1] == '-':
			// A line comment, to the end of the line or of the expression.
			for i < len(expr) && expr[i] != '\n' && expr[i] != '\r' {
				i++
			}
		case c == '/' && i+1 < len(expr) && expr[i+1] == '*':
			end := strings.Index(expr[i+2:], "*/")
			if end < 0 {
				return nil, syntaxErrorf(i, "the comment is not closed with */")
			}
			i += 2 + end + 2
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && isIdentPart(expr[j]) {
				j++
			}
			word := expr[i:j]
			kind, ok := keywords[strings.ToUpper(word)]
			if !ok {
				kind = tokIdent
			}
			toks = append(toks, token{kind: kind, pos: i, text: word})
			i = j
		case isDigit(c) || c == '.' && i+1 < len(expr) && isDigit(expr[i+1]):
			t, next, err := lexNumber(expr, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = next
		case c == '\'':
			t, next, err := lexString(expr, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = next
		default:
			kind, width, err := lexPunctuation(expr, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: kind, pos: i})
			i += width
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(expr)}), nil
}

// lexNumber reads the number at expr[start:]: digits, an optional fraction and an
// optional exponent, or digits and an L suffix.
func lexNumber(expr string, start int) (token, int, error) {
	i := start
	kind := tokInt
	for i < len(expr) && isDigit(expr[i]) {
		i++
	}
	if i < len(expr) && expr[i] == '.' {
		kind = tokFloat
		i++
		for i < len(expr) && isDigit(expr[i]) {
			i++
		}
	}
	if i < len(expr) && (expr[i] == 'e' || expr[i] == 'E') {
		j := i + 1
		if j < len(expr) && (expr[j] == '+' || expr[j] == '-') {
			j++
		}
		if j >= len(expr) || !isDigit(expr[j]) {
			return token{}, 0, syntaxErrorf(i, "the exponent of the number %s has no digits", expr[start:i])
		}
		kind = tokFloat
		i = j
		for i < len(expr) && isDigit(expr[i]) {
			i++
		}
	}
	text := expr[start:i]
	if kind == tokInt && i < len(expr) && (expr[i] == 'l' || expr[i] == 'L') {
		i++ // a Java long, as RocketMQ allows: the value is the same
	}
	if i < len(expr) && (isIdentPart(expr[i])) {
		return token{}, 0, syntaxErrorf(i, "unexpected %s right after the number %s", describeByte(expr, i), text)
	}
	return token{kind: kind, pos: start, text: text}, i, nil
}

// lexString reads the quoted string at expr[start:].
func lexString(expr string, start int) (token, int, error) {
	var b []byte
	i := start + 1
	for {
		if i >= len(expr) {
			return token{}, 0, syntaxErrorf(start, "the string is not closed with '")
		}
		if expr[i] == '\'' {
			if i+1 < len(expr) && expr[i+1] == '\'' {
				b = append(b, '\'')
				i += 2
				continue
			}
			return token{kind: tokString, pos: start, text: string(b)}, i + 1, nil
		}
		b = append(b, expr[i])
		i++
	}
}

// lexPunctuation reads the operator or bracket at expr[i:] and returns its width.
func lexPunctuation(expr string, i int) (tokenKind, int, error) {
	next := byte(0)
	if i+1 < len(expr) {
		next = expr[i+1]
	}
	switch expr[i] {
	case '=':
		return tokEq, 1, nil
	case '<':
		switch next {
		case '=':
			return tokLe, 2, nil
		case '>':
			return tokNe, 2, nil
		}
		return tokLt, 1, nil
	case '>':
		if next == '=' {
			return tokGe, 2, nil
		}
		return tokGt, 1, nil
	case '(':
		return tokLParen, 1, nil
	case ')':
		return tokRParen, 1, nil
	case ',':
		return tokComma, 1, nil
	case '+':
		return tokPlus, 1, nil
	case '-':
		return tokMinus, 1, nil
	case '!':
		if next == '=' {
			return 0, 0, syntaxErrorf(i, "'!=' is not SQL: write <> for not equal")
		}
	case '"':
		return 0, 0, syntaxErrorf(i, "strings are quoted with ', not \"")
	}
	return 0, 0, syntaxErrorf(i, "unexpected %s", describeByte(expr, i))
}

// describeByte names the character at expr[i] for an error message.
func describeByte(expr string, i int) string {
	r, size := utf8.DecodeRuneInString(expr[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte 0x%02x", expr[i])
	}
	return "character " + strconv.QuoteRune(r)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '$'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '.' }

// quote writes s as a string literal: in single quotes, each quote doubled.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
