package lms

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
)

// Scopes of the API.
const (
	ScopeRoster    = "roster.read"
	ScopeGradebook = "gradebook.write"
	ScopeXAPI      = "xapi.write"
)

// AppConfig runs the LMS app: the device's provider (over IPC, syncing to
// Upstream) or the online server (over TCP).
type AppConfig struct {
	// State is the directory of the app's databases.
	State string
	// Listen is an ipc-service address (device) or a TCP address (online,
	// with Online set).
	Listen string
	// Online makes this the online server: no outbox, no sync.
	Online bool
	// Issuer is the OAuth issuer URL. Empty for the online server means
	// http:// and its listening address.
	Issuer string
	// IPCService is what the authorization redirect tells clients (device).
	IPCService string
	// Upstream is the online server's base URL (device).
	Upstream string
	// SyncToken authenticates the device to the online server.
	SyncToken string
	// Learner is the signed-in learner the tokens are for.
	Learner string
	// Clients are registered at start (the apps installed on the device).
	Clients []authserver.Client
	// Consent decides authorization requests; nil means the web page.
	Consent authserver.Consent
	// Idle makes the device app exit after this long without requests.
	Idle time.Duration
	// Ready, when set, is called with the listener's address once serving.
	Ready func(addr string)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// syncVerifier admits the device's sync token besides the tokens of the
// authorization server.
type syncVerifier struct {
	token string
	next  bearer.Verifier
}

func (v syncVerifier) Verify(ctx context.Context, tok string, peer *peercred.Creds) (*bearer.Token, error) {
	if v.token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(v.token)) == 1 {
		return &bearer.Token{Subject: "lms-device", ClientID: "lms-sync", Scopes: []string{ScopeRoster, ScopeGradebook, ScopeXAPI}}, nil
	}
	return v.next.Verify(ctx, tok, peer)
}

// Serve runs the app until ctx ends, or until it is idle (device).
func Serve(ctx context.Context, c AppConfig) error {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(c.State, 0o700); err != nil {
		return err
	}
	name := "device"
	if c.Online {
		name = "online"
	}
	db, err := Open(filepath.Join(c.State, name+"-lms.db"), !c.Online)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := authserver.Open(filepath.Join(c.State, name+"-auth.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	for _, cl := range c.Clients {
		if err := store.AddClient(ctx, cl); err != nil {
			return err
		}
	}
	var ln net.Listener
	if c.Online {
		ln, err = net.Listen("tcp", c.Listen)
		if err == nil && c.Issuer == "" {
			c.Issuer = "http://" + ln.Addr().String()
		}
	} else {
		ln, err = httpipc.Listen(c.Listen)
	}
	if err != nil {
		return err
	}
	defer ln.Close()
	auth, err := authserver.New(ctx, store, authserver.Options{Issuer: c.Issuer, IPCService: c.IPCService,
		Consent: c.Consent, Subject: c.Learner, Logger: log})
	if err != nil {
		return err
	}
	var v bearer.Verifier = cmi5Verifier{db, auth}
	if c.Online {
		v = syncVerifier{c.SyncToken, auth}
	}
	mux := http.NewServeMux()
	mux.Handle("/oauth/", auth)
	mux.Handle("/.well-known/", auth)
	opt := Options{Auth: func(h http.Handler) http.Handler { return basicAsBearer(bearer.Require(v)(h)) }, AuthorityHomePage: c.Issuer}
	if c.Online {
		opt.Relays = []string{"lms-sync"}
	}
	mux.Handle("/", db.Handler(opt))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Online {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
		go func() { <-ctx.Done(); srv.Close() }()
		if c.Ready != nil {
			c.Ready(ln.Addr().String())
		}
		log.Info("online LMS serving", "addr", ln.Addr().String())
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	if c.Upstream != "" {
		s := &Syncer{DB: db, Upstream: c.Upstream, Token: c.SyncToken, Logger: log, Interval: time.Second,
			Client: &http.Client{Timeout: 10 * time.Second}}
		go s.Run(ctx)
	}
	// This user's apps and the uids the registered clients name.
	srv := &httpipc.Server{Handler: mux, IdleTimeout: c.Idle, Logger: log, Policy: store.ClientPolicy()}
	go func() { <-ctx.Done(); srv.Close() }()
	if c.Ready != nil {
		c.Ready(ln.Addr().String())
	}
	log.Info("LMS serving over IPC", "listen", c.Listen, "pid", os.Getpid())
	err = srv.Serve(ln)
	if errors.Is(err, httpipc.ErrIdle) {
		// Push what is left before exiting, if the server is there.
		if c.Upstream != "" {
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			(&Syncer{DB: db, Upstream: c.Upstream, Token: c.SyncToken, Logger: log}).Once(sctx)
			scancel()
		}
		log.Info("LMS idle: exiting", "pid", os.Getpid())
		return nil
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("lms: %w", err)
}

// cmi5Verifier admits the auth tokens cmi5 fetches handed out, for the
// xAPI resources, besides the tokens of the authorization server.
type cmi5Verifier struct {
	db   *DB
	next bearer.Verifier
}

func (v cmi5Verifier) Verify(ctx context.Context, tok string, peer *peercred.Creds) (*bearer.Token, error) {
	if actor, ok := v.db.Cmi5Token(ctx, tok); ok {
		return &bearer.Token{Subject: actor, ClientID: "cmi5-au", Scopes: []string{ScopeXAPI}}, nil
	}
	return v.next.Verify(ctx, tok, peer)
}

// basicAsBearer lets a cmi5 AU send its auth token as cmi5 clients do,
// "Authorization: Basic <auth-token>": the token is checked as a bearer
// token.
func basicAsBearer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Basic") {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
		}
		h.ServeHTTP(w, r)
	})
}
