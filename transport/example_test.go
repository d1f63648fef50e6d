package transport_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/httpipc/httpipc/transport"
)

func ExampleListenUnix() {
	dir, _ := os.MkdirTemp("", "transport")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "httpipc", "org.example.lms.sock")

	l, err := transport.ListenUnix(sock) // creates httpipc/ with mode 0700
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close() // removes the socket file
	c, err := transport.DialUnix(context.Background(), sock)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Close()
	fi, _ := os.Stat(sock)
	fmt.Println(fi.Mode().Perm())
	// Output: -rw-------
}
