package services

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/floemq/floe/client"
)

// Exit codes of the admin commands (floe topics, groups, send, receive, messages, trace,
// dlq), so scripts can tell what went wrong without reading the message.
const (
	// ExitFailed: the node failed or could not be reached.
	ExitFailed = 1
	// ExitUsage: a bad command line, or a request the node called bad (400).
	ExitUsage = 2
	// ExitNotFound: a topic, group, message or task that does not exist (404).
	ExitNotFound = 3
	// ExitConflict: the node refused a change as it stands (409), e.g. removing queues.
	ExitConflict = 4
	// ExitDenied: no key, or a key without the permission (401, 403).
	ExitDenied = 5
)

// exitError carries an exit code with its error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// exitCodeOf maps an error to the command's exit code.
func exitCodeOf(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var api *client.APIError
	if errors.As(err, &api) {
		switch {
		case api.Status == http.StatusNotFound:
			return ExitNotFound
		case api.Status == http.StatusConflict:
			return ExitConflict
		case api.Status == http.StatusUnauthorized || api.Status == http.StatusForbidden:
			return ExitDenied
		case api.Status == http.StatusBadRequest || api.Status == http.StatusRequestEntityTooLarge:
			return ExitUsage
		}
	}
	return ExitFailed
}

const adminUsage = `Admin commands (like mqadmin). Common flags, before or after the arguments:
  --url URL     a node's base URL (FLOE_URL; default http://127.0.0.1:8080)
  --key KEY     API key (FLOE_KEY)
  -o table|json output: human-readable tables (default) or JSON for scripts
Exit codes: 0 ok, 1 failed or unreachable, 2 bad usage or bad request, 3 not found,
4 conflict (refused as things stand), 5 no key or permission.

  floe topics list | get T | create T [--type --queues --retention-hours --lite-ttl-minutes
                                        --max-priority --priority-aging-seconds --dedup-window-seconds]
              | update T [--queues --retention-hours --trace --lite-ttl-minutes] | delete T
  floe groups list | get G | create G [--order --max-attempts --backoff 10,30,60]
              | update G [--order --max-attempts --backoff] | delete G | lag G
              | subscribe G T [--filter EXPR] [--sql]
              | reset G --topic T --time RFC3339          consume T again from a time
              | reset G --topic T --queue Q --offset N    one queue to an offset
              | reset G --to-end [--topic T]              skip the backlog
              | reset G --from-group G2                   copy G2's consumed offsets
  floe send T [BODY | --file F | - (stdin)] [--tag --keys K1,K2 --property k=v --delay D --message-group MG --priority P --dedup-id ID]
  floe receive G T [--max N --wait S --invisible S --ack]
  floe messages get T ID | by-key T KEY | browse T [--from --to --oldest --limit --tag --msg-key --property --cursor]
  floe messages resend T ID --group G        deliver one message to a group again
  floe trace T ID
  floe dlq list G [--limit N] | redrive G [--to T] [--id ID ...] [--rate N] [--no-wait]
  floe clients G | --producers T             consumers of G, producers of T seen in the last minute
`

// cli holds what every admin command shares.
type cli struct {
	fs      *flag.FlagSet
	url     string
	key     string
	output  string
	timeout time.Duration
	stdout  io.Writer
	stderr  io.Writer
}

func newCLI(name string, stdout, stderr io.Writer) *cli {
	c := &cli{fs: flag.NewFlagSet(name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.fs.SetOutput(stderr)
	c.fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of %s:\n", name)
		c.fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+adminUsage)
	}
	c.fs.StringVar(&c.url, "url", "", "base URL of a floe node (FLOE_URL; default http://127.0.0.1:8080)")
	c.fs.StringVar(&c.key, "key", "", "API key (FLOE_KEY)")
	c.fs.StringVar(&c.output, "o", "table", "output: table or json")
	c.fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long one request may take")
	return c
}

// parse reads flags and arguments in any order ("create orders --queues 4").
func (c *cli) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: ExitUsage, err: err}
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if c.url == "" {
		c.url = cmpOr(os.Getenv("FLOE_URL"), "http://127.0.0.1:8080")
	}
	if c.key == "" {
		c.key = os.Getenv("FLOE_KEY")
	}
	if c.output != "table" && c.output != "json" {
		return nil, usageErrorf("-o must be table or json, not %q", c.output)
	}
	return pos, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (c *cli) client() *client.Client {
	var opts []client.Option
	if c.key != "" {
		opts = append(opts, client.WithAPIKey(c.key))
	}
	return client.New(strings.TrimRight(c.url, "/"), opts...)
}

