package mobile_test

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/httpipc/httpipc/mobile"
	"github.com/httpipc/httpipc/mobile/registry"
)

// binder stands in for the host's IPC: on Android, a Binder transaction to
// the provider app's bound service, which calls HandleMessage there.
type binder struct{ provider *mobile.Provider }

func (b binder) Call(request []byte) ([]byte, error) {
	return b.provider.HandleMessage(int64(os.Getuid()), int64(os.Getpid()), request), nil
}

func Example() {
	// The provider app's Go code registers its API once.
	api := http.NewServeMux()
	api.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user "+r.PathValue("id"))
	})
	registry.Register("org.example.lms.example", api)

	// The provider's host code (Kotlin, Swift) creates the provider...
	provider, err := mobile.NewProvider("org.example.lms.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer provider.Close()

	// ...and the client's host code a client over its channel.
	client := mobile.NewMessageClient(binder{provider}, 0)
	resp, err := client.Do("GET", "http://lms/users/7", "Accept: text/plain", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, string(resp.Body))
	// Output: 200 user 7
}
