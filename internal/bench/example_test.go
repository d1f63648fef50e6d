package bench_test

import (
	"context"
	"fmt"
	"time"

	"github.com/httpipc/httpipc/internal/bench"
)

func ExampleRun() {
	results, err := bench.Run(context.Background(), bench.Options{Duration: 5 * time.Millisecond, Only: []string{bench.RTT64B}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(results[0].Scenario, results[0].Contender)
	// Output: rtt-64B raw-unix
}
