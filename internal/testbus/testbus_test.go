package testbus

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestStart(t *testing.T) {
	addr := Start(t, map[string]string{"org.httpipc.Nothing": "/bin/true"})
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var names []string
	if err := conn.BusObject().Call("org.freedesktop.DBus.ListActivatableNames", 0).Store(&names); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == "org.httpipc.Nothing" {
			return
		}
	}
	t.Fatalf("activatable names %v lack the service", names)
}
