//go:build linux

package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/httpipc/httpipc/message"
)

// serveSeqPacket serves message mode on a SOCK_SEQPACKET socket in dir.
func serveSeqPacket(dir string) (string, error) {
	path := filepath.Join(dir, "msg.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return "", err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	go message.ServeSeqPacket(ln, &message.Server{Handler: Handler(), Logger: quiet})
	return path, nil
}

func dialSeqPacket(ctx context.Context, path string) (message.Channel, func(), error) {
	ch, err := message.DialSeqPacket(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return ch, func() { ch.Close() }, nil
}
