package sqlfilter

import (
	"errors"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// props is a message's properties; a name not in the map is absent.
type props map[string]string

func (p props) lookup(name string) (string, bool) {
	v, ok := p[name]
	return v, ok
}

type matchCase struct {
	expr  string
	props props
	want  bool
}

// matchCases are expressions against property sets, grouped by what they exercise.
var matchCases = []matchCase{
	// Numbers: the property is read as a number to compare with a numeric literal.
	{"a > 5", props{"a": "10"}, true},
	{"a > 5", props{"a": "5"}, false},
	{"a >= 5", props{"a": "5"}, true},
	{"a < 5", props{"a": "5"}, false},
	{"a <= 5", props{"a": "5"}, true},
	{"a > 5", props{"a": "5.5"}, true},
	{"a < 5.5", props{"a": "5"}, true},
	{"a > 5", props{"a": "abc"}, false},
	{"a > 5", props{"a": ""}, false},
	{"a > 5", props{}, false},
	{"a = 10", props{"a": "10"}, true},
	{"a = 10", props{"a": "10.0"}, true},
	{"a = 10", props{"a": "+10"}, true},
	{"a = 10", props{"a": "1e1"}, true},
	{"a = 10", props{"a": " 10"}, false}, // not a number: no spaces
	{"a = 10", props{"a": "0x0a"}, false},
	{"a = 10", props{"a": "1_0"}, false},
	{"a > 1", props{"a": "Infinity"}, false},
	{"a > 1", props{"a": "NaN"}, false},
	{"a > 1", props{"a": "1e400"}, false},   // beyond float64
	{"a > 1", props{"a": "1.8e308"}, false}, // beyond float64 by a little
	{"a > 1", props{"a": "1e308"}, true},
	{"a > 1", props{"a": "99999999999999999999"}, true}, // beyond int64: a float64
	{"a < 0", props{"a": "-9223372036854775808"}, true},
	{"a = 0", props{"a": "-0"}, true},
	{"a = 0", props{"a": "0e99999"}, true},
	{"a = 0", props{"a": "1e-400"}, true}, // below float64: rounds to 0
	{"a > 1", props{"a": "1e"}, false},
	{"a > 1", props{"a": "-"}, false},
	{"a > 1", props{"a": "."}, false},
	{"a > 1", props{"a": "2."}, true},
	{"a < 1", props{"a": ".5"}, true},
	{"a <> 10", props{"a": "11"}, true},
	{"a <> 10", props{"a": "10"}, false},
	{"a <> 10", props{"a": "abc"}, false}, // unknown, not true
	{"a <> 10", props{}, false},
	{"a = -3", props{"a": "-3"}, true},
	{"a > -5", props{"a": "-4"}, true},
	{"a > - 5", props{"a": "-4"}, true},
	{"a = +3", props{"a": "3"}, true},
	{"a = 1e3", props{"a": "1000"}, true},
	{"a = 1E+3", props{"a": "1000"}, true},
	{"a = .5e-1", props{"a": "0.05"}, true},
	{"a = 5L", props{"a": "5"}, true},
	{"a > 9223372036854775806", props{"a": "9223372036854775807"}, true}, // exact for integers
	{"a = -9223372036854775808", props{"a": "-9223372036854775808"}, true},
	{"a > 9223372036854775807", props{"a": "9223372036854775808"}, false}, // as float64 both are 2^63
	{"a > b", props{"a": "2", "b": "1"}, true},
	{"a > b", props{"a": "2", "b": "x"}, false},
	{"a > b", props{"a": "2"}, false},
	{"5 < a", props{"a": "6"}, true},
	{"1 < 2", props{}, true},
	{"1 = 1.0", props{}, true},

	// Strings: only = and <> compare text.
	{"b = 'abc'", props{"b": "abc"}, true},
	{"b = 'abc'", props{"b": "ABC"}, false},
	{"b = 'abc'", props{}, false},
	{"b <> 'abc'", props{"b": "x"}, true},
	{"b <> 'abc'", props{"b": "abc"}, false},
	{"b <> 'abc'", props{}, false},
	{"b = 'it''s'", props{"b": "it's"}, true},
	{"b = ''", props{"b": ""}, true},
	{"b = ''", props{}, false},
	{"b = '5'", props{"b": "5.0"}, false}, // text, not numbers
	{"b = 'héllo wörld'", props{"b": "héllo wörld"}, true},
	{"a = b", props{"a": "x", "b": "x"}, true},
	{"a = b", props{"a": "5", "b": "5.0"}, false},
	{"a <> b", props{"a": "x"}, false},
	{"'5' = 5", props{}, true},
	{"'x' = 5", props{}, false},

	// Booleans: a property true or false, in any case, compared with TRUE or FALSE.
	{"flag = TRUE", props{"flag": "true"}, true},
	{"flag = TRUE", props{"flag": "TRUE"}, true},
	{"flag = true", props{"flag": "True"}, true},
	{"flag = TRUE", props{"flag": "false"}, false},
	{"flag = TRUE", props{"flag": "yes"}, false},
	{"flag = TRUE", props{"flag": "1"}, false},
	{"flag = TRUE", props{}, false},
	{"flag <> TRUE", props{"flag": "false"}, true},
	{"flag <> TRUE", props{"flag": "yes"}, false}, // unknown
	{"flag = FALSE", props{"flag": "False"}, true},
	{"TRUE = flag", props{"flag": "true"}, true},
	{"TRUE", props{}, true},
	{"FALSE", props{}, false},
	{"NOT FALSE", props{}, true},
	{"TRUE AND a = 1", props{"a": "1"}, true},
	{"FALSE OR a = 1", props{"a": "1"}, true},
	{"TRUE = TRUE", props{}, true},
	{"TRUE <> FALSE", props{}, true},
	{"1 = TRUE", props{}, false},
	{"1 <> TRUE", props{}, false},

	// NULL and three-valued logic.
	{"a IS NULL", props{}, true},
	{"a IS NULL", props{"a": ""}, false},
	{"a IS NOT NULL", props{"a": ""}, true},
	{"a IS NOT NULL", props{}, false},
	{"'x' IS NULL", props{}, false},
	{"NOT a = 1", props{}, false}, // NOT unknown is unknown
	{"NOT a = 1", props{"a": "2"}, true},
	{"NOT a = 1", props{"a": "1"}, false},
	{"NOT (a = 1)", props{}, false},
	{"NOT NOT a = 1", props{}, false},
	{"NOT NOT a = 1", props{"a": "1"}, true},
	{"NOT a IS NULL", props{}, false},
	{"NOT a IS NULL", props{"a": "x"}, true},
	{"a = 1 OR b = 2", props{"b": "2"}, true},         // unknown OR true
	{"a = 1 OR b = 2", props{"b": "3"}, false},        // unknown OR false
	{"a = 1 AND b = 2", props{"b": "3"}, false},       // unknown AND false
	{"a = 1 AND b = 2", props{"b": "2"}, false},       // unknown AND true
	{"NOT (a = 1 AND b = 2)", props{"b": "3"}, true},  // NOT (unknown AND false)
	{"NOT (a = 1 AND b = 2)", props{"b": "2"}, false}, // NOT (unknown AND true)
	{"NOT (a = 1 OR b = 2)", props{"b": "3"}, false},  // NOT (unknown OR false)
	{"NOT (a = 1 OR b = 2)", props{"a": "0", "b": "3"}, true},
	{"a > 1 OR a IS NULL", props{}, true},
	{"a > 1 OR a IS NULL", props{"a": "0"}, false},
	{"a = 1 AND b = 2", props{"a": "1", "b": "2"}, true},

	// Precedence: NOT, then AND, then OR.
	{"a = 1 OR b = 1 AND c = 1", props{"a": "1"}, true},
	{"a = 1 OR b = 1 AND c = 1", props{"b": "1"}, false},
	{"a = 1 OR b = 1 AND c = 1", props{"b": "1", "c": "1"}, true},
	{"(a = 1 OR b = 1) AND c = 1", props{"a": "1"}, false},
	{"(a = 1 OR b = 1) AND c = 1", props{"a": "1", "c": "1"}, true},
	{"NOT a = 1 AND b = 1", props{"a": "2", "b": "1"}, true},
	{"NOT a = 1 AND b = 1", props{"a": "1", "b": "1"}, false},
	{"NOT a = 1 OR b = 1", props{"a": "1", "b": "1"}, true},
	{"NOT (a = 1 OR b = 1)", props{"a": "2", "b": "2"}, true},
	{"a = 1 and B = 2", props{"a": "1", "B": "2"}, true},  // keywords in any case
	{"a = 1 and B = 2", props{"a": "1", "b": "2"}, false}, // names are case-sensitive
	{"((((a = 1))))", props{"a": "1"}, true},

	// BETWEEN includes both bounds.
	{"a BETWEEN 1 AND 5", props{"a": "1"}, true},
	{"a BETWEEN 1 AND 5", props{"a": "5"}, true},
	{"a BETWEEN 1 AND 5", props{"a": "3.5"}, true},
	{"a BETWEEN 1 AND 5", props{"a": "0"}, false},
	{"a BETWEEN 1 AND 5", props{"a": "6"}, false},
	{"a BETWEEN 1 AND 5", props{"a": "5.01"}, false},
	{"a BETWEEN 1 AND 5", props{"a": "x"}, false},
	{"a BETWEEN 1 AND 5", props{}, false},
	{"a BETWEEN 5 AND 5", props{"a": "5"}, true},
	{"a NOT BETWEEN 1 AND 5", props{"a": "1"}, false},
	{"a NOT BETWEEN 1 AND 5", props{"a": "5"}, false},
	{"a NOT BETWEEN 1 AND 5", props{"a": "0"}, true},
	{"a NOT BETWEEN 1 AND 5", props{"a": "6"}, true},
	{"a NOT BETWEEN 1 AND 5", props{"a": "x"}, false},
	{"a NOT BETWEEN 1 AND 5", props{}, false},
	{"a NOT BETWEEN 5 AND 1", props{"a": "3"}, true}, // not checked, as in RocketMQ
	{"a BETWEEN -1.5 AND 1e1", props{"a": "-1.5"}, true},
	{"a BETWEEN -1.5 AND 1e1", props{"a": "10"}, true},
	{"a BETWEEN -1.5 AND 1e1", props{"a": "10.01"}, false},
	{"a BETWEEN 1 AND 5 AND b = 1", props{"a": "3", "b": "1"}, true},
	{"a BETWEEN 1 AND 5 AND b = 1", props{"a": "3", "b": "2"}, false},
	{"a BETWEEN lo AND hi", props{"a": "3", "lo": "1", "hi": "5"}, true},
	{"a BETWEEN lo AND hi", props{"a": "3", "lo": "1"}, false},
	{"a BETWEEN lo AND 2", props{"a": "3", "lo": "1"}, false},
	{"a NOT BETWEEN lo AND 2", props{"a": "3", "lo": "x"}, true}, // unknown OR true

	// IN compares text.
	{"region IN ('eu', 'us')", props{"region": "eu"}, true},
	{"region IN ('eu', 'us')", props{"region": "us"}, true},
	{"region IN ('eu', 'us')", props{"region": "EU"}, false},
	{"region IN ('eu', 'us')", props{"region": ""}, false},
	{"region IN ('eu', 'us')", props{}, false},
	{"region NOT IN ('eu', 'us')", props{"region": "asia"}, true},
	{"region NOT IN ('eu', 'us')", props{"region": "eu"}, false},
	{"region NOT IN ('eu', 'us')", props{}, false},
	{"region IN ('')", props{"region": ""}, true},
	{"n IN ('1', '2')", props{"n": "1.0"}, false},

	// CONTAINS, STARTSWITH, ENDSWITH and their NOT forms.
	{"b CONTAINS 'bc'", props{"b": "abcd"}, true},
	{"b CONTAINS 'bc'", props{"b": "xyz"}, false},
	{"b CONTAINS 'bc'", props{}, false},
	{"b NOT CONTAINS 'bc'", props{"b": "xyz"}, true},
	{"b NOT CONTAINS 'bc'", props{"b": "abc"}, false},
	{"b NOT CONTAINS 'bc'", props{}, false},
	{"NOT b CONTAINS 'bc'", props{}, false},
	{"NOT b CONTAINS 'bc'", props{"b": "xyz"}, true},
	{"b STARTSWITH 'ab'", props{"b": "abc"}, true},
	{"b STARTSWITH 'ab'", props{"b": "cab"}, false},
	{"b NOT STARTSWITH 'ab'", props{"b": "cab"}, true},
	{"b NOT STARTSWITH 'ab'", props{"b": "abc"}, false},
	{"b ENDSWITH 'bc'", props{"b": "abc"}, true},
	{"b ENDSWITH 'bc'", props{"b": "bca"}, false},
	{"b NOT ENDSWITH 'bc'", props{"b": "bca"}, true},
	{"b NOT ENDSWITH 'bc'", props{"b": "abc"}, false},
	{"b contains 'x' and b startsWith 'x' and b endswith 'x'", props{"b": "x"}, true},
	{"b CONTAINS ''", props{"b": "abc"}, false},     // RocketMQ: false
	{"b NOT CONTAINS ''", props{"b": "abc"}, false}, // RocketMQ: false too
	{"b STARTSWITH 'it''s'", props{"b": "it's me"}, true},
	{"'abc' CONTAINS 'b'", props{}, true},
	{"5 CONTAINS '5'", props{}, false},

	// TAGS is the message's tag, passed as a property.
	{"TAGS = 'TagA'", props{"TAGS": "TagA"}, true},
	{"TAGS = 'TagA'", props{"TAGS": "TagB"}, false},
	{"TAGS = 'TagA'", props{}, false},
	{"TAGS IS NULL", props{}, true},
	{"TAGS IN ('TagA', 'TagB') AND a BETWEEN 4 AND 7", props{"TAGS": "TagB", "a": "4"}, true},
	{"(TAGS IS NOT NULL AND TAGS IN ('TagA', 'TagB')) AND (a IS NOT NULL AND a BETWEEN 0 AND 3)", props{"TAGS": "TagA", "a": "3"}, true},
	{"a > 5 AND region IN ('eu', 'us') AND TAGS = 'TagA'", props{"a": "6", "region": "us", "TAGS": "TagA"}, true},
	{"a > 5 AND region IN ('eu', 'us') AND TAGS = 'TagA'", props{"a": "6", "region": "us"}, false},

	// Names, comments and spacing.
	{"user.id = 'x'", props{"user.id": "x"}, true},
	{"$a_1 = 1", props{"$a_1": "1"}, true},
	{"_ = 1", props{"_": "1"}, true},
	{"a = 1 -- a comment", props{"a": "1"}, true},
	{"-- first\na = 1", props{"a": "1"}, true},
	{"/* x */ a\t=\n1 /**/", props{"a": "1"}, true},
}

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, c := range matchCases {
		f, err := Parse(c.expr)
		require.NoError(t, err, c.expr)
		require.Equal(t, c.want, f.Match(c.props.lookup), "%s with %v", c.expr, c.props)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, want string }{
		{"", "at 0: the expression is empty"},
		{" \t-- nothing\n", "at 0: the expression is empty"},
		{"a >", "at 3: expected a value after '>'"},
		{"region = 'eu' AND a >", "at 21: expected a value after '>'"},
		{"a > AND b = 1", "at 4: expected a value after '>', found AND"},
		{"a = 1 AND", "at 9: expected a condition after AND"},
		{"AND a = 1", "at 0: expected a condition, found AND"},
		{"a = 1 OR OR b = 1", "at 9: expected a condition after OR, found OR"},
		{"NOT", "at 3: expected a condition after NOT"},
		{"a", "at 1: expected a comparison after property a"},
		{"'x'", "at 3: expected a comparison after the string 'x'"},
		{"5", "at 1: expected a comparison after the number 5"},
		{"a = 1 b = 2", "at 6: expected AND, OR or the end after the number 1, found property b"},
		{"a = 1 = 2", "at 6: expected AND, OR or the end after the number 1, found '='"},
		{"(a = 1", "at 6: the '(' at 0 is not closed"},
		{"(a = 1 b", "at 7: expected AND, OR or ')' after the number 1, found property b"},
		{"a = 1)", "at 5: ')' closes no '('"},
		{"()", "at 1: expected a condition after '(', found ')'"},
		{"(a) = 1", "at 2: expected a comparison after property a, found ')'"},
		{"a NOT = 1", "at 6: expected BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT, found '='"},
		{"a IS 1", "at 5: expected NULL after IS, found the number 1"},
		{"a IS NOT 1", "at 9: expected NULL after NOT, found the number 1"},
		{"a = NULL", "at 4: NULL is no value to compare: write x IS NULL or x IS NOT NULL"},
		{"a <> null", "at 5: NULL is no value to compare: write x IS NULL or x IS NOT NULL"},
		{"a > 'x'", "at 4: '>' compares numbers, not 'x'"},
		{"'x' <= a", "at 0: '<=' compares numbers, not 'x'"},
		{"a < TRUE", "at 4: '<' compares numbers, not TRUE"},
		{"a BETWEEN 'a' AND 'z'", "at 10: BETWEEN compares numbers, not 'a'"},
		{"a NOT BETWEEN 1 AND FALSE", "at 20: BETWEEN compares numbers, not FALSE"},
		{"a BETWEEN 5 AND 1", "at 10: BETWEEN 5 AND 1 can never be true: write the lower bound first"},
		{"a BETWEEN 1 5", "at 12: expected AND after the number 1, found the number 5"},
		{"a IN (1)", "at 6: expected a string (IN lists strings) after '(', found the number 1"},
		{"a IN ()", "at 6: expected a string (IN lists strings) after '(', found ')'"},
		{"a IN 'x'", "at 5: expected '(' after IN, found the string 'x'"},
		{"a IN ('x' 'y')", "at 10: expected ',' or ')' after the string 'x', found the string 'y'"},
		{"a IN ('x',)", "at 10: expected a string (IN lists strings) after ',', found ')'"},
		{"a IN ('x'", "at 9: expected ',' or ')' after the string 'x'"},
		{"'x' IN ('x')", "at 0: IN needs a property on its left, not 'x'"},
		{"a CONTAINS 1", "at 11: expected a string after CONTAINS, found the number 1"},
		{"a NOT STARTSWITH b", "at 17: expected a string after STARTSWITH, found property b"},
		{"a != 1", "at 2: '!=' is not SQL: write <> for not equal"},
		{`a = "x"`, `at 4: strings are quoted with ', not "`},
		{"a = 'x", "at 4: the string is not closed with '"},
		{"a = 'it''s", "at 4: the string is not closed with '"},
		{"/* x", "at 0: the comment is not closed with */"},
		{"a = 1e", "at 5: the exponent of the number 1 has no digits"},
		{"a = 1e+", "at 5: the exponent of the number 1 has no digits"},
		{"a = 5x", "at 5: unexpected character 'x' right after the number 5"},
		{"a=1AND b=2", "at 3: unexpected character 'A' right after the number 1"},
		{"a = 1.5.5", "at 7: unexpected character '.' right after the number 1.5"},
		{"a = 1.5L", "at 7: unexpected character 'L' right after the number 1.5"},
		{"a = 99999999999999999999", "at 4: the integer 99999999999999999999 does not fit in 64 bits"},
		{"a = -9223372036854775809", "at 4: the integer -9223372036854775809 does not fit in 64 bits"},
		{"a = 1e999", "at 4: the number 1e999 is out of the range of a float64"},
		{"a = - b", "at 6: expected a number after '-', found property b"},
		{"a = --1", "at 7: expected a value after '='"}, // -- starts a comment, as in RocketMQ
		{"a-b = 1", "at 1: expected a comparison after property a, found '-'"},
		{"a # 1", "at 2: unexpected character '#'"},
		{"a = \xff", "at 4: unexpected byte 0xff"},
		{"é = 1", "at 0: unexpected character 'é'"},
		{"a.b = 1 AND in = 2", "at 12: expected a condition after AND, found IN"},
	}
	for _, c := range cases {
		f, err := Parse(c.expr)
		require.Error(t, err, "%q parsed as %v", c.expr, f)
		require.Equal(t, "sql filter: "+c.want, err.Error(), "%q", c.expr)
		var se *SyntaxError
		require.True(t, errors.As(err, &se))
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()

	long := "a = '" + strings.Repeat("x", MaxLength-6) + "'"
	require.Len(t, long, MaxLength)
	_, err := Parse(long)
	require.NoError(t, err)
	_, err = Parse(long + " ")
	require.EqualError(t, err, "sql filter: at 4096: the expression is 4097 bytes, more than the limit of 4096")

	nested := func(n int) string { return strings.Repeat("(", n) + "a = 1" + strings.Repeat(")", n) }
	_, err = Parse(nested(MaxDepth))
	require.NoError(t, err)
	_, err = Parse(nested(MaxDepth + 1))
	require.EqualError(t, err, "sql filter: at 64: parentheses and NOT nest more than 64 deep")
	_, err = Parse(strings.Repeat("NOT ", MaxDepth) + "a = 1")
	require.NoError(t, err)
	_, err = Parse(strings.Repeat("NOT ", MaxDepth+1) + "a = 1")
	require.EqualError(t, err, "sql filter: at 256: parentheses and NOT nest more than 64 deep")
	_, err = Parse(strings.Repeat("NOT (", MaxDepth/2) + "a = 1" + strings.Repeat(")", MaxDepth/2))
	require.NoError(t, err)
	_, err = Parse(strings.Repeat("NOT (", MaxDepth/2) + "NOT a = 1" + strings.Repeat(")", MaxDepth/2))
	require.ErrorContains(t, err, "nest more than 64 deep")
	// Deep nesting that ends early is still refused without recursing further.
	_, err = Parse(strings.Repeat("(", 2000))
	require.EqualError(t, err, "sql filter: at 64: parentheses and NOT nest more than 64 deep")

	list := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = "''"
		}
		return "a IN (" + strings.Join(items, ",") + ")"
	}
	f, err := Parse(list(MaxInItems))
	require.NoError(t, err)
	require.True(t, f.Match(props{"a": ""}.lookup))
	_, err = Parse(f.String())
	require.NoError(t, err)
	_, err = Parse(list(MaxInItems + 1))
	require.EqualError(t, err, "sql filter: at 3078: the IN list at 2 has more than 1024 strings")

	// Short enough as written, too long canonically (a=1e9 is a = 1e+09): String must
	// stay parseable, so Parse refuses it.
	compact := "a=1e9" + strings.Repeat(" OR a=1e9", 400)
	require.Less(t, len(compact), MaxLength)
	_, err = Parse(compact)
	require.EqualError(t, err, "sql filter: at 0: the expression is 5209 bytes when written canonically, more than the limit of 4096")

	// A long flat chain is a loop, not recursion.
	chain := "a = 1" + strings.Repeat(" OR a = 1", (MaxLength-5)/9)
	f, err = Parse(chain)
	require.NoError(t, err)
	require.True(t, f.Match(props{"a": "1"}.lookup))
	require.False(t, f.Match(props{"a": "2"}.lookup))
}

