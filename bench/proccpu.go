package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, fixed at 100 by the
// Linux ABI whatever the kernel's own tick rate.
const userHZ = 100

// WatchedProcess names a local process whose CPU a soak records each sample, with its
// descendants (a Postgres server's backends, say) except those watched under a name of
// their own (floe dev's Postgres).
type WatchedProcess struct {
	Name string
	PID  int
}

// ParseWatchedProcesses reads NAME=PID[,NAME=PID...].
func ParseWatchedProcesses(s string) ([]WatchedProcess, error) {
	if s == "" {
		return nil, nil
	}
	var out []WatchedProcess
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, pid, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(pid)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("a watched process is NAME=PID with a positive PID, got %q", part)
		}
		if seen[name] {
			return nil, fmt.Errorf("watched process %q named twice", name)
		}
		seen[name] = true
		out = append(out, WatchedProcess{Name: name, PID: n})
	}
	return out, nil
}

// procTable is the processes of the machine at one moment: parent and CPU ticks (user +
// system) of each.
type procTable struct {
	parent map[int]int
	ticks  map[int]int64
}

// readProcTable reads /proc/*/stat. Processes that end while it reads are left out.
func readProcTable(root string) (procTable, error) {
	t := procTable{parent: map[int]int{}, ticks: map[int]int64{}}
	dirs, err := filepath.Glob(filepath.Join(root, "[0-9]*", "stat"))
	if err != nil {
		return t, err
	}
	for _, path := range dirs {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		ppid, ticks, err := parseProcStat(string(b))
		if err != nil {
			continue
		}
		t.parent[pid], t.ticks[pid] = ppid, ticks
	}
	if len(t.ticks) == 0 {
		return t, fmt.Errorf("no process readable under %s", root)
	}
	return t, nil
}

// parseProcStat returns the parent and the user + system CPU ticks from one
// /proc/PID/stat line. The command name, in parentheses, may hold spaces and
// parentheses itself, so fields are counted from the last ")".
func parseProcStat(line string) (ppid int, ticks int64, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("no command name in %q", line)
	}
	f := strings.Fields(line[i+1:])
	// After the name: state(3) ppid(4) … utime(14) stime(15).
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("short stat line %q", line)
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("parent in %q: %w", line, err)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("CPU times in %q", line)
	}
	return ppid, utime + stime, nil
}

// treeTicks sums the ticks of pid and every descendant alive now, not descending into the
// processes of skip; false when pid is gone.
func (t procTable) treeTicks(pid int, skip map[int]bool) (int64, bool) {
	if _, ok := t.ticks[pid]; !ok {
		return 0, false
	}
	children := map[int][]int{}
	for p, pp := range t.parent {
		children[pp] = append(children[pp], p)
	}
	var sum int64
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		sum += t.ticks[p]
		for _, c := range children[p] {
			if !skip[c] {
				stack = append(stack, c)
			}
		}
	}
	return sum, true
}

// cpuReading is the CPU ticks of each watched process tree at one moment.
type cpuReading map[string]int64

func readCPU(root string, procs []WatchedProcess) (cpuReading, error) {
	t, err := readProcTable(root)
	if err != nil {
		return nil, err
	}
	watched := map[int]bool{}
	for _, p := range procs {
		watched[p.PID] = true
	}
	r := cpuReading{}
	for _, p := range procs {
		if n, ok := t.treeTicks(p.PID, watched); ok {
			r[p.Name] = n
		}
	}
	return r, nil
}

// coresSince is each process's CPU over the seconds since prev, in cores. A backend that
// ended in between takes its ticks with it, so a tree's count may fall: such an interval
// counts as 0 rather than negative.
func (r cpuReading) coresSince(prev cpuReading, seconds float64) map[string]float64 {
	if prev == nil || seconds <= 0 {
		return nil
	}
	out := map[string]float64{}
	for name, n := range r {
		if p, ok := prev[name]; ok {
			out[name] = max(float64(n-p), 0) / userHZ / seconds
		}
	}
	return out
}
