//go:build !unix

package bench

import (
	"context"
	"errors"
	"net/http"
)

var errNoBus = errors.New("D-Bus contenders run only on Unix systems")

func noBusReason() error { return errNoBus }

func startBus() (string, func(), error) { return "", func() {}, nil }

func serveBus() (string, error) { return "", nil }

func dbusContenders(context.Context, string, string) (map[string]*http.Client, func(int, bool) func() error, func(), error) {
	return nil, nil, nil, errNoBus
}
