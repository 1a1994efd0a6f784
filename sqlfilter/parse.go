package sqlfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits on an expression, so that hostile input costs little to reject.
const (
	// MaxLength is the longest expression, in bytes, as given and as written canonically.
	MaxLength = 4096
	// MaxDepth is the deepest nesting of parentheses and NOT.
	MaxDepth = 64
	// MaxInItems is the most strings one IN list may hold.
	MaxInItems = 1024
)

// SyntaxError is the error Parse returns: what is wrong and where.
type SyntaxError struct {
	// Offset is the byte offset in the expression, from 0, where the problem was found.
	Offset int
	// Msg says what is wrong.
	Msg string
}

// Error gives the message as `sql filter: at 12: expected a value after '>'`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("sql filter: at %d: %s", e.Offset, e.Msg)
}

func syntaxErrorf(offset int, format string, args ...any) error {
	return &SyntaxError{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// Filter is a parsed SQL92 filter expression. It is immutable, so one Filter may be
// matched from many goroutines at once. Get one from Parse; the zero Filter matches nothing.
type Filter struct {
	root node
	// text is the canonical form, computed once by Parse.
	text string
}

// Parse parses a SQL92 filter expression. Errors are *SyntaxError and say what is wrong
// and where (byte offset), e.g. `sql filter: at 12: expected a value after '>'`.
func Parse(expr string) (*Filter, error) {
	if len(expr) > MaxLength {
		return nil, syntaxErrorf(MaxLength, "the expression is %d bytes, more than the limit of %d", len(expr), MaxLength)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tokEOF {
		return nil, syntaxErrorf(0, "the expression is empty")
	}
	p := &parser{toks: toks}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, syntaxErrorf(t.pos, "')' closes no '('")
		}
		return nil, p.unexpected("AND, OR or the end")
	}
	var b strings.Builder
	root.format(&b)
	f := &Filter{root: root, text: b.String()}
	if len(f.text) > MaxLength {
		// String must give text that Parse accepts, so the canonical form is bound by the
		// limit too; it can be longer than the input (spaces, 1e3 written as 1000.0).
		return nil, syntaxErrorf(0, "the expression is %d bytes when written canonically, more than the limit of %d", len(f.text), MaxLength)
	}
	return f, nil
}

// String returns the expression in a canonical form that Parse accepts again: keywords in
// capitals, one space between tokens, parentheses only where precedence needs them, and
// nested ANDs (or ORs) flattened. Parse(f.String()).String() == f.String().
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

// Match evaluates the filter for a message whose properties are looked up with prop
// (ok=false: the property is absent). The message's tag is visible as the property TAGS
// (the caller passes it through prop). Unknown (NULL) results count as no match.
func (f *Filter) Match(prop func(name string) (string, bool)) bool {
	if f == nil || f.root == nil {
		return false
	}
	return f.root.eval(prop) == yes
}

// parser is a recursive descent parser over the tokens of one expression. Chains of AND
// and OR are loops, so only parentheses and NOT recurse, and depth counts them.
type parser struct {
	toks  []token
	pos   int
	depth int
}

// peek returns the next token without consuming it.
func (p *parser) peek() token { return p.toks[p.pos] }

// next consumes and returns the next token. The final tokEOF is never consumed.
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// unexpected is the error for the next token when the parser wanted something else.
func (p *parser) unexpected(want string) error {
	t := p.peek()
	msg := "expected " + want
	if p.pos > 0 {
		msg += " after " + p.toks[p.pos-1].describe()
	}
	if t.kind != tokEOF {
		msg += ", found " + t.describe()
	}
	return syntaxErrorf(t.pos, "%s", msg)
}

// enter counts one level of nesting that starts at the token at pos.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return syntaxErrorf(pos, "parentheses and NOT nest more than %d deep", MaxDepth)
	}
	return nil
}

func (p *parser) parseOr() (node, error) {
	first, err := p.parseAnd()
	if err != nil || p.peek().kind != tokOr {
		return first, err
	}
	or := &orNode{}
	or.add(first)
	for p.peek().kind == tokOr {
		p.next()
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		or.add(n)
	}
	return or, nil
}

func (p *parser) parseAnd() (node, error) {
	first, err := p.parseNot()
	if err != nil || p.peek().kind != tokAnd {
		return first, err
	}
	and := &andNode{}
	and.add(first)
	for p.peek().kind == tokAnd {
		p.next()
		n, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		and.add(n)
	}
	return and, nil
}

func (p *parser) parseNot() (node, error) {
	t := p.peek()
	switch t.kind {
	case tokNot:
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		n, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &notNode{x: n}, nil
	case tokLParen:
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		switch p.peek().kind {
		case tokRParen:
		case tokEOF:
			return nil, syntaxErrorf(p.peek().pos, "the '(' at %d is not closed", t.pos)
		default:
			return nil, p.unexpected("AND, OR or ')'")
		}
		p.next()
		p.depth--
		return n, nil
	}
	return p.parsePredicate()
}

