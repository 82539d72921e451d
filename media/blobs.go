package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
)

// BucketName is the JetStream Object Store bucket that holds photo files.
const BucketName = "gavel-media"

// blobs is the object store: every file under the SHA-256 of its bytes, so
// a put of a name that exists is a no-op and any node reads the same bytes.
type blobs struct {
	os      jetstream.ObjectStore
	timeout time.Duration
}

// openBlobs creates the bucket, or updates its replica count, so a restart
// with a new GAVEL_NATS_REPLICAS takes effect.
func openBlobs(ctx context.Context, js jetstream.JetStream, replicas int, timeout time.Duration) (*blobs, error) {
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      BucketName,
		Description: "Gavel photos: re-encoded JPEGs named by the SHA-256 of their bytes",
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("media: object store %s: %w", BucketName, err)
	}
	return &blobs{os: os, timeout: timeout}, nil
}

// errStoreDown is what a person sees when the object store does not answer.
var errStoreDown = &domain.Error{
	Code:    domain.CodeUnavailable,
	Message: "Photo storage is not answering right now. Try again in a few seconds.",
	Extra:   map[string]any{"retry_after": int64(retryBusy)},
}

// unavailable wraps a store failure so the web layer answers 503 with
// Retry-After, keeping the cause for the log.
func unavailable(op, name string, err error) error {
	return fmt.Errorf("media: %s %s: %w: %w", op, name, errStoreDown, err)
}

// exists reports whether name is stored.
func (b *blobs) exists(ctx context.Context, name string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	_, err := b.os.GetInfo(ctx, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return false, nil
	}
	return false, unavailable("stat", name, err)
}

// put stores data under name unless it is there already.
func (b *blobs) put(ctx context.Context, name string, data []byte) error {
	ok, err := b.exists(ctx, name)
	if err != nil || ok {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	if _, err := b.os.PutBytes(ctx, name, data); err != nil {
		return unavailable("put", name, err)
	}
	return nil
}

// get reads name; a missing name is domain.ErrNotFound.
func (b *blobs) get(ctx context.Context, name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	data, err := b.os.GetBytes(ctx, name)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return nil, domain.ErrNotFound
	}
	return nil, unavailable("get", name, err)
}

// remove deletes name; a missing name is not an error.
func (b *blobs) remove(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	if err := b.os.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return unavailable("delete", name, err)
	}
	return nil
}

// stored lists every file with its modification time.
func (b *blobs) stored(ctx context.Context) (map[string]time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*b.timeout)
	defer cancel()
	infos, err := b.os.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, unavailable("list", BucketName, err)
	}
	out := make(map[string]time.Time, len(infos))
	for _, in := range infos {
		out[in.Name] = in.ModTime
	}
	return out, nil
}
