package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3MaxAttempts bounds how often the SDK tries one request (the first try
// plus retries of throttling, 5xx and network errors).
const s3MaxAttempts = 5

// s3MaxIdleConnsPerHost is the size of the connection pool to the endpoint.
// The SDK default of 10 is low for a broker that reads many ranges at once.
const s3MaxIdleConnsPerHost = 100

// S3Config configures an S3 bucket.
type S3Config struct {
	// Bucket is the bucket name. Required.
	Bucket string
	// Endpoint is the service URL, such as "http://127.0.0.1:9000" for a
	// MinIO. Empty means AWS S3.
	Endpoint string
	// Region is the bucket's region. Empty means the region of the standard
	// AWS configuration (AWS_REGION, ~/.aws/config), or "us-east-1" when
	// neither that nor Region is set and Endpoint is.
	Region string
	// PathStyle addresses objects as ENDPOINT/BUCKET/KEY instead of
	// BUCKET.ENDPOINT/KEY. MinIO and most S3-compatible services need it.
	PathStyle bool
	// AccessKeyID and SecretAccessKey are static credentials. If AccessKeyID
	// is empty, the standard AWS credential chain is used (environment,
	// shared files, web identity, ECS and EC2 roles).
	AccessKeyID string
	// SecretAccessKey goes with AccessKeyID.
	SecretAccessKey string
	// CreateBucket makes NewS3 create the bucket if it does not exist. It is
	// meant for development setups and tests.
	CreateBucket bool
}

// S3 is a Bucket stored in an S3 bucket, on AWS or any S3-compatible
// service such as MinIO.
//
// Requests are retried by the SDK's standard retryer, at most s3MaxAttempts
// times. Checksums are computed and validated only where S3 requires them,
// which keeps the client compatible with S3 implementations that do not
// support the SDK's newer default checksums.
type S3 struct {
	client *s3.Client
	bucket string
}

// NewS3 returns an S3 bucket configured by cfg. It does not contact the
// service unless cfg.CreateBucket is set; use Check to test connectivity.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("opening S3 bucket: no bucket name")
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = s3MaxAttempts
				// The default client-side retry quota fails requests
				// without trying them once many requests have failed; the
				// broker has its own backoff, so let every request retry.
				o.RateLimiter = ratelimit.None
			})
		}),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = s3MaxIdleConnsPerHost
			tr.MaxIdleConnsPerHost = s3MaxIdleConnsPerHost
		})),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening S3 bucket %s: loading AWS configuration: %w", cfg.Bucket, err)
	}
	if awsCfg.Region == "" && cfg.Endpoint != "" {
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
	})
	b := &S3{client: client, bucket: cfg.Bucket}
	if cfg.CreateBucket {
		if err := b.createBucket(ctx, awsCfg.Region); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// createBucket creates the bucket unless it already exists.
func (s *S3) createBucket(ctx context.Context, region string) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err == nil {
		return nil
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(s.bucket)}
	if region != "" && region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(region),
		}
	}
	_, err := s.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("creating S3 bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put implements Bucket. A single PutObject is atomic on S3.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("uploading %s: %w", key, err)
	}
	return nil
}

// Get implements Bucket.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		return nil, fmt.Errorf("getting %s: %w", key, notFoundOr(err))
	}
	defer out.Body.Close()
	size := aws.ToInt64(out.ContentLength)
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return nil, fmt.Errorf("getting %s: reading body: %w", key, err)
	}
	if out.ContentLength != nil && int64(buf.Len()) != size {
		return nil, fmt.Errorf("getting %s: read %d bytes, want %d", key, buf.Len(), size)
	}
	return buf.Bytes(), nil
}

// GetRange implements Bucket.
func (s *S3) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if err := checkRange(key, offset, length); err != nil {
		return nil, err
	}
	last := offset + length - 1
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", offset, last)),
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, notFoundOr(err))
	}
	defer out.Body.Close()
	// S3 shortens a range that runs past the end of the object; the
	// contract wants an error instead. The Content-Range check also catches
	// a server that ignored the Range header.
	want := fmt.Sprintf("bytes %d-%d/", offset, last)
	if got := aws.ToString(out.ContentRange); !strings.HasPrefix(got, want) {
		return nil, fmt.Errorf("reading %s: range [%d, %d) is outside the object (server sent range %q)", key, offset, offset+length, got)
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(out.Body, data); err != nil {
		return nil, fmt.Errorf("reading %s: reading body: %w", key, err)
	}
	return data, nil
}

// Delete implements Bucket.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil && !isS3NotFound(err) {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	return nil
}

// List implements Bucket. S3 returns keys in lexical byte order.
func (s *S3) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing %q: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			info := ObjectInfo{
				Key:          aws.ToString(obj.Key),
				Size:         aws.ToInt64(obj.Size),
				LastModified: aws.ToTime(obj.LastModified),
			}
			if err := fn(info); err != nil {
				return fmt.Errorf("listing %q: %w", prefix, err)
			}
		}
	}
	return nil
}

// Check implements Bucket with a HeadBucket request.
func (s *S3) Check(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		return fmt.Errorf("checking S3 bucket %s: %w", s.bucket, err)
	}
	return nil
}

// notFoundOr returns ErrNotFound if err means a missing key, else err.
func notFoundOr(err error) error {
	if isS3NotFound(err) {
		return ErrNotFound
	}
	return err
}

// isS3NotFound reports whether err means that the key does not exist. A
// missing bucket is a configuration error, not a missing key.
func isS3NotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotFound
}
