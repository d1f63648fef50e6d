package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// jvmClient drives the Kotlin client's benchmark loop in a JVM of its own,
// so that the JIT stays warm across rounds. The protocol on its standard
// input and output is one line each way per measurement:
//
//	-> "rtt SIZE MILLIS WARMUP" or "download SIZE MILLIS WARMUP"
//	<- "OPS NANOS"
//
// WARMUP is how many operations to run before the measured loop; the loop
// runs for at least MILLIS milliseconds and at least one operation. rtt
// posts SIZE bytes to /echo and reads them back; download gets
// /download?n=SIZE.
type jvmClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startJVMClient(ctx context.Context, command []string, addr string) (*jvmClient, error) {
	cmd := exec.CommandContext(ctx, command[0], append(command[1:], addr)...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &jvmClient{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

// measure runs one round. The first round of a scenario warms the JIT with
// many operations; later rounds with one.
func (j *jvmClient) measure(size int, stream bool, d time.Duration, first bool) (Result, error) {
	op := "rtt"
	if stream {
		op = "download"
	}
	warm := 1
	if first {
		warm = 2000
		if stream {
			warm = 20
		}
	}
	if _, err := fmt.Fprintf(j.in, "%s %d %d %d\n", op, size, d.Milliseconds(), warm); err != nil {
		return Result{}, fmt.Errorf("the JVM client: %w", err)
	}
	line, err := j.out.ReadString('\n')
	if err != nil {
		return Result{}, fmt.Errorf("the JVM client: %w", err)
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return Result{}, fmt.Errorf("the JVM client answered %q", line)
	}
	ops, err1 := strconv.Atoi(f[0])
	ns, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || ops <= 0 {
		return Result{}, fmt.Errorf("the JVM client answered %q", line)
	}
	return Result{Ops: ops, NsPerOp: ns / float64(ops)}, nil
}

func (j *jvmClient) stop() {
	j.in.Close()
	done := make(chan struct{})
	go func() { j.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		j.cmd.Process.Kill()
		<-done
	}
}