func (c *cli) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

// print writes v as JSON with -o json, else calls table.
func (c *cli) print(v any, table func(w *tabwriter.Writer)) error {
	if c.output == "json" {
		return printJSON(c.stdout, v)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

func wantArgs(pos []string, n int, what string) error {
	if len(pos) != n {
		return usageErrorf("want %s", what)
	}
	return nil
}

// optInt is an int flag that records whether it was given.
type optInt struct{ v *int }

func (o *optInt) String() string {
	if o.v == nil {
		return ""
	}
	return strconv.Itoa(*o.v)
}

func (o *optInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	o.v = &n
	return nil
}

// optBool is a bool flag that records whether it was given.
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}

func (o *optBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	o.v = &b
	return nil
}

func (o *optBool) IsBoolFlag() bool { return true }

// listFlag collects repeated values.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func sub(args []string, what string, stderr io.Writer) (string, []string, error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, adminUsage)
		if len(args) == 0 {
			return "", nil, usageErrorf("%s: want a command", what)
		}
		return "", nil, flag.ErrHelp
	}
	return args[0], args[1:], nil
}

func runTopics(args []string, stdout, stderr io.Writer) error {
	cmd, args, err := sub(args, "floe topics", stderr)
	if err != nil {
		return err
	}
	c := newCLI("floe topics "+cmd, stdout, stderr)
	var typ string
	var queues, retention, liteTTL, maxPriority, aging, dedupWindow optInt
	var trace optBool
	if cmd == "create" || cmd == "update" {
		c.fs.Var(&queues, "queues", "queue count (update: may only grow)")
		c.fs.Var(&retention, "retention-hours", "hours messages are kept")
		c.fs.Var(&liteTTL, "lite-ttl-minutes", "LITE topics: minutes without traffic before a lite topic expires")
		c.fs.Var(&trace, "trace", "record message traces")
	}
	if cmd == "create" {
		c.fs.StringVar(&typ, "type", "NORMAL", "NORMAL, FIFO, DELAY, TRANSACTION, LITE or PRIORITY")
		c.fs.Var(&maxPriority, "max-priority", "PRIORITY topics: the highest priority (default 9)")
		c.fs.Var(&aging, "priority-aging-seconds", "PRIORITY topics: seconds of waiting worth one priority level (default 60)")
		c.fs.Var(&dedupWindow, "dedup-window-seconds", "how long a message's deduplicationId is remembered (default 300)")
	}
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	ctx, cancel := c.ctx()
	defer cancel()
	api := c.client()
	showTopics := func(ts []client.Topic) error {
		return c.print(ts, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tTYPE\tQUEUES\tRETENTION\tCREATED")
			for _, t := range ts {
				fmt.Fprintf(w, "%s\t%s\t%d\t%dh\t%s\n", t.Name, t.Type, t.Queues, t.RetentionHours, t.CreatedAt.Format(time.RFC3339))
			}
		})
	}
	switch cmd {
	case "list":
		ts, err := api.ListTopics(ctx)
		if err != nil {
			return err
		}
		return showTopics(ts)
	case "get":
		if err := wantArgs(pos, 1, "a topic name"); err != nil {
			return err
		}
		t, err := api.GetTopic(ctx, pos[0])
		if err != nil {
			return err
		}
		qs, err := api.Queues(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.print(map[string]any{"topic": t, "queues": qs}, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "name:\t%s\ntype:\t%s\nretention:\t%dh\ncreated:\t%s\n\n", t.Name, t.Type, t.RetentionHours, t.CreatedAt.Format(time.RFC3339))
			fmt.Fprintln(w, "QUEUE\tLITE TOPIC\tMIN OFFSET\tMAX OFFSET\tMESSAGES")
			for _, q := range qs {
				fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%d\n", q.QueueID, q.LiteTopic, q.MinOffset, q.MaxOffset, q.MaxOffset-q.MinOffset)
			}
		})
	case "create":
		if err := wantArgs(pos, 1, "a topic name"); err != nil {
			return err
		}
		spec := client.TopicSpec{Name: pos[0], Type: client.TopicType(strings.ToUpper(typ)), Trace: trace.v}
		if queues.v != nil {
			spec.Queues = *queues.v
		}
		if retention.v != nil {
			spec.RetentionHours = *retention.v
		}
		if liteTTL.v != nil {
			spec.LiteTTLMinutes = *liteTTL.v
		}
		if maxPriority.v != nil {
			spec.MaxPriority = *maxPriority.v
		}
		if aging.v != nil {
			spec.PriorityAgingSeconds = *aging.v
		}
		if dedupWindow.v != nil {
			spec.DeduplicationWindowSeconds = *dedupWindow.v
		}
		t, _, err := api.CreateTopic(ctx, spec)
		if err != nil {
			return err
		}
		return showTopics([]client.Topic{t})
	case "update":
		if err := wantArgs(pos, 1, "a topic name"); err != nil {
			return err
		}
		t, err := api.UpdateTopic(ctx, pos[0], client.TopicChange{Queues: queues.v, RetentionHours: retention.v, LiteTTLMinutes: liteTTL.v, Trace: trace.v})
		if err != nil {
			return err
		}
		return showTopics([]client.Topic{t})
	case "delete":
		if err := wantArgs(pos, 1, "a topic name"); err != nil {
			return err
		}
		if err := api.DeleteTopic(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "topic %s deleted\n", pos[0])
		return nil
	}
	fmt.Fprint(stderr, adminUsage)
	return usageErrorf("floe topics: unknown command %q", cmd)
}

