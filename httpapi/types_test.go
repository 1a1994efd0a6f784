package httpapi_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
)

// TestMessageDomainCopiesEveryField: the HTTP message carries every field of the domain's,
// and Domain copies each one, so a field added to both cannot be dropped on the way to
// the write path. Only the wire's inputs (bodyText, delaySeconds) are the HTTP side's own.
func TestMessageDomainCopiesEveryField(t *testing.T) {
	wire := reflect.TypeOf(httpapi.Message{})
	dom := reflect.TypeOf(domain.Message{})
	var m httpapi.Message
	mv := reflect.ValueOf(&m).Elem()
	for i := range dom.NumField() {
		f := dom.Field(i)
		wf, ok := wire.FieldByName(f.Name)
		require.True(t, ok, "httpapi.Message has no field %s of domain.Message", f.Name)
		require.Equal(t, f.Type, wf.Type, "field %s", f.Name)
		mv.FieldByName(f.Name).Set(sample(t, f.Type))
	}
	for i := range wire.NumField() {
		if _, ok := dom.FieldByName(wire.Field(i).Name); !ok {
			require.Contains(t, []string{"BodyText", "DelaySeconds"}, wire.Field(i).Name,
				"httpapi.Message.%s is not in domain.Message", wire.Field(i).Name)
		}
	}
	d := m.Domain()
	dv := reflect.ValueOf(d)
	for i := range dom.NumField() {
		name := dom.Field(i).Name
		require.Equal(t, mv.FieldByName(name).Interface(), dv.FieldByName(name).Interface(), "Domain drops %s", name)
	}
}

// sample returns a value of type rt that is not its zero value.
func sample(t *testing.T, rt reflect.Type) reflect.Value {
	t.Helper()
	switch rt {
	case reflect.TypeOf(""):
		return reflect.ValueOf("x")
	case reflect.TypeOf([]byte(nil)):
		return reflect.ValueOf([]byte("x"))
	case reflect.TypeOf([]string(nil)):
		return reflect.ValueOf([]string{"x"})
	case reflect.TypeOf(map[string]string(nil)):
		return reflect.ValueOf(map[string]string{"k": "v"})
	case reflect.TypeOf((*time.Time)(nil)):
		tm := time.Unix(1, 0)
		return reflect.ValueOf(&tm)
	case reflect.TypeOf((*int)(nil)):
		n := 7
		return reflect.ValueOf(&n)
	}
	switch rt.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return reflect.ValueOf(int64(7)).Convert(rt)
	case reflect.Bool:
		return reflect.ValueOf(true).Convert(rt)
	}
	t.Fatalf("sample: no value for %s; add one", rt)
	return reflect.Value{}
}
