package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/floemq/floe/client"
)

// A workload file is a small YAML document describing one benchmark run, in the spirit of
// OpenMessaging Benchmark's workload files. Example (workloads/1-topic-16-partitions-1kb.yaml):
//
//	name: 1-topic-16-partitions-1kb
//	topicType: NORMAL      # NORMAL (default), FIFO, DELAY or PRIORITY
//	queues: 16
//	messageSize: 1024      # bytes, at least 8 (the first 8 carry the send time)
//	producers: 320         # concurrent produce requests in flight, at most
//	batchSize: 32          # messages per produce request (default 32)
//	consumers: 32          # concurrent receive+ack loops; 0 = produce only (default)
//	receiveBatch: 32       # messages per receive call (default 32)
//	rate: 50000            # target msg/s over all producers, or "max"
//	warmup: 10s            # produced and consumed, not measured (default 0s)
//	duration: 60s          # measured
//
// Optional: topic (default: the name), group (default: the name), groups (consumer groups
// each receiving everything, default 1; with several, the groups are named group-1 to
// group-N), maxBacklog (rate: max with consumers only), messageGroups (FIFO only, default
// 1024), delay (DELAY only, required there), priorities (PRIORITY only, default 4: the
// messages cycle over priorities 0 to priorities-1; queues must be a multiple), trace (false creates the topic with message
// tracing off).
//
// mode: drain runs RunDrain instead: messages (default 2,000,000) are produced as fast as
// the producers can with no consumer running, then drained by the consumers; rate,
// warmup and duration do not apply, timeout (default 30m) bounds each phase.
//
// Durations are Go durations with a unit ("60s", "1m30s"); a bare number is refused, so
// 60 never silently means 60 nanoseconds.

// Workload is one benchmark run as a workload file describes it. Its JSON form (in
// result.json) uses the same field names as the YAML.
type Workload struct {
	// Mode is "" (producers, and consumers at the same time if any) or "drain" (a backlog
	// produced first, then drained; see RunDrain).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Name identifies the workload; it names the output folder and, by default, the topic
	// and the group. Letters, digits, '-' and '_'.
	Name string `yaml:"name" json:"name"`
	// Topic is the topic to produce to and consume from. Default: Name.
	Topic string `yaml:"topic,omitempty" json:"topic,omitempty"`
	// TopicType is NORMAL, FIFO, DELAY or PRIORITY. Default NORMAL.
	TopicType client.TopicType `yaml:"topicType,omitempty" json:"topicType"`
	// Queues is the number of queues of the topic when the benchmark creates it.
	Queues int `yaml:"queues" json:"queues"`
	// MessageSize is the body size in bytes, at least 8.
	MessageSize int `yaml:"messageSize" json:"messageSize"`
	// Producers is the number of producing goroutines: the most produce requests in
	// flight at once.
	Producers int `yaml:"producers" json:"producers"`
	// BatchSize is the number of messages per produce request. Default 32.
	BatchSize int `yaml:"batchSize,omitempty" json:"batchSize"`
	// Consumers is the number of receive-and-ack goroutines; 0 produces only.
	Consumers int `yaml:"consumers,omitempty" json:"consumers"`
	// ReceiveBatch is the most messages per receive call. Default 32.
	ReceiveBatch int `yaml:"receiveBatch,omitempty" json:"receiveBatch,omitempty"`
	// Group is the consumer group. Default: Name.
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// Groups is the number of consumer groups, each with Consumers consumers and each
	// receiving every message. Default 1.
	Groups int `yaml:"groups,omitempty" json:"groups,omitempty"`
	// Messages is, in drain mode, the backlog produced then drained. Default 2,000,000.
	Messages int64 `yaml:"messages,omitempty" json:"messages,omitempty"`
	// AsyncAcks, in drain mode, lets each consumer receive its next batch while the last
	// batch's ack is in flight (DrainConfig.AsyncAcks).
	AsyncAcks bool `yaml:"asyncAcks,omitempty" json:"asyncAcks,omitempty"`
	// Timeout is, in drain mode, the longest each phase may take. Default 30 minutes.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Rate is the target rate, or max.
	Rate Rate `yaml:"rate" json:"rate"`
	// MaxBacklog bounds, at rate max with consumers, the messages produced but not yet
	// consumed: producers pause above it, so the rate found is one the consumers sustain.
	// Default 50,000.
	MaxBacklog int `yaml:"maxBacklog,omitempty" json:"maxBacklog,omitempty"`
	// MessageGroups is, on a FIFO topic, how many message groups the messages are spread
	// over. Default 1024.
	MessageGroups int `yaml:"messageGroups,omitempty" json:"messageGroups,omitempty"`
	// Priorities is, on a PRIORITY topic, how many priority levels the messages cycle
	// over (0 to Priorities-1; the topic is made with as many). Default 4.
	Priorities int `yaml:"priorities,omitempty" json:"priorities,omitempty"`
	// Delay is, on a DELAY topic, how far after its send each message is due; end-to-end
	// latency is then measured from the due time.
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty"`
	// Trace, when false, creates the topic with message tracing off. Default: the
	// server's default (on).
	Trace *bool `yaml:"trace,omitempty" json:"trace,omitempty"`
	// Warmup is how long the workload runs before measuring. Default 0.
	Warmup Duration `yaml:"warmup,omitempty" json:"warmup"`
	// Duration is how long the measured part lasts.
	Duration Duration `yaml:"duration" json:"duration"`
}

