//go:build !unix

package activation

import (
	"context"
	"fmt"

	"github.com/httpipc/httpipc/servicedir"
)

// Launch starts the provider of e on demand. This platform has no socket
// handover, so it always fails with ErrUnsupported.
func Launch(ctx context.Context, e *servicedir.Entry) error {
	return fmt.Errorf("%w: starting %s", ErrUnsupported, e.Name)
}
