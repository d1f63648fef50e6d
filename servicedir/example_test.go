package servicedir_test

import (
	"fmt"
	"os"

	"github.com/httpipc/httpipc/servicedir"
)

func ExampleDirectory_Lookup() {
	dir, _ := os.MkdirTemp("", "services")
	defer os.RemoveAll(dir)
	os.WriteFile(dir+"/org.example.lms.json", []byte(`{
	  "name": "org.example.lms",
	  "socket": "unix:/run/user/1000/httpipc/org.example.lms.sock",
	  "exec": ["/usr/bin/lms-provider", "serve"]
	}`), 0o644)

	d := servicedir.Directory{Getenv: func(k string) string {
		if k == "HTTPIPC_SERVICE_PATH" {
			return dir
		}
		return ""
	}}
	e, err := d.Lookup("org.example.lms")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Socket, e.Exec)
	// Output: unix:/run/user/1000/httpipc/org.example.lms.sock [/usr/bin/lms-provider serve]
}
