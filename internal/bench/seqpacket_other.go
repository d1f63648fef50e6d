//go:build !linux

package bench

import (
	"context"
	"errors"

	"github.com/httpipc/httpipc/message"
)

func serveSeqPacket(string) (string, error) { return "", nil }

func dialSeqPacket(context.Context, string) (message.Channel, func(), error) {
	return nil, nil, errors.New("SOCK_SEQPACKET channels exist only on Linux")
}
