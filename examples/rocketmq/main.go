// Command rocketmq sends and receives messages with the official Apache RocketMQ 5 Go
// client against Floe's gRPC port, unchanged: the README's "Using the official RocketMQ
// clients" section runs it against `make dev`.
//
//	curl -s -X POST localhost:8080/v1/topics -d '{"name":"orders","type":"NORMAL"}'
//	go run ./examples/rocketmq -endpoint 127.0.0.1:8081 -topic orders -group billing
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:8081", "Floe's gRPC address")
	topic := flag.String("topic", "orders", "a NORMAL topic")
	group := flag.String("group", "billing", "a consumer group (created on first use)")
	accessKey := flag.String("access-key", "", "key id, when Floe requires keys")
	secret := flag.String("access-secret", "", "the key's RocketMQ signing secret")
	n := flag.Int("n", 10, "messages to send")
	flag.Parse()

	// The client logs to ~/logs/rocketmq by default; print to the console instead.
	os.Setenv("mq.consoleAppender.enabled", "true")
	os.Setenv("rocketmq.client.logLevel", "warn")
	rmq.ResetLogger()

	cfg := &rmq.Config{Endpoint: *endpoint, ConsumerGroup: *group,
		Credentials: &credentials.SessionCredentials{AccessKey: *accessKey, AccessSecret: *secret}}

	// Subscribe first: a group sees a topic's messages from the moment it subscribed.
	consumer, err := rmq.NewSimpleConsumer(cfg, rmq.WithSimpleAwaitDuration(5*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{*topic: rmq.SUB_ALL}))
	must(err)
	must(consumer.Start())
	defer consumer.GracefulStop()

	producer, err := rmq.NewProducer(cfg, rmq.WithTopics(*topic))
	must(err)
	must(producer.Start())
	defer producer.GracefulStop()

	ctx := context.Background()
	for i := 0; i < *n; i++ {
		msg := &rmq.Message{Topic: *topic, Body: []byte(fmt.Sprintf("hello %d", i))}
		msg.SetTag("greeting")
		msg.SetKeys(fmt.Sprintf("order-%d", i))
		receipts, err := producer.Send(ctx, msg)
		must(err)
		fmt.Println("sent", receipts[0].MessageID)
	}
	for got := 0; got < *n; {
		msgs, err := consumer.Receive(ctx, 16, 30*time.Second)
		if err != nil {
			log.Printf("receive: %v", err) // MESSAGE_NOT_FOUND while nothing is ready
			continue
		}
		for _, m := range msgs {
			fmt.Printf("received %s %q (attempt %d)\n", m.GetMessageId(), m.GetBody(), m.GetDeliveryAttempt())
			must(consumer.Ack(ctx, m))
			got++
		}
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
