package authserver

import (
	"github.com/ory/fosite"
)

// session is what a grant carries: fosite's default session (subject and
// expiry times) and the OS user id of the app the tokens were issued to.
// It is stored as JSON with the grant; the embedding keeps the default
// session's fields at the top level of that JSON.
type session struct {
	fosite.DefaultSession
	// UID is the OS user id of the client app that redeemed the grant over
	// IPC; nil when it was redeemed over the network. Tokens bound to a uid
	// are accepted over IPC from that uid only.
	UID *int `json:"uid,omitempty"`
}

// newSession returns a session for subject.
func newSession(subject string) *session {
	return &session{DefaultSession: fosite.DefaultSession{Subject: subject}}
}

// Clone implements fosite.Session.
func (s *session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := &session{DefaultSession: *s.DefaultSession.Clone().(*fosite.DefaultSession)}
	if s.UID != nil {
		u := *s.UID
		c.UID = &u
	}
	return c
}
