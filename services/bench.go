package services

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/floemq/floe/bench"
	"github.com/floemq/floe/client"
)

const benchUsage = `floe bench drives a running Floe over HTTP and reports throughput, latency and cost.

Usage:
  floe bench produce [flags]   producers only
  floe bench consume [flags]   producers and consumers at once (receive + ack)
  floe bench delay [flags]     scheduled messages: how late they arrive after their time
`

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) >= 1 && args[0] == "delay" {
		return runBenchDelay(args[1:], stdout, stderr)
	}
	if len(args) < 1 || (args[0] != "produce" && args[0] != "consume") {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: say produce or consume")
	}
	mode := args[0]
	fs := flag.NewFlagSet("floe bench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint")
	var p bench.ProduceConfig
	fs.StringVar(&p.Topic, "topic", "bench", "topic (created as NORMAL if missing)")
	fs.IntVar(&p.Queues, "queues", 8, "queues of the topic when created")
	fs.IntVar(&p.MessageSize, "message-size", 1024, "message body bytes")
	fs.IntVar(&p.BatchSize, "batch", 32, "messages per send request")
	fs.IntVar(&p.Producers, "producers", 64, "concurrent producers")
	fs.IntVar(&p.Rate, "rate", 0, "target messages/s (0 = as fast as possible)")
	fs.DurationVar(&p.Duration, "duration", 60*time.Second, "measured duration")
	fs.DurationVar(&p.Warmup, "warmup", 5*time.Second, "unmeasured warm-up before it")
	var c bench.ConsumeConfig
	fs.StringVar(&c.Group, "group", "floe-bench", "consumer group (consume mode)")
	fs.IntVar(&c.Consumers, "consumers", 16, "concurrent consumers (consume mode)")
	fs.IntVar(&c.BatchSize, "receive-batch", 32, "messages per receive (consume mode)")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl := client.New(*url)
	var result any
	var md string
	if mode == "produce" {
		r, err := bench.RunProduce(ctx, cl, p, stderr)
		if err != nil {
			return err
		}
		result, md = r, r.Markdown()
	} else {
		c.Topic = p.Topic
		r, err := bench.RunProduceConsume(ctx, cl, p, c, stderr)
		if err != nil {
			return err
		}
		result, md = r, r.Markdown()
	}
	fmt.Fprintln(stdout, md)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(result, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", *jsonOut, err)
		}
	}
	return nil
}

func runBenchDelay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe bench delay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint")
	var d bench.DelayConfig
	fs.IntVar(&d.Rate, "rate", 5000, "scheduled messages per second")
	fs.DurationVar(&d.Duration, "duration", time.Minute, "how long to send")
	fs.DurationVar(&d.Delay, "delay", 10*time.Second, "how far ahead each message is scheduled")
	fs.IntVar(&d.MessageSize, "message-size", 1024, "message body bytes")
	fs.IntVar(&d.Consumers, "consumers", 16, "concurrent consumers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench.RunDelay(ctx, client.New(*url), d, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.Markdown())
	return nil
}
