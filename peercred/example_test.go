package peercred_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/httpipc/httpipc/peercred"
)

func Example() {
	dir, _ := os.MkdirTemp("", "peercred")
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("unix", filepath.Join(dir, "s.sock"))
		if err == nil {
			defer c.Close()
			c.Read(make([]byte, 1))
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	creds, err := peercred.Get(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(creds.UID == os.Getuid(), creds.PID == os.Getpid())
	// Output: true true
}
