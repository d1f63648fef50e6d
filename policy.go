package httpipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/httpipc/httpipc/peercred"
)

// ErrNotAllowed is wrapped by the errors a Policy returns for a peer it
// refuses.
var ErrNotAllowed = errors.New("httpipc: peer not allowed")

// A Policy decides whether the process at the other end of a connection may
// talk to this one. It gets the peer's credentials, or nil when the platform
// cannot tell them, and returns nil to allow the peer or an error that says
// why not. Errors should wrap ErrNotAllowed.
type Policy func(peer *peercred.Creds) error

// SameUser allows peers that run as the same user as this process (on
// Windows: the same user SID). It is the default policy of a Server.
func SameUser() Policy {
	self := peercred.Self()
	return func(p *peercred.Creds) error {
		switch {
		case p == nil:
			return fmt.Errorf("%w: peer credentials unknown", ErrNotAllowed)
		case self.SID != "" && p.SID == self.SID:
			return nil
		case self.UID >= 0 && p.UID == self.UID:
			return nil
		}
		return fmt.Errorf("%w: %v is not the same user as this process", ErrNotAllowed, p)
	}
}

// SameUserOrRoot allows peers that run as the same user as this process or
// as root. It is the default check a Transport makes of its provider.
func SameUserOrRoot() Policy {
	same := SameUser()
	return func(p *peercred.Creds) error {
		if p != nil && p.UID == 0 {
			return nil
		}
		return same(p)
	}
}

// AllowUIDs allows peers whose user id is in uids.
func AllowUIDs(uids ...int) Policy {
	return func(p *peercred.Creds) error {
		if p != nil && p.UID >= 0 && slices.Contains(uids, p.UID) {
			return nil
		}
		return fmt.Errorf("%w: %v is not in the allowed uids %v", ErrNotAllowed, p, uids)
	}
}

// AllowGIDs allows peers whose primary group id is in gids.
func AllowGIDs(gids ...int) Policy {
	return func(p *peercred.Creds) error {
		if p != nil && p.GID >= 0 && slices.Contains(gids, p.GID) {
			return nil
		}
		return fmt.Errorf("%w: %v is not in the allowed gids %v", ErrNotAllowed, p, gids)
	}
}

// AllowAny allows every peer. Use it only where the socket's file
// permissions already restrict who can connect: a Server refuses to serve
// an abstract socket or TCP with it (see ErrOpenSocket).
func AllowAny() Policy {
	return func(*peercred.Creds) error { return nil }
}

// AnyOf allows a peer that one of the policies allows.
func AnyOf(policies ...Policy) Policy {
	return func(p *peercred.Creds) error {
		errs := make([]error, 0, len(policies))
		for _, pol := range policies {
			err := pol(p)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
}

// ErrOpenSocket is returned by Server.Serve for a Policy that admits every
// user on a socket no file permission guards (an abstract Unix socket, or
// TCP), unless Server.InsecureAllowAnyUser is set.
var ErrOpenSocket = errors.New("httpipc: the policy admits every user and no file permission guards this socket")

// AdmitsAnyUser reports whether policy admits a peer that no real policy
// names: a user and group that do not exist, with no Windows SID. A policy
// that admits it admits every user. AllowAny does; SameUser, AllowUIDs,
// AllowGIDs and any combination of them with AnyOf do not.
func AdmitsAnyUser(policy Policy) bool {
	return policy(&peercred.Creds{PID: -1, UID: strangerID, GID: strangerID}) == nil
}

// strangerID is a user and group id no system assigns (2^31-2, below the
// (uid_t)-1 that means "none").
const strangerID = 1<<31 - 2

// checkOpenSocket refuses to serve a socket that any user can connect to
// with a policy that admits any user.
func (s *Server) checkOpenSocket(addr net.Addr) error {
	if s.InsecureAllowAnyUser || !AdmitsAnyUser(s.policy()) {
		return nil
	}
	switch a := addr.(type) {
	case *net.TCPAddr:
		return fmt.Errorf("%w (tcp:%s); use SameUser or AllowUIDs, or set InsecureAllowAnyUser", ErrOpenSocket, a)
	case *net.UnixAddr:
		if strings.HasPrefix(a.Name, "@") {
			return fmt.Errorf("%w (unix:%s, an abstract socket); use SameUser or AllowUIDs, or set InsecureAllowAnyUser", ErrOpenSocket, a.Name)
		}
	}
	return nil
}

type peerKey struct{}

// ContextWithPeer returns a context that carries the credentials of the
// process a request came from. Adapters for other channels (message mode,
// D-Bus) use it so handlers find the peer the same way.
func ContextWithPeer(ctx context.Context, peer *peercred.Creds) context.Context {
	return context.WithValue(ctx, peerKey{}, peer)
}

// PeerFromContext returns the credentials of the process that made the
// request whose context is ctx. The Server puts them in every request
// context; ok is false when they are unknown.
func PeerFromContext(ctx context.Context) (peer *peercred.Creds, ok bool) {
	peer, ok = ctx.Value(peerKey{}).(*peercred.Creds)
	return peer, ok && peer != nil
}

// Peer returns the credentials of the process that made r, or nil.
func Peer(r *http.Request) *peercred.Creds {
	p, _ := PeerFromContext(r.Context())
	return p
}