// Workload defaults for the optional fields.
const (
	defaultWorkloadBatch  = 32
	defaultMaxBacklog     = 50_000
	defaultMessageGroups  = 1024
	defaultPriorities     = 4
	defaultReceiveBatch   = 32
	maxWorkloadFileLength = 1 << 20
)

// Rate is a workload's target: a number of messages per second over all producers, or
// max (written "max"), which produces as fast as the server answers (see RunWorkload).
type Rate struct {
	// PerSecond is the target in messages per second; 0 with Max false means unset.
	PerSecond int
	// Max asks for the highest rate the producers and the server sustain.
	Max bool
}

// MaxRate is the rate "max".
var MaxRate = Rate{Max: true}

// ParseRate reads "max" or a positive whole number of messages per second.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "max") {
		return MaxRate, nil
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n < 1 {
		return Rate{}, fmt.Errorf("rate must be a whole number of messages per second of at least 1, or max; got %q", s)
	}
	return Rate{PerSecond: n}, nil
}

// IsSet reports whether the rate was given.
func (r Rate) IsSet() bool { return r.Max || r.PerSecond > 0 }

// String renders the rate as a workload file writes it.
func (r Rate) String() string {
	switch {
	case r.Max:
		return "max"
	case r.PerSecond > 0:
		return strconv.Itoa(r.PerSecond)
	}
	return ""
}

// UnmarshalYAML reads a number or "max".
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: rate must be a number of messages per second or max", n.Line)
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*r = v
	return nil
}

