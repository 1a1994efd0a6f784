package services

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder builds modules that note their starts and stops.
type recorder struct{ log []string }

func (r *recorder) mod(name string, deps, after []string, fail bool) module {
	return module{name: name, deps: deps, after: after,
		start: func(context.Context) error {
			if fail {
				return errors.New("boom")
			}
			r.log = append(r.log, "start "+name)
			return nil
		},
		stop: func(context.Context) error { r.log = append(r.log, "stop "+name); return nil },
	}
}

func TestModulesStartInDependencyOrderAndStopInReverse(t *testing.T) {
	r := &recorder{}
	s := newModuleSet(
		r.mod("api", nil, nil, false),
		r.mod("ingest", []string{"api"}, []string{"reader"}, false),
		r.mod("reader", []string{"api"}, nil, false),
		r.mod("unused", nil, nil, false),
	)
	ctx := context.Background()
	require.NoError(t, s.start(ctx, []string{"ingest", "reader"}))
	require.Equal(t, []string{"start api", "start reader", "start ingest"}, r.log,
		"deps first; ingest after reader, which runs too")
	require.NoError(t, s.stop(ctx))
	require.Equal(t, []string{"stop ingest", "stop reader", "stop api"}, r.log[3:])

	r.log = nil
	s = newModuleSet(r.mod("api", nil, nil, false), r.mod("ingest", []string{"api"}, []string{"reader"}, false),
		r.mod("reader", []string{"api"}, nil, false))
	require.NoError(t, s.start(ctx, []string{"ingest"}))
	require.Equal(t, []string{"start api", "start ingest"}, r.log, "after does not start the module it names")
}

func TestAFailedStartStopsWhatStarted(t *testing.T) {
	r := &recorder{}
	s := newModuleSet(
		r.mod("api", nil, nil, false),
		r.mod("reader", []string{"api"}, nil, false),
		r.mod("grpc", []string{"reader"}, nil, true),
	)
	err := s.start(context.Background(), []string{"grpc"})
	require.ErrorContains(t, err, "starting grpc: boom")
	require.Equal(t, []string{"start api", "start reader", "stop reader", "stop api"}, r.log)
}

func TestModuleCyclesAndUnknownNamesAreErrors(t *testing.T) {
	r := &recorder{}
	s := newModuleSet(r.mod("a", []string{"b"}, nil, false), r.mod("b", []string{"a"}, nil, false))
	require.ErrorContains(t, s.start(context.Background(), []string{"a"}), "cycle")
	s = newModuleSet(r.mod("a", []string{"nope"}, nil, false))
	require.ErrorContains(t, s.start(context.Background(), []string{"a"}), `no module "nope"`)
	require.Empty(t, r.log)
}

// TestNodeModulesOrder checks the order a node with every role starts in, and so the
// reverse order it stops in, whose reasons moduleList gives.
func TestNodeModulesOrder(t *testing.T) {
	s := newModuleSet((&Node{}).moduleList()...)
	mods, err := s.order(append([]string{"reader", "ingest", "compactor"}, nodeModules...))
	require.NoError(t, err)
	var names []string
	for _, m := range mods {
		names = append(names, m.name)
	}
	require.Equal(t, []string{"api", "reader", "ingest", "compactor", "listener", "tracing", "grpc", "clients", "drain",
		"traceflush", "operate", "serve"}, names)

	mods, err = s.order(append([]string{"ingest"}, nodeModules...))
	require.NoError(t, err)
	names = nil
	for _, m := range mods {
		names = append(names, m.name)
	}
	require.NotContains(t, names, "reader", "after names no module to start")
}