func TestString(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, want string }{
		{"a>5 and region in('eu' , 'us') and TAGS='TagA'", "a > 5 AND region IN ('eu','us') AND TAGS = 'TagA'"},
		{"not a=1 or (b=2 and (c=3 or d=4))", "NOT a = 1 OR b = 2 AND (c = 3 OR d = 4)"},
		{"(a = 1 AND b = 2) AND (c = 3 AND d = 4)", "a = 1 AND b = 2 AND c = 3 AND d = 4"},
		{"a = 1 OR (b = 2 OR c = 3)", "a = 1 OR b = 2 OR c = 3"},
		{"(a = 1 OR b = 2) AND c = 3", "(a = 1 OR b = 2) AND c = 3"},
		{"NOT (a = 1 AND b = 2)", "NOT (a = 1 AND b = 2)"},
		{"NOT (a = 1)", "NOT a = 1"},
		{"not not (a is null)", "NOT NOT a IS NULL"},
		{"((a = 1))", "a = 1"},
		{"a not between -1 and +2.50", "a NOT BETWEEN -1 AND 2.5"},
		{"a is not null", "a IS NOT NULL"},
		{"b not contains 'it''s' or b startswith 'x' or b endswith 'y'", "b NOT CONTAINS 'it''s' OR b STARTSWITH 'x' OR b ENDSWITH 'y'"},
		{"x = true or y <> false", "x = TRUE OR y <> FALSE"},
		{"true", "TRUE"},
		{"a = 5L", "a = 5"},
		{"a = 1e3", "a = 1000.0"},
		{"a = 1.0", "a = 1.0"},
		{"a = .5", "a = 0.5"},
		{"a = 1e21", "a = 1e+21"},
		{"a = 1.5e-7", "a = 1.5e-07"},
		{"a = -0.0", "a = -0.0"},
		{"a = -0", "a = 0"},
		{"a = 007", "a = 7"},
		{"a = -9223372036854775808", "a = -9223372036854775808"},
		{"a <= b", "a <= b"},
		{"a = 1 -- gone\n AND /* gone */ b = 2", "a = 1 AND b = 2"},
		{"a = '\n\x00\xff'", "a = '\n\x00\xff'"},
	}
	for _, c := range cases {
		f, err := Parse(c.expr)
		require.NoError(t, err, c.expr)
		require.Equal(t, c.want, f.String(), c.expr)
	}
}