// parsePredicate parses one comparison, or TRUE or FALSE alone.
func (p *parser) parsePredicate() (node, error) {
	x, err := p.parseOperand("a condition")
	if err != nil {
		return nil, err
	}
	op := p.peek()
	not := false
	if op.kind == tokNot {
		p.next()
		not = true
		op = p.peek()
		switch op.kind {
		case tokBetween, tokIn, tokContains, tokStartsWith, tokEndsWith:
		default:
			return nil, p.unexpected("BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH")
		}
	}
	switch op.kind {
	case tokEq, tokNe, tokLt, tokLe, tokGt, tokGe:
		p.next()
		y, err := p.parseOperand("a value")
		if err != nil {
			return nil, err
		}
		c := &compareNode{op: op.kind, x: x, y: y}
		if op.kind != tokEq && op.kind != tokNe {
			if err := checkOrdered(op, x, y); err != nil {
				return nil, err
			}
		}
		return c, nil
	case tokBetween:
		return p.parseBetween(x, not)
	case tokIn:
		return p.parseIn(x, not)
	case tokIs:
		p.next()
		n := &nullNode{x: x}
		if p.peek().kind == tokNot {
			p.next()
			n.not = true
		}
		if p.peek().kind != tokNull {
			return nil, p.unexpected("NULL")
		}
		p.next()
		return n, nil
	case tokContains, tokStartsWith, tokEndsWith:
		p.next()
		s := p.peek()
		if s.kind != tokString {
			return nil, p.unexpected("a string")
		}
		p.next()
		return &textNode{op: op.kind, not: not, x: x, s: s.text}, nil
	}
	if !x.isProperty && x.lit.kind == kindBool {
		return constNode(x.lit.b), nil
	}
	return nil, p.unexpected("a comparison")
}

func (p *parser) parseBetween(x operand, not bool) (node, error) {
	between := p.next()
	lo, err := p.parseOperand("a value")
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokAnd {
		return nil, p.unexpected("AND")
	}
	p.next()
	hi, err := p.parseOperand("a value")
	if err != nil {
		return nil, err
	}
	if err := checkOrdered(between, x, lo, hi); err != nil {
		return nil, err
	}
	if !not && isNumber(lo) && isNumber(hi) && compareNumbers(lo.lit, hi.lit) > 0 {
		// As RocketMQ: an empty range is surely a mistake (NOT BETWEEN it is not checked).
		return nil, syntaxErrorf(lo.pos, "BETWEEN %s AND %s can never be true: write the lower bound first", lo, hi)
	}
	return &betweenNode{not: not, x: x, lo: lo, hi: hi}, nil
}

func (p *parser) parseIn(x operand, not bool) (node, error) {
	in := p.next()
	if !x.isProperty {
		return nil, syntaxErrorf(x.pos, "IN needs a property on its left, not %s", x)
	}
	if p.peek().kind != tokLParen {
		return nil, p.unexpected("'('")
	}
	p.next()
	n := &inNode{not: not, name: x.name, set: map[string]struct{}{}}
	for {
		s := p.peek()
		if s.kind != tokString {
			return nil, p.unexpected("a string (IN lists strings)")
		}
		if len(n.items) == MaxInItems {
			return nil, syntaxErrorf(s.pos, "the IN list at %d has more than %d strings", in.pos, MaxInItems)
		}
		p.next()
		n.items = append(n.items, s.text)
		n.set[s.text] = struct{}{}
		if p.peek().kind == tokRParen {
			p.next()
			return n, nil
		}
		if p.peek().kind != tokComma {
			return nil, p.unexpected("',' or ')'")
		}
		p.next()
	}
}

// parseOperand parses a property or a literal; want names what the caller expects, for
// the error when there is neither.
func (p *parser) parseOperand(want string) (operand, error) {
	t := p.peek()
	switch t.kind {
	case tokIdent:
		p.next()
		return operand{pos: t.pos, isProperty: true, name: t.text}, nil
	case tokString:
		p.next()
		return operand{pos: t.pos, lit: value{kind: kindString, s: t.text}}, nil
	case tokTrue, tokFalse:
		p.next()
		return operand{pos: t.pos, lit: value{kind: kindBool, b: t.kind == tokTrue}}, nil
	case tokInt, tokFloat:
		p.next()
		return number(t, "", t.pos)
	case tokPlus, tokMinus:
		p.next()
		n := p.peek()
		if n.kind != tokInt && n.kind != tokFloat {
			return operand{}, p.unexpected("a number")
		}
		p.next()
		return number(n, punctuation[t.kind], t.pos)
	case tokNull:
		return operand{}, syntaxErrorf(t.pos, "NULL is no value to compare: write x IS NULL or x IS NOT NULL")
	}
	return operand{}, p.unexpected(want)
}

// number makes the operand of a number token, with its sign ("", "+" or "-") and the
// offset where the sign, or the number, starts.
func number(t token, sign string, pos int) (operand, error) {
	text := sign + t.text
	if t.kind == tokInt {
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return operand{}, syntaxErrorf(pos, "the integer %s does not fit in 64 bits", text)
		}
		return operand{pos: pos, lit: value{kind: kindInt, i: i}}, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return operand{}, syntaxErrorf(pos, "the number %s is out of the range of a float64", text)
	}
	return operand{pos: pos, lit: value{kind: kindFloat, f: f}}, nil
}

// checkOrdered rejects a string or boolean literal beside an ordering operator (<, <=,
// >, >=, BETWEEN), as RocketMQ does: only numbers have an order.
func checkOrdered(op token, operands ...operand) error {
	for _, o := range operands {
		if !o.isProperty && o.lit.kind != kindInt && o.lit.kind != kindFloat {
			return syntaxErrorf(o.pos, "%s compares numbers, not %s", op.describe(), o)
		}
	}
	return nil
}

func isNumber(o operand) bool {
	return !o.isProperty && (o.lit.kind == kindInt || o.lit.kind == kindFloat)
}
