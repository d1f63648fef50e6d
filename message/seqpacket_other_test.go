//go:build !linux

package message

import "testing"

func seqPacket(t *testing.T, srv *Server) Channel {
	t.Skip("SOCK_SEQPACKET channels exist only on Linux")
	return nil
}
