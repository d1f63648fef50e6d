package httpmsg_test

import (
	"fmt"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/httpmsg"
)

func ExampleAppendErrorResponse() {
	b := httpmsg.AppendErrorResponse(bhttp.AppendResponseStart(nil), 400, "malformed", "field name \"X\" is not lowercase")
	resp, _ := bhttp.DecodeResponse(b, bhttp.Limits{})
	fmt.Println(resp.Status, resp.Header.Get(httpmsg.ErrorField))
	// Output: 400 malformed
}
