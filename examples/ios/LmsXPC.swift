// iOS/macOS: the provider is an XPC service; the client reaches it through
// an NSXPCConnection. Both sides link the framework gomobile builds from
// package mobile (Mobile.xcframework).
import Foundation
import Mobile

@objc protocol HttpipcXPC {
    // Message mode: one RFC 9292 request in, one response out.
    func call(_ request: Data, reply: @escaping (Data) -> Void)
    // Descriptor handoff: a socket for the stream protocol.
    func connect(reply: @escaping (FileHandle?) -> Void)
}

// Provider side (inside the XPC service).
final class ProviderEndpoint: NSObject, HttpipcXPC {
    let provider: MobileProvider
    let connection: NSXPCConnection

    init(provider: MobileProvider, connection: NSXPCConnection) {
        self.provider = provider
        self.connection = connection
    }

    func call(_ request: Data, reply: @escaping (Data) -> Void) {
        let uid = Int64(connection.effectiveUserIdentifier)
        let pid = Int64(connection.processIdentifier)
        reply(provider.handleMessage(uid, callerPID: pid, request: request) ?? Data())
    }

    func connect(reply: @escaping (FileHandle?) -> Void) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, SOCK_STREAM, 0, &fds) == 0 else { return reply(nil) }
        let uid = Int64(connection.effectiveUserIdentifier)
        let pid = Int64(connection.processIdentifier)
        try? provider.serveFD(Int64(fds[0]), callerUID: uid, callerPID: pid)
        reply(FileHandle(fileDescriptor: fds[1], closeOnDealloc: true))
    }
}

// Client side.
final class XPCCaller: NSObject, MobileCallerProtocol {
    let proxy: HttpipcXPC
    init(proxy: HttpipcXPC) { self.proxy = proxy }

    func call(_ request: Data?) throws -> Data {
        var out = Data()
        let done = DispatchSemaphore(value: 0)
        proxy.call(request ?? Data()) { out = $0; done.signal() }
        done.wait()
        return out
    }
}

func makeClient(serviceName: String) -> MobileClient? {
    let connection = NSXPCConnection(serviceName: serviceName)
    connection.remoteObjectInterface = NSXPCInterface(with: HttpipcXPC.self)
    connection.resume()
    guard let proxy = connection.synchronousRemoteObjectProxyWithErrorHandler({ _ in }) as? HttpipcXPC else { return nil }
    return MobileNewMessageClient(XPCCaller(proxy: proxy), 256 * 1024)
}
