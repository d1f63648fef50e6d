package testbus_test

import (
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc/internal/testbus"
)

// In a test, start a bus that runs /usr/bin/lms-provider when a client
// calls org.example.LMS, then connect to it. (Shown, not run: it needs a test.)
func Example() {
	test := func(t *testing.T) {
		addr := testbus.Start(t, map[string]string{"org.example.LMS": "/usr/bin/lms-provider"})
		conn, err := dbus.Connect(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	_ = test
}