func parseBackoff(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, usageErrorf("--backoff: want seconds separated by commas, such as 10,30,60")
		}
		out = append(out, n)
	}
	return out, nil
}

func runGroups(args []string, stdout, stderr io.Writer) error {
	cmd, args, err := sub(args, "floe groups", stderr)
	if err != nil {
		return err
	}
	c := newCLI("floe groups "+cmd, stdout, stderr)
	var order, backoff, topic, at, fromGroup, filterExpr string
	var maxAttempts, queue optInt
	var offset int64 = -1
	var toEnd, sql bool
	switch cmd {
	case "create", "update":
		c.fs.StringVar(&order, "order", "", "delivery order: CONCURRENT or ORDERLY")
		c.fs.Var(&maxAttempts, "max-attempts", "deliveries before a message goes to the dead-letter topic")
		c.fs.StringVar(&backoff, "backoff", "", "retry backoff in seconds, comma-separated (the last repeats)")
	case "subscribe":
		c.fs.StringVar(&filterExpr, "filter", "*", "tag expression (TagA || TagB) or, with --sql, a SQL92 expression")
		c.fs.BoolVar(&sql, "sql", false, "the filter is SQL92 over message properties")
	case "reset":
		c.fs.StringVar(&topic, "topic", "", "the topic to reset")
		c.fs.StringVar(&at, "time", "", "consume again from this time (RFC 3339)")
		c.fs.Var(&queue, "queue", "the queue to move (with --offset)")
		c.fs.Int64Var(&offset, "offset", -1, "the offset to move --queue to")
		c.fs.BoolVar(&toEnd, "to-end", false, "skip the backlog: move to the end of every queue (of --topic, or all)")
		c.fs.StringVar(&fromGroup, "from-group", "", "copy this group's consumed offsets")
	}
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	ctx, cancel := c.ctx()
	defer cancel()
	api := c.client()
	showGroups := func(gs []client.Group) error {
		return c.print(gs, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tORDER\tMAX ATTEMPTS\tSUBSCRIPTIONS")
			for _, g := range gs {
				var subs []string
				for _, s := range g.Subscriptions {
					subs = append(subs, s.Topic+"("+cmpOr(s.Filter, "*")+")")
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", g.Name, g.DeliveryOrder, g.MaxDeliveryAttempts, strings.Join(subs, " "))
			}
		})
	}
	showMoves := func(ms []client.OffsetMove) error {
		return c.print(ms, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "TOPIC\tQUEUE\tOFFSET")
			for _, m := range ms {
				fmt.Fprintf(w, "%s\t%d\t%d\n", m.Topic, m.QueueID, m.Offset)
			}
		})
	}
	name := ""
	if cmd != "list" {
		if len(pos) < 1 {
			return usageErrorf("floe groups %s: want a group name", cmd)
		}
		name = pos[0]
	}
	switch cmd {
	case "list":
		gs, err := api.ListGroups(ctx)
		if err != nil {
			return err
		}
		return showGroups(gs)
	case "get":
		g, err := api.GetGroup(ctx, name)
		if err != nil {
			return err
		}
		return showGroups([]client.Group{g})
	case "create":
		spec := client.GroupSpec{Name: name, DeliveryOrder: client.DeliveryOrder(strings.ToUpper(order))}
		if maxAttempts.v != nil {
			spec.MaxDeliveryAttempts = *maxAttempts.v
		}
		if backoff != "" {
			if spec.RetryPolicy.BackoffSeconds, err = parseBackoff(backoff); err != nil {
				return err
			}
		}
		g, _, err := api.CreateGroup(ctx, spec)
		if err != nil {
			return err
		}
		return showGroups([]client.Group{g})
	case "update":
		var ch client.GroupChange
		if order != "" {
			o := client.DeliveryOrder(strings.ToUpper(order))
			ch.DeliveryOrder = &o
		}
		ch.MaxDeliveryAttempts = maxAttempts.v
		if backoff != "" {
			b, err := parseBackoff(backoff)
			if err != nil {
				return err
			}
			ch.RetryPolicy = &client.RetryPolicy{BackoffSeconds: b}
		}
		g, err := api.UpdateGroup(ctx, name, ch)
		if err != nil {
			return err
		}
		return showGroups([]client.Group{g})
	case "delete":
		if err := api.DeleteGroup(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "group %s deleted\n", name)
		return nil
	case "subscribe":
		if err := wantArgs(pos, 2, "a group and a topic"); err != nil {
			return err
		}
		spec := client.SubscriptionSpec{Filter: filterExpr}
		if sql {
			spec.FilterType = "SQL92"
		}
		if err := api.Subscribe(ctx, name, pos[1], spec); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "group %s subscribes to %s (%s)\n", name, pos[1], filterExpr)
		return nil
	case "lag":
		lag, err := api.Lag(ctx, name)
		if err != nil {
			return err
		}
		return c.print(lag, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "TOPIC\tQUEUE\tMAX OFFSET\tCONSUMED\tINFLIGHT\tREADY\tOLDEST UNACKED")
			for _, t := range lag.Topics {
				for _, q := range t.Queues {
					fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%.0fs\n", t.Topic, q.QueueID, q.MaxOffset, q.ConsumedOffset, q.Inflight, q.Ready, q.OldestUnackedAge)
				}
			}
			fmt.Fprintf(w, "TOTAL\t\t\t\t%d\t%d\t\n", lag.Totals.Inflight, lag.Totals.Ready)
		})
	case "reset":
		modes := 0
		for _, b := range []bool{at != "", queue.v != nil || offset >= 0, toEnd, fromGroup != ""} {
			if b {
				modes++
			}
		}
		if modes != 1 {
			return usageErrorf("floe groups reset: want one of --time, --queue with --offset, --to-end, --from-group")
		}
		switch {
		case at != "":
			t, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				return usageErrorf("--time: want an RFC 3339 time, such as 2026-11-24T00:00:00Z")
			}
			if topic == "" {
				return usageErrorf("floe groups reset --time: want --topic")
			}
			if err := api.Reset(ctx, name, topic, t); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "group %s consumes %s again from %s\n", name, topic, t.Format(time.RFC3339))
			return nil
		case queue.v != nil || offset >= 0:
			if topic == "" || queue.v == nil || offset < 0 {
				return usageErrorf("floe groups reset --offset: want --topic, --queue and --offset")
			}
			if err := api.SetQueueOffset(ctx, name, topic, *queue.v, offset); err != nil {
				return err
			}
			return showMoves([]client.OffsetMove{{Topic: topic, QueueID: *queue.v, Offset: offset}})
		case toEnd:
			ms, err := api.SkipBacklog(ctx, name, topic)
			if err != nil {
				return err
			}
			return showMoves(ms)
		default:
			ms, err := api.CopyOffsets(ctx, name, fromGroup)
			if err != nil {
				return err
			}
			return showMoves(ms)
		}
	}
	fmt.Fprint(stderr, adminUsage)
	return usageErrorf("floe groups: unknown command %q", cmd)
}

