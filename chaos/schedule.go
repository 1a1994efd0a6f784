package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// FaultKind is one kind of fault the harness can apply.
type FaultKind string

// The fault kinds. Each is aimed at one part; the schedule sometimes overlaps two.
const (
	// FaultKill sends SIGKILL to a floe process and starts it again when healed.
	FaultKill FaultKind = "kill"
	// FaultPause sends SIGSTOP to a floe process and SIGCONT when healed.
	FaultPause FaultKind = "pause"
	// FaultPostgres stops Postgres in immediate mode (SIGQUIT: no checkpoint, crash
	// recovery at the next start) and starts it again on the same data and port.
	FaultPostgres FaultKind = "postgres-restart"
	// FaultMinIO kills MinIO and starts it again on the same data and address.
	FaultMinIO FaultKind = "minio-restart"
	// FaultPartitionPG cuts one floe process off from Postgres: its proxy stops moving
	// bytes (open connections hang, new ones are never answered) until healed.
	FaultPartitionPG FaultKind = "partition-postgres"
	// FaultPartitionS3 cuts one floe process off from MinIO the same way.
	FaultPartitionS3 FaultKind = "partition-minio"
)

// AllFaultKinds lists every fault kind.
var AllFaultKinds = []FaultKind{FaultKill, FaultPause, FaultPostgres, FaultMinIO, FaultPartitionPG, FaultPartitionS3}

// faultWeights says how often each kind is drawn.
var faultWeights = map[FaultKind]int{
	FaultKill: 4, FaultPause: 3, FaultPostgres: 2, FaultMinIO: 2, FaultPartitionPG: 2, FaultPartitionS3: 2,
}

// Fault is one scheduled fault: applied At after the run starts, healed Duration later.
type Fault struct {
	Kind     FaultKind
	Target   string
	At       time.Duration
	Duration time.Duration
}

func (f Fault) String() string {
	return fmt.Sprintf("%7.1fs %-18s %-11s for %.1fs", f.At.Seconds(), f.Kind, f.Target, f.Duration.Seconds())
}

// part is what a fault touches: two overlapping faults never touch the same part.
func (f Fault) part() string {
	switch f.Kind {
	case FaultPostgres:
		return "postgres"
	case FaultMinIO:
		return "minio"
	}
	return f.Target
}

// ScheduleConfig shapes a fault schedule.
type ScheduleConfig struct {
	// Duration is how long faults are scheduled for; the last one heals before it ends.
	Duration time.Duration
	// Warmup is the quiet time before the first fault.
	Warmup time.Duration
	// QuietMin and QuietMax bound the quiet period after each fault.
	QuietMin, QuietMax time.Duration
	// FaultMin and FaultMax bound how long a fault lasts.
	FaultMin, FaultMax time.Duration
	// Overlap is the chance that a second fault, on another part, joins a fault.
	Overlap float64
	// Kinds are the fault kinds to draw from.
	Kinds []FaultKind
	// Procs are the floe process names that process faults aim at.
	Procs []string
}

// Schedule draws a fault schedule from seed: the same seed and config give the same
// schedule.
func Schedule(seed uint64, cfg ScheduleConfig) []Fault {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	total := 0
	for _, k := range cfg.Kinds {
		total += faultWeights[k]
	}
	if total == 0 || len(cfg.Procs) == 0 {
		return nil
	}
	draw := func(avoid string) Fault {
		for range 100 {
			n := rng.IntN(total)
			var kind FaultKind
			for _, k := range cfg.Kinds {
				if n < faultWeights[k] {
					kind = k
					break
				}
				n -= faultWeights[k]
			}
			f := Fault{Kind: kind, Target: cfg.Procs[rng.IntN(len(cfg.Procs))]}
			switch kind {
			case FaultPostgres:
				f.Target = "postgres"
			case FaultMinIO:
				f.Target = "minio"
			}
			if f.part() != avoid {
				return f
			}
		}
		return Fault{}
	}
	var out []Fault
	for t := cfg.Warmup; ; {
		f := draw("")
		f.At, f.Duration = t, between(cfg.FaultMin, cfg.FaultMax)
		if f.At+f.Duration > cfg.Duration {
			break
		}
		out = append(out, f)
		end := f.At + f.Duration
		if rng.Float64() < cfg.Overlap {
			g := draw(f.part())
			if g.Kind != "" {
				g.At = f.At + between(0, f.Duration/2)
				g.Duration = between(cfg.FaultMin, cfg.FaultMax)
				if g.At+g.Duration <= cfg.Duration {
					out = append(out, g)
					end = max(end, g.At+g.Duration)
				}
			}
		}
		t = end + between(cfg.QuietMin, cfg.QuietMax)
	}
	return out
}

// FormatSchedule renders a schedule one fault a line.
func FormatSchedule(faults []Fault) string {
	var b strings.Builder
	for _, f := range faults {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}
