package admin

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

func TestSubscriptionFilter(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		topicType, filterType string
		expr                  *string
		typ, stored           string
		err                   string
	}{
		{metadata.TopicNormal, "", nil, "TAG", "*", ""},
		{metadata.TopicNormal, "tag", str(" a || b "), "TAG", "a || b", ""},
		{metadata.TopicNormal, "SQL92", str("a > 1"), "SQL92", "a > 1", ""},
		{metadata.TopicNormal, "SQL92", str(""), "", "", "an empty SQL92 filter"},
		{metadata.TopicNormal, "REGEX", str("x"), "", "", `filter type "REGEX"`},
		{metadata.TopicLite, "", nil, "TAG", "*", ""},
		{metadata.TopicLite, "TAG", str(" * "), "TAG", "*", ""},
		{metadata.TopicLite, "TAG", str("a"), "", "", "a LITE topic subscription names lite topics, not a filter"},
		{metadata.TopicLite, "SQL92", nil, "", "", "a LITE topic subscription names lite topics, not a filter"},
		// An unknown topic is checked as a normal one; storing it fails later.
		{"", "", str("a"), "TAG", "a", ""},
	}
	for _, c := range cases {
		typ, stored, err := SubscriptionFilter(c.topicType, c.filterType, c.expr)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, "%+v", c)
			require.True(t, errors.Is(err, domain.ErrInvalidFilter), "%+v: %v", c, err)
			continue
		}
		require.NoError(t, err, "%+v", c)
		require.Equal(t, c.typ, typ, "%+v", c)
		require.Equal(t, c.stored, stored, "%+v", c)
	}
}
