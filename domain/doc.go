// Package domain holds the types and failures that Floe's roles (ingest, reader, admin)
// and its two front ends (httpapi, grpcapi) share: messages as a producer sends them
// (Message) and as the store hands them back (MessageView, ReceivedMessage), the outcome
// of a send (SendResult), and the kinds of failure a client can act on (ErrTopicNotFound,
// ErrGroupNotFound, ...).
//
// A role returns an *Error of a Kind; each front end turns the kind into its protocol's
// answer through one table (httpapi: HTTP status and code; grpcapi: RocketMQ code), and
// callers test for a kind with errors.Is. The package imports nothing of Floe, so every
// layer may use it.
package domain
