package sqlfilter

import (
	"cmp"
	"math"
	"strconv"
	"strings"
)

// truth is a value of SQL's three-valued logic.
type truth uint8

const (
	no truth = iota
	yes
	unknown
)

func truthOf(b bool) truth {
	if b {
		return yes
	}
	return no
}

// not is three-valued NOT: unknown stays unknown.
func (t truth) not() truth {
	switch t {
	case yes:
		return no
	case no:
		return yes
	}
	return unknown
}

// lookup finds a message property; ok is false when the message has none.
type lookup = func(name string) (string, bool)

// node is one part of a parsed expression.
type node interface {
	// eval decides the node for one message.
	eval(prop lookup) truth
	// format writes the node in canonical form.
	format(b *strings.Builder)
}

// valueKind is the type of a value.
type valueKind uint8

const (
	kindString valueKind = iota
	kindInt
	kindFloat
	kindBool
)

// value is a non-NULL value: a literal, or a property's text.
type value struct {
	kind valueKind
	s    string
	i    int64
	f    float64
	b    bool
}

// operand is one side of a comparison: a property or a literal.
type operand struct {
	// pos is where the operand starts in the expression, for parse errors.
	pos        int
	isProperty bool
	name       string // the property's name
	lit        value  // the literal, when not a property
}

// get returns the operand's value for a message; ok is false when it is NULL.
func (o *operand) get(prop lookup) (value, bool) {
	if !o.isProperty {
		return o.lit, true
	}
	s, ok := prop(o.name)
	return value{kind: kindString, s: s}, ok
}

// String writes the operand as the expression would.
func (o operand) String() string {
	if o.isProperty {
		return o.name
	}
	switch o.lit.kind {
	case kindString:
		return quote(o.lit.s)
	case kindInt:
		return strconv.FormatInt(o.lit.i, 10)
	case kindFloat:
		s := strconv.FormatFloat(o.lit.f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0" // stays a decimal when parsed again
		}
		return s
	}
	if o.lit.b {
		return "TRUE"
	}
	return "FALSE"
}

// constNode is TRUE or FALSE alone.
type constNode bool

func (n constNode) eval(lookup) truth { return truthOf(bool(n)) }

func (n constNode) format(b *strings.Builder) {
	if n {
		b.WriteString("TRUE")
	} else {
		b.WriteString("FALSE")
	}
}

// andNode is a chain of ANDs; Parse flattens nested ones.
type andNode struct{ xs []node }

// add appends x, splicing in the operands of an AND.
func (n *andNode) add(x node) {
	if a, ok := x.(*andNode); ok {
		n.xs = append(n.xs, a.xs...)
		return
	}
	n.xs = append(n.xs, x)
}

func (n *andNode) eval(prop lookup) truth {
	t := yes
	for _, x := range n.xs {
		switch x.eval(prop) {
		case no:
			return no
		case unknown:
			t = unknown
		}
	}
	return t
}

func (n *andNode) format(b *strings.Builder) {
	for i, x := range n.xs {
		if i > 0 {
			b.WriteString(" AND ")
		}
		_, isOr := x.(*orNode)
		formatParens(b, x, isOr)
	}
}

// orNode is a chain of ORs; Parse flattens nested ones.
type orNode struct{ xs []node }

// add appends x, splicing in the operands of an OR.
func (n *orNode) add(x node) {
	if o, ok := x.(*orNode); ok {
		n.xs = append(n.xs, o.xs...)
		return
	}
	n.xs = append(n.xs, x)
}

func (n *orNode) eval(prop lookup) truth {
	t := no
	for _, x := range n.xs {
		switch x.eval(prop) {
		case yes:
			return yes
		case unknown:
			t = unknown
		}
	}
	return t
}

func (n *orNode) format(b *strings.Builder) {
	for i, x := range n.xs {
		if i > 0 {
			b.WriteString(" OR ")
		}
		x.format(b) // an AND binds tighter, and ORs are flattened
	}
}

// notNode is NOT x.
type notNode struct{ x node }

func (n *notNode) eval(prop lookup) truth { return n.x.eval(prop).not() }

func (n *notNode) format(b *strings.Builder) {
	b.WriteString("NOT ")
	_, isAnd := n.x.(*andNode)
	_, isOr := n.x.(*orNode)
	formatParens(b, n.x, isAnd || isOr)
}