func runSend(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := newCLI("floe send", stdout, stderr)
	var file, tag, group, delay, dedupID string
	var keys, props listFlag
	var priority optInt
	c.fs.StringVar(&file, "file", "", "read the body from this file")
	c.fs.StringVar(&tag, "tag", "", "the message's tag")
	c.fs.Var(&keys, "keys", "the message's keys, comma-separated (repeat for more); --key is the API key")
	c.fs.Var(&props, "property", "a property name=value (repeat for several)")
	c.fs.StringVar(&delay, "delay", "", "deliver after this long, such as 30s (DELAY topics)")
	c.fs.StringVar(&group, "message-group", "", "message group (FIFO topics)")
	c.fs.Var(&priority, "priority", "the message's priority (PRIORITY topics; higher is delivered first)")
	c.fs.StringVar(&dedupID, "dedup-id", "", "deduplication id: a resend within the topic's window is not stored again")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageErrorf("floe send: want a topic and a body (or --file, or - for stdin)")
	}
	var body []byte
	switch {
	case file != "" && len(pos) == 2:
		return usageErrorf("floe send: a body argument or --file, not both")
	case file != "":
		if body, err = os.ReadFile(file); err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("reading the body: %w", err)}
		}
	case len(pos) == 2 && pos[1] != "-":
		body = []byte(pos[1])
	default:
		if body, err = io.ReadAll(io.LimitReader(stdin, 64<<20)); err != nil {
			return fmt.Errorf("reading the body from stdin: %w", err)
		}
	}
	m := client.Message{Body: body, Tag: tag, MessageGroup: group, Priority: priority.v, DeduplicationID: dedupID}
	for _, k := range keys {
		m.Keys = append(m.Keys, strings.Split(k, ",")...)
	}
	for _, p := range props {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return usageErrorf("--property: want name=value, not %q", p)
		}
		if m.Properties == nil {
			m.Properties = map[string]string{}
		}
		m.Properties[k] = v
	}
	if delay != "" {
		d, err := time.ParseDuration(delay)
		if err != nil {
			return usageErrorf("--delay: want a duration such as 30s")
		}
		t := time.Now().Add(d)
		m.DeliveryTime = &t
	}
	ctx, cancel := c.ctx()
	defer cancel()
	res, err := c.client().Send(ctx, pos[0], []client.Message{m})
	if err != nil {
		return err
	}
	return c.print(res, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "MESSAGE ID\tQUEUE\tOFFSET")
		for _, r := range res {
			fmt.Fprintf(w, "%s\t%d\t%d\n", r.MessageID, r.QueueID, r.Offset)
		}
	})
}

