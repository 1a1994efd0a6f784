package services

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// module is one part of a node, as Loki declares its modules: a name, the modules that
// must have started before it, how it starts and how it stops. A node starts the modules
// of its roles in dependency order and stops them in the reverse order, so a module stops
// while what it relies on still runs.
type module struct {
	name string
	// deps must start first; they are started even when not asked for.
	deps []string
	// after orders the module after these when they run too, without starting them: the
	// ingest role starts after the reader role, whose chunk cache it primes, but runs
	// without it.
	after []string
	start func(ctx context.Context) error
	// stop undoes start; nil when there is nothing to undo.
	stop func(ctx context.Context) error
}

// moduleSet starts modules in dependency order and stops what it started.
type moduleSet struct {
	defs    map[string]module
	started []module
}

func newModuleSet(mods ...module) *moduleSet {
	s := &moduleSet{defs: map[string]module{}}
	for _, m := range mods {
		s.defs[m.name] = m
	}
	return s
}

// order returns targets and their deps, each after its deps and after the modules it
// names in after that are also in the list; among modules free to go, the declaration
// order of targets decides.
func (s *moduleSet) order(targets []string) ([]module, error) {
	var want []string
	var add func(name string, path []string) error
	add = func(name string, path []string) error {
		if slices.Contains(path, name) {
			return fmt.Errorf("modules depend on each other in a cycle: %v", append(path, name))
		}
		m, ok := s.defs[name]
		if !ok {
			return fmt.Errorf("no module %q", name)
		}
		for _, d := range m.deps {
			if err := add(d, append(path, name)); err != nil {
				return err
			}
		}
		if !slices.Contains(want, name) {
			want = append(want, name)
		}
		return nil
	}
	for _, t := range targets {
		if err := add(t, nil); err != nil {
			return nil, err
		}
	}
	var out []module
	done := map[string]bool{}
	for len(out) < len(want) {
		progress := false
		for _, name := range want {
			if done[name] {
				continue
			}
			m := s.defs[name]
			ready := true
			for _, d := range append(slices.Clone(m.deps), m.after...) {
				if slices.Contains(want, d) && !done[d] {
					ready = false
					break
				}
			}
			if ready {
				out = append(out, m)
				done[name] = true
				progress = true
				break
			}
		}
		if !progress {
			return nil, errors.New("modules order each other in a cycle (through after)")
		}
	}
	return out, nil
}

// start starts targets and their deps in order. When one fails, the modules started
// before it are stopped, in reverse order, and the error says which failed.
func (s *moduleSet) start(ctx context.Context, targets []string) error {
	mods, err := s.order(targets)
	if err != nil {
		return err
	}
	for _, m := range mods {
		if err := m.start(ctx); err != nil {
			err = fmt.Errorf("starting %s: %w", m.name, err)
			return errors.Join(err, s.stop(ctx))
		}
		s.started = append(s.started, m)
	}
	return nil
}

// stop stops the started modules in reverse order, each once, and joins their errors.
func (s *moduleSet) stop(ctx context.Context) error {
	var errs []error
	for i := len(s.started) - 1; i >= 0; i-- {
		m := s.started[i]
		if m.stop == nil {
			continue
		}
		if err := m.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", m.name, err))
		}
	}
	s.started = nil
	return errors.Join(errs...)
}
