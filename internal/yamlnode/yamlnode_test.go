package yamlnode

import (
	"errors"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

func TestLineAndKind(t *testing.T) {
	f, err := parser.ParseBytes([]byte("a: 1\nb:\n  - x\nc: &anchor {k: v}\nd: ~\ne: true\nf: text\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		line int
		kind string
	}{
		"a": {1, "a number"}, "b": {3, "a list"}, "c": {4, "a mapping"}, "d": {5, "nothing"}, "e": {6, "a boolean"}, "f": {7, "text"},
	}
	body := f.Docs[0].Body.(*ast.MappingNode)
	if len(body.Values) != len(want) {
		t.Fatalf("%d keys", len(body.Values))
	}
	for _, mv := range body.Values {
		w := want[mv.Key.String()]
		if got := Line(mv.Value); got != w.line {
			t.Errorf("%s: line %d, want %d", mv.Key, got, w.line)
		}
		if got := Kind(mv.Value); got != w.kind {
			t.Errorf("%s: kind %q, want %q", mv.Key, got, w.kind)
		}
	}
	if Line(nil) != 0 || Kind(nil) != "nothing" {
		t.Errorf("nil: line %d, kind %q", Line(nil), Kind(nil))
	}
}

func TestErrorAt(t *testing.T) {
	_, err := parser.ParseBytes([]byte("a: 1\nb: [unclosed\n"), 0)
	if err == nil {
		t.Fatal("no error")
	}
	line, msg, ok := Error(err)
	if !ok || line != 2 || msg == "" {
		t.Fatalf("Error = %d %q %v; want line 2", line, msg, ok)
	}
	if l, m := At(errors.New("plain")); l != 1 || m != "plain" {
		t.Fatalf("At(plain) = %d %q", l, m)
	}
}
