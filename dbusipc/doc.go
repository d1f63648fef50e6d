// Package dbusipc carries httpipc over D-Bus, the desktop analogue of an
// Android bound service: the provider owns a well-known bus name, the bus
// starts it on the first call when a D-Bus .service file names it, and the
// bus tells each side who the other is.
//
// Two paths are offered on the object /org/httpipc/Provider, interface
// org.httpipc.Provider:
//
//   - Call(ay) -> ay: message mode, one RFC 9292 request message in, one
//     response message out (docs/PROTOCOL.md, section 9);
//   - Connect() -> h: descriptor handoff: the provider returns one end of a
//     socketpair and serves the stream protocol on the other, so requests of
//     any size and number then bypass the bus;
//   - Open(o) -> s, Frame(o, t, ay), Close(o): a link for streams over
//     messages (section 12), for when descriptors cannot pass: Client.Mux
//     returns a message.Mux whose streams carry the stream protocol in
//     16 KiB method calls, with flow control. A link fails with ErrPeerGone
//     as soon as the other end leaves the bus.
//
// Descriptor handoff is the fast path. Streams over method calls are far
// slower with this package: godbus marshals a byte array one element at a
// time through reflection, about 12 MB/s here against several GB/s for the
// handed-over socket (httpipc bench); they exist for buses that refuse
// descriptors, and for small requests their latency is that of a method call.
//
// The caller's uid and pid come from the bus (GetConnectionCredentials) and
// feed the same policies as on sockets.
//
// A Client never sends a request to an owner it has not checked: it
// resolves the well-known name to its owner's unique name (GetNameOwner,
// after StartServiceByName when nobody owns it), checks that connection's
// credentials against Client.Provider, and calls the unique name. Should the
// name change owner in between, the call fails instead of reaching the new
// owner.
//
// A Provider bounds what callers can hold: Provider.MaxLinks links in all
// (256), Provider.MaxLinksPerUser per uid (32), and Provider.SilenceTimeout
// (10 seconds) for a link that received no Frame since Open and for a
// Connect socket on which no byte arrived; both are closed then.
package dbusipc
