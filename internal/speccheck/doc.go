// Package speccheck holds tests, no code, that keep docs/PROTOCOL.md in
// step with the code: the specification keeps its four parts, its one table
// of httpipc-error codes lists exactly the codes the implementation
// generates, the conformance cases name sections that exist, and every
// reference to a section of the specification, in the code and the docs of
// both implementations, names one that exists.
package speccheck
