package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a benchmark ran, for the report: numbers mean little without it.
type Machine struct {
	// CPUs is the number of logical CPUs Go sees.
	CPUs int `json:"cpus"`
	// CPUModel is the processor's name from /proc/cpuinfo, if readable.
	CPUModel string `json:"cpuModel,omitempty"`
	// MemoryGiB is the memory of the machine from /proc/meminfo, if readable.
	MemoryGiB float64 `json:"memoryGiB,omitempty"`
	// GoVersion is the Go release that built the benchmark.
	GoVersion string `json:"goVersion"`
	// OS and Arch are GOOS and GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// Kernel is the kernel release, if readable.
	Kernel string `json:"kernel,omitempty"`
	// LoadAvgStart and LoadAvgEnd are the 1, 5 and 15 minute load averages when the run
	// started and ended: the machine may be shared, and this says how much.
	LoadAvgStart string `json:"loadAvgStart,omitempty"`
	LoadAvgEnd   string `json:"loadAvgEnd,omitempty"`
}

// DescribeMachine returns the machine this process runs on, with the load average now.
// What cannot be read (outside Linux) is left empty.
func DescribeMachine() Machine {
	m := Machine{
		CPUs:         runtime.NumCPU(),
		GoVersion:    runtime.Version(),
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		CPUModel:     procField("/proc/cpuinfo", "model name"),
		Kernel:       strings.TrimSpace(readSmallFile("/proc/sys/kernel/osrelease")),
		LoadAvgStart: loadAverage(),
	}
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		m.MemoryGiB = float64(int(kb/(1<<20)*10+0.5)) / 10
	}
	return m
}

// loadAverage returns the first three fields of /proc/loadavg, or "" if unreadable.
func loadAverage() string {
	fields := strings.Fields(readSmallFile("/proc/loadavg"))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

// procField returns the value of the first "key: value" line of a /proc file, or "".
func procField(path, key string) string {
	sc := bufio.NewScanner(strings.NewReader(readSmallFile(path)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readSmallFile returns the content of a file, or "" if it cannot be read.
func readSmallFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
