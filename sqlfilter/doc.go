// Package sqlfilter parses and evaluates the SQL92 filter expressions that RocketMQ
// consumers subscribe with instead of a tag expression, such as
//
//	a > 5 AND region IN ('eu', 'us') AND TAGS = 'TagA'
//
// [Parse] turns the text into a [Filter] once per subscription; [Filter.Match] then decides
// for each message, looking its properties up through a function, without allocating. The
// message's tag is the property TAGS: the caller's lookup function answers for it.
// [Filter.String] gives a canonical text that Parse accepts again and that is its own
// canonical form, so a subscription can be stored and compared as text.
//
// The package imports only the standard library.
//
// # Grammar
//
// Keywords are case-insensitive; property names are case-sensitive. Precedence, from
// loosest: OR, AND, NOT, then one predicate.
//
//	expr      = and { OR and }
//	and       = not { AND not }
//	not       = NOT not | "(" expr ")" | TRUE | FALSE | predicate
//	predicate = operand ( ("=" | "<>" | "<" | "<=" | ">" | ">=") operand
//	                    | [NOT] BETWEEN operand AND operand
//	                    | [NOT] IN "(" string { "," string } ")"
//	                    | IS [NOT] NULL
//	                    | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string )
//	operand   = property | string | ["+" | "-"] number | TRUE | FALSE
//
// A property name is [A-Za-z_$] followed by [A-Za-z0-9_$.]; a keyword (NOT, AND, OR,
// BETWEEN, IN, IS, NULL, TRUE, FALSE, CONTAINS, STARTSWITH, ENDSWITH) is never a property
// name. A string is single-quoted; two quotes in a row inside it stand for one. A number is an integer
// (digits, optionally followed by L, within int64) or a decimal (5.5, 5., .5, 5E10, 5.5e-3,
// as a float64). Spaces, tabs, line breaks, "-- to the end of the line" and "/* ... */" separate
// tokens.
//
// # Values and three-valued logic
//
// Property values are strings. An absent property is NULL. Every predicate is true, false
// or unknown, and AND, OR and NOT follow SQL's three-valued logic: false AND unknown is
// false, true OR unknown is true, NOT unknown is unknown. A message matches only when the
// whole expression is true; unknown counts as no match.
//
// A predicate with a NULL operand is unknown, except IS NULL and IS NOT NULL, which are
// always true or false. So `a <> 'x'`, `a NOT IN ('x')` and `NOT a = 'x'` all fail to match
// a message without the property a.
//
// Comparisons convert a string operand to the kind of the other side:
//   - string with string: = and <> compare the text, byte for byte. <, <=, >, >= (and
//     BETWEEN) compare two properties as numbers; if either is not a number, unknown.
//   - string with a number: the string is read as a decimal number (an optional sign,
//     digits, an optional fraction and exponent: no spaces, hex, NaN or Infinity); if it is
//     not one, unknown. Two integers compare exactly; otherwise both compare as float64.
//   - string with TRUE or FALSE: the string must be true or false in any case; anything
//     else is unknown.
//   - a number with a boolean: unknown.
//
// x BETWEEN a AND b is x >= a AND x <= b (both bounds included), and x NOT BETWEEN a AND b
// is x < a OR x > b. x IN (...) compares x's text with each string. CONTAINS, STARTSWITH
// and ENDSWITH test x's text; they are unknown when x is not a string or the string after
// them is empty.
//
// # Rules checked by Parse
//
// As in RocketMQ: a literal beside <, <=, >, >= or BETWEEN must be a number (ordering
// strings or booleans is an error); NULL is a value only after IS (x = NULL is an error);
// IN lists only strings and needs a property on its left; CONTAINS, STARTSWITH and ENDSWITH
// take a string; and x BETWEEN a AND b with two numbers needs a <= b (NOT BETWEEN is not
// checked). Beyond RocketMQ, a property alone is not a condition: RocketMQ accepts `a` and
// reads it as a boolean, which a string property never is, so it can never match.
//
// Limits against hostile input, each an error: an expression of at most [MaxLength] bytes,
// also when written canonically; at most [MaxDepth] levels of parentheses and NOT; at most
// [MaxInItems] strings in one IN list.
//
// # Where Floe differs from RocketMQ
//
// RocketMQ's parser (SelectorParser.jj, taken from ActiveMQ) and its evaluation leave some
// cases to Java's type conversions and exceptions. Floe decides them as SQL would:
//   - NOT binds looser than a comparison, so NOT a = 1 is NOT (a = 1). RocketMQ binds NOT
//     to the operand, so there it never matches.
//   - A property that is not a number, compared with a number, makes that predicate
//     unknown. RocketMQ throws, which drops the message even where the rest of the
//     expression would have matched it (a > 5 OR b = 'x' with a = 'abc', b = 'x').
//   - A decimal property compared with an integer is compared as numbers ('5.5' > 5 is
//     true); RocketMQ reads the property as a Java long there, fails and drops the message.
//   - A property that is neither true nor false compared with TRUE or FALSE is unknown;
//     RocketMQ reads any such string as false.
//   - CONTAINS, STARTSWITH and ENDSWITH (and their NOT forms) of an absent property, or
//     with an empty string, are unknown where RocketMQ says false. The two differ only
//     under an outer NOT: NOT (a CONTAINS 'x') does not match a message without a.
//   - A decimal literal may be 0.0 or smaller than 4.9e-324; RocketMQ rejects those.
//   - An operand may not stand in parentheses: (a) = 1 is an error, as there is no
//     arithmetic to group.
//   - A property name may contain dots (a.b), which the RocketMQ grammar we read does not
//     allow; like RocketMQ, it may not contain '-' or '/'.
package sqlfilter
