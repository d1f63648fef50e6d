package address_test

import (
	"fmt"

	"github.com/httpipc/httpipc/address"
)

func ExampleParse() {
	for _, s := range []string{"unix:/run/user/1000/httpipc/org.example.lms.sock", "org.example.lms", "unix:lms.sock"} {
		a, err := address.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(a.Kind == address.Name, a)
	}
	// Output:
	// false unix:/run/user/1000/httpipc/org.example.lms.sock
	// true org.example.lms
	// address: invalid ipc-service address "unix:lms.sock": socket path must be absolute (unix:/path) or abstract (unix:@name)
}