// preview shows a body as text when it is printable UTF-8, else as hex.
func preview(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	if utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return r < 0x20 && r != '\t' }) {
		return string(b)
	}
	return "0x" + hex.EncodeToString(b)
}

func showMessages(c *cli, ms []client.MessageView) error {
	return c.print(ms, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "MESSAGE ID\tQUEUE\tOFFSET\tSTORED\tTAG\tKEYS\tBODY")
		for _, m := range ms {
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", m.MessageID, m.QueueID, m.Offset, m.StoreTime.Format(time.RFC3339Nano),
				m.Tag, strings.Join(m.Keys, ","), preview(m.Body, 60))
		}
	})
}

func runReceive(args []string, stdout, stderr io.Writer) error {
	c := newCLI("floe receive", stdout, stderr)
	max := c.fs.Int("max", 16, "at most this many messages")
	wait := c.fs.Int("wait", 5, "seconds to wait for messages")
	invisible := c.fs.Int("invisible", 30, "seconds the messages stay hidden from other consumers")
	ack := c.fs.Bool("ack", false, "acknowledge the messages received")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, "a group and a topic"); err != nil {
		return err
	}
	ctx, cancel := c.ctx()
	defer cancel()
	api := c.client()
	msgs, err := api.Receive(ctx, pos[0], pos[1], client.ReceiveRequest{MaxMessages: *max, WaitSeconds: *wait, InvisibleSeconds: *invisible})
	if err != nil {
		return err
	}
	if *ack && len(msgs) > 0 {
		handles := make([]string, len(msgs))
		for i, m := range msgs {
			handles[i] = m.ReceiptHandle
		}
		if _, err := api.Ack(ctx, pos[0], pos[1], handles); err != nil {
			return err
		}
	}
	if msgs == nil {
		msgs = []client.ReceivedMessage{}
	}
	return c.print(msgs, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "MESSAGE ID\tQUEUE\tOFFSET\tATTEMPT\tTAG\tBODY")
		for _, m := range msgs {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\t%s\n", m.MessageID, m.QueueID, m.Offset, m.DeliveryAttempt, m.Tag, preview(m.Body, 60))
		}
	})
}

