package objstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/objstore/objstoretest"
)

// newS3 returns an S3 bucket on the test MinIO.
func newS3(t *testing.T, ep testenv.S3Endpoint, bucket string, create bool) (*objstore.S3, error) {
	t.Helper()
	return objstore.NewS3(t.Context(), objstore.S3Config{
		Bucket:          bucket,
		Endpoint:        ep.URL,
		Region:          ep.Region,
		PathStyle:       true,
		AccessKeyID:     ep.AccessKey,
		SecretAccessKey: ep.SecretKey,
		CreateBucket:    create,
	})
}

func TestS3Acceptance(t *testing.T) {
	ep := testenv.MinIO(t)
	b, err := newS3(t, ep, testenv.MinIOBucket(t, ep), false)
	require.NoError(t, err)
	start := time.Now()
	objstoretest.AcceptanceTest(t, b)
	t.Logf("S3 acceptance test took %v", time.Since(start))
}

func TestS3CreateBucket(t *testing.T) {
	ep := testenv.MinIO(t)
	name := testenv.MinIOBucket(t, ep) + "-new" // not created yet
	b, err := newS3(t, ep, name, false)
	require.NoError(t, err)
	require.Error(t, b.Check(t.Context()), "bucket does not exist yet")

	b, err = newS3(t, ep, name, true)
	require.NoError(t, err)
	t.Cleanup(func() { deleteBucket(t, ep, name) })
	require.NoError(t, b.Check(t.Context()))
	require.NoError(t, b.Put(t.Context(), "k", []byte("v")))

	// Creating an existing bucket is fine and keeps its contents.
	b, err = newS3(t, ep, name, true)
	require.NoError(t, err)
	got, err := b.Get(t.Context(), "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(got))
}

func TestS3MissingBucketIsNotNotFound(t *testing.T) {
	// A missing bucket is a configuration error: callers must never take it
	// for a missing object (and, say, consider a segment deleted).
	ep := testenv.MinIO(t)
	b, err := newS3(t, ep, "floe-no-such-bucket-"+time.Now().Format("150405"), false)
	require.NoError(t, err)
	_, err = b.Get(t.Context(), "k")
	require.Error(t, err)
	require.False(t, objstore.IsNotFound(err), "%v", err)
	_, err = b.GetRange(t.Context(), "k", 0, 1)
	require.Error(t, err)
	require.False(t, objstore.IsNotFound(err), "%v", err)
	require.Error(t, b.Check(t.Context()))
	require.Error(t, b.List(t.Context(), "", func(objstore.ObjectInfo) error { return nil }))
}

func TestS3BadCredentials(t *testing.T) {
	ep := testenv.MinIO(t)
	bucket := testenv.MinIOBucket(t, ep)
	ep.SecretKey = "wrong-secret"
	b, err := newS3(t, ep, bucket, false)
	require.NoError(t, err)
	require.Error(t, b.Check(t.Context()))
	_, err = b.Get(t.Context(), "k")
	require.Error(t, err)
	require.False(t, objstore.IsNotFound(err), "%v", err)
}

func TestNewS3RequiresBucket(t *testing.T) {
	_, err := objstore.NewS3(t.Context(), objstore.S3Config{Endpoint: "http://127.0.0.1:1"})
	require.Error(t, err)
}

// deleteBucket deletes the object "k" and then the bucket, so that tests
// against a shared server leave nothing behind.
func deleteBucket(t *testing.T, ep testenv.S3Endpoint, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(ep.URL),
		Region:       ep.Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
	})
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}); err != nil {
		t.Logf("deleting k: %v", err)
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Logf("deleting bucket %s: %v", bucket, err)
	}
}
