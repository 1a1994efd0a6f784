package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// statLine is a /proc/PID/stat line with a command name, parent and CPU ticks.
func statLine(pid int, name string, ppid int, utime, stime int64) string {
	return fmt.Sprintf("%d (%s) S %d 1 1 0 -1 4194560 100 0 0 0 %d %d 0 0 20 0 4 0 100 1000 100 1000 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		pid, name, ppid, utime, stime)
}

// writeProc writes a fake /proc with the given stat lines.
func writeProc(t *testing.T, root string, lines map[int]string) {
	t.Helper()
	require.NoError(t, os.RemoveAll(root))
	for pid, line := range lines {
		dir := filepath.Join(root, fmt.Sprint(pid))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644))
	}
}

func TestParseProcStat(t *testing.T) {
	// A name with spaces and parentheses must not shift the fields.
	ppid, ticks, err := parseProcStat(statLine(42, "postgres: floe (x) idle", 7, 300, 45))
	require.NoError(t, err)
	require.Equal(t, 7, ppid)
	require.Equal(t, int64(345), ticks)
	for _, bad := range []string{"", "42 postgres S 7", "42 (p) S x 1 1 0 -1 0 0 0 0 0 1 2", "42 (p) S 7 1"} {
		_, _, err := parseProcStat(bad)
		require.Error(t, err, "%q", bad)
	}
}

func TestParseWatchedProcesses(t *testing.T) {
	got, err := ParseWatchedProcesses("floe=12,minio=34")
	require.NoError(t, err)
	require.Equal(t, []WatchedProcess{{"floe", 12}, {"minio", 34}}, got)
	got, err = ParseWatchedProcesses("")
	require.NoError(t, err)
	require.Empty(t, got)
	for _, bad := range []string{"floe", "floe=", "=12", "floe=0", "floe=-3", "floe=x", "floe=1,floe=2"} {
		_, err := ParseWatchedProcesses(bad)
		require.Error(t, err, "%q", bad)
	}
}

// A watched process counts its descendants, except those watched under their own name;
// a process gone is left out; CPU over an interval is in cores.
func TestWatchedProcessCPU(t *testing.T) {
	root := filepath.Join(t.TempDir(), "proc")
	// floe (10) started Postgres (20), whose backends are 21 and 22; MinIO is 30.
	writeProc(t, root, map[int]string{
		10: statLine(10, "floe", 1, 1000, 0),
		20: statLine(20, "postgres", 10, 100, 0),
		21: statLine(21, "postgres: floe floe 127.0.0.1(5) idle", 20, 50, 0),
		22: statLine(22, "postgres: walwriter", 20, 10, 0),
		30: statLine(30, "minio", 1, 400, 0),
		40: statLine(40, "bash", 1, 9999, 0),
	})
	procs := []WatchedProcess{{"floe", 10}, {"postgres", 20}, {"minio", 30}, {"gone", 99}}
	first, err := readCPU(root, procs)
	require.NoError(t, err)
	require.Equal(t, cpuReading{"floe": 1000, "postgres": 160, "minio": 400}, first)

	// 30 s later: floe used 15 s of CPU, the backends 6 s between them, MinIO 3 s; a
	// backend that ended takes its ticks with it, so Postgres's count may fall.
	writeProc(t, root, map[int]string{
		10: statLine(10, "floe", 1, 2500, 0),
		20: statLine(20, "postgres", 10, 100, 0),
		21: statLine(21, "postgres: floe floe 127.0.0.1(5) idle", 20, 550, 100),
		22: statLine(22, "postgres: walwriter", 20, 10, 0),
		30: statLine(30, "minio", 1, 700, 0),
	})
	second, err := readCPU(root, procs)
	require.NoError(t, err)
	cores := second.coresSince(first, 30)
	require.InDelta(t, 0.5, cores["floe"], 1e-9)
	require.InDelta(t, 0.2, cores["postgres"], 1e-9)
	require.InDelta(t, 0.1, cores["minio"], 1e-9)
	require.NotContains(t, cores, "gone")
	writeProc(t, root, map[int]string{
		10: statLine(10, "floe", 1, 2500, 0),
		20: statLine(20, "postgres", 10, 100, 0),
	})
	third, err := readCPU(root, procs)
	require.NoError(t, err)
	require.Zero(t, third.coresSince(second, 30)["postgres"], "ended backends never make CPU negative")
	require.Nil(t, third.coresSince(nil, 30), "no rate without an earlier reading")

	_, err = readCPU(filepath.Join(t.TempDir(), "empty"), procs)
	require.Error(t, err, "a folder without processes is not /proc")
}

// A soak sample records each watched process's cores since the sample before.
func TestSoakSamplerReadsProcessCPU(t *testing.T) {
	root := filepath.Join(t.TempDir(), "proc")
	writeProc(t, root, map[int]string{10: statLine(10, "floe", 1, 1000, 0)})
	s := &soakSampler{procs: []WatchedProcess{{"floe", 10}}, procRoot: root}
	cores, err := s.readCPU()
	require.NoError(t, err)
	require.Nil(t, cores, "the first reading only starts the count")
	writeProc(t, root, map[int]string{10: statLine(10, "floe", 1, 1100, 0)})
	cores, err = s.readCPU()
	require.NoError(t, err)
	require.Contains(t, cores, "floe")
	require.Positive(t, cores["floe"], "100 ticks since the last reading")
}