func formatParens(b *strings.Builder, x node, parens bool) {
	if parens {
		b.WriteByte('(')
	}
	x.format(b)
	if parens {
		b.WriteByte(')')
	}
}

// compareNode is x op y, op one of = <> < <= > >=.
type compareNode struct {
	op   tokenKind
	x, y operand
}

func (n *compareNode) eval(prop lookup) truth {
	x, ok := n.x.get(prop)
	if !ok {
		return unknown
	}
	y, ok := n.y.get(prop)
	if !ok {
		return unknown
	}
	return compare(n.op, x, y)
}

func (n *compareNode) format(b *strings.Builder) {
	b.WriteString(n.x.String())
	b.WriteByte(' ')
	b.WriteString(punctuation[n.op])
	b.WriteByte(' ')
	b.WriteString(n.y.String())
}

// betweenNode is x [NOT] BETWEEN lo AND hi.
type betweenNode struct {
	not       bool
	x, lo, hi operand
}

func (n *betweenNode) eval(prop lookup) truth {
	x, ok := n.x.get(prop)
	if !ok {
		return unknown
	}
	lo, ok := n.lo.get(prop)
	if !ok {
		return unknown
	}
	hi, ok := n.hi.get(prop)
	if !ok {
		return unknown
	}
	if n.not {
		// x < lo OR x > hi
		a, b := compare(tokLt, x, lo), compare(tokGt, x, hi)
		if a == yes || b == yes {
			return yes
		}
		if a == unknown || b == unknown {
			return unknown
		}
		return no
	}
	// x >= lo AND x <= hi
	a, b := compare(tokGe, x, lo), compare(tokLe, x, hi)
	if a == no || b == no {
		return no
	}
	if a == unknown || b == unknown {
		return unknown
	}
	return yes
}

func (n *betweenNode) format(b *strings.Builder) {
	b.WriteString(n.x.String())
	if n.not {
		b.WriteString(" NOT")
	}
	b.WriteString(" BETWEEN ")
	b.WriteString(n.lo.String())
	b.WriteString(" AND ")
	b.WriteString(n.hi.String())
}

// inNode is name [NOT] IN (items...).
type inNode struct {
	not   bool
	name  string
	items []string            // as written, for format
	set   map[string]struct{} // the items, for eval
}

func (n *inNode) eval(prop lookup) truth {
	s, ok := prop(n.name)
	if !ok {
		return unknown
	}
	_, found := n.set[s]
	return truthOf(found != n.not)
}

