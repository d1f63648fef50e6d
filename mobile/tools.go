//go:build tools

package mobile

// gobind generates code that imports these; keeping them here records the
// version in go.mod.
import (
	_ "golang.org/x/mobile/bind"
)
