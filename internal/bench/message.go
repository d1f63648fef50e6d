package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/message"
	"github.com/httpipc/httpipc/peercred"
)

// messageContenders returns clients for message mode: in-process always, and
// over SOCK_SEQPACKET where the provider serves it.
func messageContenders(ctx context.Context, a addrs) (map[string]*http.Client, func(), error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	local := message.Local(&message.Server{Handler: Handler(), Logger: quiet}, 0)
	clients := map[string]*http.Client{MessageLocal: {Transport: &message.Transport{Channel: local}}}
	// Streams over an in-process link of 16 KiB messages.
	la, lb := message.LinkPair(message.DefaultChunkSize + 64)
	server := message.ServerMux(lb, message.MuxOptions{Peer: peercred.Self()})
	client := message.ClientMux(la, message.MuxOptions{Peer: peercred.Self()})
	srv := &httpipc.Server{Handler: Handler(), Logger: quiet}
	go srv.Serve(server)
	clients[StreamsOverMessages] = &http.Client{Transport: &httpipc.Transport{DialContext: client.Open, Logger: quiet}}
	closeAll := func() {
		client.Close()
		srv.Close()
	}
	if a.Packet != "" {
		ch, closeCh, err := dialSeqPacket(ctx, a.Packet)
		if err != nil {
			return nil, nil, err
		}
		clients[MessageSeqPacket] = &http.Client{Transport: &message.Transport{Channel: ch}}
		closeMux := closeAll
		closeAll = func() {
			closeMux()
			closeCh()
		}
	}
	return clients, closeAll, nil
}
