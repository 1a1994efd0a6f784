package ingest

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"
)

// Config tunes the write path. Zero values take the defaults named on each field.
type Config struct {
	// Linger is how long a batch waits for more messages before it flushes; default 100 ms.
	Linger time.Duration
	// FlushBytes flushes a batch as soon as it holds this many message bytes; default 8 MiB.
	FlushBytes int64
	// MaxBufferedBytes bounds message bytes held by this node (batching, uploading,
	// committing); past it, requests wait up to BufferWait and then get 429. Default 256 MiB.
	MaxBufferedBytes int64
	// BufferWait is how long a request waits for buffer space; default 2 s.
	BufferWait time.Duration
	// MaxUploads is how many segment PUTs may run at once; default 4.
	MaxUploads int
	// PutTimeout bounds one flush's upload, retries included; default 10 s.
	PutTimeout time.Duration
	// CommitTimeout bounds one flush's commit, retries included; default 10 s.
	CommitTimeout time.Duration
	// MaxBodyBytes is the largest message body; default 4 MiB.
	MaxBodyBytes int
	// MaxMessagesPerRequest bounds one send; default 1024.
	MaxMessagesPerRequest int
	// MaxRequestBytes bounds one HTTP request body; default 64 MiB.
	MaxRequestBytes int64
	// TopicCacheTTL is how long topic settings are cached; default 5 s.
	TopicCacheTTL time.Duration
	// MaxDelay is the furthest a delayed message may be scheduled ahead; default 3 days.
	MaxDelay time.Duration
	// TimerBucket groups delayed messages of a flush into one timer per bucket of delivery
	// time; default 250 ms. A timer fires at its latest message's time, so none is early.
	TimerBucket time.Duration
	// TransactionFirstCheck is how long after a transaction begins its producer group is
	// first asked about it; default 6 s.
	TransactionFirstCheck time.Duration
	// TransactionCheckInterval is the wait between two checks of one transaction; default 30 s.
	TransactionCheckInterval time.Duration
	// TransactionMaxChecks is how many times a producer group is asked; default 15.
	TransactionMaxChecks int
	// NodeID names this node in object keys and message ids; default random.
	NodeID string
	// KeyPrefix is the object key prefix of segments; default "segments/".
	KeyPrefix string
	// RecallSecret signs the recall handles of delayed messages (at least 16 bytes; every
	// ingest node must share it); default random, so handles verify only on this process.
	RecallSecret []byte
	// Logger receives the write path's logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Chunks, when set, is offered the stored bytes of each chunk right after its segment
	// is in the bucket: a reader in the same process then serves fresh messages without a
	// GET of what this node just wrote. Nil (the default) offers nothing.
	Chunks ChunkPrimer
}

// ChunkPrimer takes the stored bytes of a chunk: object key, byte offset in the object and
// the chunk's bytes (a window of the whole object: copy what you keep; never modified).
type ChunkPrimer interface {
	Prime(key string, offset int64, chunk []byte)
}

func (c Config) withDefaults() Config {
	c.Linger = cmp.Or(c.Linger, 100*time.Millisecond)
	c.FlushBytes = cmp.Or(c.FlushBytes, 8<<20)
	c.MaxBufferedBytes = cmp.Or(c.MaxBufferedBytes, 256<<20)
	c.BufferWait = cmp.Or(c.BufferWait, 2*time.Second)
	c.MaxUploads = cmp.Or(c.MaxUploads, 4)
	c.PutTimeout = cmp.Or(c.PutTimeout, 10*time.Second)
	c.CommitTimeout = cmp.Or(c.CommitTimeout, 10*time.Second)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, 4<<20)
	c.MaxMessagesPerRequest = cmp.Or(c.MaxMessagesPerRequest, 1024)
	c.MaxRequestBytes = cmp.Or(c.MaxRequestBytes, 64<<20)
	c.TopicCacheTTL = cmp.Or(c.TopicCacheTTL, 5*time.Second)
	c.MaxDelay = cmp.Or(c.MaxDelay, 3*24*time.Hour)
	c.TimerBucket = cmp.Or(c.TimerBucket, 250*time.Millisecond)
	c.TransactionFirstCheck = cmp.Or(c.TransactionFirstCheck, 6*time.Second)
	c.TransactionCheckInterval = cmp.Or(c.TransactionCheckInterval, 30*time.Second)
	c.TransactionMaxChecks = cmp.Or(c.TransactionMaxChecks, 15)
	if c.NodeID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.NodeID = hex.EncodeToString(b)
	}
	c.KeyPrefix = cmp.Or(c.KeyPrefix, "segments/")
	if len(c.RecallSecret) == 0 {
		c.RecallSecret = make([]byte, 32)
		_, _ = rand.Read(c.RecallSecret)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
