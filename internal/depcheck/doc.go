// Package depcheck holds tests, no code, that keep the module committed to
// little: an app that imports only the root package or mobile links none of
// the netlink library (the Linux loopback peer lookup), fosite (the OAuth
// server), SQLite and chromedp (the example apps and their tests); and no
// package outside examples/ imports an example.
package depcheck
