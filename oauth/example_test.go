package oauth_test

import (
	"fmt"
	"net/url"

	"github.com/httpipc/httpipc/oauth"
)

// A client app reads the ipc-service from the redirect that answers its
// authorization request.
func Example() {
	u, _ := url.Parse("org.example.math:/oauth/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj&ipc-service=org.example.lms")
	fmt.Println(u.Query().Get(oauth.ParamIPCService))
	// Output: org.example.lms
}
