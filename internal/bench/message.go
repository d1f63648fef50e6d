package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/httpipc/httpipc/message"
)

// messageContenders returns clients for message mode: in-process always, and
// over SOCK_SEQPACKET where the provider serves it.
func messageContenders(ctx context.Context, a addrs) (map[string]*http.Client, func(), error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	local := message.Local(&message.Server{Handler: Handler(), Logger: quiet}, 0)
	clients := map[string]*http.Client{MessageLocal: {Transport: &message.Transport{Channel: local}}}
	closeAll := func() {}
	if a.Packet != "" {
		ch, closeCh, err := dialSeqPacket(ctx, a.Packet)
		if err != nil {
			return nil, nil, err
		}
		clients[MessageSeqPacket] = &http.Client{Transport: &message.Transport{Channel: ch}}
		closeAll = closeCh
	}
	return clients, closeAll, nil
}
