// Package depcheck holds a test, no code: it keeps heavy modules out of
// what an app links when it imports only the root package or mobile. The
// netlink library (the Linux loopback peer lookup), fosite (the OAuth
// server), SQLite and chromedp (the example apps and their tests) belong to
// the packages that need them.
package depcheck
