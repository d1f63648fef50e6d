//go:build !unix

package bench

import (
	"context"
	"errors"
)

const coldEnv = "HTTPIPC_BENCH_COLD"

func serveCold(string) error { return errors.New("cold-start providers run only on Unix systems") }

func coldStart(_ context.Context, _ Options, note func(string, ...any)) ([]Result, error) {
	note("%s left out: providers are started on demand only on Unix systems", ColdStart)
	return nil, nil
}
