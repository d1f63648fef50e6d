package proxy

func loopbackSupported() bool { return true }
