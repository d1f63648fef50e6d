// macOS (12 or later): the provider is a launchd Mach service (a LaunchAgent
// the app registers with SMAppService); the client reaches it at the address
// xpc:NAME. Both follow docs/XPC.md and link the framework gomobile builds
// from package mobile. Not compiled: no Apple toolchain where httpipc is
// built. iOS has no equivalent for other apps (docs/XPC.md section 1).
import Foundation
import Mobile
import XPC

let serviceName = "ABCDE12345.org.example.lms.httpipc" // GROUP.NAME, reachable from sandboxed clients
let clientRequirement = "anchor apple generic and certificate leaf[subject.OU] = \"ABCDE12345\""
let providerRequirement = clientRequirement + " and identifier \"org.example.lms.provider\""
let maxMessage = 256 * 1024

private func reply(_ to: xpc_object_t, _ fill: (xpc_object_t) -> Void) -> xpc_object_t? {
    guard let r = xpc_dictionary_create_reply(to) else { return nil } // no reply expected
    fill(r)
    return r
}

private func data(_ d: xpc_object_t, _ key: String) -> Data? {
    guard let v = xpc_dictionary_get_value(d, key), xpc_get_type(v) == XPC_TYPE_DATA else { return nil }
    let n = xpc_data_get_length(v)
    guard n > 0, let p = xpc_data_get_bytes_ptr(v) else { return Data() }
    return Data(bytes: p, count: n)
}