// MarshalJSON writes the target as a number, or the string "max".
func (r Rate) MarshalJSON() ([]byte, error) {
	if r.Max {
		return []byte(`"max"`), nil
	}
	return []byte(strconv.Itoa(r.PerSecond)), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Rate) UnmarshalJSON(b []byte) error {
	v, err := ParseRate(strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Duration is a time.Duration written with a unit ("60s"), in YAML and JSON alike.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string; a bare number is refused.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a string such as 60s", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration with a unit such as 60s or 1m30s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string such as "1m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("a duration must be a JSON string such as \"60s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string such as 1m0s.
func (d Duration) MarshalYAML() (any, error) {
	return time.Duration(d).String(), nil
}

// MarshalYAML writes the rate as a number or max.
func (r Rate) MarshalYAML() (any, error) {
	if r.Max {
		return "max", nil
	}
	return r.PerSecond, nil
}

// workloadFields lists the keys a workload file may have, in the order they are documented.
var workloadFields = []string{
	"name", "topic", "topicType", "queues", "messageSize", "producers", "batchSize",
	"consumers", "receiveBatch", "group", "groups", "mode", "messages", "timeout", "asyncAcks", "rate", "maxBacklog", "messageGroups", "priorities", "delay",
	"trace", "warmup", "duration",
}

// LoadWorkload reads the workload file at path, applies overrides (the command line's
// flags) to what the file says, then the defaults, and checks the result.
func LoadWorkload(path string, overrides ...func(*Workload)) (Workload, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Workload{}, fmt.Errorf("reading workload: %w", err)
	}
	w, err := DecodeWorkload(b)
	if err != nil {
		return Workload{}, fmt.Errorf("workload %s: %w", path, err)
	}
	for _, o := range overrides {
		o(&w)
	}
	w = w.WithDefaults()
	if err := w.Validate(); err != nil {
		return Workload{}, fmt.Errorf("workload %s: %w", path, err)
	}
	return w, nil
}

// ParseWorkload decodes a workload file, applies the defaults of the optional fields and
// checks the result. Unknown or repeated fields, wrong types and impossible values are
// errors naming the field (and the line where the YAML parser knows it).
func ParseWorkload(b []byte) (Workload, error) {
	w, err := DecodeWorkload(b)
	if err != nil {
		return Workload{}, err
	}
	w = w.WithDefaults()
	if err := w.Validate(); err != nil {
		return Workload{}, err
	}
	return w, nil
}

// DecodeWorkload decodes a workload file as written, without defaults or checks of the
// values: only the syntax, the field names and the types.
func DecodeWorkload(b []byte) (Workload, error) {
	if len(b) > maxWorkloadFileLength {
		return Workload{}, fmt.Errorf("file is %d bytes; a workload file is at most %d", len(b), maxWorkloadFileLength)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return Workload{}, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return Workload{}, errors.New("the file is empty; it needs at least name, queues, messageSize, producers, rate and duration")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Workload{}, fmt.Errorf("line %d: a workload is a mapping of field: value", root.Line)
	}
	// Check the keys ourselves: the decoder's message for an unknown field names a Go type,
	// not the fields the file may use.
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key := root.Content[i]
		if !slices.Contains(workloadFields, key.Value) {
			return Workload{}, fmt.Errorf("line %d: unknown field %q; the fields are %s", key.Line, key.Value, strings.Join(workloadFields, ", "))
		}
		if seen[key.Value] {
			return Workload{}, fmt.Errorf("line %d: field %q appears twice", key.Line, key.Value)
		}
		seen[key.Value] = true
	}
	var w Workload
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&w); err != nil {
		return Workload{}, fmt.Errorf("decoding: %w", cleanYAMLError(err))
	}
	return w, nil
}

// cleanYAMLError drops the decoder's "yaml: unmarshal errors:" preamble and its Go type
// names, keeping the line and the reason.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		m = strings.Replace(m, "cannot unmarshal !!str", "want a number, got text", 1)
		m = strings.Replace(m, " into int", "", 1)
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

// WithDefaults returns w with the optional fields that are zero set to their defaults.
func (w Workload) WithDefaults() Workload {
	if w.Topic == "" {
		w.Topic = w.Name
	}
	if w.Group == "" {
		w.Group = w.Name
	}
	if w.TopicType == "" {
		w.TopicType = client.TopicNormal
	}
	if w.BatchSize == 0 {
		w.BatchSize = defaultWorkloadBatch
	}
	if w.Consumers > 0 && w.ReceiveBatch == 0 {
		w.ReceiveBatch = defaultReceiveBatch
	}
	if w.Consumers > 0 && w.Groups == 0 {
		w.Groups = 1
	}
	if w.Mode == ModeDrain {
		if w.Messages == 0 {
			w.Messages = defaultDrainMessages
		}
		if w.Timeout == 0 {
			w.Timeout = Duration(defaultDrainTimeout)
		}
	}
	if w.Rate.Max && w.Consumers > 0 && w.MaxBacklog == 0 {
		w.MaxBacklog = defaultMaxBacklog
	}
	if w.TopicType == client.TopicFIFO && w.MessageGroups == 0 {
		w.MessageGroups = defaultMessageGroups
	}
	if w.TopicType == client.TopicPriority && w.Priorities == 0 {
		w.Priorities = defaultPriorities
	}
	return w
}

