// Package yamlnode holds what trailwatch's YAML readers (rule files, Sigma
// rules, detector settings, the configuration) share about the syntax
// trees of goccy/go-yaml: where a node or a parse error is, and how to
// name a node's kind in a message.
package yamlnode

import (
	"errors"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Line returns the line a node starts on, or 0 when the node is nil or
// carries no position.
func Line(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// Error returns the line and message of a parse error from goccy/go-yaml,
// the message without the source excerpt the library appends; ok is false
// for any other error. The line is 0 when the error carries none.
func Error(err error) (line int, msg string, ok bool) {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return 0, "", false
	}
	if tk := ye.GetToken(); tk != nil && tk.Position != nil {
		line = tk.Position.Line
	}
	return line, ye.GetMessage(), true
}

// Unwrap returns the node an anchor or a tag wraps.
func Unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// Kind names a node's kind for a message: "a mapping", "a list", "text",
// "a number", "a boolean", "nothing", and so on.
func Kind(n ast.Node) string {
	switch Unwrap(n).(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "text"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.AliasNode:
		return "a YAML alias (aliases are not supported)"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// At returns the line and message of a parse error for a message of the
// form "line N: ...": Error's, or line 1 and err's text for another error
// or one without a position.
func At(err error) (line int, msg string) {
	line, msg, ok := Error(err)
	if !ok {
		return 1, err.Error()
	}
	return max(line, 1), msg
}
