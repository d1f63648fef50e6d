package activation_test

import (
	"fmt"
	"net"

	"github.com/httpipc/httpipc/activation"
)

// A provider takes the socket it was started with, if any, and otherwise
// creates its own.
func ExampleListeners() {
	lns, err := activation.Listeners()
	if err != nil {
		fmt.Println(err)
		return
	}
	var ln net.Listener
	if len(lns) > 0 {
		ln = lns[0]
	}
	fmt.Println("socket-activated:", ln != nil, "launched by a client:", activation.Launched())
	// Output: socket-activated: false launched by a client: false
}
