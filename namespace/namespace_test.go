package namespace

import "testing"

func TestWrapUnwrap(t *testing.T) {
	cases := []struct{ ns, name, stored string }{
		{"", "orders", "orders"},
		{"", "%DLQ%billing", "%DLQ%billing"},
		{"acme", "orders", "acme%orders"},
		{"acme", "%DLQ%billing", "%DLQ%acme%billing"},
	}
	for _, c := range cases {
		if got := Wrap(c.ns, c.name); got != c.stored {
			t.Errorf("Wrap(%q, %q) = %q, want %q", c.ns, c.name, got, c.stored)
		}
		got, ok := Unwrap(c.ns, c.stored)
		if !ok || got != c.name {
			t.Errorf("Unwrap(%q, %q) = %q, %v, want %q", c.ns, c.stored, got, ok, c.name)
		}
	}
}

func TestUnwrapOtherNamespaceIsHidden(t *testing.T) {
	for _, c := range []struct{ ns, stored string }{
		{"acme", "orders"},
		{"acme", "globex%orders"},
		{"acme", "%DLQ%globex%billing"},
		{"acme", "%DLQ%billing"},
		{"", "acme%orders"},
		{"", "%DLQ%acme%billing"},
		{"acme", "acmex%orders"},
	} {
		if name, ok := Unwrap(c.ns, c.stored); ok {
			t.Errorf("Unwrap(%q, %q) = %q, visible; want hidden", c.ns, c.stored, name)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, ok := range []string{"", "acme", "team-1_a"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"a%b", "a b", "ünï", string(make([]byte, 65))} {
		if err := Validate(bad); err == nil {
			t.Errorf("Validate(%q) = nil, want error", bad)
		}
	}
}

func TestOf(t *testing.T) {
	for stored, want := range map[string]string{
		"orders": "", "%DLQ%billing": "", "%TRACE%": "",
		"acme%orders": "acme", "%DLQ%acme%billing": "acme",
	} {
		if got := Of(stored); got != want {
			t.Errorf("Of(%q) = %q, want %q", stored, got, want)
		}
		if name, ok := Unwrap(want, stored); stored != "%TRACE%" && (!ok || Wrap(want, name) != stored) {
			t.Errorf("Of(%q) = %q does not round-trip: %q, %v", stored, want, name, ok)
		}
	}
}
