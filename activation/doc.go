// Package activation starts providers on demand, on both sides of the
// socket.
//
// A provider calls Listeners to pick up the listening socket it was started
// with. A service manager such as systemd passes it (LISTEN_FDS), and so does
// an httpipc client that found the provider not running: Launch creates the
// socket itself, the way systemd does, and starts the program that the
// provider's service-directory entry names, handing the socket over. Either
// way the provider runs the same code, and a client's connection waits in the
// socket's backlog until the provider accepts it, so nothing races.
package activation
