package bound;

import io.github.httpipc.bhttp.Fields;
import io.github.httpipc.bhttp.Limits;
import io.github.httpipc.bhttp.Request;
import io.github.httpipc.bhttp.Response;
import io.github.httpipc.client.RefusedException;
import io.github.httpipc.message.MessageChannel;
import io.github.httpipc.message.MessageTooLargeException;
import io.github.httpipc.message.MessageTransport;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import mobile.Mobile;
import mobile.Provider;

// The Go provider (libgojni.so, loaded through the generated Java API)
// answering what a bound service's Binder.onTransact hands it, with no
// Android class involved:
//
//  - message mode: each request is a byte array that goes to
//    Provider.handleMessage with the caller's uid and pid, as the CALL
//    transaction's reply; the caller is the Kotlin client's
//    MessageTransport, in this same JVM;
//  - descriptor handoff: fd 3 and fd 4 are ends of socketpairs, as
//    ParcelFileDescriptor.createSocketPair().detachFd() gives them; they go
//    to Provider.serveFD with a caller's uid and pid, as the CONNECT
//    transaction does. A JVM cannot call socketpair(2), so the Go test made
//    the pairs and keeps the other ends, on which its Go client calls.
//
// args: the uid the provider runs as. The program serves the descriptors
// until its standard input ends.
public class BoundService {
    public static void main(String[] args) throws Exception {
        final Provider provider = Mobile.newProvider("org.httpipc.jnitest");
        final long uid = Long.parseLong(args[0]);
        final long pid = ProcessHandle.current().pid();

        // onTransact(CALL): data.createByteArray() in, reply.writeByteArray(out).
        MessageChannel binder = request -> provider.handleMessage(uid, pid, request);
        MessageTransport client = new MessageTransport(binder, 256 * 1024, new Limits());
        Response r = client.execute(new Request("GET", "http", "lms", "/classes",
            new Fields().add("accept", "application/json"), new byte[0], null));
        System.out.println("message GET " + r.getStatus() + " " + new String(r.getContent(), StandardCharsets.UTF_8)
            + " content-length=" + r.getFields().get("content-length"));
        byte[] body = new byte[200 * 1024];
        for (int i = 0; i < body.length; i++) body[i] = (byte) ('a' + i % 26);
        r = client.execute(new Request("POST", "http", "lms", "/echo", new Fields(), body, null));
        System.out.println("message POST " + r.getStatus() + " " + r.getContent().length + " equal=" + java.util.Arrays.equals(body, r.getContent()));
        try {
            client.execute(new Request("POST", "http", "lms", "/echo", new Fields(), new byte[300 * 1024], null));
            System.out.println("message too large: sent");
        } catch (Exception e) { // Kotlin declares no checked exceptions
            if (!(e instanceof MessageTooLargeException)) throw e;
            System.out.println("message too large: " + e.getMessage());
        }
        // Another app's uid, which the provider has not allowed.
        // Its 403 forbidden reaches the Kotlin client as RefusedException.
        MessageChannel stranger = request -> provider.handleMessage(uid + 1000, 1, request);
        try {
            new MessageTransport(stranger, 256 * 1024, new Limits()).execute(
                new Request("GET", "http", "lms", "/classes", new Fields(), new byte[0], null));
            System.out.println("message stranger: served");
        } catch (Exception e) { // Kotlin declares no checked exceptions
            if (!(e instanceof RefusedException)) throw e;
            System.out.println("message stranger refused: " + ((RefusedException) e).getReason().contains("not allowed"));
        }

        // onTransact(CONNECT): the caller's uid for fd 3, a stranger's for fd 4.
        provider.serveFD(3, uid, pid);
        provider.serveFD(4, uid + 1000, 1);
        System.out.println("serving fd 3 and 4");
        System.out.flush();
        InputStream in = System.in;
        while (in.read() >= 0) {
        }
        provider.close();
        System.out.println("closed");
    }
}