// Provider side: the LaunchAgent's main calls serve(provider:).
func serve(provider: MobileProvider) -> Never {
    let listener = xpc_connection_create_mach_service(serviceName, nil, UInt64(XPC_CONNECTION_MACH_SERVICE_LISTENER))
    xpc_connection_set_event_handler(listener) { peer in
        guard xpc_get_type(peer) == XPC_TYPE_CONNECTION else { return }
        // Only the team's apps: the system checks every message's sender.
        guard xpc_connection_set_peer_code_signing_requirement(peer, clientRequirement) == 0 else {
            return xpc_connection_cancel(peer)
        }
        xpc_connection_set_target_queue(peer, DispatchQueue(label: "httpipc.peer")) // serial
        var link: MobileLink? // set by the first frame; this connection then carries only frames
        var usedForCalls = false
        xpc_connection_set_event_handler(peer) { msg in
            if xpc_get_type(msg) == XPC_TYPE_ERROR { link?.close(); return } // caller gone
            let uid = Int64(xpc_connection_get_euid(peer))
            let pid = Int64(xpc_connection_get_pid(peer))
            func fail(_ code: String) {
                if let r = reply(msg, { xpc_dictionary_set_string($0, "httpipc.error", code) }) {
                    xpc_connection_send_message(peer, r)
                } else { xpc_connection_cancel(peer) }
            }
            guard xpc_dictionary_get_int64(msg, "httpipc.version") == 1 else { return fail("version") }
            let op = xpc_dictionary_get_string(msg, "httpipc.op").map { String(cString: $0) }
            switch op {
            case "call":
                guard link == nil else { return fail("unknown-op") }
                guard let req = data(msg, "httpipc.request") else { return fail("bad-message") }
                usedForCalls = true
                // Calls run concurrently; each has its own reply.
                DispatchQueue.global().async {
                    let resp = provider.handleMessage(uid, callerPID: pid, request: req) ?? Data()
                    guard let r = reply(msg, { d in resp.withUnsafeBytes { xpc_dictionary_set_data(d, "httpipc.response", $0.baseAddress!, resp.count) } }) else { return }
                    xpc_connection_send_message(peer, r)
                }
            case "connect":
                guard link == nil else { return fail("unknown-op") }
                usedForCalls = true
                var fds: [Int32] = [-1, -1]
                guard socketpair(AF_UNIX, SOCK_STREAM, 0, &fds) == 0 else { return fail("too-many") }
                var one: Int32 = 1
                for fd in fds {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                do {
                    // The caller's identity is the XPC peer's, not the socket's.
                    try provider.serveFD(Int64(fds[0]), callerUID: uid, callerPID: pid)
                } catch {
                    close(fds[1])
                    return fail("forbidden")
                }
                if let r = reply(msg, { xpc_dictionary_set_fd($0, "httpipc.fd", fds[1]) }) {
                    xpc_connection_send_message(peer, r)
                }
                close(fds[1]) // the message holds its own duplicate
            case "frame":
                guard !usedForCalls, xpc_dictionary_create_reply(msg) == nil,
                      let frame = data(msg, "httpipc.frame") else { return xpc_connection_cancel(peer) }
                if link == nil {
                    let l = MobileNewLink(XPCSender(connection: peer), 64 * 1024)!
                    provider.serveLink(l, callerUID: uid, callerPID: pid)
                    link = l
                }
                do { try link!.deliver(frame) } catch { xpc_connection_cancel(peer) }
            case "close":
                link?.close()
                xpc_connection_cancel(peer)
            default:
                fail("unknown-op")
            }
        }
        xpc_connection_activate(peer)
    }
    xpc_connection_activate(listener)
    dispatchMain()
}

// One message of a link, either way: {version, op: frame, frame}, no reply.
final class XPCSender: NSObject, MobileSenderProtocol {
    let connection: xpc_connection_t
    init(connection: xpc_connection_t) { self.connection = connection }

    func send(_ message: Data?) throws {
        let m = xpc_dictionary_create(nil, nil, 0)
        xpc_dictionary_set_int64(m, "httpipc.version", 1)
        xpc_dictionary_set_string(m, "httpipc.op", "frame")
        let bytes = message ?? Data()
        bytes.withUnsafeBytes { xpc_dictionary_set_data(m, "httpipc.frame", $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, bytes.count) }
        xpc_connection_send_message(connection, m) // FIFO on this connection
    }
}

// Client side: a connection whose peer must satisfy the provider's
// requirement before anything is sent.
// The event handler must be set before activation: messages the provider
// sends (link frames) and connection errors arrive there.
func connectProvider(events: @escaping (xpc_object_t) -> Void = { _ in }) -> xpc_connection_t? {
    let conn = xpc_connection_create_mach_service(serviceName, DispatchQueue(label: "httpipc.client"), 0)
    guard xpc_connection_set_peer_code_signing_requirement(conn, providerRequirement) == 0 else { return nil }
    xpc_connection_set_event_handler(conn, events)
    xpc_connection_activate(conn)
    return conn
}

enum XPCBindingError: Error {
    case interrupted, invalidated, providerIdentity, refused, tooLarge, protocolError(String)
}

private func check(_ r: xpc_object_t) throws -> xpc_object_t {
    if xpc_get_type(r) == XPC_TYPE_ERROR {
        if r === XPC_ERROR_CONNECTION_INTERRUPTED { throw XPCBindingError.interrupted }
        if r === XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT { throw XPCBindingError.providerIdentity }
        throw XPCBindingError.invalidated
    }
    if let e = xpc_dictionary_get_string(r, "httpipc.error") {
        let code = String(cString: e)
        throw code == "forbidden" ? XPCBindingError.refused : XPCBindingError.protocolError(code)
    }
    return r
}

private func request(_ op: String) -> xpc_object_t {
    let m = xpc_dictionary_create(nil, nil, 0)
    xpc_dictionary_set_int64(m, "httpipc.version", 1)
    xpc_dictionary_set_string(m, "httpipc.op", op)
    return m
}

// Message mode: Go's Client calls this for every request.
final class XPCCaller: NSObject, MobileCallerProtocol {
    let connection: xpc_connection_t
    init(connection: xpc_connection_t) { self.connection = connection }

    func call(_ req: Data?) throws -> Data {
        let body = req ?? Data()
        guard body.count <= maxMessage else { throw XPCBindingError.tooLarge }
        let m = request("call")
        body.withUnsafeBytes { xpc_dictionary_set_data(m, "httpipc.request", $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, body.count) }
        let r = try check(xpc_connection_send_message_with_reply_sync(connection, m))
        guard let resp = data(r, "httpipc.response") else { throw XPCBindingError.protocolError("no httpipc.response") }
        guard resp.count <= maxMessage else { throw XPCBindingError.protocolError("response over the message size") }
        return resp
    }
}

func makeMessageClient() -> MobileClient? {
    guard let conn = connectProvider() else { return nil }
    return MobileNewMessageClient(XPCCaller(connection: conn), Int64(maxMessage))
}

// Descriptor handoff: a socket for the stream protocol, bodies of any size.
func makeStreamClient(connection: xpc_connection_t) throws -> MobileClient {
    let r = try check(xpc_connection_send_message_with_reply_sync(connection, request("connect")))
    let fd = xpc_dictionary_dup_fd(r, "httpipc.fd")
    guard fd >= 0 else { throw XPCBindingError.protocolError("no httpipc.fd") }
    var one: Int32 = 1
    _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    var err: NSError?
    guard let c = MobileNewFDClient(Int64(fd), &err) else { throw err ?? XPCBindingError.invalidated }
    return c
}

// Streams over messages: a second connection that carries only frames.
func makeLinkClient() -> MobileClient? {
    var link: MobileLink?
    var conn: xpc_connection_t?
    conn = connectProvider { msg in
        guard xpc_get_type(msg) == XPC_TYPE_DICTIONARY, let frame = data(msg, "httpipc.frame") else {
            link?.close() // interrupted, invalidated, or not a frame
            return
        }
        do { try link?.deliver(frame) } catch { conn.map { xpc_connection_cancel($0) } }
    }
    guard let c = conn else { return nil }
    link = MobileNewLink(XPCSender(connection: c), 64 * 1024)
    return link.map { MobileNewLinkClient($0) } ?? nil
}
