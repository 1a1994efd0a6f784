// Command floe-chaos runs the chaos harness (package chaos) from the command line: it starts
// a cluster of floe processes with Postgres and MinIO, runs producers and consumers of
// every message type under a seeded schedule of faults, heals, drains, and prints the
// checker's report. It exits 1 when an invariant was violated. `make chaos` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/floemq/floe/chaos"
)

func main() {
	os.Exit(run())
}

func run() int {
	duration := flag.Duration("duration", 5*time.Minute, "how long producers send and faults are applied, per seed")
	seedList := flag.String("seeds", "1", "comma-separated seeds; one run per seed on one cluster")
	faults := flag.String("faults", "all", "fault kinds to draw: all, none, or a comma-separated list of "+kindNames())
	quiet := flag.String("quiet", "3s-8s", "quiet period between faults, min-max")
	length := flag.String("fault-length", "2s-8s", "how long a fault lasts, min-max")
	injectLoss := flag.String("inject-loss", "", `"index": delete one acknowledged message's index row mid-run (the report must then fail)`)
	stableIDs := flag.Bool("stable-node-ids", false, "restart floe processes with the same FLOE_NODE_ID (see docs/chaos.md, known bugs)")
	dir := flag.String("dir", "", "work folder for data and logs (default: a new temporary folder, removed after a passing run)")
	floeBin := flag.String("floe-bin", "", "floe binary (default: built from this repository)")
	out := flag.String("out", "", "also write the reports (markdown) to this file")
	flag.Parse()

	var cfgKinds []chaos.FaultKind
	noFaults := false
	switch *faults {
	case "all":
		cfgKinds = chaos.AllFaultKinds
	case "none":
		noFaults = true
	default:
		for _, k := range strings.Split(*faults, ",") {
			cfgKinds = append(cfgKinds, chaos.FaultKind(strings.TrimSpace(k)))
		}
	}
	qmin, qmax, err := parseRange(*quiet)
	if err != nil {
		return fail("-quiet: %v", err)
	}
	fmin, fmax, err := parseRange(*length)
	if err != nil {
		return fail("-fault-length: %v", err)
	}
	var seeds []uint64
	for _, s := range strings.Split(*seedList, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fail("-seeds: %v", err)
		}
		seeds = append(seeds, v)
	}

	work := *dir
	keep := work != ""
	if work == "" {
		if work, err = os.MkdirTemp("", "floe-chaos-"); err != nil {
			return fail("%v", err)
		}
	}
	bin := *floeBin
	if bin == "" {
		root, err := repoRoot()
		if err != nil {
			return fail("%v", err)
		}
		fmt.Fprintln(os.Stderr, "building floe...")
		if bin, err = chaos.BuildFloe(root, work); err != nil {
			return fail("%v", err)
		}
	}
	minio := chaos.MinIOBinary()
	if _, err := os.Stat(minio); err != nil {
		return fail("no MinIO binary at %s: run scripts/minio.sh, or set FLOE_MINIO_BIN", minio)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "starting the cluster in %s...\n", work)
	c, err := chaos.StartCluster(ctx, chaos.ClusterConfig{Dir: work, FloeBin: bin, MinIOBin: minio, Log: os.Stderr, StableNodeIDs: *stableIDs})
	if err != nil {
		return fail("starting the cluster: %v", err)
	}
	defer c.Close()

	var reports strings.Builder
	failed := false
	for i, seed := range seeds {
		res, err := chaos.RunOn(ctx, c, chaos.Config{
			Name: fmt.Sprintf("s%d-%d", seed, i), Seed: seed, Duration: *duration, FaultKinds: cfgKinds, NoFaults: noFaults,
			QuietMin: qmin, QuietMax: qmax, FaultMin: fmin, FaultMax: fmax, InjectLoss: *injectLoss,
			DrainTimeout: 2 * time.Minute, Log: os.Stderr,
		})
		if err != nil {
			return fail("seed %d: %v", seed, err)
		}
		fmt.Fprintf(&reports, "## seed %d (%s of load and faults, %s in all)\n\n", seed, *duration, res.Elapsed.Round(time.Second))
		fmt.Fprintf(&reports, "Fault schedule:\n\n```\n%s```\n\n%s\n", chaos.FormatSchedule(res.Schedule), res.Report.Markdown())
		if len(res.UnexpectedExits) > 0 {
			fmt.Fprintf(&reports, "\nfloe process exits the harness did not cause: %v\n", res.UnexpectedExits)
		}
		if f := res.Report.Failures(); len(f) > 0 {
			failed = true
			fmt.Fprintf(&reports, "\n**FAILED** (seed %d): %s\n\n", seed, strings.Join(f, "; "))
		} else {
			fmt.Fprintf(&reports, "\npassed (seed %d)\n\n", seed)
		}
	}
	fmt.Print(reports.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(reports.String()), 0o644); err != nil {
			return fail("%v", err)
		}
	}
	c.Close()
	if failed {
		fmt.Fprintf(os.Stderr, "logs and data kept in %s\n", work)
		return 1
	}
	if !keep {
		_ = os.RemoveAll(work)
	}
	return 0
}

func parseRange(s string) (time.Duration, time.Duration, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want min-max, such as 3s-8s", s)
	}
	a, err := time.ParseDuration(lo)
	if err != nil {
		return 0, 0, err
	}
	b, err := time.ParseDuration(hi)
	if err != nil {
		return 0, 0, err
	}
	if b < a || a <= 0 {
		return 0, 0, fmt.Errorf("%q: want 0 < min <= max", s)
	}
	return a, b, nil
}

func kindNames() string {
	var names []string
	for _, k := range chaos.AllFaultKinds {
		names = append(names, string(k))
	}
	return strings.Join(names, ",")
}

// repoRoot finds the module root from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run from the repository or pass -floe-bin", dir)
		}
	}
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "floe-chaos: "+format+"\n", args...)
	return 2
}
