package registry

import (
	"net/http"
	"testing"
)

func TestRegister(t *testing.T) {
	h := http.NotFoundHandler()
	Register("org.httpipc.registrytest", h)
	if got, ok := Lookup("org.httpipc.registrytest"); !ok || got == nil {
		t.Fatal("registered handler not found")
	}
	if _, ok := Lookup("org.httpipc.absent"); ok {
		t.Fatal("found a handler never registered")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a name twice did not panic")
		}
	}()
	Register("org.httpipc.registrytest", h)
}
