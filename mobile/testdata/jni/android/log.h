/* Stand-in for Android's log.h: the JNI glue logs to stderr on a desktop JVM. */
#include <stdio.h>
#define ANDROID_LOG_INFO 4
#define ANDROID_LOG_FATAL 7
#define __android_log_print(prio, tag, ...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))
