// Package transport listens on and dials the local endpoints httpipc runs
// over: Unix domain sockets (files and the Linux abstract namespace),
// inherited descriptors, and Windows named pipes.
//
// Socket files are created safely: the parent directory is made with mode
// 0700 when missing and refused when another user could place files in it
// (see OpenSocketDir); the socket gets mode 0600 before it is bound (Linux)
// or is bound inside a new private directory, given mode 0600 there and only
// then renamed onto its path (elsewhere), so it is never reachable with wider
// permissions; a stale socket left by a provider that
// died is replaced, and a socket a running provider listens on is never
// deleted or replaced.
package transport