func (n *inNode) format(b *strings.Builder) {
	b.WriteString(n.name)
	if n.not {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (")
	for i, s := range n.items {
		if i > 0 {
			b.WriteByte(',') // no space: a list of MaxInItems short strings stays under MaxLength
		}
		b.WriteString(quote(s))
	}
	b.WriteByte(')')
}

// nullNode is x IS [NOT] NULL: never unknown.
type nullNode struct {
	not bool
	x   operand
}

func (n *nullNode) eval(prop lookup) truth {
	_, ok := n.x.get(prop)
	return truthOf(ok == n.not)
}

func (n *nullNode) format(b *strings.Builder) {
	b.WriteString(n.x.String())
	if n.not {
		b.WriteString(" IS NOT NULL")
	} else {
		b.WriteString(" IS NULL")
	}
}

// textNode is x [NOT] CONTAINS, STARTSWITH or ENDSWITH s.
type textNode struct {
	op  tokenKind
	not bool
	x   operand
	s   string
}

func (n *textNode) eval(prop lookup) truth {
	x, ok := n.x.get(prop)
	if !ok || x.kind != kindString || n.s == "" {
		return unknown
	}
	var found bool
	switch n.op {
	case tokContains:
		found = strings.Contains(x.s, n.s)
	case tokStartsWith:
		found = strings.HasPrefix(x.s, n.s)
	default:
		found = strings.HasSuffix(x.s, n.s)
	}
	return truthOf(found != n.not)
}

func (n *textNode) format(b *strings.Builder) {
	b.WriteString(n.x.String())
	if n.not {
		b.WriteString(" NOT")
	}
	switch n.op {
	case tokContains:
		b.WriteString(" CONTAINS ")
	case tokStartsWith:
		b.WriteString(" STARTSWITH ")
	default:
		b.WriteString(" ENDSWITH ")
	}
	b.WriteString(quote(n.s))
}

// compare applies op to two non-NULL values. A string beside a number or a boolean is
// read as one first; two strings compare as text for = and <>, as numbers otherwise.
// Values that cannot be brought to one kind compare as unknown.
func compare(op tokenKind, x, y value) truth {
	equality := op == tokEq || op == tokNe
	if x.kind == kindString && y.kind == kindString {
		if equality {
			return truthOf((x.s == y.s) == (op == tokEq))
		}
		var ok bool
		if x, ok = parseNumber(x.s); !ok {
			return unknown
		}
		if y, ok = parseNumber(y.s); !ok {
			return unknown
		}
	}
	var ok bool
	if x.kind == kindString {
		if x, ok = convert(x.s, y.kind); !ok {
			return unknown
		}
	}
	if y.kind == kindString {
		if y, ok = convert(y.s, x.kind); !ok {
			return unknown
		}
	}
	var c int
	switch {
	case x.kind == kindBool && y.kind == kindBool:
		if !equality {
			return unknown // Parse rejects ordering a boolean literal
		}
		return truthOf((x.b == y.b) == (op == tokEq))
	case x.kind == kindBool || y.kind == kindBool:
		return unknown // a number and a boolean
	default:
		c = compareNumbers(x, y)
	}
	switch op {
	case tokEq:
		return truthOf(c == 0)
	case tokNe:
		return truthOf(c != 0)
	case tokLt:
		return truthOf(c < 0)
	case tokLe:
		return truthOf(c <= 0)
	case tokGt:
		return truthOf(c > 0)
	default:
		return truthOf(c >= 0)
	}
}

// compareNumbers compares two numeric values: exactly when both are integers, as float64
// otherwise (as Java does when RocketMQ compares a long with a double).
func compareNumbers(x, y value) int {
	if x.kind == kindInt && y.kind == kindInt {
		return cmp.Compare(x.i, y.i)
	}
	return cmp.Compare(x.float(), y.float())
}

func (v value) float() float64 {
	if v.kind == kindInt {
		return float64(v.i)
	}
	return v.f
}

// convert reads s as a value of the given kind (any number for a numeric kind).
func convert(s string, kind valueKind) (value, bool) {
	switch kind {
	case kindInt, kindFloat:
		return parseNumber(s)
	case kindBool:
		switch {
		case strings.EqualFold(s, "true"):
			return value{kind: kindBool, b: true}, true
		case strings.EqualFold(s, "false"):
			return value{kind: kindBool, b: false}, true
		}
		return value{}, false
	}
	return value{kind: kindString, s: s}, true
}

// parseNumber reads a property's text as a decimal number: an optional sign, digits with
// an optional fraction, an optional exponent. It checks the syntax and the range itself
// and calls strconv only for decimals that fit, so Match allocates no error.
func parseNumber(s string) (value, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	// magnitude counts the digits before the point, from the first non-zero one, minus the
	// zeros after the point before the first non-zero digit: v < 10^magnitude.
	digits, magnitude, nonZero := 0, 0, false
	var n uint64 // the integer, while it fits
	fits := true
	for ; i < len(s) && isDigit(s[i]); i++ {
		digits++
		d := uint64(s[i] - '0')
		nonZero = nonZero || d != 0
		if nonZero {
			magnitude++
		}
		if n > (math.MaxUint64-d)/10 {
			fits = false
		} else {
			n = n*10 + d
		}
	}
	integer := true
	if i < len(s) && s[i] == '.' {
		integer = false
		for i++; i < len(s) && isDigit(s[i]); i++ {
			digits++
			if !nonZero && s[i] == '0' {
				magnitude--
			}
			nonZero = nonZero || s[i] != '0'
		}
	}
	if digits == 0 {
		return value{}, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			return value{}, false
		}
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp < 100000 { // far beyond float64 either way
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return value{}, false
	}
	if integer && fits {
		switch {
		case !neg && n <= math.MaxInt64:
			return value{kind: kindInt, i: int64(n)}, true
		case neg && n <= 1<<63:
			return value{kind: kindInt, i: int64(-n)}, true // -(1<<63) wraps to MinInt64
		}
		// Beyond int64: compare as a float64, as a decimal would be.
	}
	if nonZero && magnitude+exp > 309 {
		return value{}, false // at least 1e309: beyond float64
	}
	// Below 1e309 (above 1.8e308 only in a narrow band), so strconv rarely fails here.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return value{}, false
	}
	return value{kind: kindFloat, f: f}, true
}