// namePattern is what Floe accepts as a topic or group name; workload names follow it so
// they can name both, and a folder.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,127}$`)

// Validate reports the first field that cannot run, by its name in the file.
func (w Workload) Validate() error {
	switch {
	case w.Mode != "" && w.Mode != ModeDrain:
		return fmt.Errorf("mode %q: leave it out, or drain", w.Mode)
	case w.Name == "":
		return errors.New("name is required")
	case !namePattern.MatchString(w.Name):
		return fmt.Errorf("name %q: use 1 to 127 letters, digits, '-' or '_'", w.Name)
	case !namePattern.MatchString(w.Topic):
		return fmt.Errorf("topic %q: use 1 to 127 letters, digits, '-' or '_'", w.Topic)
	case w.Consumers > 0 && !namePattern.MatchString(w.Group):
		return fmt.Errorf("group %q: use 1 to 127 letters, digits, '-' or '_'", w.Group)
	case !slices.Contains([]client.TopicType{client.TopicNormal, client.TopicFIFO, client.TopicDelay, client.TopicPriority}, w.TopicType):
		return fmt.Errorf("topicType %q: the benchmark runs NORMAL, FIFO, DELAY or PRIORITY topics", w.TopicType)
	case w.Priorities != 0 && w.TopicType != client.TopicPriority:
		return fmt.Errorf("priorities applies only to PRIORITY topics, not %s", w.TopicType)
	case w.TopicType == client.TopicPriority && (w.Priorities < 2 || w.Priorities > 100):
		return fmt.Errorf("priorities must be 2 to 100, got %d", w.Priorities)
	case w.TopicType == client.TopicPriority && w.Queues%w.Priorities != 0:
		return fmt.Errorf("queues must be a multiple of priorities (%d) on a PRIORITY topic, got %d", w.Priorities, w.Queues)
	case w.Queues < 1:
		return fmt.Errorf("queues is required and must be at least 1, got %d", w.Queues)
	case w.MessageSize < 8:
		return fmt.Errorf("messageSize is required and must be at least 8 bytes (they carry the send time), got %d", w.MessageSize)
	case w.Producers < 1:
		return fmt.Errorf("producers is required and must be at least 1, got %d", w.Producers)
	case w.BatchSize < 1 || w.BatchSize > 1024:
		return fmt.Errorf("batchSize must be 1 to 1024 (the most messages of one send), got %d", w.BatchSize)
	case w.Consumers < 0:
		return fmt.Errorf("consumers must be 0 (produce only) or more, got %d", w.Consumers)
	case w.Consumers > 0 && (w.ReceiveBatch < 1 || w.ReceiveBatch > 1024):
		return fmt.Errorf("receiveBatch must be 1 to 1024, got %d", w.ReceiveBatch)
	case w.Groups < 0 || (w.Consumers > 0 && w.Groups < 1):
		return fmt.Errorf("groups must be at least 1, got %d", w.Groups)
	case w.Groups > 1 && w.Mode == ModeDrain:
		return errors.New("groups applies only without mode: drain (a drain has one group)")
	case w.Mode == ModeDrain:
		return w.validateDrain()
	case w.Messages != 0 || w.Timeout != 0 || w.AsyncAcks:
		return errors.New("messages, timeout and asyncAcks apply only with mode: drain")
	case !w.Rate.IsSet():
		return errors.New("rate is required: a target in messages per second, or max")
	case w.MaxBacklog < 0:
		return fmt.Errorf("maxBacklog must not be negative, got %d", w.MaxBacklog)
	case w.MaxBacklog > 0 && !(w.Rate.Max && w.Consumers > 0):
		return errors.New("maxBacklog applies only with rate: max and consumers; a fixed rate keeps its schedule")
	case w.MessageGroups < 0:
		return fmt.Errorf("messageGroups must not be negative, got %d", w.MessageGroups)
	case w.MessageGroups > 0 && w.TopicType != client.TopicFIFO:
		return fmt.Errorf("messageGroups applies only to FIFO topics, not %s", w.TopicType)
	case w.TopicType == client.TopicDelay && w.Delay <= 0:
		return errors.New("delay is required for a DELAY topic: how long after its send each message is due, such as 5s")
	case w.TopicType != client.TopicDelay && w.Delay != 0:
		return fmt.Errorf("delay applies only to DELAY topics, not %s", w.TopicType)
	case w.Warmup < 0:
		return fmt.Errorf("warmup must not be negative, got %s", time.Duration(w.Warmup))
	case w.Duration <= 0:
		return errors.New("duration is required and must be positive, such as 60s")
	}
	return nil
}