func runMessages(args []string, stdout, stderr io.Writer) error {
	cmd, args, err := sub(args, "floe messages", stderr)
	if err != nil {
		return err
	}
	c := newCLI("floe messages "+cmd, stdout, stderr)
	var from, to, cursor, tag, key, prop, group string
	var oldest bool
	var limit int
	if cmd == "browse" {
		c.fs.StringVar(&from, "from", "", "start of the window (RFC 3339, or a duration back from now such as 2h)")
		c.fs.StringVar(&to, "to", "", "end of the window (RFC 3339; default now)")
		c.fs.BoolVar(&oldest, "oldest", false, "oldest first (default newest first)")
		c.fs.IntVar(&limit, "limit", 50, "messages per page")
		c.fs.StringVar(&cursor, "cursor", "", "the next page's cursor (printed after a page)")
		c.fs.StringVar(&tag, "tag", "", "only messages with this tag")
		c.fs.StringVar(&key, "msg-key", "", "only messages with this key (--key is the API key)")
		c.fs.StringVar(&prop, "property", "", "only messages with this property, name=value")
	}
	if cmd == "resend" {
		c.fs.StringVar(&group, "group", "", "the group that receives the message again")
	}
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	ctx, cancel := c.ctx()
	defer cancel()
	api := c.client()
	switch cmd {
	case "resend":
		if err := wantArgs(pos, 2, "a topic and a message id"); err != nil {
			return err
		}
		if group == "" {
			return usageErrorf("floe messages resend: want --group")
		}
		if err := api.Resend(ctx, group, pos[0], pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "group %s receives message %s again\n", group, pos[1])
		return nil
	case "get":
		if err := wantArgs(pos, 2, "a topic and a message id"); err != nil {
			return err
		}
		m, err := api.GetMessage(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		return c.print(m, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "id:\t%s\ntopic:\t%s\nqueue:\t%d\noffset:\t%d\ntag:\t%s\nkeys:\t%s\nborn:\t%s\nstored:\t%s\n",
				m.MessageID, m.Topic, m.QueueID, m.Offset, m.Tag, strings.Join(m.Keys, ","), m.BornTime.Format(time.RFC3339Nano), m.StoreTime.Format(time.RFC3339Nano))
			for k, v := range m.Properties {
				fmt.Fprintf(w, "property %s:\t%s\n", k, v)
			}
			fmt.Fprintf(w, "body (%d bytes):\t%s\n", len(m.Body), preview(m.Body, 4096))
		})
	case "by-key":
		if err := wantArgs(pos, 2, "a topic and a key"); err != nil {
			return err
		}
		ms, err := api.MessagesByKey(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		return showMessages(c, ms)
	case "browse":
		if err := wantArgs(pos, 1, "a topic"); err != nil {
			return err
		}
		o := client.BrowseOptions{OldestFirst: oldest, Limit: limit, Cursor: cursor, Tag: tag, Key: key, Property: prop}
		if from != "" {
			if d, err := time.ParseDuration(from); err == nil {
				o.From = time.Now().Add(-d)
			} else if o.From, err = time.Parse(time.RFC3339Nano, from); err != nil {
				return usageErrorf("--from: want an RFC 3339 time or a duration such as 2h")
			}
		}
		if to != "" {
			if o.To, err = time.Parse(time.RFC3339Nano, to); err != nil {
				return usageErrorf("--to: want an RFC 3339 time")
			}
		}
		page, err := api.Browse(ctx, pos[0], o)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return printJSON(stdout, page)
		}
		if err := showMessages(c, page.Messages); err != nil {
			return err
		}
		if page.NextCursor != "" {
			fmt.Fprintf(stderr, "more: --cursor %s\n", page.NextCursor)
		}
		return nil
	}
	fmt.Fprint(stderr, adminUsage)
	return usageErrorf("floe messages: unknown command %q", cmd)
}

