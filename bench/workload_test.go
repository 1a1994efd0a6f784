package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

const minimalWorkload = `
name: w1
queues: 4
messageSize: 100
producers: 2
rate: 1000
duration: 10s
`

func TestParseWorkloadDefaults(t *testing.T) {
	t.Parallel()
	w, err := ParseWorkload([]byte(minimalWorkload))
	require.NoError(t, err)
	require.Equal(t, Workload{
		Name: "w1", Topic: "w1", Group: "w1", TopicType: client.TopicNormal, Queues: 4, MessageSize: 100,
		Producers: 2, BatchSize: 32, Rate: Rate{PerSecond: 1000}, Duration: Duration(10 * time.Second),
	}, w)
}

func TestParseWorkloadAllFields(t *testing.T) {
	t.Parallel()
	w, err := ParseWorkload([]byte(`
name: fifo_run
topic: orders
topicType: FIFO
queues: 8
messageSize: 2048
producers: 10
batchSize: 16
consumers: 4
receiveBatch: 8
group: billing
groups: 3
rate: max
maxBacklog: 1000
messageGroups: 7
trace: false
warmup: 1m30s
duration: 2m
`))
	require.NoError(t, err)
	off := false
	require.Equal(t, Workload{
		Name: "fifo_run", Topic: "orders", TopicType: client.TopicFIFO, Queues: 8, MessageSize: 2048,
		Producers: 10, BatchSize: 16, Consumers: 4, ReceiveBatch: 8, Group: "billing", Groups: 3, Rate: MaxRate,
		MaxBacklog: 1000, MessageGroups: 7, Trace: &off,
		Warmup: Duration(90 * time.Second), Duration: Duration(2 * time.Minute),
	}, w)

	pc := w.produceConfig()
	require.Equal(t, 0, pc.Rate, "max rate is rate 0 for the producers")
	require.True(t, pc.NoTrace)
	require.True(t, pc.StopOnTime)
	require.Equal(t, 7, pc.MessageGroups)

	d, err := ParseWorkload([]byte(minimalWorkload + "topicType: DELAY\ndelay: 5s\nconsumers: 1\n"))
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, d.produceConfig().Delay)
	require.Equal(t, 32, d.ReceiveBatch, "default receive batch with consumers")
	require.Zero(t, d.MaxBacklog, "no backlog bound at a fixed rate")

	m, err := ParseWorkload([]byte(minimalWorkload + "consumers: 1\n" + "topicType: FIFO\n"))
	require.NoError(t, err)
	require.Equal(t, 1024, m.MessageGroups, "default message groups on FIFO")
}

// The committed workloads must parse and say what the issue asks of them.
func TestCommittedWorkloads(t *testing.T) {
	t.Parallel()
	w, err := LoadWorkload(filepath.Join("..", "workloads", "1-topic-16-partitions-1kb.yaml"))
	require.NoError(t, err)
	require.Equal(t, "1-topic-16-partitions-1kb", w.Name)
	require.Equal(t, 16, w.Queues)
	require.Equal(t, 1024, w.MessageSize)
	require.Equal(t, Rate{PerSecond: 50000}, w.Rate)
	require.Equal(t, 32, w.ReceiveBatch)
	require.Positive(t, w.Consumers)

	m, err := LoadWorkload(filepath.Join("..", "workloads", "max-rate-1-topic-16-partitions-1kb.yaml"))
	require.NoError(t, err)
	require.True(t, m.Rate.Max)
	require.Equal(t, 16, m.Queues)
	require.Positive(t, m.Consumers)

	d, err := LoadWorkload(filepath.Join("..", "workloads", "drain-2m-1kb.yaml"))
	require.NoError(t, err)
	require.Equal(t, ModeDrain, d.Mode)
	require.Equal(t, int64(2_000_000), d.Messages)
	require.Equal(t, 1024, d.MessageSize)
	require.Equal(t, 8, d.Consumers)
	require.Equal(t, 32, d.ReceiveBatch)
	require.False(t, d.DrainConfig().AsyncAcks)

	a, err := LoadWorkload(filepath.Join("..", "workloads", "drain-2m-1kb-async.yaml"))
	require.NoError(t, err)
	require.True(t, a.DrainConfig().AsyncAcks)
	require.Equal(t, d.Messages, a.Messages)

	f, err := LoadWorkload(filepath.Join("..", "workloads", "fanout-4-groups-1kb.yaml"))
	require.NoError(t, err)
	require.Equal(t, 4, f.Groups)
	require.Equal(t, Rate{PerSecond: 20000}, f.Rate)
	require.Equal(t, 1024, f.MessageSize)
	require.Equal(t, Duration(30*time.Second), f.Duration)

	entries, err := os.ReadDir(filepath.Join("..", "workloads"))
	require.NoError(t, err)
	for _, e := range entries {
		_, err := LoadWorkload(filepath.Join("..", "workloads", e.Name()))
		require.NoError(t, err, e.Name())
	}
}

func TestParseWorkloadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "the file is empty"},
		{"comment only", "# nothing\n", "the file is empty"},
		{"not a mapping", "- a\n- b\n", "line 1: a workload is a mapping"},
		{"bad yaml", "name: [\n", "not valid YAML"},
		{"unknown field", minimalWorkload + "prodcers: 3\n", `line 8: unknown field "prodcers"; the fields are name, topic,`},
		{"repeated field", minimalWorkload + "queues: 5\n", `line 8: field "queues" appears twice`},
		{"text for a number", "name: w\nqueues: many\n", "line 2: want a number, got text `many`"},
		{"bare number duration", "name: w\nduration: 60\n", `line 2: "60" is not a duration with a unit such as 60s`},
		{"bad duration", "name: w\nwarmup: soon\n", `line 2: "soon" is not a duration`},
		{"list duration", "name: w\nwarmup: [1]\n", "line 2: a duration must be a string"},
		{"bad rate", "name: w\nrate: fast\n", `line 2: rate must be a whole number of messages per second of at least 1, or max; got "fast"`},
		{"zero rate", "name: w\nrate: 0\n", "line 2: rate must be"},
		{"no name", "queues: 1\n", "name is required"},
		{"bad name", "name: a/b\n", `name "a/b": use 1 to 127 letters`},
		{"bad topic", "name: w\ntopic: a.b\n", `topic "a.b": use 1 to 127`},
		{"no queues", "name: w\n", "queues is required and must be at least 1, got 0"},
		{"small message", "name: w\nqueues: 1\nmessageSize: 4\n", "messageSize is required and must be at least 8 bytes"},
		{"no producers", "name: w\nqueues: 1\nmessageSize: 8\n", "producers is required"},
		{"no rate", "name: w\nqueues: 1\nmessageSize: 8\nproducers: 1\n", "rate is required"},
		{"no duration", "name: w\nqueues: 1\nmessageSize: 8\nproducers: 1\nrate: max\n", "duration is required"},
		{"transaction topic", minimalWorkload + "topicType: TRANSACTION\n", `topicType "TRANSACTION": the benchmark runs NORMAL, FIFO, DELAY or PRIORITY`},
		{"big batch", minimalWorkload + "batchSize: 2000\n", "batchSize must be 1 to 1024"},
		{"negative consumers", minimalWorkload + "consumers: -1\n", "consumers must be 0"},
		{"backlog at fixed rate", minimalWorkload + "consumers: 1\nmaxBacklog: 10\n", "maxBacklog applies only with rate: max"},
		{"groups on NORMAL", minimalWorkload + "messageGroups: 3\n", "messageGroups applies only to FIFO"},
		{"DELAY without delay", minimalWorkload + "topicType: DELAY\n", "delay is required for a DELAY topic"},
		{"delay on NORMAL", minimalWorkload + "delay: 1s\n", "delay applies only to DELAY topics"},
		{"negative warmup", minimalWorkload + "warmup: -1s\n", "warmup must not be negative"},
		{"priorities on NORMAL", minimalWorkload + "priorities: 4\n", "priorities applies only to PRIORITY topics"},
		{"PRIORITY queues not a multiple", minimalWorkload + "topicType: PRIORITY\npriorities: 3\n", "queues must be a multiple of priorities (3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseWorkload([]byte(tt.file))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestLoadWorkloadOverridesBeforeDefaults(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "w.yaml")
	require.NoError(t, os.WriteFile(path, []byte(minimalWorkload+"consumers: 2\n"), 0o644))

	w, err := LoadWorkload(path, func(w *Workload) { w.Rate = MaxRate; w.Name = "other" })
	require.NoError(t, err)
	require.True(t, w.Rate.Max)
	require.Equal(t, defaultMaxBacklog, w.MaxBacklog, "the max-rate default applies to an overridden rate")
	require.Equal(t, "other", w.Topic, "the topic defaults to the overridden name")

	_, err = LoadWorkload(path, func(w *Workload) { w.Producers = 0 })
	require.ErrorContains(t, err, "w.yaml: producers is required")

	_, err = LoadWorkload(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "reading workload")
}

func TestWorkloadJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, file := range []string{minimalWorkload, minimalWorkload + "consumers: 3\n"} {
		w, err := ParseWorkload([]byte(file))
		require.NoError(t, err)
		for _, rate := range []Rate{w.Rate, MaxRate} {
			w.Rate = rate
			b, err := json.Marshal(w)
			require.NoError(t, err)
			var back Workload
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, w, back, string(b))
		}
	}
	b, err := json.Marshal(Workload{Rate: MaxRate, Duration: Duration(time.Minute)})
	require.NoError(t, err)
	require.Contains(t, string(b), `"rate":"max"`)
	require.Contains(t, string(b), `"duration":"1m0s"`)
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Rate{"max": MaxRate, "MAX": MaxRate, "50000": {PerSecond: 50000}, "50_000": {PerSecond: 50000}, " 7 ": {PerSecond: 7}} {
		got, err := ParseRate(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "-5", "1.5", "fast"} {
		_, err := ParseRate(in)
		require.Error(t, err, in)
	}
	require.Equal(t, "max", MaxRate.String())
	require.Equal(t, "12", Rate{PerSecond: 12}.String())
}

// FuzzParseWorkload checks that no input makes the parser panic, and that whatever it
// accepts is valid.
func FuzzParseWorkload(f *testing.F) {
	f.Add([]byte(minimalWorkload))
	f.Add([]byte(minimalWorkload + "consumers: 3\nrate: max\n"))
	f.Add([]byte("name: &a [*a]\n"))
	f.Add([]byte("{}"))
	for _, name := range []string{"1-topic-16-partitions-1kb.yaml", "max-rate-1-topic-16-partitions-1kb.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "workloads", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWorkload(b)
		if err != nil {
			return
		}
		require.NoError(t, w.Validate())
		require.Equal(t, w, w.WithDefaults(), "defaults are applied once")
	})
}

func TestParseDrainWorkload(t *testing.T) {
	t.Parallel()
	w, err := ParseWorkload([]byte("name: d\nmode: drain\nqueues: 8\nmessageSize: 1024\nproducers: 160\nconsumers: 8\n"))
	require.NoError(t, err)
	require.Equal(t, int64(2_000_000), w.Messages)
	require.Equal(t, Duration(30*time.Minute), w.Timeout)
	d := w.DrainConfig()
	require.Equal(t, "d", d.Group)
	require.Equal(t, 32, d.ReceiveBatch)
	require.Equal(t, 160, d.Produce.Producers)
	require.NoError(t, d.withDefaults().validate())

	for _, tt := range []struct{ yaml, want string }{
		{"name: d\nmode: drain\nqueues: 8\nmessageSize: 1024\nproducers: 1\nconsumers: 1\nrate: 100\n", "do not apply to a drain"},
		{"name: d\nmode: drain\nqueues: 8\nmessageSize: 1024\nproducers: 1\n", "consumers must be at least 1 in a drain"},
		{"name: d\nmode: drain\nqueues: 8\nmessageSize: 8\nproducers: 1\nconsumers: 1\n", "at least 16 bytes"},
		{"name: d\nmode: fast\nqueues: 8\nmessageSize: 1024\nproducers: 1\n", `mode "fast"`},
		{"name: d\nqueues: 8\nmessageSize: 1024\nproducers: 1\nrate: 10\nduration: 1s\nmessages: 5\n", "only with mode: drain"},
		{"name: d\nmode: drain\nqueues: 8\nmessageSize: 1024\nproducers: 1\nconsumers: 1\ngroups: 2\n", "groups applies only without mode: drain"},
	} {
		_, err := ParseWorkload([]byte(tt.yaml))
		require.ErrorContains(t, err, tt.want, tt.yaml)
	}
}