// ModeDrain is the workload mode of a drain run.
const ModeDrain = "drain"

// validateDrain checks the fields of a drain workload.
func (w Workload) validateDrain() error {
	switch {
	case w.Consumers < 1:
		return fmt.Errorf("consumers must be at least 1 in a drain, got %d", w.Consumers)
	case w.TopicType != client.TopicNormal:
		return fmt.Errorf("topicType %q: a drain runs on a NORMAL topic", w.TopicType)
	case w.MessageSize < minDrainMessageSize:
		return fmt.Errorf("messageSize must be at least %d bytes in a drain (send time and sequence number), got %d", minDrainMessageSize, w.MessageSize)
	case w.Messages < 1:
		return fmt.Errorf("messages must be at least 1, got %d", w.Messages)
	case w.Timeout < 0:
		return fmt.Errorf("timeout must not be negative, got %s", time.Duration(w.Timeout))
	case w.Rate.IsSet() || w.Warmup != 0 || w.Duration != 0 || w.MaxBacklog != 0:
		return errors.New("rate, warmup, duration and maxBacklog do not apply to a drain: it produces messages as fast as it can, then drains them")
	}
	return nil
}

// DrainConfig returns the drain run of a workload with mode: drain.
func (w Workload) DrainConfig() DrainConfig {
	cfg := DrainConfig{
		Produce: ProduceConfig{
			Topic:       w.Topic,
			TopicType:   w.TopicType,
			Queues:      w.Queues,
			MessageSize: w.MessageSize,
			BatchSize:   w.BatchSize,
			Producers:   w.Producers,
		},
		Messages:     w.Messages,
		Group:        w.Group,
		Consumers:    w.Consumers,
		ReceiveBatch: w.ReceiveBatch,
		AsyncAcks:    w.AsyncAcks,
		Timeout:      time.Duration(w.Timeout),
	}
	if w.Trace != nil && !*w.Trace {
		cfg.Produce.NoTrace = true
	}
	return cfg
}

// produceConfig returns the produce side of the workload.
func (w Workload) produceConfig() ProduceConfig {
	cfg := ProduceConfig{
		Topic:         w.Topic,
		TopicType:     w.TopicType,
		Queues:        w.Queues,
		MessageSize:   w.MessageSize,
		BatchSize:     w.BatchSize,
		Producers:     w.Producers,
		Rate:          w.Rate.PerSecond,
		Duration:      time.Duration(w.Duration),
		Warmup:        time.Duration(w.Warmup),
		MessageGroups: w.MessageGroups,
		Priorities:    w.Priorities,
		Delay:         time.Duration(w.Delay),
		StopOnTime:    true,
	}
	if w.Trace != nil && !*w.Trace {
		cfg.NoTrace = true
	}
	return cfg
}

// consumeConfig returns the consume side of the workload; it is used only with Consumers > 0.
func (w Workload) consumeConfig() ConsumeConfig {
	return ConsumeConfig{
		Group:     w.Group,
		Groups:    w.Groups,
		Topic:     w.Topic,
		Consumers: w.Consumers,
		BatchSize: w.ReceiveBatch,
		Duration:  time.Duration(w.Duration),
	}
}
