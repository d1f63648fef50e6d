// A stand-in for the Android SDK class that gobind's runtime support names,
// so the generated Java compiles with a plain JDK.
package android.content;

public class Context {}