// TestStringRoundTrip parses every match case's canonical form again: the same text, and
// the same answer.
func TestStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range matchCases {
		f, err := Parse(c.expr)
		if err != nil {
			continue
		}
		g, err := Parse(f.String())
		require.NoError(t, err, "%q from %q", f.String(), c.expr)
		require.Equal(t, f.String(), g.String(), "String is not a fixed point for %q", c.expr)
		require.Equal(t, f.Match(c.props.lookup), g.Match(c.props.lookup), "%q and %q disagree on %v", c.expr, f.String(), c.props)
	}
}

func TestZeroFilterMatchesNothing(t *testing.T) {
	t.Parallel()
	var f *Filter
	require.False(t, f.Match(props{}.lookup))
	require.Equal(t, "", f.String())
	require.False(t, (&Filter{}).Match(props{}.lookup))
}

func TestMatchDoesNotAllocate(t *testing.T) {
	f, err := Parse("a > 5 AND region IN ('eu', 'us') AND TAGS = 'TagA' AND b <> 'x' AND NOT c CONTAINS 'y' AND d BETWEEN 1.5 AND 9 AND e = TRUE AND z IS NULL")
	require.NoError(t, err)
	p := props{"a": "6", "region": "us", "TAGS": "TagA", "b": "y", "c": "x", "d": "2", "e": "true"}
	require.True(t, f.Match(p.lookup))
	lookup := p.lookup
	require.Zero(t, testing.AllocsPerRun(100, func() { f.Match(lookup) }))
	bad := props{"a": "not a number", "d": "1e999", "e": "maybe"}.lookup
	require.Zero(t, testing.AllocsPerRun(100, func() { f.Match(bad) }))
}

