// Package dbusipc carries httpipc over D-Bus, the desktop analogue of an
// Android bound service: the provider owns a well-known bus name, the bus
// starts it on the first call when a D-Bus .service file names it, and the
// bus tells each side who the other is.
//
// Two paths are offered on the object /org/httpipc/Provider, interface
// org.httpipc.Provider:
//
//   - Call(ay) -> ay: message mode, one RFC 9292 request message in, one
//     response message out (docs/PROTOCOL.md, section 8a);
//   - Connect() -> h: descriptor handoff: the provider returns one end of a
//     socketpair and serves the stream protocol on the other, so requests of
//     any size and number then bypass the bus.
//
// The caller's uid and pid come from the bus (GetConnectionCredentials) and
// feed the same policies as on sockets.
package dbusipc