func runTrace(args []string, stdout, stderr io.Writer) error {
	c := newCLI("floe trace", stdout, stderr)
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, "a topic and a message id"); err != nil {
		return err
	}
	ctx, cancel := c.ctx()
	defer cancel()
	evs, err := c.client().Trace(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []client.TraceEvent{}
	}
	return c.print(evs, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "TIME\tEVENT\tDETAILS")
		for _, e := range evs {
			var details []string
			for _, k := range []string{"node", "queueId", "offset", "group", "consumer", "attempt", "latencyMs"} {
				if v, ok := e.Attributes[k]; ok {
					details = append(details, k+"="+strings.Trim(string(v), `"`))
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", e.Time.Format("15:04:05.000"), e.Type, strings.Join(details, " "))
		}
	})
}

func runDLQ(args []string, stdout, stderr io.Writer) error {
	cmd, args, err := sub(args, "floe dlq", stderr)
	if err != nil {
		return err
	}
	c := newCLI("floe dlq "+cmd, stdout, stderr)
	var to string
	var ids listFlag
	var rate, limit int
	var noWait bool
	switch cmd {
	case "list":
		c.fs.IntVar(&limit, "limit", 100, "at most this many dead letters (oldest first)")
	case "redrive":
		c.fs.StringVar(&to, "to", "", "the topic to move them to (default: the group's only subscribed topic)")
		c.fs.Var(&ids, "id", "a dead letter's message id (repeat; default: every dead letter)")
		c.fs.IntVar(&rate, "rate", 0, "at most this many messages a second (default 100)")
		c.fs.BoolVar(&noWait, "no-wait", false, "print the task and return at once")
	}
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "a group"); err != nil {
		return err
	}
	group := pos[0]
	dlq := "%DLQ%" + group
	api := c.client()
	ctx, cancel := c.ctx()
	defer cancel()
	switch cmd {
	case "list":
		qs, err := api.Queues(ctx, dlq)
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && apiErr.Code == "TOPIC_NOT_FOUND" {
			// No message was ever dead-lettered: the topic comes with the first.
			if _, gerr := api.GetGroup(ctx, group); gerr != nil {
				return gerr
			}
			return showMessages(c, []client.MessageView{})
		}
		if err != nil {
			return err
		}
		var ms []client.MessageView
		for _, q := range qs {
			page, err := api.ReadQueue(ctx, dlq, q.QueueID, q.MinOffset, limit)
			if err != nil {
				return err
			}
			ms = append(ms, page...)
		}
		if ms == nil {
			ms = []client.MessageView{}
		}
		return showMessages(c, ms)
	case "redrive":
		task, err := api.StartRedrive(ctx, group, client.RedriveSpec{TargetTopic: to, MessageIDs: ids, RatePerSecond: rate})
		if err != nil {
			return err
		}
		cancel()
		if !noWait {
			if task, err = c.waitRedrive(api, group, task); err != nil {
				return err
			}
		}
		if err := c.print(task, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "TASK\tSTATE\tTARGET\tMOVED\tSKIPPED\tTOTAL")
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\n", task.ID, task.State, task.TargetTopic, task.Moved, task.Skipped, task.Total)
		}); err != nil {
			return err
		}
		if task.Done() && task.State != "SUCCEEDED" {
			return fmt.Errorf("redrive task %s ended %s %s", task.ID, task.State, task.Error)
		}
		return nil
	}
	fmt.Fprint(stderr, adminUsage)
	return usageErrorf("floe dlq: unknown command %q", cmd)
}

// waitRedrive polls a task until it ends, drawing a progress bar on stderr.
func (c *cli) waitRedrive(api *client.Client, group string, task client.RedriveTask) (client.RedriveTask, error) {
	for {
		done := task.Moved + task.Skipped
		width := 30
		filled := width
		if task.Total > 0 {
			filled = int(int64(width) * done / task.Total)
		}
		fmt.Fprintf(c.stderr, "\rredrive %s [%s%s] %d/%d", task.ID, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, task.Total)
		if task.Done() {
			fmt.Fprintln(c.stderr)
			return task, nil
		}
		time.Sleep(500 * time.Millisecond)
		ctx, cancel := c.ctx()
		t, err := api.GetRedrive(ctx, group, task.ID)
		cancel()
		if err != nil {
			fmt.Fprintln(c.stderr)
			return task, err
		}
		task = t
	}
}

// healthURL turns a node's base URL into its /healthz URL; a URL that already names a path
// is kept, so health checks written with the full URL go on working.
func healthURL(u string) string {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.Index(rest, "/"); i < 0 || rest[i:] == "/" {
		return strings.TrimRight(u, "/") + "/healthz"
	}
	return u
}