// fuzzValues are what a property may hold in FuzzParse (the first: absent).
var fuzzValues = []string{"", "0", "1", "-1", "5.5", "1e3", "9223372036854775807", "true", "FALSE", "abc", "it's", "TagA", "eu"}

// fuzzLookup gives every property name a value chosen by hashing it with seed, so that
// random expressions meet present, absent, numeric and textual properties alike.
func fuzzLookup(seed string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		h := fnv.New32a()
		h.Write([]byte(seed))
		h.Write([]byte{0})
		h.Write([]byte(name))
		i := int(h.Sum32() % uint32(len(fuzzValues)+1))
		if i == 0 {
			return "", false
		}
		return fuzzValues[i-1], true
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.expr, "seed")
	}
	for _, s := range []string{
		"", "(", ")", "NOT", "a IN (", "a BETWEEN 1 AND", "'", "/*", "--", "a = -", "a = 1e",
		"a = 9223372036854775808", "a = -9223372036854775808", "a = 1e308", "a = 4.9e-324",
		"((NOT (a = 1)) OR ((b = 2)))", "a IN ('x', 'y') AND NOT (b NOT BETWEEN -1 AND 1e2 OR c IS NOT NULL)",
	} {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, expr, seed string) {
		flt, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(expr) && se.Offset != MaxLength {
				t.Fatalf("%q: bad error %v", expr, err)
			}
			return
		}
		text := flt.String()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("%q: String %q does not parse: %v", expr, text, err)
		}
		if again.String() != text {
			t.Fatalf("%q: String is not a fixed point: %q, then %q", expr, text, again.String())
		}
		lookup := fuzzLookup(seed)
		if flt.Match(lookup) != again.Match(lookup) {
			t.Fatalf("%q and its String %q disagree", expr, text)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	f, err := Parse("a > 5 AND region IN ('eu', 'us') AND TAGS = 'TagA'")
	if err != nil {
		b.Fatal(err)
	}
	p := props{"a": "10", "region": "us", "TAGS": "TagA", "other": "x", "more": "y"}
	lookup := p.lookup
	if !f.Match(lookup) {
		b.Fatal("no match")
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Match(lookup)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("a > 5 AND region IN ('eu', 'us') AND TAGS = 'TagA'"); err != nil {
			b.Fatal(err)
		}
	}
}
