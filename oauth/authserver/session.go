package authserver

import (
	"github.com/ory/fosite"
)

// Session is what a grant carries: fosite's default session (subject and
// expiry times) and the OS user id of the app the tokens were issued to.
type Session struct {
	fosite.DefaultSession
	// UID is the OS user id of the client app that redeemed the grant over
	// IPC; nil when it was redeemed over the network. Tokens bound to a uid
	// are accepted over IPC from that uid only.
	UID *int `json:"uid,omitempty"`
}

// NewSession returns a session for subject.
func NewSession(subject string) *Session {
	return &Session{DefaultSession: fosite.DefaultSession{Subject: subject}}
}

// Clone implements fosite.Session.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := &Session{DefaultSession: *s.DefaultSession.Clone().(*fosite.DefaultSession)}
	if s.UID != nil {
		u := *s.UID
		c.UID = &u
	}
	return c
}
