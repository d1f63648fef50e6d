package bearer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
)

// tokens is a stand-in Verifier; authserver.Server is the real one.
type tokens map[string]*bearer.Token

func (t tokens) Verify(_ context.Context, tok string, _ *peercred.Creds) (*bearer.Token, error) {
	if v, ok := t[tok]; ok {
		return v, nil
	}
	return nil, bearer.ErrInvalidToken
}

func Example() {
	v := tokens{"t1": {Subject: "alice", Scopes: []string{"roster.read"}}}
	api := bearer.Require(v, "roster.read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		fmt.Fprint(w, "hello ", tok.Subject)
	}))
	for _, auth := range []string{"Bearer t1", "Bearer nope", ""} {
		r := httptest.NewRequest("GET", "/api/me", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// 200
	// 401 Bearer realm="httpipc", error="invalid_token"
	// 401 Bearer realm="httpipc"
}
