package app;

import mobile.Caller;
import mobile.Client;
import mobile.Mobile;
import mobile.Provider;
import mobile.Response;

// Drives the generated Java API end to end: a Go provider serves the handler
// registered as org.httpipc.jnitest, and a Java Caller carries each
// message-mode request to it, as a Binder transaction would.
public class Main {
    public static void main(String[] args) throws Exception {
        final Provider provider = Mobile.newProvider("org.httpipc.jnitest");
        final long uid = Long.parseLong(args[0]);
        Client client = Mobile.newMessageClient(new Caller() {
            public byte[] call(byte[] request) {
                return provider.handleMessage(uid, ProcessHandle.current().pid(), request);
            }
        }, 0);
        Response r = client.do_("GET", "http://lms/classes", "Accept: application/json\n", null);
        System.out.println(r.getStatus() + " " + new String(r.getBody(), "UTF-8"));
        // Another uid is refused: an error, as on every transport.
        try {
            Response denied = Mobile.newMessageClient(new Caller() {
                public byte[] call(byte[] request) {
                    return provider.handleMessage(uid + 1000, 1, request);
                }
            }, 0).do_("GET", "http://lms/classes", "", null);
            System.out.println("not refused: " + denied.getStatus());
        } catch (Exception e) {
            System.out.println("refused: " + e.getMessage());
        }
        try {
            Mobile.newProvider("org.httpipc.none");
            System.out.println("no error");
        } catch (Exception e) {
            System.out.println("error: " + e.getMessage());
        }
    }
}
