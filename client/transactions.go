package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// TransactionResult is the answer to SendTransaction: the messages are stored but stay
// invisible until the transaction is committed.
type TransactionResult struct {
	// TransactionID names the transaction for Commit and Rollback.
	TransactionID string `json:"transactionId"`
	// Messages holds one entry per message sent, in order.
	Messages []HalfMessage `json:"messages"`
}

// HalfMessage is a message stored under an open transaction.
type HalfMessage struct {
	// MessageID identifies the message.
	MessageID string `json:"messageId"`
}

// TransactionCheck is the server asking the producer group whether an unresolved
// transaction should be committed or rolled back.
type TransactionCheck struct {
	// TransactionID names the transaction.
	TransactionID string `json:"transactionId"`
	// Topic is the topic the messages were sent to.
	Topic string `json:"topic"`
	// Messages are the transaction's messages, so the checker can decide.
	Messages []MessageView `json:"messages"`
}

// SendTransaction stores messages as one transaction of producerGroup, invisible until
// Commit (POST /v1/topics/{topic}/transactions).
func (c *Client) SendTransaction(ctx context.Context, topic, producerGroup string, messages []Message) (TransactionResult, error) {
	in := struct {
		ProducerGroup string    `json:"producerGroup"`
		Messages      []Message `json:"messages"`
	}{producerGroup, messages}
	var out TransactionResult
	if _, err := c.do(ctx, http.MethodPost, pathOf("v1", "topics", topic, "transactions"), nil, in, &out); err != nil {
		return TransactionResult{}, fmt.Errorf("sending transaction of %d messages to topic %s: %w", len(messages), topic, err)
	}
	return out, nil
}

// Commit makes a transaction's messages visible (POST /v1/transactions/{id}/commit).
func (c *Client) Commit(ctx context.Context, transactionID string) error {
	if _, err := c.do(ctx, http.MethodPost, pathOf("v1", "transactions", transactionID, "commit"), nil, nil, nil); err != nil {
		return fmt.Errorf("committing transaction %s: %w", transactionID, err)
	}
	return nil
}

// Rollback drops a transaction's messages (POST /v1/transactions/{id}/rollback).
func (c *Client) Rollback(ctx context.Context, transactionID string) error {
	if _, err := c.do(ctx, http.MethodPost, pathOf("v1", "transactions", transactionID, "rollback"), nil, nil, nil); err != nil {
		return fmt.Errorf("rolling back transaction %s: %w", transactionID, err)
	}
	return nil
}

// TransactionChecks long-polls, for up to wait (whole seconds), for the transactions of
// producerGroup that the server wants resolved
// (GET /v1/producer-groups/{pg}/transaction-checks?waitSeconds=…). Answer each with Commit
// or Rollback, or do nothing to be asked again later. A wait under one second asks the
// server not to wait.
func (c *Client) TransactionChecks(ctx context.Context, producerGroup string, wait time.Duration) ([]TransactionCheck, error) {
	query := url.Values{"waitSeconds": {strconv.Itoa(int(wait / time.Second))}}
	var out struct {
		Checks []TransactionCheck `json:"checks"`
	}
	path := pathOf("v1", "producer-groups", producerGroup, "transaction-checks")
	if _, err := c.do(ctx, http.MethodGet, path, query, nil, &out); err != nil {
		return nil, fmt.Errorf("polling transaction checks of producer group %s: %w", producerGroup, err)
	}
	return out.Checks, nil
}

// TransactionState returns a transaction's state: PENDING, COMMITTED or ROLLED_BACK
// (GET /v1/transactions/{id}, a Floe extension).
func (c *Client) TransactionState(ctx context.Context, transactionID string) (string, error) {
	var out struct {
		State string `json:"state"`
	}
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "transactions", transactionID), nil, nil, &out); err != nil {
		return "", fmt.Errorf("reading transaction %s: %w", transactionID, err)
	}
	return out.State, nil
}
