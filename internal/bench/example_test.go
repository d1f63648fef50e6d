package bench_test

import (
	"context"
	"fmt"
	"time"

	"github.com/httpipc/httpipc/internal/bench"
)

func ExampleRun() {
	results, err := bench.Run(context.Background(), bench.Options{Duration: 5 * time.Millisecond, Echo1GiBSize: -1, StreamSize: 1 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(results[0].Scenario, results[0].Contender)
	// Output: rtt-64B raw-unix
}
