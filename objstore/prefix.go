package objstore

import (
	"context"
	"strings"
)

// WithPrefix returns a Bucket that stores every key k of b under
// prefix + "/" + k. Leading and trailing slashes of prefix are ignored; an
// empty prefix returns b itself. List takes and reports keys without the
// prefix, so callers cannot tell the difference.
func WithPrefix(b Bucket, prefix string) Bucket {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return b
	}
	return &prefixBucket{b: b, prefix: prefix + "/"}
}

// prefixBucket implements WithPrefix. prefix ends in "/".
type prefixBucket struct {
	b      Bucket
	prefix string
}

func (p *prefixBucket) Put(ctx context.Context, key string, data []byte) error {
	return p.b.Put(ctx, p.prefix+key, data)
}

func (p *prefixBucket) Get(ctx context.Context, key string) ([]byte, error) {
	return p.b.Get(ctx, p.prefix+key)
}

func (p *prefixBucket) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	return p.b.GetRange(ctx, p.prefix+key, offset, length)
}

func (p *prefixBucket) Delete(ctx context.Context, key string) error {
	return p.b.Delete(ctx, p.prefix+key)
}

func (p *prefixBucket) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	return p.b.List(ctx, p.prefix+prefix, func(info ObjectInfo) error {
		info.Key = strings.TrimPrefix(info.Key, p.prefix)
		return fn(info)
	})
}

func (p *prefixBucket) Check(ctx context.Context) error {
	return p.b.Check(ctx)
}
