package message

import (
	"context"

	"github.com/httpipc/httpipc/peercred"
)

// Local returns a Channel that hands messages to srv inside this process,
// as the same user, with message size limit max (0: DefaultMaxMessageSize).
// Each message is copied, as a real channel would.
func Local(srv *Server, max int) Channel {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	return &local{srv: srv, max: max, self: peercred.Self()}
}

type local struct {
	srv  *Server
	max  int
	self *peercred.Creds
}

func (l *local) Call(ctx context.Context, req []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.srv.ServeMessage(ctx, l.self, append([]byte(nil), req...)), nil
}

func (l *local) MaxMessageSize() int { return l.max }
