package registry_test

import (
	"fmt"
	"net/http"

	"github.com/httpipc/httpipc/mobile/registry"
)

func Example() {
	// In the provider app's Go package, once:
	registry.Register("org.example.lms.registry", http.NotFoundHandler())

	_, ok := registry.Lookup("org.example.lms.registry")
	fmt.Println(ok)
	// Output: true
}
