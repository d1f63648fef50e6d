//go:build !linux

package proxy

func loopbackSupported() bool { return false }
